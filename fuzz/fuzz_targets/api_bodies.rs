//! The API's JSON bodies (dialogue, agreement, midway status, milestone), read and
//! checked as the handlers do: a value or a problem, never a panic, and within the time
//! and memory libFuzzer's `-timeout` and `-rss_limit_mb` allow (`run.sh`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    if let Err(p) = hjul_api::fuzz::api_body(*which, body) {
        assert!(!p.detail.is_empty(), "refused without a reason");
        assert!(
            p.detail.len() < 64 * 1024,
            "a reason of {} bytes",
            p.detail.len()
        );
    }
});
