//! hjul's figures for the municipality's monitoring (`GET /metrics`), kept in a recorder
//! of this value's own rather than the `metrics` crate's global one: the tests run many
//! services in one process, and each must read its own figures.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::{Counter, Gauge, Key, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// The series, named once. `docs/operations.md` lists them with their meaning.
pub mod name {
    pub const REQUESTS: &str = "hjul_http_requests_total";
    pub const REQUEST_SECONDS: &str = "hjul_http_request_duration_seconds";
    pub const CONNECTIONS_REFUSED: &str = "hjul_http_connections_refused_total";
    pub const MAIL_ITEMS: &str = "hjul_mail_items";
    pub const MAIL_DUE: &str = "hjul_mail_due_items";
    pub const MAIL_OLDEST_DUE: &str = "hjul_mail_oldest_due_age_seconds";
    pub const MAILS_SENT: &str = "hjul_mails_sent_total";
    pub const MAIL_RETRIED: &str = "hjul_mail_items_retried_total";
    pub const MAIL_DEAD: &str = "hjul_mail_items_dead_total";
    pub const TICK_SECONDS: &str = "hjul_tick_duration_seconds";
    pub const TICK_UNITS_READ: &str = "hjul_tick_units_read";
    pub const TICK_LAST: &str = "hjul_tick_last_success_timestamp_seconds";
    pub const ROUND_FAILURES: &str = "hjul_scheduler_round_failures_total";
    pub const LEASES: &str = "hjul_leases_held";
    pub const REPORT_QUEUE: &str = "hjul_report_queue_length";
    pub const POOL: &str = "hjul_db_pool_connections";
    pub const POOL_MAX: &str = "hjul_db_pool_max_connections";
    pub const SIGN_INS_REFUSED: &str = "hjul_sign_ins_refused_total";
}

/// Upper bounds of the request latency buckets: a page is tens of milliseconds, a
/// report seconds.
const REQUEST_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Upper bounds of the tick's buckets: a minute's tick is milliseconds, the first of a
/// process (every unit read) seconds to a minute.
const TICK_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Why a sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A token unknown, revoked, or not taken for the dashboard here.
    Token,
    /// The municipality's login vouched for someone the organisation does not know.
    UnknownPerson,
    /// Too many failures from one address: asked to wait.
    Throttled,
    /// The login's answer could not be used (state, code or provider error).
    Login,
}

impl Refusal {
    fn key(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::UnknownPerson => "unknown_person",
            Self::Throttled => "throttled",
            Self::Login => "login",
        }
    }
}

/// What the database says when the monitoring asks (read at each scrape, so every
/// instance of a PostgreSQL deployment reports the same queue).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Standing {
    /// Outbox items by state (`pending`, `sent`, `dead`, `folded`, `void`).
    pub mail: Vec<(String, u64)>,
    /// Pending items whose time has come.
    pub due: u64,
    /// How long the oldest due item has waited; zero when none waits.
    pub oldest_due: Duration,
    /// Leases held now, by kind (`tick`, `mail`).
    pub leases: Vec<(String, u64)>,
    /// People whose report is waiting or being laid out.
    pub report_queue: u64,
    /// The database pool: connections in use, idle, and at most.
    pub pool_in_use: u64,
    pub pool_idle: u64,
    pub pool_max: u64,
}

/// The service's figures; cheap to clone (one shared recorder).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    connections_refused: Counter,
    mails_sent: Counter,
    mail_retried: Counter,
    mail_dead: Counter,
    round_failures: Counter,
    tick_units_read: Gauge,
    tick_last: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

const METADATA: Metadata<'static> =
    Metadata::new("hjul", metrics::Level::INFO, Some(module_path!()));

impl Metrics {
    pub fn new() -> Self {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        describe(&recorder);
        let counter =
            |name: &'static str| recorder.register_counter(&Key::from_name(name), &METADATA);
        let gauge = |name: &'static str| recorder.register_gauge(&Key::from_name(name), &METADATA);
        let inner = Inner {
            connections_refused: counter(name::CONNECTIONS_REFUSED),
            mails_sent: counter(name::MAILS_SENT),
            mail_retried: counter(name::MAIL_RETRIED),
            mail_dead: counter(name::MAIL_DEAD),
            round_failures: counter(name::ROUND_FAILURES),
            tick_units_read: gauge(name::TICK_UNITS_READ),
            tick_last: gauge(name::TICK_LAST),
            recorder,
            handle,
        };
        Self(Arc::new(inner))
    }

    /// One answered request: `route` is the matched route's pattern (`/units/{id}`),
    /// never the path itself, so the series stay few whatever clients ask for.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        let labels = |with_status: bool| {
            let mut l = vec![
                Label::new("method", method.to_owned()),
                Label::new("route", route.to_owned()),
            ];
            if with_status {
                l.push(Label::new("status", status.to_string()));
            }
            l
        };
        let r = &self.0.recorder;
        r.register_counter(&Key::from_parts(name::REQUESTS, labels(true)), &METADATA)
            .increment(1);
        r.register_histogram(
            &Key::from_parts(name::REQUEST_SECONDS, labels(false)),
            &METADATA,
        )
        .record(took.as_secs_f64());
    }

    /// A connection answered 503 at once: the server had as many open as it keeps.
    pub fn connection_refused(&self) {
        self.0.connections_refused.increment(1);
    }

    /// A tick done by this instance: how long it took and how many units it read.
    pub fn tick(&self, took: Duration, units_read: usize) {
        self.0
            .recorder
            .register_histogram(&Key::from_name(name::TICK_SECONDS), &METADATA)
            .record(took.as_secs_f64());
        self.0.tick_units_read.set(units_read as f64);
        // The wall clock, not the service's (which a demo may set to another day): the
        // monitoring compares it with its own `time()`.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.0.tick_last.set(now.as_secs_f64());
    }

    /// A scheduler round that failed (the database away, say).
    pub fn round_failed(&self) {
        self.0.round_failures.increment(1);
    }

    /// What one dispatch round came to.
    pub fn dispatched(&self, sent: usize, retried: usize, dead: usize) {
        self.0.mails_sent.increment(sent as u64);
        self.0.mail_retried.increment(retried as u64);
        self.0.mail_dead.increment(dead as u64);
    }

    pub fn sign_in_refused(&self, why: Refusal) {
        self.0
            .recorder
            .register_counter(
                &Key::from_parts(
                    name::SIGN_INS_REFUSED,
                    vec![Label::new("reason", why.key())],
                ),
                &METADATA,
            )
            .increment(1);
    }

    /// Drains the latency samples into their buckets; the service calls it every few
    /// seconds, so memory stays flat whether or not anyone scrapes.
    pub fn upkeep(&self) {
        self.0.handle.run_upkeep();
    }

    /// The figures in the Prometheus text format, with `standing` as read now.
    pub fn render(&self, standing: &Standing) -> String {
        let r = &self.0.recorder;
        let gauge = |name: &'static str, labels: Vec<Label>| {
            r.register_gauge(&Key::from_parts(name, labels), &METADATA)
        };
        let by = |key: &'static str, value: &str| vec![Label::new(key, value.to_owned())];
        // Every state and kind is written, at zero when there is none: an alert on
        // `dead > 0` needs the series to exist before the first dead letter.
        for state in ["pending", "sent", "dead", "folded", "void"] {
            let n = find(&standing.mail, state);
            gauge(name::MAIL_ITEMS, by("state", state)).set(n as f64);
        }
        for (state, n) in &standing.mail {
            gauge(name::MAIL_ITEMS, by("state", state)).set(*n as f64);
        }
        gauge(name::MAIL_DUE, vec![]).set(standing.due as f64);
        gauge(name::MAIL_OLDEST_DUE, vec![]).set(standing.oldest_due.as_secs_f64());
        for kind in ["tick", "mail"] {
            gauge(name::LEASES, by("kind", kind)).set(find(&standing.leases, kind) as f64);
        }
        for (kind, n) in &standing.leases {
            gauge(name::LEASES, by("kind", kind)).set(*n as f64);
        }
        gauge(name::REPORT_QUEUE, vec![]).set(standing.report_queue as f64);
        gauge(name::POOL, by("state", "in_use")).set(standing.pool_in_use as f64);
        gauge(name::POOL, by("state", "idle")).set(standing.pool_idle as f64);
        gauge(name::POOL_MAX, vec![]).set(standing.pool_max as f64);
        self.0.handle.render()
    }
}

fn find(pairs: &[(String, u64)], key: &str) -> u64 {
    pairs.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n)
}

/// The recorder's settings: real histograms (buckets), not summaries, for the two
/// latencies, so the monitoring can add them up across instances.
#[allow(clippy::expect_used)]
fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(name::REQUEST_SECONDS.into()),
            &REQUEST_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(name::TICK_SECONDS.into()), &TICK_BUCKETS)
        })
        // Only an empty list of buckets is refused, and these are constants.
        .expect("the buckets are not empty")
}

/// The help lines `promtool` and people read.
fn describe(r: &PrometheusRecorder) {
    let text = |s: &'static str| SharedString::const_str(s);
    let counters = [
        (
            name::REQUESTS,
            "HTTP requests answered, by method, route pattern and status.",
        ),
        (
            name::CONNECTIONS_REFUSED,
            "Connections answered 503: as many were open as [http] max_connections keeps (a /healthz past the cap is answered 200 and not counted).",
        ),
        (
            name::MAILS_SENT,
            "Mails this process handed to the SMTP server (or wrote as files).",
        ),
        (
            name::MAIL_RETRIED,
            "Outbox items this process failed to send and will try again.",
        ),
        (
            name::MAIL_DEAD,
            "Outbox items this process gave up on after the last try.",
        ),
        (
            name::ROUND_FAILURES,
            "Scheduler rounds that failed (the database away, say); the next tick tries again.",
        ),
        (
            name::SIGN_INS_REFUSED,
            "Dashboard sign-ins refused, by reason: token, unknown_person, throttled, login.",
        ),
    ];
    for (n, help) in counters {
        r.describe_counter(n.into(), None, text(help));
    }
    let gauges = [
        (
            name::MAIL_ITEMS,
            "Outbox items by state, as the database holds them now.",
        ),
        (name::MAIL_DUE, "Pending outbox items whose time has come."),
        (
            name::MAIL_OLDEST_DUE,
            "How long the oldest due outbox item has waited (0 when none).",
        ),
        (
            name::TICK_UNITS_READ,
            "Units the last tick of this process read.",
        ),
        (
            name::TICK_LAST,
            "When this process last finished a tick (Unix time); only the instance holding the tick lease ticks.",
        ),
        (name::LEASES, "Leases held now, by kind (tick, mail)."),
        (
            name::REPORT_QUEUE,
            "People whose report is waiting for the layout or being laid out.",
        ),
        (
            name::POOL,
            "Database connections of this process by state (in_use, idle).",
        ),
        (
            name::POOL_MAX,
            "The most database connections this process opens.",
        ),
    ];
    for (n, help) in gauges {
        r.describe_gauge(n.into(), None, text(help));
    }
    r.describe_histogram(
        name::REQUEST_SECONDS.into(),
        Some(Unit::Seconds),
        text("Time from a request's header to its answer, by method and route pattern."),
    );
    r.describe_histogram(
        name::TICK_SECONDS.into(),
        Some(Unit::Seconds),
        text("How long this process's ticks took."),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(start))
    }

    #[test]
    fn figures_are_written_with_their_labels_and_help() {
        let m = Metrics::new();
        m.request("GET", "/healthz", 200, Duration::from_millis(3));
        m.request("GET", "/healthz", 200, Duration::from_millis(30));
        m.request("BREW", "/units/{id}", 404, Duration::from_millis(1));
        m.dispatched(3, 1, 2);
        m.sign_in_refused(Refusal::Throttled);
        let text = m.render(&Standing {
            mail: vec![("pending".into(), 7), ("dead".into(), 2)],
            due: 4,
            oldest_due: Duration::from_secs(90),
            leases: vec![("mail".into(), 3)],
            report_queue: 1,
            pool_in_use: 2,
            pool_idle: 3,
            pool_max: 5,
        });
        let has = |l: &str| {
            assert!(text.lines().any(|x| x == l), "missing `{l}` in:\n{text}");
        };
        has(r#"hjul_http_requests_total{method="GET",route="/healthz",status="200"} 2"#);
        has(r#"hjul_http_requests_total{method="other",route="/units/{id}",status="404"} 1"#);
        has(
            r#"hjul_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="0.005"} 1"#,
        );
        has(
            r#"hjul_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="0.05"} 2"#,
        );
        has(r#"hjul_http_request_duration_seconds_count{method="GET",route="/healthz"} 2"#);
        has("hjul_mails_sent_total 3");
        has("hjul_mail_items_dead_total 2");
        has(r#"hjul_mail_items{state="pending"} 7"#);
        has(r#"hjul_mail_items{state="dead"} 2"#);
        has(r#"hjul_mail_items{state="sent"} 0"#);
        has("hjul_mail_due_items 4");
        has("hjul_mail_oldest_due_age_seconds 90");
        has(r#"hjul_leases_held{kind="tick"} 0"#);
        has(r#"hjul_leases_held{kind="mail"} 3"#);
        has(r#"hjul_sign_ins_refused_total{reason="throttled"} 1"#);
        has(r#"hjul_db_pool_connections{state="in_use"} 2"#);
        assert!(line(&text, "# HELP hjul_mail_items ").is_some(), "{text}");
        assert!(
            line(&text, "# TYPE hjul_http_request_duration_seconds histogram").is_some(),
            "{text}"
        );
    }

    #[test]
    fn two_services_keep_their_own_figures() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.dispatched(5, 0, 0);
        assert!(
            a.render(&Standing::default())
                .contains("hjul_mails_sent_total 5")
        );
        assert!(
            b.render(&Standing::default())
                .contains("hjul_mails_sent_total 0")
        );
    }
}
