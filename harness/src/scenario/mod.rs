//! Scenarios: the `secretbench.dev/v1alpha1` format ([`model`]), loading with located errors
//! ([`load`], [`located`]), the checks of `secretbench lint` ([`lint`]), rendered by one renderer
//! ([`diagnostic`]), and the JSON Schema and format reference generated from the model
//! ([`schema`], [`reference`]).
//!
//! A scenario is a folder: `scenario.yaml`, the manifests it applies and its snapshots.

pub mod diagnostic;
pub mod duration;
pub mod jsonpath;
pub mod keyfile;
pub mod lint;
pub mod load;
pub mod located;
pub mod model;
pub mod reference;
pub mod scaffold;
pub mod schema;

pub use diagnostic::{Diagnostic, Style};
pub use load::{Loaded, load_file, load_str};
pub use model::Scenario;

/// The file name of a scenario inside its folder.
pub const FILE_NAME: &str = "scenario.yaml";
