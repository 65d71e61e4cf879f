//! The dashboard's agreement editor and midway form, as URL-encoded bodies: read and
//! checked as the handlers do, never a panic, within libFuzzer's time and memory limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hjul_api::fuzz::dashboard_form(data);
});
