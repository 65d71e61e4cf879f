//! The fault harness at the size CI runs it: three `hjul serve` processes on a
//! PostgreSQL server of the test's own over a whole cycle on a virtual clock, with kill
//! -9s, a PostgreSQL restart and a day without the SMTP server. Nothing may be lost and
//! every duplicate must be explained by a kill. Larger runs: `hjul-bench harness`.
#![allow(clippy::unwrap_used)]

use hjul_tests::date;
use hjul_tests::harness::{Config, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_killed_a_database_restart_and_a_day_without_smtp_lose_nothing() {
    let cfg = Config {
        hjul: env!("CARGO_BIN_EXE_hjul").into(),
        dir: std::env::temp_dir().join(format!("hjul-harness-{}", std::process::id())),
        units: 300,
        instances: 3,
        seed: std::env::var("HJUL_HARNESS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20_261_122),
        from: date("2025-10-01"),
        to: date("2027-10-31"),
        kill_chance: 0.03,
    };
    let report = run(&cfg).await.unwrap();
    report.print(&cfg);
    assert!(report.items_due > 1_000, "{report:?}");
    assert!(report.kills > 10 && report.pg_restarts == 1, "{report:?}");
    assert!(report.smtp_down_on.is_some(), "{report:?}");
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.unexplained(), 0, "{report:?}");
    assert_eq!(report.items_accepted, report.items_due);
    let _ = std::fs::remove_dir_all(&cfg.dir);
}
