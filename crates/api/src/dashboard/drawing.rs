//! The wheel as SVG. Inside, the cycle's eight quarters and its six phases as arcs, one
//! ring each (windows overlap), each arc numbered for the legend, and a hand at today
//! that stops short of the quarter labels. Around them, a ring of six sectors, one per
//! step a unit goes through, in the order of the cycle from the dialogue to the midway
//! status: every unit is a dot in its step's sector, a link to its page; with more units
//! than a sector holds, each sector shows its count instead.

use std::f64::consts::PI;
use std::fmt::Write as _;

use chrono::NaiveDate;
use hjul_store::StatusRow;
use hjul_wheel::Step;
use minijinja::{Value, context};

use super::words::Lang;
use crate::AppState;

const SIZE: f64 = 640.0;
const C: f64 = SIZE / 2.0;
/// The phase rings: the outermost at this radius, each next one 17 inside it.
const PHASE_R: f64 = 176.0;
const RING_GAP: f64 = 17.0;
const QUARTER_LABEL_R: f64 = 197.0;
/// The unit ring.
const DOTS_FROM: f64 = 226.0;
const DOT_GAP: f64 = 9.0;
const DOT_ROWS: usize = 7;
const STEP_LABEL_R: f64 = 296.0;
/// Colours chosen to keep a 3:1 contrast on white (graphics) and to tell the phases apart.
const COLORS: [&str; 6] = [
    "#2f5f8f", "#b3541e", "#2e7d32", "#7b4f8e", "#b0243a", "#1f6f6b",
];

/// Text for an SVG attribute or element, escaped as the report's charts are.
pub(super) use hjul_report::chart::esc as escape;

fn point(r: f64, a: f64) -> (f64, f64) {
    (C + r * a.cos(), C + r * a.sin())
}

/// The steps around the unit ring, in the order a unit goes through them.
const STEPS: [Step; 6] = Step::ALL;

/// The wheel on `today`, the legend of its phases, and the cycle's year. `rows` are the
/// units to place.
pub fn wheel(
    state: &AppState,
    today: NaiveDate,
    lang: Lang,
    rows: &[&StatusRow],
) -> (String, Vec<Value>, i32) {
    let words = state.words();
    let def = &state.core().wheel().definition;
    let plan = def.cycle_on(today);
    let cycle = plan.cycle();
    let quarters = f64::from(cycle.length_quarters());
    let angle = |q: f64| -PI / 2.0 + 2.0 * PI * q / quarters;
    let mut svg = String::new();
    let title = words.word(lang, "wheel.title");
    let _ = write!(
        svg,
        r##"<svg id="wheel" xmlns="http://www.w3.org/2000/svg" viewBox="-190 -12 {} {}" role="group" aria-labelledby="wheel-title"><title id="wheel-title">{}</title>"##,
        SIZE + 400.0,
        SIZE + 24.0,
        escape(&title)
    );
    let _ = write!(
        svg,
        r##"<circle cx="{C}" cy="{C}" r="{}" fill="#fff" stroke="#c5ccd6"/>"##,
        QUARTER_LABEL_R + 10.0
    );
    let q_letter = words.word(lang, "wheel.quarter");
    for q in 0..cycle.length_quarters() {
        let a = angle(f64::from(q));
        let (x1, y1) = point(40.0, a);
        let (x2, y2) = point(QUARTER_LABEL_R + 10.0, a);
        let _ = write!(
            svg,
            r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#e1e5ea"/>"##
        );
        let quarter = cycle.quarter(q);
        let (tx, ty) = point(QUARTER_LABEL_R, angle(f64::from(q) + 0.5));
        let _ = write!(
            svg,
            r##"<text class="quarter-label" x="{tx:.1}" y="{:.1}" font-size="13" text-anchor="middle" fill="#3d4855">{}{} {}</text>"##,
            ty + 4.5,
            escape(&q_letter),
            quarter.number(),
            quarter.year() % 100
        );
    }
    let open = plan.open_phases(today);
    let mut legend = Vec::new();
    for (i, (window, dates)) in def.phases().iter().zip(plan.phases()).enumerate() {
        let r = PHASE_R - RING_GAP * i as f64;
        let a0 = angle(f64::from(window.first_quarter)) + 0.03;
        let a1 = angle(f64::from(window.last_quarter) + 1.0) - 0.03;
        let (x0, y0) = point(r, a0);
        let (x1, y1) = point(r, a1);
        let large = i32::from(a1 - a0 > PI);
        let color = COLORS[i % COLORS.len()];
        let is_open = open.contains(&window.phase);
        let name = if lang == Lang::Da {
            &window.name_da
        } else {
            &window.name_en
        };
        let _ = write!(
            svg,
            r##"<path class="phase" data-phase="{}" d="M {x0:.1} {y0:.1} A {r} {r} 0 {large} 1 {x1:.1} {y1:.1}" fill="none" stroke="{color}" stroke-width="{}" stroke-linecap="butt" opacity="{}"><title>{}</title></path>"##,
            window.phase,
            if is_open { 12 } else { 8 },
            if is_open { "1" } else { "0.5" },
            escape(name),
        );
        // The arc's number, where it starts: each ring has its own radius, so no two
        // numbers meet.
        let (nx, ny) = point(r, a0 + 0.09);
        let _ = write!(
            svg,
            r##"<g class="phase-number"><circle cx="{nx:.1}" cy="{ny:.1}" r="7" fill="#fff" stroke="{color}" stroke-width="1.5"/><text x="{nx:.1}" y="{:.1}" font-size="9" font-weight="700" text-anchor="middle" fill="#1d2430">{}</text></g>"##,
            ny + 3.2,
            i + 1
        );
        legend.push(context! {
            number => i + 1,
            name => name.clone(),
            class => format!("phase-{i}"),
            opens => dates.opens.to_string(),
            closes => dates.closes.to_string(),
            open => is_open,
        });
    }
    // Today: the share of the cycle that has passed. The hand ends inside the phase rings.
    let total = (cycle.ends() - cycle.starts()).num_days() as f64 + 1.0;
    let passed = (today - cycle.starts()).num_days() as f64 + 0.5;
    let a = -PI / 2.0 + 2.0 * PI * (passed / total);
    let (hx, hy) = point(PHASE_R + 6.0, a);
    let _ = write!(
        svg,
        r##"<line id="today" x1="{C}" y1="{C}" x2="{hx:.1}" y2="{hy:.1}" stroke="#1d2430" stroke-width="2.5"><title>{}</title></line><circle cx="{C}" cy="{C}" r="4" fill="#1d2430"/>"##,
        escape(&words.of(lang).date(today))
    );
    units(&mut svg, state, lang, rows, quarters);
    let _ = write!(
        svg,
        r##"<text x="{C}" y="{}" font-size="18" text-anchor="middle" font-weight="600" fill="#1d2430" stroke="#fff" stroke-width="5" paint-order="stroke">{} {}</text></svg>"##,
        C + 30.0,
        escape(&words.word(lang, "wheel.cycle")),
        cycle.year()
    );
    (svg, legend, cycle.year())
}

/// The ring of steps with every unit in its step's sector.
fn units(svg: &mut String, state: &AppState, lang: Lang, rows: &[&StatusRow], quarters: f64) {
    let words = state.words();
    // From the start of quarter 1 (the dialogue) to the end of the last quarter (the
    // midway status): the steps in the order of the cycle.
    let start = -PI / 2.0 + 2.0 * PI / quarters;
    let span = 2.0 * PI * (quarters - 1.0) / quarters / STEPS.len() as f64;
    let by_step =
        |s: Step| -> Vec<&&StatusRow> { rows.iter().filter(|r| r.step == Some(s)).collect() };
    // How many dots fit in a sector: rows of dots at growing radii.
    let capacity: usize = (0..DOT_ROWS)
        .map(|k| {
            let r = DOTS_FROM + DOT_GAP * k as f64;
            ((span - 0.06) * r / DOT_GAP).floor() as usize
        })
        .sum();
    let dots = STEPS.iter().all(|s| by_step(*s).len() <= capacity);
    for (i, step) in STEPS.iter().enumerate() {
        let a0 = start + span * i as f64;
        let a1 = a0 + span;
        let name = words.word(lang, &format!("step.{}", step.key()));
        let members = by_step(*step);
        // The sector's band.
        let r_in = DOTS_FROM - 7.0;
        let r_out = DOTS_FROM + DOT_GAP * (DOT_ROWS as f64 - 1.0) + 7.0;
        let (x0, y0) = point(r_in, a0 + 0.01);
        let (x1, y1) = point(r_out, a0 + 0.01);
        let (x2, y2) = point(r_out, a1 - 0.01);
        let (x3, y3) = point(r_in, a1 - 0.01);
        let _ = write!(
            svg,
            r##"<path class="step" data-step="{}" d="M {x0:.1} {y0:.1} L {x1:.1} {y1:.1} A {r_out} {r_out} 0 0 1 {x2:.1} {y2:.1} L {x3:.1} {y3:.1} A {r_in} {r_in} 0 0 0 {x0:.1} {y0:.1} Z" fill="{}" stroke="#c5ccd6"><title>{} ({})</title></path>"##,
            step.key(),
            if i % 2 == 0 { "#f3f5f8" } else { "#e9edf2" },
            escape(&name),
            members.len()
        );
        // The step's name and count outside the ring, anchored away from the centre.
        let mid = (a0 + a1) / 2.0;
        let (lx, ly) = point(STEP_LABEL_R, mid);
        let anchor = if mid.cos() > 0.3 {
            "start"
        } else if mid.cos() < -0.3 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            r##"<text class="step-label" x="{lx:.1}" y="{ly:.1}" font-size="15" text-anchor="{anchor}" fill="#1d2430">{} <tspan font-weight="700" data-count="{}">{}</tspan></text>"##,
            escape(&name),
            step.key(),
            members.len()
        );
        if !dots {
            let (cx, cy) = point((r_in + r_out) / 2.0, mid);
            let _ = write!(
                svg,
                r##"<a href="/?step={}"><circle class="count" cx="{cx:.1}" cy="{cy:.1}" r="16" fill="#2f5f8f"/><text x="{cx:.1}" y="{:.1}" font-size="11" font-weight="700" text-anchor="middle" fill="#fff">{}</text><title>{} ({})</title></a>"##,
                step.key(),
                cy + 4.0,
                members.len(),
                escape(&name),
                members.len()
            );
            continue;
        }
        // Dots row by row from the inside out, each row filled along the sector.
        let mut placed = 0;
        'rows: for k in 0..DOT_ROWS {
            let r = DOTS_FROM + DOT_GAP * k as f64;
            let fit = ((span - 0.06) * r / DOT_GAP).floor() as usize;
            let step_angle = DOT_GAP / r;
            for j in 0..fit {
                let Some(row) = members.get(placed) else {
                    break 'rows;
                };
                let a = a0 + 0.03 + step_angle * (j as f64 + 0.5);
                let (x, y) = point(r, a);
                let late = row.overdue_days > 0;
                let _ = write!(
                    svg,
                    r##"<a class="unit-dot" href="/units/{}" data-unit="{}"><circle cx="{x:.1}" cy="{y:.1}" r="3.6" fill="{}" stroke="#fff" stroke-width="0.8"/><title>{}{}</title></a>"##,
                    escape(&super::percent_encode(&row.unit_id)),
                    escape(&row.unit_id),
                    if late { "#b0243a" } else { "#2f5f8f" },
                    escape(&row.name),
                    if late {
                        format!(" — {}", escape(&words.word(lang, "wheel.late")))
                    } else {
                        String::new()
                    }
                );
                placed += 1;
            }
        }
    }
}
