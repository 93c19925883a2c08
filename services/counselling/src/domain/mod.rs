//! The rules of seed 003's routine, pure: [`assignment`] (who gets a case), [`timers`] (every
//! time limit and the call-attempt rule), [`case`] (the routine as a state machine: each
//! counsellor's step and each business day return what to send), [`schedule`] (the debt
//! schedule and the budget's verdict). No database, no broker, no clock.

pub mod assignment;
pub mod case;
pub mod schedule;
pub mod timers;

pub use assignment::{Assigned, AssignedBy, Assignment, DayRange, Routine};
pub use case::{
    CallAttempt, CallOutcome, CallPurpose, Case, Decision, Effect, Entry, MeetingOutcome,
    NewCreditor, NewMeeting, Opening, Phase, Refused, Rules, SYSTEM, TEMPLATES, Task, To, Watch,
};
pub use schedule::{DebtItem, DebtSchedule, Source, Totals};
pub use timers::{ReminderDay, ReplyRefused, Timers, reply_allowed};
