//! One problem found in a scenario or a manifest, and its one renderer (miette): the file and
//! line, the source lines with the spot underlined and labelled, and a help line that says what
//! to do.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use super::located::Pos;

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// Byte offset and length of the spot in `source`.
    pub span: Option<(usize, usize)>,
    /// The check that found it (`secretbench::<code>`), for `spec.lint.allow`.
    pub code: Option<&'static str>,
    pub message: String,
    /// What the underlined spot is ("not defined", "did you mean ...").
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// The name the finding is about (a missing object's `Kind/name`), for `spec.lint.allow`.
    pub subject: Option<String>,
    /// The text of `file`, for the snippet.
    pub source: Option<Arc<str>>,
}

impl Diagnostic {
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_owned(),
            line: None,
            column: None,
            span: None,
            code: None,
            message: message.into(),
            label: None,
            help: None,
            subject: None,
            source: None,
        }
    }

    /// Located by line and column only (no snippet).
    pub fn at(mut self, line: Option<u64>, column: Option<u64>) -> Self {
        self.line = line;
        self.column = column;
        self
    }

    /// Located at `pos` in `source` (the text of this diagnostic's file).
    pub fn pos(mut self, source: &Arc<str>, pos: Pos) -> Self {
        self.line = Some(pos.line).filter(|l| *l > 0);
        self.column = Some(pos.column).filter(|_| pos.line > 0);
        let offset = pos.offset.min(source.len());
        // A multi-line value (a block scalar) is underlined on its first line only.
        let len = source
            .get(offset..(offset + pos.len).min(source.len()))
            .and_then(|s| s.find('\n'))
            .filter(|n| *n > 0)
            .unwrap_or(pos.len);
        self.span = Some((offset, len));
        self.source = Some(Arc::clone(source));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Rendered with the source snippet, label and help.
    pub fn render(&self, style: Style) -> String {
        let handler = GraphicalReportHandler::new_themed(style.theme())
            .with_width(100)
            .with_links(false)
            .with_context_lines(1);
        let mut out = String::new();
        if handler.render_report(&mut out, &View::new(self)).is_err() {
            out = self.to_string();
        }
        out
    }
}

/// How diagnostics are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unicode, no colour: files, pipes, snapshots.
    Plain,
    /// Unicode with colour, for a terminal.
    Color,
}

impl Style {
    /// Colour when `stdout` is a terminal and `NO_COLOR` is unset.
    pub fn for_stdout() -> Style {
        use std::io::IsTerminal as _;
        if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
            Style::Color
        } else {
            Style::Plain
        }
    }

    fn theme(self) -> GraphicalTheme {
        match self {
            Style::Plain => GraphicalTheme::unicode_nocolor(),
            Style::Color => GraphicalTheme::unicode(),
        }
    }
}

/// A compact one-line form: `file:line:col: error: message` (plus `help:` on the next line).
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": error: {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// The diagnostic as miette sees it.
struct View<'a> {
    d: &'a Diagnostic,
    source: Option<NamedSource<Arc<str>>>,
}

impl<'a> View<'a> {
    fn new(d: &'a Diagnostic) -> Self {
        let source = match (&d.source, d.span) {
            (Some(text), Some(_)) => Some(NamedSource::new(
                d.file.display().to_string(),
                Arc::clone(text),
            )),
            _ => None,
        };
        View { d, source }
    }
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.d, f)
    }
}

impl fmt::Display for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Without a snippet, the file (and line) go into the headline.
        if self.source.is_none() {
            write!(f, "{}", self.d.file.display())?;
            if let Some(line) = self.d.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.d.column {
                    write!(f, ":{col}")?;
                }
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for View<'_> {}

impl miette::Diagnostic for View<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .code
            .map(|c| Box::new(format!("secretbench::{c}")) as Box<dyn fmt::Display>)
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (offset, len) = self.d.span?;
        self.source.as_ref()?;
        let label = self.d.label.clone().unwrap_or_else(|| "here".to_owned());
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(label),
            offset,
            len,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_snippet_label_and_help() {
        let text: Arc<str> = Arc::from("a: 1\nwait: { kind: pod }\nc: 3\n");
        let d = Diagnostic::new(Path::new("x/scenario.yaml"), "unknown kind `pod`")
            .pos(&text, Pos::at(&text, 2, 16, 3))
            .label("not a kind")
            .help("did you mean `Pod`?")
            .code("unknown-kind");
        let out = d.render(Style::Plain);
        assert!(out.contains("secretbench::unknown-kind"), "{out}");
        assert!(out.contains("× unknown kind `pod`"), "{out}");
        assert!(out.contains("[x/scenario.yaml:2:16]"), "{out}");
        assert!(out.contains("2 │ wait: { kind: pod }"), "{out}");
        assert!(out.contains("not a kind"), "{out}");
        assert!(out.contains("help: did you mean `Pod`?"), "{out}");
        assert_eq!(d.line, Some(2));
        assert_eq!(d.column, Some(16));
    }

    #[test]
    fn without_source_the_file_is_in_the_headline() {
        let d = Diagnostic::new(Path::new("x/nope"), "no such file or directory");
        let out = d.render(Style::Plain);
        assert!(out.contains("× x/nope: no such file or directory"), "{out}");
    }
}
