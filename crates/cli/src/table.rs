//! Aligned text columns that fit an 80-column terminal.

use std::io::{self, Write};

/// The width the tables are laid out for.
pub const WIDTH: usize = 80;

pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the table; a last column that would pass [`WIDTH`] wraps at spaces onto
    /// lines of its own, aligned under it.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let indent: usize = widths
            .iter()
            .take(columns.saturating_sub(1))
            .map(|w| w + 2)
            .sum();
        let write_line = |out: &mut dyn Write, cells: &[String]| -> io::Result<()> {
            let mut s = String::new();
            for (i, cell) in cells.iter().enumerate().take(cells.len().saturating_sub(1)) {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
            let last = cells.last().map(String::as_str).unwrap_or_default();
            let room = WIDTH.saturating_sub(indent).max(20);
            let mut pieces = wrap(last, room).into_iter();
            s.push_str(&pieces.next().unwrap_or_default());
            writeln!(out, "{}", fit(s.trim_end()))?;
            for more in pieces {
                writeln!(out, "{}", fit(&format!("{:indent$}{more}", "")))?;
            }
            Ok(())
        };
        write_line(out, &self.header)?;
        for row in &self.rows {
            write_line(out, row)?;
        }
        Ok(())
    }
}

/// Splits `text` at spaces into lines of at most `room` characters (a longer word keeps
/// its own line).
pub fn wrap(text: &str, room: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// Cuts `s` to [`WIDTH`] characters, marking the cut.
pub fn fit(s: &str) -> String {
    if s.chars().count() <= WIDTH {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(WIDTH - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_long_last_cells_wrap() {
        let mut t = Table::new(&["A", "NAME"]);
        t.row(vec!["long key".into(), "x".into()]);
        t.row(vec!["k".into(), ["ørred"; 20].join(" ")]);
        t.row(vec!["k".into(), "æ".repeat(100)]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "A         NAME");
        assert_eq!(lines[1], "long key  x");
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(lines[2].starts_with("k         ørred ørred"));
        assert!(lines[3].starts_with("          ørred"));
        assert_eq!(text.matches("ørred").count(), 20);
        // A single word longer than the line is cut, and says so.
        assert!(lines.last().unwrap().ends_with('…'));
    }
}
