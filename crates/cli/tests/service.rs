//! `hjul serve`, `hjul simulate` and `hjul outbox` as a user runs them.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{failed, ok, repo, scratch};

fn hjul(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    common::hjul_with(dir, args, env)
}

/// A directory with a database holding the example organisation.
fn with_org(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    ok(&hjul(&dir, &["migrate"], &[]));
    let org = repo("examples").join("organisation.csv");
    ok(&hjul(&dir, &["org", "import", org.to_str().unwrap()], &[]));
    dir
}

#[test]
fn serve_writes_eml_files_without_smtp_and_stops_cleanly_on_sigterm() {
    let dir = with_org("serve");
    let child = Command::new(env!("CARGO_BIN_EXE_hjul"))
        .args(["serve", "--log-format", "json", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        // Monday 23 November 2026, 10:00 in Copenhagen: a business day after 08:00.
        .env("HJUL_NOW", "2026-11-23T09:00:00Z")
        .env_remove("HJUL_DATABASE_URL")
        .env_remove("HJUL_CONFIG_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let outbox = dir.join("outbox");
    let start = Instant::now();
    while std::fs::read_dir(&outbox).map(Iterator::count).unwrap_or(0) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no mail written in 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A second instance on the same SQLite file is refused and names the first.
    let second = Command::new(env!("CARGO_BIN_EXE_hjul"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .env("HJUL_NOW", "2026-11-23T09:00:00Z")
        .env_remove("HJUL_DATABASE_URL")
        .env_remove("HJUL_CONFIG_DIR")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{said}");
    assert!(
        said.contains(&format!("another hjul serve (process {})", child.id()))
            && said.contains("PostgreSQL"),
        "{said}"
    );
    // Let the first round finish, then ask it to stop as a service manager would.
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(
        log.lines().all(|l| l.starts_with('{')),
        "JSON log lines: {log}"
    );
    assert!(
        log.contains("asked to stop") && log.contains("scheduler stopped"),
        "{log}"
    );
    // The files are whole mails, and the outbox says what went.
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "eml"))
    );
    let one = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        one.contains("Subject: ") && one.contains("Message-ID: <"),
        "{one}"
    );
    let sent: serde_json::Value = serde_json::from_str(&ok(&hjul(
        &dir,
        &[
            "outbox", "--state", "sent", "--format", "json", "--limit", "1000",
        ],
        &[],
    )))
    .unwrap();
    let recipients: std::collections::BTreeSet<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(recipients.len(), files.len(), "one file per person");
}

#[test]
fn simulate_previews_the_mail_and_changes_nothing() {
    let dir = scratch("simulate");
    ok(&hjul(&dir, &["demo", "--no-serve"], &[]));
    let db = ["--database-url", "hjul-demo.db"];
    let before = ok(&hjul(
        &dir,
        &[&db[..], &["outbox", "--format", "json"]].concat(),
        &[],
    ));
    let json = ok(&hjul(
        &dir,
        &[
            &db[..],
            &[
                "simulate",
                "--from",
                "2027-09-13",
                "--to",
                "2027-10-08",
                "--format",
                "json",
            ],
        ]
        .concat(),
        &[("HJUL_TODAY", "2027-09-13")],
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let messages = v["messages"].as_array().unwrap();
    assert!(!messages.is_empty());
    for m in messages {
        // 08:00 in Copenhagen: 06:00 UTC in summer time, 07:00 after 31 October.
        let at = m["at"].as_str().unwrap();
        assert!(at.ends_with("T06:00:00Z"), "{at}");
        assert!(
            [
                "opened",
                "reminder",
                "overdue",
                "escalation",
                "digest",
                "cycle_ended",
                "withdrawn"
            ]
            .contains(&m["kind"].as_str().unwrap())
        );
        for i in m["items"].as_array().unwrap() {
            assert!(
                i.get("unit_id").is_some()
                    && i.get("deadline").is_some()
                    && i.get("due").is_some()
                    && i.get("kind").is_some()
            );
        }
    }
    // The midway status is due 30 September 2027, the cycle's last day. The next day
    // the cycle has ended: nobody is told off about it any more, and the secretariat
    // hears once what it left unmet.
    let on_first_day = |kind: &str| {
        messages
            .iter()
            .filter(|m| m["kind"] == kind && m["at"] == "2027-10-01T06:00:00Z")
            .count()
    };
    assert_eq!(on_first_day("overdue"), 0, "{json}");
    // (In the secretariat's mail of the day, beside the new cycle's first deadline.)
    let ended: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| {
            m["at"] == "2027-10-01T06:00:00Z"
                && m["text"].as_str().is_some_and(|t| {
                    t.contains("Cyklus 2025 sluttede torsdag den 30. september 2027")
                })
        })
        .collect();
    assert_eq!(ended.len(), 1, "{json}");
    let midway_reminders = messages
        .iter()
        .filter(|m| m["kind"] == "reminder" && m["items"][0]["deadline"] == "midway_status")
        .count();
    assert!(midway_reminders >= 5, "{json}");
    let transitions = v["transitions"].as_array().unwrap();
    assert!(
        transitions
            .iter()
            .any(|t| t["kind"] == "cycle_started" && t["cycle"] == 2027),
        "{json}"
    );
    // The simulation's "overdue" transitions come from the deadlines, not the mail: the
    // midway statuses not given by 30 September are overdue the next morning, though no
    // mail says so (the cycle has ended), each once: those the leaders were reminded of,
    // and those of units that never had an agreement to give one on (as status shows).
    let midway_overdue: Vec<&str> = transitions
        .iter()
        .filter(|t| t["kind"] == "deadline_overdue" && t["deadline"] == "midway_status")
        .inspect(|t| {
            assert!(
                t["at"] == "2027-10-01T06:00:00Z" && t["due"] == "2027-09-30",
                "{t}"
            );
        })
        .filter_map(|t| t["unit_id"].as_str())
        .collect();
    let once: std::collections::BTreeSet<&str> = midway_overdue.iter().copied().collect();
    assert_eq!(once.len(), midway_overdue.len(), "{midway_overdue:?}");
    let reminded = midway_reminders_units(messages);
    assert!(
        !reminded.is_empty() && reminded.is_subset(&once),
        "{reminded:?} {once:?}"
    );
    // Nothing was sent or recorded.
    assert_eq!(
        ok(&hjul(
            &dir,
            &[&db[..], &["outbox", "--format", "json"]].concat(),
            &[]
        )),
        before
    );
    assert!(!dir.join("outbox").exists());
    let table = ok(&hjul(
        &dir,
        &[
            &db[..],
            &["simulate", "--from", "2027-09-13", "--to", "2027-10-08"],
        ]
        .concat(),
        &[("HJUL_TODAY", "2027-09-13")],
    ));
    assert!(
        table.starts_with(&format!(
            "Simulated 2027-09-13 – 2027-10-08: {} mails, nothing sent",
            messages.len()
        )),
        "{table}"
    );
    assert!(table.contains("2027-10-01  cycle 2027 starts"), "{table}");
    let err = failed(&hjul(
        &dir,
        &[
            &db[..],
            &["simulate", "--from", "2027-10-08", "--to", "2027-09-13"],
        ]
        .concat(),
        &[],
    ));
    assert!(
        err.contains("--from 2027-10-08 is after --to 2027-09-13"),
        "{err}"
    );
}

#[test]
fn mail_the_server_will_not_take_is_dead_and_can_be_retried() {
    let dir = with_org("dead");
    // Nothing listens on port 9 here: every mail fails, and one try is all it gets.
    let env = [
        ("HJUL__SMTP__HOST", "127.0.0.1"),
        ("HJUL__SMTP__PORT", "9"),
        ("HJUL__SMTP__TLS", "none"),
        ("HJUL__SMTP__TIMEOUT_SECS", "2"),
        ("HJUL__SCHEDULER__MAX_ATTEMPTS", "1"),
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_hjul"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .env("HJUL_NOW", "2026-11-23T09:00:00Z")
        .envs(env)
        .env_remove("HJUL_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let dead = loop {
        let out = ok(&hjul(
            &dir,
            &["outbox", "--state", "dead", "--format", "json"],
            &[],
        ));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        if !v.as_array().unwrap().is_empty() {
            break v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing died in 20 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let first = &dead.as_array().unwrap()[0];
    assert!(
        first["last_error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:9"),
        "{first}"
    );
    let table = ok(&hjul(&dir, &["outbox", "--state", "dead"], &[]));
    assert!(table.contains("dead"), "{table}");
    // Retry by the end of the id, as the table shows it.
    let id = first["id"].as_str().unwrap();
    let text = ok(&hjul(&dir, &["outbox", "retry", &id[28..]], &[]));
    assert!(text.starts_with(&format!("queued again: {id}")), "{text}");
    let err = failed(&hjul(&dir, &["outbox", "retry", &id[28..]], &[]));
    assert!(err.contains("no dead outbox item ends with"), "{err}");
    let pending = ok(&hjul(
        &dir,
        &["outbox", "--state", "pending", "--format", "json"],
        &[],
    ));
    assert!(pending.contains(id), "{pending}");
}

#[test]
fn the_readme_demo_serves_the_dashboard_with_a_token() {
    let dir = scratch("demo-serve");
    let common::Demo {
        mut child,
        listen,
        token,
        said,
    } = common::demo(&dir);
    assert!(
        said.iter()
            .any(|l| l.contains(&format!("http://{listen}/"))),
        "the dashboard's address is printed"
    );
    // The API answers with the printed token, as of the demo's day.
    let get = |path: &str, auth: bool| -> String {
        let start = Instant::now();
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(&listen) {
                let auth = if auth {
                    format!("Authorization: Bearer {token}\r\n")
                } else {
                    String::new()
                };
                std::io::Write::write_all(
                    &mut s,
                    format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
                let mut text = String::new();
                std::io::Read::read_to_string(&mut s, &mut text).unwrap();
                return text;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "nothing listens on {listen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert!(get("/healthz", false).starts_with("HTTP/1.1 200"));
    let me = get("/api/v1/me", true);
    assert!(
        me.starts_with("HTTP/1.1 200") && me.contains("\"role\":\"secretariat\""),
        "{me}"
    );
    let status = get("/api/v1/status?overdue=true", true);
    assert!(status.contains("\"unit_id\":\"fr-ppr\""), "{status}");
    assert!(
        get("/", false).starts_with("HTTP/1.1 303"),
        "the dashboard asks to sign in"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// The units told to give their midway status in a simulation: each has one, and it
/// goes overdue if nobody gives it.
fn midway_reminders_units(messages: &[serde_json::Value]) -> std::collections::BTreeSet<&str> {
    messages
        .iter()
        .flat_map(|m| m["items"].as_array().into_iter().flatten())
        .filter(|i| i["deadline"] == "midway_status")
        .filter_map(|i| i["unit_id"].as_str())
        .collect()
}

/// One HTTP exchange on a fresh connection: the answer's status line and how long it
/// took from connecting to the end of the answer.
fn exchange(addr: &str, request: &str) -> (String, Duration) {
    use std::io::{Read, Write};
    let start = Instant::now();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text.lines().next().unwrap_or_default().to_owned();
    (status, start.elapsed())
}

/// Files a process has open.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Raises this process' own soft limit on open files to `n` (within its hard limit) with
/// util-linux's prlimit: the story's clients hold more than the usual 1,024.
fn allow_open_files(n: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (soft, hard) = (fields[3], fields[4]);
    if soft.parse::<u64>().is_ok_and(|s| s >= n) {
        return;
    }
    assert!(
        hard == "unlimited" || hard.parse::<u64>().is_ok_and(|h| h >= n),
        "this story's clients need {n} open files and the hard limit is {hard}"
    );
    let status = Command::new("prlimit")
        .args([
            "--pid",
            &std::process::id().to_string(),
            &format!("--nofile={n}:"),
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `hjul serve` under the file limit systemd gives a service (1,024), with its defaults
/// (512 connections at most) but a header timeout of 20 s instead of 10, so that the
/// flood has time to build on a slow machine. A client sends its header a byte a
/// second; 2,000 connections each send half a request; then about a thousand
/// connections a second come that send nothing. The server never runs out of files;
/// while the cap is full (a request for anything else is told 503) `/healthz` answers
/// 200, 19 times of 20 within 100 ms; the slow client is cut off at the header timeout;
/// the connections past the cap are told 503, and every half-open one is closed by the
/// server. Then it serves as before and stops cleanly.
#[test]
fn two_thousand_half_open_connections_do_not_take_the_server_past_its_file_limit() {
    use std::io::{Read, Write};
    allow_open_files(4096);
    let dir = with_org("shed");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new("prlimit")
        .args(["--nofile=1024:1024", "--"])
        .arg(env!("CARGO_BIN_EXE_hjul"))
        .args(["serve", "--log-format", "json", "--listen", &addr])
        .current_dir(&dir)
        // A Saturday: no mail goes, the server is all there is to watch.
        .env("HJUL_NOW", "2026-11-28T09:00:00Z")
        .env("HJUL__HTTP__HEADER_READ_TIMEOUT_SECS", "20")
        .env_remove("HJUL_DATABASE_URL")
        .env_remove("HJUL_CONFIG_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let kept = log.clone();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            let mut l = kept.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    let healthz = "GET /healthz HTTP/1.1\r\nHost: hjul\r\nConnection: close\r\n\r\n";
    let me = "GET /api/v1/me HTTP/1.1\r\nHost: hjul\r\nConnection: close\r\n\r\n";
    let start = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "nothing listens on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // prlimit ran hjul itself (exec), so the limit is the server's.
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max open files") && l.contains(" 1024 ")),
        "{limits}"
    );
    assert!(exchange(&addr, healthz).0.starts_with("HTTP/1.1 200"));

    // A header a byte a second, on a connection made before the flood (so it has a place).
    let mut slow_stream = std::net::TcpStream::connect(&addr).unwrap();
    let slow = std::thread::spawn(move || {
        let begun = Instant::now();
        for b in b"GET /healthz HTTP/1.1\r\nHost: hjul\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
            if slow_stream.write_all(&[*b]).is_err() || begun.elapsed() > Duration::from_secs(40) {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        // Closed by the server (end of stream or reset), not given up on by us.
        slow_stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut rest = Vec::new();
        let closed = match slow_stream.read_to_end(&mut rest) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        (closed, begun.elapsed())
    });

    // 2,000 connections that each sent half a request, held open by the client.
    let opened = Instant::now();
    let mut half = Vec::new();
    let mut most_files = 0;
    for n in 0..2000 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        // Past the cap the server may have answered and closed it already.
        let _ = s.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: hjul\r\n");
        half.push(s);
        if n % 250 == 0 {
            most_files = most_files.max(open_files(pid));
        }
    }
    eprintln!("2,000 half-open connections made in {:?}", opened.elapsed());

    // Now connections that send nothing, about a thousand a second.
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let on = flooding.clone();
    let flood_addr = addr.clone();
    let flood = std::thread::spawn(move || {
        let mut open = std::collections::VecDeque::new();
        let mut made = 0_usize;
        while on.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(s) = std::net::TcpStream::connect(&flood_addr) {
                open.push_back(s);
                made += 1;
            }
            if open.len() > 300 {
                open.pop_front();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        made
    });

    // While the cap is full, /healthz answers and anything else is told 503.
    let mut took = Vec::new();
    for _ in 0..20 {
        let (status, t) = exchange(&addr, healthz);
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "/healthz answered `{status}`"
        );
        took.push(t);
        let (status, _) = exchange(&addr, me);
        assert!(
            status.starts_with("HTTP/1.1 503"),
            "the cap was not full while /healthz was asked (the flood took too long?): `{status}`"
        );
        most_files = most_files.max(open_files(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let flooded = flood.join().unwrap();
    took.sort();
    eprintln!(
        "/healthz beside 2,000 half-open connections and {flooded} silent ones: median {:?}, slowest {:?}; most files open: {most_files}",
        took[10], took[19]
    );
    assert!(
        took[18] < Duration::from_millis(100) && took[19] < Duration::from_secs(1),
        "/healthz took {took:?}"
    );
    assert!(most_files < 1000, "the server had {most_files} files open");

    // The slow client is cut off at the header timeout (20 s), not let go on for 40 s.
    let (closed, slow_took) = slow.join().unwrap();
    assert!(
        closed && slow_took >= Duration::from_secs(19) && slow_took < Duration::from_secs(25),
        "a header a byte a second was let go on for {slow_took:?}"
    );
    // Every half-open connection has been closed by the server: those past the cap told
    // 503, the rest at the header timeout.
    std::thread::sleep(Duration::from_secs(22).saturating_sub(opened.elapsed()));
    let mut told_503 = 0;
    for (n, mut s) in half.into_iter().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let read = s.read_to_end(&mut got);
        assert!(
            read.is_ok()
                || read
                    .as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "half-open connection {n} was kept past the header timeout: {read:?}"
        );
        told_503 += usize::from(got.starts_with(b"HTTP/1.1 503"));
    }
    assert!(
        told_503 >= 1400,
        "{told_503} of the 2,000 were told 503 (at most 512 have a place)"
    );
    assert!(exchange(&addr, healthz).0.starts_with("HTTP/1.1 200"));
    let (status, _) = exchange(&addr, me);
    assert!(
        status.starts_with("HTTP/1.1 401"),
        "the API answers as before: {status}"
    );

    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
    let log = log.lock().unwrap();
    assert!(!log.contains("Too many open files"), "{log}");
    assert!(
        log.contains("too many connections"),
        "the refusals are in the log: {log}"
    );
    // The warning comes at most once a second, not once per refused connection.
    assert!(log.matches("too many connections").count() < 60, "{log}");
}
