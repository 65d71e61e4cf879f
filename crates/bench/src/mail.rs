//! `hjul-bench mail`: the dispatcher's mails per second to a local SMTP server, with and
//! without TCP_NODELAY, beside a bare SMTP loop over one connection to the same server.

use std::time::Instant;

use hjul_mail::{Sender, SmtpSender};
use hjul_scheduler::Scheduler;
use hjul_tests::smtp::SmtpServer;
use hjul_tests::{TestDb, eight, stamp};
use hjul_wheel::Organisation;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::organisation;

/// Sends `n` messages of `size` bytes over one connection with TCP_NODELAY, speaking
/// SMTP by hand: the most the server can take, one mail at a time.
async fn bare_loop(port: u16, n: usize, size: usize) -> anyhow::Result<f64> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let mut s = BufReader::new(stream);
    let mut line = String::new();
    async fn reply(
        s: &mut BufReader<tokio::net::TcpStream>,
        line: &mut String,
    ) -> anyhow::Result<()> {
        loop {
            line.clear();
            s.read_line(line).await?;
            anyhow::ensure!(line.len() >= 4, "connection closed");
            if line.as_bytes()[3] == b' ' {
                anyhow::ensure!(
                    line.starts_with('2') || line.starts_with('3'),
                    "server said {line}"
                );
                return Ok(());
            }
        }
    }
    reply(&mut s, &mut line).await?;
    s.write_all(b"EHLO bench\r\n").await?;
    reply(&mut s, &mut line).await?;
    let body: String = format!(
        "Subject: bench\r\n\r\n{}\r\n",
        "Kvalitetshjulet, en linje tekst som i en rigtig mail.\r\n".repeat(size / 56)
    );
    let t = Instant::now();
    for i in 0..n {
        s.write_all(b"MAIL FROM:<hjul@bench.dk>\r\n").await?;
        reply(&mut s, &mut line).await?;
        s.write_all(format!("RCPT TO:<r{i}@bench.dk>\r\n").as_bytes())
            .await?;
        reply(&mut s, &mut line).await?;
        s.write_all(b"DATA\r\n").await?;
        reply(&mut s, &mut line).await?;
        s.write_all(body.as_bytes()).await?;
        s.write_all(b".\r\n").await?;
        reply(&mut s, &mut line).await?;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    s.write_all(b"QUIT\r\n").await?;
    Ok(rate)
}

/// Builds an organisation, ticks on the day the dialogues open (about one mail per
/// person), and times the dispatcher sending them all.
async fn dispatcher(
    server: &SmtpServer,
    units: usize,
    nodelay: bool,
) -> anyhow::Result<(usize, f64, usize)> {
    let db = TestDb::sqlite(&format!("bench-mail-{nodelay}"));
    let store = db.store().await;
    let org =
        Organisation::from_csv(&organisation(units), |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .import_organisation(&org, &stamp("2025-12-30"), |_, _| {})
        .await?;
    let mut mail = hjul_tests::mail_settings(server.port());
    if let Some(smtp) = &mut mail.smtp {
        smtp.tcp_nodelay = nodelay;
    }
    let mut settings = hjul_tests::scheduler_settings();
    settings.digest = None;
    let sender = Sender::Smtp(SmtpSender::new(
        mail.smtp
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no smtp"))?,
    ));
    let scheduler = Scheduler::new(store, settings, mail, hjul_mail::Templates::load(None)?);
    let at = eight("2025-12-30");
    scheduler.tick(at).await?;
    let before = server.received().len();
    let t = Instant::now();
    let report = scheduler.dispatch(&sender, at).await?;
    let elapsed = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        server.received().len() - before == report.sent.len(),
        "the server lost mail"
    );
    let size = server.received().last().map_or(0, |r| r.data.len());
    scheduler.close().await?;
    Ok((report.sent.len(), report.sent.len() as f64 / elapsed, size))
}

pub async fn run(units: usize, slow_units: usize) -> anyhow::Result<()> {
    let server = SmtpServer::start().await;
    eprintln!("the dispatcher with TCP_NODELAY, {units} units…");
    let (fast_n, fast, size) = dispatcher(&server, units, true).await?;
    eprintln!("the dispatcher without TCP_NODELAY, {slow_units} units…");
    let (slow_n, slow, _) = dispatcher(&server, slow_units, false).await?;
    eprintln!("a bare SMTP loop…");
    let raw = bare_loop(server.port(), fast_n, size).await?;
    println!("mails per second to a local SMTP server (mailin on loopback), one connection");
    println!();
    println!(
        "{:<38} {:>7} {:>10} {:>14}",
        "", "mails", "mails/s", "of bare loop"
    );
    println!(
        "{:<38} {:>7} {:>10.0} {:>13.0} %",
        "bare SMTP loop, TCP_NODELAY (baseline)", fast_n, raw, 100.0
    );
    println!(
        "{:<38} {:>7} {:>10.0} {:>13.0} %",
        "hjul dispatcher, TCP_NODELAY",
        fast_n,
        fast,
        100.0 * fast / raw
    );
    println!(
        "{:<38} {:>7} {:>10.0} {:>13.1} %",
        "hjul dispatcher, without TCP_NODELAY",
        slow_n,
        slow,
        100.0 * slow / raw
    );
    println!();
    println!(
        "mail size about {size} bytes; the dispatcher's figure includes rendering, the .ics and marking sent."
    );
    Ok(())
}
