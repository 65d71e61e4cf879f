//! `hjul serve`, `hjul simulate` and `hjul outbox`: the scheduler and its queue.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use hjul_mail::Templates;
use hjul_scheduler::{Scheduler, simulate};
use hjul_store::{Location, OutboxState, Store};
use hjul_wheel::Date;

use crate::context::Context;
use crate::records::progress;
use crate::settings::Settings;
use crate::table::{Table, fit};
use crate::{Format, LogFormat};

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HJUL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn scheduler(store: Store, settings: &Settings) -> anyhow::Result<Scheduler> {
    let templates = Templates::load(settings.mail.templates.as_deref())?;
    Ok(Scheduler::new(
        store,
        settings.scheduler.clone(),
        settings.mail.clone(),
        templates,
    ))
}

/// The whole service (`hjul_service::Service`) until Ctrl-C or SIGTERM.
pub async fn run_serve(
    ctx: &Context,
    settings: &Settings,
    listen: std::net::SocketAddr,
) -> anyhow::Result<()> {
    ctx.look_for_the_demo().await?;
    let database = hjul_service::Database {
        location: ctx.location.clone(),
        wheel: ctx.wheel.clone(),
        actor: ctx.stamp().actor,
    };
    let stop = hjul_service::Stop::on_signal();
    let Some(service) =
        hjul_service::Service::build(settings, database, ctx.clock(), listen, stop).await?
    else {
        return Ok(());
    };
    service.run_until_stopped().await?;
    Ok(())
}

pub async fn run_token(
    ctx: &Context,
    command: &crate::TokenCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    match command {
        crate::TokenCommand::Create { role, email, note } => {
            let (core, actor) = ctx.acting(&store).await?;
            let (token, model) = core
                .create_token(&actor, *role, email, note.as_deref())
                .await?;
            writeln!(out, "{token}")?;
            eprintln!(
                "token {} for {} ({}) made; it is shown only now. Use it as `Authorization: Bearer <token>` or sign in to the dashboard with it.",
                model.id, model.email, model.role
            );
        }
        crate::TokenCommand::List => {
            let (core, actor) = ctx.acting(&store).await?;
            let tokens = core.tokens(&actor).await?;
            if tokens.is_empty() {
                writeln!(
                    out,
                    "No tokens. `hjul token create --help` says how to make one."
                )?;
            } else {
                let mut table = Table::new(&["ID", "ROLE", "EMAIL", "MADE", "STATE"]);
                for t in &tokens {
                    table.row(vec![
                        t.id.to_string(),
                        t.role.clone(),
                        t.email.clone(),
                        t.created_at.format("%Y-%m-%d").to_string(),
                        match t.revoked_at {
                            Some(at) => format!("revoked {}", at.format("%Y-%m-%d")),
                            None => t
                                .note
                                .clone()
                                .map_or_else(|| "active".to_owned(), |n| format!("active · {n}")),
                        },
                    ]);
                }
                table.write(out)?;
            }
        }
        crate::TokenCommand::Revoke { id } => {
            let (core, actor) = ctx.acting(&store).await?;
            let t = core.revoke_token(&actor, id).await?;
            writeln!(out, "revoked: token {} of {} ({})", t.id, t.email, t.role)?;
        }
    }
    store.close().await?;
    Ok(())
}

pub async fn run_simulate(
    ctx: &Context,
    settings: &Settings,
    (from, to): (Date, Date),
    format: Format,
    show: Option<u32>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    anyhow::ensure!(
        (to - from).num_days() <= 3 * 366,
        "simulate at most three years at a time"
    );
    let source = ctx.store().await?;
    // The scratch copy: a SQLite file of its own, removed afterwards.
    let dir = std::env::temp_dir().join(format!("hjul-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let scratch_path: PathBuf = dir.join("scratch.db");
    let result = async {
        let scratch = Store::open(
            &Location::Sqlite(scratch_path.clone()),
            ctx.wheel.clone(),
            true,
        )
        .await?;
        scratch.migrate(|_, _| {}).await?;
        source.copy_to(&scratch).await?;
        source.close().await?;
        let scheduler = scheduler(scratch, settings)?;
        let days = usize::try_from((to - from).num_days() + 1).unwrap_or(0);
        let bar = progress(days, "simulating days");
        let simulation = simulate(&scheduler, from, to, |n, _| bar.set_position(n as u64)).await?;
        bar.finish_and_clear();
        scheduler.close().await?;
        anyhow::Ok(simulation)
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let simulation = result?;
    let zone = ctx.wheel.definition.mail_time.zone;
    if let Some(n) = show {
        let count = simulation.messages.len();
        let m = usize::try_from(n)
            .ok()
            .and_then(|n| simulation.messages.get(n - 1))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "there is no mail number {n}: the simulation of {from} – {to} made {count}; run it without --show to see the list"
                )
            })?;
        writeln!(
            out,
            "Date: {}",
            m.at.with_timezone(&zone).format("%Y-%m-%d %H:%M")
        )?;
        writeln!(out, "To: {}", m.to)?;
        writeln!(out, "Subject: {}", m.subject)?;
        writeln!(out)?;
        write!(out, "{}", m.text)?;
        return Ok(());
    }
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&simulation)?)?,
        Format::Table => {
            writeln!(
                out,
                "Simulated {from} – {to}: {} mails, nothing sent, the database unchanged. Read one in full with --show N.",
                simulation.messages.len()
            )?;
            writeln!(out)?;
            for t in &simulation.transitions {
                if let hjul_scheduler::Transition::CycleStarted { at, cycle } = t {
                    writeln!(out, "{}  cycle {cycle} starts", at.format("%Y-%m-%d"))?;
                }
            }
            for (n, m) in simulation.messages.iter().enumerate() {
                let summary: Vec<String> = m
                    .items
                    .iter()
                    .map(|i| match (&i.unit_id, i.deadline) {
                        (Some(u), Some(d)) => format!("{u} {d}"),
                        (None, Some(d)) => d.key().to_owned(),
                        _ => i.kind.key().to_owned(),
                    })
                    .collect();
                let what = if summary.is_empty() {
                    m.kind.key().to_owned()
                } else {
                    summary.join(", ")
                };
                writeln!(
                    out,
                    "{}",
                    fit(&format!(
                        "{:>4}  {}  {:<10}  {}: {what}",
                        n + 1,
                        m.at.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
                        m.kind.key(),
                        m.to
                    ))
                )?;
            }
        }
    }
    Ok(())
}

pub async fn run_outbox(
    ctx: &Context,
    state: Option<OutboxState>,
    limit: u64,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    let (core, actor) = ctx.acting(&store).await?;
    let items = core.outbox(&actor, state, limit).await?;
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = items
                .iter()
                .map(|i| {
                    serde_json::json!({
                        "id": i.id, "key": i.key, "state": i.state, "kind": i.kind,
                        "unit_id": i.unit_id, "deadline": i.deadline, "party": i.party,
                        "due": i.due_on, "due_at": i.due_at, "attempts": i.attempts,
                        "next_attempt_at": i.next_attempt_at, "last_error": i.last_error,
                        "recipient": i.recipient, "sent_at": i.sent_at, "message_id": i.message_id,
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        }
        Format::Table => {
            if items.is_empty() {
                writeln!(
                    out,
                    "No items{}.",
                    state.map_or_else(String::new, |s| format!(" {s}"))
                )?;
            } else {
                let mut table = Table::new(&["ID", "STATE", "DUE AT", "KIND", "FOR"]);
                for i in &items {
                    let what = match (&i.unit_id, i.deadline) {
                        (Some(u), Some(d)) => format!("{u} {d} ({})", i.party),
                        (None, Some(d)) => format!("{d} ({})", i.party),
                        _ => i.party.key().to_owned(),
                    };
                    let what = match (i.state, &i.last_error) {
                        (OutboxState::Dead, Some(e)) => format!("{what}: {e}"),
                        _ => what,
                    };
                    table.row(vec![
                        // The end of a v7 id is random; its start is the time, alike for all.
                        i.id.to_string()[28..].to_owned(),
                        i.state.key(),
                        i.due_at.format("%Y-%m-%d %H:%M").to_string(),
                        i.kind.key(),
                        what,
                    ]);
                }
                table.write(out)?;
                writeln!(
                    out,
                    "\n{} items; `hjul outbox --format json` shows whole ids.",
                    items.len()
                )?;
            }
        }
    }
    store.close().await?;
    Ok(())
}

pub async fn run_retry(ctx: &Context, id: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    let (core, actor) = ctx.acting(&store).await?;
    let wanted = id.trim().to_lowercase();
    // A whole id, or the last characters the table shows when they name one item.
    let id = match wanted.parse::<hjul_store::ItemId>() {
        Ok(u) => u,
        Err(_) => {
            let matches: Vec<hjul_store::ItemId> = core
                .outbox(&actor, Some(OutboxState::Dead), u64::MAX)
                .await?
                .into_iter()
                .map(|i| i.id)
                .filter(|u| u.to_string().ends_with(&wanted))
                .collect();
            match matches.as_slice() {
                [one] => *one,
                [] => anyhow::bail!(
                    "no dead outbox item ends with `{wanted}`; `hjul outbox --state dead` lists them"
                ),
                _ => anyhow::bail!(
                    "`{wanted}` names {} dead items; give more of the id",
                    matches.len()
                ),
            }
        }
    };
    let item = core.retry_item(&actor, id).await?;
    writeln!(
        out,
        "queued again: {} ({}), to go at the next tick",
        item.id, item.key
    )?;
    store.close().await?;
    Ok(())
}
