#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! The report of a made-up 60-case run, opened in headless Chromium: what the page draws must
//! match report.json, with no browser error and no request. Needs Debian's `chromium`
//! (`just test` installs it); `SECRETBENCH_SKIP_BROWSER=1` skips, saying so.

use std::path::Path;

use secretbench::report;
use secretbench_report_check::{browser, fixture, problems};

fn chromium() -> Option<std::path::PathBuf> {
    if std::env::var_os("SECRETBENCH_SKIP_BROWSER").is_some() {
        eprintln!("SECRETBENCH_SKIP_BROWSER is set: the report is not opened in a browser");
        return None;
    }
    Some(browser::find_chromium().unwrap())
}

fn history_points(dir: &Path) -> usize {
    ["history-1", "history-2"]
        .iter()
        .map(|h| {
            report::read(&dir.join(h).join("report.json"))
                .unwrap()
                .cases
                .iter()
                .flat_map(|c| &c.rotations)
                .filter(|r| r.file.is_some())
                .count()
        })
        .sum()
}

#[tokio::test]
async fn the_fixture_report_draws_everything_it_holds() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let written = fixture::write_run(dir.path()).unwrap();
    let r = report::read(&written.json).unwrap();
    let seen = browser::look(&chromium, &written.html, Some(dir.path()))
        .await
        .unwrap();
    let found = problems(&r, history_points(dir.path()), &seen);
    assert!(found.is_empty(), "{found:#?}");
    // The fixture's shape, so the comparison above compared something.
    let d = &seen.dom;
    assert_eq!((d.rows, d.cases, d.timelines), (60, 60, 56));
    assert_eq!(d.episodes, 15);
    assert_eq!(d.rotation_marks, 45);
    assert_eq!(d.stats_rows, 3);
    assert!(d.history_points > 15, "{}", d.history_points);
    assert_eq!(d.mismatch_tables, 5);
    assert_eq!(d.by_provider.values().sum::<usize>(), 60);
    let names: Vec<&str> = seen.screenshots.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["report", "rotation", "timeline"]);
    assert!(dir.path().join("timeline.png").metadata().unwrap().len() > 0);
}

#[tokio::test]
async fn a_broken_page_is_caught() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let written = fixture::write_run(dir.path()).unwrap();
    let r = report::read(&written.json).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    // A page that reaches out: the policy blocks the load, and the check must say so.
    let broken = html.replacen(
        "<main id=\"app\">",
        "<img src=\"http://127.0.0.1:9/x.png\"><main id=\"app\">",
        1,
    );
    std::fs::write(&written.html, broken).unwrap();
    let seen = browser::look(&chromium, &written.html, None).await.unwrap();
    let found = problems(&r, history_points(dir.path()), &seen);
    assert!(
        found.iter().any(|p| p.contains("127.0.0.1:9")),
        "{found:#?}"
    );
}
