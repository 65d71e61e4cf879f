//! Where mail goes: an SMTP server, or (the embedded default) `.eml` files in a folder.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::SecretString;
use serde::Deserialize;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain text: only for a server on this machine or a trusted network.
    None,
    /// Plain text upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP server. The password is kept in a secret type: it never appears in a log
/// or in a `Debug` print.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<SecretString>,
    /// Seconds to wait for the server.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Set TCP_NODELAY on the connection (lettre does not): without it every message
    /// waits about 40 ms for a delayed ACK. Off only to measure the difference.
    #[serde(default = "default_true")]
    pub tcp_nodelay: bool,
}

fn default_port() -> u16 {
    587
}
fn default_tls() -> TlsMode {
    TlsMode::Starttls
}
fn default_timeout() -> u64 {
    30
}
fn default_true() -> bool {
    true
}

impl SmtpSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }
}

/// Everything about sending.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    /// No server: each mail is written as an `.eml` file in `outbox_dir`.
    pub smtp: Option<SmtpSettings>,
    pub outbox_dir: PathBuf,
    /// Templates to use instead of the built-in ones (file by file).
    pub templates: Option<PathBuf>,
}
