//! Arbitrary bytes as a `billing.invoice.issued.v1` body, and as its `data` inside a valid
//! envelope so that most inputs reach the invoice decoder and its validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use restance_contracts::InvoiceIssued;

fuzz_target!(|bytes: &[u8]| restance_contracts_fuzz::check_message::<InvoiceIssued>(bytes));
