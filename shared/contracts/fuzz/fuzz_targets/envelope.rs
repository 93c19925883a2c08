//! Arbitrary bytes as an AMQP body: `decode_envelope`, then `validate_dynamic` by the envelope's
//! type (and the typed decoders for invoices and payments, which must agree with it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| restance_contracts_fuzz::check_any_message(bytes));
