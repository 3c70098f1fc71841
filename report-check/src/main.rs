//! `secretbench-report-check DIR`: opens `DIR/report.html` in headless Chromium and checks
//! it against `DIR/report.json`; screenshots go beside them. `--fixture` first writes a
//! made-up 60-case run (and two earlier ones for the chart across runs) into DIR.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Parser;
use secretbench::report;
use secretbench_report_check::{browser, fixture, problems};

#[derive(Debug, Parser)]
#[command(
    name = "secretbench-report-check",
    about = "Check a secretbench run report in headless Chromium"
)]
struct Args {
    /// The folder holding report.html and report.json.
    dir: PathBuf,
    /// Write a made-up 60-case report (with two earlier runs as history) into DIR first.
    #[arg(long)]
    fixture: bool,
}

/// How many rotation points of earlier runs the page was given (the chart across runs).
fn history_points(html: &Path) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(html).with_context(|| format!("reading {}", html.display()))?;
    let start = "<script type=\"application/json\" id=\"report-data\">";
    let from = text
        .find(start)
        .map(|i| i + start.len())
        .context("report.html has no report-data element")?;
    let to = text[from..]
        .find("</script>")
        .context("report-data is not closed")?
        + from;
    let data: serde_json::Value =
        serde_json::from_str(&text[from..to]).context("report-data is not JSON")?;
    Ok(data["history"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["points"].as_array().into_iter().flatten())
        .filter(|p| p["fileMs"].is_u64())
        .count())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.fixture {
        fixture::write_run(&args.dir)?;
    }
    let (json, html) = (args.dir.join("report.json"), args.dir.join("report.html"));
    let r = report::read(&json)?;
    let points = history_points(&html)?;
    let chromium = browser::find_chromium()?;
    let seen = browser::look(&chromium, &html, Some(&args.dir)).await?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let d = &seen.dom;
    println!(
        "{}: {} cases, {} timelines, {} rotations; report.html {} KiB, report.json {} KiB",
        html.display(),
        r.cases.len(),
        d.timelines,
        d.episodes,
        size(&html).div_ceil(1024),
        size(&json).div_ceil(1024)
    );
    println!(
        "drawn in {} ms by the page's script, {} ms from navigation to drawn; {} journal entries, {} events, {} observations",
        d.render_ms, seen.load_ms, d.journal, d.events, d.observations
    );
    for s in &seen.screenshots {
        println!(
            "screenshot {}: {}x{}, {} KiB, {:.1}% inked -> {}",
            s.name,
            s.width,
            s.height,
            s.bytes.div_ceil(1024),
            s.inked * 100.0,
            args.dir.join(format!("{}.png", s.name)).display()
        );
    }
    let found = problems(&r, points, &seen);
    if found.is_empty() {
        println!("report check: ok");
        return Ok(());
    }
    for p in &found {
        eprintln!("report check: {p}");
    }
    anyhow::bail!("{} problems with {}", found.len(), html.display())
}
