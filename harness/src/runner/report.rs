//! The summary table on stdout and the JUnit XML file CI systems read.

use std::fmt::Write as _;

use super::{CaseResult, Verdict};

/// One line per case, then totals and what failed in detail.
pub fn table(results: &[CaseResult]) -> String {
    let mut out = String::new();
    let w = results
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        out,
        "{:<w$}  {:<8}  {:<20}  {:>7}  NOTE",
        "SCENARIO", "PROVIDER", "RESULT", "TIME"
    );
    for r in results {
        let note = match &r.verdict {
            Verdict::Skipped(why) => why.clone(),
            Verdict::Failed { step, .. } => format!("step `{step}` failed"),
            Verdict::StillReproduces { step, .. } => format!("step `{step}` fails as the bug says"),
            _ => r.notes.first().cloned().unwrap_or_default(),
        };
        let time = if r.duration.is_zero() {
            "-".to_owned()
        } else {
            format!("{:.1}s", r.duration.as_secs_f64())
        };
        let _ = writeln!(
            out,
            "{:<w$}  {:<8}  {:<20}  {:>7}  {note}",
            r.scenario,
            r.provider.as_str(),
            r.verdict.label(),
            time
        );
    }
    let count = |f: fn(&Verdict) -> bool| results.iter().filter(|r| f(&r.verdict)).count();
    let total: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} still reproduce, {} no longer reproduce, {} skipped in {total:.1}s",
        count(|v| matches!(v, Verdict::Passed)),
        count(|v| matches!(v, Verdict::Failed { .. })),
        count(|v| matches!(v, Verdict::StillReproduces { .. })),
        count(|v| matches!(v, Verdict::NoLongerReproduces)),
        count(|v| matches!(v, Verdict::Skipped(_))),
    );
    for r in results {
        if let Verdict::Failed { step, message } = &r.verdict {
            let _ = writeln!(
                out,
                "\n--- {}/{}: step `{step}` failed\n{message}",
                r.scenario, r.provider
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

/// JUnit XML: one test suite, a test case per scenario × provider (class = scenario).
pub fn junit(results: &[CaseResult]) -> String {
    let failures = results.iter().filter(|r| !r.verdict.ok()).count();
    let skipped = results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Skipped(_)))
        .count();
    let total: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"secretbench\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        results.len()
    );
    for r in results {
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&r.scenario),
            r.provider.as_str(),
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
                    "><system-out>still reproduces: step {} fails: {}</system-out></testcase>",
                    xml_escape(step),
                    xml_escape(message)
                );
            }
            Verdict::NoLongerReproduces => {
                let _ = writeln!(
                    out,
                    "><system-out>no longer reproduces</system-out></testcase>"
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
    use super::*;
    use crate::scenario::model::Provider;
    use std::time::Duration;

    fn case(name: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            scenario: name.into(),
            provider: Provider::Azure,
            verdict,
            duration: Duration::from_millis(1500),
            steps: vec![],
            notes: vec![],
            artifacts: None,
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
        assert!(t.contains("rotation  azure     FAIL"), "{t}");
        assert!(t.contains("1 passed, 1 failed, 1 still reproduce"), "{t}");
        assert!(
            t.contains("--- rotation/azure: step `rotated` failed\nfile contains"),
            "{t}"
        );
        let x = junit(&results);
        assert!(x.contains("tests=\"3\" failures=\"1\""), "{x}");
        assert!(x.contains("<failure message=\"step rotated failed\">file contains &quot;old&quot; &lt;x&gt;</failure>"), "{x}");
    }
}
