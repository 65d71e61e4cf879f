//! What the fuzz targets (`fuzz/`) drive: the API's bodies and the dashboard's forms, read
//! and checked as the handlers read and check them, without a database. Whatever the
//! input, these return (a value or a problem) without panicking, quickly and in little
//! memory; the targets run under libFuzzer's time and memory limits.

use hjul_wheel::{Agreement, IndicatorCatalogue};

use crate::api::{DialogueBody, MidwayBody, MilestoneBody, SubmitBody};
use crate::dashboard::editor::{goals_of, grades_of};
use crate::problem::{Problem, parse_json};

const EXAMPLE: &str = include_str!("../../../examples/agreement.toml");

/// A JSON body of one of the write endpoints (`which` picks it), parsed and checked.
pub fn api_body(which: u8, data: &[u8]) -> Result<(), Problem> {
    let catalogue = IndicatorCatalogue::builtin();
    match which % 4 {
        0 => {
            let b: DialogueBody = parse_json(data)?;
            let _ = b.on;
            if let Some(n) = &b.notes {
                hjul_wheel::limits::check_notes(n)
                    .map_err(|t| Problem::bad_request(t.to_string()))?;
            }
        }
        1 => {
            let b: SubmitBody = parse_json(data)?;
            let _ = b.on;
            Agreement::from_toml(&b.agreement, "agreement", &catalogue, None)
                .map_err(|e| Problem::bad_request(e.to_string()))?;
        }
        2 => {
            let b: MidwayBody = parse_json(data)?;
            let _ = b.on;
            let (agreement, _) = Agreement::from_toml(EXAMPLE, "example", &catalogue, None)
                .map_err(|e| Problem::bad_request(e.to_string()))?;
            agreement
                .grade_toml(&b.grades, "grades")
                .map_err(|e| Problem::bad_request(e.to_string()))?;
        }
        _ => {
            let b: MilestoneBody = parse_json(data)?;
            let _ = (b.on, &b.milestone);
            if let Some(t) = &b.themes {
                hjul_wheel::limits::check_themes(t)
                    .map_err(|t| Problem::bad_request(t.to_string()))?;
            }
        }
    }
    Ok(())
}

/// A form of the dashboard (the agreement editor's, then the midway form's), as its
/// URL-encoded body, read and checked.
pub fn dashboard_form(data: &[u8]) {
    let catalogue = IndicatorCatalogue::builtin();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let (draft, _, _) = goals_of(&pairs);
    let _ = Agreement::check(&draft.goals, &[], &catalogue, None);
    let _ = hjul_wheel::agreement::draft_warnings(&draft.goals, &catalogue);
    if let Ok((agreement, _)) = Agreement::from_toml(EXAMPLE, "example", &catalogue, None) {
        let (grades, _) = grades_of(&pairs, agreement.goals());
        let _ = agreement.grade(&grades.grades, &[]);
        let _ = hjul_wheel::agreement::preview_score(agreement.goals(), &grades.grades);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzzed_paths_answer_for_good_and_bad_input() {
        assert!(api_body(1, br#"{"agreement": "[[goal]]"}"#).is_err());
        let good = serde_json::json!({ "agreement": EXAMPLE }).to_string();
        assert!(api_body(1, good.as_bytes()).is_ok());
        assert!(api_body(0, b"\xff").is_err());
        dashboard_form(b"g0.title=x&g0.weight=%FF&r0.grade=full&op=add");
    }
}
