//! Putting mails into words: minijinja templates in files (`config/templates/LANG/`),
//! with built-in copies for any file that is missing, so the wording can be edited
//! without a rebuild and hjul still works with no config present.

use std::collections::BTreeMap;
use std::path::Path;

use hjul_wheel::{Deadline, Language, Task};
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Serialize;

use crate::MailError;
use crate::content::{Item, Mail, MailKind, deadline_name, long_date, step_name};

macro_rules! builtin {
    ($($lang:literal / $file:literal),* $(,)?) => {
        &[$((concat!($lang, "/", $file), include_str!(concat!("../../../config/templates/", $lang, "/", $file)))),*]
    };
}

/// The templates shipped in `config/templates/`, built in.
const BUILTIN: &[(&str, &str)] = builtin![
    "da" / "layout.txt",
    "da" / "layout.html",
    "da" / "items.txt",
    "da" / "items.html",
    "da" / "opened.subject.txt",
    "da" / "opened.txt",
    "da" / "opened.html",
    "da" / "reminder.subject.txt",
    "da" / "reminder.txt",
    "da" / "reminder.html",
    "da" / "overdue.subject.txt",
    "da" / "overdue.txt",
    "da" / "overdue.html",
    "da" / "escalation.subject.txt",
    "da" / "escalation.txt",
    "da" / "escalation.html",
    "da" / "digest.subject.txt",
    "da" / "digest.txt",
    "da" / "digest.html",
    "da" / "dead_letter.subject.txt",
    "da" / "dead_letter.txt",
    "da" / "dead_letter.html",
    "da" / "cycle_ended.subject.txt",
    "da" / "cycle_ended.txt",
    "da" / "cycle_ended.html",
    "da" / "withdrawn.subject.txt",
    "da" / "withdrawn.txt",
    "da" / "withdrawn.html",
    "da" / "taken_over.subject.txt",
    "da" / "taken_over.txt",
    "da" / "taken_over.html",
    "en" / "layout.txt",
    "en" / "layout.html",
    "en" / "items.txt",
    "en" / "items.html",
    "en" / "opened.subject.txt",
    "en" / "opened.txt",
    "en" / "opened.html",
    "en" / "reminder.subject.txt",
    "en" / "reminder.txt",
    "en" / "reminder.html",
    "en" / "overdue.subject.txt",
    "en" / "overdue.txt",
    "en" / "overdue.html",
    "en" / "escalation.subject.txt",
    "en" / "escalation.txt",
    "en" / "escalation.html",
    "en" / "digest.subject.txt",
    "en" / "digest.txt",
    "en" / "digest.html",
    "en" / "dead_letter.subject.txt",
    "en" / "dead_letter.txt",
    "en" / "dead_letter.html",
    "en" / "cycle_ended.subject.txt",
    "en" / "cycle_ended.txt",
    "en" / "cycle_ended.html",
    "en" / "withdrawn.subject.txt",
    "en" / "withdrawn.txt",
    "en" / "withdrawn.html",
    "en" / "taken_over.subject.txt",
    "en" / "taken_over.txt",
    "en" / "taken_over.html",
];

/// A mail in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, never a line break (it goes into a header).
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
}

/// An item as the templates see it: names and dates written out.
#[derive(Serialize)]
struct ItemView {
    unit_id: Option<String>,
    unit_name: String,
    deadline: Option<Deadline>,
    deadline_name: String,
    due: String,
    due_iso: String,
    days_before: Option<i32>,
    days_overdue: Option<i64>,
    /// Whose deadline it is, on an escalation.
    responsible: Option<String>,
    /// The unit's leader, on someone else's item.
    leader: Option<String>,
    /// On a deputy's item: the leader they stand in for.
    deputy_for: Option<String>,
    /// Whether its entry is in the mail's calendar file (not past, not an escalation):
    /// a mail promises a calendar entry only when it carries one.
    in_calendar: bool,
    /// The task's key (`sign_agreement`), for templates that word it themselves.
    task: Option<&'static str>,
    /// What to do, in the reader's words.
    todo: String,
    link: Option<String>,
    themes: Vec<String>,
    /// The data collection's gaps, in the reader's words.
    data_gaps: Vec<GapView>,
}

#[derive(Serialize)]
struct GapView {
    name: String,
    /// `None`: no values of the measure yet.
    period: Option<String>,
    missing: usize,
    units: usize,
}

impl Templates {
    /// Templates from `dir` (when given), each missing file taken from the built-in set.
    /// Every template is compiled now, so a mistake is found at start, not at 08:00.
    pub fn load(dir: Option<&Path>) -> Result<Self, MailError> {
        let mut env = hjul_templates::environment(dir, BUILTIN);
        // Subjects are plain text; html templates escape what they insert.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        hjul_templates::compile_all(&env, BUILTIN)
            .map_err(|(name, e)| MailError::Template(format!("{name}: {e:#}")))?;
        Ok(Self { env })
    }

    fn render_one(&self, name: &str, ctx: Value) -> Result<String, MailError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| MailError::Template(format!("{name}: {e:#}")))
    }

    /// Renders a mail: one section per kind of item (most pressing first), inside the
    /// layout, with the subject of the most pressing kind.
    pub fn render(
        &self,
        mail: &Mail,
        signature: &str,
        today: chrono::NaiveDate,
    ) -> Result<Rendered, MailError> {
        let lang = mail.to.language;
        let dir = lang.key();
        let view = |i: &Item| item_view(i, lang, today);
        // Within a kind the nearest due date first: the subject names the most urgent.
        let mut sorted: Vec<&Item> = mail.items.iter().collect();
        sorted.sort_by_key(|i| i.due);
        let mut by_kind: BTreeMap<MailKind, Vec<ItemView>> = BTreeMap::new();
        for i in sorted {
            by_kind.entry(i.kind).or_default().push(view(i));
        }
        let digest = mail.digest.as_ref().map(|d| {
            context! {
                date => long_date(d.date, lang),
                overdue => Value::from(Serde(d.overdue.iter().map(view).collect::<Vec<_>>())),
                due_soon => Value::from(Serde(d.due_soon.iter().map(view).collect::<Vec<_>>())),
                soon_days => d.soon_days,
                steps => d.steps.iter().map(|(s, n)| context! { step => s, name => step_name(s, lang), count => n }).collect::<Vec<_>>(),
            }
        });
        let ended: Vec<Value> = mail
            .ended
            .iter()
            .map(|e| context! { year => e.year, ended_on => long_date(e.ended_on, lang), total => e.total, unmet => Value::from(Serde(e.unmet.iter().map(view).collect::<Vec<_>>())) })
            .collect();
        let failures: Vec<Value> = mail
            .failures
            .iter()
            .map(|f| context! { to => f.to.clone(), error => f.error.clone(), item => f.item.clone(), items => Value::from(Serde(f.items.iter().map(view).collect::<Vec<_>>())) })
            .collect();

        let mut text_sections = Vec::new();
        let mut html_sections = Vec::new();
        let mut section = |kind: MailKind, ctx: Value| -> Result<(), MailError> {
            text_sections.push(self.render_one(&format!("{dir}/{}.txt", kind.key()), ctx.clone())?);
            html_sections.push(self.render_one(&format!("{dir}/{}.html", kind.key()), ctx)?);
            Ok(())
        };
        for f in &failures {
            section(
                MailKind::DeadLetter,
                context! { failure => f, web => mail.web.clone() },
            )?;
        }
        for (kind, items) in by_kind.iter().rev() {
            section(*kind, context! { items => Value::from(Serde(items)) })?;
        }
        for e in &ended {
            section(
                MailKind::CycleEnded,
                context! { ended => e, web => mail.web.clone() },
            )?;
        }
        if let Some(d) = &digest {
            section(
                MailKind::Digest,
                context! { digest => d, web => mail.web.clone() },
            )?;
        }

        let top = mail.kind();
        let subject_ctx = match top {
            MailKind::DeadLetter => context! { failure => failures.first() },
            MailKind::Digest => context! { digest => digest },
            MailKind::CycleEnded => context! { ended => ended.first() },
            kind => context! { items => Value::from(Serde(by_kind.get(&kind))) },
        };
        let subject = self
            .render_one(&format!("{dir}/{}.subject.txt", top.key()), subject_ctx)?
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let text = self.render_one(
            &format!("{dir}/layout.txt"),
            context! { name => mail.to.name.clone(), signature => signature, subject => subject.clone(), web => mail.web.clone(), body => text_sections.join("\n\n") + "\n" },
        )?;
        let html = self.render_one(
            &format!("{dir}/layout.html"),
            context! { name => mail.to.name.clone(), signature => signature, subject => subject.clone(), web => mail.web.clone(), body => html_sections.join("\n") },
        )?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

fn item_view(i: &Item, lang: Language, today: chrono::NaiveDate) -> ItemView {
    ItemView {
        unit_id: i.unit_id.clone(),
        unit_name: i.unit_name.clone(),
        deadline: i.deadline,
        deadline_name: i
            .deadline
            .map(|d| deadline_name(d.key(), lang))
            .unwrap_or_default(),
        due: i.due.map(|d| long_date(d, lang)).unwrap_or_default(),
        due_iso: i.due.map(|d| d.to_string()).unwrap_or_default(),
        days_before: i.days_before,
        days_overdue: i
            .due
            .map(|d| hjul_wheel::days_overdue(d, today))
            .filter(|d| *d > 0),
        responsible: i.responsible.clone(),
        leader: i.leader.clone(),
        deputy_for: i.deputy_for.clone(),
        in_calendar: crate::calendar::in_calendar(i, today),
        task: i.task.map(Task::key),
        // An escalation tells of another's task: in the third person, naming them.
        todo: match (i.kind, i.task, i.responsible.as_deref()) {
            (MailKind::Escalation, Some(t), Some(who)) => t
                .text_for(who, &i.unit_name, i.leader.as_deref())
                .render(lang),
            (MailKind::Escalation | MailKind::Withdrawn, _, _) => String::new(),
            (_, Some(t), _) => t.text(&i.unit_name, i.leader.as_deref()).render(lang),
            (_, None, _) => String::new(),
        },
        link: i.link.clone(),
        themes: i.themes.clone(),
        data_gaps: i
            .data_gaps
            .iter()
            .map(|g| GapView {
                name: match lang {
                    Language::Da => g.name_da.clone(),
                    Language::En => g.name_en.clone(),
                },
                period: g.period.map(|p| p.to_string()),
                missing: g.missing,
                units: g.units,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Digest, Recipient};
    use chrono::NaiveDate;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn task_of(deadline: &str) -> Task {
        Task::of(Deadline::parse(deadline).unwrap())
    }

    fn item(kind: MailKind, unit: &str, deadline: &str, due: &str) -> Item {
        Item {
            key: format!("2025:{unit}:{deadline}:{}", kind.key()),
            kind,
            cycle: Some(2025),
            unit_id: Some(unit.into()),
            unit_name: format!("Huset {unit}"),
            deadline: Deadline::parse(deadline),
            due: Some(date(due)),
            days_before: (kind == MailKind::Reminder).then_some(14),
            responsible: (kind == MailKind::Escalation).then(|| "Bo Nielsen".into()),
            task: Some(task_of(deadline)),
            leader: None,
            deputy_for: None,
            link: Some(format!("https://hjul.example.dk/units/{unit}")),
            themes: vec![],
            sequence: 0,
            data_gaps: vec![],
        }
    }

    fn mail(lang: Language, items: Vec<Item>) -> Mail {
        Mail {
            to: Recipient {
                email: "anna@skovby.dk".into(),
                name: "Anna Bech".into(),
                language: lang,
            },
            items,
            digest: None,
            ended: vec![],
            failures: vec![],
            web: Some("https://hjul.example.dk".into()),
            cc: Vec::new(),
        }
    }

    #[test]
    fn a_danish_reminder_says_what_by_when_and_where() {
        let t = Templates::load(None).unwrap();
        let r = t
            .render(
                &mail(
                    Language::Da,
                    vec![item(
                        MailKind::Reminder,
                        "dt-1",
                        "agreement_signed",
                        "2026-04-17",
                    )],
                ),
                "Sekretariatet",
                date("2026-04-03"),
            )
            .unwrap();
        assert_eq!(
            r.subject,
            "Påmindelse: Sammenhængsaftale underskrevet, Huset dt-1 – senest fredag den 17. april 2026"
        );
        assert!(r.text.starts_with("Kære Anna Bech\n"), "{}", r.text);
        for line in [
            "  * Sammenhængsaftale underskrevet – Huset dt-1",
            "    Hvad: Skriv sammenhængsaftalen for Huset dt-1, og send den til underskrift i hjul.",
            "    Hvornår: senest fredag den 17. april 2026 (om 14 dage)",
            "    Hvor: https://hjul.example.dk/units/dt-1",
            "Venlig hilsen\nSekretariatet",
        ] {
            assert!(r.text.contains(line), "{line:?} in\n{}", r.text);
        }
        assert!(
            r.html
                .contains("<strong>Sammenhængsaftale underskrevet</strong>"),
            "{}",
            r.html
        );
        assert!(
            r.html
                .contains("<a href=\"https:&#x2f;&#x2f;hjul.example.dk&#x2f;units&#x2f;dt-1\">"),
            "{}",
            r.html
        );
    }

    #[test]
    fn ones_own_overdue_deadline_makes_the_subject_and_comes_first() {
        let t = Templates::load(None).unwrap();
        let r = t
            .render(
                &mail(
                    Language::En,
                    vec![
                        item(MailKind::Opened, "a", "dialogue_held", "2026-06-30"),
                        item(MailKind::Escalation, "b", "dialogue_held", "2026-06-30"),
                        item(MailKind::Overdue, "c", "agreement_signed", "2026-06-01"),
                    ],
                ),
                "The secretariat",
                date("2026-07-07"),
            )
            .unwrap();
        assert_eq!(
            r.subject,
            "Overdue: Coherence agreement signed, Huset c – it was due Monday 1 June 2026"
        );
        let over = r
            .text
            .find("The deadline for this task has passed")
            .unwrap();
        let esc = r.text.find("a week or more overdue").unwrap();
        let open = r.text.find("You have a new task").unwrap();
        assert!(over < esc && esc < open, "{}", r.text);
        assert!(
            r.text.contains("    What: Bo Nielsen is to call "),
            "{}",
            r.text
        );
        assert!(r.text.contains("(36 days ago)"), "{}", r.text);
    }

    #[test]
    fn the_signer_is_asked_to_sign_and_the_dialogue_carries_the_themes() {
        let t = Templates::load(None).unwrap();
        let mut sign = item(MailKind::Opened, "a", "agreement_signed", "2026-04-17");
        sign.task = Some(Task::SignAgreement);
        sign.leader = Some("Carl Holm".into());
        let mut dialogue = item(MailKind::Reminder, "b", "dialogue_held", "2026-06-30");
        dialogue.leader = Some("Dorte Lund".into());
        dialogue.themes = vec!["Sprog".into(), "Trivsel".into()];
        let r = t
            .render(
                &mail(Language::Da, vec![sign, dialogue]),
                "S",
                date("2026-04-01"),
            )
            .unwrap();
        assert!(
            r.text.contains("Hvad: Læs og underskriv sammenhængsaftalen for Huset a, som Carl Holm har sendt til dig, i hjul."),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("Hvad: Indkald Dorte Lund (Huset b) til kvalitetssamtale, hold den, og registrér den i hjul."),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("    Fokustemaer: Sprog, Trivsel\n"),
            "{}",
            r.text
        );
        let r = t
            .render(
                &mail(
                    Language::Da,
                    vec![{
                        let mut s = item(MailKind::Opened, "a", "agreement_signed", "2026-04-17");
                        s.task = Some(Task::SignAgreement);
                        s
                    }],
                ),
                "S",
                date("2026-04-01"),
            )
            .unwrap();
        assert_eq!(
            r.subject,
            "Til underskrift: sammenhængsaftalen for Huset a – senest fredag den 17. april 2026"
        );
    }

    #[test]
    fn without_a_web_address_there_are_no_links() {
        let t = Templates::load(None).unwrap();
        let mut i = item(MailKind::Opened, "a", "dialogue_held", "2026-06-30");
        i.link = None;
        let mut m = mail(Language::En, vec![i]);
        m.web = None;
        let r = t.render(&m, "S", date("2026-01-05")).unwrap();
        assert!(!r.text.contains("http"), "{}", r.text);
        assert!(!r.html.contains("href"), "{}", r.html);
        assert!(
            r.text.contains("Focus themes: not published yet"),
            "{}",
            r.text
        );
    }

    #[test]
    fn html_escapes_names_and_subjects_never_break_lines() {
        let t = Templates::load(None).unwrap();
        let mut i = item(MailKind::Overdue, "a", "dialogue_held", "2026-06-30");
        i.unit_name = "<b>Huset & Co</b>\r\nBcc: x@y.dk".into();
        let r = t
            .render(&mail(Language::Da, vec![i]), "S", date("2026-07-02"))
            .unwrap();
        assert!(
            r.html.contains("&lt;b&gt;Huset &amp; Co&lt;&#x2f;b&gt;"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<b>"));
        assert!(
            !r.subject.contains('\n') && !r.subject.contains('\r'),
            "{:?}",
            r.subject
        );
    }

    #[test]
    fn the_digest() {
        let t = Templates::load(None).unwrap();
        let mut m = mail(Language::Da, vec![]);
        m.digest = Some(Digest {
            date: date("2026-07-06"),
            overdue: vec![item(MailKind::Overdue, "a", "dialogue_held", "2026-06-30")],
            due_soon: vec![],
            soon_days: 14,
            steps: vec![("awaiting_dialogue".into(), 3), ("in_force".into(), 9)],
        });
        let r = t.render(&m, "S", date("2026-07-06")).unwrap();
        assert_eq!(
            r.subject,
            "Kvalitetshjulet, ugens overblik mandag den 6. juli 2026: 1 overskredne frister"
        );
        assert!(
            r.text.contains(
                "Huset a: Kvalitetssamtale, fristen var tirsdag den 30. juni 2026 (6 dage)"
            ),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("Frister de næste 14 dage (0):\n  ingen"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("  - Afventer kvalitetssamtale: 3"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("Se det hele: https://hjul.example.dk"),
            "{}",
            r.text
        );
    }

    #[test]
    fn a_template_directory_overrides_the_built_in_file_by_file() {
        let dir = std::env::temp_dir().join(format!("hjul-templates-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("da")).unwrap();
        std::fs::write(
            dir.join("da/overdue.subject.txt"),
            "FRIST OVERSKREDET: {{ items[0].unit_name }}",
        )
        .unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let r = t
            .render(
                &mail(
                    Language::Da,
                    vec![item(MailKind::Overdue, "a", "dialogue_held", "2026-06-30")],
                ),
                "S",
                date("2026-07-02"),
            )
            .unwrap();
        assert_eq!(r.subject, "FRIST OVERSKREDET: Huset a");
        assert!(
            r.text.contains("Fristen for denne opgave er overskredet"),
            "the built-in body is still used"
        );
        std::fs::write(dir.join("da/overdue.txt"), "{% for i in items %}").unwrap();
        let err = Templates::load(Some(&dir)).err().unwrap();
        assert!(err.to_string().contains("da/overdue.txt"), "{err}");
    }
}
