//! # hjul-mail: what a leader receives
//!
//! Mails put into words by minijinja templates in files (Danish and English, text and
//! HTML), each deadline mail with a calendar file, built as MIME with typed headers, and
//! sent to an SMTP server or written as `.eml` files.
//!
//! This crate decides nothing about *when* or *whether* to send: that is the
//! scheduler's. It takes a `Mail` and delivers it.

pub mod calendar;
pub mod content;
pub mod message;
pub mod send;
pub mod settings;
pub mod templates;

pub use content::{CycleEnded, Digest, Failure, Item, Mail, MailKind, Recipient};
pub use send::{Captured, Outgoing, SendError, Sender, SmtpSender};
pub use settings::{MailSettings, SmtpSettings, TlsMode};
pub use templates::{Rendered, Templates};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail template {0}")]
    Template(String),
    #[error("cannot address the mail: {0}")]
    Address(String),
}
