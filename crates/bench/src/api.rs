//! `hjul-bench api`: requests per second and latency of the HTTP API over a large
//! organisation, beside `/healthz` on the same server (the HTTP stack alone) and the
//! store's `status` called in-process (the work without HTTP and JSON).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hjul_store::{Role, StatusFilter};
use hjul_tests::{TestDb, date, stamp};
use hjul_wheel::Organisation;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::{Redate, median, organisation, postgres_db, record_cycle};

/// One keep-alive HTTP/1.1 connection: just enough client to time requests without a
/// client library's own costs blurring the figures.
struct Connection {
    stream: BufReader<TcpStream>,
    line: String,
}

impl Connection {
    async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
            line: String::new(),
        })
    }

    /// GETs `path` and returns the status and the body's length.
    async fn get(&mut self, path: &str, headers: &str) -> anyhow::Result<(u16, usize)> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n");
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        self.line.clear();
        self.stream.read_line(&mut self.line).await?;
        let status: u16 = self
            .line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {:?}", self.line))?;
        let mut length = None;
        loop {
            self.line.clear();
            self.stream.read_line(&mut self.line).await?;
            let line = self.line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse::<usize>()?);
            }
        }
        let length = length.with_context(|| format!("{path}: the answer has no Content-Length"))?;
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, length))
    }
}

struct Figures {
    what: String,
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

/// `requests` GETs of `path` over `connections` connections at once.
async fn load(
    addr: SocketAddr,
    what: &str,
    path: &str,
    headers: &str,
    requests: usize,
    connections: usize,
) -> anyhow::Result<Figures> {
    // Warm up: one untimed request (and a check that the path answers 200).
    let (status, bytes) = Connection::open(addr).await?.get(path, headers).await?;
    anyhow::ensure!(status == 200, "{path} answered {status}");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let share = requests / connections + usize::from(c < requests % connections);
        let (path, headers) = (path.to_owned(), headers.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(addr).await?;
            let mut times = Vec::with_capacity(share);
            for _ in 0..share {
                let t = Instant::now();
                let (status, _) = conn.get(&path, &headers).await?;
                anyhow::ensure!(status == 200, "{path} answered {status}");
                times.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let mut times = Vec::with_capacity(requests);
    for t in tasks {
        times.extend(t.await??);
    }
    let elapsed = started.elapsed();
    times.sort();
    let p99 = times[(times.len() * 99).div_ceil(100).saturating_sub(1)];
    Ok(Figures {
        what: what.to_owned(),
        requests,
        per_second: requests as f64 / elapsed.as_secs_f64(),
        p50: median(times),
        p99,
        bytes,
    })
}

async fn measure(
    backend: &'static str,
    db: TestDb,
    units: usize,
    requests: usize,
    connections: usize,
) -> anyhow::Result<()> {
    eprintln!("{backend}: building {units} units and a whole cycle of events…");
    let store = db.store().await;
    let org =
        Organisation::from_csv(&organisation(units), |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .import_organisation(&org, &stamp("2027-09-20"), |_, _| {})
        .await?;
    record_cycle(&store, &org).await?;
    // PostgreSQL plans from its statistics, which autovacuum keeps in service; a server
    // with it off (as on the machine of docs/benchmarks.md) would have none for tables
    // just filled, and read a unit's grades by scanning every grade.
    if let hjul_store::Location::Postgres(url) = &db.location {
        use sea_orm::ConnectionTrait;
        let admin = sea_orm::Database::connect(url.as_str()).await?;
        admin.execute_unprepared("ANALYZE").await?;
        admin.close().await?;
    }
    let s = stamp("2027-09-20");
    let (secretariat, _) = store
        .create_token(Role::Secretariat, "sekretariat@bench.dk", None, &s)
        .await?;
    // A chief sees a third of the units: the API filters the rest out.
    let (chief, _) = store
        .create_token(Role::Manager, "dt@bench.dk", None, &s)
        .await?;
    // A house leader: sees one unit, but the API reads the tree to know that.
    let (leader, _) = store
        .create_token(Role::Leader, "h1@bench.dk", None, &s)
        .await?;

    // The same day as the other benchmarks: 20 September 2027, 10:00 in Copenhagen.
    let at = date("2027-09-20")
        .and_hms_opt(8, 0, 0)
        .context("a time")?
        .and_utc();
    // The service as `hjul serve` builds it, its routes alone on a free port: its
    // scheduler is not run, so no tick shares the machine with the requests measured.
    let service = hjul_tests::service(&db, hjul_store::CurrentWheel::builtin(), move || at).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = service
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let bearer = |t: &str| format!("Authorization: Bearer {t}\r\n");
    // The dashboard's cookie names a session opened with the token, as signing in does.
    let (session, _) = store
        .open_session(&secretariat, at)
        .await?
        .context("a session for the secretariat's token")?;
    let cookie = format!("Cookie: hjul_session={session}\r\n");
    let many = requests * 100;
    let as_secretariat = bearer(&secretariat);
    // (what, path, headers, requests)
    let plan = [
        ("/healthz (baseline)", "/healthz", "", many),
        ("/api/v1/me", "/api/v1/me", &as_secretariat, many),
        (
            "/api/v1/me (a leader)",
            "/api/v1/me",
            &bearer(&leader),
            requests * 10,
        ),
        (
            "/api/v1/units/h1",
            "/api/v1/units/h1",
            &as_secretariat,
            requests * 10,
        ),
        (
            "/api/v1/status (all)",
            "/api/v1/status",
            &as_secretariat,
            requests,
        ),
        (
            "/api/v1/status (a chief)",
            "/api/v1/status",
            &bearer(&chief),
            requests,
        ),
        ("/ dashboard (all)", "/", &cookie, requests),
    ];
    let mut figures = Vec::new();
    for (what, path, headers, count) in plan {
        figures.push(load(addr, what, path, headers, count, connections).await?);
    }
    // The read log's cost: the same requests with it off and on, in turn, the best of
    // three rounds each (this machine's noise is larger than the cost).
    let core = service.core().clone();
    let mut read_log = Vec::new();
    for (what, path, headers, count) in [
        (
            "/api/v1/status (all)",
            "/api/v1/status",
            as_secretariat.as_str(),
            requests,
        ),
        (
            "/units/h1 (dashboard)",
            "/units/h1",
            cookie.as_str(),
            requests * 10,
        ),
    ] {
        let (mut off, mut on) = (0.0_f64, 0.0_f64);
        for _ in 0..3 {
            core.log_reads(false);
            off = off.max(
                load(addr, what, path, headers, count, connections)
                    .await?
                    .per_second,
            );
            core.log_reads(true);
            on = on.max(
                load(addr, what, path, headers, count, connections)
                    .await?
                    .per_second,
            );
        }
        read_log.push((what, off, on));
    }
    // The same while the records change 4 times a second: a house's dialogue redated,
    // each a correction that rewrites the house's standing row and counts up the cycle's
    // changes, so the next request reads again what changed.
    let changing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let changer = {
        let (store, changing) = (store.clone(), changing.clone());
        let mut redate = Redate::of_last_house(&store, &org, date("2027-09-20")).await?;
        tokio::spawn(async move {
            while changing.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(250)).await;
                redate.next(&store).await?;
            }
            Ok::<_, anyhow::Error>(())
        })
    };
    for (what, path, headers) in [
        (
            "/api/v1/status, 4 changes/s",
            "/api/v1/status",
            as_secretariat.as_str(),
        ),
        ("/ dashboard, 4 changes/s", "/", cookie.as_str()),
    ] {
        // Enough requests to span a few seconds, so many changes fall among them.
        figures.push(load(addr, what, path, headers, requests * 50, connections).await?);
    }
    changing.store(false, std::sync::atomic::Ordering::Relaxed);
    changer.await??;

    // The floor for the status rows after a change: the store's read of every row of the
    // projection, in-process, no HTTP, no JSON.
    let filter = StatusFilter::default();
    let today = date("2027-09-20");
    let mut direct = Vec::new();
    for _ in 0..requests.clamp(3, 20) {
        let t = Instant::now();
        store
            .status_read(today, &filter, Some("sekretariat@bench.dk"))
            .await?;
        direct.push(t.elapsed());
    }
    let direct = median(direct);
    figures.push(Figures {
        what: "store.status_read".into(),
        requests: 0,
        per_second: 1.0 / direct.as_secs_f64(),
        p50: direct,
        p99: direct,
        bytes: 0,
    });
    let _ = stop.send(());
    server.await??;
    store.close().await?;

    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!();
    println!(
        "{backend}: {units} units, {connections} connection{} at once, whole cycle 2025 on record",
        if connections == 1 { "" } else { "s" }
    );
    println!(
        "{:<26} {:>8} {:>10} {:>12} {:>12} {:>10} {:>12}",
        "request", "count", "req/s", "p50", "p99", "bytes", "p50 ÷ store"
    );
    for f in &figures {
        println!(
            "{:<26} {:>8} {:>10.1} {:>12} {:>12} {:>10} {:>11.2}×",
            f.what,
            f.requests,
            f.per_second,
            ms(f.p50),
            ms(f.p99),
            f.bytes,
            f.p50.as_secs_f64() / direct.as_secs_f64(),
        );
    }
    println!();
    println!("read log (opslagslog) off and on, the same requests, best of 3 rounds each:");
    for (what, off, on) in read_log {
        println!(
            "{what:<26} off {off:>9.1} req/s   on {on:>9.1} req/s   cost {:+.1} % time per request",
            (off / on - 1.0) * 100.0
        );
    }
    Ok(())
}

pub async fn run(
    units: usize,
    pg: Option<String>,
    requests: usize,
    connections: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(requests > 0, "--requests must be at least 1");
    anyhow::ensure!(
        (1..=requests).contains(&connections),
        "--connections must be between 1 and --requests"
    );
    measure(
        "sqlite",
        TestDb::sqlite("bench-api"),
        units,
        requests,
        connections,
    )
    .await?;
    if let Some(url) = pg {
        let db = postgres_db(&url)
            .await
            .context("the PostgreSQL server of --pg")?;
        measure("postgres", db, units, requests, connections).await?;
    }
    println!();
    println!("/healthz: the HTTP stack alone (no token, no database): the floor for any request.");
    println!("status and /: the answer the store keeps until the next change (on any instance).");
    println!(
        "4 changes/s: the same while a house's dialogue is redated every 250 ms (a correction,"
    );
    println!("timed with the requests): the next request reads again the rows it rewrote.");
    println!("p50 ÷ store: a request's median time over the store's read of every status row");
    println!("(what the first request after a change costs), in-process.");
    Ok(())
}
