//! A coherence agreement file (`hjul agreement submit`): it loads, with weights that sum
//! as the rules say, or it is refused with problems that say what.
#![no_main]

use hjul_wheel::{Agreement, IndicatorCatalogue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let catalogue = IndicatorCatalogue::builtin();
    match Agreement::from_toml(text, "agreement.toml", &catalogue, None) {
        Ok((agreement, _warnings)) => assert!(!agreement.goals().is_empty()),
        Err(e) => {
            assert!(!e.problems.is_empty(), "refused without a reason");
            assert!(e.problems.iter().all(|p| !p.message.is_empty()));
        }
    }
});
