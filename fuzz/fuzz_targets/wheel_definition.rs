//! A wheel definition (`config/wheel.toml`, `hjul config check`): it loads and every cycle
//! it defines can be planned, or it is refused with problems that say what.
#![no_main]

use hjul_wheel::WheelDefinition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match WheelDefinition::from_toml(text, "wheel.toml") {
        Ok(def) => {
            // What `hjul plan` and the scheduler do with it next must not panic either.
            for year in [1999, 2025, 2026, 2027, 2101] {
                if let Ok(cycle) = def.cycle(year) {
                    let plan = cycle.plan();
                    assert!(plan.starts <= plan.ends);
                }
            }
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "refused without a reason");
            assert!(e.problems.iter().all(|p| !p.message.is_empty()));
        }
    }
});
