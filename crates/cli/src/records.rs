//! The commands that read or write the database.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, bail};
use hjul_app::UnitRecord;
use hjul_store::{StatusFilter, Store};
use hjul_wheel::{Level, Organisation};
use indicatif::{ProgressBar, ProgressStyle};

use crate::context::Context;
use crate::{
    AgreementCommand, ArchiveCommand, Command, CycleCommand, DataCommand, DeputyCommand,
    DialogueCommand, FollowUpCommand, Format, MidwayCommand, PrivacyCommand, ReportCommand,
    StatusFormat,
};
use crate::{OrgCommand, UnitCommand, show};

fn read(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let max = hjul_wheel::limits::MAX_READ_BYTES;
    if size > max {
        bail!(
            "{} is {} MB; hjul reads files of at most {} MB: split it (by measure or period for data) and import the parts",
            path.display(),
            size.div_ceil(1024 * 1024),
            max / (1024 * 1024)
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        // Excel's plain "CSV" in Danish is Windows-1252: say where and how to fix it
        // rather than guess the encoding and store mangled names.
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        anyhow::anyhow!(
            "{} line {line}: the file is not UTF-8 text (byte {at}); save it as UTF-8 \
             (in Excel: \"CSV UTF-8 (kommasepareret)\") and try again",
            path.display()
        )
    })
}

/// Records a unit's event as the operator, through the core (the same access, checks
/// and audit as the API and the dashboard). No report is made, so the built-in
/// templates do.
async fn record_for(
    ctx: &Context,
    store: &Store,
    unit: &hjul_wheel::UnitId,
    record: UnitRecord,
    meant: Option<i32>,
) -> anyhow::Result<hjul_store::Recorded> {
    let (core, actor) = ctx.acting(store).await?;
    Ok(core.record_in(&actor, unit.as_str(), record, meant).await?)
}

/// A progress bar on a terminal; nothing when the output is piped.
pub fn progress(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
    if let Ok(style) = ProgressStyle::with_template("{msg:<24} [{bar:30}] {pos}/{len} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// A deputy's period in words: "from 2026-07-06 to 2026-07-24", "from now until ended".
fn period_words(d: &hjul_store::Deputy) -> String {
    let from = d
        .starts_on
        .map_or_else(|| "now".to_owned(), |s| s.to_string());
    let to = d
        .ends_on
        .map_or_else(|| "until ended".to_owned(), |e| format!("to {e}"));
    format!("from {from} {to}")
}

pub async fn run(ctx: &Context, command: &Command, out: &mut impl Write) -> anyhow::Result<()> {
    if let Command::Migrate = command {
        return migrate(ctx, out).await;
    }
    if let Command::Restore { file, manifest } = command {
        return restore(ctx, file, manifest.as_deref(), out).await;
    }
    let store = ctx.store().await?;
    let stamp = ctx.stamp();
    match command {
        Command::Org(OrgCommand::NextCycle { unit_id, undo }) => {
            let (core, actor) = ctx.acting(&store).await?;
            let j = core
                .sit_out_cycle(&actor, unit_id.as_str(), !*undo)
                .await
                .with_context(|| format!("{unit_id} was not changed"))?;
            if j.sits_out {
                writeln!(
                    out,
                    "{unit_id} takes part from the next cycle (from {}); it owes nothing in cycle {}",
                    j.joined.map(|d| d.to_string()).unwrap_or_default(),
                    j.cycle
                )?;
            } else {
                writeln!(
                    out,
                    "{unit_id} is in cycle {} again (joined {}); it owes the deadlines due from then on",
                    j.cycle,
                    j.joined.map(|d| d.to_string()).unwrap_or_default()
                )?;
            }
        }
        Command::Org(OrgCommand::Import { file, preview }) => {
            import(&store, ctx, (file, *preview), out).await?;
        }
        Command::Data(DataCommand::Import { file }) => {
            let (core, actor) = ctx.acting(&store).await?;
            crate::data::import((&core, &actor), ctx, &read(file)?, file, out).await?;
        }
        Command::Data(DataCommand::Show { unit_id, format }) => {
            let (core, actor) = ctx.acting(&store).await?;
            crate::data::show((&core, &actor), ctx, unit_id, *format, out).await?;
        }
        Command::Data(DataCommand::Measures) => crate::data::measures(ctx, out)?,
        Command::Data(DataCommand::Patterns { cycle, format }) => {
            let (core, actor) = ctx.acting(&store).await?;
            crate::data::patterns((&core, &actor), ctx, *cycle, *format, out).await?;
        }
        Command::Data(DataCommand::Gaps { cycle, format }) => {
            let (core, actor) = ctx.acting(&store).await?;
            crate::data::gaps((&core, &actor), ctx, *cycle, *format, out).await?;
        }
        Command::Milestone {
            milestone,
            cycle,
            on,
            themes,
        } => {
            let deadline = milestone.deadline();
            let themes = match themes {
                Some(path) => Some(parse_themes(&read(path)?, path)?),
                None => None,
            };
            let count = themes.as_ref().map(Vec::len);
            let templates = ctx.report_templates(None)?;
            let core = ctx.core(&store, templates);
            let kept = core
                .record_milestone(&ctx.actor(&core).await?, (*cycle, deadline, *on), themes)
                .await
                .with_context(|| format!("{deadline} of cycle {cycle} was not recorded"))?;
            write!(out, "recorded: {deadline} of cycle {cycle} on {on}")?;
            match kept {
                Some(hjul_app::FinalReport::Kept(hash)) => {
                    write!(out, " with the final report (SHA-256 {hash})")?;
                }
                Some(hjul_app::FinalReport::NotMade(why)) => {
                    writeln!(out, ", without the final report")?;
                    bail!(
                        "the final report of cycle {cycle} could not be made: {why}\n\
                         report_final is on record; once that is corrected, make the report with \
                         `hjul report final --cycle {cycle}`"
                    );
                }
                None => {}
            }
            match count {
                Some(n) => writeln!(
                    out,
                    " with {n} focus theme{}",
                    if n == 1 { "" } else { "s" }
                )?,
                None => writeln!(out)?,
            }
        }
        Command::Dialogue(DialogueCommand::Held {
            unit_id,
            on,
            notes,
            for_report,
            cycle,
        }) => {
            let notes = match notes {
                Some(p) => Some(read(p)?),
                None => None,
            };
            let record = UnitRecord::Dialogue {
                on: *on,
                notes,
                for_report: *for_report,
            };
            let recorded = record_for(ctx, &store, unit_id, record, *cycle)
                .await
                .with_context(|| format!("the dialogue of {unit_id} was not recorded"))?;
            writeln!(
                out,
                "recorded in cycle {}: {unit_id} held its quality dialogue on {on}",
                recorded.cycle
            )?;
        }
        Command::Agreement(AgreementCommand::Submit { unit_id, file, on }) => {
            let text = read(file)?;
            let on = on.unwrap_or(stamp.today);
            let name = file.display().to_string();
            let (core, actor) = ctx.acting(&store).await?;
            let agreement = hjul_app::AgreementText::File {
                text: &text,
                name: &name,
            };
            let submitted = core
                .submit_agreement(&actor, unit_id.as_str(), (on, None), agreement)
                .await
                .with_context(|| format!("the agreement of {unit_id} was not submitted"))?;
            for w in &submitted.warnings {
                eprintln!("warning: {w}");
            }
            writeln!(
                out,
                "submitted in cycle {}: revision {} of the agreement of {unit_id} on {on}; it awaits the superior's signature",
                submitted.cycle, submitted.revision
            )?;
        }
        Command::Agreement(AgreementCommand::Sign { unit_id, on, cycle }) => {
            let recorded = record_for(
                ctx,
                &store,
                unit_id,
                UnitRecord::Signature { on: *on },
                *cycle,
            )
            .await
            .with_context(|| format!("the agreement of {unit_id} was not signed"))?;
            writeln!(
                out,
                "signed in cycle {}: revision {} of the agreement of {unit_id} on {on}; it is in force",
                recorded.cycle,
                recorded.revision.unwrap_or_default()
            )?;
        }
        Command::Midway(MidwayCommand::Submit { unit_id, file, on }) => {
            let text = read(file)?;
            let on = on.unwrap_or(stamp.today);
            let name = file.display().to_string();
            let (core, actor) = ctx.acting(&store).await?;
            let grades = hjul_app::GradesText::File {
                text: &text,
                name: &name,
            };
            let graded = core
                .give_midway(&actor, unit_id.as_str(), (on, None), grades)
                .await
                .with_context(|| format!("the midway status of {unit_id} was not recorded"))?;
            let grading = &graded.grading;
            writeln!(
                out,
                "recorded in cycle {}: midway status of {unit_id} on {on}, {} goals graded, score {}",
                graded.cycle,
                grading.goals.len(),
                grading.score
            )?;
        }
        Command::Deputy(DeputyCommand::Add {
            unit_id,
            email,
            name,
            lang,
            from,
            to,
        }) => {
            let (core, actor) = ctx.acting(&store).await?;
            let d = core
                .name_deputy(
                    &actor,
                    unit_id.as_str(),
                    (email, name, *lang),
                    hjul_wheel::deputy::Period::new(*from, *to),
                )
                .await
                .with_context(|| format!("no deputy was named for {unit_id}"))?;
            writeln!(
                out,
                "{} ({}) stands in for the leader of {unit_id} {}; id {}",
                d.name,
                d.email,
                period_words(&d),
                d.id
            )?;
        }
        Command::Deputy(DeputyCommand::End { unit_id, id }) => {
            let (core, actor) = ctx.acting(&store).await?;
            let d = core
                .end_deputy(&actor, unit_id.as_str(), *id)
                .await
                .with_context(|| format!("the deputy {id} of {unit_id} was not ended"))?;
            writeln!(
                out,
                "{} no longer stands in for the leader of {unit_id}; the unit's mail goes to its leader again",
                d.name
            )?;
        }
        Command::Privacy(PrivacyCommand::Export {
            email,
            output,
            lang,
        }) => {
            let (core, who) = ctx.acting(&store).await?;
            let data = core
                .person_data(&who, email)
                .await
                .with_context(|| format!("the data of {email} could not be gathered"))?;
            let html = output.as_ref().is_some_and(|p| {
                p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("html"))
            });
            let text = if html {
                hjul_api::privacy::person_html(&data, *lang)
            } else {
                serde_json::to_string_pretty(&data)?
            };
            match output {
                Some(path) => {
                    std::fs::write(path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    writeln!(
                        out,
                        "wrote {}: {} units, {} actions, {} rows naming them, {} mails, {} reads of their data",
                        path.display(),
                        data.units_led.len(),
                        data.their_actions.len(),
                        data.rows_naming_them.len(),
                        data.mails.len(),
                        data.reads_of_their_data.len()
                    )?;
                }
                None => writeln!(out, "{text}")?,
            }
        }
        Command::Privacy(PrivacyCommand::Retention { apply }) => {
            let (core, who) = ctx.acting(&store).await?;
            let r = &ctx.retention;
            let n = core.retention(&who, r, *apply).await?;
            let verb = if *apply { "deleted" } else { "past their time" };
            writeln!(out, "{verb}:")?;
            for (what, count, days) in [
                ("reads (the read log)", n.read_log, r.read_log_days),
                ("audit log rows", n.audit_log, r.audit_log_days),
                ("sessions ended or expired", n.sessions, r.sessions_days),
                ("mails of ended cycles", n.mail, r.mail_days),
                ("indicator values", n.data, r.data_days),
                ("drafts", n.drafts, r.drafts_days),
                ("departed people anonymised", n.departed, r.departed_days),
            ] {
                writeln!(out, "  {count:>8}  {what} (kept {days} days)")?;
            }
            if !*apply && n.total() > 0 {
                writeln!(
                    out,
                    "nothing was deleted; run with --apply, or let `hjul serve` do it tonight"
                )?;
            }
        }
        Command::Archive(ArchiveCommand::Export { cycle, output }) => {
            if output.exists()
                && std::fs::read_dir(output)
                    .with_context(|| format!("cannot read {}", output.display()))?
                    .next()
                    .is_some()
            {
                bail!(
                    "{} is not empty: give a new directory, so nothing is mixed with older files",
                    output.display()
                );
            }
            let (core, who) = ctx.acting(&store).await?;
            let archive = core
                .archive(&who, *cycle, concat!("hjul ", env!("CARGO_PKG_VERSION")))
                .await
                .with_context(|| format!("the archive of cycle {cycle} could not be made"))?;
            std::fs::create_dir_all(output)
                .with_context(|| format!("cannot make {}", output.display()))?;
            for f in &archive.files {
                let path = output.join(&f.name);
                std::fs::write(&path, &f.bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            let path = output.join("manifest.json");
            std::fs::write(&path, archive.manifest_json())
                .with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(out, "wrote {} for cycle {cycle}:", output.display())?;
            for e in &archive.manifest.files {
                let rows = e.rows.map(|r| format!("{r} rows")).unwrap_or_default();
                writeln!(out, "  {:<28} {:>10} bytes  {rows:>12}", e.name, e.bytes)?;
            }
            writeln!(out, "  manifest.json (each file's SHA-256)")?;
            if archive.manifest.final_report_sha256.is_none() {
                writeln!(
                    out,
                    "no final report of cycle {cycle} is kept: the archive holds the records only (record report_final to make it)"
                )?;
            }
        }
        Command::Backup { output } => backup(ctx, &store, output, out).await?,
        Command::Privacy(PrivacyCommand::Anonymise { email, apply }) => {
            let (core, who) = ctx.acting(&store).await?;
            let done = core
                .anonymise(&who, email, *apply)
                .await
                .with_context(|| format!("{email} was not anonymised"))?;
            let zone = ctx.wheel.definition.mail_time.zone;
            let name = done.name.as_deref().unwrap_or("(no name on record)");
            match done.left_at {
                Some(at) => writeln!(
                    out,
                    "{name} <{}> has led no unit since {}",
                    done.email,
                    at.with_timezone(&zone).format("%d.%m.%Y")
                )?,
                None => writeln!(out, "{name} <{}> (a deputy named by hand)", done.email)?,
            }
            let rows = &done.rows;
            writeln!(
                out,
                "{} \"{}\" and {} in:",
                if done.applied {
                    "now named"
                } else {
                    "would be named"
                },
                hjul_store::FORMER_LEADER,
                done.pseudonym
            )?;
            for (what, n) in [
                ("the person", rows.person),
                ("deputyships", rows.deputyships),
                ("audit log rows", rows.audit_log),
                ("records' \"recorded by\"", rows.recorded_by),
                ("mails", rows.mail),
                ("reads (the read log)", rows.read_log),
                ("tokens revoked and sign-ins ended", rows.access),
            ] {
                writeln!(out, "  {n:>8}  {what}")?;
            }
            if !done.applied {
                writeln!(
                    out,
                    "nothing was changed; run with --apply to anonymise (it cannot be undone)"
                )?;
            }
        }
        Command::Privacy(PrivacyCommand::Reads {
            unit,
            person,
            actor,
            from,
            to,
            limit,
        }) => {
            let (core, who) = ctx.acting(&store).await?;
            let filter = hjul_store::ReadFilter {
                units: unit.clone().map(|u| vec![u]),
                person: person.clone(),
                actor: actor.clone(),
                from: *from,
                to: *to,
                limit: *limit,
            };
            let rows = core.read_log(&who, &filter).await?;
            if rows.is_empty() {
                writeln!(out, "no reads match")?;
            }
            let zone = ctx.wheel.definition.mail_time.zone;
            for r in rows {
                writeln!(
                    out,
                    "{}  {}  {}  {}  {}  {}",
                    r.at.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
                    r.actor,
                    r.view,
                    r.unit_id.as_deref().unwrap_or("-"),
                    r.person_email.as_deref().unwrap_or("-"),
                    r.terms.as_deref().unwrap_or("")
                )?;
            }
        }
        Command::Deputy(DeputyCommand::List { unit_id }) => {
            let (core, actor) = ctx.acting(&store).await?;
            let deputies = match unit_id {
                Some(u) => core.deputies(&actor, u.as_str()).await?.0,
                None => core.all_deputies(&actor).await?,
            };
            if deputies.is_empty() {
                match unit_id {
                    Some(u) => writeln!(out, "{u} has no deputy")?,
                    None => writeln!(out, "no unit has a deputy")?,
                }
            }
            for d in deputies {
                let now = if d.period().covers(stamp.today) {
                    " (in force)"
                } else {
                    ""
                };
                // Without a unit, each line says whose deputy it is.
                let of = if unit_id.is_none() {
                    format!("{}  ", d.unit_id)
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{of}{}  {} <{}>  {}{now}  named by {}",
                    d.id,
                    d.name,
                    d.email,
                    period_words(&d),
                    d.named_by
                )?;
            }
        }
        Command::FollowUp(FollowUpCommand::Status {
            unit_id,
            file,
            on,
            cycle,
        }) => {
            let statuses = paragraphs(&read(file)?);
            let count = statuses.len();
            let on = on.unwrap_or(stamp.today);
            let recorded = record_for(
                ctx,
                &store,
                unit_id,
                UnitRecord::GoalStatus { on, statuses },
                *cycle,
            )
            .await
            .with_context(|| {
                format!(
                    "the status on the goals of {unit_id} was not recorded ({})",
                    file.display()
                )
            })?;
            writeln!(
                out,
                "recorded in cycle {}: the status on {count} goals of {unit_id} on {on}",
                recorded.cycle,
            )?;
        }
        Command::FollowUp(FollowUpCommand::Review {
            unit_id,
            on,
            notes,
            cycle,
        }) => {
            let notes = match notes {
                Some(p) => Some(read(p)?),
                None => None,
            };
            let on = on.unwrap_or(stamp.today);
            let recorded = record_for(
                ctx,
                &store,
                unit_id,
                UnitRecord::Review { on, notes },
                *cycle,
            )
            .await
            .with_context(|| format!("the review of {unit_id}'s agreement was not recorded"))?;
            writeln!(
                out,
                "recorded in cycle {}: {unit_id}'s agreement was reviewed on {on} and stands",
                recorded.cycle
            )?;
        }
        Command::Report {
            sheet:
                Some(ReportCommand::Sheet {
                    unit_id,
                    format,
                    lang,
                    templates,
                    output,
                }),
            ..
        } => {
            let templates = ctx.report_templates(templates.as_deref())?;
            let (core, actor) = ctx.acting(&store).await?;
            let (_, sheet) = core
                .sheet(&actor, unit_id.as_str(), *lang)
                .await
                .with_context(|| format!("the data sheet of {unit_id} was not made"))?;
            let bytes = templates.render_sheet(&sheet, *format)?;
            std::fs::write(output, &bytes)
                .with_context(|| format!("cannot write {}", output.display()))?;
            writeln!(
                out,
                "wrote {} (data sheet of {unit_id}, {} measures, {} KB)",
                output.display(),
                sheet.measures.len(),
                bytes.len().div_ceil(1024)
            )?;
        }
        Command::Report {
            sheet: Some(ReportCommand::Final { cycle }),
            ..
        } => {
            let templates = ctx.report_templates(None)?;
            let core = ctx.core(&store, templates);
            let hash = core
                .make_final_report(&ctx.actor(&core).await?, *cycle)
                .await
                .with_context(|| format!("the final report of cycle {cycle} was not made"))?;
            writeln!(
                out,
                "kept: the final report of cycle {cycle} (SHA-256 {hash}); `hjul serve` offers it under Cycles"
            )?;
        }
        Command::Report {
            sheet: None,
            cycle,
            area,
            unit,
            format,
            lang,
            templates,
            output,
        } => {
            let (Some(cycle), Some(output)) = (cycle, output) else {
                bail!(
                    "give the cycle and the file: hjul report --cycle 2025 --output kvalitetsrapport.pdf"
                );
            };
            let templates = ctx.report_templates(templates.as_deref())?;
            let scope = match (area, unit) {
                (Some(a), _) => hjul_report::Scope::Area(*a),
                (None, Some(u)) => hjul_report::Scope::Subtree(u.clone()),
                (None, None) => hjul_report::Scope::Department,
            };
            let (core, actor) = ctx.acting(&store).await?;
            let report = core
                .report_draft(&actor, *cycle, scope, *lang)
                .await
                .with_context(|| format!("the report of cycle {cycle} was not made"))?;
            let bytes = templates.render(&report, *format)?;
            std::fs::write(output, &bytes)
                .with_context(|| format!("cannot write {}", output.display()))?;
            writeln!(
                out,
                "wrote {} (draft of cycle {cycle}, {} units, {} KB)",
                output.display(),
                report.units.len(),
                bytes.len().div_ceil(1024)
            )?;
        }
        Command::Doctor { rebuild } => {
            let (core, actor) = ctx.acting(&store).await?;
            let differences = core.check_standing(&actor).await?;
            for d in &differences {
                writeln!(
                    out,
                    "cycle {} unit {}: {}",
                    d.cycle,
                    d.unit_id,
                    d.describe()
                )?;
            }
            if *rebuild {
                let written = core.rebuild_standing(&actor).await?;
                writeln!(
                    out,
                    "rebuilt: the standing of {written} units from their events ({} differed)",
                    differences.len()
                )?;
            } else if differences.is_empty() {
                writeln!(
                    out,
                    "ok: the kept standing of every unit matches its events"
                )?;
            } else {
                bail!(
                    "{} units' kept standing differs from their events: run `hjul doctor --rebuild`",
                    differences.len()
                );
            }
        }
        Command::Cycle(CycleCommand::Start { year }) => {
            let (core, actor) = ctx.acting(&store).await?;
            let c = core.start_cycle(&actor, *year).await?;
            writeln!(
                out,
                "started: cycle {} with wheel {} and indicator catalogue {}",
                c.year, c.definition_version, c.catalogue_version
            )?;
        }
        Command::Status {
            at,
            area,
            level,
            overdue,
            format,
            output,
            lang,
        } => {
            let at = at.unwrap_or(stamp.today);
            let filter = StatusFilter {
                area: *area,
                level: level.and_then(Level::new),
                overdue: *overdue,
            };
            let (core, actor) = ctx.acting(&store).await?;
            let view = match format {
                StatusFormat::Json | StatusFormat::Table => hjul_app::View::Status,
                _ => hjul_app::View::Export,
            };
            let rows: Vec<hjul_store::StatusRow> = core
                .status(&actor, at, (view, &filter.terms()))
                .await?
                .rows()
                .filter(|r| filter.keeps(r))
                .cloned()
                .collect();
            // A spreadsheet is for a Danish Excel unless asked otherwise.
            let language = lang.unwrap_or(hjul_wheel::Language::Da);
            match format {
                StatusFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
                StatusFormat::Table => show::status_table(
                    out,
                    &ctx.wheel.definition,
                    (at, &show::Words::new(show::language(*lang))),
                    &rows,
                )?,
                StatusFormat::Xlsx => {
                    let Some(path) = output else {
                        bail!("a workbook goes to a file: give --output status.xlsx");
                    };
                    let table = hjul_api::export::status_table(&rows, language);
                    let bytes = hjul_api::export::to_xlsx(&table)
                        .map_err(|e| anyhow::anyhow!("the workbook could not be written: {e}"))?;
                    std::fs::write(path, bytes)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    writeln!(out, "wrote {} ({} units)", path.display(), rows.len())?;
                }
                StatusFormat::Csv => {
                    let table = hjul_api::export::status_table(&rows, language);
                    let csv = hjul_api::export::to_csv(&table, language);
                    match output {
                        Some(path) => {
                            std::fs::write(path, csv)
                                .with_context(|| format!("cannot write {}", path.display()))?;
                            writeln!(out, "wrote {} ({} units)", path.display(), rows.len())?;
                        }
                        None => write!(out, "{csv}")?,
                    }
                }
            }
        }
        Command::Correct {
            unit_id,
            event,
            on,
            move_to,
            withdraw,
            reason,
        } => {
            let correction = match (on, move_to, withdraw) {
                (Some(on), None, false) => hjul_store::Correction::Redate { on: *on },
                (None, Some(u), false) => hjul_store::Correction::Move { unit_id: u.clone() },
                (None, None, true) => hjul_store::Correction::Withdraw,
                _ => bail!("say what is wrong: --on DATE, --move-to UNIT or --withdraw"),
            };
            let wanted = event.trim().to_lowercase();
            if wanted.len() < 8 {
                bail!(
                    "`{wanted}` is too short to name an event: give at least 8 characters of its id (`hjul unit show {unit_id}` lists them)"
                );
            }
            let (core, actor) = ctx.acting(&store).await?;
            let t = core.timeline(&actor, unit_id.as_str(), stamp.today).await?;
            let found: Vec<_> = t
                .events
                .iter()
                .filter(|e| !e.superseded && e.id.to_string().starts_with(&wanted))
                .collect();
            let e = match found.as_slice() {
                [one] => *one,
                [] => bail!(
                    "{unit_id} has no event in force whose id starts with `{wanted}`; `hjul unit show {unit_id}` lists them"
                ),
                _ => bail!(
                    "`{wanted}` names {} events; give more of the id",
                    found.len()
                ),
            };
            let c = core
                .correct(&actor, unit_id.as_str(), e.id, correction, reason)
                .await
                .with_context(|| format!("the {} of {} was not corrected", e.kind, unit_id))?;
            writeln!(
                out,
                "corrected: {} of {} on {} in cycle {} (correction {})",
                e.kind, unit_id, e.on, c.cycle, c.id
            )?;
        }
        Command::Unit(UnitCommand::Show {
            unit_id,
            at,
            format,
            lang,
        }) => {
            let at = at.unwrap_or(stamp.today);
            let (core, actor) = ctx.acting(&store).await?;
            let timeline = core.timeline(&actor, unit_id.as_str(), at).await?;
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&timeline)?)?,
                Format::Table => {
                    show::timeline(out, &timeline, &show::Words::new(show::language(*lang)))?;
                }
            }
        }
        _ => bail!("this command does not use the database"),
    }
    store.close().await?;
    Ok(())
}

/// Where a copy's manifest is kept: beside it, `FILE.manifest.json`.
fn manifest_path(copy: &Path) -> std::path::PathBuf {
    let mut name = copy.as_os_str().to_owned();
    name.push(".manifest.json");
    std::path::PathBuf::from(name)
}

/// How a `pg_dump` copy is put back, in both commands' advice: `--if-exists` because
/// `--clean` alone fails on a new, empty database; `--no-owner` so that another role than
/// the one that made the copy can put it back.
const PG_RESTORE: &str = "pg_restore --clean --if-exists --no-owner --dbname";

async fn backup(
    ctx: &Context,
    store: &Store,
    output: &Path,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let by = ctx.stamp().actor;
    match store.backup_to(output, ctx.stamp().at, &by).await? {
        hjul_store::Backup::PgDump { server_version } => {
            let major = server_version
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or_default()
                .to_owned();
            bail!(
                "the database is PostgreSQL {server_version}: back it up with pg_dump {major} or newer, for example\n  \
                 pg_dump --format=custom --file hjul-$(date +%F).dump \"$HJUL_DATABASE_URL\"\n\
                 and put it back with {PG_RESTORE} \"$HJUL_DATABASE_URL\" FILE, then hjul migrate and hjul doctor. Nothing was written."
            );
        }
        hjul_store::Backup::Copied(m) => {
            let path = manifest_path(output);
            let json = serde_json::to_string_pretty(&m)?;
            std::fs::write(&path, json)
                .with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(
                out,
                "wrote {} ({} bytes, schema {}, SHA-256 {}) and {}",
                output.display(),
                m.bytes,
                m.schema,
                m.sha256,
                path.display()
            )?;
            for (table, n) in &m.counts {
                writeln!(out, "  {table:<14} {n:>10} rows")?;
            }
        }
    }
    Ok(())
}

async fn restore(
    ctx: &Context,
    file: &Path,
    manifest: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let hjul_store::Location::Sqlite(target) = &ctx.location else {
        bail!(
            "the database is PostgreSQL: put a pg_dump copy back with {PG_RESTORE} URL FILE, then run hjul migrate and hjul doctor"
        );
    };
    if !file.exists() {
        bail!("there is no copy at {}", file.display());
    }
    let given = manifest.map(Path::to_path_buf);
    let path = given.clone().unwrap_or_else(|| manifest_path(file));
    let manifest: Option<hjul_store::BackupManifest> =
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(serde_json::from_str(&text).with_context(|| {
                format!("{} is not a manifest hjul backup wrote", path.display())
            })?)
        } else if given.is_some() {
            bail!("there is no manifest at {}", path.display());
        } else {
            None
        };
    // Not under a running service: it would go on writing to the file moved aside.
    let _only_one = hjul_service::single_instance(target)?;
    let (store, restored) = Store::restore_from(
        file,
        manifest.as_ref(),
        target,
        ctx.wheel.clone(),
        ctx.stamp().at,
    )
    .await?;
    if let Some(aside) = &restored.moved_aside {
        writeln!(
            out,
            "moved the database that was at {} to {}",
            target.display(),
            aside.display()
        )?;
    }
    writeln!(
        out,
        "restored {} to {} (schema {}{})",
        file.display(),
        target.display(),
        restored.schema_before,
        if restored.migrated.is_empty() {
            String::new()
        } else {
            format!("; migrated: {}", restored.migrated.join(", "))
        }
    )?;
    if manifest.is_none() {
        writeln!(
            out,
            "no manifest beside it: the copy was not checked against one"
        )?;
    }
    let differ = store.check_standing().await?;
    store.close().await?;
    if differ.is_empty() {
        writeln!(
            out,
            "hjul doctor finds nothing: every unit's standing agrees with its events"
        )?;
    } else {
        writeln!(
            out,
            "{} units' standing differs from their events: run hjul doctor --rebuild",
            differ.len()
        )?;
    }
    Ok(())
}

async fn migrate(ctx: &Context, out: &mut impl Write) -> anyhow::Result<()> {
    let store = Store::open(&ctx.location, ctx.wheel.clone(), true).await?;
    let pending = store.pending_migrations().await?;
    let bar = progress(pending.len(), "migrating");
    let applied = store
        .migrate(|done, _| bar.set_position(done as u64))
        .await?;
    bar.finish_and_clear();
    if applied.is_empty() {
        writeln!(
            out,
            "the database at {} is up to date",
            ctx.location.display()
        )?;
    } else {
        writeln!(
            out,
            "migrated the database at {}: applied {}",
            ctx.location.display(),
            applied.join(", ")
        )?;
    }
    store.close().await?;
    Ok(())
}

async fn import(
    store: &Store,
    ctx: &Context,
    (file, preview): (&Path, bool),
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let text = read(file)?;
    let rows = text.lines().count().saturating_sub(1);
    let bar = progress(rows, "checking");
    let org = Organisation::from_csv(&text, |n| bar.set_position(n as u64))
        .with_context(|| format!("{} was not imported", file.display()))?;
    bar.finish_and_clear();
    let (core, actor) = ctx.acting(store).await?;
    let report = if preview {
        core.preview_organisation(&actor, &org)
            .await
            .with_context(|| format!("{} cannot be previewed", file.display()))?
    } else {
        let bar = progress(org.units().len(), "writing");
        let report = core
            .import_organisation(&actor, &org, |done, _| bar.set_position(done as u64))
            .await
            .with_context(|| format!("{} was not imported", file.display()))?;
        bar.finish_and_clear();
        report
    };
    writeln!(
        out,
        "{} {}: {} units ({} new, {} changed, {} unchanged, {} reactivated, {} deactivated); {} new people, {} changed",
        if preview {
            "importing would change"
        } else {
            "imported"
        },
        file.display(),
        org.units().len(),
        report.units_created,
        report.units_updated,
        report.units_unchanged,
        report.units_reactivated,
        report.units_deactivated,
        report.people_created,
        report.people_updated,
    )?;
    let will = |now: &'static str, then: &'static str| if preview { then } else { now };
    for h in &report.handovers {
        match &h.to {
            Some(to) => writeln!(
                out,
                "  new leader of {} ({}): {to} (was {}); future mail goes to {to}",
                h.unit_id, h.unit_name, h.from.email
            )?,
            None => writeln!(
                out,
                "  {} ({}) {} closed; its leader was {}",
                h.unit_id,
                h.unit_name,
                will("is", "would be"),
                h.from.email
            )?,
        }
        if !h.deadlines.is_empty() {
            let names: Vec<String> = h
                .deadlines
                .iter()
                .map(|d| format!("{} of {} (due {})", d.deadline.key(), d.unit_id, d.due))
                .collect();
            let what = match &h.to {
                Some(to) => format!(
                    "{} to {to}, and out of {}'s calendar",
                    will("pass", "would pass"),
                    h.from.email
                ),
                None => format!(
                    "{} out of {}'s calendar",
                    will("are cancelled", "would be cancelled"),
                    h.from.email
                ),
            };
            writeln!(out, "    open deadlines that {what}: {}", names.join(", "))?;
        }
        if !h.drafts.is_empty() {
            writeln!(
                out,
                "    drafts kept with the unit: {}",
                h.drafts.join(", ")
            )?;
        }
        if h.pending_mail > 0 {
            writeln!(
                out,
                "    mail waiting to go about these units: {} (it goes to whoever holds each deadline)",
                h.pending_mail
            )?;
        }
    }
    if preview {
        writeln!(out, "nothing was written; run without --preview to import")?;
    }
    Ok(())
}

/// One theme a line, in priority order; blank lines are skipped.
fn parse_themes(text: &str, path: &Path) -> anyhow::Result<Vec<String>> {
    let mut themes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if t.chars().any(char::is_control) {
            bail!(
                "{}:{}: a theme contains a control character",
                path.display(),
                i + 1
            );
        }
        themes.push(t.to_owned());
    }
    if themes.is_empty() {
        bail!(
            "{} has no themes: write one theme a line, in priority order",
            path.display()
        );
    }
    Ok(themes)
}

/// A text's paragraphs: runs of lines separated by blank lines, each trimmed.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line.trim_end());
        }
    }
    out
}
