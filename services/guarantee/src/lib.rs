//! `restance-guarantee`: recovery from family-reunification guarantees (sikkerhedsstillelse) —
//! seed 004, Copenhagen's guarantee administrator and benefits office.
//!
//! When a resident's spouse got a residence permit for family reunification on the condition
//! that the resident provided a financial guarantee (udlændingeloven § 9, stk. 5), benefits the
//! municipality later pays the spouse under aktivloven or integrationsloven are to be recovered
//! from that guarantee — each payment for three years from the day it was paid
//! (forældelsesloven § 3). The municipality must also report benefits paid to either of them to
//! the immigration service where a maintenance requirement applies.
//!
//! So far the crate is the pure domain ([`domain`]): no database, no broker, no HTTP and no
//! clock. The handlers, the store and the API are built on top of it; they load the guarantee,
//! its payments and its case, call a function of [`domain`], and store and publish what it
//! returns.

#![warn(missing_docs)]

pub mod domain;
