//! Opens a secretbench `report.html` in headless Chromium (Debian's `chromium`), driven
//! through the DevTools protocol, and checks what renders against the `report.json` beside it:
//! one table row and one timeline per case, the rotation chart's marks, the journal, events
//! and observations drawn, the filters, no console error, no request leaving the file, and
//! screenshots that show something.
//!
//! - [`browser`]: launching Chromium and reading the page.
//! - [`fixture`]: a report of made-up cases, for checking without a cluster.

pub mod browser;
pub mod fixture;

use std::collections::BTreeMap;

use secretbench::report::model::Report;
use serde::Deserialize;

/// What the page drew, as counted in its DOM after it said it was done.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dom {
    pub rows: usize,
    pub cases: usize,
    pub timelines: usize,
    pub episodes: usize,
    pub rotation_marks: usize,
    pub timeline_rotation_marks: usize,
    pub journal: usize,
    pub events: usize,
    pub observations: usize,
    pub history_points: usize,
    pub mismatch_tables: usize,
    pub stats_rows: usize,
    /// Visible table rows with the provider filter set to each provider.
    pub by_provider: BTreeMap<String, usize>,
    /// Visible table rows with the verdict filter set to each verdict.
    pub by_verdict: BTreeMap<String, usize>,
    /// The page's own render time (script start to done).
    pub render_ms: u64,
}

/// Everything one look at a report found.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub dom: Dom,
    /// Console errors, uncaught exceptions and browser log errors.
    pub errors: Vec<String>,
    /// Requests to anything but the report file itself.
    pub requests: Vec<String>,
    /// Navigation start to the page saying it is done, as the harness saw it.
    pub load_ms: u64,
    pub screenshots: Vec<Screenshot>,
}

#[derive(Debug, Clone)]
pub struct Screenshot {
    pub name: String,
    pub bytes: usize,
    pub width: u32,
    pub height: u32,
    /// Pixels that are not the page background (white).
    pub inked: f64,
}

/// What the DOM must hold for `report`, and anything else wrong; empty when all is well.
pub fn problems(report: &Report, history_points: usize, r: &Rendered) -> Vec<String> {
    let mut out = Vec::new();
    let mut expect = |what: &str, got: usize, want: usize| {
        if got != want {
            out.push(format!(
                "{what}: the page shows {got}, report.json has {want}"
            ));
        }
    };
    let cases = &report.cases;
    let timelines: Vec<_> = cases.iter().filter_map(|c| c.timeline.as_ref()).collect();
    let rotations: Vec<_> = cases.iter().flat_map(|c| &c.rotations).collect();
    let marks = rotations
        .iter()
        .map(|r| {
            [r.read.is_some(), r.file.is_some(), r.secret.is_some()]
                .iter()
                .filter(|b| **b)
                .count()
        })
        .sum();
    let d = &r.dom;
    expect("table rows", d.rows, cases.len());
    expect("case sections", d.cases, cases.len());
    expect("timelines", d.timelines, timelines.len());
    expect("rotation chart rows", d.episodes, rotations.len());
    expect("rotation chart marks", d.rotation_marks, marks);
    // Each rotation draws the write and each mark it has as a line across its timeline.
    expect(
        "timeline rotation lines",
        d.timeline_rotation_marks,
        rotations.len() + marks,
    );
    expect(
        "journal entries drawn",
        d.journal,
        timelines.iter().map(|t| t.journal.len()).sum(),
    );
    expect(
        "events drawn",
        d.events,
        timelines.iter().map(|t| t.events.len()).sum(),
    );
    expect(
        "observations drawn",
        d.observations,
        timelines.iter().map(|t| t.observations.len()).sum(),
    );
    // The chart across runs shows the earlier runs' points and this run's.
    let this_run = rotations.iter().filter(|r| r.file.is_some()).count();
    expect(
        "history points",
        d.history_points,
        if history_points > 0 {
            history_points + this_run
        } else {
            0
        },
    );
    expect(
        "snapshot mismatch tables",
        d.mismatch_tables,
        timelines.iter().map(|t| t.snapshot_mismatches.len()).sum(),
    );
    let providers: std::collections::BTreeSet<_> =
        rotations_by_provider(report).into_keys().collect();
    expect("rotation statistics rows", d.stats_rows, providers.len());
    let mut by_provider = BTreeMap::new();
    let mut by_verdict = BTreeMap::new();
    for c in cases {
        *by_provider
            .entry(c.provider.as_str().to_owned())
            .or_insert(0) += 1;
        let v = serde_json::to_value(c.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *by_verdict.entry(v).or_insert(0) += 1;
    }
    if d.by_provider != by_provider {
        out.push(format!(
            "provider filter: rows shown {:?}, want {by_provider:?}",
            d.by_provider
        ));
    }
    if d.by_verdict != by_verdict {
        out.push(format!(
            "verdict filter: rows shown {:?}, want {by_verdict:?}",
            d.by_verdict
        ));
    }
    for e in &r.errors {
        out.push(format!("browser error: {e}"));
    }
    for u in &r.requests {
        out.push(format!(
            "the page requested {u}; a report must load nothing"
        ));
    }
    for s in &r.screenshots {
        // A page that drew nothing is background only; text, bars and badges ink far more
        // than half a percent of any of these shots.
        if s.bytes == 0 || s.inked < 0.005 {
            out.push(format!(
                "screenshot {} is blank ({} bytes, {:.2}% inked)",
                s.name,
                s.bytes,
                s.inked * 100.0
            ));
        }
    }
    out
}

fn rotations_by_provider(report: &Report) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in &report.cases {
        if !c.rotations.is_empty() {
            *m.entry(c.provider.as_str().to_owned()).or_insert(0) += c.rotations.len();
        }
    }
    m
}
