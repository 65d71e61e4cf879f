//! What the CLI tests share: a scratch directory and the binary run in it.
#![allow(clippy::unwrap_used, dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository's directory `name` (config, examples).
pub fn repo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name)
}

/// A fresh, empty directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hjul-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `hjul` in `dir` with no hjul variables from the caller's environment, plus `env`.
pub fn hjul_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hjul"));
    cmd.args(args).current_dir(dir);
    for var in [
        "HJUL_CONFIG_DIR",
        "HJUL_DATABASE_URL",
        "HJUL_TODAY",
        "HJUL_ACTOR",
        // The text's language follows the locale: the tests read English unless they
        // ask with --lang.
        "LC_ALL",
        "LC_MESSAGES",
        "LANG",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// The output of a command that must succeed.
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    stdout(o)
}

/// The error of a command that must fail with exit code 1.
pub fn failed(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "stdout: {}", stdout(o));
    stderr(o)
}

/// `hjul demo` serving in `dir` on a free port, as the README starts it.
pub struct Demo {
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub listen: String,
    /// The secretariat's token it printed.
    pub token: String,
    /// What it printed before the token.
    pub said: Vec<String>,
}

/// Starts `hjul demo` and reads its output up to the token (the rest is drained, so the
/// demo never blocks on a full pipe).
pub fn demo(dir: &Path) -> Demo {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hjul"))
        .args(["demo", "--listen", &listen])
        .current_dir(dir)
        .env_remove("HJUL_DATABASE_URL")
        .env_remove("HJUL_CONFIG_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let start = Instant::now();
    let mut said = Vec::new();
    let token = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no token printed"
        );
        let line = lines.next().unwrap().unwrap();
        if line.starts_with("hjul_") {
            break line;
        }
        said.push(line);
    };
    std::thread::spawn(move || lines.for_each(drop));
    Demo {
        child,
        listen,
        token,
        said,
    }
}
