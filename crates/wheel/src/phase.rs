//! The six phases of the wheel, the six deadlines that mark progress through them and the
//! two follow-ups between the dialogues.
//!
//! The set of phases and deadlines is the wheel itself and lives in code (events in the
//! program meet the deadlines); their windows, due rules and who answers for them are
//! data in `config/wheel.toml`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{Arg, Text};

/// A phase (element) of the quality wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Dataindsamling og foranalyse
    DataCollection,
    /// Udvalgs-, FællesMED- og Ledelsesfeedback
    Feedback,
    /// Kvalitetssamtale
    QualityDialogue,
    /// Kvalitetsrapport
    QualityReport,
    /// Sammenhængsaftale
    CoherenceAgreement,
    /// Midtvejsstatus – BU Lederforum
    MidwayStatus,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::DataCollection,
        Phase::Feedback,
        Phase::QualityDialogue,
        Phase::QualityReport,
        Phase::CoherenceAgreement,
        Phase::MidwayStatus,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::DataCollection => "data_collection",
            Self::Feedback => "feedback",
            Self::QualityDialogue => "quality_dialogue",
            Self::QualityReport => "quality_report",
            Self::CoherenceAgreement => "coherence_agreement",
            Self::MidwayStatus => "midway_status",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

/// A deadline (frist) in a cycle. Three are the department's milestones, recorded once
/// per cycle by the secretariat; three belong to each unit, and two more follow each
/// unit's agreement up between the dialogues.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// Data indsamlet og foranalyse færdig
    DataCollected,
    /// Fokustemaer offentliggjort
    ThemesPublished,
    /// Kvalitetssamtale afholdt
    DialogueHeld,
    /// Kvalitetsrapport endelig
    ReportFinal,
    /// Sammenhængsaftale underskrevet
    AgreementSigned,
    /// Midtvejsstatus givet
    MidwayStatus,
    /// Halvårlig status på målene: a follow-up between the dialogues, once in each quarter
    /// the definition lists.
    GoalStatus,
    /// Årlig revision af aftalen: the agreement is gone through and either confirmed or
    /// revised, once in each quarter the definition lists.
    AgreementReview,
}

impl Deadline {
    pub const ALL: [Deadline; 8] = [
        Deadline::DataCollected,
        Deadline::ThemesPublished,
        Deadline::DialogueHeld,
        Deadline::ReportFinal,
        Deadline::AgreementSigned,
        Deadline::MidwayStatus,
        Deadline::GoalStatus,
        Deadline::AgreementReview,
    ];

    /// The follow-ups between the dialogues: they recur within a cycle and can be
    /// switched off.
    pub const FOLLOW_UPS: [Deadline; 2] = [Deadline::GoalStatus, Deadline::AgreementReview];

    /// The department's milestones, recorded once a cycle for everyone.
    pub const MILESTONES: [Deadline; 3] = [
        Deadline::DataCollected,
        Deadline::ThemesPublished,
        Deadline::ReportFinal,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::DataCollected => "data_collected",
            Self::ThemesPublished => "themes_published",
            Self::DialogueHeld => "dialogue_held",
            Self::ReportFinal => "report_final",
            Self::AgreementSigned => "agreement_signed",
            Self::MidwayStatus => "midway_status",
            Self::GoalStatus => "goal_status",
            Self::AgreementReview => "agreement_review",
        }
    }

    /// A follow-up between the dialogues.
    pub fn is_follow_up(self) -> bool {
        Self::FOLLOW_UPS.contains(&self)
    }

    /// The deadline a key names.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.key() == key)
    }

    /// A department milestone rather than a unit's own deadline.
    pub fn is_milestone(self) -> bool {
        Self::MILESTONES.contains(&self)
    }
}

/// The department's milestones by themselves (`Deadline::MILESTONES`): what a form or
/// a request to record one may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    DataCollected,
    ThemesPublished,
    ReportFinal,
}

impl Milestone {
    pub const ALL: [Milestone; 3] = [
        Milestone::DataCollected,
        Milestone::ThemesPublished,
        Milestone::ReportFinal,
    ];

    /// The deadline it meets.
    pub fn deadline(self) -> Deadline {
        match self {
            Self::DataCollected => Deadline::DataCollected,
            Self::ThemesPublished => Deadline::ThemesPublished,
            Self::ReportFinal => Deadline::ReportFinal,
        }
    }

    /// The milestone a key names (`report_final`).
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.deadline().key() == key)
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

/// What a person is to do about a deadline: the instruction a mail carries and the
/// dashboard shows. The responsible party's task follows from the deadline and the unit's
/// facts (a submitted agreement is the signer's to sign, no longer the leader's to write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    RecordDataCollected,
    PublishThemes,
    /// The superior calls and holds the dialogue, and records it.
    HoldDialogue,
    /// The leader is called to the dialogue: told, with the themes to prepare.
    AttendDialogue,
    FinishReport,
    /// Draft the agreement and submit it for signature.
    SubmitAgreement,
    /// Read the submitted agreement and sign it.
    SignAgreement,
    GiveMidway,
    /// Write a short status on each goal of the agreement in force.
    GiveGoalStatus,
    /// Go through the agreement with the superior: confirm it or submit a revision.
    ReviewAgreement,
}

impl Task {
    pub const ALL: [Task; 10] = [
        Task::RecordDataCollected,
        Task::PublishThemes,
        Task::HoldDialogue,
        Task::AttendDialogue,
        Task::FinishReport,
        Task::SubmitAgreement,
        Task::SignAgreement,
        Task::GiveMidway,
        Task::GiveGoalStatus,
        Task::ReviewAgreement,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::RecordDataCollected => "record_data_collected",
            Self::PublishThemes => "publish_themes",
            Self::HoldDialogue => "hold_dialogue",
            Self::AttendDialogue => "attend_dialogue",
            Self::FinishReport => "finish_report",
            Self::SubmitAgreement => "submit_agreement",
            Self::SignAgreement => "sign_agreement",
            Self::GiveMidway => "give_midway",
            Self::GiveGoalStatus => "give_goal_status",
            Self::ReviewAgreement => "review_agreement",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.key() == text)
    }

    /// The responsible party's task for a deadline, before anything is submitted.
    pub fn of(deadline: Deadline) -> Self {
        match deadline {
            Deadline::DataCollected => Self::RecordDataCollected,
            Deadline::ThemesPublished => Self::PublishThemes,
            Deadline::DialogueHeld => Self::HoldDialogue,
            Deadline::ReportFinal => Self::FinishReport,
            Deadline::AgreementSigned => Self::SubmitAgreement,
            Deadline::MidwayStatus => Self::GiveMidway,
            Deadline::GoalStatus => Self::GiveGoalStatus,
            Deadline::AgreementReview => Self::ReviewAgreement,
        }
    }

    /// The instruction in the reader's words: `unit` is the unit's name, `leader` its
    /// leader's name (the unit's leader in general when not known).
    pub fn text(self, unit: &str, leader: Option<&str>) -> Text {
        Self::words(self.keys().0, unit, leader)
    }

    /// The same task told of another (an escalation to their superior): `who` is to do
    /// it.
    pub fn text_for(self, who: &str, unit: &str, leader: Option<&str>) -> Text {
        Self::words(self.keys().1, unit, leader).arg("who", who.to_owned())
    }

    /// Its message keys: in the reader's words, and told of another.
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Self::RecordDataCollected => (
                "task.record_data_collected",
                "task_of.record_data_collected",
            ),
            Self::PublishThemes => ("task.publish_themes", "task_of.publish_themes"),
            Self::HoldDialogue => ("task.hold_dialogue", "task_of.hold_dialogue"),
            Self::AttendDialogue => ("task.attend_dialogue", "task_of.attend_dialogue"),
            Self::FinishReport => ("task.finish_report", "task_of.finish_report"),
            Self::SubmitAgreement => ("task.submit_agreement", "task_of.submit_agreement"),
            Self::SignAgreement => ("task.sign_agreement", "task_of.sign_agreement"),
            Self::GiveMidway => ("task.give_midway", "task_of.give_midway"),
            Self::GiveGoalStatus => ("task.give_goal_status", "task_of.give_goal_status"),
            Self::ReviewAgreement => ("task.review_agreement", "task_of.review_agreement"),
        }
    }

    fn words(key: &'static str, unit: &str, leader: Option<&str>) -> Text {
        Text::new(key).arg("unit", unit.to_owned()).arg(
            "leader",
            leader.map_or_else(
                || Arg::Key("party.leader".into()),
                |l| Arg::Plain(l.to_owned()),
            ),
        )
    }

    /// What someone told of the deadline (not responsible for it) is to do: the leader
    /// called to a dialogue attends it; otherwise the task is the same one, for their
    /// information.
    pub fn for_notified(self) -> Self {
        match self {
            Self::HoldDialogue => Self::AttendDialogue,
            other => other,
        }
    }
}

/// Lists deadlines as `a, b and c` for messages.
pub(crate) fn list<T: fmt::Display>(items: &[T]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!(
            "{} and {last}",
            init.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_milestones_are_the_deadlines_of_the_department() {
        assert_eq!(
            Milestone::ALL.map(Milestone::deadline),
            Deadline::MILESTONES
        );
        for m in Milestone::ALL {
            assert_eq!(Milestone::parse(m.deadline().key()), Some(m));
            // Its serde name is its deadline's key (what the API's schema says).
            #[derive(serde::Deserialize)]
            struct W {
                v: Milestone,
            }
            let w: W = toml::from_str(&format!("v = \"{}\"", m.deadline().key())).unwrap();
            assert_eq!(w.v, m);
        }
        assert_eq!(Milestone::parse("dialogue_held"), None);
    }

    #[test]
    fn keys_match_serde_names() {
        #[derive(serde::Deserialize)]
        struct W<T> {
            v: T,
        }
        for p in Phase::ALL {
            let w: W<Phase> = toml::from_str(&format!("v = \"{}\"", p.key())).unwrap();
            assert_eq!(w.v, p);
        }
        for d in Deadline::ALL {
            let w: W<Deadline> = toml::from_str(&format!("v = \"{}\"", d.key())).unwrap();
            assert_eq!(w.v, d);
        }
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(list::<Deadline>(&[]), "");
        assert_eq!(list(&[Deadline::DialogueHeld]), "dialogue_held");
        assert_eq!(
            list(&[Deadline::DialogueHeld, Deadline::ThemesPublished]),
            "dialogue_held and themes_published"
        );
        assert_eq!(list(&[1, 2, 3]), "1, 2 and 3");
    }
}
