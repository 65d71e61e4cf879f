//! Corrections on SQLite and PostgreSQL: a corrected dialogue date moves the agreement's
//! deadline and the mail (the calendar entry moves with it); a withdrawn signature puts
//! the unit back; a correction the wheel's rules forbid changes nothing; the audit log
//! keeps both the event and its correction.
#![allow(clippy::unwrap_used)]

use hjul_mail::{Sender, SmtpSender};
use hjul_store::{Correction, OutboxState, Store, StoreError};
use hjul_tests::smtp::{Behaviour, SmtpServer};
use hjul_tests::{
    AGREEMENT, TestDb, count, date, eight, scheduler, smtp_settings, stamp, stories, unit_of,
};
use hjul_wheel::{Deadline, Organisation, Step};
use icalendar::Component;

stories!(
    a_corrected_dialogue_date_moves_the_deadline_and_the_mail,
    a_withdrawn_signature_puts_the_unit_back,
    a_correction_the_rules_forbid_changes_nothing,
    a_correction_keeps_each_event_with_its_revision,
    a_deadline_handed_to_another_moves_between_calendars,
    a_follow_up_is_corrected_like_any_event,
    a_refused_cancellation_is_not_counted_in_the_next_calendar,
);

const SMALL: &str = "unit_id,name,level,parent_id,area,leader_name,leader_email,language
bu,Børn & Unge,1,,department,Dorte Holm,dorte@skovby.dk,da
dt,Dagtilbud,2,bu,daycare,Carsten Vang,carsten@skovby.dk,da
dt-nord,Dagtilbud Nord,3,dt,daycare,Anna Bech,anna@skovby.dk,da
dt-nord-1,Børnehuset Mariehønen,4,dt-nord,daycare,Bo Nielsen,bo@skovby.dk,da
dt-nord-2,Børnehuset Solsikken,4,dt-nord,daycare,Cille Dam,cille@skovby.dk,da
";

async fn small(db: &TestDb) -> Store {
    let store = db.store().await;
    let org = Organisation::from_csv(SMALL, |_| {}).unwrap();
    let s = stamp("2025-10-01");
    store
        .import_organisation(&org, &s, |_, _| {})
        .await
        .unwrap();
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-10"),
            Some(vec!["Sprog".into()]),
            &stamp("2026-03-10"),
        )
        .await
        .unwrap();
    store
}

/// Mariehønen's dialogue in March, its agreement submitted and signed early in April.
async fn signed_in_april(store: &Store, s: &hjul_store::Stamp) {
    store
        .record_dialogue(&unit_of("dt-nord-1"), date("2026-03-16"), None, s)
        .await
        .unwrap();
    store
        .submit_agreement(
            &unit_of("dt-nord-1"),
            date("2026-04-01"),
            AGREEMENT,
            "a.toml",
            s,
        )
        .await
        .unwrap();
    store
        .sign_agreement(&unit_of("dt-nord-1"), date("2026-04-02"), s)
        .await
        .unwrap();
}

/// Mariehønen's dialogue held on 16 March: its agreement is Bo's to write by 15 April.
async fn dialogue_on_the_16th(store: &Store) {
    store
        .record_dialogue(
            &unit_of("dt-nord-1"),
            date("2026-03-16"),
            None,
            &stamp("2026-03-16"),
        )
        .await
        .unwrap();
}

/// Bo submits Mariehønen's agreement on 18 March: it is Anna's to sign.
async fn submitted_on_the_18th(store: &Store) {
    store
        .submit_agreement(
            &unit_of("dt-nord-1"),
            date("2026-03-18"),
            AGREEMENT,
            "a.toml",
            &stamp("2026-03-18"),
        )
        .await
        .unwrap();
}

/// The id of the unit's event of `kind` in force.
async fn event_id(store: &Store, unit: &str, kind: &str, today: &str) -> uuid::Uuid {
    store
        .timeline(&unit_of(unit), date(today), None)
        .await
        .unwrap()
        .events
        .iter()
        .find(|e| e.kind.key() == kind && !e.superseded)
        .unwrap()
        .id
}

fn agreement_due(t: &hjul_store::Timeline) -> Option<chrono::NaiveDate> {
    t.deadlines
        .iter()
        .find(|d| d.status.deadline == Deadline::AgreementSigned)
        .and_then(|d| d.status.due)
}

async fn a_corrected_dialogue_date_moves_the_deadline_and_the_mail(db: TestDb) {
    let server = SmtpServer::start().await;
    let store = small(&db).await;
    dialogue_on_the_16th(&store).await;
    let s = scheduler(store.clone(), server.port());
    let sender = Sender::Smtp(SmtpSender::new(smtp_settings(server.port())));
    // The agreement opened with the dialogue: Bo hears of it, due 30 days later.
    s.run_once(&sender, eight("2026-03-17")).await.unwrap();
    let opened = server
        .received()
        .into_iter()
        .find(|m| m.to.contains(&"bo@skovby.dk".to_owned()))
        .unwrap();
    let ics = opened.calendar().unwrap();
    assert!(ics.contains("DTSTART;VALUE=DATE:20260415"), "{ics}");
    assert!(ics.contains("SEQUENCE:0"), "{ics}");

    // The dialogue was really held on the 19th: the secretariat corrects it the day after.
    let id = event_id(&store, "dt-nord-1", "dialogue_held", "2026-03-20").await;
    let s18 = hjul_store::Stamp {
        actor: "sekretariat".into(),
        at: eight("2026-03-20") + chrono::Duration::hours(3),
        today: date("2026-03-20"),
    };
    let c = store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Redate {
                on: date("2026-03-19"),
            },
            "Mødet blev flyttet til fredag",
            &s18,
        )
        .await
        .unwrap();
    assert_eq!((c.cycle, c.unit_id.as_str()), (2025, "dt-nord-1"));
    let t = store
        .timeline(&unit_of("dt-nord-1"), date("2026-03-20"), None)
        .await
        .unwrap();
    // 30 days after the 19th is Saturday 18 April: due the Friday before.
    assert_eq!(agreement_due(&t), Some(date("2026-04-17")));
    assert!(
        t.events
            .iter()
            .any(|e| e.superseded && e.on == date("2026-03-16"))
    );
    assert!(
        t.events
            .iter()
            .any(|e| !e.superseded && e.on == date("2026-03-19"))
    );
    // Status follows.
    let row = store
        .status(
            date("2026-03-20"),
            &hjul_store::StatusFilter::default(),
            None,
        )
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.unit_id == "dt-nord-1")
        .unwrap();
    assert_eq!(row.next_deadline.unwrap().due, date("2026-04-17"));

    // The reminder 14 days before the new date moves Bo's calendar entry.
    server.clear();
    for day in date("2026-03-21").iter_days().take(20) {
        s.run_once(&sender, eight(&day.to_string())).await.unwrap();
    }
    let reminder = server
        .received()
        .into_iter()
        .find(|m| m.to.contains(&"bo@skovby.dk".to_owned()))
        .expect("a reminder to Bo");
    let ics = reminder.calendar().unwrap();
    assert!(ics.contains("DTSTART;VALUE=DATE:20260417"), "{ics}");
    assert!(ics.contains("SEQUENCE:1"), "{ics}");

    // Both are on record: the event as recorded, and its correction with the reason.
    let audit = store
        .audit_log(Some(("unit", "dt-nord-1")), 100)
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "unit.dialogue_held"));
    let correction = audit.iter().find(|a| a.action == "unit.correct").unwrap();
    assert!(correction.before.as_deref().unwrap().contains("2026-03-16"));
    assert!(
        correction
            .after
            .as_deref()
            .unwrap()
            .contains("Mødet blev flyttet til fredag")
    );
    // A corrected event cannot be corrected again; its correction can.
    let again = store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Withdraw,
            "igen",
            &s18,
        )
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::NoEvent(_)), "{again}");
}

async fn a_withdrawn_signature_puts_the_unit_back(db: TestDb) {
    let store = small(&db).await;
    let s = stamp("2026-04-20");
    signed_in_april(&store, &s).await;
    let t = store
        .timeline(&unit_of("dt-nord-1"), date("2026-04-20"), None)
        .await
        .unwrap();
    assert_eq!(t.step, Some(Step::InForce));

    // Signed by mistake on the wrong house: withdrawn.
    let id = event_id(&store, "dt-nord-1", "agreement_signed", "2026-04-20").await;
    store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Withdraw,
            "Underskrevet ved en fejl",
            &s,
        )
        .await
        .unwrap();
    let t = store
        .timeline(&unit_of("dt-nord-1"), date("2026-04-20"), None)
        .await
        .unwrap();
    assert_eq!(t.step, Some(Step::AwaitingSignature));
    assert_eq!(t.agreements[0].signed_on, None);
    // The deadline is open again (and past due): the overdue notice can go.
    assert!(t.overdue_days > 0, "{t:?}");
    // It can be signed again, by the rules as ever.
    store
        .sign_agreement(&unit_of("dt-nord-1"), date("2026-04-20"), &s)
        .await
        .unwrap();
    let t = store
        .timeline(&unit_of("dt-nord-1"), date("2026-04-20"), None)
        .await
        .unwrap();
    assert_eq!(t.step, Some(Step::InForce));
    assert_eq!(t.agreements[0].signed_on, Some(date("2026-04-20")));
    let audit = store
        .audit_log(Some(("unit", "dt-nord-1")), 100)
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "unit.agreement_signed")
            .count(),
        2
    );
    assert!(audit.iter().any(|a| a.action == "unit.correct"));
}

async fn a_correction_the_rules_forbid_changes_nothing(db: TestDb) {
    let store = small(&db).await;
    let s = stamp("2026-04-20");
    store
        .record_dialogue(&unit_of("dt-nord-1"), date("2026-03-16"), None, &s)
        .await
        .unwrap();
    store
        .submit_agreement(
            &unit_of("dt-nord-1"),
            date("2026-04-01"),
            AGREEMENT,
            "a.toml",
            &s,
        )
        .await
        .unwrap();
    let before = hjul_tests::counts(&store).await;
    let corrections = count(&store, "correction").await;
    let id = event_id(&store, "dt-nord-1", "dialogue_held", "2026-04-20").await;
    // The dialogue after the agreement it led to: the rules say no.
    let e = store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Redate {
                on: date("2026-04-05"),
            },
            "forkert dato",
            &s,
        )
        .await
        .unwrap_err();
    // Told as the clash between the two records, with the dates that would do.
    assert!(
        e.to_string().contains(
            "\"Quality dialogue held\" cannot be dated 2026-04-05: \"Agreement submitted\" is recorded on 2026-04-01 and comes after \"Quality dialogue held\" in the wheel. Choose a date on or before 2026-04-01"
        ),
        "{e}"
    );
    // Withdrawing the dialogue would leave an agreement without one.
    let e = store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Withdraw,
            "aldrig holdt",
            &s,
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains(
            "\"Quality dialogue held\" (2026-03-16) cannot be taken away: \"Agreement submitted\" (2026-04-01) rests on it"
        ),
        "{e}"
    );
    // No reason, no correction.
    let e = store
        .correct_event(&unit_of("dt-nord-1"), id, Correction::Withdraw, "  ", &s)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("give a reason"), "{e}");
    // A dialogue recorded against the wrong house moves to the right one.
    assert_eq!(hjul_tests::counts(&store).await, before);
    assert_eq!(count(&store, "correction").await, corrections);
    let other = store
        .record_dialogue(&unit_of("dt-nord-2"), date("2026-03-18"), None, &s)
        .await;
    assert!(other.is_ok());
    let id2 = event_id(&store, "dt-nord-2", "dialogue_held", "2026-04-20").await;
    let e = store
        .correct_event(
            &unit_of("dt-nord-2"),
            id2,
            Correction::Move {
                unit_id: unit_of("dt-nord-1"),
            },
            "forkert hus",
            &s,
        )
        .await
        .unwrap_err();
    // dt-nord-1 has had its dialogue: moving a second one there is refused.
    assert!(
        e.to_string().contains("Quality dialogue was already met"),
        "{e}"
    );
    // The mail of a deadline never pending is untouched.
    assert_eq!(
        store
            .outbox(Some(OutboxState::Pending), 10)
            .await
            .unwrap()
            .len(),
        0
    );
}

/// A signature belongs to the revision it signed: moved past a later submission, it
/// would sign that one in the facts while the records say the other. Refused.
async fn a_correction_keeps_each_event_with_its_revision(db: TestDb) {
    let store = small(&db).await;
    let s = stamp("2026-05-20");
    store
        .record_dialogue(&unit_of("dt-nord-1"), date("2026-03-16"), None, &s)
        .await
        .unwrap();
    for (submit, sign) in [("2026-04-01", Some("2026-04-10")), ("2026-05-01", None)] {
        store
            .submit_agreement(&unit_of("dt-nord-1"), date(submit), AGREEMENT, "a.toml", &s)
            .await
            .unwrap();
        if let Some(on) = sign {
            store
                .sign_agreement(&unit_of("dt-nord-1"), date(on), &s)
                .await
                .unwrap();
        }
    }
    let before = hjul_tests::counts(&store).await;
    let id = event_id(&store, "dt-nord-1", "agreement_signed", "2026-05-20").await;
    let e = store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Redate {
                on: date("2026-05-05"),
            },
            "forkert dato",
            &s,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    assert!(e.to_string().contains("revision 1"), "{e}");
    assert_eq!(hjul_tests::counts(&store).await, before);
    // Within its revision's time, the signature moves; the rows follow.
    store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Redate {
                on: date("2026-04-20"),
            },
            "rigtig dato",
            &s,
        )
        .await
        .unwrap();
    let t = store
        .timeline(&unit_of("dt-nord-1"), date("2026-05-20"), None)
        .await
        .unwrap();
    assert_eq!(t.agreements[0].signed_on, Some(date("2026-04-20")));
    assert_eq!(t.agreements[1].signed_on, None);
    assert_eq!(t.step, Some(Step::AwaitingSignature));
}

/// A calendar event as the tests compare it: UID, SEQUENCE, DTSTART, cancelled.
type Entry = (String, u32, String, bool);

/// The calendar part of the one mail `to` got in `received`, read back by a strict
/// parser: the method its MIME part names, and (UID, SEQUENCE, start, cancelled) of its
/// events.
fn entries(received: &[hjul_tests::smtp::Received], to: &str) -> Option<(String, Vec<Entry>)> {
    let got: Vec<_> = received
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .collect();
    assert!(got.len() <= 1, "one mail a day to {to}: {}", got.len());
    let mail = got.first()?;
    let text = mail.calendar()?;
    let head = mail.text();
    let method = head
        .split("Content-Type: text/calendar")
        .nth(1)
        .and_then(|h| h.split("method=").nth(1))
        .map(|m| {
            m.chars()
                .take_while(char::is_ascii_alphabetic)
                .collect::<String>()
        })
        .unwrap();
    let cal: icalendar::Calendar = text.parse().unwrap();
    assert_eq!(
        cal.property_value("METHOD"),
        Some(method.as_str()),
        "{text}"
    );
    let events = cal
        .components
        .iter()
        .filter_map(|c| match c {
            icalendar::CalendarComponent::Event(e) => Some((
                e.get_uid().unwrap().to_owned(),
                e.get_sequence().unwrap(),
                e.property_value("DTSTART").unwrap().to_owned(),
                e.get_status() == Some(icalendar::EventStatus::Cancelled),
            )),
            _ => None,
        })
        .collect();
    Some((method, events))
}

async fn a_deadline_handed_to_another_moves_between_calendars(db: TestDb) {
    const UID: &str = "2025-dt-nord-1-agreement_signed@hjul";
    let server = SmtpServer::start().await;
    let store = small(&db).await;
    dialogue_on_the_16th(&store).await;
    let s = scheduler(store.clone(), server.port());
    let sender = Sender::Smtp(SmtpSender::new(smtp_settings(server.port())));
    // Bo is to write the agreement by 15 April: it goes into his calendar.
    s.run_once(&sender, eight("2026-03-17")).await.unwrap();
    let (method, bo) = entries(&server.received(), "bo@skovby.dk").unwrap();
    assert_eq!(method, "PUBLISH");
    assert_eq!(bo, [(UID.to_owned(), 0, "20260415".to_owned(), false)]);
    // Anna, who will sign it, is told of it for her information: no entry of hers yet.
    let anna_first = entries(&server.received(), "anna@skovby.dk");
    assert!(
        anna_first
            .iter()
            .all(|(_, e)| e.iter().all(|(uid, ..)| uid != UID)),
        "{anna_first:?}"
    );

    // He submits it on the 18th: it is Anna's to sign now. The next morning his entry is
    // cancelled under its UID, and the mail says with whom it lies.
    submitted_on_the_18th(&store).await;
    server.clear();
    s.run_once(&sender, eight("2026-03-19")).await.unwrap();
    let received = server.received();
    let (method, bo) = entries(&received, "bo@skovby.dk").expect("a cancellation to Bo");
    assert_eq!(method, "CANCEL");
    assert_eq!(bo, [(UID.to_owned(), 1, "20260415".to_owned(), true)]);
    // Anna is asked to sign: the entry is in her calendar now.
    let (method, anna) = entries(&received, "anna@skovby.dk").expect("a sign request to Anna");
    assert_eq!(method, "PUBLISH");
    assert_eq!(anna.len(), 1, "{anna:?}");
    let (uid, anna_version, start, cancelled) = anna[0].clone();
    assert_eq!(
        (uid.as_str(), start.as_str(), cancelled),
        (UID, "20260415", false)
    );
    let text = received
        .iter()
        .find(|m| m.to.contains(&"bo@skovby.dk".to_owned()))
        .unwrap()
        .plain()
        .unwrap();
    for line in [
        "Denne frist ligger ikke længere hos dig. Den er fjernet fra din kalender.",
        "    Nu hos: Anna Bech",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    // Said once: the next days bring Bo no mail at all.
    server.clear();
    for day in date("2026-03-20").iter_days().take(5) {
        s.run_once(&sender, eight(&day.to_string())).await.unwrap();
    }
    assert!(
        server
            .received()
            .iter()
            .all(|m| !m.to.contains(&"bo@skovby.dk".to_owned())),
        "{:?}",
        summary(&server.received())
    );

    // The submission was a mistake: the secretariat withdraws it. The agreement is Bo's
    // to write again: Anna's entry to sign it is cancelled, and Bo's next mail puts it
    // back in his calendar as a newer version than either.
    let id = event_id(&store, "dt-nord-1", "agreement_submitted", "2026-03-25").await;
    store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Withdraw,
            "Sendt ved en fejl",
            &stamp("2026-03-25"),
        )
        .await
        .unwrap();
    server.clear();
    for day in date("2026-03-26").iter_days().take(7) {
        s.run_once(&sender, eight(&day.to_string())).await.unwrap();
    }
    let received = server.received();
    let anna: Vec<String> = received
        .iter()
        .filter(|m| m.to.contains(&"anna@skovby.dk".to_owned()))
        .filter_map(hjul_tests::smtp::Received::calendar)
        .collect();
    assert_eq!(anna.len(), 1, "{:?}", summary(&received));
    let cal: icalendar::Calendar = anna[0].parse().unwrap();
    assert_eq!(cal.property_value("METHOD"), Some("CANCEL"), "{}", anna[0]);
    let version = |text: &str| -> u32 {
        text.lines()
            .find_map(|l| l.strip_prefix("SEQUENCE:"))
            .unwrap()
            .parse()
            .unwrap()
    };
    let anna_cancelled = version(&anna[0]);
    assert!(
        anna[0].contains(UID)
            && anna[0].contains("STATUS:CANCELLED")
            && anna_cancelled > anna_version,
        "{}",
        anna[0]
    );
    let to_bo: Vec<_> = received
        .iter()
        .filter(|m| m.to.contains(&"bo@skovby.dk".to_owned()))
        .collect();
    let back = to_bo
        .iter()
        .filter_map(|m| m.calendar())
        .find(|c| c.contains(UID))
        .unwrap_or_else(|| panic!("Bo's entry put back: {:?}", summary(&received)));
    let cal: icalendar::Calendar = back.parse().unwrap();
    assert_eq!(cal.property_value("METHOD"), Some("PUBLISH"), "{back}");
    assert!(
        back.contains("SEQUENCE:") && !back.contains("STATUS:CANCELLED"),
        "{back}"
    );
    // Newer than his own cancellation (1), and than every version before it.
    assert!(
        version(&back) > anna_cancelled.max(1),
        "newer than the cancellations: {back}"
    );
}

/// Each mail is made while the one before it goes, counting that one's calendar entries
/// as sent. When that one is refused, the next mail about the same entry is made again:
/// Anna's entry to sign is the version after Bo's opened one, not after a cancellation
/// that never reached him.
async fn a_refused_cancellation_is_not_counted_in_the_next_calendar(db: TestDb) {
    const UID: &str = "2025-dt-nord-1-agreement_signed@hjul";
    let server = SmtpServer::start().await;
    let store = small(&db).await;
    dialogue_on_the_16th(&store).await;
    // The name puts Bo right before Anna in the round: her mail is made while his goes.
    let s = scheduler(store.clone(), server.port()).named("b");
    let sender = Sender::Smtp(SmtpSender::new(smtp_settings(server.port())));
    s.run_once(&sender, eight("2026-03-17")).await.unwrap();
    submitted_on_the_18th(&store).await;
    // The morning Bo's entry is cancelled and Anna's begins, his server says "later".
    server.refuse_to("bo@skovby.dk", Behaviour::TempFail);
    server.clear();
    let before = server.tried().len();
    let (_, r) = s.run_once(&sender, eight("2026-03-19")).await.unwrap();
    let tried = server.tried()[before..].to_vec();
    let bo = tried.iter().position(|t| t == "bo@skovby.dk").unwrap();
    assert_eq!(
        tried.get(bo + 1).map(String::as_str),
        Some("anna@skovby.dk"),
        "this story needs Anna's mail right after Bo's: {tried:?}"
    );
    assert_eq!(r.retried, 1, "{r:?}");
    let (_, anna) = entries(&server.received(), "anna@skovby.dk").unwrap();
    assert_eq!(anna, [(UID.to_owned(), 0, "20260415".to_owned(), false)]);
    // His cancellation goes at the next try, as the version after both.
    server.refuse_to("nobody@skovby.dk", Behaviour::TempFail);
    server.clear();
    s.run_once(&sender, eight("2026-03-19") + chrono::Duration::minutes(5))
        .await
        .unwrap();
    let (method, bo) = entries(&server.received(), "bo@skovby.dk").unwrap();
    assert_eq!(method, "CANCEL");
    assert_eq!(bo, [(UID.to_owned(), 1, "20260415".to_owned(), true)]);
}

fn summary(received: &[hjul_tests::smtp::Received]) -> Vec<(Vec<String>, Option<String>)> {
    received
        .iter()
        .map(|m| (m.to.clone(), m.header("Subject")))
        .collect()
}

/// A status on the goals recorded on the wrong day is redated, one that did not happen
/// is withdrawn (its time is open again), and a date before its time opens is refused
/// with nothing changed.
async fn a_follow_up_is_corrected_like_any_event(db: TestDb) {
    let store = small(&db).await;
    let s = stamp("2026-11-02");
    signed_in_april(&store, &s).await;
    let statuses = ["Godt i gang.", "Målingen kommer.", "Holder."].map(str::to_owned);
    store
        .give_goal_status(&unit_of("dt-nord-1"), date("2026-11-02"), &statuses, &s)
        .await
        .unwrap();
    let first_time = |t: &hjul_store::Timeline| {
        t.deadlines
            .iter()
            .find(|d| d.status.deadline == Deadline::GoalStatus && d.status.occurrence == 1)
            .map(|d| d.status.met_on)
            .unwrap()
    };
    let nord1 = unit_of("dt-nord-1");
    let timeline = || store.timeline(&nord1, date("2026-11-02"), None);
    assert_eq!(
        first_time(&timeline().await.unwrap()),
        Some(date("2026-11-02"))
    );
    let id = event_id(&store, "dt-nord-1", "goal_status_given", "2026-11-02").await;
    // Before its time opened (1 October): refused, nothing changed.
    let err = store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Redate {
                on: date("2026-09-20"),
            },
            "Forkert dato",
            &s,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        first_time(&timeline().await.unwrap()),
        Some(date("2026-11-02"))
    );
    store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Redate {
                on: date("2026-10-15"),
            },
            "Givet i oktober",
            &s,
        )
        .await
        .unwrap();
    let t = timeline().await.unwrap();
    assert_eq!(first_time(&t), Some(date("2026-10-15")));
    // The status itself is kept with the redated event.
    let kept = t
        .events
        .iter()
        .find(|e| e.kind == hjul_wheel::EventKind::GoalStatusGiven && !e.superseded)
        .unwrap();
    assert!(kept.notes.as_deref().unwrap().contains("2. "), "{kept:?}");
    let id = event_id(&store, "dt-nord-1", "goal_status_given", "2026-11-02").await;
    store
        .correct_event(
            &unit_of("dt-nord-1"),
            id,
            Correction::Withdraw,
            "Ikke givet",
            &s,
        )
        .await
        .unwrap();
    assert_eq!(first_time(&timeline().await.unwrap()), None);
    store
        .give_goal_status(&unit_of("dt-nord-1"), date("2026-11-02"), &statuses, &s)
        .await
        .unwrap();
    assert_eq!(
        first_time(&timeline().await.unwrap()),
        Some(date("2026-11-02"))
    );
}
