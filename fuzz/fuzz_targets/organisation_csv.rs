//! An organisation file as a user might hand it to `hjul org import`: it loads, or it is
//! refused with at least one problem that says what (and no panic either way).
#![no_main]

use hjul_wheel::Organisation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `hjul org import` refuses a file that is not UTF-8 before parsing it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Organisation::from_csv(text, |_| {}) {
        Ok(org) => {
            // A loaded organisation is a tree: every parent is a unit in it.
            for u in org.units() {
                if let Some(p) = &u.parent {
                    assert!(
                        org.units().iter().any(|x| &x.id == p),
                        "{} has no parent",
                        u.id
                    );
                }
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "refused without a reason");
            assert!(errors.0.iter().all(|e| !e.message().is_empty()));
        }
    }
});
