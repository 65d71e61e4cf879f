//! A PostgreSQL server of the test's own, in a temporary directory on a free port, so a
//! test can stop, restart or kill it without touching the machine's shared server. Uses
//! the machine's PostgreSQL binaries (`pg_config --bindir`, or the newest under
//! /usr/lib/postgresql); as root, the server runs as the `postgres` user, since
//! PostgreSQL refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivatePg {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no PostgreSQL binaries (pg_config, /usr/lib/postgresql): {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| "no initdb under /usr/lib/postgresql".to_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(54329)
}

impl PrivatePg {
    /// Makes a cluster in `dir` (made afresh) and starts it.
    pub fn start(dir: &Path) -> Result<Self, String> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let pg = Self {
            bin: bin_dir()?,
            dir: dir.to_owned(),
            port: free_port(),
        };
        if is_root() {
            pg.shell(
                "chown",
                &["-R", "postgres", &dir.display().to_string()],
                false,
            )?;
        }
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        pg.ctl(&["start", "-w"])?;
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Restarts the server: every connection is cut.
    pub fn restart(&self) -> Result<(), String> {
        self.ctl(&["restart", "-m", "fast", "-w"])
    }

    pub fn stop(&self) -> Result<(), String> {
        self.ctl(&["stop", "-m", "fast", "-w"])
    }

    fn ctl(&self, args: &[&str]) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        let data = self.data();
        let mut all = vec!["-D", &data, "-l", &log, "-o", &options];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    /// Runs a PostgreSQL program, as `postgres` when this is root.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let path = self.bin.join(program).display().to_string();
        self.shell(&path, args, is_root())
    }

    fn shell(&self, program: &str, args: &[&str], as_postgres: bool) -> Result<(), String> {
        let out = if as_postgres {
            let quoted: Vec<String> = std::iter::once(program)
                .chain(args.iter().copied())
                .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
                .collect();
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", &quoted.join(" ")])
                .output()
        } else {
            Command::new(program).args(args).output()
        }
        .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self.ctl(&["stop", "-m", "immediate", "-w"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
