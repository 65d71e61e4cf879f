//! A real SMTP server on loopback for the tests: the protocol is `mailin`'s (the engine
//! mailcrab runs on), driven by tokio, with the faults a mail server can have: refusing
//! connections, answering 451 (try later) or 550 (no) to a message.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the server answers a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// 451: a transient failure; the client should try again later.
    TempFail,
    /// 550: a permanent refusal.
    PermFail,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    /// When the server accepted it.
    pub at: std::time::SystemTime,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The calendar attachment, decoded (lettre writes it quoted-printable or base64).
    pub fn calendar(&self) -> Option<String> {
        self.part("text/calendar")
    }

    /// The plain-text part, decoded: what the recipient reads.
    pub fn plain(&self) -> Option<String> {
        self.part("text/plain")
    }

    /// The first MIME part of this content type, decoded.
    pub fn part(&self, content_type: &str) -> Option<String> {
        let text = self.text();
        let start = text.find(&format!("Content-Type: {content_type}"))?;
        let part = &text[start..];
        let (head, body) = part.split_once("\r\n\r\n")?;
        let body = body.split("\r\n--").next()?;
        let encoding = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding:"))
            .map(str::trim)
            .unwrap_or("7bit");
        let bytes = match encoding {
            "quoted-printable" => quoted_printable(body),
            "base64" => base64(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8(bytes).ok()
    }

    /// A header's value (the first), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = &mut value {
                if line.starts_with(' ') || line.starts_with('\t') {
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }
}

#[derive(Default)]
struct Shared {
    behaviour: Option<Behaviour>,
    received: Vec<Received>,
    /// Messages answered with a failure.
    refused: usize,
    /// Messages accepted, kept or not.
    accepted: usize,
    /// Keep only the count, not the messages (a benchmark sending hundreds of thousands).
    count_only: bool,
    /// Never answer QUIT (a server that hangs as a client says goodbye).
    silent_on_quit: bool,
    /// One address answered otherwise than the rest.
    refuse: Option<(String, Behaviour)>,
    /// Every address a client gave at RCPT, in order, taken or not.
    tried: Vec<String>,
    /// NOOPs asked (a client checking a connection before using it).
    noops: usize,
}

#[derive(Clone)]
struct MailHandler {
    shared: Arc<Mutex<Shared>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for MailHandler {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        mailin::response::OK
    }

    // Refusals come at RCPT, as real servers give them (greylisting, unknown mailbox);
    // mailin would keep a session in its data state after a refusal at the end of DATA.
    fn rcpt(&mut self, to: &str) -> Response {
        let mut shared = self.shared.lock().expect("the test server's state");
        shared.tried.push(to.to_owned());
        let behaviour = match &shared.refuse {
            Some((address, behaviour)) if address == to => *behaviour,
            _ => shared.behaviour.unwrap_or(Behaviour::Accept),
        };
        match behaviour {
            Behaviour::Accept => {
                self.to.push(to.to_owned());
                mailin::response::OK
            }
            Behaviour::TempFail => {
                shared.refused += 1;
                Response::custom(451, "4.3.0 Try again later".to_owned())
            }
            Behaviour::PermFail => {
                shared.refused += 1;
                Response::custom(550, "5.1.1 Mailbox unavailable".to_owned())
            }
        }
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mut shared = self.shared.lock().expect("the test server's state");
        shared.accepted += 1;
        if shared.count_only {
            self.from.clear();
            self.to.clear();
            self.data.clear();
            return mailin::response::OK;
        }
        shared.received.push(Received {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
            at: std::time::SystemTime::now(),
        });
        mailin::response::OK
    }
}

pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: Option<JoinHandle<()>>,
}

async fn session(
    socket: TcpStream,
    handler: MailHandler,
    shared: Arc<Mutex<Shared>>,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let peer = socket.peer_addr()?;
    let mut stream = BufReader::new(socket);
    let mut session = SessionBuilder::new("hjul-test-smtp").build(peer.ip(), handler);
    stream.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if line.eq_ignore_ascii_case(b"QUIT\r\n")
            && shared
                .lock()
                .expect("the test server's state")
                .silent_on_quit
        {
            // Hold the connection open and say nothing until the client goes.
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
            return Ok(());
        }
        if line.eq_ignore_ascii_case(b"NOOP\r\n") {
            shared.lock().expect("the test server's state").noops += 1;
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => stream.write_all(&response.buffer()?).await?,
            Action::Close => {
                stream.write_all(&response.buffer()?).await?;
                return Ok(());
            }
            Action::NoReply | Action::UpgradeTls => {}
        }
    }
}

impl SmtpServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let mut server = Self {
            addr,
            shared: Arc::new(Mutex::new(Shared::default())),
            task: None,
        };
        server.listen(listener);
        server
    }

    fn listen(&mut self, listener: TcpListener) {
        let shared = self.shared.clone();
        self.task = Some(tokio::spawn(async move {
            // Sessions live in this set: stopping the server drops it, which closes
            // every open connection too.
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                let handler = MailHandler {
                    shared: shared.clone(),
                    from: String::new(),
                    to: Vec::new(),
                    data: Vec::new(),
                };
                let shared = shared.clone();
                sessions.spawn(async move {
                    let _ = session(socket, handler, shared).await;
                });
                while sessions.try_join_next().is_some() {}
            }
        }));
    }

    /// Starts a server that counts what it accepts and keeps none of it.
    pub async fn start_counting() -> Self {
        let server = Self::start().await;
        server.shared.lock().expect("state").count_only = true;
        server
    }

    /// Messages accepted since the start.
    pub fn accepted(&self) -> usize {
        self.shared.lock().expect("state").accepted
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set(&self, behaviour: Behaviour) {
        self.shared.lock().expect("state").behaviour = Some(behaviour);
    }

    /// Answers `address` (as given at RCPT) with `behaviour`, everyone else as `set`.
    pub fn refuse_to(&self, address: &str, behaviour: Behaviour) {
        self.shared.lock().expect("state").refuse = Some((address.to_owned(), behaviour));
    }

    /// Every address given at RCPT since the start, in order, taken or not.
    pub fn tried(&self) -> Vec<String> {
        self.shared.lock().expect("state").tried.clone()
    }

    /// NOOPs asked since the start.
    pub fn noops(&self) -> usize {
        self.shared.lock().expect("state").noops
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("state").received.clone()
    }

    pub fn refused(&self) -> usize {
        self.shared.lock().expect("state").refused
    }

    /// From now on, never answer QUIT.
    pub fn silent_on_quit(&self) {
        self.shared.lock().expect("state").silent_on_quit = true;
    }

    pub fn clear(&self) {
        self.shared.lock().expect("state").received.clear();
    }

    /// Stops listening: connections are refused until `restart`.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        // The aborted task drops its listener on its next poll; wait for the port.
        for _ in 0..100 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                self.listen(listener);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("port {} did not come free", self.addr.port());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Decodes base64 (the standard alphabet; line breaks and padding skipped).
pub fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        bits = (bits << 6) | u32::try_from(v).unwrap_or(0);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push(u8::try_from((bits >> n) & 0xff).unwrap_or(0));
        }
    }
    out
}
