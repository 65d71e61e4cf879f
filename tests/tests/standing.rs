//! The standing projection against the fold, on SQLite and PostgreSQL.
//!
//! A property test: random histories of every kind of change (events, milestones,
//! corrections, a re-import with a new leader, a deactivated and a reactivated unit),
//! many of them refused by the wheel's rules, and after each step `status` read from the
//! projection equals `status_folded` (every event folded again), for today and for an
//! earlier day, with and without filters; and `hjul doctor`'s check finds nothing.
//! The same histories drive the scheduler: after each step a long-running scheduler
//! ticks (reading only the units that changed or whose mail moment came), then a fresh
//! one ticks at the same instant, reading every unit as after a restart, and finds
//! nothing left to write or void, and every unit's next moment already kept.
//! A second instance on the same database reads alongside and keeps its answers between
//! steps: they must follow every change. Then stories: a kept answer follows what
//! another instance changes; a projection spoilt by hand is found by the check and put
//! right by the rebuild.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use hjul_scheduler::Scheduler;
use hjul_store::{Correction, StatusFilter, Store};
use hjul_tests::{AGREEMENT, GRADES, TestDb, date, stamp, unit_of};
use hjul_wheel::{Area, Deadline, EventKind, Level, Organisation};
use proptest::prelude::*;
use sea_orm::ConnectionTrait;

/// A small organisation with every level, two chains and two areas.
const UNITS: [(&str, &str, u8, &str, &str); 9] = [
    ("bu", "Børn & Unge", 1, "", "department"),
    ("dt", "Dagtilbud", 2, "bu", "daycare"),
    ("sk", "Skole", 2, "bu", "school"),
    ("dt-nord", "Dagtilbud Nord", 3, "dt", "daycare"),
    ("dt-syd", "Dagtilbud Syd", 3, "dt", "daycare"),
    ("sk-vest", "Vestre Skole", 3, "sk", "school"),
    ("dt-nord-1", "Mariehønen", 4, "dt-nord", "daycare"),
    ("dt-nord-2", "Spiren", 4, "dt-nord", "daycare"),
    ("dt-syd-1", "Solsikken", 4, "dt-syd", "daycare"),
];

/// The organisation file with each unit's leader in its `generation` and the leaves in
/// `gone` left out (deactivated).
fn organisation(generation: &[u8; 9], gone: &[bool; 9]) -> Organisation {
    Organisation::from_csv(&organisation_csv(generation, gone), |_| {}).unwrap()
}

fn organisation_csv(generation: &[u8; 9], gone: &[bool; 9]) -> String {
    let mut csv =
        String::from("unit_id,name,level,parent_id,area,leader_name,leader_email,language\n");
    for (i, (id, name, level, parent, area)) in UNITS.iter().enumerate() {
        if gone[i] {
            continue;
        }
        let g = generation[i];
        csv.push_str(&format!(
            "{id},{name},{level},{parent},{area},Leder {id} {g},{id}.{g}@skovby.dk,da\n"
        ));
    }
    csv
}

#[derive(Debug, Clone)]
enum Step {
    Milestone(usize),
    Dialogue(usize, i64),
    /// The unit's next step, as the rules allow it today: its dialogue, agreement,
    /// signature or midway status (otherwise a history would seldom get that far).
    Progress(usize),
    Withdraw(usize, usize),
    Redate(usize, usize, i64),
    Move(usize, usize, usize),
    NewLeader(usize),
    /// A leaf leaves the organisation file, or comes back.
    ToggleLeaf(usize),
    StartNextCycle,
}

fn step() -> impl Strategy<Value = Step> {
    let unit = 3usize..9;
    prop_oneof![
        2 => (0usize..3).prop_map(Step::Milestone),
        1 => (unit.clone(), 0i64..10).prop_map(|(u, d)| Step::Dialogue(u, d)),
        6 => unit.clone().prop_map(Step::Progress),
        1 => (unit.clone(), 0usize..4).prop_map(|(u, k)| Step::Withdraw(u, k)),
        1 => (unit.clone(), 0usize..4, 1i64..20).prop_map(|(u, k, d)| Step::Redate(u, k, d)),
        // A dialogue (a unit's first event) moved to another unit.
        2 => (unit.clone(), unit.clone()).prop_map(|(u, t)| Step::Move(u, 0, t)),
        1 => (0usize..9).prop_map(Step::NewLeader),
        1 => (6usize..9).prop_map(Step::ToggleLeaf),
        1 => Just(Step::StartNextCycle),
    ]
}

struct World {
    today: NaiveDate,
    generation: [u8; 9],
    gone: [bool; 9],
}

/// Applies one step; a refusal is part of the history (it must change nothing). Says
/// whether it was accepted.
async fn apply(store: &Store, w: &mut World, step: &Step, accepted: &Accepted) -> bool {
    let s = stamp(&w.today.to_string());
    let id = |u: usize| UNITS[u].0;
    let done = match step {
        Step::Milestone(m) => {
            let (milestone, themes) = [
                (Deadline::DataCollected, None),
                (Deadline::ThemesPublished, Some(vec!["Sprog".to_owned()])),
                (Deadline::ReportFinal, None),
            ][*m]
                .clone();
            let year = store
                .wheel()
                .definition
                .cycles
                .cycle_containing(w.today)
                .year();
            store
                .record_milestone(year, milestone, w.today, themes, &s)
                .await
        }
        Step::Dialogue(u, back) => store
            .record_dialogue(&unit_of(id(*u)), w.today - Duration::days(*back), None, &s)
            .await
            .map(drop),
        Step::Progress(u) => {
            let Ok(t) = store.timeline(&unit_of(id(*u)), w.today, None).await else {
                return false;
            };
            // A signature is the superior's: the timeline says it may be given by
            // giving no reason why not.
            let Some(next) = [
                EventKind::DialogueHeld,
                EventKind::MidwayGiven,
                EventKind::AgreementSigned,
                EventKind::AgreementSubmitted,
            ]
            .into_iter()
            .find(|k| match k {
                EventKind::AgreementSigned => {
                    t.step == Some(hjul_wheel::Step::AwaitingSignature) && t.why_not_sign.is_none()
                }
                k => t.allowed.contains(k),
            }) else {
                return false;
            };
            let (on, u) = (w.today, id(*u));
            match next {
                EventKind::DialogueHeld => store
                    .record_dialogue(&unit_of(u), on, None, &s)
                    .await
                    .map(drop),
                EventKind::AgreementSubmitted => store
                    .submit_agreement(&unit_of(u), on, AGREEMENT, "a.toml", &s)
                    .await
                    .map(drop),
                EventKind::AgreementSigned => {
                    store.sign_agreement(&unit_of(u), on, &s).await.map(drop)
                }
                _ => store
                    .give_midway(&unit_of(u), on, GRADES, "g.toml", &s)
                    .await
                    .map(drop),
            }
            .map(|()| *accepted.borrow_mut().entry(next.key()).or_default() += 1)
        }
        Step::Withdraw(u, k) | Step::Redate(u, k, _) | Step::Move(u, k, _) => {
            let Ok(t) = store.timeline(&unit_of(id(*u)), w.today, None).await else {
                return false;
            };
            let Some(e) = t.events.iter().filter(|e| !e.superseded).nth(*k) else {
                return false;
            };
            let correction = match step {
                Step::Withdraw(..) => Correction::Withdraw,
                Step::Redate(_, _, back) => Correction::Redate {
                    on: e.on - Duration::days(*back),
                },
                Step::Move(_, _, to) => Correction::Move {
                    unit_id: unit_of(id(*to)),
                },
                _ => unreachable!(),
            };
            store
                .correct_event(&unit_of(id(*u)), e.id, correction, "en fejl", &s)
                .await
                .map(drop)
        }
        Step::NewLeader(u) => {
            w.generation[*u] = w.generation[*u].wrapping_add(1) % 4;
            store
                .import_organisation(&organisation(&w.generation, &w.gone), &s, |_, _| {})
                .await
                .map(drop)
        }
        Step::ToggleLeaf(u) => {
            w.gone[*u] = !w.gone[*u];
            store
                .import_organisation(&organisation(&w.generation, &w.gone), &s, |_, _| {})
                .await
                .map(drop)
        }
        Step::StartNextCycle => {
            let year = store
                .wheel()
                .definition
                .cycles
                .cycle_containing(w.today)
                .year()
                + 2;
            store.start_cycle(year, &s).await.map(drop)
        }
    };
    done.is_ok()
}

/// How many steps of each kind were accepted, over every history of a run: the
/// generator must reach the paths it is meant to test, not only refusals.
type Accepted = std::cell::RefCell<std::collections::BTreeMap<&'static str, usize>>;

fn kind(step: &Step) -> &'static str {
    match step {
        Step::Milestone(_) => "milestone",
        Step::Dialogue(..) => "dialogue",
        Step::Progress(_) => "progress",
        Step::Withdraw(..) => "withdraw",
        Step::Redate(..) => "redate",
        Step::Move(..) => "move",
        Step::NewLeader(_) => "new leader",
        Step::ToggleLeaf(_) => "leaf in or out",
        Step::StartNextCycle => "next cycle",
    }
}

/// The projection's answers equal the fold's, today and on an earlier day, with and
/// without filters, and the check finds no difference. `other` is a second instance on
/// the same database that only reads: the answers it keeps between steps must follow
/// every change the first one writes.
async fn agrees(
    store: &Store,
    other: &Store,
    today: NaiveDate,
    earlier: i64,
) -> Result<(), String> {
    let filters = [
        StatusFilter::default(),
        StatusFilter {
            overdue: true,
            ..StatusFilter::default()
        },
        StatusFilter {
            area: Some(Area::Daycare),
            level: Level::new(4),
            overdue: false,
        },
    ];
    for at in [today, today - Duration::days(earlier)] {
        for f in &filters {
            let kept = store.status(at, f, Some("sekretariat@skovby.dk")).await;
            let folded = store
                .status_folded(at, f, Some("sekretariat@skovby.dk"))
                .await;
            let (kept, folded) = (
                kept.map_err(|e| e.to_string())?,
                folded.map_err(|e| e.to_string())?,
            );
            if kept != folded {
                return Err(format!(
                    "status on {at} with {f:?}:\nkept   {kept:?}\nfolded {folded:?}"
                ));
            }
            let theirs = other
                .status(at, f, Some("sekretariat@skovby.dk"))
                .await
                .map_err(|e| e.to_string())?;
            if theirs != folded {
                return Err(format!(
                    "the other instance's status on {at} with {f:?}:\nkept   {theirs:?}\nfolded {folded:?}"
                ));
            }
        }
    }
    let differences = store.check_standing().await.map_err(|e| e.to_string())?;
    if !differences.is_empty() {
        return Err(format!("doctor finds {differences:?}"));
    }
    Ok(())
}

/// Every outbox item by key, with its state: what a tick writes and voids.
async fn outbox(store: &Store) -> Vec<(String, String)> {
    store
        .connection()
        .query_all_raw(sea_orm::Statement::from_string(
            store.backend(),
            "SELECT key, state FROM outbox_item ORDER BY key",
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.try_get("", "key").unwrap(),
                r.try_get("", "state").unwrap(),
            )
        })
        .collect()
}

/// The long-running scheduler ticks at `now`; then a fresh one, which reads every unit,
/// must find that tick complete.
async fn ticks_agree(store: &Store, steady: &Scheduler, now: DateTime<Utc>) -> Result<(), String> {
    let mut tick = steady.tick(now).await.map_err(|e| e.to_string())?;
    if tick.started_cycle.is_some() {
        // The cycle's rows were made in the tick's own transaction: the next tick (a
        // minute later in the service) looks at them.
        tick = steady
            .tick(now + Duration::seconds(1))
            .await
            .map_err(|e| e.to_string())?;
    }
    let before = outbox(store).await;
    let fresh = hjul_tests::scheduler(store.clone(), 0);
    let full = fresh.tick(now).await.map_err(|e| e.to_string())?;
    let after = outbox(store).await;
    if !full.created.is_empty() || full.moments_kept != 0 || before != after {
        return Err(format!(
            "at {now} the steady tick read {} units and wrote {} items; a full tick then \
             wrote {:?}, kept {} units' next moments, and the outbox changed: {}",
            tick.units_read,
            tick.created.len(),
            full.created.iter().map(|c| &c.key).collect::<Vec<_>>(),
            full.moments_kept,
            before != after,
        ));
    }
    Ok(())
}

/// Each step: what happens, how many days pass before it, and how far back an earlier
/// day is asked about after it.
async fn history(
    db: TestDb,
    steps: Vec<(Step, i64, i64)>,
    accepted: &Accepted,
) -> Result<(), String> {
    let store = db.store().await;
    let other = Store::open_current(&db.location, hjul_store::CurrentWheel::builtin())
        .await
        .unwrap();
    let mut w = World {
        today: date("2026-03-20"),
        generation: [0; 9],
        gone: [false; 9],
    };
    store
        .import_organisation(
            &organisation(&w.generation, &w.gone),
            &stamp("2025-09-01"),
            |_, _| {},
        )
        .await
        .unwrap();
    // The department's milestones of the first half, so the units' own steps can be
    // reached (milestones recorded at random seldom land in their windows).
    for (m, on, themes) in [
        (Deadline::DataCollected, "2025-12-18", None),
        (
            Deadline::ThemesPublished,
            "2026-03-20",
            Some(vec!["Sprog".to_owned()]),
        ),
    ] {
        store
            .record_milestone(2025, m, date(on), themes, &stamp(on))
            .await
            .unwrap();
    }
    let steady = hjul_tests::scheduler(store.clone(), 0);
    let mut last = DateTime::<Utc>::MIN_UTC;
    for (i, (step, wait, earlier)) in steps.iter().enumerate() {
        w.today += Duration::days(*wait);
        if apply(&store, &mut w, step, accepted).await {
            *accepted.borrow_mut().entry(kind(step)).or_default() += 1;
        }
        agrees(&store, &other, w.today, *earlier)
            .await
            .map_err(|e| format!("after step {i} {step:?} on {}: {e}", w.today))?;
        // The hour varies with the step, so ticks fall before and after 08:00; time
        // only goes forward.
        let hour = u32::try_from(5 + i % 6).unwrap();
        let now =
            (w.today.and_hms_opt(hour, 30, 0).unwrap().and_utc()).max(last + Duration::minutes(1));
        last = now;
        ticks_agree(&store, &steady, now)
            .await
            .map_err(|e| format!("after step {i} {step:?} on {}: {e}", w.today))?;
    }
    // Then the midway's quarter of cycle 2025, if the history ended before it: every
    // unit takes its next steps, so grades and scores are part of every history.
    let midway = date("2027-08-02");
    if w.today < midway {
        w.today = midway;
        for round in 0..3 {
            for u in 3..9 {
                let step = Step::Progress(u);
                apply(&store, &mut w, &step, accepted).await;
                agrees(&store, &other, w.today, 100)
                    .await
                    .map_err(|e| format!("at the midway, round {round}, {step:?}: {e}"))?;
                let minute = u32::try_from(round * 10 + u).unwrap();
                let now = (w.today.and_hms_opt(9, minute, 0).unwrap().and_utc())
                    .max(last + Duration::minutes(1));
                last = now;
                ticks_agree(&store, &steady, now)
                    .await
                    .map_err(|e| format!("at the midway, round {round}, {step:?}: {e}"))?;
            }
        }
    }
    store.close().await.unwrap();
    other.close().await.unwrap();
    Ok(())
}

fn run(cases: u32, db: impl Fn() -> TestDb) {
    let accepted = Accepted::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The same histories on every run, so CI cannot pass or fail by the draw.
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(
        ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    runner
        .run(
            &proptest::collection::vec((step(), 0i64..50, 1i64..200), 15..45),
            |steps| {
                rt.block_on(history(db(), steps, &accepted))
                    .map_err(TestCaseError::fail)
            },
        )
        .unwrap();
    let accepted = accepted.into_inner();
    eprintln!("accepted steps: {accepted:?}");
    for k in [
        "milestone",
        "dialogue_held",
        "agreement_submitted",
        "agreement_signed",
        "midway_given",
        "withdraw",
        "redate",
        "move",
        "new leader",
        "leaf in or out",
        "next cycle",
    ] {
        assert!(
            accepted.get(k).copied().unwrap_or(0) > 0,
            "no {k} was accepted: {accepted:?}"
        );
    }
}

#[test]
fn sqlite_the_projection_equals_the_fold_for_random_histories() {
    run(24, || TestDb::sqlite("standing_property"));
}

#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "HJUL_TEST_PG_URL is not set: PostgreSQL story skipped"
)]
fn postgres_the_projection_equals_the_fold_for_random_histories() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    run(12, || rt.block_on(TestDb::postgres("standing_property")));
}

hjul_tests::stories!(
    a_kept_answer_follows_what_another_instance_changes,
    a_spoilt_projection_is_found_and_rebuilt,
    the_steady_tick_reads_what_changed_and_what_falls_due,
    a_steady_tick_over_many_changed_units_misses_none
);

/// The scheduler as the service runs it, a tick a minute: the first reads every unit (as
/// after downtime), the next ones only a unit whose standing changed or whose mail moment
/// has come, and a restarted scheduler reads every unit again and finds nothing missing.
async fn the_steady_tick_reads_what_changed_and_what_falls_due(db: TestDb) {
    let store = hjul_tests::skovby_with_themes(&db, "2026-03-20").await;
    let units = usize::try_from(hjul_tests::count(&store, "unit").await).unwrap();
    let scheduler = hjul_tests::scheduler(store.clone(), 0);
    let minute = Duration::minutes(1);
    let t0 = hjul_tests::eight("2026-03-23") + Duration::minutes(5);

    let first = scheduler.tick(t0).await.unwrap();
    assert_eq!(first.units_read, units, "the first tick reads every unit");
    assert!(!first.created.is_empty(), "the dialogues' opening notices");
    assert_eq!(
        first.moments_kept, units,
        "and keeps each one's next moment"
    );

    let steady = scheduler.tick(t0 + minute).await.unwrap();
    assert_eq!(
        (steady.units_read, steady.created.len(), steady.moments_kept),
        (0, 0, 0),
        "a minute later nothing changed and nothing fell due"
    );

    // A dialogue is held: that unit is read, and only it.
    store
        .record_dialogue(
            &unit_of("dt-nord-1"),
            date("2026-03-23"),
            None,
            &stamp("2026-03-23"),
        )
        .await
        .unwrap();
    let changed = scheduler.tick(t0 + minute * 2).await.unwrap();
    assert_eq!((changed.units_read, changed.moments_kept), (1, 1));

    // The next moment kept: at it, the units whose moment it is are read, and get mail.
    let rows = store.watched(2025, None).await.unwrap();
    let next = rows.iter().filter_map(|r| r.mail_at).min().unwrap();
    assert!(next > t0 + minute * 2);
    let due = rows.iter().filter(|r| r.mail_at == Some(next)).count();
    let at_moment = scheduler.tick(next).await.unwrap();
    assert_eq!(at_moment.units_read, due);
    assert!(
        at_moment.created.iter().any(|c| c.unit_id.is_some()),
        "the moment's mail: {:?}",
        at_moment.created
    );
    assert_eq!(scheduler.tick(next + minute).await.unwrap().units_read, 0);

    // A restart: every unit read again, nothing to add, every moment already kept.
    let restarted = hjul_tests::scheduler(store.clone(), 0);
    let again = restarted.tick(next + minute * 2).await.unwrap();
    assert_eq!(again.units_read, units);
    assert_eq!((again.created.len(), again.moments_kept), (0, 0));
    store.close().await.unwrap();
}

/// More units changed between two ticks than one statement reads by id: the steady tick
/// reads them a statement of ids at a time, and a fresh tick, which reads every unit,
/// finds nothing it missed.
async fn a_steady_tick_over_many_changed_units_misses_none(db: TestDb) {
    let csv = hjul_tests::organisation(300);
    let store = hjul_tests::with_themes(&db, &csv, "2026-03-20").await;
    let org = Organisation::from_csv(&csv, |_| {}).unwrap();
    let steady = hjul_tests::scheduler(store.clone(), 0);
    let t0 = hjul_tests::eight("2026-03-23") + Duration::minutes(5);
    steady.tick(t0).await.unwrap();
    let houses: Vec<_> = org
        .units()
        .iter()
        .filter(|u| u.level.number() == 4)
        .take(150)
        .collect();
    let held = stamp("2026-03-23");
    for u in &houses {
        store
            .record_dialogue(&u.id, date("2026-03-23"), None, &held)
            .await
            .unwrap();
    }
    let now = t0 + Duration::minutes(1);
    let tick = steady.tick(now).await.unwrap();
    assert_eq!(tick.units_read, houses.len());
    assert_eq!(tick.moments_kept, houses.len());
    ticks_agree(&store, &steady, now + Duration::minutes(1))
        .await
        .unwrap();
    store.close().await.unwrap();
}

/// Two instances on one database: the second keeps its answers (`status`, who is who)
/// between requests, and each change the first makes — an event (after which only the
/// rows it rewrote are read again), a leader's new name in an organisation import
/// (after which every row is) — shows in the second's next answer; an import that
/// changes nothing leaves the kept answer as it was.
async fn a_kept_answer_follows_what_another_instance_changes(db: TestDb) {
    let a = db.store().await;
    let b = Store::open_current(&db.location, hjul_store::CurrentWheel::builtin())
        .await
        .unwrap();
    let s = stamp("2026-03-20");
    let csv = organisation_csv(&[0; 9], &[false; 9]);
    let import = |csv: &str| Organisation::from_csv(csv, |_| {}).unwrap();
    a.import_organisation(&import(&csv), &s, |_, _| {})
        .await
        .unwrap();
    a.record_milestone(
        2025,
        Deadline::ThemesPublished,
        date("2026-03-20"),
        Some(vec!["Sprog".into()]),
        &s,
    )
    .await
    .unwrap();
    let day = date("2026-03-20");
    let sec = Some("sekretariat@skovby.dk");
    let row = |rows: &[hjul_store::StatusRow], id: &str| {
        rows.iter().find(|r| r.unit_id == id).cloned().unwrap()
    };

    let first = b.status_all(day, sec).await.unwrap();
    let dir = b.directory().await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &b.status_all(day, sec).await.unwrap()),
        "nothing changed: the kept answer is given again"
    );
    assert!(std::sync::Arc::ptr_eq(&dir, &b.directory().await.unwrap()));

    // An event on the other instance.
    a.record_dialogue(&unit_of("dt-nord-1"), day, None, &s)
        .await
        .unwrap();
    let after = b.status_all(day, sec).await.unwrap();
    assert_ne!(row(&first, "dt-nord-1").step, row(&after, "dt-nord-1").step);
    assert_eq!(
        *after,
        b.status_read(day, &StatusFilter::default(), sec)
            .await
            .unwrap()
    );

    // A later day's answer starts from this one (a new day changes only the days
    // overdue), then reads what changed since: here another unit's dialogue.
    let later = date("2026-08-03");
    a.record_dialogue(&unit_of("dt-syd-1"), day, None, &s)
        .await
        .unwrap();
    let on_later = b.status_all(later, sec).await.unwrap();
    assert_eq!(
        *on_later,
        b.status_folded(later, &StatusFilter::default(), sec)
            .await
            .unwrap()
    );
    assert!(
        on_later
            .iter()
            .zip(b.status_all(day, sec).await.unwrap().iter())
            .any(|(l, d)| l.overdue_days > d.overdue_days),
        "some unit is later overdue on {later} than on {day}"
    );
    assert_ne!(
        row(&after, "dt-syd-1").step,
        row(&on_later, "dt-syd-1").step
    );

    // An import that changes nothing keeps both answers.
    let after = b.status_all(day, sec).await.unwrap();
    a.import_organisation(&import(&csv), &s, |_, _| {})
        .await
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &after,
        &b.status_all(day, sec).await.unwrap()
    ));
    assert!(std::sync::Arc::ptr_eq(&dir, &b.directory().await.unwrap()));

    // A leader's new name, and nothing else: no unit moves, yet both answers change.
    let responsible = row(&after, "dt-nord-1").responsible;
    let old_name = row(&after, "dt-nord-1").responsible_name;
    let renamed = csv.replace(&format!("{old_name},"), "Lise Mariehøne,");
    assert_ne!(renamed, csv, "{old_name} leads a unit");
    a.import_organisation(&import(&renamed), &s, |_, _| {})
        .await
        .unwrap();
    let now = b.status_all(day, sec).await.unwrap();
    assert_eq!(row(&now, "dt-nord-1").responsible, responsible);
    assert_eq!(row(&now, "dt-nord-1").responsible_name, "Lise Mariehøne");
    let unit = responsible.split('.').next().unwrap();
    assert_eq!(
        b.directory().await.unwrap().leader(unit, 0).unwrap().name,
        "Lise Mariehøne"
    );

    // What a manager sees follows the tree: a house moves to another chief, and each
    // one's token sees it where it is now (walked in the kept directory, which the
    // import emptied).
    let seen = |rows: Vec<hjul_store::SubtreeUnit>| {
        let mut ids: Vec<String> = rows.into_iter().map(|u| u.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        seen(b.subtree_led_by("dt-syd.0@skovby.dk").await.unwrap()),
        ["dt-syd", "dt-syd-1"]
    );
    let moved = renamed.replace(
        "dt-syd-1,Solsikken,4,dt-syd,",
        "dt-syd-1,Solsikken,4,dt-nord,",
    );
    assert_ne!(moved, renamed);
    a.import_organisation(&import(&moved), &s, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        seen(b.subtree_led_by("dt-syd.0@skovby.dk").await.unwrap()),
        ["dt-syd"]
    );
    assert_eq!(
        seen(b.subtree_led_by("dt-nord.0@skovby.dk").await.unwrap()),
        ["dt-nord", "dt-nord-1", "dt-nord-2", "dt-syd-1"]
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
}

async fn a_spoilt_projection_is_found_and_rebuilt(db: TestDb) {
    let store = db.store().await;
    let s = stamp("2026-03-20");
    store
        .import_organisation(&organisation(&[0; 9], &[false; 9]), &s, |_, _| {})
        .await
        .unwrap();
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(vec!["Sprog".into()]),
            &s,
        )
        .await
        .unwrap();
    store
        .record_dialogue(&unit_of("dt-nord-1"), date("2026-03-20"), None, &s)
        .await
        .unwrap();
    assert!(store.check_standing().await.unwrap().is_empty());
    let before = store
        .status(date("2026-03-20"), &StatusFilter::default(), None)
        .await
        .unwrap();

    // Spoilt behind hjul's back: one unit's step, one unit's row gone.
    let conn = store.connection();
    conn.execute_unprepared(
        "UPDATE unit_standing SET step = 'midway_given' WHERE unit_id = 'dt-nord-1'",
    )
    .await
    .unwrap();
    conn.execute_unprepared("DELETE FROM unit_standing WHERE unit_id = 'dt-syd-1'")
        .await
        .unwrap();
    let found = store.check_standing().await.unwrap();
    let described: Vec<String> = found
        .iter()
        .map(|d| format!("{} {}", d.unit_id, d.describe()))
        .collect();
    assert_eq!(
        described,
        [
            "dt-nord-1 step: kept midway_given, from the events awaiting_agreement",
            "dt-syd-1 no standing kept",
        ]
    );
    // Read again, a missing row is folded, so it stays right; the spoilt step shows.
    // (The answer `status` keeps is the one before: no change went through hjul.)
    let spoilt = store
        .status_read(date("2026-03-20"), &StatusFilter::default(), None)
        .await
        .unwrap();
    assert_ne!(spoilt, before);

    let written = store.rebuild_standing(&s).await.unwrap();
    assert_eq!(written, 9);
    assert!(store.check_standing().await.unwrap().is_empty());
    assert_eq!(
        store
            .status(date("2026-03-20"), &StatusFilter::default(), None)
            .await
            .unwrap(),
        before
    );
    assert_eq!(hjul_tests::count(&store, "unit_standing").await, 9);
}

/// Two instances on one PostgreSQL database write at once: each records dialogues while
/// the other does, and one records the focus themes (which moves every unit) in the
/// middle. Every write succeeds (no deadlock, no key clash between the projection's
/// writers), and the projection is what the events give.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(pg_tests),
    ignore = "HJUL_TEST_PG_URL is not set: PostgreSQL story skipped"
)]
async fn postgres_two_instances_writing_at_once_keep_the_projection_right() {
    let db = TestDb::postgres("standing_two_instances").await;
    let a = db.store().await;
    let b = Store::open_current(&db.location, hjul_store::CurrentWheel::builtin())
        .await
        .unwrap();
    let org = Organisation::from_csv(&hjul_tests::organisation(80), |_| {}).unwrap();
    let s = stamp("2026-03-20");
    a.import_organisation(&org, &s, |_, _| {}).await.unwrap();
    a.record_milestone(
        2025,
        Deadline::DataCollected,
        date("2025-12-18"),
        None,
        &stamp("2025-12-18"),
    )
    .await
    .unwrap();
    let units: Vec<String> = org
        .units()
        .iter()
        .filter(|u| u.level.number() >= 3)
        .map(|u| u.id.to_string())
        .collect();
    let writer = |store: Store, ids: Vec<String>| {
        let s = s.clone();
        tokio::spawn(async move {
            for id in ids {
                store
                    .record_dialogue(&unit_of(&id), date("2026-03-16"), None, &s)
                    .await
                    .unwrap_or_else(|e| panic!("{id}: {e}"));
            }
        })
    };
    let (left, right) = units.split_at(units.len() / 2);
    let one = writer(a.clone(), left.to_vec());
    let two = writer(b.clone(), right.to_vec());
    let themes = {
        let b = b.clone();
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            b.record_milestone(
                2025,
                Deadline::ThemesPublished,
                date("2026-03-20"),
                Some(vec!["Sprog".into()]),
                &s,
            )
            .await
            .unwrap();
        })
    };
    one.await.unwrap();
    two.await.unwrap();
    themes.await.unwrap();
    assert_eq!(a.check_standing().await.unwrap().len(), 0);
    let rows = a
        .status(date("2026-03-20"), &StatusFilter::default(), None)
        .await
        .unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.step == Some(hjul_wheel::Step::AwaitingAgreement))
            .count(),
        units.len(),
        "every dialogue held and the themes out: every unit is to write its agreement"
    );
}

/// An organisation import and a cycle's start each compute standing rows from the whole
/// unit tree. On PostgreSQL they take one advisory lock, so neither reads the tree while
/// the other changes it (a cycle started during an uncommitted import would read the old
/// tree, and the import would not see the new cycle to refresh it). Held by another
/// session, the lock makes each of them wait; let go, each goes on, and the projection
/// agrees with the fold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pg_tests),
    ignore = "HJUL_TEST_PG_URL is not set: PostgreSQL story skipped"
)]
async fn postgres_an_import_and_a_cycle_start_wait_for_the_unit_tree() {
    use sea_orm::TransactionTrait;
    let db = TestDb::postgres("unit_tree_lock").await;
    let store = db.store().await;
    let hjul_store::Location::Postgres(url) = &db.location else {
        unreachable!("a PostgreSQL test database")
    };
    let other = sea_orm::Database::connect(url.as_str()).await.unwrap();
    let hold = || async {
        let txn = other.begin().await.unwrap();
        txn.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({})",
            hjul_store::UNIT_TREE_LOCK
        ))
        .await
        .unwrap();
        txn
    };
    let org = Organisation::from_csv(&hjul_tests::organisation(20), |_| {}).unwrap();
    let lock = hold().await;
    let importing = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .import_organisation(&org, &stamp("2025-09-01"), |_, _| {})
                .await
        })
    };
    waits_for(lock, importing, "the import").await.unwrap();

    // The cycle of 2025 starts with its first record.
    let lock = hold().await;
    let starting = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_milestone(
                    2025,
                    Deadline::DataCollected,
                    date("2025-12-18"),
                    None,
                    &stamp("2025-12-18"),
                )
                .await
        })
    };
    waits_for(lock, starting, "the cycle's start")
        .await
        .unwrap();
    assert_eq!(store.check_standing().await.unwrap().len(), 0);
    let rows = store
        .status(date("2025-12-18"), &StatusFilter::default(), None)
        .await
        .unwrap();
    assert!(
        !rows.is_empty(),
        "every unit stands somewhere in the new cycle"
    );
}

/// What `task` comes to, after checking that it waits while `lock` is held.
async fn waits_for<T>(
    lock: sea_orm::DatabaseTransaction,
    task: tokio::task::JoinHandle<T>,
    what: &str,
) -> T {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!task.is_finished(), "{what} did not wait for the lock");
    lock.rollback().await.unwrap();
    task.await.unwrap()
}
