//! `restance-dunning`: the collection process of Restance.
//!
//! Where things are:
//! - the declarative policies (`[dunning]` in `config/restance.toml`) and their validation are
//!   [`domain::policy`];
//! - what a debtor's claims need today — reminders, fees, interest, meeting offers, caseworker
//!   alerts, notices, transfer, supply suspension, write-off proposals — is decided by
//!   [`domain::decide::next_steps`], a pure function of the debtor's state, the policies and the
//!   business date;
//! - the inputs it reads are in [`domain::view`], the deterministic ids in [`domain::ids`].
//!
//! The domain rules are those of `DOMAIN.md` (shared brief): dialogue before force, special
//! consideration for daycare and the family area, fees and interest never above what the law
//! allows, transfer to state collection only after the reminder procedure and a written notice.

pub mod domain;
