//! hjul's database schema, as migrations for SQLite and PostgreSQL.

// async_trait needs `&SchemaManager` without a named lifetime in the impls.
#![allow(elided_lifetimes_in_paths)]

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_outbox;
mod m20261122_000003_api_token;
mod m20261122_000004_lease;
mod m20261201_000005_people;
mod m20261202_000006_outbox_checked;
mod m20261202_000007_measurement;
mod m20261203_000008_measured_goals;
mod m20261204_000009_follow_ups;
mod m20261205_000010_final_report;
mod m20261206_000011_dialogue_for_report;
mod m20261207_000012_unit_standing;
mod m20261208_000013_standing_mail;
mod m20261209_000014_versions;
mod m20261210_000015_standing_counted;
mod m20261211_000016_standing_rebuilt;
mod m20261212_000017_cycle_started_how;
mod m20261213_000018_person_sessions;
mod m20261214_000019_settings;
mod m20261215_000020_deputies;
mod m20261216_000021_unit_joined;
mod m20261217_000022_outbox_addressed;
mod m20261218_000023_outbox_taken_over;
mod m20261219_000024_unit_comes_on;
mod m20261220_000025_read_log;
mod m20261221_000026_audit_retention;
mod m20261222_000027_departed;
mod m20261223_000028_sent_mail;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_outbox::Migration),
            Box::new(m20261122_000003_api_token::Migration),
            Box::new(m20261122_000004_lease::Migration),
            Box::new(m20261201_000005_people::Migration),
            Box::new(m20261202_000006_outbox_checked::Migration),
            Box::new(m20261202_000007_measurement::Migration),
            Box::new(m20261203_000008_measured_goals::Migration),
            Box::new(m20261204_000009_follow_ups::Migration),
            Box::new(m20261205_000010_final_report::Migration),
            Box::new(m20261206_000011_dialogue_for_report::Migration),
            Box::new(m20261207_000012_unit_standing::Migration),
            Box::new(m20261208_000013_standing_mail::Migration),
            Box::new(m20261209_000014_versions::Migration),
            Box::new(m20261210_000015_standing_counted::Migration),
            Box::new(m20261211_000016_standing_rebuilt::Migration),
            Box::new(m20261212_000017_cycle_started_how::Migration),
            Box::new(m20261213_000018_person_sessions::Migration),
            Box::new(m20261214_000019_settings::Migration),
            Box::new(m20261215_000020_deputies::Migration),
            Box::new(m20261216_000021_unit_joined::Migration),
            Box::new(m20261217_000022_outbox_addressed::Migration),
            Box::new(m20261218_000023_outbox_taken_over::Migration),
            Box::new(m20261219_000024_unit_comes_on::Migration),
            Box::new(m20261220_000025_read_log::Migration),
            Box::new(m20261221_000026_audit_retention::Migration),
            Box::new(m20261222_000027_departed::Migration),
            Box::new(m20261223_000028_sent_mail::Migration),
        ]
    }
}
