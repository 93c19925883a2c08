//! Arbitrary bytes as a `bank.payment.received.v1` body, and as its `data` inside a valid
//! envelope so that most inputs reach the payment decoder and its validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use restance_contracts::PaymentReceived;

fuzz_target!(|bytes: &[u8]| restance_contracts_fuzz::check_message::<PaymentReceived>(bytes));
