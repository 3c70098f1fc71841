//! Scenarios: the `secretbench.dev/v1alpha1` format ([`model`]), loading with located errors
//! ([`load`]), cross-reference checks ([`lint`]) and the JSON Schema ([`schema`]).
//!
//! A scenario is a folder: `scenario.yaml`, the manifests it applies and its snapshots.

pub mod duration;
pub mod lint;
pub mod load;
pub mod model;
pub mod scaffold;
pub mod schema;

use std::fmt;
use std::path::{Path, PathBuf};

pub use load::{Loaded, load_file, load_str};
pub use model::Scenario;

/// The file name of a scenario inside its folder.
pub const FILE_NAME: &str = "scenario.yaml";

/// One problem found in a scenario, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
    /// A hint on how to fix it ("did you mean `within`?").
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_owned(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn at(mut self, line: Option<u64>, column: Option<u64>) -> Self {
        self.line = line;
        self.column = column;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

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
