//! The run report: `report.json` (documented in `docs/report.md`) and `report.html`, one
//! self-contained page (styles, script and data inline, no network) with the summary table,
//! one timeline per case, rotation latency per provider (also across earlier runs) and
//! snapshot mismatches side by side.
//!
//! - [`model`]: the `report.json` schema.
//! - [`rotation`]: rotation latency from a case's timeline.
//! - [`html`]: the page.

pub mod html;
pub mod model;
pub mod rotation;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::runner::{CaseResult, RunningVersions, Verdict};
use crate::scenario::model::Provider;
use model::{CaseReport, Report, RunInfo, Summary, VERSION, VerdictKind};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a secretbench report.json: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "{path} is report.json version {found}; this secretbench reads versions up to {VERSION}"
    )]
    Version { path: PathBuf, found: u64 },
}

/// What the runner knows about the run as a whole.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub started_at: OffsetDateTime,
    pub backend: String,
    pub running: RunningVersions,
    pub rotation: Duration,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The report of a run whose report goes to `dir` (artifacts links are relative to it).
pub fn build(results: &[CaseResult], meta: &RunMeta, dir: &Path) -> Report {
    let mut cases: Vec<CaseReport> = results.iter().map(|r| case(r, dir)).collect();
    // A case run on several sets of versions: one id per set.
    for i in 0..cases.len() {
        let twins = cases.iter().filter(|c| c.id == cases[i].id).count();
        if twins > 1
            && let Some(v) = &cases[i].versions
        {
            let suffix: String = v
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            cases[i].id = format!("{}-{suffix}", cases[i].id);
        }
    }
    let count = |k: VerdictKind| cases.iter().filter(|c| c.verdict == k).count();
    Report {
        version: VERSION,
        generator: format!("secretbench {}", env!("CARGO_PKG_VERSION")),
        run: RunInfo {
            started_at: meta.started_at,
            finished_at: crate::runner::timeline::now(),
            backend: meta.backend.clone(),
            driver: meta.running.driver.clone(),
            providers: meta.running.providers.clone(),
            rotation_interval_ms: ms(meta.rotation),
        },
        summary: Summary {
            passed: count(VerdictKind::Passed),
            failed: count(VerdictKind::Failed),
            still_reproduces: count(VerdictKind::StillReproduces),
            no_longer_reproduces: count(VerdictKind::NoLongerReproduces),
            inconclusive: count(VerdictKind::Inconclusive),
            skipped: count(VerdictKind::Skipped),
            duration_ms: results.iter().map(|r| ms(r.duration)).sum(),
        },
        cases,
    }
}

fn case(r: &CaseResult, dir: &Path) -> CaseReport {
    let (verdict, step, message) = match &r.verdict {
        Verdict::Passed => (VerdictKind::Passed, None, None),
        Verdict::Failed { step, message } => (
            VerdictKind::Failed,
            Some(step.clone()),
            Some(message.clone()),
        ),
        Verdict::StillReproduces { step, message } => (
            VerdictKind::StillReproduces,
            Some(step.clone()),
            Some(message.clone()),
        ),
        Verdict::NoLongerReproduces => (VerdictKind::NoLongerReproduces, None, None),
        // One untriggered run is only ever seen unfolded; it says as little as no run at all.
        Verdict::NotTriggered { step, message } => (
            VerdictKind::Inconclusive,
            Some(step.clone()),
            Some(message.clone()),
        ),
        Verdict::Inconclusive {
            step,
            attempts,
            message,
        } => (
            VerdictKind::Inconclusive,
            Some(step.clone()),
            Some(format!(
                "{}; last attempt: {message}",
                crate::runner::report::inconclusive_note(step, *attempts)
            )),
        ),
        Verdict::Skipped(why) => (VerdictKind::Skipped, None, Some(why.clone())),
    };
    CaseReport {
        id: format!("{}-{}", r.scenario, r.provider),
        scenario: r.scenario.clone(),
        provider: r.provider,
        verdict,
        verdict_label: crate::runner::report::result_label(r),
        versions: (!r.versions.is_empty()).then(|| r.versions.clone()),
        step,
        untriggered: r
            .tally
            .map(|t| t.untriggered)
            .or_else(|| (!r.verdict.triggered()).then_some(1))
            .filter(|n| *n > 0),
        message,
        duration_ms: ms(r.duration),
        notes: r.notes.clone(),
        artifacts: r.artifacts.as_deref().map(|a| link(a, dir)),
        rotations: r
            .timeline
            .as_ref()
            .map(rotation::rotations)
            .unwrap_or_default(),
        timeline: r.timeline.clone(),
    }
}

/// A folder link: relative to `dir` when inside it (the report and the artifacts move
/// together), else absolute (a relative path would resolve against the report's folder).
fn link(path: &Path, dir: &Path) -> String {
    let target = match path.strip_prefix(dir) {
        Ok(rel) => rel.to_owned(),
        Err(_) => std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
    };
    format!(
        "{}/",
        target
            .to_string_lossy()
            .replace('\\', "/")
            .trim_end_matches('/')
    )
}

/// One earlier run's rotation latencies, for the chart across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRun {
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub backend: String,
    pub driver: String,
    pub providers: BTreeMap<Provider, String>,
    /// Where it was read from.
    pub source: String,
    pub points: Vec<HistoryPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPoint {
    pub scenario: String,
    pub provider: Provider,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ms: Option<u64>,
}

impl HistoryRun {
    pub fn of(report: &Report, source: &str) -> Self {
        let points = report
            .cases
            .iter()
            .flat_map(|c| {
                c.rotations.iter().map(|r| HistoryPoint {
                    scenario: c.scenario.clone(),
                    provider: c.provider,
                    read_ms: r.read.as_ref().map(|m| m.after_write_ms),
                    file_ms: r.file.as_ref().map(|m| m.after_write_ms),
                    secret_ms: r.secret.as_ref().map(|m| m.after_write_ms),
                })
            })
            .collect();
        Self {
            started_at: report.run.started_at,
            backend: report.run.backend.clone(),
            driver: report.run.driver.clone(),
            providers: report.run.providers.clone(),
            source: source.to_owned(),
            points,
        }
    }
}

/// Reads a `report.json`, refusing versions newer than this build understands.
pub fn read(path: &Path) -> Result<Report, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| ReportError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let found = value["version"]
        .as_u64()
        .ok_or_else(|| ReportError::Parse {
            path: path.to_owned(),
            message: "no `version` field".into(),
        })?;
    if found > u64::from(VERSION) || found == 0 {
        return Err(ReportError::Version {
            path: path.to_owned(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|e| ReportError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The earlier runs named by `paths`, oldest first.
pub fn history(paths: &[PathBuf]) -> Result<Vec<HistoryRun>, ReportError> {
    let mut runs = Vec::new();
    for p in paths {
        runs.push(HistoryRun::of(&read(p)?, &p.display().to_string()));
    }
    runs.sort_by_key(|r| r.started_at);
    Ok(runs)
}

/// The files [`write`] made and their sizes.
#[derive(Debug, Clone)]
pub struct Written {
    pub json: PathBuf,
    pub html: PathBuf,
    pub json_bytes: usize,
    pub html_bytes: usize,
}

/// Writes `report.json` and `report.html` into `dir` (created if needed).
pub fn write(dir: &Path, report: &Report, history: &[HistoryRun]) -> Result<Written, ReportError> {
    let io = |action, path: &Path| {
        let path = path.to_owned();
        move |source| ReportError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| ReportError::Parse {
        path: dir.join("report.json"),
        message: e.to_string(),
    })?;
    let html = html::render(report, history);
    let (json_path, html_path) = (dir.join("report.json"), dir.join("report.html"));
    std::fs::write(&json_path, &json).map_err(io("writing", &json_path))?;
    std::fs::write(&html_path, &html).map_err(io("writing", &html_path))?;
    Ok(Written {
        json: json_path,
        html: html_path,
        json_bytes: json.len(),
        html_bytes: html.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::timeline::Recorder;

    fn result(scenario: &str, verdict: Verdict, artifacts: Option<PathBuf>) -> CaseResult {
        let timeline = (!matches!(verdict, Verdict::Skipped(_))).then(|| {
            let r = Recorder::new(&format!("sb-{scenario}-azure"));
            let s = r.begin(model::SpanKind::Step, "deploy", String::new());
            r.end(s, None);
            r.finish()
        });
        CaseResult {
            scenario: scenario.into(),
            provider: Provider::Azure,
            verdict,
            duration: Duration::from_millis(2500),
            steps: vec![],
            notes: vec![],
            artifacts,
            versions: "driver v1.6.0, azure v1.8.2".into(),
            tally: None,
            timeline,
        }
    }

    fn meta() -> RunMeta {
        RunMeta {
            started_at: crate::runner::timeline::now(),
            backend: "host".into(),
            running: RunningVersions {
                driver: "v1.6.0".into(),
                providers: BTreeMap::from([(Provider::Azure, "v1.8.2".into())]),
            },
            rotation: Duration::from_secs(30),
        }
    }

    #[test]
    fn builds_writes_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let results = vec![
            result("mount", Verdict::Passed, None),
            result(
                "rotation",
                Verdict::Failed {
                    step: "rotated".into(),
                    message: "timed out".into(),
                },
                Some(dir.path().join("rotation-azure")),
            ),
            result("sync", Verdict::Skipped("not installed".into()), None),
        ];
        let report = build(&results, &meta(), dir.path());
        assert_eq!(
            (
                report.summary.passed,
                report.summary.failed,
                report.summary.skipped
            ),
            (1, 1, 1)
        );
        assert_eq!(report.summary.duration_ms, 7500);
        assert_eq!(report.run.rotation_interval_ms, 30_000);
        let failed = &report.cases[1];
        assert_eq!(failed.id, "rotation-azure");
        assert_eq!(failed.step.as_deref(), Some("rotated"));
        assert_eq!(failed.artifacts.as_deref(), Some("rotation-azure/"));
        assert!(report.cases[2].timeline.is_none());
        let written = write(dir.path(), &report, &[]).unwrap();
        assert_eq!(read(&written.json).unwrap(), report);
        let html = std::fs::read_to_string(&written.html).unwrap();
        assert_eq!(html.len(), written.html_bytes);
        assert!(html.contains("rotation-azure"));
    }

    #[test]
    fn artifacts_outside_the_report_folder_keep_their_path() {
        assert_eq!(
            link(Path::new("/elsewhere/x-aws"), Path::new("/r")),
            "/elsewhere/x-aws/"
        );
        let outside = link(Path::new("artifacts/run-1/x-aws"), Path::new("elsewhere"));
        assert!(
            Path::new(&outside).is_absolute() && outside.ends_with("artifacts/run-1/x-aws/"),
            "{outside}"
        );
        assert_eq!(
            link(
                Path::new("artifacts/run-1/x-aws"),
                Path::new("artifacts/run-1")
            ),
            "x-aws/"
        );
    }

    #[test]
    fn history_refuses_newer_versions_and_keeps_rotation_points() {
        let dir = tempfile::tempdir().unwrap();
        let newer = dir.path().join("newer.json");
        std::fs::write(&newer, r#"{"version": 99}"#).unwrap();
        let e = history(std::slice::from_ref(&newer)).unwrap_err();
        assert!(e.to_string().contains("version 99"), "{e}");
        let not_report = dir.path().join("other.json");
        std::fs::write(&not_report, r#"{"version": 1, "cases": 3}"#).unwrap();
        assert!(matches!(
            history(&[not_report]).unwrap_err(),
            ReportError::Parse { .. }
        ));
        let report = build(
            &[result("mount", Verdict::Passed, None)],
            &meta(),
            dir.path(),
        );
        let written = write(dir.path(), &report, &[]).unwrap();
        let runs = history(&[written.json]).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].driver, "v1.6.0");
        assert!(runs[0].points.is_empty());
    }
}
