//! `hjul`: the command line of the quality wheel.

mod config;
mod plan;
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "hjul",
    version,
    about = "hjul runs the two-year quality wheel (kvalitetshjulet) of a children and youth department",
    long_about = "hjul runs the two-year quality wheel (kvalitetshjulet) of a municipal children and \
youth department: the six phases, every unit's deadlines, and where each institution stands.",
    after_help = "Examples:\n  hjul plan --cycle 2025\n  hjul calendar 2026\n  hjul config check --config ./config"
)]
struct Cli {
    /// Directory with wheel.toml and indicators.toml. Without it hjul uses ./config when it
    /// has them, else the built-in Viborg wheel.
    #[arg(long, global = true, env = "HJUL_CONFIG_DIR", value_name = "DIR")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
enum ConfigCommand {
    /// Load wheel.toml and indicators.toml, report every problem, or say which versions
    /// are in use.
    #[command(
        after_help = "Examples:\n  hjul config check\n  hjul config check --config /etc/hjul"
    )]
    Check,
}

#[derive(Clone, Copy, ValueEnum)]
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
        Err(e) => {
            // The chain holds the context ("cannot read …") and the cause.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let config = config::Config::locate(cli.config.as_deref())?;
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
            plan::write_calendar(&mut out, &wheel, *year, matches!(format, Format::Json))?;
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
                "indicator catalogue {} from {}: ok ({} beacons, {} indicators)",
                catalogue.version,
                config.indicators_source(),
                catalogue.beacons.len(),
                catalogue.indicators().count()
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
