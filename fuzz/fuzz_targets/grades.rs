//! A grades file for the midway status (`hjul midway submit`), against the example
//! agreement: it grades every goal, or it is refused with problems that say what.
#![no_main]

use hjul_wheel::{Agreement, IndicatorCatalogue};
use libfuzzer_sys::fuzz_target;

const AGREEMENT: &str = include_str!("../../examples/agreement.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let catalogue = IndicatorCatalogue::builtin();
    let Ok((agreement, _)) = Agreement::from_toml(AGREEMENT, "agreement.toml", &catalogue, None)
    else {
        panic!("the example agreement loads");
    };
    match agreement.grade_toml(text, "grades.toml") {
        Ok(grading) => assert_eq!(grading.goals.len(), agreement.goals().len()),
        Err(e) => {
            assert!(!e.problems.is_empty(), "refused without a reason");
            assert!(e.problems.iter().all(|p| !p.message.is_empty()));
        }
    }
});
