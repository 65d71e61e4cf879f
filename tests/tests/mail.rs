//! The scheduler against a real SMTP server on loopback, on SQLite and PostgreSQL: the
//! exact mails of a scripted cycle, a whole two-year cycle on a virtual clock, catch-up
//! after downtime, and the mail server's and the process's faults.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use hjul_mail::{MailKind, Sender, SmtpSender};
use hjul_scheduler::{DispatchReport, Fault, Scheduler};
use hjul_store::{OutboxState, Store};
use hjul_tests::smtp::{Behaviour, Received, SmtpServer};
use hjul_tests::{
    AGREEMENT, ORGANISATION, TestDb, date, eight, scheduler, smtp_settings, stamp, stories, unit_of,
};
use hjul_wheel::{Deadline, Organisation, WheelDefinition};

stories!(
    a_scripted_cycle_sends_exactly_these_mails,
    a_whole_cycle_on_a_virtual_clock_keeps_every_rule,
    catch_up_after_downtime_sends_the_present_once,
    the_mail_server_failing_loses_nothing,
    a_process_killed_midway_loses_nothing_and_duplicates_only_after_sending,
    three_instances_send_every_item_exactly_once,
    a_batch_slower_than_half_its_lease_renews_and_reads_again,
    one_address_the_mail_library_refuses_stops_nobody_elses_mail,
    each_reader_is_told_what_to_do_by_when_and_where,
    after_a_long_downtime_nobody_hears_of_an_ended_cycle,
    an_item_hjul_cannot_read_is_a_dead_letter_told_to_the_secretariat,
    the_data_collection_reminder_says_how_far_it_has_come,
    the_follow_ups_tell_the_leader_what_to_do_and_stop_once_given,
    an_overdue_follow_up_is_one_fact_in_the_list_the_table_the_export_the_digest_and_the_mail,
    a_deputy_gets_the_units_mail_with_a_copy_to_the_leader_and_records_for_them,
    a_unit_that_joins_late_is_given_time_and_never_told_of_what_was_before_it,
    a_leader_who_leaves_a_unit_has_its_calendar_entries_cancelled,
    without_copies_a_deputy_takes_the_leaders_calendar_entries_and_gives_them_back,
    a_late_joiner_may_take_part_from_the_next_cycle_instead,
);

/// All four levels, one unit each; the area leader reads English.
const SMALL: &str = "unit_id,name,level,parent_id,area,leader_name,leader_email,language
bu,Børn & Unge,1,,department,Dorte Holm,dorte@skovby.dk,da
dt,Dagtilbud,2,bu,daycare,Carsten Vang,carsten@skovby.dk,da
dt-nord,Dagtilbud Nord,3,dt,daycare,Anna Bech,anna@skovby.dk,en
dt-nord-1,Børnehuset Mariehønen,4,dt-nord,daycare,Bo Nielsen,bo@skovby.dk,da
";

async fn with_org(db: &TestDb, csv: &str) -> Store {
    let store = db.store().await;
    let org = Organisation::from_csv(csv, |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp("2025-09-01"), |_, _| {})
        .await
        .unwrap();
    store
}

fn smtp(server: &SmtpServer) -> Sender {
    Sender::Smtp(SmtpSender::new(smtp_settings(server.port())))
}

/// Runs the service at 08:00 every day of `from..=to`, recording each event the
/// afternoon of its date (so the next morning's tick sees it).
async fn run_days(
    s: &Scheduler,
    sender: &Sender,
    from: &str,
    to: &str,
    mut events: impl FnMut(NaiveDate) -> Vec<Event>,
) -> Vec<(DateTime<Utc>, DispatchReport)> {
    let mut out = Vec::new();
    for day in date(from).iter_days().take_while(|d| *d <= date(to)) {
        let at = eight(&day.to_string());
        let (_, report) = s.run_once(sender, at).await.unwrap();
        out.push((at, report));
        for e in events(day) {
            e.record(s.store(), day).await;
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Event {
    Milestone(Deadline),
    Dialogue(&'static str),
    Submit(&'static str),
    Sign(&'static str),
}

impl Event {
    async fn record(self, store: &Store, on: NaiveDate) {
        let s = stamp(&on.to_string());
        match self {
            Event::Milestone(m) => {
                let themes = (m == Deadline::ThemesPublished).then(|| vec!["Sprog".to_owned()]);
                store
                    .record_milestone(2025, m, on, themes, &s)
                    .await
                    .unwrap();
            }
            Event::Dialogue(u) => {
                store
                    .record_dialogue(&unit_of(u), on, None, &s)
                    .await
                    .unwrap();
            }
            Event::Submit(u) => {
                store
                    .submit_agreement(&unit_of(u), on, AGREEMENT, "a.toml", &s)
                    .await
                    .unwrap();
            }
            Event::Sign(u) => {
                store.sign_agreement(&unit_of(u), on, &s).await.unwrap();
            }
        }
    }
}

fn scripted_events(day: NaiveDate) -> Vec<Event> {
    match day.to_string().as_str() {
        "2025-12-10" => vec![Event::Milestone(Deadline::DataCollected)],
        "2026-03-10" => vec![Event::Dialogue("dt-nord-1")],
        "2026-03-20" => vec![Event::Milestone(Deadline::ThemesPublished)],
        "2026-04-15" => vec![Event::Submit("dt-nord-1")],
        "2026-04-16" => vec![Event::Sign("dt-nord-1")],
        _ => vec![],
    }
}

fn scheduler_without_digest(store: Store, port: u16) -> Scheduler {
    let mut settings = hjul_tests::scheduler_settings();
    settings.digest = None;
    Scheduler::new(
        store,
        settings,
        hjul_tests::mail_settings(port),
        hjul_mail::Templates::load(None).unwrap(),
    )
}

/// A scheduler whose leases last 300 ms: a process "killed" in a test lets go of its
/// work as fast as a real one's lease (5 minutes) would run out.
fn killable(store: Store, port: u16) -> Scheduler {
    with_lease(store, port, std::time::Duration::from_millis(300))
}

/// A scheduler without the digest whose leases last `lease`.
fn with_lease(store: Store, port: u16, lease: std::time::Duration) -> Scheduler {
    let mut settings = hjul_tests::scheduler_settings();
    settings.digest = None;
    settings.lease = lease;
    Scheduler::new(
        store,
        settings,
        hjul_tests::mail_settings(port),
        hjul_mail::Templates::load(None).unwrap(),
    )
}

/// Waits for a killed scheduler's leases to run out.
async fn its_leases_run_out() {
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
}

/// (local date, recipient, subject) of every mail the server received.
fn summary(received: &[Received]) -> Vec<(String, String, String)> {
    let zone = WheelDefinition::builtin().mail_time.zone;
    received
        .iter()
        .map(|r| {
            let date = DateTime::parse_from_rfc2822(&r.header("Date").unwrap()).unwrap();
            let local = date.with_timezone(&zone);
            (
                local.format("%Y-%m-%d %H:%M").to_string(),
                r.to.join(","),
                decode_subject(&r.header("Subject").unwrap()),
            )
        })
        .collect()
}

/// Decodes RFC 2047 `=?utf-8?b?…?=` words (lettre encodes non-ASCII subjects).
fn decode_subject(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("=?utf-8?b?") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 10..];
        let end = after.find("?=").unwrap();
        out.push_str(&String::from_utf8(hjul_tests::smtp::base64(&after[..end])).unwrap());
        rest = &after[end + 2..];
        // Whitespace between two encoded words is not part of the text.
        if rest.trim_start().starts_with("=?utf-8?b?") {
            rest = rest.trim_start();
        }
    }
    out.push_str(rest);
    out
}

async fn a_scripted_cycle_sends_exactly_these_mails(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    let s = scheduler_without_digest(store, server.port());
    let sender = smtp(&server);
    run_days(&s, &sender, "2025-10-01", "2026-05-01", scripted_events).await;

    // Within one morning the order of the recipients is the instance's own (instances
    // start at different places among them): compare in order of time, then address.
    let mut got = summary(&server.received());
    got.sort();
    let want: Vec<(&str, &str, &str)> = vec![
        (
            "2025-10-01 08:00",
            "sekretariat@skovby.dk",
            "Ny opgave: Dataindsamling og foranalyse, Børn & Unge – senest tirsdag den 30. december 2025",
        ),
        // 1 January is a holiday and 31 December closed: the Q1 deadlines open the 30th.
        // Anna holds one dialogue and is called to her own: one mail, the nearest first.
        (
            "2025-12-30 08:00",
            "anna@skovby.dk",
            "New task: Quality dialogue, Dagtilbud Nord – by Tuesday 30 June 2026 (and 1 more)",
        ),
        (
            "2025-12-30 08:00",
            "bo@skovby.dk",
            "Ny opgave: Kvalitetssamtale, Børnehuset Mariehønen – senest tirsdag den 30. juni 2026",
        ),
        (
            "2025-12-30 08:00",
            "carsten@skovby.dk",
            "Ny opgave: Kvalitetssamtale, Dagtilbud Nord – senest tirsdag den 30. juni 2026",
        ),
        (
            "2025-12-30 08:00",
            "sekretariat@skovby.dk",
            "Ny opgave: Fokustemaer offentliggjort, Børn & Unge – senest tirsdag den 31. marts 2026",
        ),
        (
            "2026-03-17 08:00",
            "sekretariat@skovby.dk",
            "Påmindelse: Fokustemaer offentliggjort, Børn & Unge – senest tirsdag den 31. marts 2026",
        ),
        // The themes came on Friday the 20th: Bo's agreement opened; the notice waits
        // for Monday, a business day.
        (
            "2026-03-23 08:00",
            "bo@skovby.dk",
            "Ny opgave: Sammenhængsaftale underskrevet, Børnehuset Mariehønen – senest fredag den 17. april 2026",
        ),
        // 14 days before is Good Friday (3 April 2026): back over Maundy Thursday.
        (
            "2026-04-01 08:00",
            "bo@skovby.dk",
            "Påmindelse: Sammenhængsaftale underskrevet, Børnehuset Mariehønen – senest fredag den 17. april 2026",
        ),
        (
            "2026-04-14 08:00",
            "bo@skovby.dk",
            "Påmindelse: Sammenhængsaftale underskrevet, Børnehuset Mariehønen – senest fredag den 17. april 2026",
        ),
        // Bo submitted on the 15th: the signature is Anna's to give now, and she is
        // reminded in the words of the one who signs; Bo, only waiting, is told once
        // that it lies with her now (his calendar entry is cancelled), and no more.
        (
            "2026-04-16 08:00",
            "anna@skovby.dk",
            "Reminder: sign the coherence agreement for Børnehuset Mariehønen – by Friday 17 April 2026",
        ),
        (
            "2026-04-16 08:00",
            "bo@skovby.dk",
            "Ikke længere din opgave: Sammenhængsaftale underskrevet (Børnehuset Mariehønen)",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .into_iter()
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
        .collect();
    assert_eq!(got, want);

    // In the same order as `got`: by the mail's date, then by address.
    let mut received = server.received();
    received.sort_by_key(|r| {
        let date = DateTime::parse_from_rfc2822(&r.header("Date").unwrap()).unwrap();
        (date, r.to.clone())
    });
    // Anna reads English and gets both dialogues in one mail, with both events.
    let anna = received[1].text();
    assert!(
        anna.contains("You have new tasks in the quality wheel"),
        "{anna}"
    );
    let ics = received[1].calendar().unwrap();
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");
    assert!(
        ics.contains("UID:2025-dt-nord-dialogue_held@hjul")
            && ics.contains("UID:2025-dt-nord-1-dialogue_held@hjul"),
        "{ics}"
    );
    assert!(
        ics.contains("SUMMARY:Quality dialogue: Dagtilbud Nord"),
        "{ics}"
    );
    let bo = received[6].text();
    assert!(
        bo.contains("Content-Type: text/calendar; charset=utf-8; method=PUBLISH"),
        "{bo}"
    );
    assert!(
        bo.contains("multipart/alternative") && bo.contains("text/html"),
        "{bo}"
    );
    let ics = received[6].calendar().unwrap();
    assert!(
        ics.contains("UID:2025-dt-nord-1-agreement_signed@hjul\r\n"),
        "{ics}"
    );
    assert!(ics.contains("DTSTART;VALUE=DATE:20260417\r\n"), "{ics}");
    assert!(ics.contains("SEQUENCE:0\r\n"), "{ics}");
    assert!(
        ics.contains("SUMMARY:Sammenhængsaftale underskrevet: Børnehuset Mariehønen"),
        "{ics}"
    );
    // The reminders carry the same event, so calendars update it rather than add one.
    assert!(
        received[7]
            .calendar()
            .unwrap()
            .contains("UID:2025-dt-nord-1-agreement_signed@hjul\r\n")
    );
    assert_eq!(
        received[6].header("Reply-To").as_deref(),
        Some("sekretariat@skovby.dk")
    );
    // Every Message-ID is different and all are from the sender's domain.
    let ids: BTreeSet<String> = received
        .iter()
        .map(|r| r.header("Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), received.len());
    assert!(ids.iter().all(|i| i.ends_with("@skovby.dk>")));
    // Everything met or mailed; nothing is waiting.
    let pending = s
        .store()
        .outbox(Some(OutboxState::Pending), 100)
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
    let void = s
        .store()
        .outbox(Some(OutboxState::Void), 100)
        .await
        .unwrap();
    assert!(
        void.is_empty(),
        "the events came before any of their mail was due: {void:?}"
    );
}

type Story = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

/// The units' stories of the demo, over a whole cycle.
fn cycle_events(day: NaiveDate) -> Vec<Event> {
    let d = day.to_string();
    let mut out = Vec::new();
    let milestones = [
        ("2025-12-18", Deadline::DataCollected),
        ("2026-03-20", Deadline::ThemesPublished),
        ("2026-09-24", Deadline::ReportFinal),
    ];
    for (on, m) in milestones {
        if d == on {
            out.push(Event::Milestone(m));
        }
    }
    // (unit, dialogue held, agreement submitted, signed)
    let stories: &[Story] = &[
        ("dt", None, Some("2026-10-05"), Some("2026-10-12")),
        ("sk", None, Some("2026-10-20"), Some("2026-10-22")),
        (
            "dt-nord",
            Some("2026-02-10"),
            Some("2026-04-01"),
            Some("2026-04-10"),
        ),
        (
            "dt-syd",
            Some("2026-02-12"),
            Some("2026-04-08"),
            Some("2026-04-17"),
        ),
        (
            "sk-vest",
            Some("2026-03-04"),
            Some("2026-04-10"),
            Some("2026-04-16"),
        ),
        (
            "sk-oest",
            Some("2026-04-15"),
            Some("2026-05-05"),
            Some("2026-05-12"),
        ),
        ("sk-by", Some("2026-05-20"), Some("2026-06-15"), None),
        (
            "fr-fc",
            Some("2026-03-25"),
            Some("2026-04-20"),
            Some("2026-04-24"),
        ),
        (
            "dt-nord-1",
            Some("2026-03-14"),
            Some("2026-04-09"),
            Some("2026-04-20"),
        ),
        (
            "dt-nord-2",
            Some("2026-04-02"),
            Some("2026-04-20"),
            Some("2026-04-28"),
        ),
        ("dt-nord-3", Some("2026-05-06"), None, None),
        (
            "dt-syd-1",
            Some("2026-03-18"),
            Some("2026-04-10"),
            Some("2026-04-15"),
        ),
        (
            "dt-syd-2",
            Some("2026-07-06"),
            Some("2026-07-08"),
            Some("2026-07-09"),
        ),
    ];
    for (unit, dialogue, submit, sign) in stories {
        if *dialogue == Some(d.as_str()) {
            out.push(Event::Dialogue(unit));
        }
        if *submit == Some(d.as_str()) {
            out.push(Event::Submit(unit));
        }
        if *sign == Some(d.as_str()) {
            out.push(Event::Sign(unit));
        }
    }
    out
}

async fn a_whole_cycle_on_a_virtual_clock_keeps_every_rule(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, ORGANISATION).await;
    let s = scheduler(store, server.port());
    let sender = smtp(&server);
    let runs = run_days(&s, &sender, "2025-10-01", "2027-10-20", cycle_events).await;
    let def = WheelDefinition::builtin();
    let zone = def.mail_time.zone;

    let mails: Vec<&hjul_scheduler::SentMail> = runs.iter().flat_map(|(_, r)| &r.sent).collect();
    assert_eq!(
        server.received().len(),
        mails.len(),
        "the server got every mail the dispatcher sent"
    );
    assert!(mails.len() > 100, "{} mails", mails.len());

    // Every mail at 08:00 Copenhagen on a business day.
    for m in &mails {
        let local = m.at.with_timezone(&zone);
        assert_eq!((local.hour(), local.minute()), (8, 0), "{:?}", m.at);
        assert!(
            def.calendar.is_business_day(local.date_naive()),
            "mail on closed {}",
            local.date_naive()
        );
    }
    // One mail per person per day.
    let mut per_day: HashMap<(String, NaiveDate), usize> = HashMap::new();
    for m in &mails {
        *per_day
            .entry((m.to.clone(), m.at.with_timezone(&zone).date_naive()))
            .or_default() += 1;
    }
    assert!(per_day.values().all(|n| *n == 1), "{per_day:?}");

    // Nothing about a deadline after the day it was met.
    let store = s.store();
    let state = store.cycle_state(2025).await.unwrap();
    let plan = state.definition.cycle(2025).unwrap();
    let mut met: HashMap<(Option<String>, Deadline), NaiveDate> = HashMap::new();
    for st in plan.milestone_deadlines(&state.milestones) {
        if let Some(on) = st.met_on {
            met.insert((None, st.deadline), on);
        }
    }
    for u in &state.units {
        for st in plan.unit_deadlines(u.level, &state.milestones, &u.facts) {
            if let Some(on) = st.met_on {
                met.insert((Some(u.id.clone()), st.deadline), on);
            }
        }
    }
    for m in &mails {
        for i in m.items.iter().filter(|i| i.cycle == Some(2025)) {
            if let Some(on) = met.get(&(i.unit_id.clone(), i.deadline.unwrap())) {
                assert!(
                    m.at.with_timezone(&zone).date_naive() <= *on,
                    "{:?} sent after it was met on {on}",
                    i.key
                );
            }
        }
    }

    // Escalations go one step up from whoever answers for the deadline.
    let escalated_to = |unit: Option<&str>, deadline: &str| -> &str {
        match (unit, deadline) {
            (None, _) => "dorte.holm@skovby.dk",
            // The superior answers for the dialogue; the escalation goes above them.
            (Some("fr-ppr"), "dialogue_held") => "dorte.holm@skovby.dk",
            (Some("dt-nord-3"), "agreement_signed") => "anna.bech@skovby.dk",
            // Submitted on time, never signed: the signer (Susanne) is late, and the
            // escalation goes above her.
            (Some("sk-by"), "agreement_signed") => "dorte.holm@skovby.dk",
            (Some("fr"), "agreement_signed") => "dorte.holm@skovby.dk",
            // The leader answers for the midway status and the follow-ups between the
            // dialogues (none is given in this story); the superior hears it is late.
            (Some(u), "midway_status" | "goal_status" | "agreement_review")
                if u.starts_with("dt-nord-") =>
            {
                "anna.bech@skovby.dk"
            }
            (Some(u), "midway_status" | "goal_status" | "agreement_review")
                if u.starts_with("dt-syd-") =>
            {
                "ole.friis@skovby.dk"
            }
            (Some(u), "midway_status" | "goal_status" | "agreement_review")
                if u.starts_with("dt-") =>
            {
                "carsten.vang@skovby.dk"
            }
            (Some(u), "midway_status" | "goal_status" | "agreement_review")
                if u.starts_with("sk-") =>
            {
                "susanne.kjaer@skovby.dk"
            }
            (Some(u), "midway_status" | "goal_status" | "agreement_review")
                if u.starts_with("fr-") =>
            {
                "frederik.lund@skovby.dk"
            }
            (Some(_), "midway_status" | "goal_status" | "agreement_review") => {
                "dorte.holm@skovby.dk"
            }
            other => panic!("an escalation nobody expected: {other:?}"),
        }
    };
    let mut escalations = 0;
    for m in &mails {
        for i in m.items.iter().filter(|i| i.kind == MailKind::Escalation) {
            escalations += 1;
            assert_eq!(
                m.to,
                escalated_to(i.unit_id.as_deref(), i.deadline.unwrap().key()),
                "{}",
                i.key
            );
        }
    }
    // (The midway status is due on the cycle's last day: its escalations would fall in
    // the next cycle, when nobody is mailed about this one any more.)
    assert!(escalations >= 4, "{escalations}");

    // The digest: the first at the first start (the latest one due), then every
    // Monday, or the Tuesday when Monday is a holiday (Easter and Whit Monday).
    let digest_dates: Vec<NaiveDate> = store
        .outbox(Some(OutboxState::Sent), 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|i| i.kind == hjul_store::OutboxKind::Digest)
        .map(|i| i.sent_at.unwrap().with_timezone(&zone).date_naive())
        .rev()
        .collect();
    assert_eq!(digest_dates[0], date("2025-10-01"));
    let mut expected = vec![date("2025-10-01")];
    for monday in date("2025-10-06")
        .iter_days()
        .step_by(7)
        .take_while(|d| *d <= date("2027-10-18"))
    {
        expected.push(if def.calendar.is_business_day(monday) {
            monday
        } else {
            def.calendar.after(monday)
        });
    }
    assert_eq!(digest_dates, expected);
    assert!(expected.contains(&date("2026-04-07")) && expected.contains(&date("2026-05-26")));
    // Cycle 2027 started on its own on 1 October 2027.
    assert_eq!(
        store
            .cycles()
            .await
            .unwrap()
            .iter()
            .map(|c| c.year)
            .collect::<Vec<_>>(),
        vec![2025, 2027]
    );
}

/// Runs the small organisation's service daily to 10 June 2026, stops, and comes back
/// after `downtime`; returns what the first round after it sent.
async fn resume_after(
    db: &TestDb,
    back: DateTime<Utc>,
) -> (Vec<(String, MailKind, Vec<String>)>, Scheduler) {
    let server = SmtpServer::start().await;
    let store = with_org(db, SMALL).await;
    let s = scheduler_without_digest(store, server.port());
    let sender = smtp(&server);
    run_days(&s, &sender, "2025-10-01", "2026-06-10", scripted_events).await;
    let before = server.received().len();
    let (_, report) = s.run_once(&sender, back).await.unwrap();
    assert_eq!(server.received().len(), before + report.sent.len());
    // Running again at the same moment sends nothing more.
    let (_, again) = s.run_once(&sender, back).await.unwrap();
    assert!(again.sent.is_empty(), "{:?}", again.sent);
    let mut sent: Vec<(String, MailKind, Vec<String>)> = report
        .sent
        .iter()
        .map(|m| {
            (
                m.to.clone(),
                m.kind,
                m.items
                    .iter()
                    .map(|i| {
                        format!(
                            "{} {}",
                            i.unit_id.as_deref().unwrap_or("-"),
                            i.deadline.map_or("-", |d| d.key())
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    sent.sort();
    (sent, s)
}

async fn catch_up_after_downtime_sends_the_present_once(db: TestDb) {
    let t0 = eight("2026-06-10");
    // No downtime and an hour: nothing fell due meanwhile.
    let (sent, _) = resume_after(&db, t0).await;
    assert!(sent.is_empty(), "{sent:?}");
    let db = fresh(&db, "hour").await;
    let (sent, _) = resume_after(&db, t0 + chrono::Duration::hours(1)).await;
    assert!(sent.is_empty(), "{sent:?}");
    // A week: the 14-day reminder of dt-nord's dialogue (due 30 June) passed on
    // Tuesday the 16th; it goes now, once.
    let db = fresh(&db, "week").await;
    let (sent, _) = resume_after(
        &db,
        t0 + chrono::Duration::days(7) + chrono::Duration::hours(1),
    )
    .await;
    assert_eq!(
        sent,
        vec![(
            "carsten@skovby.dk".to_owned(),
            MailKind::Reminder,
            vec!["dt-nord dialogue_held".to_owned()]
        )]
    );
    // A quarter: both reminders and the overdue notice passed for the dialogue: only the
    // overdue notice goes to Carsten, the escalation to the director, and the quality
    // report (opened 1 July) to the secretariat.
    let db = fresh(&db, "quarter").await;
    let (sent, s) = resume_after(&db, eight("2026-09-10") + chrono::Duration::hours(1)).await;
    assert_eq!(
        sent,
        vec![
            (
                "carsten@skovby.dk".to_owned(),
                MailKind::Overdue,
                vec!["dt-nord dialogue_held".to_owned()]
            ),
            (
                "dorte@skovby.dk".to_owned(),
                MailKind::Escalation,
                vec!["dt-nord dialogue_held".to_owned()]
            ),
            (
                "sekretariat@skovby.dk".to_owned(),
                MailKind::Opened,
                vec!["- report_final".to_owned()]
            ),
        ]
    );
    let folded = s
        .store()
        .outbox(Some(OutboxState::Folded), 100)
        .await
        .unwrap();
    let folded: BTreeSet<String> = folded.iter().map(|i| i.key.clone()).collect();
    assert!(
        folded.contains("2025:dt-nord:dialogue_held:reminder-14:superior"),
        "{folded:?}"
    );
    assert!(
        folded.contains("2025:dt-nord:dialogue_held:reminder-3:superior"),
        "{folded:?}"
    );
}

async fn fresh(db: &TestDb, name: &str) -> TestDb {
    match &db.location {
        hjul_store::Location::Sqlite(_) => TestDb::sqlite(&format!("catchup_{name}")),
        hjul_store::Location::Postgres(_) => TestDb::postgres(&format!("catchup_{name}")).await,
    }
}

async fn the_mail_server_failing_loses_nothing(db: TestDb) {
    let mut server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    let s = scheduler_without_digest(store, server.port());
    let sender = smtp(&server);
    let t = eight("2025-10-01");

    // Refusing connections: the secretariat's first mail waits and is tried again.
    server.stop();
    let (_, r) = s.run_once(&sender, t).await.unwrap();
    assert_eq!((r.sent.len(), r.retried), (0, 1));
    let item = &s
        .store()
        .outbox(Some(OutboxState::Pending), 10)
        .await
        .unwrap()[0];
    assert_eq!(item.attempts, 1);
    assert_eq!(item.next_attempt_at, t + chrono::Duration::seconds(60));
    assert!(
        item.last_error.as_deref().unwrap().contains("127.0.0.1"),
        "{:?}",
        item.last_error
    );
    // Too early for the next try: nothing happens.
    let (_, r) = s
        .run_once(&sender, t + chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!((r.sent.len(), r.retried), (0, 0));
    // 451, then the wait doubles.
    server.restart().await;
    server.set(Behaviour::TempFail);
    let (_, r) = s
        .run_once(&sender, t + chrono::Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!((r.sent.len(), r.retried), (0, 1));
    let item = &s
        .store()
        .outbox(Some(OutboxState::Pending), 10)
        .await
        .unwrap()[0];
    assert_eq!(
        item.next_attempt_at,
        t + chrono::Duration::seconds(60 + 120)
    );
    assert!(
        item.last_error.as_deref().unwrap().contains("451"),
        "{:?}",
        item.last_error
    );
    assert_eq!(server.refused(), 1);
    // The server is back: it goes, once.
    server.set(Behaviour::Accept);
    let (_, r) = s
        .run_once(&sender, t + chrono::Duration::seconds(180))
        .await
        .unwrap();
    assert_eq!(r.sent.len(), 1);
    assert_eq!(server.received().len(), 1);

    // 550 for the four mails of 30 December: all dead, and the secretariat is told.
    server.set(Behaviour::PermFail);
    let dec30 = eight("2025-12-30");
    let (_, r) = s.run_once(&sender, dec30).await.unwrap();
    // Four mails: Anna's with her two dialogues, the secretariat's with the themes and
    // the data collection's last reminder (it was never recorded in this story).
    assert_eq!((r.sent.len(), r.dead), (0, 6));
    let dead = s.store().outbox(Some(OutboxState::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 6);
    assert!(
        dead.iter()
            .all(|i| i.last_error.as_deref().unwrap().contains("550"))
    );
    server.set(Behaviour::Accept);
    // The secretariat's own mail of the day failed too, so it has had none: the four
    // notices go in one mail at the next tick.
    let (_, r) = s
        .run_once(&sender, dec30 + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(r.sent.len(), 1);
    assert_eq!(r.sent[0].to, "sekretariat@skovby.dk");
    assert_eq!(r.sent[0].kind, MailKind::DeadLetter);
    let notice = server.received().last().unwrap().text();
    assert!(
        notice.contains("anna@skovby.dk") && notice.contains("550"),
        "{notice}"
    );

    // A dead item put back goes out.
    let id = dead
        .iter()
        .find(|i| i.party == hjul_wheel::Party::Leader && i.unit_id.as_deref() == Some("dt-nord-1"))
        .unwrap()
        .id;
    let monday = hjul_store::Stamp {
        actor: "test".into(),
        at: eight("2026-01-05"),
        today: date("2026-01-05"),
    };
    s.store().retry_item(id, &monday).await.unwrap();
    let (_, r) = s.run_once(&sender, eight("2026-01-05")).await.unwrap();
    let to_bo: Vec<_> = r.sent.iter().filter(|m| m.to == "bo@skovby.dk").collect();
    assert_eq!(to_bo.len(), 1);
    assert_eq!(to_bo[0].items[0].deadline, Some(Deadline::DialogueHeld));
    // The other mail that morning: the data collection, never recorded, is overdue.
    assert_eq!(r.sent.len(), 2);

    // Failing every time: given up after the eighth try, and told.
    server.set(Behaviour::TempFail);
    let mut at = eight("2026-03-17");
    let mut tries = 0;
    loop {
        let (_, r) = s.run_once(&sender, at).await.unwrap();
        tries += usize::from(r.retried > 0 || r.dead > 0);
        if r.dead > 0 {
            break;
        }
        at = s.store().next_due().await.unwrap().unwrap();
        assert!(tries < 20, "never gave up");
    }
    assert_eq!(tries, 8);
}

async fn a_process_killed_midway_loses_nothing_and_duplicates_only_after_sending(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    let dec30 = eight("2025-12-30");
    // Up to the day before, normally.
    let s = killable(store, server.port());
    let sender = smtp(&server);
    run_days(&s, &sender, "2025-10-01", "2025-12-29", scripted_events).await;
    assert_eq!(server.received().len(), 1);
    // Killed after the tick wrote the outbox, before sending: the items wait.
    s.tick(dec30).await.unwrap();
    let pending = s
        .store()
        .outbox(Some(OutboxState::Pending), 100)
        .await
        .unwrap();
    assert_eq!(pending.len(), 5);
    let store = reopen(s, &db).await;
    its_leases_run_out().await;
    // The next process sends all of them, once.
    let s = killable(store, server.port());
    let (_, r) = s
        .run_once(&sender, dec30 + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(r.sent.len(), 4);
    assert_eq!(server.received().len(), 5);

    // Killed after the server accepted a mail, before it was marked sent.
    let s = s.fail_at(Fault::AfterSend);
    let err = s.run_once(&sender, eight("2026-03-17")).await.unwrap_err();
    assert!(err.to_string().contains("after sending"), "{err}");
    assert_eq!(server.received().len(), 6);
    let store = reopen(s, &db).await;
    its_leases_run_out().await;
    let s = killable(store, server.port());
    let (_, r) = s
        .run_once(&sender, eight("2026-03-17") + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(r.sent.len(), 1, "the unmarked mail goes again");
    let received = server.received();
    assert_eq!(received.len(), 7);
    // The duplicate is the same mail: same Message-ID, which lets a reader's client
    // drop it. Everything else arrived exactly once.
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for r in &received {
        *by_id.entry(r.header("Message-ID").unwrap()).or_default() += 1;
    }
    let duplicates: Vec<&String> = by_id
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(duplicates.len(), 1, "{by_id:?}");
    assert_eq!(by_id.len(), 6);
    let lost = s
        .store()
        .outbox(Some(OutboxState::Pending), 100)
        .await
        .unwrap();
    assert!(lost.is_empty(), "{lost:?}");
}

async fn reopen(s: Scheduler, db: &TestDb) -> Store {
    s.close().await.unwrap();
    Store::open_current(&db.location, hjul_store::CurrentWheel::builtin())
        .await
        .unwrap()
}

/// The example organisation with `n` more houses under Dagtilbud Nord, each with its own
/// leader: many people with mail on the same mornings, for instances to contend over.
fn crowded(n: usize) -> String {
    let mut csv = ORGANISATION.to_owned();
    for i in 0..n {
        csv.push_str(&format!(
            "x{i},Hus {i},4,dt-nord,daycare,Leder {i},leder{i}@skovby.dk,da\n"
        ));
    }
    csv
}

async fn three_instances_send_every_item_exactly_once(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, &crowded(120)).await;
    // Three instances, each with its own connections, as three processes would have.
    let instances = [
        scheduler(store, server.port()),
        scheduler(db.store().await, server.port()),
        scheduler(db.store().await, server.port()),
    ];
    let names: BTreeSet<&str> = instances.iter().map(Scheduler::instance).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let senders = [smtp(&server), smtp(&server), smtp(&server)];

    let mut sent_by = [0usize; 3];
    let mut mails: Vec<hjul_scheduler::SentMail> = Vec::new();
    let mut last = eight("2025-10-01");
    for day in date("2025-10-01")
        .iter_days()
        .take_while(|d| *d <= date("2027-10-20"))
    {
        // This minute's tick has run (in serve, a minute's rounds overlap; here the one
        // that won the tick lease would otherwise send everything before the others see
        // an item, and the test would show no sharing).
        instances[0].tick(eight(&day.to_string())).await.unwrap();
        // A few rounds each morning, all three at once, a little apart in time; and
        // the three machines' clocks disagree (the second is 90 s fast, the third 45 s
        // slow), which must change nothing but when each sees 08:00 come.
        for seconds in [0, 20, 75] {
            let at = eight(&day.to_string()) + chrono::Duration::seconds(seconds);
            last = at;
            let skewed = |s: i64| at + chrono::Duration::seconds(s);
            let (a, b, c) = tokio::join!(
                instances[0].run_once(&senders[0], at),
                instances[1].run_once(&senders[1], skewed(90)),
                instances[2].run_once(&senders[2], skewed(-45)),
            );
            for (i, round) in [a, b, c].into_iter().enumerate() {
                let (_, report) = round.unwrap();
                sent_by[i] += report.sent.len();
                mails.extend(report.sent);
            }
        }
        for e in cycle_events(day) {
            e.record(
                instances[usize::try_from(day.ordinal()).unwrap() % 3].store(),
                day,
            )
            .await;
        }
    }

    let received = server.received();
    // (No midway notices to the many units with no agreement in force, and nothing
    // about cycle 2025 after it ended on 30 September 2027.)
    assert!(received.len() > 300, "{} mails", received.len());
    assert_eq!(
        received.len(),
        mails.len(),
        "the server got what the instances sent"
    );
    println!("mails sent by each instance: {sent_by:?}");
    assert!(
        sent_by.iter().filter(|n| **n > 0).count() >= 2,
        "the work was shared: {sent_by:?}"
    );
    // No mail twice.
    let mut ids: HashMap<String, usize> = HashMap::new();
    for r in &received {
        *ids.entry(r.header("Message-ID").unwrap()).or_default() += 1;
    }
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    // Every item marked sent went in exactly one accepted mail, and every accepted mail
    // is some items' mail.
    let store = instances[0].store();
    let sent = store
        .outbox(Some(OutboxState::Sent), u64::MAX)
        .await
        .unwrap();
    let in_db: BTreeSet<String> = sent.iter().map(|i| i.message_id.clone().unwrap()).collect();
    let on_server: BTreeSet<String> = ids.keys().cloned().collect();
    assert_eq!(in_db, on_server);
    // One mail per person per day, across the instances.
    let zone = WheelDefinition::builtin().mail_time.zone;
    let mut per_day: HashMap<(String, NaiveDate), usize> = HashMap::new();
    for m in &mails {
        *per_day
            .entry((m.to.clone(), m.at.with_timezone(&zone).date_naive()))
            .or_default() += 1;
    }
    assert!(per_day.values().all(|n| *n == 1), "{per_day:?}");
    // Nothing due was left behind.
    let pending = store
        .outbox(Some(OutboxState::Pending), u64::MAX)
        .await
        .unwrap();
    let overdue: Vec<_> = pending
        .iter()
        .filter(|i| i.next_attempt_at <= last)
        .collect();
    assert!(
        overdue.is_empty(),
        "{} items left: {:?}",
        overdue.len(),
        overdue.first()
    );
}

/// A batch that takes longer than half its leases (a slow mail server; here a lease of
/// 20 ms): every mail is marked before the next, each lease renewed and what is pending
/// read again, and still everything due goes once, one mail per person.
async fn a_batch_slower_than_half_its_lease_renews_and_reads_again(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, &crowded(120)).await;
    let s = with_lease(store, server.port(), std::time::Duration::from_millis(20));
    let sender = smtp(&server);
    s.store()
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(vec!["Sprog".into()]),
            &stamp("2026-03-20"),
        )
        .await
        .unwrap();
    // The dialogues open for every unit: one mail each to well over 64 people.
    let at = eight("2026-03-23");
    s.tick(at).await.unwrap();
    let started = std::time::Instant::now();
    let report = s.dispatch(&sender, at).await.unwrap();
    assert!(report.sent.len() > 64, "{} mails", report.sent.len());
    assert!(
        started.elapsed() > std::time::Duration::from_millis(10),
        "the batch outlasted half its leases"
    );
    let people: BTreeSet<&str> = report.sent.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(people.len(), report.sent.len(), "one mail per person");
    assert_eq!(server.received().len(), report.sent.len());
    let store = s.store();
    assert!(store.due_items(at, u64::MAX).await.unwrap().is_empty());
    let sent = store
        .outbox(Some(OutboxState::Sent), u64::MAX)
        .await
        .unwrap();
    let ids: BTreeSet<String> = sent.iter().filter_map(|i| i.message_id.clone()).collect();
    assert_eq!(
        ids.len(),
        report.sent.len(),
        "every mail's items are marked"
    );
    // A second round finds nothing left to send.
    let again = s
        .dispatch(&sender, at + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert!(again.sent.is_empty());
}

/// A mail server that never answers QUIT must not keep the service from stopping: the
/// goodbye waits no longer than the time limit on commands (found by the fault harness,
/// where an instance never exited on SIGTERM).
#[tokio::test]
async fn a_server_silent_on_quit_cannot_keep_the_service_from_stopping() {
    let server = SmtpServer::start().await;
    let db = TestDb::sqlite("silent-quit");
    let s = scheduler(with_org(&db, SMALL).await, server.port());
    let mut settings = smtp_settings(server.port());
    settings.timeout_secs = 1;
    let sender = Sender::Smtp(SmtpSender::new(settings));
    let clock = hjul_scheduler::ShiftedClock::starting_at(eight("2025-10-01"));
    // Stop once the first round's mail is in, and the connection it left open idle.
    let stop = async {
        while server.received().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        server.silent_on_quit();
    };
    let started = std::time::Instant::now();
    let served = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        hjul_scheduler::serve(&s, &sender, &clock, stop),
    )
    .await;
    assert!(served.is_ok(), "serve did not stop: QUIT waited for ever");
    served.unwrap().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received().len(), 1);
}

/// Mails in a row go over one connection without a NOOP before each (a fifth round trip
/// for four); a connection the server closed since its last mail costs nothing: the mail
/// goes at once on a new one, not at the next try.
#[tokio::test]
async fn mails_in_a_row_ask_nothing_and_a_closed_connection_loses_no_time() {
    let mut server = SmtpServer::start().await;
    let db = TestDb::sqlite("no-noop");
    // The name starts the round at Anna: her mail is refused first, the rest go after.
    let s = scheduler_without_digest(with_org(&db, SMALL).await, server.port()).named("a");
    let sender = smtp(&server);
    server.refuse_to("anna@skovby.dk", Behaviour::TempFail);
    let day = eight("2026-01-02");
    let (_, r) = s.run_once(&sender, day).await.unwrap();
    assert_eq!((r.sent.len(), r.retried), (3, 2), "{r:?}");
    assert_eq!(server.tried()[0], "anna@skovby.dk");
    assert_eq!(server.noops(), 0);
    // The server restarts, closing the connection hjul keeps; Anna's mail is due again.
    server.restart().await;
    server.refuse_to("nobody@skovby.dk", Behaviour::TempFail);
    let (_, r) = s
        .run_once(&sender, day + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!((r.sent.len(), r.retried), (1, 0), "{r:?}");
    let received = server.received();
    assert_eq!(received.len(), 4);
    assert_eq!(received[3].to, ["anna@skovby.dk"]);
}

/// An address on record that the mail library refuses (written before addresses were
/// checked as it checks them): that person's items go dead and the secretariat is told,
/// and the same round's mail to everyone else is accepted by the server.
async fn one_address_the_mail_library_refuses_stops_nobody_elses_mail(db: TestDb) {
    use sea_orm::ConnectionTrait;
    let server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    store
        .connection()
        .execute_unprepared(
            "UPDATE person SET email = 'anna..bech@skovby.dk' WHERE email = 'anna@skovby.dk'",
        )
        .await
        .unwrap();
    let s = scheduler_without_digest(store, server.port());
    let sender = smtp(&server);
    // The first mail day of Q1: the dialogues open for Anna (the bad address), Bo and
    // Carsten, and the secretariat hears of its own deadlines.
    let (_, r) = s.run_once(&sender, eight("2026-01-02")).await.unwrap();
    let to: BTreeSet<String> = r.sent.iter().map(|m| m.to.clone()).collect();
    assert_eq!(
        to,
        BTreeSet::from([
            "bo@skovby.dk".to_owned(),
            "carsten@skovby.dk".to_owned(),
            "sekretariat@skovby.dk".to_owned()
        ]),
        "{r:?}"
    );
    assert_eq!(server.received().len(), 3);
    assert!(r.dead > 0, "{r:?}");
    let dead = s
        .store()
        .outbox(Some(OutboxState::Dead), 100)
        .await
        .unwrap();
    assert_eq!(dead.len(), r.dead);
    assert!(
        dead.iter().all(|i| i
            .last_error
            .as_deref()
            .unwrap()
            .contains("anna..bech@skovby.dk")),
        "{dead:?}"
    );
    // The next round does not stall on her either, and the secretariat is told on its
    // next mail day.
    let (_, r) = s
        .run_once(&sender, eight("2026-01-02") + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(r.dead, 0);
    let (_, r) = s.run_once(&sender, eight("2026-01-05")).await.unwrap();
    let notice = r
        .sent
        .iter()
        .find(|m| m.to == "sekretariat@skovby.dk" && m.kind == MailKind::DeadLetter);
    assert!(notice.is_some(), "{r:?}");
    let text = server.received().last().unwrap().text();
    assert!(text.contains("anna..bech@skovby.dk"), "{text}");
}

/// The plain-text part of the one mail `to` got on `day` (08:00), as they read it.
fn read(received: &[Received], to: &str, day: &str) -> String {
    received_on(received, to, day).plain().unwrap()
}

async fn each_reader_is_told_what_to_do_by_when_and_where(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    let mut settings = hjul_tests::scheduler_settings();
    settings.digest = None;
    settings.web_url = Some("https://hjul.skovby.dk/".into());
    let s = Scheduler::new(
        store,
        settings,
        hjul_tests::mail_settings(server.port()),
        hjul_mail::Templates::load(None).unwrap(),
    );
    let sender = smtp(&server);
    run_days(&s, &sender, "2025-10-01", "2026-06-17", scripted_events).await;
    let received = server.received();

    // Bo, the leader of Mariehønen, is called to his dialogue: he is told his superior
    // calls it, that the themes are not out yet, and where to look.
    let bo = read(&received, "bo@skovby.dk", "2025-12-30");
    for line in [
        "  * Kvalitetssamtale – Børnehuset Mariehønen",
        "    Hvad: Din leder indkalder dig til kvalitetssamtale om Børnehuset Mariehønen og registrerer den; forbered dig med fokustemaerne.",
        "    Hvornår: senest tirsdag den 30. juni 2026",
        "    Fokustemaer: ikke offentliggjort endnu; de kommer med næste påmindelse",
        "    Hvor: https://hjul.skovby.dk/units/dt-nord-1",
    ] {
        assert!(bo.contains(line), "{line:?} in\n{bo}");
    }
    // His agreement: to write and submit, on its own page.
    let bo = read(&received, "bo@skovby.dk", "2026-03-23");
    for line in [
        "    Hvad: Skriv sammenhængsaftalen for Børnehuset Mariehønen, og send den til underskrift i hjul.",
        "    Hvornår: senest fredag den 17. april 2026",
        "    Hvor: https://hjul.skovby.dk/units/dt-nord-1/agreement",
    ] {
        assert!(bo.contains(line), "{line:?} in\n{bo}");
    }
    assert!(
        !bo.contains("sekretariatet besked"),
        "leaders record their own steps: {bo}"
    );
    // Submitted on the 15th: Anna, who signs, is asked to sign it, with Bo named.
    let anna = read(&received, "anna@skovby.dk", "2026-04-16");
    for line in [
        "    What: Read and sign the coherence agreement for Børnehuset Mariehønen that Bo Nielsen submitted to you, in hjul.",
        "    When: by Friday 17 April 2026 (in 3 days)",
        "    Where: https://hjul.skovby.dk/units/dt-nord-1",
        "The whole wheel: https://hjul.skovby.dk",
    ] {
        assert!(anna.contains(line), "{line:?} in\n{anna}");
    }
    // Bo, only waiting for her signature, is not reminded or told off after submitting:
    // he hears once that it lies with Anna now.
    let bo_after: Vec<String> = summary(&received)
        .into_iter()
        .filter(|(day, to, _)| to == "bo@skovby.dk" && day.as_str() >= "2026-04-15")
        .map(|(day, _, subject)| format!("{day} {subject}"))
        .collect();
    assert_eq!(
        bo_after,
        [
            "2026-04-16 08:00 Ikke længere din opgave: Sammenhængsaftale underskrevet (Børnehuset Mariehønen)"
        ],
    );
    let bo = read(&received, "bo@skovby.dk", "2026-04-16");
    assert!(bo.contains("    Nu hos: Anna Bech"), "{bo}");
    // Carsten holds the dialogue with Anna (Dagtilbud Nord), not held by 16 June: his
    // reminder names her and carries the focus themes published on 20 March.
    let carsten = read(&received, "carsten@skovby.dk", "2026-06-16");
    for line in [
        "    Hvad: Indkald Anna Bech (Dagtilbud Nord) til kvalitetssamtale, hold den, og registrér den i hjul.",
        "    Hvornår: senest tirsdag den 30. juni 2026 (om 14 dage)",
        "    Fokustemaer: Sprog",
        "    Hvor: https://hjul.skovby.dk/units/dt-nord",
    ] {
        assert!(carsten.contains(line), "{line:?} in\n{carsten}");
    }
    // The secretariat records the department's milestones on the cycles page.
    let secretariat = read(&received, "sekretariat@skovby.dk", "2025-10-01");
    assert!(
        secretariat.contains("    Hvor: https://hjul.skovby.dk/admin/cycles"),
        "{secretariat}"
    );
}

async fn after_a_long_downtime_nobody_hears_of_an_ended_cycle(db: TestDb) {
    // The service ran to 10 June 2026, was down, and comes back on 4 November 2027: cycle
    // 2025 has ended (30 September 2027), cycle 2027 runs.
    let (sent, s) = resume_after(&db, eight("2027-11-04")).await;
    let store = s.store();
    let items = store.outbox(None, 10_000).await.unwrap();
    // Nothing of cycle 2025 is left to be sent, and nothing of it went out today.
    assert!(
        items
            .iter()
            .filter(|i| i.cycle == Some(2025))
            .all(|i| i.state != OutboxState::Pending
                && i.sent_at.is_none_or(|t| t < eight("2027-11-04"))),
        "{items:#?}"
    );
    // The secretariat hears once what cycle 2025 left unmet.
    let ended: Vec<_> = items
        .iter()
        .filter(|i| i.kind == hjul_store::OutboxKind::CycleEnded)
        .collect();
    assert_eq!(ended.len(), 1, "{ended:#?}");
    assert_eq!(ended[0].state, OutboxState::Sent);
    let note: hjul_mail::CycleEnded =
        serde_json::from_str(ended[0].payload.as_deref().unwrap()).unwrap();
    assert_eq!(note.year, 2025);
    // Dagtilbud Nord's dialogue was never held; it is listed.
    assert!(
        note.unmet
            .iter()
            .any(|i| i.unit_id.as_deref() == Some("dt-nord")
                && i.deadline == Some(Deadline::DialogueHeld)),
        "{note:#?}"
    );
    // What the new cycle calls for does go out: its data collection to the secretariat.
    assert!(
        sent.iter()
            .any(|(to, _, items)| to == "sekretariat@skovby.dk"
                && items.iter().any(|i| i == "- data_collected")),
        "{sent:?}"
    );
}

async fn an_item_hjul_cannot_read_is_a_dead_letter_told_to_the_secretariat(db: TestDb) {
    use sea_orm::ConnectionTrait;
    let server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    let s = scheduler_without_digest(store, server.port());
    let sender = smtp(&server);
    // A morning of the cycle: its items are written, not yet sent.
    let first = eight("2025-12-30");
    let tick = s.tick(first).await.unwrap();
    let pending = s
        .store()
        .outbox(Some(OutboxState::Pending), 100)
        .await
        .unwrap();
    assert!(pending.len() >= 2, "{tick:?}");
    // One item's payload names a task this build does not know (a typo by hand, or an
    // item another version wrote).
    let bad = pending
        .iter()
        .find(|i| i.party != hjul_wheel::Party::Secretariat)
        .unwrap_or(&pending[0])
        .clone();
    s.store()
        .connection()
        .execute_unprepared(&format!(
            "UPDATE outbox_item SET payload = '{{\"task\":\"sing_agreement\"}}' WHERE key = '{}'",
            bad.key
        ))
        .await
        .unwrap();
    let report = s.dispatch(&sender, first).await.unwrap();
    assert_eq!(report.dead, 1, "{report:?}");
    // Everyone else's mail went; the bad item went to nobody, and says why.
    assert!(!report.sent.is_empty());
    assert!(
        report
            .sent
            .iter()
            .all(|m| m.items.iter().all(|i| i.key != bad.key)),
        "{report:?}"
    );
    let dead = s.store().outbox(Some(OutboxState::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key, bad.key);
    let error = dead[0].last_error.clone().unwrap();
    assert!(
        error.contains("sing_agreement") && error.contains(&bad.key),
        "{error}"
    );
    // The secretariat is told, in its next mail (today's, or the next day's if it had
    // one today), with the item and what to do.
    for day in ["2025-12-30", "2026-01-02"] {
        s.run_once(&sender, eight(day)).await.unwrap();
    }
    let told: Vec<String> = server
        .received()
        .iter()
        .filter(|r| r.to.iter().any(|t| t == "sekretariat@skovby.dk"))
        .filter_map(Received::plain)
        .filter(|t| t.contains("En post i hjuls udbakke kunne ikke læses"))
        .collect();
    assert_eq!(told.len(), 1, "{:#?}", server.received().len());
    assert!(told[0].contains(&bad.key), "{}", told[0]);
}

/// The secretariat collects the data in the cycle's first quarter. Its reminders say,
/// each morning they are written, which measures still lack units' values for the
/// period the pre-analysis reads (2024/25 for cycle 2025), and stop saying it of a
/// measure once the values are in.
async fn the_data_collection_reminder_says_how_far_it_has_come(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    let import = |text: &'static str| {
        let store = store.clone();
        async move {
            let areas = store.unit_areas().await.unwrap();
            let rows = hjul_wheel::data::read_measurements(
                text,
                &store.wheel().catalogue,
                |id| areas.get(id).copied(),
                |_| {},
            )
            .unwrap();
            store
                .import_measurements("data.csv", &rows, &stamp("2025-10-01"), |_, _| {})
                .await
                .unwrap();
        }
    };
    // Both houses had absence figures in 2023/24; only Mariehønen has 2024/25 yet.
    import(
        "unit_id,measure,period,value,n\n\
         dt-nord-1,absence,2023/24,5.1,40\n\
         dt-nord,absence,2023/24,6.0,120\n\
         dt-nord-1,absence,2024/25,4.9,41\n",
    )
    .await;
    let mut settings = hjul_tests::scheduler_settings();
    settings.digest = None;
    let s = Scheduler::new(
        store.clone(),
        settings,
        hjul_tests::mail_settings(server.port()),
        hjul_mail::Templates::load(None).unwrap(),
    );
    let sender = smtp(&server);
    run_days(&s, &sender, "2025-10-01", "2025-12-17", |_| Vec::new()).await;
    let to_secretariat = |received: &[Received]| -> Vec<(String, String)> {
        summary(received)
            .into_iter()
            .filter(|(_, to, _)| to == "sekretariat@skovby.dk")
            .map(|(day, _, subject)| (day, subject))
            .collect()
    };
    let received = server.received();
    // The first reminder (14 days before the due day, 30 December).
    let (day, _) = to_secretariat(&received)
        .into_iter()
        .find(|(_, subject)| subject.starts_with("Påmindelse"))
        .expect("a reminder by 17 December");
    let reminder = read(&received, "sekretariat@skovby.dk", &day[..10]);
    for line in [
        "    Mangler data:",
        "      - Fravær reduceres: 1 af 2 enheder mangler tal for 2024/25",
        "      - Sygefravær blandt medarbejderne: ingen tal endnu",
    ] {
        assert!(reminder.contains(line), "{line:?} in\n{reminder}");
    }
    // Dagtilbud Nord's figure comes in; the next reminder no longer names absence.
    import("unit_id,measure,period,value,n\ndt-nord,absence,2024/25,5.8,118\n").await;
    let before = to_secretariat(&received).len();
    run_days(&s, &sender, "2025-12-18", "2025-12-31", |_| Vec::new()).await;
    let received = server.received();
    let later: Vec<(String, String)> = to_secretariat(&received)
        .into_iter()
        .skip(before)
        .filter(|(_, subject)| subject.contains("Dataindsamling"))
        .collect();
    let (day, _) = later
        .last()
        .unwrap_or_else(|| panic!("another reminder after the import: {later:?}"));
    let last = read(&received, "sekretariat@skovby.dk", &day[..10]);
    assert!(last.contains("Mangler data:"), "{later:?}\n{last}");
    assert!(!last.contains("Fravær reduceres"), "{last}");
}

/// Between the dialogues the agreement is followed up (`config/wheel.toml`): a status
/// on each goal in Q4 2026 and Q2 2027, the review in Q1 2027. Bo, whose agreement was
/// signed in April 2026, is told of each time as of any deadline, with what to do, by
/// when and where; his superior hears it opened. A time given is not mailed again, and
/// each time is its own calendar entry.
async fn the_follow_ups_tell_the_leader_what_to_do_and_stop_once_given(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    for (day, e) in [
        ("2025-12-10", Event::Milestone(Deadline::DataCollected)),
        ("2026-03-10", Event::Dialogue("dt-nord-1")),
        ("2026-03-20", Event::Milestone(Deadline::ThemesPublished)),
        ("2026-04-15", Event::Submit("dt-nord-1")),
        ("2026-04-16", Event::Sign("dt-nord-1")),
    ] {
        e.record(&store, date(day)).await;
    }
    let mut settings = hjul_tests::scheduler_settings();
    settings.digest = None;
    settings.web_url = Some("https://hjul.skovby.dk/".into());
    let s = Scheduler::new(
        store.clone(),
        settings,
        hjul_tests::mail_settings(server.port()),
        hjul_mail::Templates::load(None).unwrap(),
    );
    let sender = smtp(&server);
    run_days(&s, &sender, "2026-10-01", "2026-10-01", |_| Vec::new()).await;
    let received = server.received();
    let bo = read(&received, "bo@skovby.dk", "2026-10-01");
    for line in [
        "  * Halvårlig status på målene – Børnehuset Mariehønen",
        "    Hvad: Skriv en kort status på hvert mål i sammenhængsaftalen for Børnehuset Mariehønen i hjul, og drøft den med din leder.",
        "    Hvornår: senest onsdag den 30. december 2026",
        "    Hvor: https://hjul.skovby.dk/units/dt-nord-1#goal-status-heading",
    ] {
        assert!(bo.contains(line), "{line:?} in\n{bo}");
    }
    let entry = |day: &str| {
        received_on(&server.received(), "bo@skovby.dk", day)
            .calendar()
            .expect("a calendar entry")
    };
    assert!(
        entry("2026-10-01").contains("UID:2025-dt-nord-1-goal_status-2026-12-30@hjul"),
        "{}",
        entry("2026-10-01")
    );
    // Anna, his superior, reads English: she is told it opened.
    let anna = read(&received, "anna@skovby.dk", "2026-10-01");
    assert!(anna.contains("Half-yearly status on the goals"), "{anna}");

    // Bo gives the status on 5 October: no reminder about it in December.
    let statuses: Vec<String> = (1..=3)
        .map(|n| format!("Mål {n} går som planlagt."))
        .collect();
    store
        .give_goal_status(
            &unit_of("dt-nord-1"),
            date("2026-10-05"),
            &statuses,
            &stamp("2026-10-05"),
        )
        .await
        .unwrap();
    let before = server.received().len();
    run_days(&s, &sender, "2026-12-14", "2026-12-17", |_| Vec::new()).await;
    let later: Vec<Received> = server.received().into_iter().skip(before).collect();
    assert!(
        later
            .iter()
            .filter(|r| r.to.iter().any(|t| t == "bo@skovby.dk"))
            .all(|r| !r.plain().unwrap().contains("Halvårlig status")),
        "{:#?}",
        summary(&later)
    );
    // The review opens with the new year (moved to 30 December, before the holidays),
    // and the second status in April, each with its own day and entry.
    run_days(&s, &sender, "2026-12-30", "2026-12-30", |_| Vec::new()).await;
    let review = read(&server.received(), "bo@skovby.dk", "2026-12-30");
    for line in [
        "  * Årlig gennemgang af aftalen – Børnehuset Mariehønen",
        "    Hvornår: senest onsdag den 31. marts 2027",
        "    Hvor: https://hjul.skovby.dk/units/dt-nord-1#review-heading",
    ] {
        assert!(review.contains(line), "{line:?} in\n{review}");
    }
    store
        .review_agreement(
            &unit_of("dt-nord-1"),
            date("2027-01-11"),
            None,
            &stamp("2027-01-11"),
        )
        .await
        .unwrap();
    run_days(&s, &sender, "2027-04-01", "2027-04-01", |_| Vec::new()).await;
    let second = read(&server.received(), "bo@skovby.dk", "2027-04-01");
    assert!(second.contains("Halvårlig status på målene"), "{second}");
    assert!(
        second.contains("senest onsdag den 30. juni 2027"),
        "{second}"
    );
    assert!(!second.contains("Årlig gennemgang"), "{second}");
    assert!(
        entry("2027-04-01").contains("UID:2025-dt-nord-1-goal_status-2027-06-30@hjul"),
        "{}",
        entry("2027-04-01")
    );
}

/// The one mail to `to` sent on `day`.
fn received_on(received: &[Received], to: &str, day: &str) -> Received {
    let zone = WheelDefinition::builtin().mail_time.zone;
    let mut got: Vec<Received> = received
        .iter()
        .filter(|r| r.to.iter().any(|t| t == to))
        .filter(|r| {
            let d = DateTime::parse_from_rfc2822(&r.header("Date").unwrap()).unwrap();
            d.with_timezone(&zone).date_naive().to_string() == day
        })
        .cloned()
        .collect();
    assert_eq!(got.len(), 1, "one mail to {to} on {day}");
    got.remove(0)
}

/// One fact, one answer: Bo's first status on the goals, due 30 December 2026, was not
/// given. On Monday 4 January 2027 it is overdue by 5 days in the status list (what the
/// overview, `hjul status --overdue` and the manager's page read), in his unit's
/// deadline table, in the spreadsheet export, in the secretariat's Monday digest and in
/// the overdue mail to Bo: the same deadline and the same days everywhere. (Before, the
/// list, the export and the digest showed the midway status months ahead, not late.)
async fn an_overdue_follow_up_is_one_fact_in_the_list_the_table_the_export_the_digest_and_the_mail(
    db: TestDb,
) {
    let server = SmtpServer::start().await;
    let store = with_org(&db, SMALL).await;
    for (day, e) in [
        ("2025-12-10", Event::Milestone(Deadline::DataCollected)),
        ("2026-03-10", Event::Dialogue("dt-nord-1")),
        ("2026-03-20", Event::Milestone(Deadline::ThemesPublished)),
        ("2026-04-15", Event::Submit("dt-nord-1")),
        ("2026-04-16", Event::Sign("dt-nord-1")),
    ] {
        e.record(&store, date(day)).await;
    }
    let monday = date("2027-01-04");
    let filter = hjul_store::StatusFilter {
        overdue: true,
        ..hjul_store::StatusFilter::default()
    };
    let rows = store.status(monday, &filter, None).await.unwrap();
    let bo = rows.iter().find(|r| r.unit_id == "dt-nord-1").unwrap();
    assert_eq!(
        bo.next_deadline.map(|n| (n.deadline, n.due)),
        Some((Deadline::GoalStatus, date("2026-12-30")))
    );
    assert_eq!(bo.overdue_days, 5);
    assert_eq!(bo.responsible, "bo@skovby.dk");

    let table = store
        .timeline(&unit_of("dt-nord-1"), monday, None)
        .await
        .unwrap();
    let late: Vec<(Deadline, i64)> = table
        .deadlines
        .iter()
        .filter_map(|d| match d.state {
            hjul_wheel::DeadlineState::Overdue { days } => Some((d.status.deadline, days)),
            _ => None,
        })
        .collect();
    assert_eq!(late, vec![(Deadline::GoalStatus, 5)]);
    assert_eq!(table.overdue_days, 5);

    let csv = hjul_api::export::to_csv(
        &hjul_api::export::status_table(&rows, hjul_wheel::Language::Da),
        hjul_wheel::Language::Da,
    );
    let line = csv.lines().find(|l| l.contains("dt-nord-1")).unwrap();
    assert!(
        line.contains("Halvårlig status på målene") && line.contains(";5;"),
        "{line}"
    );

    // The Monday digest and Bo's overdue notice, through the real SMTP server.
    let mut settings = hjul_tests::scheduler_settings();
    settings.web_url = Some("https://hjul.skovby.dk/".into());
    let s = Scheduler::new(
        store.clone(),
        settings,
        hjul_tests::mail_settings(server.port()),
        hjul_mail::Templates::load(None).unwrap(),
    );
    let digest = s.digest(monday).await.unwrap();
    let overdue: Vec<(Option<String>, Option<Deadline>)> = digest
        .overdue
        .iter()
        .map(|i| (i.unit_id.clone(), i.deadline))
        .collect();
    assert!(
        overdue.contains(&(Some("dt-nord-1".into()), Some(Deadline::GoalStatus))),
        "{overdue:?}"
    );
    // "Due soon" looks as far ahead as the first reminder (wheel.toml: 14 days).
    assert_eq!(digest.soon_days, 14);
    run_days(&s, &smtp(&server), "2027-01-04", "2027-01-04", |_| {
        Vec::new()
    })
    .await;
    let received = server.received();
    let to_bo = read(&received, "bo@skovby.dk", "2027-01-04");
    assert!(to_bo.contains("Halvårlig status på målene"), "{to_bo}");
    assert!(to_bo.contains("5 dage"), "{to_bo}");
    let to_secretariat = read(&received, "sekretariat@skovby.dk", "2027-01-04");
    assert!(
        to_secretariat.contains("Halvårlig status på målene")
            && to_secretariat.contains("Børnehuset Mariehønen")
            && to_secretariat.contains("Frister de næste 14 dage"),
        "{to_secretariat}"
    );
}

/// SMALL imported, cycle 2025's data collected (10 December 2025) and its themes
/// published (20 March 2026): where the stories of who holds a unit's deadlines begin.
async fn collected_with_themes(db: &TestDb) -> Store {
    let store = with_org(db, SMALL).await;
    for (day, e) in [
        ("2025-12-10", Event::Milestone(Deadline::DataCollected)),
        ("2026-03-20", Event::Milestone(Deadline::ThemesPublished)),
    ] {
        e.record(&store, date(day)).await;
    }
    store
}

/// Anna, the manager of Dagtilbud Nord, is away for two weeks in June 2026, while the
/// quality dialogue with Bo's house is due. She names Camilla (not in the organisation
/// file) her deputy from 8 to 19 June. In those days Anna's mail goes to Camilla, in
/// Camilla's Danish, saying whom she stands in for, with a copy to Anna; Camilla holds
/// and records the dialogue, and the house's history and the audit log say she did it
/// for Anna. After the period the mail goes to Anna again, and Camilla may no longer
/// act for the area.
async fn a_deputy_gets_the_units_mail_with_a_copy_to_the_leader_and_records_for_them(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = collected_with_themes(&db).await;
    let on = |day: &str| hjul_tests::core(&store, &stamp(day)).0;
    let period = |from: &str, to: Option<&str>| {
        hjul_wheel::deputy::Period::new(Some(date(from)), to.map(date))
    };
    let anna = on("2026-05-20")
        .person("anna@skovby.dk", "test")
        .await
        .unwrap();
    let camilla = (
        "Camilla@Skovby.dk",
        "Camilla Lund",
        hjul_wheel::Language::Da,
    );
    let named = on("2026-05-20")
        .name_deputy(
            &anna,
            "dt-nord",
            camilla,
            period("2026-06-08", Some("2026-06-19")),
        )
        .await
        .unwrap();
    assert_eq!(named.email, "camilla@skovby.dk");
    // A second deputy for days Camilla has is refused, and says whose they are; Anna
    // cannot be her own deputy.
    let per = ("per@skovby.dk", "Per Holm", hjul_wheel::Language::Da);
    let clash = on("2026-05-20")
        .name_deputy(&anna, "dt-nord", per, period("2026-06-15", None))
        .await
        .err()
        .unwrap();
    assert!(clash.to_string().contains("Camilla Lund"), "{clash}");
    let herself = ("anna@skovby.dk", "Anna Bech", hjul_wheel::Language::En);
    assert!(
        on("2026-05-20")
            .name_deputy(&anna, "dt-nord", herself, period("2026-06-20", None))
            .await
            .is_err()
    );

    let s = scheduler_without_digest(store.clone(), server.port());
    let sender = smtp(&server);
    run_days(&s, &sender, "2026-05-25", "2026-07-03", |_| Vec::new()).await;
    let zone = WheelDefinition::builtin().mail_time.zone;
    let day_of = |r: &Received| {
        DateTime::parse_from_rfc2822(&r.header("Date").unwrap())
            .unwrap()
            .with_timezone(&zone)
            .date_naive()
    };
    let addressed = |r: &Received, to: &str| r.header("To").unwrap_or_default().contains(to);
    let away = date("2026-06-08")..=date("2026-06-19");
    let received = server.received();
    let (to_camilla, after): (Vec<&Received>, Vec<&Received>) = received
        .iter()
        .filter(|r| addressed(r, "camilla@skovby.dk"))
        .partition(|r| away.contains(&day_of(r)));
    assert!(!to_camilla.is_empty(), "no mail to the deputy");
    // After her turn, one mail: it cancels the entry her reminder put in her calendar,
    // and says with whom the deadline lies now (Monday 22 June, the first mail day).
    assert_eq!(after.len(), 1, "{:#?}", summary(&received));
    assert_eq!(day_of(after[0]), date("2026-06-22"));
    let cancel = after[0].calendar().expect("a calendar part");
    assert!(cancel.contains("METHOD:CANCEL"), "{cancel}");
    assert!(
        cancel.contains("UID:2025-dt-nord-1-dialogue_held@hjul"),
        "{cancel}"
    );
    let text = after[0].plain().unwrap();
    assert!(text.contains("Nu hos: Anna Bech"), "{text}");
    assert!(after[0].header("Cc").is_none(), "no copy of a cancellation");
    // As she steps in on Monday 8 June, one mail tells her what lies with her now, in
    // her calendar at once (not with the next reminder).
    let first = to_camilla.iter().min_by_key(|r| day_of(r)).unwrap();
    assert_eq!(day_of(first), date("2026-06-08"));
    let text = first.plain().unwrap();
    assert!(text.contains("Disse frister ligger nu hos dig:"), "{text}");
    assert!(text.contains("Kvalitetssamtale – Dagtilbud Nord"), "{text}");
    let entry = first.calendar().expect("a calendar part");
    assert!(
        entry.contains("METHOD:PUBLISH")
            && entry.contains("UID:2025-dt-nord-1-dialogue_held@hjul")
            && !entry.contains("CANCELLED"),
        "{entry}"
    );
    // Anna, back on Monday 22 June, is told in her English what is hers again.
    let back = received
        .iter()
        .find(|r| addressed(r, "anna@skovby.dk") && day_of(r) == date("2026-06-22"))
        .expect("a mail to Anna as she is back");
    let text = back.plain().unwrap();
    assert!(
        text.contains("These deadlines are now with you (before with Camilla Lund):"),
        "{text}"
    );
    for r in &to_camilla {
        let text = r.plain().unwrap();
        assert!(text.starts_with("Kære Camilla Lund"), "{text}");
        assert!(text.contains("Som stedfortræder for Anna Bech."), "{text}");
        assert!(
            text.contains("Kvalitetssamtale – Børnehuset Mariehønen"),
            "{text}"
        );
        assert!(
            r.header("Cc")
                .unwrap_or_default()
                .contains("anna@skovby.dk"),
            "Anna gets a copy: {}",
            r.text()
        );
        assert!(
            r.to.iter().any(|t| t == "anna@skovby.dk"),
            "the copy is delivered"
        );
    }
    assert!(
        received
            .iter()
            .filter(|r| away.contains(&day_of(r)))
            .all(|r| !addressed(r, "anna@skovby.dk")),
        "mail addressed to Anna while Camilla stands in"
    );
    assert!(
        received
            .iter()
            .filter(|r| day_of(r) > date("2026-06-19"))
            .any(|r| addressed(r, "anna@skovby.dk")),
        "Anna's mail after the period"
    );

    // Camilla records the house's dialogue on 17 June, as Anna would; the history and
    // the audit log say for whom.
    let camilla = on("2026-06-17")
        .person("camilla@skovby.dk", "cli:it")
        .await
        .unwrap();
    let dialogue = hjul_app::UnitRecord::Dialogue {
        on: date("2026-06-17"),
        notes: None,
        for_report: false,
    };
    let recorded = on("2026-06-17")
        .record(&camilla, "dt-nord-1", dialogue)
        .await
        .unwrap();
    assert_eq!(recorded.cycle, 2025);
    let t = store
        .timeline(&unit_of("dt-nord-1"), date("2026-06-17"), None)
        .await
        .unwrap();
    let held = t
        .events
        .iter()
        .find(|e| e.kind == hjul_wheel::EventKind::DialogueHeld)
        .unwrap();
    assert_eq!(
        held.recorded_by,
        "Camilla Lund for Anna Bech (cli:it as camilla@skovby.dk)"
    );
    let audit = store
        .audit_log(Some(("unit", "dt-nord-1")), 50)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.actor.starts_with("Camilla Lund for Anna Bech")),
        "{audit:#?}"
    );
    // She may not name deputies herself.
    assert!(
        on("2026-06-17")
            .name_deputy(&camilla, "dt-nord", per, period("2026-07-01", None))
            .await
            .is_err()
    );
    // After her period she acts for no one.
    assert!(
        on("2026-06-22")
            .person("camilla@skovby.dk", "test")
            .await
            .is_err()
    );
}

/// Børnehuset Egern joins cycle 2025 on Monday 22 June 2026 and is told of its
/// dialogue. Two days later the secretariat lets it take part from cycle 2027 instead:
/// the calendar entries the dialogue put in Eva's and Anna's calendars are cancelled,
/// the house owes nothing in cycle 2025 and no mail names it. A house there from the
/// start cannot sit the cycle out. Brought back on 3 August, Egern owes its dialogue
/// again, due 20 business days after it joined, and Anna, who holds it, is told so.
async fn a_late_joiner_may_take_part_from_the_next_cycle_instead(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = collected_with_themes(&db).await;
    let egern =
        format!("{SMALL}dt-nord-2,Børnehuset Egern,4,dt-nord,daycare,Eva Lund,eva@skovby.dk,da\n");
    let org = Organisation::from_csv(&egern, |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp("2026-06-22"), |_, _| {})
        .await
        .unwrap();
    let s = scheduler_without_digest(store.clone(), server.port());
    let sender = smtp(&server);
    run_days(&s, &sender, "2026-06-22", "2026-06-23", |_| Vec::new()).await;
    assert!(read(&server.received(), "eva@skovby.dk", "2026-06-22").contains("Kvalitetssamtale"));

    let (core, secretariat) = hjul_tests::core(&store, &stamp("2026-06-24"));
    let refused = core
        .sit_out_cycle(&secretariat, "dt-nord-1", true)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("from its start"), "{refused}");
    let j = core
        .sit_out_cycle(&secretariat, "dt-nord-2", true)
        .await
        .unwrap();
    let next = WheelDefinition::builtin()
        .cycle(2027)
        .unwrap()
        .cycle()
        .starts();
    assert_eq!((j.cycle, j.joined, j.sits_out), (2025, Some(next), true));
    let before = server.received().len();
    run_days(&s, &sender, "2026-06-24", "2026-07-31", |_| Vec::new()).await;
    let received = server.received();
    for who in ["eva@skovby.dk", "anna@skovby.dk"] {
        let gone = received_on(&received, who, "2026-06-24");
        let ics = gone.calendar().unwrap();
        assert!(
            ics.contains("METHOD:CANCEL") && ics.contains("UID:2025-dt-nord-2-dialogue_held@hjul"),
            "{who}: {ics}"
        );
    }
    for r in received.iter().skip(before) {
        let text = r.plain().unwrap_or_default();
        if text.contains("Børnehuset Egern") {
            assert!(
                text.contains("ikke længere") || text.contains("no longer"),
                "only cancellations name Egern: {text}"
            );
        }
    }
    let t = store
        .timeline(&unit_of("dt-nord-2"), date("2026-07-31"), None)
        .await
        .unwrap();
    assert_eq!(t.joined, Some(next));
    assert!(t.next_deadline.is_none(), "{:?}", t.next_deadline);
    assert_eq!(t.overdue_days, 0);

    // Back into cycle 2025 on Monday 3 August: a late joiner's dialogue, 20 business days
    // from when it came (22 June), so due at once; the tick tells Eva.
    let (core, secretariat) = hjul_tests::core(&store, &stamp("2026-08-03"));
    let j = core
        .sit_out_cycle(&secretariat, "dt-nord-2", false)
        .await
        .unwrap();
    assert_eq!((j.joined, j.sits_out), (Some(date("2026-06-22")), false));
    run_days(&s, &sender, "2026-08-03", "2026-08-03", |_| Vec::new()).await;
    // Anna holds the dialogue: it is late now, as late joiners' go.
    let anna = read(&server.received(), "anna@skovby.dk", "2026-08-03");
    assert!(
        anna.contains("Quality dialogue – Børnehuset Egern"),
        "{anna}"
    );
    let audit = store
        .audit_log(Some(("unit", "dt-nord-2")), 20)
        .await
        .unwrap();
    assert_eq!(
        audit.iter().filter(|a| a.action == "unit.joins").count(),
        2,
        "{audit:#?}"
    );
}

/// Two houses join cycle 2025 while it runs. Børnehuset Egern, added on Monday 22 June
/// 2026, eight days before the dialogues are due, owes its dialogue 20 business days
/// later (Monday 20 July): its manager is told so, and nobody hears it is late on 1 July
/// as the others are. Naturbørnehaven Skovly, added on 20 August 2027 in the cycle's last
/// quarter, owes nothing that was due before it existed: no mail names it as late or
/// new, no escalation, and its status shows no day overdue.
async fn a_unit_that_joins_late_is_given_time_and_never_told_of_what_was_before_it(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = collected_with_themes(&db).await;
    let import = |csv: String, day: &'static str| {
        let store = store.clone();
        async move {
            let org = Organisation::from_csv(&csv, |_| {}).unwrap();
            store
                .import_organisation(&org, &stamp(day), |_, _| {})
                .await
                .unwrap();
        }
    };
    let egern =
        format!("{SMALL}dt-nord-2,Børnehuset Egern,4,dt-nord,daycare,Eva Lund,eva@skovby.dk,da\n");
    import(egern.clone(), "2026-06-22").await;
    let s = scheduler_without_digest(store.clone(), server.port());
    let sender = smtp(&server);
    run_days(&s, &sender, "2026-06-22", "2026-07-03", |_| Vec::new()).await;
    let received = server.received();
    let anna_new = read(&received, "anna@skovby.dk", "2026-06-22");
    assert!(
        anna_new.contains("Quality dialogue – Børnehuset Egern"),
        "{anna_new}"
    );
    assert!(anna_new.contains("by Monday 20 July 2026"), "{anna_new}");
    let eva = read(&received, "eva@skovby.dk", "2026-06-22");
    assert!(eva.contains("senest mandag den 20. juli 2026"), "{eva}");
    assert!(
        eva.contains("kalenderfil"),
        "a deadline ahead is in the calendar: {eva}"
    );
    // On 1 July the houses there from the start are late, Egern is not.
    let anna_late = read(&server.received(), "anna@skovby.dk", "2026-07-01");
    assert!(anna_late.contains("Børnehuset Mariehønen"), "{anna_late}");
    assert!(!anna_late.contains("Egern"), "{anna_late}");
    let row = |day: &'static str, unit: &'static str| {
        let store = store.clone();
        async move {
            store
                .status(date(day), &hjul_store::StatusFilter::default(), None)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.unit_id == unit)
                .unwrap()
        }
    };
    assert_eq!(row("2026-07-01", "dt-nord-2").await.overdue_days, 0);
    assert_eq!(row("2026-07-01", "dt-nord-1").await.overdue_days, 1);
    assert_eq!(row("2026-07-21", "dt-nord-2").await.overdue_days, 1);

    // A year on, Skovly joins in the cycle's last quarter.
    import(
        format!(
            "{egern}dt-nord-3,Naturbørnehaven Skovly,4,dt-nord,daycare,Frida Holm,frida@skovby.dk,da\n"
        ),
        "2027-08-20",
    )
    .await;
    let before = server.received().len();
    run_days(&s, &sender, "2027-08-20", "2027-09-10", |_| Vec::new()).await;
    let later: Vec<Received> = server.received().into_iter().skip(before).collect();
    for r in &later {
        let text = r.plain().unwrap_or_default();
        assert!(!text.contains("Naturbørnehaven Skovly"), "{text}");
    }
    assert!(
        later
            .iter()
            .all(|r| !r.to.iter().any(|t| t == "frida@skovby.dk")),
        "{:#?}",
        summary(&later)
    );
    let skovly = row("2027-08-20", "dt-nord-3").await;
    assert_eq!(skovly.overdue_days, 0);
    let t = store
        .timeline(&unit_of("dt-nord-3"), date("2027-08-20"), None)
        .await
        .unwrap();
    let dialogue = t
        .deadlines
        .iter()
        .find(|d| d.status.deadline == Deadline::DialogueHeld)
        .unwrap();
    assert_eq!(
        dialogue.state,
        hjul_wheel::DeadlineState::NotOwed {
            joined: date("2027-08-20")
        }
    );
}

/// With `deputy_copies_leader = false` the leader's mail moves to the deputy wholly:
/// as Camilla steps in on 8 June, Anna's calendar entries are cancelled (in her English,
/// saying with whom they lie now) and Camilla gets them; no mail carries a copy to Anna;
/// as Anna is back on 22 June, Camilla's entries are cancelled and Anna gets hers again.
async fn without_copies_a_deputy_takes_the_leaders_calendar_entries_and_gives_them_back(
    db: TestDb,
) {
    let server = SmtpServer::start().await;
    let store = collected_with_themes(&db).await;
    let on = |day: &str| hjul_tests::core(&store, &stamp(day)).0;
    let anna = on("2026-05-20")
        .person("anna@skovby.dk", "test")
        .await
        .unwrap();
    on("2026-05-20")
        .name_deputy(
            &anna,
            "dt-nord",
            (
                "camilla@skovby.dk",
                "Camilla Lund",
                hjul_wheel::Language::Da,
            ),
            hjul_wheel::deputy::Period::new(Some(date("2026-06-08")), Some(date("2026-06-19"))),
        )
        .await
        .unwrap();
    let mut settings = hjul_tests::scheduler_settings();
    settings.digest = None;
    settings.deputy_copies_leader = false;
    let s = Scheduler::new(
        store.clone(),
        settings,
        hjul_tests::mail_settings(server.port()),
        hjul_mail::Templates::load(None).unwrap(),
    );
    let sender = smtp(&server);
    run_days(&s, &sender, "2026-05-26", "2026-06-22", |_| Vec::new()).await;
    let received = server.received();
    let uid = "UID:2025-dt-nord-1-dialogue_held@hjul";
    assert!(
        received_on(&received, "anna@skovby.dk", "2026-05-26")
            .calendar()
            .unwrap()
            .contains(uid)
    );
    // Camilla steps in: Anna's entry out, Camilla's in.
    let out = received_on(&received, "anna@skovby.dk", "2026-06-08");
    let ics = out.calendar().unwrap();
    assert!(ics.contains("METHOD:CANCEL") && ics.contains(uid), "{ics}");
    let text = out.plain().unwrap();
    assert!(text.starts_with("Dear Anna Bech"), "{text}");
    assert!(text.contains("Now with: Camilla Lund"), "{text}");
    let taken = received_on(&received, "camilla@skovby.dk", "2026-06-08");
    let ics = taken.calendar().unwrap();
    assert!(ics.contains("METHOD:PUBLISH") && ics.contains(uid), "{ics}");
    assert!(
        taken.plain().unwrap().contains("ligger nu hos dig"),
        "{}",
        taken.text()
    );
    assert!(
        received.iter().all(|r| r.header("Cc").is_none()),
        "no copies to the leader"
    );
    // Anna is back: Camilla's entry out, Anna's in again.
    let gone = received_on(&received, "camilla@skovby.dk", "2026-06-22");
    assert!(gone.calendar().unwrap().contains("METHOD:CANCEL"));
    let back = received_on(&received, "anna@skovby.dk", "2026-06-22");
    let ics = back.calendar().unwrap();
    assert!(
        ics.contains("METHOD:PUBLISH") && ics.contains(uid) && !ics.contains("CANCELLED"),
        "{ics}"
    );
    assert!(
        back.plain()
            .unwrap()
            .contains("now with you (before with Camilla Lund)"),
        "{}",
        back.text()
    );
}

/// Bo got his house's dialogue in his calendar when it opened. On 27 May 2026 the
/// organisation file names Eva the house's leader. The preview shows what would pass
/// to her and writes nothing. Once imported, Bo is told the deadline is no longer his,
/// with whom it lies now, and his calendar entry is cancelled under its UID, once; Eva
/// gets one mail with what is hers now, the entry in her calendar under the same UID.
/// On 1 June the house closes: Eva's entry is cancelled, and so is Anna's, who was to
/// hold its dialogue.
async fn a_leader_who_leaves_a_unit_has_its_calendar_entries_cancelled(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = collected_with_themes(&db).await;
    let s = scheduler_without_digest(store.clone(), server.port());
    let sender = smtp(&server);
    run_days(&s, &sender, "2026-05-26", "2026-05-26", |_| Vec::new()).await;
    let bo = received_on(&server.received(), "bo@skovby.dk", "2026-05-26");
    assert!(bo.calendar().unwrap().contains("METHOD:PUBLISH"));
    received_on(&server.received(), "anna@skovby.dk", "2026-05-26");
    let eva = SMALL.replace("Bo Nielsen,bo@skovby.dk", "Eva Lund,eva@skovby.dk");
    let org = Organisation::from_csv(&eva, |_| {}).unwrap();

    // What would move, before anything does.
    let preview = store
        .preview_organisation(&org, &stamp("2026-05-27"))
        .await
        .unwrap();
    assert_eq!(preview.handovers.len(), 1, "{preview:?}");
    let h = &preview.handovers[0];
    assert_eq!(
        (h.unit_id.as_str(), h.from.email.as_str(), h.to.as_deref()),
        ("dt-nord-1", "bo@skovby.dk", Some("eva@skovby.dk"))
    );
    let moving: Vec<(&str, Deadline)> = h
        .deadlines
        .iter()
        .map(|d| (d.unit_id.as_str(), d.deadline))
        .collect();
    assert_eq!(moving, [("dt-nord-1", Deadline::DialogueHeld)]);
    assert_eq!(h.deadlines[0].unit_name, "Børnehuset Mariehønen");
    let dir = store.directory().await.unwrap();
    assert_eq!(
        dir.leader("dt-nord-1", 0).unwrap().email,
        "bo@skovby.dk",
        "a preview writes nothing"
    );
    let pending_before = store
        .outbox(Some(OutboxState::Pending), 100)
        .await
        .unwrap()
        .len();

    let report = store
        .import_organisation(&org, &stamp("2026-05-27"), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        report.handovers, preview.handovers,
        "the preview told it as it is"
    );
    assert!(
        store
            .outbox(Some(OutboxState::Pending), 100)
            .await
            .unwrap()
            .len()
            > pending_before
    );
    run_days(&s, &sender, "2026-05-27", "2026-05-29", |_| Vec::new()).await;
    let received = server.received();
    let cancel = received_on(&received, "bo@skovby.dk", "2026-05-27");
    let ics = cancel.calendar().expect("a calendar part");
    assert!(ics.contains("METHOD:CANCEL"), "{ics}");
    assert!(
        ics.contains("UID:2025-dt-nord-1-dialogue_held@hjul"),
        "{ics}"
    );
    let text = cancel.plain().unwrap();
    assert!(text.starts_with("Kære Bo Nielsen"), "{text}");
    assert!(text.contains("Nu hos: Eva Lund"), "{text}");
    let later = received
        .iter()
        .filter(|r| r.to.iter().any(|t| t == "bo@skovby.dk"))
        .count();
    assert_eq!(later, 2, "one mail when it opened, one that cancels it");
    // Eva, as she reads it: what is hers, by when, where, and from whom.
    let welcome = received_on(&received, "eva@skovby.dk", "2026-05-27");
    let subject = decode_subject(&welcome.header("Subject").unwrap());
    assert!(
        subject.starts_with("Nu hos dig: Kvalitetssamtale, Børnehuset Mariehønen – senest"),
        "{subject}"
    );
    let text = welcome.plain().unwrap();
    assert!(text.starts_with("Kære Eva Lund"), "{text}");
    assert!(
        text.contains("Denne frist ligger nu hos dig (før hos Bo Nielsen):"),
        "{text}"
    );
    assert!(text.contains("Hvornår: senest"), "{text}");
    assert!(
        text.contains("Fristerne er sat ind i den vedhæftede kalenderfil."),
        "{text}"
    );
    let ics = welcome.calendar().expect("a calendar part");
    assert!(ics.contains("METHOD:PUBLISH"), "{ics}");
    assert!(
        ics.contains("UID:2025-dt-nord-1-dialogue_held@hjul") && !ics.contains("CANCELLED"),
        "{ics}"
    );
    assert_eq!(
        received
            .iter()
            .filter(|r| r.to.iter().any(|t| t == "eva@skovby.dk"))
            .count(),
        1,
        "one mail with what is hers"
    );

    // The house closes: no one holds its deadlines, and every calendar that had them
    // has them cancelled: its leader's and its superior's.
    let closed: String = eva
        .lines()
        .filter(|l| !l.starts_with("dt-nord-1,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let org = Organisation::from_csv(&closed, |_| {}).unwrap();
    let preview = store
        .preview_organisation(&org, &stamp("2026-06-01"))
        .await
        .unwrap();
    assert_eq!(preview.units_deactivated, 1);
    let h = &preview.handovers[0];
    assert_eq!((h.unit_id.as_str(), h.to.as_deref()), ("dt-nord-1", None));
    assert_eq!(h.deadlines.len(), 1, "{h:?}");
    store
        .import_organisation(&org, &stamp("2026-06-01"), |_, _| {})
        .await
        .unwrap();
    run_days(&s, &sender, "2026-06-01", "2026-06-01", |_| Vec::new()).await;
    let received = server.received();
    for (who, greeting) in [
        ("eva@skovby.dk", "Kære Eva Lund"),
        ("anna@skovby.dk", "Dear Anna Bech"),
    ] {
        let gone = received_on(&received, who, "2026-06-01");
        let ics = gone.calendar().expect("a calendar part");
        assert!(ics.contains("METHOD:CANCEL"), "{who}: {ics}");
        assert!(
            ics.contains("UID:2025-dt-nord-1-dialogue_held@hjul"),
            "{who}: {ics}"
        );
        let text = gone.plain().unwrap();
        assert!(text.starts_with(greeting), "{text}");
        assert!(
            !text.contains("Nu hos") && !text.contains("Now with"),
            "{text}"
        );
    }
}
