//! The command line's PostgreSQL story runs when HJUL_TEST_PG_URL names a server (as
//! the tests crate's do); the API contract test runs schemathesis, a tool nobody here
//! wrote, against a running `hjul demo`, when HJUL_SCHEMATHESIS names it (`.ci/run`
//! installs a pinned one). Without them the tests are listed as ignored; under CI=true a
//! test build without them fails, so CI can never pass without them. A release build
//! never fails for the tests' sake.

fn main() {
    println!("cargo::rerun-if-env-changed=HJUL_TEST_PG_URL");
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    let pg = std::env::var("HJUL_TEST_PG_URL").unwrap_or_default();
    // Only a build for the tests insists: a release (`cargo deb` in a municipality's own
    // pipeline, which sets CI=true too) builds the binary whatever the tests need.
    let strict = std::env::var("CI").is_ok_and(|v| v == "true")
        && std::env::var("PROFILE").is_ok_and(|p| p != "release");
    if !pg.is_empty() {
        println!("cargo::rustc-cfg=pg_tests");
    } else if strict {
        panic!("CI=true but HJUL_TEST_PG_URL is not set: the PostgreSQL stories must run in CI");
    } else {
        println!(
            "cargo::warning=HJUL_TEST_PG_URL is not set: the command line's PostgreSQL story is skipped (listed as ignored)"
        );
    }
    println!("cargo::rerun-if-env-changed=HJUL_SCHEMATHESIS");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rustc-check-cfg=cfg(contract_tests)");
    let tool = std::env::var("HJUL_SCHEMATHESIS").unwrap_or_default();
    if !tool.is_empty() && std::path::Path::new(&tool).exists() {
        println!("cargo::rerun-if-changed={tool}");
        println!("cargo::rustc-cfg=contract_tests");
    } else if strict {
        panic!(
            "CI=true but HJUL_SCHEMATHESIS does not name schemathesis ({tool:?}): .ci/run installs it"
        );
    } else {
        println!(
            "cargo::warning=HJUL_SCHEMATHESIS is not set: the API contract test is skipped (listed as ignored); `bash .ci/run` installs schemathesis and runs it"
        );
    }
}
