//! Tables people open in a spreadsheet: where each unit stands (the overdue list is the
//! same table, filtered) and one unit's deadlines, with headers in the reader's
//! language, as `.xlsx` or as CSV the way a Danish Excel reads it (`;` between fields,
//! a decimal comma, a byte-order mark). The dashboard and `hjul status --format xlsx`
//! both write them from here.

use chrono::NaiveDate;
use hjul_store::{DeadlineView, StatusRow};
use hjul_wheel::{Language, Step, text::Catalogue};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// A cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Empty,
}

/// A table: a sheet name, headers and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The words of a language: the wheel's and the dashboard's.
pub fn words(language: Language) -> Catalogue {
    let ui = match language {
        Language::Da => crate::dashboard::words::UI_DA,
        Language::En => crate::dashboard::words::UI_EN,
    };
    let wheel = Catalogue::wheel(language);
    wheel.with(ui).unwrap_or_else(|_| wheel.clone())
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// Where each unit stands, a row each.
pub fn status_table(rows: &[StatusRow], language: Language) -> Table {
    let w = words(language);
    let word = |k: &str| w.word(k).to_owned();
    let headers = [
        "export.unit",
        "export.unit_id",
        "export.level",
        "export.area",
        "export.step",
        "export.next_deadline",
        "export.due",
        "export.days_late",
        "export.responsible",
        "export.responsible_email",
        "export.agreement",
        "export.score",
    ]
    .iter()
    .map(|k| word(k))
    .collect();
    let rows = rows
        .iter()
        .map(|r| {
            vec![
                text(r.name.clone()),
                text(r.unit_id.clone()),
                Cell::Number(f64::from(r.level)),
                text(word(&format!("area.{}", r.area))),
                text(word(&format!("step.{}", r.step.map_or("none", Step::key)))),
                r.next_deadline.map_or(Cell::Empty, |n| {
                    text(word(&format!("deadline.{}", n.deadline.key())))
                }),
                r.next_deadline.map_or(Cell::Empty, |n| Cell::Date(n.due)),
                Cell::Number(r.overdue_days as f64),
                text(if r.responsible_name.is_empty() {
                    word("party.secretariat")
                } else {
                    r.responsible_name.clone()
                }),
                text(r.responsible.clone()),
                r.agreement.as_ref().map_or(Cell::Empty, |a| {
                    let key = serde_json::to_value(a.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    text(word(&format!("agreement_state.{key}")))
                }),
                r.agreement
                    .as_ref()
                    .and_then(|a| a.score)
                    .map_or(Cell::Empty, |s| Cell::Number(s.percent())),
            ]
        })
        .collect();
    Table {
        name: word("export.status_sheet"),
        headers,
        rows,
    }
}

/// One unit's deadlines.
/// A deadline's name as people read it; a follow-up's times are told apart by their
/// number ("Halvårlig status på målene (2)").
pub fn deadline_name(word: &dyn Fn(&str) -> String, status: &hjul_wheel::DeadlineStatus) -> String {
    let name = word(&format!("deadline.{}", status.deadline.key()));
    match status.occurrence {
        0 => name,
        n => format!("{name} ({n})"),
    }
}

pub fn deadlines_table(unit: &str, deadlines: &[DeadlineView], language: Language) -> Table {
    let w = words(language);
    let word = |k: &str| w.word(k).to_owned();
    let headers = [
        "export.deadline",
        "export.due",
        "export.state",
        "export.date",
        "export.days_late",
        "export.responsible",
        "export.responsible_email",
    ]
    .iter()
    .map(|k| word(k))
    .collect();
    let rows = deadlines
        .iter()
        .map(|d| {
            let (key, date, days) = crate::dashboard::deadline_state(d.state);
            vec![
                text(deadline_name(&word, &d.status)),
                d.status.due.map_or(Cell::Empty, Cell::Date),
                text(word(&format!("state.{key}"))),
                date.map_or(Cell::Empty, Cell::Date),
                Cell::Number(days as f64),
                text(if d.who_name.is_empty() {
                    word("party.secretariat")
                } else {
                    d.who_name.clone()
                }),
                text(d.who.clone()),
            ]
        })
        .collect();
    Table {
        name: hjul_wheel::limits::clip(unit, 28),
        headers,
        rows,
    }
}

/// The table as an Excel workbook.
pub fn to_xlsx(table: &Table) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    // Sheet names may not hold some characters and are at most 31 long.
    let name: String = table
        .name
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if !name.is_empty() {
        sheet.set_name(name)?;
    }
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in table.headers.iter().enumerate() {
        sheet.write_string_with_format(0, col(c), h, &bold)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(s) => {
                    sheet.write_string(r, col(c), s)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, col(c), *n)?;
                }
                Cell::Date(d) => {
                    sheet.write_date_with_format(r, col(c), *d, &date)?;
                }
                Cell::Empty => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    book.save_to_buffer()
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// The table as CSV: for Danish, `;` between fields and a decimal comma (what a Danish
/// Excel opens), for English `,` and a point; UTF-8 with a byte-order mark either way.
pub fn to_csv(table: &Table, language: Language) -> String {
    let (sep, comma) = match language {
        Language::Da => (';', true),
        Language::En => (',', false),
    };
    let quote = |s: &str| {
        // A cell that starts like a formula is kept as text when a spreadsheet opens it.
        let s = if s.starts_with(['=', '+', '-', '@']) {
            format!("'{s}")
        } else {
            s.to_owned()
        };
        if s.contains([sep, '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = String::from('\u{feff}');
    let line = |cells: Vec<String>| cells.join(&sep.to_string());
    out.push_str(&line(table.headers.iter().map(|h| quote(h)).collect()));
    out.push_str("\r\n");
    for row in &table.rows {
        let cells = row
            .iter()
            .map(|c| match c {
                Cell::Text(s) => quote(s),
                Cell::Number(n) => {
                    let s = if n.fract() == 0.0 {
                        format!("{n:.0}")
                    } else {
                        format!("{n}")
                    };
                    if comma { s.replace('.', ",") } else { s }
                }
                Cell::Date(d) => d.to_string(),
                Cell::Empty => String::new(),
            })
            .collect();
        out.push_str(&line(cells));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            name: "Status".into(),
            headers: vec!["Enhed".into(), "Score".into(), "Senest".into()],
            rows: vec![vec![
                Cell::Text("Børnehuset; \"Mariehønen\"".into()),
                Cell::Number(62.5),
                Cell::Date(NaiveDate::from_ymd_opt(2026, 4, 17).unwrap_or_default()),
            ]],
        }
    }

    #[test]
    fn csv_is_what_a_danish_excel_reads() {
        let csv = to_csv(&table(), Language::Da);
        assert_eq!(
            csv,
            "\u{feff}Enhed;Score;Senest\r\n\"Børnehuset; \"\"Mariehønen\"\"\";62,5;2026-04-17\r\n"
        );
        assert!(to_csv(&table(), Language::En).contains(",62.5,"));
        let formula = Table {
            rows: vec![vec![Cell::Text("=HYPERLINK(\"x\")".into())]],
            ..table()
        };
        assert!(to_csv(&formula, Language::En).contains("\"'=HYPERLINK(\"\"x\"\")\""));
    }

    #[test]
    fn xlsx_is_a_workbook() {
        let bytes = to_xlsx(&table()).unwrap_or_default();
        // An .xlsx is a zip archive.
        assert!(bytes.starts_with(b"PK"), "{} bytes", bytes.len());
    }
}
