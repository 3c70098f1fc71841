//! The summary table on stdout and the JUnit XML file CI systems read.

use std::fmt::Write as _;

use super::{CaseResult, Verdict};

/// The RESULT column: the verdict, or the count of a repeated case (`reproduces 3/5`, with
/// the attempts whose trigger did not hold: `reproduces 5/5, 3 attempts untriggered`).
pub fn result_label(r: &CaseResult) -> String {
    match (&r.tally, &r.verdict) {
        (_, Verdict::Failed { .. })
        | (_, Verdict::Skipped(_))
        | (_, Verdict::Inconclusive { .. })
        | (_, Verdict::NotTriggered { .. })
        | (None, _) => r.verdict.label().to_owned(),
        (Some(t), _) => t.label(),
    }
}

/// Why a case is inconclusive: `the trigger step `X` never held in K attempts`.
pub fn inconclusive_note(step: &str, attempts: u32) -> String {
    let runs = if attempts == 1 { "attempt" } else { "attempts" };
    format!("the trigger step `{step}` never held in {attempts} {runs}")
}

/// How a case went on one set of versions, for the per-version line.
fn short_verdict(r: &CaseResult) -> String {
    match (&r.verdict, &r.tally) {
        (Verdict::StillReproduces { .. } | Verdict::NoLongerReproduces, Some(t)) => t.label(),
        (Verdict::StillReproduces { .. }, None) => "reproduces".to_owned(),
        (Verdict::NoLongerReproduces, None) => "no longer reproduces".to_owned(),
        (Verdict::Passed, _) => "passes".to_owned(),
        (Verdict::Failed { step, .. }, _) => format!("FAILS (step `{step}`)"),
        (Verdict::Inconclusive { step, attempts, .. }, _) => {
            format!("inconclusive ({})", inconclusive_note(step, *attempts))
        }
        (Verdict::NotTriggered { step, .. }, _) => format!("not triggered (step `{step}`)"),
        (Verdict::Skipped(_), _) => "skipped".to_owned(),
    }
}

/// One line per scenario × provider that ran on more than one set of versions:
/// `sync-without-mount/azure: reproduces on driver v1.4.4; reproduces on driver v1.6.0`,
/// naming only the versions that differ between its runs.
pub fn per_version(results: &[CaseResult]) -> Vec<String> {
    let mut keys: Vec<(&str, crate::scenario::model::Provider)> = Vec::new();
    for r in results {
        if !keys.contains(&(r.scenario.as_str(), r.provider)) {
            keys.push((r.scenario.as_str(), r.provider));
        }
    }
    let mut lines = Vec::new();
    for (scenario, provider) in keys {
        let runs: Vec<&CaseResult> = results
            .iter()
            .filter(|r| r.scenario == scenario && r.provider == provider)
            .collect();
        if runs.len() < 2 {
            continue;
        }
        let parts: Vec<Vec<&str>> = runs
            .iter()
            .map(|r| r.versions.split(", ").collect())
            .collect();
        let differs = |part: &str| !parts.iter().all(|ps| ps.contains(&part));
        let each: Vec<String> = runs
            .iter()
            .zip(&parts)
            .map(|(r, ps)| {
                let v: Vec<&str> = ps.iter().copied().filter(|p| differs(p)).collect();
                format!("{} on {}", short_verdict(r), v.join(", "))
            })
            .collect();
        lines.push(format!("{scenario}/{provider}: {}", each.join("; ")));
    }
    lines
}

/// One line per case, then totals and what failed in detail.
pub fn table(results: &[CaseResult]) -> String {
    let mut out = String::new();
    let w = results
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let vw = results
        .iter()
        .map(|r| r.versions.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        out,
        "{:<w$}  {:<8}  {:<vw$}  {:<20}  {:>7}  NOTE",
        "SCENARIO", "PROVIDER", "VERSIONS", "RESULT", "TIME"
    );
    for r in results {
        let note = match &r.verdict {
            Verdict::Skipped(why) => why.clone(),
            Verdict::Failed { step, .. } => format!("step `{step}` failed"),
            Verdict::StillReproduces { step, .. } => format!("step `{step}` fails as the bug says"),
            Verdict::Inconclusive { step, attempts, .. } => inconclusive_note(step, *attempts),
            Verdict::NotTriggered { step, .. } => format!("trigger step `{step}` did not hold"),
            _ => r.notes.first().cloned().unwrap_or_default(),
        };
        let time = if r.duration.is_zero() {
            "-".to_owned()
        } else {
            format!("{:.1}s", r.duration.as_secs_f64())
        };
        let _ = writeln!(
            out,
            "{:<w$}  {:<8}  {:<vw$}  {:<20}  {:>7}  {note}",
            r.scenario,
            r.provider.as_str(),
            r.versions,
            result_label(r),
            time
        );
    }
    let count = |f: fn(&Verdict) -> bool| results.iter().filter(|r| f(&r.verdict)).count();
    let total: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} still reproduce, {} no longer reproduce, {} inconclusive, {} skipped in {total:.1}s",
        count(|v| matches!(v, Verdict::Passed)),
        count(|v| matches!(v, Verdict::Failed { .. })),
        count(|v| matches!(v, Verdict::StillReproduces { .. })),
        count(|v| matches!(v, Verdict::NoLongerReproduces)),
        count(|v| !v.triggered()),
        count(|v| matches!(v, Verdict::Skipped(_))),
    );
    let by_version = per_version(results);
    if !by_version.is_empty() {
        let _ = writeln!(out, "\nper version:");
        for line in by_version {
            let _ = writeln!(out, "  {line}");
        }
    }
    for r in results {
        if let Verdict::Failed { step, message } = &r.verdict {
            let _ = writeln!(
                out,
                "\n--- {}/{} ({}): step `{step}` failed\n{message}",
                r.scenario, r.provider, r.versions
            );
            if let Some(a) = &r.artifacts {
                let _ = writeln!(out, "artifacts: {}", a.display());
            }
        }
        for note in r.notes.iter().filter(|n| n.contains("snapshot")) {
            let _ = writeln!(out, "{}/{}: {note}", r.scenario, r.provider);
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// JUnit XML: one test suite, a test case per scenario × provider × versions (class =
/// scenario, name = `provider (versions)`; a repeated case's count in its system-out). An
/// inconclusive case is `skipped`, the one JUnit outcome that is neither pass nor failure.
pub fn junit(results: &[CaseResult]) -> String {
    let failures = results.iter().filter(|r| !r.verdict.ok()).count();
    let skipped = results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Skipped(_)) || !r.verdict.triggered())
        .count();
    let total: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"secretbench\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        results.len()
    );
    for r in results {
        let name = if r.versions.is_empty() {
            r.provider.as_str().to_owned()
        } else {
            format!("{} ({})", r.provider, r.versions)
        };
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&r.scenario),
            xml_escape(&name),
            r.duration.as_secs_f64()
        );
        match &r.verdict {
            Verdict::Failed { step, message } => {
                let _ = writeln!(
                    out,
                    "><failure message=\"step {} failed\">{}</failure></testcase>",
                    xml_escape(step),
                    xml_escape(message)
                );
            }
            Verdict::Skipped(why) => {
                let _ = writeln!(
                    out,
                    "><skipped message=\"{}\"/></testcase>",
                    xml_escape(why)
                );
            }
            Verdict::StillReproduces { step, message } => {
                let _ = writeln!(
                    out,
                    "><system-out>{}: step {} fails: {}</system-out></testcase>",
                    xml_escape(&result_label(r).replace("still reproduces", "reproduces")),
                    xml_escape(step),
                    xml_escape(message)
                );
            }
            Verdict::NoLongerReproduces => {
                let _ = writeln!(
                    out,
                    "><system-out>{}</system-out></testcase>",
                    xml_escape(&result_label(r))
                );
            }
            Verdict::Inconclusive {
                step,
                attempts,
                message,
            } => {
                let _ = writeln!(
                    out,
                    "><skipped message=\"inconclusive: {}\"/><system-out>last attempt: step {} failed: {}</system-out></testcase>",
                    xml_escape(&inconclusive_note(step, *attempts)),
                    xml_escape(step),
                    xml_escape(message)
                );
            }
            Verdict::NotTriggered { step, message } => {
                let _ = writeln!(
                    out,
                    "><skipped message=\"not triggered: step {} failed\"/><system-out>{}</system-out></testcase>",
                    xml_escape(step),
                    xml_escape(message)
                );
            }
            Verdict::Passed => {
                let _ = writeln!(out, "/>");
            }
        }
    }
    out.push_str("</testsuite></testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_per_version_names_what_differs() {
        use crate::runner::matrix::Tally;
        let mut old = case(
            "bug",
            Verdict::StillReproduces {
                step: "s".into(),
                message: "m".into(),
            },
        );
        old.versions = "driver v1.4.8, azure v1.8.2".into();
        let mut new = case("bug", Verdict::NoLongerReproduces);
        new.tally = Some(Tally {
            runs: 5,
            reproduced: 0,
            passed: 5,
            failed: 0,
            untriggered: 0,
            wanted: 5,
            repro: true,
        });
        let once = case("other", Verdict::Passed);
        let lines = per_version(&[old, new.clone(), once]);
        assert_eq!(
            lines,
            ["bug/azure: reproduces on driver v1.4.8; reproduces 0/5 on driver v1.6.0"]
        );
        assert_eq!(result_label(&new), "reproduces 0/5");
        let t = table(&[new]);
        assert!(t.contains("reproduces 0/5"), "{t}");
    }

    use super::*;
    use crate::scenario::model::Provider;
    use std::time::Duration;

    #[test]
    fn inconclusive_cases_say_which_trigger_never_held() {
        use crate::runner::matrix::Tally;
        let mut never = case(
            "racy",
            Verdict::Inconclusive {
                step: "raced".into(),
                attempts: 8,
                message: "has an owner".into(),
            },
        );
        never.tally = Some(Tally {
            untriggered: 8,
            repro: true,
            ..Tally::default()
        });
        let mut counted = case(
            "racy",
            Verdict::StillReproduces {
                step: "gone".into(),
                message: "m".into(),
            },
        );
        counted.tally = Some(Tally {
            runs: 5,
            reproduced: 5,
            untriggered: 3,
            repro: true,
            ..Tally::default()
        });
        assert_eq!(result_label(&never), "inconclusive");
        assert_eq!(
            result_label(&counted),
            "reproduces 5/5, 3 attempts untriggered"
        );
        let t = table(&[never.clone(), counted.clone()]);
        assert!(
            t.contains("the trigger step `raced` never held in 8 attempts"),
            "{t}"
        );
        assert!(
            t.contains("0 passed, 0 failed, 1 still reproduce, 0 no longer reproduce, 1 inconclusive, 0 skipped"),
            "{t}"
        );
        let mut other = never.clone();
        other.versions = "driver v1.5.4, azure v1.8.2".into();
        assert_eq!(
            per_version(&[never.clone(), other]),
            [
                "racy/azure: inconclusive (the trigger step `raced` never held in 8 attempts) on driver v1.6.0; inconclusive (the trigger step `raced` never held in 8 attempts) on driver v1.5.4"
            ]
        );
        let x = junit(&[never, counted]);
        assert!(x.contains("failures=\"0\" skipped=\"1\""), "{x}");
        assert!(
            x.contains("<skipped message=\"inconclusive: the trigger step `raced` never held in 8 attempts\"/>"),
            "{x}"
        );
    }

    fn case(name: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            scenario: name.into(),
            provider: Provider::Azure,
            verdict,
            duration: Duration::from_millis(1500),
            steps: vec![],
            notes: vec![],
            artifacts: None,
            versions: "driver v1.6.0, azure v1.8.2".into(),
            tally: None,
            timeline: None,
        }
    }

    #[test]
    fn table_and_junit_say_what_failed() {
        let results = vec![
            case("mount", Verdict::Passed),
            case(
                "rotation",
                Verdict::Failed {
                    step: "rotated".into(),
                    message: "file contains \"old\" <x>".into(),
                },
            ),
            case(
                "repro",
                Verdict::StillReproduces {
                    step: "check".into(),
                    message: "m".into(),
                },
            ),
        ];
        let t = table(&results);
        assert!(
            t.contains("rotation  azure     driver v1.6.0, azure v1.8.2  FAIL"),
            "{t}"
        );
        assert!(t.contains("1 passed, 1 failed, 1 still reproduce"), "{t}");
        assert!(
            t.contains(
                "--- rotation/azure (driver v1.6.0, azure v1.8.2): step `rotated` failed\nfile contains"
            ),
            "{t}"
        );
        assert!(t.contains("VERSIONS"), "{t}");
        let x = junit(&results);
        assert!(
            x.contains("name=\"azure (driver v1.6.0, azure v1.8.2)\""),
            "{x}"
        );
        assert!(x.contains("tests=\"3\" failures=\"1\""), "{x}");
        assert!(x.contains("<failure message=\"step rotated failed\">file contains &quot;old&quot; &lt;x&gt;</failure>"), "{x}");
    }
}
