//! Headless Chromium through the DevTools protocol (chromiumoxide): opens the report from
//! disk with a fresh profile and no network use, waits for the page to say it is drawn, counts
//! what it drew and takes screenshots.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::log::{EnableParams as LogEnable, EventEntryAdded};
use chromiumoxide::cdp::browser_protocol::network::{
    EnableParams as NetworkEnable, EventRequestWillBeSent,
};
use chromiumoxide::cdp::browser_protocol::page::{CaptureScreenshotFormat, Viewport};
use chromiumoxide::cdp::js_protocol::runtime::{EventConsoleApiCalled, EventExceptionThrown};
use chromiumoxide::page::ScreenshotParams;
use futures::StreamExt;
use secretbench::wait::{Poll, Timeout, until_poll};

use crate::{Dom, Rendered, Screenshot};

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "no Chromium found: install Debian's `chromium` (apt-get install chromium) or set SECRETBENCH_CHROMIUM"
    )]
    NotFound,
    #[error("Chromium: {0}")]
    Cdp(#[from] chromiumoxide::error::CdpError),
    #[error("the page did not finish drawing: {0}")]
    Timeout(#[from] Timeout),
    #[error("{0}")]
    Other(String),
}

/// `SECRETBENCH_CHROMIUM`, else the first `chromium`, `chromium-browser` or `google-chrome`
/// on PATH (Debian's package, or what a CI image ships).
pub fn find_chromium() -> Result<PathBuf, BrowserError> {
    if let Some(p) = std::env::var_os("SECRETBENCH_CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(BrowserError::NotFound)
}

/// The window the screenshots show.
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1000;
/// Generous: a 60-case report draws in well under a second on a loaded 2-core machine.
const DRAWN_WITHIN: Duration = Duration::from_secs(60);

/// Counts everything the checks compare, then tries each filter value and restores "all".
const COUNT_JS: &str = r#"(() => {
  const q = (s) => document.querySelectorAll(s).length;
  const shown = () => [...document.querySelectorAll('#summary tbody tr')].filter((r) => !r.hidden).length;
  const each = (id) => {
    const sel = document.getElementById(id);
    const out = {};
    for (const o of sel.options) {
      if (!o.value) continue;
      sel.value = o.value;
      sel.dispatchEvent(new Event('change'));
      out[o.value] = shown();
    }
    sel.value = '';
    sel.dispatchEvent(new Event('change'));
    return out;
  };
  return {
    rows: q('#summary tbody tr'),
    cases: q('section.case'),
    timelines: q('section.case .timeline svg'),
    episodes: q('#rotation-chart g.episode'),
    rotationMarks: q('#rotation-chart .mark'),
    timelineRotationMarks: q('section.case .rotation-mark'),
    journal: q('section.case .journal-entry'),
    events: q('section.case .kube-event'),
    observations: q('section.case .observation'),
    historyPoints: q('#history-chart .history-point'),
    mismatchTables: q('table.sbs'),
    statsRows: q('#rotation-stats tbody tr'),
    byProvider: each('filter-provider'),
    byVerdict: each('filter-verdict'),
    renderMs: Number(document.body.dataset.renderMs),
  };
})()"#;

/// Opens `html` and looks at it; screenshots go to `shots` (when given) as PNG files.
pub async fn look(
    chromium: &Path,
    html: &Path,
    shots: Option<&Path>,
) -> Result<Rendered, BrowserError> {
    let profile = tempfile::tempdir().map_err(|e| BrowserError::Other(format!("profile: {e}")))?;
    let config = BrowserConfig::builder()
        .chrome_executable(chromium)
        .user_data_dir(profile.path())
        .disable_default_args()
        .no_sandbox()
        .window_size(WIDTH, HEIGHT)
        .viewport(None)
        .args([
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .build()
        .map_err(BrowserError::Other)?;
    let (mut browser, mut handler) = Browser::launch(config).await?;
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let result = look_with(&browser, html, shots).await;
    let _ = browser.close().await;
    let _ = browser.wait().await;
    events.abort();
    result
}

async fn look_with(
    browser: &Browser,
    html: &Path,
    shots: Option<&Path>,
) -> Result<Rendered, BrowserError> {
    let html = std::fs::canonicalize(html)
        .map_err(|e| BrowserError::Other(format!("{}: {e}", html.display())))?;
    let url = format!("file://{}", html.display());
    let page = browser.new_page("about:blank").await?;
    page.execute(LogEnable::default()).await?;
    page.execute(NetworkEnable::default()).await?;
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let requests = Arc::new(Mutex::new(Vec::<String>::new()));
    let push = |v: &Arc<Mutex<Vec<String>>>, s: String| {
        v.lock().unwrap_or_else(|p| p.into_inner()).push(s);
    };
    let mut console = page.event_listener::<EventConsoleApiCalled>().await?;
    let mut thrown = page.event_listener::<EventExceptionThrown>().await?;
    let mut log = page.event_listener::<EventEntryAdded>().await?;
    let mut sent = page.event_listener::<EventRequestWillBeSent>().await?;
    let (e1, e2, e3, r1) = (
        errors.clone(),
        errors.clone(),
        errors.clone(),
        requests.clone(),
    );
    let page_url = url.clone();
    let listeners = [
        tokio::spawn(async move {
            while let Some(ev) = console.next().await {
                let level = format!("{:?}", ev.r#type).to_lowercase();
                if level == "error" || level == "assert" {
                    let args: Vec<String> = ev
                        .args
                        .iter()
                        .map(|a| a.value.as_ref().map_or_else(String::new, |v| v.to_string()))
                        .collect();
                    push(&e1, format!("console.{level}: {}", args.join(" ")));
                }
            }
        }),
        tokio::spawn(async move {
            while let Some(ev) = thrown.next().await {
                let d = &ev.exception_details;
                let what = d
                    .exception
                    .as_ref()
                    .and_then(|e| e.description.clone())
                    .unwrap_or_else(|| d.text.clone());
                push(
                    &e2,
                    format!("uncaught at {}:{}: {what}", d.line_number, d.column_number),
                );
            }
        }),
        tokio::spawn(async move {
            while let Some(ev) = log.next().await {
                let level = format!("{:?}", ev.entry.level).to_lowercase();
                if level == "error" {
                    push(
                        &e3,
                        format!("log ({:?}): {}", ev.entry.source, ev.entry.text),
                    );
                }
            }
        }),
        tokio::spawn(async move {
            while let Some(ev) = sent.next().await {
                let u = ev.request.url.clone();
                if u != page_url && u != "about:blank" {
                    push(&r1, u);
                }
            }
        }),
    ];
    let started = Instant::now();
    page.goto(url.as_str()).await?;
    until_poll::<_, _, _, BrowserError>(
        "the report to draw",
        DRAWN_WITHIN,
        Duration::from_millis(20),
        || async {
            let done: bool = page
                .evaluate("document.body && document.body.dataset.rendered === 'true'")
                .await?
                .into_value()
                .map_err(|e| BrowserError::Other(format!("reading the page: {e}")))?;
            Ok(if done {
                Poll::Done(())
            } else {
                Poll::NotYet("not drawn yet".into())
            })
        },
    )
    .await?;
    let load_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let dom: Dom = page
        .evaluate(COUNT_JS)
        .await?
        .into_value()
        .map_err(|e| BrowserError::Other(format!("counting what the page drew: {e}")))?;

    let mut screenshots = Vec::new();
    let top = page
        .screenshot(
            ScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Png)
                .build(),
        )
        .await?;
    screenshots.push(shot("report", top, shots)?);
    if let Some(png) = element_shot(&page, "#rotation-chart").await? {
        screenshots.push(shot("rotation", png, shots)?);
    }
    // The first case with a rotation shows every kind of entry; else the first timeline.
    let case = page
        .evaluate(
            "(() => { const s = document.querySelector('section.case .rotation-mark') || \
             document.querySelector('section.case .timeline svg'); \
             const c = s && s.closest('section.case'); return c ? c.id : ''; })()",
        )
        .await?
        .into_value::<String>()
        .unwrap_or_default();
    if !case.is_empty()
        && let Some(png) = element_shot(&page, &format!("#{case}")).await?
    {
        screenshots.push(shot("timeline", png, shots)?);
    }
    for l in listeners {
        l.abort();
    }
    let errors = errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let requests = requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(Rendered {
        dom,
        errors,
        requests,
        load_ms,
        screenshots,
    })
}

/// A PNG of the element `selector` selects (`None` when there is none), clipped from the
/// whole document so it need not be scrolled into view.
async fn element_shot(page: &Page, selector: &str) -> Result<Option<Vec<u8>>, BrowserError> {
    let js = format!(
        "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
         const r = e.getBoundingClientRect(); \
         return {{x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}}; }})()",
        sel = serde_json::to_string(selector).unwrap_or_default()
    );
    let rect: Option<serde_json::Value> = page
        .evaluate(js)
        .await?
        .into_value()
        .map_err(|e| BrowserError::Other(format!("locating {selector}: {e}")))?;
    let Some(rect) = rect else {
        return Ok(None);
    };
    let n = |k: &str| rect[k].as_f64().unwrap_or(0.0);
    let clip = Viewport {
        x: n("x"),
        y: n("y"),
        width: n("width").max(1.0),
        height: n("height").max(1.0),
        scale: 1.0,
    };
    let png = page
        .screenshot(
            ScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Png)
                .clip(clip)
                .capture_beyond_viewport(true)
                .build(),
        )
        .await?;
    Ok(Some(png))
}

fn shot(name: &str, png: Vec<u8>, dir: Option<&Path>) -> Result<Screenshot, BrowserError> {
    if let Some(dir) = dir {
        let p = dir.join(format!("{name}.png"));
        std::fs::write(&p, &png)
            .map_err(|e| BrowserError::Other(format!("writing {}: {e}", p.display())))?;
    }
    let (width, height, inked) = inked(&png)?;
    Ok(Screenshot {
        name: name.to_owned(),
        bytes: png.len(),
        width,
        height,
        inked,
    })
}

/// The share of pixels that are not near-white.
fn inked(png_bytes: &[u8]) -> Result<(u32, u32, f64), BrowserError> {
    let bad = |e: png::DecodingError| BrowserError::Other(format!("screenshot is no PNG: {e}"));
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .map_err(bad)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| BrowserError::Other("screenshot too large".into()))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()].chunks(channels);
    let total = (info.width as usize * info.height as usize).max(1);
    let inked = pixels
        .filter(|p| p.iter().take(3).any(|c| *c < 240))
        .count();
    Ok((info.width, info.height, inked as f64 / total as f64))
}
