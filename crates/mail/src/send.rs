//! Sending: to an SMTP server over connections hjul opens itself (so TCP_NODELAY can be
//! set, which lettre 0.11 never does), or to `.eml` files, or into memory for
//! `hjul simulate` and tests.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use secrecy::ExposeSecret;
use tokio::sync::Mutex;

use crate::settings::{SmtpSettings, TlsMode};

/// Why a mail was not accepted, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A 4xx answer, or the server could not be reached: try again later.
    #[error("{0}")]
    Transient(String),
    /// A 5xx answer: the server will not take this mail.
    #[error("{0}")]
    Permanent(String),
}

/// A mail as it would have gone out (for `hjul simulate` and tests).
#[derive(Debug, Clone)]
pub struct Captured {
    pub to: Vec<String>,
    pub message_id: String,
    pub bytes: Vec<u8>,
}

/// A mail made to go: its envelope and its bytes as the server receives them. Made
/// apart from sending, so the next mail can be made while one waits for the server.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

impl From<&Message> for Outgoing {
    fn from(message: &Message) -> Self {
        Self {
            envelope: message.envelope().clone(),
            bytes: message.formatted(),
        }
    }
}

pub enum Sender {
    Smtp(SmtpSender),
    Files(PathBuf),
    Capture(Arc<std::sync::Mutex<Vec<Captured>>>),
}

impl Sender {
    /// Sends one message. Returns only after the server accepted it (or the file is
    /// written).
    pub async fn send(
        &self,
        message: &Outgoing,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => smtp.send(message).await,
            Self::Files(dir) => {
                let to = message
                    .envelope
                    .to()
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let name: String =
                    format!("{}_{to}_{}.eml", at.format("%Y-%m-%dT%H%M%SZ"), message_id)
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    SendError::Transient(format!("cannot create {}: {e}", dir.display()))
                })?;
                let path = dir.join(name);
                tokio::fs::write(&path, &message.bytes).await.map_err(|e| {
                    SendError::Transient(format!("cannot write {}: {e}", path.display()))
                })
            }
            Self::Capture(into) => {
                let captured = Captured {
                    to: message
                        .envelope
                        .to()
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    message_id: message_id.to_owned(),
                    bytes: message.bytes.clone(),
                };
                into.lock()
                    .map_err(|e| SendError::Transient(e.to_string()))?
                    .push(captured);
                Ok(())
            }
        }
    }
}

/// An SMTP client that keeps its connection open between mails.
pub struct SmtpSender {
    settings: SmtpSettings,
    /// Open connections, each with when the server last accepted a mail on it.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// A connection the server accepted a mail on this recently is used without asking first
/// (NOOP): in a run of mails that question was a fifth round trip for each four.
const FRESH: Duration = Duration::from_secs(1);

impl SmtpSender {
    pub fn new(settings: SmtpSettings) -> Self {
        Self {
            settings,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn client_id() -> ClientId {
        ClientId::Domain("hjul.localhost".to_owned())
    }

    /// Connects, greets, upgrades and signs in, all within the time limit: lettre bounds
    /// only the TCP connect, and a server that takes the connection and never greets (a
    /// tarpit, a server hung mid-restart) would otherwise hold the dispatcher for good.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let s = &self.settings;
        tokio::time::timeout(s.timeout(), self.connect_unbounded())
            .await
            .map_err(|_| {
                SendError::Transient(format!(
                    "{}:{}: no answer within {} s while connecting",
                    s.host,
                    s.port,
                    s.timeout().as_secs()
                ))
            })?
    }

    async fn connect_unbounded(&self) -> Result<AsyncSmtpConnection, SendError> {
        let s = &self.settings;
        let transient =
            |e: &dyn std::fmt::Display| SendError::Transient(format!("{}:{}: {e}", s.host, s.port));
        let id = Self::client_id();
        let mut conn = match s.tls {
            TlsMode::Tls => {
                // Implicit TLS goes through lettre's own connect: the stream is wrapped
                // before hjul could set TCP_NODELAY on it.
                let tls = TlsParameters::new(s.host.clone()).map_err(|e| transient(&e))?;
                AsyncSmtpConnection::connect_tokio1(
                    (s.host.as_str(), s.port),
                    Some(s.timeout()),
                    &id,
                    Some(tls),
                    None,
                )
                .await
                .map_err(|e| transient(&e))?
            }
            TlsMode::None | TlsMode::Starttls => {
                let stream = tokio::time::timeout(
                    s.timeout(),
                    tokio::net::TcpStream::connect((s.host.as_str(), s.port)),
                )
                .await
                .map_err(|_| transient(&"connection timed out"))?
                .map_err(|e| transient(&e))?;
                if s.tcp_nodelay {
                    stream.set_nodelay(true).map_err(|e| transient(&e))?;
                }
                let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &id)
                    .await
                    .map_err(|e| classify(&e))?;
                if s.tls == TlsMode::Starttls {
                    let tls = TlsParameters::new(s.host.clone()).map_err(|e| transient(&e))?;
                    conn.starttls(tls, &id).await.map_err(|e| classify(&e))?;
                }
                conn
            }
        };
        if let (Some(user), Some(password)) = (&s.user, &s.password) {
            let credentials = Credentials::new(user.clone(), password.expose_secret().to_owned());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(conn)
    }

    pub async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let timeout = self.settings.timeout();
        let pooled = self.idle.lock().await.pop();
        let (mut conn, untested) = match pooled {
            Some((c, used)) if !c.has_broken() && used.elapsed() < FRESH => (c, true),
            Some((mut c, _)) if !c.has_broken() => {
                // lettre puts no time limit on commands (only on connecting): a server
                // that stops answering must not stall the dispatcher.
                if matches!(
                    tokio::time::timeout(timeout, c.test_connected()).await,
                    Ok(true)
                ) {
                    (c, false)
                } else {
                    self.let_go(c).await;
                    (self.connect().await?, false)
                }
            }
            _ => (self.connect().await?, false),
        };
        let (envelope, bytes) = (&message.envelope, &message.bytes);
        let mut outcome = tokio::time::timeout(timeout, conn.send(envelope, bytes)).await;
        // A connection used without asking may have been closed by the server since (it
        // restarted, or closes idle ones): a failure without an SMTP answer sends the
        // mail again at once on a new connection, as a NOOP would have led to. Had the
        // server taken it and then lost the line before answering, it arrives twice, as
        // it would after the later retry that any failure without an answer gets.
        if untested && matches!(&outcome, Ok(Err(e)) if e.status().is_none()) {
            self.let_go(conn).await;
            conn = self.connect().await?;
            outcome = tokio::time::timeout(timeout, conn.send(envelope, bytes)).await;
        }
        match outcome {
            Ok(Ok(_)) => {
                self.idle.lock().await.push((conn, Instant::now()));
                Ok(())
            }
            Ok(Err(e)) => {
                // After a refusal the session's state is the server's guess; a fresh
                // connection for the next mail costs little and guesses nothing.
                self.let_go(conn).await;
                Err(classify(&e))
            }
            Err(_) => {
                self.let_go(conn).await;
                Err(SendError::Transient(format!(
                    "{}:{}: no answer within {} s",
                    self.settings.host,
                    self.settings.port,
                    timeout.as_secs()
                )))
            }
        }
    }

    /// Gives up a connection: lettre's `abort` says QUIT and waits for the answer, which a
    /// server that has stopped answering never gives; past the time limit the connection
    /// is simply dropped (closed).
    async fn let_go(&self, mut conn: AsyncSmtpConnection) {
        let quit = self.settings.timeout().min(Duration::from_secs(2));
        let _ = tokio::time::timeout(quit, conn.abort()).await;
    }

    /// Closes idle connections politely, waiting for each server's answer no longer than
    /// the time limit on commands: a server that does not answer QUIT must not keep the
    /// service from stopping.
    pub async fn close(&self) {
        let timeout = self.settings.timeout();
        for (mut c, _) in self.idle.lock().await.drain(..) {
            let _ = tokio::time::timeout(timeout, c.quit()).await;
        }
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(e.to_string())
    } else {
        SendError::Transient(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    fn settings(port: u16) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            user: None,
            password: None,
            timeout_secs: 1,
            tcp_nodelay: true,
        }
    }

    fn message() -> Outgoing {
        Outgoing {
            envelope: Envelope::new(
                Some("hjul@skovby.dk".parse().unwrap()),
                vec!["anna@skovby.dk".parse().unwrap()],
            )
            .unwrap(),
            bytes: b"Subject: x\r\n\r\nx\r\n".to_vec(),
        }
    }

    /// A server that answers until it has seen `silent_after` and then says nothing more,
    /// keeping the connection open (a tarpit, a server hung mid-restart).
    async fn falls_silent(silent_after: &'static str) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    if silent_after != "connect" {
                        let _ = write.write_all(b"220 test\r\n").await;
                    }
                    let mut silent = silent_after == "connect";
                    while let Ok(Some(line)) = lines.next_line().await {
                        silent |= line.to_ascii_uppercase().starts_with(silent_after);
                        if !silent {
                            let _ = write.write_all(b"250 ok\r\n").await;
                        }
                    }
                    drop(write);
                });
            }
        });
        port
    }

    /// However a server stops answering (before its greeting, or in the middle of a
    /// mail), a send gives up within its time limit and a little, as a failure to try
    /// again later: it never holds the dispatcher.
    #[tokio::test]
    async fn a_server_that_stops_answering_costs_the_time_limit_not_the_dispatcher() {
        for when in ["connect", "EHLO", "MAIL", "DATA"] {
            let sender = SmtpSender::new(settings(falls_silent(when).await));
            let started = Instant::now();
            let sent = tokio::time::timeout(Duration::from_secs(10), sender.send(&message()))
                .await
                .unwrap_or_else(|_| panic!("silent from {when}: the send hung"));
            assert!(
                matches!(sent, Err(SendError::Transient(_))),
                "silent from {when}: {sent:?}"
            );
            // The time limit (1 s), and at most 2 s more for a QUIT nobody answers.
            assert!(
                started.elapsed() < Duration::from_millis(3_500),
                "silent from {when}: {:?}",
                started.elapsed()
            );
        }
    }
}
