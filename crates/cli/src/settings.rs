//! The service's settings: `hjul.toml` (from `--config DIR`, `./config`, or built in),
//! with environment variables `HJUL__SECTION__KEY` laid over it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use hjul_mail::{MailSettings, SmtpSettings};
use hjul_scheduler::{SchedulerSettings, Secretariat, parse_cron};
use hjul_wheel::{Email, Language};
use serde::Deserialize;

pub const SETTINGS_FILE: &str = "hjul.toml";
const BUILTIN: &str = include_str!("../../../config/hjul.toml");
const ENV_PREFIX: &str = "HJUL__";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    secretariat: RawSecretariat,
    mail: RawMail,
    #[serde(default)]
    smtp: Option<SmtpSettings>,
    #[serde(default)]
    scheduler: RawScheduler,
    #[serde(default)]
    web: RawWeb,
    #[serde(default)]
    data: RawData,
    #[serde(default)]
    report: RawReport,
    #[serde(default)]
    auth: RawAuth,
    #[serde(default)]
    privacy: RawPrivacy,
    #[serde(default)]
    http: RawHttp,
}

/// `[http]`: the server's timeouts and its cap on open connections.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    header_read_timeout_secs: Option<toml::Value>,
    idle_timeout_secs: Option<toml::Value>,
    max_connections: Option<toml::Value>,
}

/// A setting that is a whole number from `min` to `max` (`default` when not given); any
/// other value is refused with the file, the key, what to write and the bounds.
fn whole_number(
    source: &str,
    key: &str,
    value: Option<toml::Value>,
    (min, max): (i64, i64),
    default: u64,
    what: &str,
) -> anyhow::Result<u64> {
    match value {
        None => Ok(default),
        Some(toml::Value::Integer(n)) if (min..=max).contains(&n) => {
            Ok(u64::try_from(n).unwrap_or(default))
        }
        Some(other) => Err(anyhow!(
            "{source}: {key} `{}`: write {what}, a whole number from {min} to {max} (the default is {default})",
            match other {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                _ => "?".to_owned(),
            }
        )),
    }
}

/// `[http]`, checked: each a whole number within its bounds, or the default.
fn http_limits(raw: RawHttp, source: &str) -> anyhow::Result<hjul_api::Limits> {
    let defaults = hjul_api::Limits::default();
    let whole = |key: &str, value, bounds, default: u64, what: &str| {
        whole_number(source, &format!("http.{key}"), value, bounds, default, what)
    };
    Ok(hjul_api::Limits {
        header_read_timeout: Duration::from_secs(whole(
            "header_read_timeout_secs",
            raw.header_read_timeout_secs,
            (1, 300),
            defaults.header_read_timeout.as_secs(),
            "how many seconds a request's header may take to arrive",
        )?),
        idle_timeout: Duration::from_secs(whole(
            "idle_timeout_secs",
            raw.idle_timeout_secs,
            (5, 3600),
            defaults.idle_timeout.as_secs(),
            "how many seconds a connection may send nothing before it is closed",
        )?),
        max_connections: usize::try_from(whole(
            "max_connections",
            raw.max_connections,
            (8, 1_000_000),
            defaults.max_connections as u64,
            "how many connections may be open at once (keep it below the service's LimitNOFILE)",
        )?)
        .unwrap_or(defaults.max_connections),
    })
}

/// `[privacy]`: how many days each kind of record is kept. Read by hand, so a mistake
/// (a word, a fraction, too few days) is told with the key's name.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    read_log_days: Option<toml::Value>,
    audit_log_days: Option<toml::Value>,
    sessions_days: Option<toml::Value>,
    mail_days: Option<toml::Value>,
    data_days: Option<toml::Value>,
    drafts_days: Option<toml::Value>,
    departed_days: Option<toml::Value>,
}

/// The most days a kind may be kept: a hundred years.
const MAX_RETENTION_DAYS: i64 = 36_500;

/// `[privacy]`, checked: each a whole number of days from
/// [`hjul_store::MIN_RETENTION_DAYS`] to [`MAX_RETENTION_DAYS`].
fn retention(raw: RawPrivacy, source: &str) -> anyhow::Result<hjul_store::Retention> {
    let defaults = hjul_store::Retention::default();
    let days = |key: &str, value, default: u32| -> anyhow::Result<u32> {
        let n = whole_number(
            source,
            &format!("privacy.{key}"),
            value,
            (
                i64::from(hjul_store::MIN_RETENTION_DAYS),
                MAX_RETENTION_DAYS,
            ),
            u64::from(default),
            "how many days to keep them",
        )?;
        Ok(u32::try_from(n).unwrap_or(default))
    };
    Ok(hjul_store::Retention {
        read_log_days: days("read_log_days", raw.read_log_days, defaults.read_log_days)?,
        audit_log_days: days(
            "audit_log_days",
            raw.audit_log_days,
            defaults.audit_log_days,
        )?,
        sessions_days: days("sessions_days", raw.sessions_days, defaults.sessions_days)?,
        mail_days: days("mail_days", raw.mail_days, defaults.mail_days)?,
        data_days: days("data_days", raw.data_days, defaults.data_days)?,
        drafts_days: days("drafts_days", raw.drafts_days, defaults.drafts_days)?,
        departed_days: days("departed_days", raw.departed_days, defaults.departed_days)?,
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    /// Whether people may sign in to the dashboard with a token (default yes; API
    /// tokens work either way).
    token_sign_in: Option<bool>,
    oidc: Option<RawOidc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    client_id: String,
    /// Better in the environment: `HJUL__AUTH__OIDC__CLIENT_SECRET`.
    client_secret: Option<String>,
    /// A file holding the secret (a secret store's mount, say).
    client_secret_file: Option<PathBuf>,
    name: Option<String>,
    scopes: Option<Vec<String>>,
    email_claim: Option<String>,
    groups_claim: Option<String>,
    secretariat_group: Option<String>,
}

/// `[auth.oidc]`, checked: an issuer hjul can reach safely, a client, at most one way to
/// the secret, and the dashboard's own address for the provider's answer.
fn oidc_settings(
    raw: RawOidc,
    web_url: Option<&str>,
    source: &str,
) -> anyhow::Result<hjul_app::OidcSettings> {
    // As the provider's discovery document gives it, to the letter (a trailing `/`
    // included): the library compares the two exactly.
    let issuer = raw.issuer.trim().to_owned();
    let local = issuer.strip_prefix("http://").is_some_and(|rest| {
        let authority = rest.split('/').next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        matches!(host, "127.0.0.1" | "localhost" | "::1")
    });
    if !(issuer.starts_with("https://") || local) || issuer.chars().any(char::is_whitespace) {
        return Err(anyhow!(
            "{source}: auth.oidc.issuer `{issuer}` is not an https address: write the provider's issuer as its discovery document gives it, for example https://login.kommune.dk/realms/ansatte (plain http only to this machine)"
        ));
    }
    if raw.client_id.trim().is_empty() {
        return Err(anyhow!(
            "{source}: auth.oidc.client_id is empty: write the client id the provider gave hjul"
        ));
    }
    let client_secret = match (raw.client_secret, raw.client_secret_file) {
        (Some(_), Some(_)) => {
            return Err(anyhow!(
                "{source}: auth.oidc has both client_secret and client_secret_file: keep one"
            ));
        }
        (Some(s), None) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(&path)
                .with_context(|| {
                    format!(
                        "{source}: auth.oidc.client_secret_file {} cannot be read",
                        path.display()
                    )
                })?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let Some(web) = web_url else {
        return Err(anyhow!(
            "{source}: auth.oidc needs [web] url, the dashboard's address as people open it: the provider sends them back to it (WEB_URL/login/oidc/callback)"
        ));
    };
    let mut scopes = raw
        .scopes
        .unwrap_or_else(|| vec!["email".into(), "profile".into()]);
    // `openid` is asked for by the library itself.
    scopes.retain(|s| s != "openid" && !s.trim().is_empty());
    Ok(hjul_app::OidcSettings {
        issuer,
        client_id: raw.client_id.trim().to_owned(),
        client_secret,
        scopes,
        email_claim: raw.email_claim.unwrap_or_else(|| "email".into()),
        groups_claim: raw.groups_claim.unwrap_or_else(|| "groups".into()),
        secretariat_group: raw.secretariat_group.filter(|g| !g.trim().is_empty()),
        name: raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "kommunens log-ind".into()),
        redirect_url: format!("{web}/login/oidc/callback"),
        post_logout_url: format!("{web}/login"),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReport {
    /// A directory with changed report templates (as `config/report`); files it lacks
    /// come from the built-in copies.
    templates: Option<PathBuf>,
    /// The municipality's own hosts a report template's links may go to.
    link_hosts: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawData {
    /// Values from fewer respondents than this are kept but never shown.
    /// Read by hand, so any mistake (a word, a fraction) is told with the key's name.
    min_responses: Option<toml::Value>,
}

/// The most respondents the privacy threshold may ask for: beyond it, every survey of a
/// house would vanish, which is a typing mistake rather than a policy.
const MAX_MIN_RESPONSES: i64 = 1000;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    /// The dashboard's address as people reach it, for the links in mails.
    url: Option<String>,
    /// The municipality's accessibility statement (made in the WAS-Tool), linked from
    /// the dashboard's footer and from /was.
    accessibility_statement: Option<String>,
}

/// The dashboard's address, checked: `http(s)://host[...]`, with no spaces, trailing `/`
/// dropped. Empty means none.
fn web_url(text: &str, source: &str) -> anyhow::Result<Option<String>> {
    web_address(
        "web.url",
        text,
        source,
        "write the dashboard's address as people open it, for example https://hjul.kommune.dk",
    )
}

/// A web address in `key`, checked as [`web_url`] does; `hint` says what to write.
fn web_address(key: &str, text: &str, source: &str, hint: &str) -> anyhow::Result<Option<String>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let host = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match host {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !text.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>')
                }) =>
        {
            Ok(Some(text.trim_end_matches('/').to_owned()))
        }
        _ => Err(anyhow!(
            "{source}: {key} `{text}` is not a web address: {hint}"
        )),
    }
}

/// The hosts a report's links may go to: `[report] link_hosts`, else the dashboard's
/// own host (`[web] url`), else none.
fn link_hosts(
    listed: Option<Vec<String>>,
    web: Option<&str>,
    source: &str,
) -> anyhow::Result<Vec<String>> {
    let Some(listed) = listed else {
        return Ok(web
            .and_then(|u| u.split_once("://"))
            .and_then(|(_, rest)| rest.split(['/', ':', '?', '#']).next())
            .filter(|h| !h.is_empty())
            .map(|h| vec![h.to_ascii_lowercase()])
            .unwrap_or_default());
    };
    listed
        .into_iter()
        .map(|h| {
            let host = h.trim().to_ascii_lowercase();
            let plain = !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
            if plain {
                Ok(host)
            } else {
                Err(anyhow!(
                    "{source}: report.link_hosts `{h}` is not a host name: write the municipality's own hosts, for example [\"kommune.dk\"] (no https://, no path)"
                ))
            }
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecretariat {
    email: String,
    name: String,
    #[serde(default)]
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    from: String,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(default)]
    outbox_dir: Option<PathBuf>,
    #[serde(default)]
    templates: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScheduler {
    tick: Option<String>,
    digest: Option<String>,
    max_attempts: Option<u32>,
    retry_after_secs: Option<u64>,
    lease_secs: Option<u64>,
    department_name: Option<String>,
    /// Whether a leader gets a copy of the mail their deputy gets.
    deputy_copies_leader: Option<bool>,
}

/// What the settings say: the service's (`hjul_service::Settings`), read here.
pub use hjul_service::Settings;

/// Reading the settings from `hjul.toml` and the environment: the CLI's part, so the
/// service crate parses no files.
pub trait ReadSettings: Sized {
    /// Reads the settings from `dir/hjul.toml` when it exists, else the built-in file,
    /// then the environment.
    fn load(dir: Option<&Path>) -> anyhow::Result<Self>;

    fn parse(
        text: &str,
        source: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> anyhow::Result<Self>;
}

/// Lays `HJUL__A__B=value` over `table.a.b`; a value that reads as a TOML number or
/// boolean becomes one, anything else a string.
fn overlay_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) {
    for (name, value) in vars {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut v| v.remove("v"))
            .filter(|v| matches!(v, toml::Value::Integer(_) | toml::Value::Boolean(_)))
            .unwrap_or(toml::Value::String(value));
        set_path(table, &keys, parsed);
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) {
    match keys {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            // A variable that names a key inside a plain value is ignored.
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

impl ReadSettings for Settings {
    fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        let file = dir
            .map(|d| d.join(SETTINGS_FILE))
            .or_else(|| Some(Path::new("config").join(SETTINGS_FILE)))
            .filter(|p| p.is_file());
        let (text, source) = match &file {
            Some(p) => (
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
                p.display().to_string(),
            ),
            None => (BUILTIN.to_owned(), "built-in hjul.toml".to_owned()),
        };
        Self::parse(&text, &source, std::env::vars())
    }

    fn parse(
        text: &str,
        source: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| anyhow!("{source}: {e}"))?;
        overlay_env(&mut table, env);
        let raw: Raw = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| {
                anyhow!("{source} (with HJUL__ variables): {}", e.message())
            })?;

        let email = Email::parse(&raw.secretariat.email)
            .map_err(|e| anyhow!("{source}: secretariat.email {e}"))?;
        let language = match raw.secretariat.language.as_deref() {
            None => Language::Da,
            Some(l) => Language::parse(l)
                .ok_or_else(|| anyhow!("{source}: secretariat.language `{l}`: use da or en"))?,
        };
        let mut scheduler = SchedulerSettings::new(Secretariat {
            email: email.to_string(),
            name: raw.secretariat.name,
            language,
        });
        let s = raw.scheduler;
        if let Some(t) = s.tick {
            scheduler.tick = parse_cron(&t).map_err(|e| anyhow!("{source}: scheduler.tick {e}"))?;
        }
        if let Some(d) = s.digest {
            scheduler.digest = if d.trim().is_empty() {
                None
            } else {
                Some(parse_cron(&d).map_err(|e| anyhow!("{source}: scheduler.digest {e}"))?)
            };
        }
        if let Some(n) = s.max_attempts {
            scheduler.max_attempts = n.max(1);
        }
        if let Some(secs) = s.retry_after_secs {
            scheduler.retry_after = Duration::from_secs(secs.max(1));
        }
        if let Some(secs) = s.lease_secs {
            scheduler.lease = Duration::from_secs(secs.max(1));
        }
        if let Some(name) = s.department_name {
            scheduler.department_name = name;
        }
        if let Some(copy) = s.deputy_copies_leader {
            scheduler.deputy_copies_leader = copy;
        }
        scheduler.web_url = match raw.web.url.as_deref() {
            Some(u) => web_url(u, source)?,
            None => None,
        };

        let mailbox = |key: &str, text: &str| {
            text.parse()
                .map_err(|e| anyhow!("{source}: mail.{key} `{text}` is not an address (\"Name <name@example.dk>\"): {e}"))
        };
        let mail = MailSettings {
            from: mailbox("from", &raw.mail.from)?,
            reply_to: raw
                .mail
                .reply_to
                .as_deref()
                .map(|r| mailbox("reply_to", r))
                .transpose()?,
            smtp: raw.smtp,
            outbox_dir: raw
                .mail
                .outbox_dir
                .unwrap_or_else(|| PathBuf::from("outbox")),
            templates: raw.mail.templates,
        };
        let min_responses = match raw.data.min_responses {
            None => hjul_wheel::data::DEFAULT_MIN_RESPONSES,
            Some(toml::Value::Integer(n)) if (1..=MAX_MIN_RESPONSES).contains(&n) => n as u32,
            Some(other) => {
                let n = match other {
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::String(s) => s,
                    _ => "?".to_owned(),
                };
                return Err(anyhow!(
                    "{source}: data.min_responses `{n}`: write how many respondents a value needs before it is shown, from 1 to {MAX_MIN_RESPONSES} (the default is {})",
                    hjul_wheel::data::DEFAULT_MIN_RESPONSES
                ));
            }
        };
        let oidc = raw
            .auth
            .oidc
            .map(|o| oidc_settings(o, scheduler.web_url.as_deref(), source))
            .transpose()?;
        let report_link_hosts =
            link_hosts(raw.report.link_hosts, scheduler.web_url.as_deref(), source)?;
        let accessibility_statement = match raw.web.accessibility_statement.as_deref() {
            Some(u) => web_address(
                "web.accessibility_statement",
                u,
                source,
                "write the address of the accessibility statement made in the WAS-Tool, for example https://www.was.digst.dk/hjul-kommune-dk",
            )?,
            None => None,
        };
        Ok(Self {
            scheduler,
            mail,
            min_responses,
            report_templates: raw.report.templates,
            report_link_hosts,
            accessibility_statement,
            oidc,
            token_sign_in: raw.auth.token_sign_in.unwrap_or(true),
            retention: retention(raw.privacy, source)?,
            http: http_limits(raw.http, source)?,
            source: source.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How long records are kept: the stated defaults, a key changed, and a mistake told
    /// with the key and what to write.
    #[test]
    fn retention_is_a_setting_in_days() {
        let base =
            "[secretariat]\nemail = \"s@x.dk\"\nname = \"S\"\n[mail]\nfrom = \"H <h@x.dk>\"\n";
        let none = Settings::parse(base, "t", std::iter::empty()).unwrap();
        assert_eq!(none.retention, hjul_store::Retention::default());
        let set = Settings::parse(
            &format!("{base}[privacy]\nread_log_days = 180\n"),
            "t",
            std::iter::empty(),
        )
        .unwrap();
        assert_eq!(set.retention.read_log_days, 180);
        assert_eq!(set.retention.audit_log_days, 3650);
        for bad in ["7", "\"a year\"", "365.5", "100000"] {
            let err = Settings::parse(
                &format!("{base}[privacy]\nmail_days = {bad}\n"),
                "t",
                std::iter::empty(),
            )
            .err()
            .unwrap()
            .to_string();
            assert!(
                err.contains("privacy.mail_days") && err.contains("a whole number from 30"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_servers_limits_are_settings_within_bounds() {
        let base =
            "[secretariat]\nemail = \"s@x.dk\"\nname = \"S\"\n[mail]\nfrom = \"H <h@x.dk>\"\n";
        let none = Settings::parse(base, "t", std::iter::empty()).unwrap();
        assert_eq!(none.http, hjul_api::Limits::default());
        let set = Settings::parse(
            &format!("{base}[http]\nheader_read_timeout_secs = 5\nmax_connections = 100\n"),
            "t",
            std::iter::empty(),
        )
        .unwrap();
        assert_eq!(set.http.header_read_timeout, Duration::from_secs(5));
        assert_eq!(set.http.max_connections, 100);
        assert_eq!(
            set.http.idle_timeout,
            hjul_api::Limits::default().idle_timeout
        );
        for bad in ["0", "\"ten\"", "2.5", "100000"] {
            let err = Settings::parse(
                &format!("{base}[http]\nheader_read_timeout_secs = {bad}\n"),
                "t",
                std::iter::empty(),
            )
            .err()
            .unwrap()
            .to_string();
            assert!(
                err.contains("http.header_read_timeout_secs") && err.contains("from 1 to 300"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_report_templates_are_a_setting() {
        let base =
            "[secretariat]\nemail = \"s@x.dk\"\nname = \"S\"\n[mail]\nfrom = \"H <h@x.dk>\"\n";
        let none = Settings::parse(base, "t", std::iter::empty()).unwrap();
        assert_eq!(none.report_templates, None);
        let set = Settings::parse(
            &format!("{base}[report]\ntemplates = \"skabeloner\"\n"),
            "t",
            std::iter::empty(),
        )
        .unwrap();
        assert_eq!(set.report_templates, Some(PathBuf::from("skabeloner")));
    }

    /// A report's links go to the dashboard's own host unless hosts are listed; a
    /// listed address instead of a host is refused with what to write. The
    /// accessibility statement is a web address.
    #[test]
    fn a_reports_links_go_to_the_municipalitys_own_hosts() {
        let base =
            "[secretariat]\nemail = \"s@x.dk\"\nname = \"S\"\n[mail]\nfrom = \"H <h@x.dk>\"\n";
        let parse =
            |extra: &str| Settings::parse(&format!("{base}{extra}"), "t", std::iter::empty());
        assert!(parse("").unwrap().report_link_hosts.is_empty());
        let web = parse("[web]\nurl = \"https://Hjul.Skovby.dk:8443/x\"\n").unwrap();
        assert_eq!(web.report_link_hosts, ["hjul.skovby.dk"]);
        let listed =
            parse("[report]\nlink_hosts = [\"skovby.dk\", \"Intra.skovby.dk\"]\n").unwrap();
        assert_eq!(listed.report_link_hosts, ["skovby.dk", "intra.skovby.dk"]);
        let err = parse("[report]\nlink_hosts = [\"https://skovby.dk\"]\n")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("report.link_hosts `https://skovby.dk` is not a host name"),
            "{err}"
        );
        let was =
            parse("[web]\naccessibility_statement = \"https://www.was.digst.dk/hjul\"\n").unwrap();
        assert_eq!(
            was.accessibility_statement.as_deref(),
            Some("https://www.was.digst.dk/hjul")
        );
        let err = parse("[web]\naccessibility_statement = \"was.digst.dk\"\n")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("web.accessibility_statement `was.digst.dk` is not a web address"),
            "{err}"
        );
    }

    #[test]
    fn the_web_address_is_checked_and_the_environment_sets_it() {
        let base =
            "[secretariat]\nemail = \"s@x.dk\"\nname = \"S\"\n[mail]\nfrom = \"H <h@x.dk>\"\n";
        let none = Settings::parse(base, "t", std::iter::empty()).unwrap();
        assert_eq!(none.scheduler.web_url, None);
        let env = [(
            "HJUL__WEB__URL".to_owned(),
            "https://hjul.viborg.dk/".to_owned(),
        )];
        let set = Settings::parse(base, "t", env.into_iter()).unwrap();
        assert_eq!(
            set.scheduler.web_url.as_deref(),
            Some("https://hjul.viborg.dk")
        );
        for bad in [
            "hjul.viborg.dk",
            "https://",
            "https://a b.dk",
            "javascript:alert(1)",
        ] {
            let text = format!("{base}[web]\nurl = \"{bad}\"\n");
            let err = Settings::parse(&text, "t", std::iter::empty())
                .err()
                .unwrap();
            assert!(err.to_string().contains("web.url"), "{bad}: {err}");
        }
    }
    use secrecy::ExposeSecret;

    fn env(vars: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn the_built_in_settings_write_to_files() {
        let s = Settings::parse(BUILTIN, "hjul.toml", env(&[])).unwrap();
        assert!(s.mail.smtp.is_none());
        assert_eq!(s.mail.outbox_dir, PathBuf::from("outbox"));
        assert_eq!(s.scheduler.secretariat.email, "sekretariat@example.dk");
        assert!(s.scheduler.digest.is_some());
        assert_eq!(s.scheduler.max_attempts, 8);
        assert_eq!(s.scheduler.lease, Duration::from_secs(300));
        assert_eq!(s.min_responses, 5);
    }

    #[test]
    fn the_privacy_threshold_is_a_setting_within_bounds() {
        let s = Settings::parse(
            BUILTIN,
            "hjul.toml",
            env(&[("HJUL__DATA__MIN_RESPONSES", "10")]),
        )
        .unwrap();
        assert_eq!(s.min_responses, 10);
        for bad in ["0", "-3", "1001", "many"] {
            let e = Settings::parse(
                BUILTIN,
                "hjul.toml",
                env(&[("HJUL__DATA__MIN_RESPONSES", bad)]),
            )
            .err()
            .unwrap()
            .to_string();
            assert!(e.contains("data.min_responses"), "{bad}: {e}");
        }
    }

    #[test]
    fn environment_variables_override_and_add_keys() {
        let s = Settings::parse(
            BUILTIN,
            "hjul.toml",
            env(&[
                ("HJUL__SMTP__HOST", "127.0.0.1"),
                ("HJUL__SMTP__PORT", "2525"),
                ("HJUL__SMTP__TLS", "none"),
                ("HJUL__SMTP__USER", "hjul"),
                ("HJUL__SMTP__PASSWORD", "hemmelig"),
                ("HJUL__SECRETARIAT__EMAIL", "BU@Skovby.dk"),
                ("HJUL__SCHEDULER__DIGEST", ""),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        let smtp = s.mail.smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("127.0.0.1", 2525));
        assert_eq!(smtp.password.as_ref().unwrap().expose_secret(), "hemmelig");
        // The password never shows in a debug print.
        assert!(!format!("{smtp:?}").contains("hemmelig"));
        assert_eq!(s.scheduler.secretariat.email, "bu@skovby.dk");
        assert!(s.scheduler.digest.is_none());
    }

    #[test]
    fn the_municipalitys_login_is_checked() {
        let base = "[secretariat]\nemail = \"s@x.dk\"\nname = \"S\"\n[mail]\nfrom = \"H <h@x.dk>\"\n[web]\nurl = \"https://hjul.x.dk\"\n";
        let with =
            |oidc: &str| Settings::parse(&format!("{base}[auth.oidc]\n{oidc}"), "t", env(&[]));
        let s = with("issuer = \"https://sts.example/tid/\"\nclient_id = \"hjul\"\n").unwrap();
        let o = s.oidc.unwrap();
        // The issuer to the letter: the library compares it with the provider's own.
        assert_eq!(o.issuer, "https://sts.example/tid/");
        assert_eq!(o.redirect_url, "https://hjul.x.dk/login/oidc/callback");
        assert_eq!(o.scopes, ["email", "profile"]);
        assert!(s.token_sign_in);
        // The secret from the environment, never in a debug print.
        let s = Settings::parse(
            &format!("{base}[auth.oidc]\nissuer = \"https://a.example\"\nclient_id = \"hjul\"\n"),
            "t",
            env(&[("HJUL__AUTH__OIDC__CLIENT_SECRET", "hemmelig")]),
        )
        .unwrap();
        let o = s.oidc.unwrap();
        assert_eq!(o.client_secret.as_deref(), Some("hemmelig"));
        assert!(!format!("{o:?}").contains("hemmelig"));
        assert!(with("issuer = \"http://127.0.0.1:9000\"\nclient_id = \"hjul\"\n").is_ok());
        for (bad, says) in [
            (
                "issuer = \"http://login.example\"\nclient_id = \"hjul\"\n",
                "auth.oidc.issuer",
            ),
            (
                "issuer = \"http://localhost.evil.example\"\nclient_id = \"hjul\"\n",
                "auth.oidc.issuer",
            ),
            (
                "issuer = \"http://127.0.0.1.nip.io\"\nclient_id = \"hjul\"\n",
                "auth.oidc.issuer",
            ),
            (
                "issuer = \"https://a.example\"\nclient_id = \" \"\n",
                "auth.oidc.client_id",
            ),
            (
                "issuer = \"https://a.example\"\nclient_id = \"h\"\nclient_secret = \"a\"\nclient_secret_file = \"b\"\n",
                "keep one",
            ),
        ] {
            let e = with(bad).err().unwrap().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let no_web = base.replace("[web]\nurl = \"https://hjul.x.dk\"\n", "");
        let e = Settings::parse(
            &format!("{no_web}[auth.oidc]\nissuer = \"https://a.example\"\nclient_id = \"h\"\n"),
            "t",
            env(&[]),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("[web] url"), "{e}");
    }

    #[test]
    fn mistakes_name_the_key() {
        let bad = BUILTIN.replace("tick = \"0 * * * * *\"", "tick = \"every minute\"");
        let e = Settings::parse(&bad, "hjul.toml", env(&[]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("scheduler.tick `every minute` is not a cron expression"),
            "{e}"
        );
        let e = Settings::parse(
            BUILTIN,
            "hjul.toml",
            env(&[("HJUL__SMTP__TLS", "ssl"), ("HJUL__SMTP__HOST", "x")]),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("unknown variant `ssl`"), "{e}");
        let e = Settings::parse(
            BUILTIN,
            "hjul.toml",
            env(&[("HJUL__MAIL__FROM", "not an address")]),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("mail.from `not an address` is not an address"),
            "{e}"
        );
    }
}
