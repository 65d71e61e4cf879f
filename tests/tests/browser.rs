//! The dashboard in headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by `.ci/run`), driven over WebDriver: sign in, see the wheel with the right
//! counts, open a unit, and save a screenshot under `target/` that must not be blank.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hjul_api::AppState;
use hjul_store::Role;
use hjul_tests::{AGREEMENT, TestDb, date, eight, skovby_with_themes, stamp};
use serde_json::{Value, json};

/// A WebDriver session over plain HTTP/1.1 to chromedriver.
struct Driver {
    addr: SocketAddr,
    session: String,
    process: Child,
}

fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        response.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&response).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut content = vec![0u8; length];
    stream.read_exact(&mut content).unwrap();
    serde_json::from_slice(&content).unwrap_or(Value::Null)
}

impl Driver {
    fn start() -> Self {
        let port = free_port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) runs");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let start = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(format!("hjul-chromium-{}", std::process::id()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,1400",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let created = http(addr, "POST", "/session", Some(&caps));
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Self {
            addr,
            session,
            process,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let v = http(
            self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        );
        assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        v["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The text of the element `css` selects, or `None` if there is none yet or it went
    /// stale under a page load (no assertion: for polling).
    fn try_text(&self, css: &str) -> Option<String> {
        let session = format!("/session/{}", self.session);
        let v = http(
            self.addr,
            "POST",
            &format!("{session}/element"),
            Some(&json!({"using": "css selector", "value": css})),
        );
        let element = v["value"]["element-6066-11e4-a52e-4f735466cecf"].as_str()?;
        let t = http(
            self.addr,
            "GET",
            &format!("{session}/element/{element}/text"),
            None,
        );
        t["value"].as_str().map(str::to_owned)
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.call(
            "POST",
            "/elements",
            Some(&json!({"using": "css selector", "value": css})),
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["element-6066-11e4-a52e-4f735466cecf"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    fn text(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn attribute(&self, element: &str, name: &str) -> String {
        self.call("GET", &format!("/element/{element}/attribute/{name}"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn type_into(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(&json!({ "text": text })),
        );
    }

    fn click(&self, element: &str) {
        self.call(
            "POST",
            &format!("/element/{element}/click"),
            Some(&json!({})),
        );
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_owned()
    }

    /// The URL once it ends with `end`, or the last one after 10 s: a click that submits
    /// a form may return before the browser has followed the answer's redirect.
    fn url_when(&self, end: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url();
            if url.ends_with(end) || Instant::now() > deadline {
                return url;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self) -> Vec<u8> {
        hjul_tests::smtp::base64(self.call("GET", "/screenshot", None).as_str().unwrap())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = http(
            self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The number of distinct colours in a PNG: a blank page has one or two.
fn colours(png_bytes: &[u8]) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(step)
        .map(|px| {
            px.iter()
                .take(3)
                .fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
        })
        .collect::<std::collections::HashSet<u32>>()
        .len()
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "chromium-driver is not installed: the browser test is skipped"
)]
async fn sign_in_see_the_wheel_open_a_unit() {
    let db = TestDb::sqlite("browser");
    let store = skovby_with_themes(&db, "2026-05-15").await;
    let s = stamp("2026-05-15");
    for (unit, on) in [
        ("dt-nord-1", "2026-03-14"),
        ("dt-nord-2", "2026-04-02"),
        ("sk-vest", "2026-03-04"),
    ] {
        store
            .record_dialogue(unit, date(on), None, &s)
            .await
            .unwrap();
    }
    store
        .submit_agreement("dt-nord-1", date("2026-04-09"), AGREEMENT, "a.toml", &s)
        .await
        .unwrap();
    let (token, _) = store
        .create_token(Role::Secretariat, "sekretariat@skovby.dk", None, &s)
        .await
        .unwrap();
    let now = || eight("2026-05-15") + chrono::Duration::hours(2);
    let state = AppState::new(store.clone(), Arc::new(now), "sekretariat@skovby.dk".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(hjul_api::serve(listener, state, std::future::pending()));

    let expected = store
        .status(
            date("2026-05-15"),
            &hjul_store::StatusFilter::default(),
            None,
        )
        .await
        .unwrap();
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in &expected {
        *counts
            .entry(r.step.map_or("none", hjul_wheel::Step::key).to_owned())
            .or_default() += 1;
    }
    let total = expected.len();

    let base2 = base.clone();
    let shot = tokio::task::spawn_blocking(move || {
        let base = base2;
        let d = Driver::start();
        // Not signed in: the sign-in page.
        d.go(&format!("{base}/"));
        assert!(d.url().ends_with("/login"), "{}", d.url());
        let field = d.find("#token");
        d.type_into(&field, &token);
        d.click(&d.find("#sign-in"));
        let url = d.url_when("/");
        assert!(url.ends_with('/'), "signed in and on the overview: {url}");
        // The wheel: six phases and a hand at today.
        assert_eq!(d.find_all("#wheel path.phase").len(), 6);
        assert_eq!(d.find_all("#wheel #today").len(), 1);
        // The counts per step are the status's.
        let mut shown = std::collections::BTreeMap::new();
        for cell in d.find_all("td.count") {
            shown.insert(
                d.attribute(&cell, "data-step"),
                d.text(&cell).parse::<usize>().unwrap(),
            );
        }
        assert_eq!(d.text(&d.find("#total")), total.to_string());
        assert_eq!(shown, counts);
        assert!(shown["awaiting_dialogue"] > 0);
        // The overview as a Danish user sees it (docs/img/dashboard.png is one of these).
        let shot = d.screenshot();
        // Open a unit from the list.
        let link = d
            .find_all("#units a")
            .into_iter()
            .find(|a| d.attribute(a, "href").ends_with("/units/dt-nord-1"))
            .unwrap();
        d.click(&link);
        let url = d.url_when("/units/dt-nord-1");
        assert!(url.ends_with("/units/dt-nord-1"), "{url}");
        let step = d.text(&d.find("#step"));
        assert!(step.contains("Afventer underskrift"), "{step}");
        // The English switch.
        d.click(&d.find("header a[href^='/lang/en']"));
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut step = String::new();
        while Instant::now() < deadline {
            // The old page's element may be gone while the new page loads: look again.
            step = d.try_text("#step").unwrap_or_default();
            if step.contains("Awaiting signature") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(step.contains("Awaiting signature"), "{step}");
        shot
    })
    .await
    .unwrap();

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dashboard.png");
    std::fs::write(&path, &shot).unwrap();
    assert!(shot.starts_with(b"\x89PNG"), "a PNG");
    let n = colours(&shot);
    assert!(
        n > 50,
        "the screenshot {} has only {n} colours: blank?",
        path.display()
    );
}
