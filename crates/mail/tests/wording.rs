//! Every kind of mail, in Danish and English, text and HTML, as snapshots
//! (`tests/snapshots/`): a change of wording shows as a diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test -p hjul-mail --test wording`
//! and read the diff in git). Under CI a snapshot that differs fails.
#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use hjul_mail::{CycleEnded, Digest, Failure, Item, Mail, MailKind, Recipient, Templates};
use hjul_wheel::{Language, Task};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const WEB: &str = "https://hjul.viborg.dk";

fn item(kind: MailKind, unit: &str, name: &str, deadline: &str, due: &str, task: Task) -> Item {
    let mut i = Item {
        key: format!("2025:{unit}:{deadline}:{}", kind.key()),
        kind,
        cycle: Some(2025),
        unit_id: Some(unit.into()),
        unit_name: name.into(),
        deadline: hjul_wheel::Deadline::parse(deadline),
        due: Some(date(due)),
        days_before: (kind == MailKind::Reminder).then_some(14),
        responsible: None,
        task: Some(task),
        leader: None,
        deputy_for: None,
        link: None,
        themes: vec![],
        sequence: 0,
        data_gaps: vec![],
    };
    i.link = Some(hjul_mail::content::link(WEB, &i));
    i
}

fn mail(language: Language, to: &str, items: Vec<Item>) -> Mail {
    Mail {
        to: Recipient {
            email: "person@viborg.dk".into(),
            name: to.into(),
            language,
        },
        items,
        digest: None,
        ended: vec![],
        failures: vec![],
        web: Some(WEB.into()),
        cc: Vec::new(),
    }
}

/// The fixtures: one mail of each kind, and one that mixes kinds.
fn mails(lang: Language) -> Vec<(&'static str, Mail, NaiveDate)> {
    let themes = vec!["Sprog og læsning".to_owned(), "Trivsel".to_owned()];
    let leader_opened = mail(
        lang,
        "Anna Bech",
        vec![item(
            MailKind::Opened,
            "dt-skovbo",
            "Børnehuset Skovbo",
            "agreement_signed",
            "2026-04-13",
            Task::SubmitAgreement,
        )],
    );
    let mut sign = item(
        MailKind::Opened,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "agreement_signed",
        "2026-04-13",
        Task::SignAgreement,
    );
    sign.leader = Some("Anna Bech".into());
    let sign_request = mail(lang, "Bo Nielsen", vec![sign]);
    let mut attend = item(
        MailKind::Opened,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "dialogue_held",
        "2026-06-30",
        Task::AttendDialogue,
    );
    attend.themes = vec![];
    let called = mail(lang, "Anna Bech", vec![attend]);
    let mut hold = item(
        MailKind::Reminder,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "dialogue_held",
        "2026-06-30",
        Task::HoldDialogue,
    );
    hold.leader = Some("Anna Bech".into());
    hold.themes.clone_from(&themes);
    let reminder = mail(lang, "Bo Nielsen", vec![hold]);
    let overdue = mail(
        lang,
        "Anna Bech",
        vec![item(
            MailKind::Overdue,
            "dt-skovbo",
            "Børnehuset Skovbo",
            "midway_status",
            "2027-09-30",
            Task::GiveMidway,
        )],
    );
    let mut esc = item(
        MailKind::Escalation,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "agreement_signed",
        "2026-04-13",
        Task::SignAgreement,
    );
    esc.responsible = Some("Bo Nielsen".into());
    esc.leader = Some("Anna Bech".into());
    let escalation = mail(lang, "Carla Dam", vec![esc.clone()]);
    let mut own = item(
        MailKind::Overdue,
        "dt-omraade-nord",
        "Dagtilbud Nord",
        "agreement_signed",
        "2026-04-10",
        Task::SubmitAgreement,
    );
    own.days_before = None;
    let mixed = mail(lang, "Carla Dam", vec![esc, own]);
    let mut digest = mail(lang, "Sekretariatet", vec![]);
    digest.digest = Some(Digest {
        date: date("2026-07-06"),
        overdue: vec![item(
            MailKind::Overdue,
            "dt-skovbo",
            "Børnehuset Skovbo",
            "dialogue_held",
            "2026-06-30",
            Task::HoldDialogue,
        )],
        due_soon: vec![],
        soon_days: 14,
        steps: vec![("awaiting_dialogue".into(), 3), ("in_force".into(), 9)],
    });
    let mut dead = mail(lang, "Sekretariatet", vec![]);
    dead.failures = vec![Failure {
        to: "anna@viborg.dk".into(),
        error: "550 5.1.1 mailbox unavailable".into(),
        items: vec![item(
            MailKind::Reminder,
            "dt-skovbo",
            "Børnehuset Skovbo",
            "agreement_signed",
            "2026-04-13",
            Task::SubmitAgreement,
        )],
        item: None,
    }];
    let mut unreadable = mail(lang, "Sekretariatet", vec![]);
    unreadable.failures = vec![Failure {
        to: "leader".into(),
        error: "outbox item 2025:dt-skovbo:agreement_signed:opened:leader (opened) cannot be \
                read: unknown variant `sing_agreement`; it was not sent"
            .into(),
        items: vec![],
        item: Some("2025:dt-skovbo:agreement_signed:opened:leader".into()),
    }];
    let mut gone = item(
        MailKind::Withdrawn,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "agreement_signed",
        "2026-04-13",
        Task::SubmitAgreement,
    );
    gone.responsible = Some("Bo Nielsen".into());
    let withdrawn = mail(lang, "Anna Bech", vec![gone]);
    let mut ended = mail(lang, "Sekretariatet", vec![]);
    let mut unmet = item(
        MailKind::CycleEnded,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "midway_status",
        "2027-09-30",
        Task::GiveMidway,
    );
    unmet.link = None;
    ended.ended = vec![CycleEnded {
        year: 2025,
        ended_on: date("2027-09-30"),
        unmet: vec![unmet],
        total: 1,
    }];
    // The secretariat's reminder about the data collection, with how far it has come.
    let mut collect = item(
        MailKind::Reminder,
        "",
        "Børn & Unge",
        "data_collected",
        "2025-12-31",
        Task::RecordDataCollected,
    );
    collect.unit_id = None;
    collect.link = Some(hjul_mail::content::link(WEB, &collect));
    collect.data_gaps = vec![
        hjul_wheel::data::DataGap {
            measure: "absence".into(),
            name_da: "Fravær reduceres".into(),
            name_en: "Absence goes down".into(),
            period: hjul_wheel::data::Period::parse("2024/25"),
            missing: 3,
            units: 12,
        },
        hjul_wheel::data::DataGap {
            measure: "sick_leave".into(),
            name_da: "Sygefravær blandt medarbejderne".into(),
            name_en: "Staff sick leave".into(),
            period: None,
            missing: 0,
            units: 0,
        },
    ];
    let data_reminder = mail(lang, "Sekretariatet", vec![collect]);
    // The follow-up between the dialogues: the half-yearly status on the goals.
    let goal_status = mail(
        lang,
        "Bo Nielsen",
        vec![item(
            MailKind::Reminder,
            "dt-skovbo",
            "Børnehuset Skovbo",
            "goal_status",
            "2026-12-30",
            Task::GiveGoalStatus,
        )],
    );
    // Camilla stands in for Anna, who holds the dialogue with Bo's house.
    let mut for_anna = item(
        MailKind::Reminder,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "dialogue_held",
        "2026-06-30",
        Task::HoldDialogue,
    );
    for_anna.leader = Some("Bo Nielsen".into());
    for_anna.deputy_for = Some("Anna Bech".into());
    for_anna.themes.clone_from(&themes);
    let deputy = mail(lang, "Camilla Lund", vec![for_anna]);
    // A task whose day passed before the mail could go (a catch-up): when it was due,
    // and no calendar file promised.
    let past = mail(
        lang,
        "Bo Nielsen",
        vec![item(
            MailKind::Opened,
            "dt-skovbo",
            "Børnehuset Skovbo",
            "agreement_signed",
            "2026-04-13",
            Task::SubmitAgreement,
        )],
    );
    // Bo left Skovbo; Dorthe, its new leader, takes over one deadline overdue and one
    // ahead (a dialogue with the house below as its superior).
    let mut late = item(
        MailKind::TakenOver,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "dialogue_held",
        "2026-06-30",
        Task::AttendDialogue,
    );
    late.responsible = Some("Bo Nielsen".into());
    late.themes.clone_from(&themes);
    let mut ahead = item(
        MailKind::TakenOver,
        "dt-skovbo-2",
        "Vuggestuen Mariehønen",
        "agreement_signed",
        "2026-09-14",
        Task::SignAgreement,
    );
    ahead.responsible = Some("Bo Nielsen".into());
    ahead.leader = Some("Eva Holm".into());
    let taken_over = mail(lang, "Dorthe Krogh", vec![late, ahead]);
    // Camilla steps in for Anna: what lies with her while she is the deputy.
    let mut stand_in = item(
        MailKind::TakenOver,
        "dt-skovbo",
        "Børnehuset Skovbo",
        "dialogue_held",
        "2026-06-30",
        Task::HoldDialogue,
    );
    stand_in.leader = Some("Bo Nielsen".into());
    stand_in.deputy_for = Some("Anna Bech".into());
    stand_in.responsible = Some("Anna Bech".into());
    stand_in.themes.clone_from(&themes);
    let deputy_steps_in = mail(lang, "Camilla Lund", vec![stand_in]);
    vec![
        ("taken_over_by_new_leader", taken_over, date("2026-07-06")),
        ("taken_over_by_deputy", deputy_steps_in, date("2026-06-01")),
        ("reminder_deputy", deputy, date("2026-06-16")),
        ("opened_past_due", past, date("2026-04-20")),
        ("reminder_goal_status", goal_status, date("2026-12-16")),
        (
            "reminder_data_collection",
            data_reminder,
            date("2025-12-17"),
        ),
        ("opened_leader", leader_opened, date("2026-03-13")),
        ("opened_sign_request", sign_request, date("2026-03-20")),
        ("opened_called_to_dialogue", called, date("2026-01-02")),
        ("reminder_hold_dialogue", reminder, date("2026-06-16")),
        ("overdue", overdue, date("2027-10-01")),
        ("escalation", escalation, date("2026-04-20")),
        ("mixed", mixed, date("2026-04-20")),
        ("digest", digest, date("2026-07-06")),
        ("dead_letter", dead, date("2026-04-01")),
        ("dead_letter_unreadable", unreadable, date("2026-04-01")),
        ("withdrawn", withdrawn, date("2026-03-25")),
        ("cycle_ended", ended, date("2027-10-01")),
    ]
}

#[test]
fn every_mail_kind_in_both_languages() {
    let templates = Templates::load(None).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for lang in [Language::Da, Language::En] {
        for (name, mail, today) in mails(lang) {
            kinds.insert(mail.kind());
            let r = templates
                .render(&mail, "Sekretariatet, Børn & Unge", today)
                .unwrap();
            insta::assert_snapshot!(
                format!("{name}_{}", lang.key()),
                format!(
                    "Subject: {}\n\n{}\n---- html ----\n{}",
                    r.subject, r.text, r.html
                )
            );
        }
    }
    assert_eq!(
        kinds.len(),
        MailKind::ALL.len(),
        "a fixture for every kind: {kinds:?}"
    );
}
