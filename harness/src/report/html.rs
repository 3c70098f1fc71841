//! `report.html`: one file that opens from disk with no network. The data is the report (plus
//! the earlier runs' rotation points) as JSON inside the page; the page's own script draws the
//! table, the timelines (SVG) and the charts. A Content-Security-Policy forbids every load
//! but the inline style and script, so nothing can reach out even by mistake.

use serde_json::json;

use super::HistoryRun;
use super::model::Report;

const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// JSON that is safe inside `<script type="application/json">`: `<` only occurs inside JSON
/// strings, where `\u003c` means the same, so no `</script>` or `<!--` can end the element.
pub fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn render(report: &Report, history: &[HistoryRun]) -> String {
    let data = script_json(&json!({ "report": report, "history": history }));
    let title = escape_text(&format!(
        "secretbench run {} on {}",
        report
            .run
            .started_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        report.run.backend
    ));
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
         <noscript>This report draws itself with JavaScript; report.json beside it holds the \
         same data.</noscript>\n<main id=\"app\"></main>\n\
         <script type=\"application/json\" id=\"report-data\">{data}</script>\n\
         <script>\n{JS}</script>\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_its_script_element() {
        let v = json!({"message": "</script><script>alert(1)</script><!--"});
        let s = script_json(&v);
        assert!(!s.contains('<'), "{s}");
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
