//! A rendered mail as a MIME message: text and HTML alternatives and the calendar file,
//! with typed headers (lettre encodes them; a name can never add a header).

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::MailError;
use crate::content::Mail;
use crate::settings::MailSettings;
use crate::templates::Rendered;

/// The Message-ID of a mail, derived from the outbox keys it carries: the same items
/// always make the same id, so a mail sent twice (a crash between sending and
/// recording it) can be recognised as the same mail.
pub fn message_id(keys: &[&str], from: &Mailbox) -> String {
    let mut keys: Vec<&str> = keys.to_vec();
    keys.sort_unstable();
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, keys.join("\n").as_bytes());
    format!("<{id}@{}>", from.email.domain())
}

/// `text` with every line ending CRLF, as a mail body's must be, in one pass. The mail
/// library does this itself by inserting each `\r` in place, which moves the rest of the
/// body once per line: for a mail's HTML, a tenth of the whole cycle's CPU time went to
/// that copying. Given CRLF already, it inserts nothing.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut after_cr = false;
    for c in text.chars() {
        if c == '\n' && !after_cr {
            out.push('\r');
        }
        out.push(c);
        after_cr = c == '\r';
    }
    out
}

pub fn build(
    settings: &MailSettings,
    mail: &Mail,
    rendered: &Rendered,
    ics: Option<crate::calendar::Ics>,
    message_id: &str,
    at: DateTime<Utc>,
) -> Result<Message, MailError> {
    let address = mail
        .to
        .email
        .parse()
        .map_err(|e| MailError::Address(format!("{}: {e}", mail.to.email)))?;
    // Names were checked at import (no line breaks); lettre encodes what is left.
    let to = Mailbox::new(Some(mail.to.name.replace(['\r', '\n'], " ")), address);
    let mut builder = Message::builder()
        .from(settings.from.clone())
        .to(to)
        .subject(rendered.subject.replace(['\r', '\n'], " "))
        .message_id(Some(message_id.to_owned()))
        .date(SystemTime::from(at))
        .user_agent("hjul".to_owned());
    if let Some(reply_to) = &settings.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    // The leaders a deputy stands in for see what goes to their deputy.
    for copy in &mail.cc {
        let address = copy
            .email
            .parse()
            .map_err(|e| MailError::Address(format!("{}: {e}", copy.email)))?;
        builder = builder.cc(Mailbox::new(
            Some(copy.name.replace(['\r', '\n'], " ")),
            address,
        ));
    }
    let body = MultiPart::alternative_plain_html(crlf(&rendered.text), crlf(&rendered.html));
    let message = match ics {
        Some(ics) => {
            let calendar = ContentType::parse(&format!(
                "text/calendar; charset=utf-8; method={}",
                ics.method
            ))
            .map_err(|e| MailError::Address(e.to_string()))?;
            let part: SinglePart =
                Attachment::new("kvalitetshjul.ics".to_owned()).body(ics.text, calendar);
            builder.multipart(MultiPart::mixed().multipart(body).singlepart(part))
        }
        None => builder.multipart(body),
    };
    message.map_err(|e| MailError::Address(e.to_string()))
}

#[cfg(test)]
mod tests {
    use lettre::Address;
    use proptest::prelude::*;

    /// hjul checks an address once, with `Email::parse`; the mail library checks it again
    /// when the mail is built. Every address hjul accepts must pass the library too, or it
    /// would pass import and fail at send time.
    fn lettre_accepts(a: &str) -> bool {
        a.parse::<Address>().is_ok()
    }

    #[test]
    fn the_mail_library_takes_every_address_hjul_takes() {
        for a in [
            "anna.bech@skovby.dk",
            "søren.ørsted@skovby.dk",
            "a+b_c-d@sub.skovby.dk",
            "x@æblehaven.dk",
            &format!("{}@skovby.dk", "a".repeat(64)),
        ] {
            let e = hjul_wheel::Email::parse(a).unwrap();
            assert!(lettre_accepts(e.as_str()), "{a}");
        }
    }

    /// The mail library's own conversion: a `\r` inserted before each `\n` that has
    /// none, from the end.
    fn inserted_in_place(text: &str) -> String {
        let mut s = text.to_owned();
        let at: Vec<usize> = s
            .char_indices()
            .filter(|&(i, c)| c == '\n' && !text[..i].ends_with('\r'))
            .map(|(i, _)| i)
            .collect();
        for i in at.into_iter().rev() {
            s.insert(i, '\r');
        }
        s
    }

    proptest! {
        #[test]
        fn line_endings_become_crlf_as_the_mail_library_makes_them(
            text in "([a-zæøå <>/]{0,12}(\r\n|\n|\r|\n\n|\r\r\n)?){0,20}",
        ) {
            prop_assert_eq!(super::crlf(&text), inserted_in_place(&text));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn no_address_passes_hjul_and_fails_the_library(
            local in "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~ø-]{1,70}",
            domain in "[a-zA-Z0-9_-]{1,12}(\\.[a-zA-Zø0-9_-]{1,12}){1,3}",
        ) {
            let text = format!("{local}@{domain}");
            if let Ok(e) = hjul_wheel::Email::parse(&text) {
                prop_assert!(lettre_accepts(e.as_str()), "{text}");
            }
        }
    }
}
