//! `hjul demo`: a made-up municipality (Skovby) with a whole cycle's events up to a fixed
//! day, so a newcomer sees a populated status in one command. Uses the files in
//! `examples/`.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use chrono::Utc;
use hjul_store::{Location, Stamp, Store};
use hjul_wheel::{Date, Deadline, Organisation, UnitId};

use crate::context::Context;
use crate::show;

pub const DEMO_DATABASE: &str = "hjul-demo.db";

const ORGANISATION: &str = include_str!("../../../examples/organisation.csv");
const AGREEMENT: &str = include_str!("../../../examples/agreement.toml");
const GRADES: &str = include_str!("../../../examples/grades.toml");
const THEMES: &str = include_str!("../../../examples/themes.txt");
const DATA: &str = include_str!("../../../examples/data.csv");

/// A status on each of the three goals of `examples/agreement.toml`.
const DEMO_STATUSES: [&str; 3] = [
    "Dialogisk læsning er i gang i alle grupper.",
    "Trivselsmålingen er planlagt; værktøjet er valgt.",
    "Sygefraværet er faldet en smule siden sidst.",
];

/// The day the demo shows: in the midway phase of cycle 2025.
pub fn demo_day() -> Date {
    date("2027-08-20")
}

fn date(s: &str) -> Date {
    // The demo's dates are literals below; a typo is caught by the demo's own test.
    s.parse().unwrap_or(Date::MIN)
}

/// What happens to each unit: (unit, dialogue, [(submitted, signed)], midway).
type Story = (
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, Option<&'static str>)],
    Option<&'static str>,
);

const STORIES: &[Story] = &[
    // Chiefs: their agreements follow the final report (24 September 2026).
    (
        "dt",
        None,
        &[("2026-10-05", Some("2026-10-12"))],
        Some("2027-08-17"),
    ),
    ("sk", None, &[("2026-10-20", Some("2026-10-22"))], None),
    ("fr", None, &[], None),
    // Leaders and area leaders.
    (
        "dt-nord",
        Some("2026-02-10"),
        &[("2026-04-01", Some("2026-04-10"))],
        Some("2027-08-18"),
    ),
    (
        "dt-syd",
        Some("2026-02-12"),
        &[("2026-04-08", Some("2026-04-17"))],
        Some("2027-08-19"),
    ),
    (
        "sk-vest",
        Some("2026-03-04"),
        &[("2026-04-10", Some("2026-04-16"))],
        None,
    ),
    (
        "sk-oest",
        Some("2026-04-15"),
        &[("2026-05-05", Some("2026-05-12"))],
        None,
    ),
    ("sk-by", Some("2026-05-20"), &[("2026-06-15", None)], None),
    (
        "fr-fc",
        Some("2026-03-25"),
        &[
            ("2026-04-20", Some("2026-04-24")),
            ("2027-02-01", Some("2027-02-10")),
        ],
        None,
    ),
    ("fr-ppr", None, &[], None),
    // Daycare houses.
    (
        "dt-nord-1",
        Some("2026-03-14"),
        &[("2026-04-09", Some("2026-04-20"))],
        Some("2027-08-12"),
    ),
    (
        "dt-nord-2",
        Some("2026-04-02"),
        &[("2026-04-20", Some("2026-04-28"))],
        None,
    ),
    ("dt-nord-3", Some("2026-05-06"), &[], None),
    (
        "dt-syd-1",
        Some("2026-03-18"),
        &[("2026-04-10", Some("2026-04-15"))],
        None,
    ),
    (
        "dt-syd-2",
        Some("2026-06-10"),
        &[("2026-07-01", Some("2026-07-06"))],
        None,
    ),
];

/// Builds the demo database in `file` (afresh) and prints its status.
pub async fn run(ctx: &Context, file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let store = build(ctx, file).await?;
    let day = demo_day();
    writeln!(
        out,
        "hjul demo: the made-up Skovby Kommune, Børn & Unge, in cycle 2025 as of {day}\n\
         (database {}; the organisation and agreement are in examples/)\n",
        file.display()
    )?;
    let (core, actor) = ctx.acting(&store).await?;
    let rows: Vec<hjul_store::StatusRow> = core
        .status(&actor, day, (hjul_app::View::Status, &[]))
        .await?
        .rows()
        .cloned()
        .collect();
    show::status_table(
        out,
        &ctx.wheel.definition,
        (day, &show::Words::new(show::language(None))),
        &rows,
    )?;
    let db = file.display();
    writeln!(
        out,
        "\nTry:\n  hjul status --database-url {db} --overdue\n  \
         hjul unit show dt-nord-1 --database-url {db}\n  \
         hjul data show sk-by --database-url {db}\n  \
         hjul status --database-url {db} --at 2026-05-01 --level 4\n  \
         hjul plan --cycle 2025\n\
         (every command on {db} works as of the demo's day, {day})"
    )?;
    store.close().await?;
    Ok(())
}

/// A context on the demo database with a clock that starts at 10:00 in Copenhagen on
/// the demo's day and runs on from there.
pub fn context(
    global: &crate::Global,
    config: &crate::config::Config,
    file: &Path,
) -> anyhow::Result<Context> {
    let mut global = global.clone();
    global.database_url = file.display().to_string();
    global.now = Some(
        hjul_wheel::reminders::mail_instant(
            hjul_wheel::WheelDefinition::builtin().mail_time,
            demo_day(),
        ) + chrono::Duration::hours(2),
    );
    global.today = None;
    Context::new(&global, config)
}

/// Serves the dashboard and the scheduler on the demo database, with a secretariat
/// token printed to sign in with.
pub async fn serve(
    ctx: &Context,
    settings: &crate::settings::Settings,
    listen: std::net::SocketAddr,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    let (core, actor) = ctx.acting(&store).await?;
    let (token, _) = core
        .create_token(
            &actor,
            hjul_store::Role::Secretariat,
            &settings.scheduler.secretariat.email,
            Some("demo"),
        )
        .await?;
    store.close().await?;
    let mut settings = settings.clone();
    settings.mail.smtp = None;
    settings.mail.outbox_dir = std::path::PathBuf::from("hjul-demo-outbox");
    // The demo's mails link to the demo's own dashboard.
    if settings.scheduler.web_url.is_none() {
        settings.scheduler.web_url = Some(format!("http://{listen}"));
    }
    writeln!(
        out,
        "\nThe dashboard: http://{listen}/   (sign in with the secretariat's token below)\n{token}\n\n\
         The scheduler runs too, as on {}: its mail goes to hjul-demo-outbox/ as .eml files.\n\
         Ctrl-C stops it.",
        demo_day()
    )?;
    out.flush()?;
    crate::service::init_logging(crate::LogFormat::Human);
    crate::service::run_serve(ctx, &settings, listen).await
}

/// Makes the demo database: schema, organisation, a cycle's milestones and events.
pub async fn build(ctx: &Context, file: &Path) -> anyhow::Result<Store> {
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot remove the old {}", p.display()))?;
        }
    }
    let store = Store::open(&Location::Sqlite(file.to_owned()), ctx.wheel.clone(), true)
        .await?
        .with_min_responses(ctx.min_responses);
    store.migrate(|_, _| {}).await?;
    // The demo's own clock: everything happens as of its fixed day.
    let stamp = Stamp {
        actor: "demo".into(),
        at: Utc::now(),
        today: demo_day(),
    };
    store
        .set_setting(
            hjul_store::settings::DEMO_DAY,
            &demo_day().to_string(),
            &stamp,
        )
        .await?;
    let org = Organisation::from_csv(ORGANISATION, |_| {}).context("examples/organisation.csv")?;
    store.import_organisation(&org, &stamp, |_, _| {}).await?;
    // Three school years of made-up indicator data, so a unit's sheet shows trends.
    let areas = store.unit_areas().await?;
    let data = hjul_wheel::data::read_measurements(
        DATA,
        &store.wheel().catalogue,
        |id| areas.get(id).copied(),
        |_| {},
    )
    .context("examples/data.csv")?;
    store
        .import_measurements("examples/data.csv", &data, &stamp, |_, _| {})
        .await?;

    let themes: Vec<String> = THEMES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    store
        .record_milestone(
            2025,
            Deadline::DataCollected,
            date("2025-12-18"),
            None,
            &stamp,
        )
        .await?;
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(themes),
            &stamp,
        )
        .await?;
    // The leaders' and area leaders' dialogues and agreements come before the final
    // report (24 September 2026), which is kept with its milestone; the chiefs'
    // agreements follow it, and then everyone's follow-ups and midway statuses.
    for story in STORIES.iter().filter(|s| s.1.is_some()) {
        dialogue_and_agreement(&store, &stamp, story).await?;
    }
    let templates = ctx.report_templates(None)?;
    // Through the core, as the secretariat at the demo's day: the report is laid out
    // and kept with its milestone as the service would.
    ctx.core(&store, templates)
        .on_day(Some(stamp.today))
        .record_milestone(
            &hjul_app::Actor::operator(&stamp.actor, &ctx.secretariat_email),
            (2025, Deadline::ReportFinal, date("2026-09-24")),
            None,
        )
        .await?;
    for story in STORIES.iter().filter(|s| s.1.is_none()) {
        dialogue_and_agreement(&store, &stamp, story).await?;
    }
    for story in STORIES {
        follow_up_and_midway(&store, &stamp, story).await?;
    }
    Ok(store)
}

/// A unit's dialogue and the revisions of its agreement.
async fn dialogue_and_agreement(
    store: &Store,
    stamp: &Stamp,
    (unit, dialogue, revisions, _): &Story,
) -> anyhow::Result<()> {
    let context = || format!("the demo's story of {unit}");
    let id = UnitId::parse(unit).map_err(|problem| anyhow::anyhow!("{unit}: {problem}"))?;
    if let Some(on) = dialogue {
        let notes = (*unit == "dt-nord-1").then(|| {
            "Sprogvurderingerne viser fremgang, men de yngste halter efter.\n\
             Aftalt: dialogisk læsning i alle grupper og fokus på sygefraværet."
                .to_owned()
        });
        // The leader of Mariehønen lets the notes be quoted in the quality report.
        let for_report = notes.is_some();
        store
            .record_dialogue_with(&id, date(on), notes, for_report, stamp)
            .await
            .with_context(context)?;
    }
    for (submitted, signed) in *revisions {
        store
            .submit_agreement(
                &id,
                date(submitted),
                AGREEMENT,
                "examples/agreement.toml",
                stamp,
            )
            .await
            .with_context(context)?;
        if let Some(signed) = signed {
            store
                .sign_agreement(&id, date(signed), stamp)
                .await
                .with_context(context)?;
        }
    }
    Ok(())
}

/// The units that reach the midway status followed their agreement up on the way: a
/// status on the goals each half year (from the first quarter after the signature) and
/// the yearly review. The others' follow-ups stand open.
async fn follow_up_and_midway(
    store: &Store,
    stamp: &Stamp,
    (unit, _, revisions, midway): &Story,
) -> anyhow::Result<()> {
    let context = || format!("the demo's story of {unit}");
    let id = UnitId::parse(unit).map_err(|problem| anyhow::anyhow!("{unit}: {problem}"))?;
    let first_signed = revisions.iter().find_map(|(_, signed)| *signed);
    let (Some(on), Some(signed)) = (midway, first_signed) else {
        return Ok(());
    };
    for (day, is_status) in [
        ("2026-11-16", true),
        ("2027-02-08", false),
        ("2027-05-10", true),
    ] {
        // Signed in the quarter of the first status: that one is not theirs.
        if is_status && date(signed) >= date("2026-10-01") && day == "2026-11-16" {
            continue;
        }
        if is_status {
            store
                .give_goal_status(&id, date(day), &DEMO_STATUSES.map(str::to_owned), stamp)
                .await
                .with_context(context)?;
        } else {
            store
                .review_agreement(&id, date(day), None, stamp)
                .await
                .with_context(context)?;
        }
    }
    store
        .give_midway(&id, date(on), GRADES, "examples/grades.toml", stamp)
        .await
        .with_context(context)?;
    Ok(())
}
