//! `hjul`: the command line of the quality wheel.

mod config;
mod context;
mod data;
mod demo;
mod plan;
mod records;
mod service;
mod settings;
mod show;
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hjul_wheel::{Area, Date, Language, Milestone, UnitId};

use crate::settings::ReadSettings as _;

/// The allocator: glibc's malloc keeps freed memory in arenas per thread, and the
/// service's threads (the runtime's, the SQLite driver's) left a whole cycle holding a
/// fifth more memory, and running slower, than with mimalloc (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A date on the command line, read as the API and the dashboard read one: when it is
/// not one, the message says which format to use (chrono's "trailing input" does not).
fn day(text: &str) -> Result<Date, String> {
    hjul_wheel::agreement::parse_date(text).ok_or_else(|| {
        format!(
            "`{}` is not a date: write it as YYYY-MM-DD, for example 2026-03-14",
            hjul_wheel::limits::clip(text, 40)
        )
    })
}

/// A unit's id as the organisation file gives it; a wrong one is a usage error before
/// anything is opened.
fn unit(text: &str) -> Result<UnitId, String> {
    UnitId::parse(text)
        .map_err(|problem| format!("{problem}: give a unit's id as `hjul status` shows it"))
}

/// One of the domain's kinds as an argument, by the key the API and the files use
/// (`report_final`), shown the way a command line writes it (`report-final`). The choices
/// come from the domain's own list and key, so the command line keeps no copy of a kind
/// that could drift from it.
#[derive(Clone)]
struct Choice<T> {
    values: Vec<(PossibleValue, T)>,
}

fn choice<T: Copy>(all: impl IntoIterator<Item = T>, key: impl Fn(T) -> String) -> Choice<T> {
    Choice {
        values: all
            .into_iter()
            .map(|v| {
                let k = key(v);
                let shown = k.replace('_', "-");
                let value = if shown == k {
                    PossibleValue::new(k)
                } else {
                    PossibleValue::new(shown).alias(k)
                };
                (value, v)
            })
            .collect(),
    }
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Choice<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        // clap's own parser words the refusal (the choices, a suggestion).
        let typed = PossibleValuesParser::new(self.values.iter().map(|(p, _)| p.clone()))
            .parse_ref(cmd, arg, value)?;
        Ok(self
            .values
            .iter()
            .find(|(p, _)| p.matches(&typed, false))
            .map(|(_, v)| v.clone())
            .expect("the parser accepted one of the choices"))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.values.iter().map(|(p, _)| p.clone())))
    }
}

fn area() -> Choice<Area> {
    choice(Area::ALL, |a| a.key().to_owned())
}

fn language() -> Choice<Language> {
    choice(Language::ALL, |l| l.key().to_owned())
}

fn report_format() -> Choice<hjul_report::Format> {
    choice(hjul_report::Format::ALL, |f| f.key().to_owned())
}

fn milestone() -> Choice<Milestone> {
    choice(Milestone::ALL, |m| m.deadline().key().to_owned())
}

fn role() -> Choice<hjul_store::Role> {
    choice(hjul_store::Role::ALL, |r| r.key().to_owned())
}

fn outbox_state() -> Choice<hjul_store::OutboxState> {
    choice(hjul_store::OutboxState::all(), hjul_store::OutboxState::key)
}

#[derive(Parser)]
#[command(
    name = "hjul",
    version,
    about = "hjul runs the two-year quality wheel (kvalitetshjulet) of a children and youth department",
    long_about = "hjul runs the two-year quality wheel (kvalitetshjulet) of a municipal children and \
youth department: the six phases, every unit's deadlines, and where each institution stands.",
    after_help = "Examples:\n  hjul demo                       # an example municipality, in hjul-demo.db\n  \
hjul migrate && hjul org import organisation.csv\n  hjul status --overdue\n  hjul plan --cycle 2025"
)]
struct Cli {
    #[command(flatten)]
    global: Global,

    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Global {
    /// Directory with wheel.toml and indicators.toml. Without it hjul uses ./config when it
    /// has them, else the built-in Viborg wheel.
    #[arg(long, global = true, env = "HJUL_CONFIG_DIR", value_name = "DIR")]
    config: Option<PathBuf>,

    /// The database: a SQLite file (default hjul.db in this directory) or a PostgreSQL URL
    /// (postgres://user:password@host/db).
    #[arg(long, global = true, env = "HJUL_DATABASE_URL", value_name = "URL", default_value = hjul_store::DEFAULT_DATABASE)]
    database_url: String,

    /// Who is acting, as the audit log and the log of reads name them (reads are logged
    /// too). Defaults to cli:$USER.
    #[arg(long, global = true, env = "HJUL_ACTOR", value_name = "NAME")]
    actor: Option<String>,

    /// Act as this person (a leader's or a manager's address in the organisation), with
    /// what they may do and no more: the dashboard's and the API's rules. Without it the
    /// command line acts as the secretariat.
    #[arg(long = "as", global = true, env = "HJUL_AS", value_name = "EMAIL")]
    as_person: Option<String>,

    /// Pretend today is this date (for training, back-filling and tests): events dated
    /// after it are refused, and `status` shows this day.
    #[arg(
        long,
        global = true,
        env = "HJUL_TODAY",
        value_name = "DATE", value_parser = day,
        hide = true
    )]
    today: Option<Date>,

    /// Pretend the clock shows this instant (RFC 3339) and runs on from it: `serve`
    /// then works as on that day (for training and tests). Implies --today.
    #[arg(
        long,
        global = true,
        env = "HJUL_NOW",
        value_name = "INSTANT",
        hide = true
    )]
    now: Option<chrono::DateTime<chrono::Utc>>,

    /// Read the clock from this file (an RFC 3339 instant that a test harness moves on).
    #[arg(
        long,
        global = true,
        env = "HJUL_CLOCK_FILE",
        value_name = "FILE",
        hide = true
    )]
    clock_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Set up an example municipality with a cycle's events in hjul-demo.db, show its
    /// status, and serve the dashboard on it (as of the demo's day).
    #[command(
        after_help = "Examples:\n  hjul demo                       # then open http://127.0.0.1:8080/\n  \
hjul demo --no-serve            # only build hjul-demo.db and print the status\n  \
hjul status --database-url hjul-demo.db --overdue  # as of the demo's day"
    )]
    Demo {
        /// The demo's database file; it is made afresh.
        #[arg(long, default_value = demo::DEMO_DATABASE)]
        file: PathBuf,
        /// Build and print, but do not start the service.
        #[arg(long)]
        no_serve: bool,
        /// Where the dashboard listens.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Create or upgrade the database schema; safe to run again.
    #[command(
        after_help = "Examples:\n  hjul migrate\n  hjul migrate --database-url postgres://hjul@localhost/hjul"
    )]
    Migrate,
    /// The organisation: units, their tree and their leaders.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Indicator data: import measurement files, see how a unit is doing.
    #[command(subcommand)]
    Data(DataCommand),
    /// The quality report of a cycle (kvalitetsrapporten), as a draft: PDF, HTML or
    /// Markdown; `hjul report sheet UNIT` for a unit's data sheet.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  hjul report --cycle 2025 --output kvalitetsrapport-2025.pdf\n  \
hjul report --cycle 2025 --area school --format html --output skole.html\n  \
hjul report --cycle 2025 --unit dt-nord --lang en --format md --output dt-nord.md\n  \
hjul report sheet dt-nord-1 --output datablad.pdf\n  \
hjul report final --cycle 2025\n\n\
The report covers the cycle's phases and milestones, the pre-analysis' patterns, the focus themes, \
the dialogues, the agreements, the midway status and a page per unit. Its wording is in \
config/report (give --templates to use a changed copy). Values from too few respondents are never \
shown, and no table ranks units. The final report is kept when report_final is recorded."
    )]
    Report {
        #[command(subcommand)]
        sheet: Option<ReportCommand>,
        #[arg(long)]
        cycle: Option<i32>,
        /// Only the units of one area.
        #[arg(long, value_parser = area(), conflicts_with = "unit")]
        area: Option<Area>,
        /// Only this unit and the units below it.
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        #[arg(long, value_parser = report_format(), default_value = "pdf")]
        format: hjul_report::Format,
        #[arg(long, value_parser = language(), default_value = "da")]
        lang: Language,
        /// A directory with changed report templates (as config/report).
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Record a department milestone of a cycle.
    #[command(
        after_help = "Examples:\n  hjul milestone data-collected --cycle 2025 --on 2025-12-18\n  \
hjul milestone themes-published --cycle 2025 --on 2026-03-20 --themes temaer.txt\n  \
hjul milestone report-final --cycle 2025 --on 2026-09-24"
    )]
    Milestone {
        #[arg(value_parser = milestone())]
        milestone: Milestone,
        /// The cycle, named by the year it starts.
        #[arg(long, value_name = "YEAR")]
        cycle: i32,
        /// The day it was met.
        #[arg(long, value_name = "DATE", value_parser = day)]
        on: Date,
        /// For themes-published: the focus themes, one a line, in priority order.
        #[arg(long, value_name = "FILE")]
        themes: Option<PathBuf>,
    },
    /// The quality dialogue between a unit's leader and their superior.
    #[command(subcommand)]
    Dialogue(DialogueCommand),
    /// A unit's coherence agreement (sammenhængsaftale).
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// The midway status on a unit's agreement.
    #[command(subcommand)]
    Midway(MidwayCommand),
    /// The follow-up between the dialogues: the half-yearly status on the goals and the
    /// yearly review of the agreement.
    #[command(subcommand, name = "follow-up")]
    FollowUp(FollowUpCommand),
    /// Deputies (stedfortrædere): who stands in for a unit's leader, and when.
    #[command(subcommand)]
    Deputy(DeputyCommand),
    /// Personal data: the log of who read what.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// The archive: a cycle's records as open files for hand-over (Rigsarkivet).
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// A copy of the database to keep, made while `hjul serve` runs: one moment's
    /// records in a new SQLite file, and FILE.manifest.json beside it (the schema, the
    /// rows of the main tables, the size and SHA-256). On PostgreSQL it names the
    /// pg_dump to use and writes nothing.
    #[command(
        after_help = "Examples:\n  hjul backup --output /var/backups/hjul/hjul-2026-12-07.db\n  \
hjul restore /var/backups/hjul/hjul-2026-12-07.db   # puts it back (see hjul restore --help)"
    )]
    Backup {
        /// The copy to write; it must not exist.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Put a copy made by `hjul backup` in place as the database (--database-url, default
    /// hjul.db): checked against its manifest, refused if a newer hjul made it, migrated
    /// if an older one did. A database already there is moved aside, never deleted. Stop
    /// `hjul serve` first; run `hjul doctor` after.
    #[command(
        after_help = "Examples:\n  hjul restore /var/backups/hjul/hjul-2026-12-07.db\n  \
hjul restore kopi.db --database-url /var/lib/hjul/hjul.db"
    )]
    Restore {
        /// The copy.
        file: PathBuf,
        /// Its manifest (default FILE.manifest.json, when there is one).
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
    },
    /// Cycles: they start on their own on their first day; start one early by hand.
    #[command(subcommand)]
    Cycle(CycleCommand),
    /// Where each unit stands: step, next deadline, how late, who is to act.
    #[command(
        after_help = "Examples:\n  hjul status\n  hjul status --overdue --area daycare\n  \
hjul status --at 2026-07-01 --level 4 --format json"
    )]
    Status {
        /// The day to look at (default today).
        #[arg(long, value_name = "DATE", value_parser = day)]
        at: Option<Date>,
        #[arg(long, value_parser = area())]
        area: Option<Area>,
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
        level: Option<u8>,
        /// Only units past a deadline.
        #[arg(long)]
        overdue: bool,
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
        /// Where to write the spreadsheet (xlsx needs it; csv goes to the terminal without).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The language of the table (default: the locale's, else English) and of the
        /// spreadsheet (default: Danish headers and decimal commas). JSON keeps the codes.
        #[arg(long, value_parser = language())]
        lang: Option<Language>,
    },
    /// Check the standing every status reads against the events it comes from; with
    /// --rebuild, replace it with what the events give.
    #[command(after_help = "Examples:\n  hjul doctor\n  hjul doctor --rebuild\n\n\
hjul keeps where each unit stands (step, next deadline, who is to act, the agreement) beside the \
events, updated with every change, so status, the dashboard and the API read it at once. doctor \
recomputes it from the events and lists every unit where the two differ (exit code 1); that should \
never happen, and --rebuild puts it right in one transaction.")]
    Doctor {
        /// Replace the kept standing with what the events give.
        #[arg(long)]
        rebuild: bool,
    },
    /// Correct a recorded event (the secretariat's): its date, the unit it was recorded
    /// against, or that it happened at all. The correction is kept with its reason; the
    /// event stays on record, marked as corrected; deadlines and mail follow.
    #[command(
        after_help = "Examples:\n  hjul unit show dt-nord-1                 # the events, each with the start of its id\n  \
hjul correct dt-nord-1 0199e2c4-51b3 --on 2026-03-20 --reason \"Mødet blev flyttet\"\n  \
hjul correct dt-nord-2 0199e2c4-51b3 --move-to dt-nord-1 --reason \"Registreret på forkert hus\"\n  \
hjul correct dt-nord-1 0199e2c4-51b3 --withdraw --reason \"Underskrevet ved en fejl\""
    )]
    Correct {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        /// The event's id, or its start (at least 8 characters) as `hjul unit show` shows it.
        event: String,
        /// It happened on this day.
        #[arg(long, value_name = "DATE", value_parser = day, conflicts_with_all = ["move_to", "withdraw"])]
        on: Option<Date>,
        /// It belongs to this unit (a dialogue only).
        #[arg(long, value_name = "UNIT", value_parser = unit, conflicts_with = "withdraw")]
        move_to: Option<UnitId>,
        /// It did not happen.
        #[arg(long)]
        withdraw: bool,
        /// Why: kept with the correction.
        #[arg(long)]
        reason: String,
    },
    /// One unit.
    #[command(subcommand)]
    Unit(UnitCommand),
    /// Run the scheduler: deadlines, reminders and escalations by mail, until Ctrl-C or
    /// SIGTERM.
    #[command(
        long_about = "Run the scheduler until Ctrl-C or SIGTERM: every minute (scheduler.tick in \
hjul.toml) it starts a cycle whose first day has come, works out which deadlines opened, are due soon, \
are overdue or need escalation, and sends the mail that is due, one mail per person per day. With no \
[smtp] section in hjul.toml each mail is written as an .eml file under outbox/ instead. After downtime \
it catches up from the dates and sends nothing twice.",
        after_help = "Examples:\n  hjul serve\n  hjul serve --log-format json\n  \
HJUL__SMTP__HOST=smtp.example.dk HJUL__SMTP__PASSWORD=... hjul serve"
    )]
    Serve {
        #[arg(long, value_enum, default_value_t = LogFormat::Human)]
        log_format: LogFormat,
        /// Where the HTTP API and the dashboard listen.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Access tokens for the HTTP API and the dashboard.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Preview the mail of some days on a scratch copy: nothing is sent, nothing changes.
    #[command(
        after_help = "Examples:\n  hjul simulate --from 2026-06-01 --to 2026-07-31\n  \
hjul simulate --from 2027-07-01 --to 2027-10-31 --format json\n  \
hjul simulate --from 2026-01-01 --to 2026-12-31 --config ./new-wheel   # before it goes live"
    )]
    Simulate {
        #[arg(long, value_name = "DATE", value_parser = day)]
        from: Date,
        #[arg(long, value_name = "DATE", value_parser = day)]
        to: Date,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Print mail number N of the list in full, as its recipient would read it.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        show: Option<u32>,
    },
    /// The mail queue: what is pending, sent and dead; `retry` puts a dead item back.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  hjul outbox\n  hjul outbox --state dead\n  hjul outbox retry 9c41d2e0a7b3"
    )]
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxCommand>,
        #[arg(long, value_parser = outbox_state())]
        state: Option<hjul_store::OutboxState>,
        /// How many items to list, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print a cycle's phase windows and deadlines.
    #[command(
        after_help = "Examples:\n  hjul plan --cycle 2025\n  hjul plan --cycle 2027 --format json\n  \
hjul plan --cycle 2025 --config ./my-wheel   # check an edited wheel.toml"
    )]
    Plan {
        /// The cycle, named by the year it starts (2025 runs 2025-10-01 to 2027-09-30).
        #[arg(long, value_name = "YEAR")]
        cycle: i32,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List the closed weekdays of a year: public holidays and closing days.
    #[command(
        after_help = "Examples:\n  hjul calendar 2026\n  hjul calendar 2023 --format json   # store bededag is still there"
    )]
    Calendar {
        year: i32,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Check the wheel definition and the indicator catalogue.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Import the organisation from CSV; importing again updates it in place.
    #[command(
        long_about = "Import the organisation from CSV. Header: \
unit_id,name,level,parent_id,area,leader_name,leader_email and optionally language (da or en). \
Exactly one unit at level 1 (the root); every other unit's parent is one level up. Areas: daycare, \
school, family, department, or in Danish dagtilbud, skole, familie, forvaltning. If any row is wrong, every problem is listed with its line and nothing \
is written. Importing again updates units in place, gives a unit its new leader, and deactivates \
units missing from the file (their history stays). A leader who leaves a unit gets one mail \
that cancels the calendar entries of its open deadlines; the new leader one mail with what is \
theirs now. --preview shows what would change and move, and writes nothing.",
        after_help = "Examples:\n  hjul org import examples/organisation.csv --preview\n  hjul org import examples/organisation.csv"
    )]
    Import {
        file: PathBuf,
        /// Show what the import would change and hand over; write nothing.
        #[arg(long)]
        preview: bool,
    },
    /// Let a unit that joined the running cycle late take part from the next cycle
    /// instead: it owes nothing in the running one (--undo brings it back).
    #[command(
        after_help = "Examples:\n  hjul org next-cycle dt-syd-3\n  hjul org next-cycle dt-syd-3 --undo"
    )]
    NextCycle {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        /// Bring the unit back into the running cycle: it owes what a late joiner owes.
        #[arg(long)]
        undo: bool,
    },
}

#[derive(Subcommand)]
enum DialogueCommand {
    /// Record that a unit's quality dialogue was held.
    #[command(
        after_help = "Examples:\n  hjul dialogue held dt-nord-1 --on 2026-03-14\n  \
hjul dialogue held sk-vest --on 2026-02-05 --notes referat.txt\n  \
hjul dialogue held dt-nord-1 --on 2025-09-15 --cycle 2023    # history, in cycle 2023"
    )]
    Held {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        #[arg(long, value_name = "DATE", value_parser = day)]
        on: Date,
        /// The record of the dialogue, kept with the event.
        #[arg(long, value_name = "FILE")]
        notes: Option<PathBuf>,
        /// The leader lets the notes be quoted in the quality report (without it they
        /// never reach the report).
        #[arg(long, requires = "notes")]
        for_report: bool,
        /// The cycle it is meant for: a date in another cycle is refused, naming the one
        /// it falls in (default: the cycle the date falls in).
        #[arg(long, value_name = "YEAR")]
        cycle: Option<i32>,
    },
}

#[derive(Subcommand)]
enum AgreementCommand {
    /// Submit an agreement file to the superior; each submission is a new revision.
    #[command(
        after_help = "Examples:\n  hjul agreement submit dt-nord-1 --file examples/agreement.toml\n\n\
The file holds [[goal]] tables with the keys title, dimension (quality, economy, wellbeing), kind \
(common, local), horizon (short, long), weight (percent; all add up to 100), indicator (required for \
common goals), baseline, partly_met, fully_met, activities and target_date."
    )]
    Submit {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The day it was submitted (default today).
        #[arg(long, value_name = "DATE", value_parser = day)]
        on: Option<Date>,
    },
    /// Record that the superior signed the latest revision.
    #[command(after_help = "Examples:\n  hjul agreement sign dt-nord-1 --on 2026-04-20")]
    Sign {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        #[arg(long, value_name = "DATE", value_parser = day)]
        on: Date,
        /// The cycle it is meant for: a date in another cycle is refused, naming the one
        /// it falls in (default: the cycle the date falls in).
        #[arg(long, value_name = "YEAR")]
        cycle: Option<i32>,
    },
}

#[derive(Subcommand)]
enum MidwayCommand {
    /// Give the midway status: a grade for every goal of the agreement in force.
    #[command(
        after_help = "Examples:\n  hjul midway submit dt-nord-1 --file examples/grades.toml\n\n\
The file holds [[grade]] tables with goal (the goal's title), grade (full, partly, none) and an \
optional note."
    )]
    Submit {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The day it was given (default today).
        #[arg(long, value_name = "DATE", value_parser = day)]
        on: Option<Date>,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The data sheet for a unit's quality dialogue: its measures over time beside the
    /// area's, the focus themes, and last cycle's goals and grades, on a page or two.
    Sheet {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        #[arg(long, value_parser = report_format(), default_value = "pdf")]
        format: hjul_report::Format,
        #[arg(long, value_parser = language(), default_value = "da")]
        lang: Language,
        /// A directory with changed report templates (as config/report).
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Make and keep the final report of a cycle whose report_final was recorded
    /// without it (its layout failed then; correct the text it names first).
    #[command(after_help = "Examples:\n  hjul report final --cycle 2025\n\n\
The report is the department's as of the day report_final was met, and is kept as the committee's: \
it is made once, and never replaced. `hjul report final` refuses when one is kept already.")]
    Final {
        #[arg(long, value_name = "YEAR")]
        cycle: i32,
    },
}

#[derive(Subcommand)]
enum FollowUpCommand {
    /// Give the half-yearly status on each goal of the agreement in force.
    #[command(
        after_help = "Examples:\n  hjul follow-up status dt-nord-1 --file examples/goal-status.txt\n\n\
The file holds one status per goal, in the agreement's order, separated by a blank line. Every goal \
needs one. It is accepted while a time of the status is open (config/wheel.toml: goal_status)."
    )]
    Status {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The day it was given (default today).
        #[arg(long, value_name = "DATE", value_parser = day)]
        on: Option<Date>,
        /// The cycle it is meant for: a date in another cycle is refused, naming the one
        /// it falls in (default: the cycle the date falls in).
        #[arg(long, value_name = "YEAR")]
        cycle: Option<i32>,
    },
    /// Record the yearly review: the agreement in force was gone through and stands. (A
    /// changed agreement is submitted as a new revision instead; its signature counts.)
    #[command(
        after_help = "Examples:\n  hjul follow-up review dt-nord-1 --on 2027-02-08\n  \
hjul follow-up review sk-vest --notes konklusion.txt"
    )]
    Review {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        /// The day it was reviewed (default today).
        #[arg(long, value_name = "DATE", value_parser = day)]
        on: Option<Date>,
        /// What the leader and the superior concluded, kept with the event.
        #[arg(long, value_name = "FILE")]
        notes: Option<PathBuf>,
        /// The cycle it is meant for: a date in another cycle is refused, naming the one
        /// it falls in (default: the cycle the date falls in).
        #[arg(long, value_name = "YEAR")]
        cycle: Option<i32>,
    },
}

#[derive(Subcommand)]
enum ArchiveCommand {
    /// Write a cycle's records to a new directory for the archive: a CSV per kind of
    /// record (units, milestones, events, agreements, goals, grades, corrections), the
    /// wheel and catalogue it ran under, the final report (PDF and Markdown), and
    /// manifest.json with each file's size, rows and SHA-256.
    #[command(after_help = "Examples:\n  hjul archive export --cycle 2025 --output arkiv-2025")]
    Export {
        /// The cycle (the year it started).
        #[arg(long, value_name = "YEAR")]
        cycle: i32,
        /// The directory to write; it must not exist or be empty.
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum PrivacyCommand {
    /// Everything hjul holds about a person, for their access request: as JSON, or as a
    /// readable page in Danish (or English) when the output ends in .html.
    #[command(
        after_help = "Examples:\n  hjul privacy export --email bo.nielsen@skovby.dk --output bo.json\n  hjul privacy export --email bo.nielsen@skovby.dk --output bo.html"
    )]
    Export {
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// The file to write (.json or .html); without it, JSON to the terminal.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The language of the readable page.
        #[arg(long, value_parser = language(), default_value = "da")]
        lang: Language,
    },
    /// What is past its retention (hjul.toml `[privacy]`): counted per kind, or deleted
    /// with --apply (the service does it once a day by itself).
    #[command(after_help = "Examples:\n  hjul privacy retention\n  hjul privacy retention --apply")]
    Retention {
        /// Delete it now, in batches, with one row in the audit log.
        #[arg(long)]
        apply: bool,
    },
    /// Anonymise a person who has left: their name becomes "Tidligere leder" and their
    /// address a pseudonym in every record, which stays. Without --apply it says what
    /// would change. Refused while they lead or stand in for a unit, or mail waits to
    /// them. The service does it by itself `departed_days` after they left.
    #[command(
        after_help = "Examples:\n  hjul privacy anonymise --email bo.nielsen@skovby.dk\n  hjul privacy anonymise --email bo.nielsen@skovby.dk --apply"
    )]
    Anonymise {
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// Do it now (it cannot be undone).
        #[arg(long)]
        apply: bool,
    },
    /// The log of reads of personal data, newest first: who looked at which unit's or
    /// person's data, when, through which view, with which terms (the secretariat's).
    #[command(
        after_help = "Examples:\n  hjul privacy reads --unit dt-nord-2\n  hjul privacy reads --person bo.nielsen@skovby.dk --from 2026-01-01"
    )]
    Reads {
        /// Only reads of this unit (its id).
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// Only reads of this person's data (their address).
        #[arg(long, value_name = "EMAIL")]
        person: Option<String>,
        /// Only reads by someone the audit log names so (a part of it).
        #[arg(long, value_name = "WHO")]
        actor: Option<String>,
        #[arg(long, value_name = "DATE", value_parser = day)]
        from: Option<Date>,
        #[arg(long, value_name = "DATE", value_parser = day)]
        to: Option<Date>,
        /// The most rows (1 to 10000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        limit: u64,
    },
}

#[derive(Subcommand)]
enum DeputyCommand {
    /// Name a deputy for a unit's leader: while in force they get the unit's mail (the
    /// leader a copy) and may record what the leader may.
    #[command(
        after_help = "Examples:\n  hjul deputy add dt-nord-1 --email anna.bech@skovby.dk --name \"Anna Bech\" --from 2026-07-06 --to 2026-07-24\n  \
hjul deputy add sk-vest --email per@skovby.dk --name \"Per Holm\"          # from today, until ended"
    )]
    Add {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        /// The deputy's mail address.
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// The deputy's name, as mails and the unit's history show it.
        #[arg(long)]
        name: String,
        /// The language of the deputy's mail.
        #[arg(long, value_parser = language(), default_value = "da")]
        lang: Language,
        /// The first day they stand in (default: at once).
        #[arg(long, value_name = "DATE", value_parser = day)]
        from: Option<Date>,
        /// The last day they stand in (default: until ended).
        #[arg(long, value_name = "DATE", value_parser = day)]
        to: Option<Date>,
    },
    /// End a deputy now, by the id `hjul deputy list` shows.
    #[command(after_help = "Examples:\n  hjul deputy end dt-nord-1 0193a1b2-…")]
    End {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        id: uuid::Uuid,
    },
    /// The unit's deputies not ended and not past; without a unit, every unit's you see.
    #[command(after_help = "Examples:\n  hjul deputy list dt-nord-1\n  hjul deputy list")]
    List {
        #[arg(value_parser = unit)]
        unit_id: Option<UnitId>,
    },
}

#[derive(Subcommand)]
enum CycleCommand {
    /// Start a cycle now, before its first day.
    #[command(after_help = "Examples:\n  hjul cycle start 2027")]
    Start { year: i32 },
}

#[derive(Subcommand)]
enum UnitCommand {
    /// A unit's timeline: events, deadlines met and open, agreement, goals and grades.
    #[command(
        after_help = "Examples:\n  hjul unit show dt-nord-1\n  hjul unit show sk-vest --at 2026-06-01 --format json"
    )]
    Show {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        #[arg(long, value_name = "DATE", value_parser = day)]
        at: Option<Date>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// The language of the text (default: the locale's, else English). JSON keeps
        /// the codes.
        #[arg(long, value_parser = language())]
        lang: Option<Language>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token; it is printed once, and only its hash is kept.
    #[command(
        long_about = "Make a token for the HTTP API and the dashboard. It is printed once; hjul \
keeps only its hash. A secretariat token sees and does everything. A manager token sees the units below \
the units its holder leads and signs the agreements of the units directly below; a leader token sees its \
holder's units and those below and records their own units' steps. The address must be a leader's in the \
organisation (except for the secretariat).",
        after_help = "Examples:\n  hjul token create --role secretariat --email sekretariat@skovby.dk\n  \
hjul token create --role manager --email anna.bech@skovby.dk --note \"Anna, dashboard\""
    )]
    Create {
        #[arg(long, value_parser = role())]
        role: hjul_store::Role,
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// What the token is for, to recognise it in `hjul token list`.
        #[arg(long)]
        note: Option<String>,
    },
    /// List tokens (never the tokens themselves).
    #[command(after_help = "Examples:\n  hjul token list")]
    List,
    /// Revoke a token at once.
    #[command(
        after_help = "Examples:\n  hjul token revoke 019ad3f2-7c1e-7b40-9a51-3c2d8e0f4a6b   # the id `hjul token list` shows\n  hjul token revoke 019ad3f2-7c1e      # or its start, at least 8 characters"
    )]
    Revoke { id: String },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Put a dead item back in the queue, to go at the next tick.
    #[command(
        after_help = "Examples:\n  hjul outbox retry 9c41d2e0a7b3   # the id as `hjul outbox` shows it (its end) is enough"
    )]
    Retry { id: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Readable lines on a terminal.
    Human,
    /// One JSON object a line, for a log collector.
    Json,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Load wheel.toml and indicators.toml, report every problem, or say which versions
    /// are in use.
    #[command(
        after_help = "Examples:\n  hjul config check\n  hjul config check --config /etc/hjul"
    )]
    Check,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatusFormat {
    /// Aligned columns for a terminal.
    Table,
    /// JSON for programs.
    Json,
    /// An Excel workbook (give --output).
    Xlsx,
    /// CSV as a Danish Excel reads it (`;`, decimal comma) with --lang da.
    Csv,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Import measurements from CSV: all or nothing; a period imported again replaces
    /// its values (the old ones stay on record).
    #[command(
        long_about = "Import measurements from CSV, as exported from the municipality's systems \
or Excel. Header: unit_id,measure,period,value and optionally n (respondents) and source; `,` or \
`;` between fields; a decimal point or comma. Periods: 2024/25 (school year), 2025, 2025H1, \
2025Q3. Units only: a column about people (name, cpr, …) or a value shaped like a CPR number is \
refused. If any line is wrong, every problem is listed with its line and field and nothing is \
written. Importing a unit, measure and period again replaces its value; the old one stays on \
record.",
        after_help = "Examples:\n  hjul data import examples/data.csv\n  hjul data measures"
    )]
    Import { file: PathBuf },
    /// One unit's measures: each series, the latest value, the change, the verdict, and
    /// the area's and the department's averages.
    #[command(
        after_help = "Examples:\n  hjul data show dt-nord-1\n  hjul data show dt-nord-1 --format json"
    )]
    Show {
        #[arg(value_parser = unit)]
        unit_id: UnitId,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The pre-analysis' patterns for a cycle: per measure and area, the average, the
    /// spread and how many units got better or worse (never a ranking of units).
    #[command(
        after_help = "Examples:\n  hjul data patterns --cycle 2025\n  hjul data patterns --cycle 2025 --format json"
    )]
    Patterns {
        /// The cycle, named by the year it starts: the data of periods ended before it.
        #[arg(long, value_name = "YEAR")]
        cycle: i32,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// How far the data collection for a cycle's pre-analysis has come: per measure, the
    /// units still without a value for the period it reads.
    #[command(
        after_help = "Examples:\n  hjul data gaps --cycle 2025\n  hjul data gaps --cycle 2025 --format json"
    )]
    Gaps {
        /// The cycle, named by the year it starts: the data of periods ended before it.
        #[arg(long, value_name = "YEAR")]
        cycle: i32,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The measures data can be imported on: their codes, units, ranges and directions.
    Measures,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// JSON for programs.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Output piped into `head` and closed early: not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // The chain holds the context ("cannot read …") and the cause.
            eprintln!("error: {e:#}");
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// What the command line adds to an error of the store: the command that helps. The
/// store's words are the same for every front end and name no command.
fn hint(e: &anyhow::Error) -> Option<String> {
    use hjul_store::StoreError as E;
    let store = e.chain().find_map(|c| c.downcast_ref::<E>())?;
    Some(match store {
        E::UnknownUnit(_) => "`hjul status` lists the units".into(),
        E::InactiveUnit(_) => {
            "import an organisation file with the unit in it: `hjul org import FILE`".into()
        }
        E::CycleNotStarted { year, .. } => {
            format!("to start it early, run `hjul cycle start {year}`")
        }
        E::NoSuchItem(_) | E::ItemNotDead { .. } => {
            "`hjul outbox --state dead` lists the dead items".into()
        }
        E::NoSuchToken(_) | E::TokenIdTooShort(_) | E::AmbiguousToken { .. } => {
            "`hjul token list` shows the tokens and their ids".into()
        }
        E::ThemesRequired | E::NoThemes => {
            "give the themes with --themes FILE, one theme a line, in priority order".into()
        }
        E::Busy => "another hjul (the service, say) was writing meanwhile; run it again".into(),
        _ => return None,
    })
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let config = config::Config::locate(cli.global.config.as_deref())?;
    let mut out = std::io::stdout().lock();
    match &cli.command {
        Command::Plan { cycle, format } => {
            let wheel = config.wheel()?;
            let plan = wheel.cycle(*cycle)?.plan();
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&plan)?)?,
                Format::Table => {
                    plan::write_table(&mut out, &plan, &wheel, &config.wheel_source())?;
                }
            }
        }
        Command::Calendar { year, format } => {
            let wheel = config.wheel()?;
            plan::write_calendar(&mut out, &wheel, *year, *format == Format::Json)?;
        }
        Command::Config(ConfigCommand::Check) => {
            let wheel = config.wheel()?;
            let catalogue = config.indicators()?;
            writeln!(
                out,
                "wheel definition {} from {}: ok ({} phases, {} deadline rules)",
                wheel.version,
                config.wheel_source(),
                wheel.phases().len(),
                wheel.deadline_rules().len()
            )?;
            writeln!(
                out,
                "indicator catalogue {} from {}: ok ({} beacons, {} indicators, {} other measures)",
                catalogue.version,
                config.indicators_source(),
                catalogue.beacons.len(),
                catalogue.indicators().count(),
                catalogue.measures.len()
            )?;
            let settings = settings::Settings::load(config.dir.as_deref())?;
            writeln!(out, "settings from {}: ok", settings.source)?;
            if let Some(oidc) = settings.oidc {
                let (issuer, back) = (oidc.issuer.clone(), oidc.redirect_url.clone());
                let rp = hjul_app::Oidc::new(oidc)?;
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(rp.check())
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "sign-in: {e}; check auth.oidc.issuer, and that this machine reaches it"
                        )
                    })?;
                writeln!(
                    out,
                    "sign-in: the provider at {issuer} answers; register {back} with it as hjul's redirect address"
                )?;
            }
            if !settings.token_sign_in {
                writeln!(
                    out,
                    "sign-in: access tokens are not offered on the dashboard"
                )?;
            }
        }
        Command::Serve { log_format, listen } => {
            service::init_logging(*log_format);
            let settings = settings::Settings::load(config.dir.as_deref())?;
            let ctx = context::Context::new(&cli.global, &config)?;
            ctx.block_on(service::run_serve(&ctx, &settings, *listen))?;
        }
        Command::Token(t) => {
            let ctx = context::Context::new(&cli.global, &config)?;
            ctx.block_on(service::run_token(&ctx, t, &mut out))?;
        }
        Command::Simulate {
            from,
            to,
            format,
            show,
        } => {
            let settings = settings::Settings::load(config.dir.as_deref())?;
            let ctx = context::Context::new(&cli.global, &config)?;
            ctx.block_on(service::run_simulate(
                &ctx,
                &settings,
                (*from, *to),
                *format,
                *show,
                &mut out,
            ))?;
        }
        Command::Outbox {
            action,
            state,
            limit,
            format,
        } => {
            let ctx = context::Context::new(&cli.global, &config)?;
            match action {
                Some(OutboxCommand::Retry { id }) => {
                    ctx.block_on(service::run_retry(&ctx, id, &mut out))?;
                }
                None => {
                    ctx.block_on(service::run_outbox(&ctx, *state, *limit, *format, &mut out))?;
                }
            }
        }
        Command::Demo {
            file,
            no_serve,
            listen,
        } => {
            let ctx = context::Context::new(&cli.global, &config)?;
            ctx.block_on(demo::run(&ctx, file, &mut out))?;
            if !no_serve {
                drop(ctx);
                let settings = settings::Settings::load(config.dir.as_deref())?;
                let demo = demo::context(&cli.global, &config, file)?;
                demo.block_on(demo::serve(&demo, &settings, *listen, &mut out))?;
            }
        }
        command => {
            let ctx = context::Context::new(&cli.global, &config)?;
            ctx.block_on(records::run(&ctx, command, &mut out))?;
        }
    }
    out.flush()?;
    Ok(())
}
