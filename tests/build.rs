//! PostgreSQL stories run when HJUL_TEST_PG_URL names a server; without it they are
//! marked ignored (libtest lists them as such), and under CI=true a missing variable
//! fails the build, so CI can never pass without them.

fn main() {
    let url = std::env::var("HJUL_TEST_PG_URL").unwrap_or_default();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    println!("cargo::rerun-if-env-changed=HJUL_TEST_PG_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    println!("cargo::rustc-check-cfg=cfg(pdf_tools)");
    println!("cargo::rerun-if-changed=/usr/bin/pdftotext");
    // The report's PDF is read back with poppler's pdftotext, pdfinfo and pdffonts.
    if std::path::Path::new("/usr/bin/pdftotext").exists() {
        println!("cargo::rustc-cfg=pdf_tools");
    } else if ci {
        panic!("CI=true but /usr/bin/pdftotext is missing: .ci/run installs poppler-utils");
    } else {
        println!(
            "cargo::warning=poppler-utils is not installed: the report's PDF test is skipped (listed as ignored)"
        );
    }
    println!("cargo::rerun-if-changed=/usr/bin/chromedriver");
    if std::path::Path::new("/usr/bin/chromedriver").exists() {
        println!("cargo::rustc-cfg=browser_tests");
    } else if ci {
        panic!(
            "CI=true but /usr/bin/chromedriver is missing: .ci/run installs chromium and chromium-driver"
        );
    } else {
        println!(
            "cargo::warning=chromium-driver is not installed: the browser test is skipped (listed as ignored)"
        );
    }
    // The sign-in test runs a real OpenID Connect provider (panva's oidc-provider) on
    // Node.js; `.ci/run` installs it with `npm ci --prefix tests/oidc`.
    println!("cargo::rustc-check-cfg=cfg(oidc_tests)");
    let provider = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("oidc/node_modules/oidc-provider/package.json");
    println!("cargo::rerun-if-changed={}", provider.display());
    if provider.exists() {
        println!("cargo::rustc-cfg=oidc_tests");
    } else if ci {
        panic!(
            "CI=true but tests/oidc/node_modules is missing: .ci/run installs the OpenID Connect provider (npm ci --prefix tests/oidc)"
        );
    } else {
        println!(
            "cargo::warning=the test OpenID Connect provider is not installed (npm ci --prefix tests/oidc): the sign-in test is skipped (listed as ignored)"
        );
    }
    if !url.is_empty() {
        println!("cargo::rustc-cfg=pg_tests");
    } else if ci {
        panic!("CI=true but HJUL_TEST_PG_URL is not set: the PostgreSQL stories must run in CI");
    } else {
        println!(
            "cargo::warning=HJUL_TEST_PG_URL is not set: the PostgreSQL stories are skipped (listed as ignored)"
        );
    }
}
