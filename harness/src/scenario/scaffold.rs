//! `secretbench repro new`: scaffolds a scenario folder that asks for what a bug report needs:
//! the upstream issue, the versions (pre-filled from `stack/versions.env`), the
//! SecretProviderClass and pod manifests, the backend contents, the expected and the observed
//! behaviour, and `spec.expect: { outcome: fail, step: check }`.
//!
//! The templates live in `harness/templates/repro/`; what is generated lints clean as it is
//! (a unit test runs [`super::lint`] on every provider combination).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::model::Provider;
use crate::stack::{Stack, StackError, Versions};

/// Where `repro new` puts a folder when `--dir` is not given (relative to the checkout).
pub const DEFAULT_DIR: &str = "scenarios/repro";

const SCENARIO: &str = include_str!("../../templates/repro/scenario.yaml");
const README: &str = include_str!("../../templates/repro/README.md");
const SERVICE_ACCOUNT: &str = include_str!("../../templates/repro/serviceaccount.yaml");
const SECRET_PROVIDER_CLASS: &str = include_str!("../../templates/repro/secretproviderclass.yaml");
const POD: &str = include_str!("../../templates/repro/pod.yaml");
const BINDING_AWS: &str = include_str!("../../templates/repro/binding-aws.yaml");
const BINDING_AZURE: &str = include_str!("../../templates/repro/binding-azure.yaml");
const BINDING_VAULT: &str = include_str!("../../templates/repro/binding-vault.yaml");

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "repro name `{0}` must be lowercase letters, digits and '-', start and end with a letter \
         or digit, and be at most 63 characters (it becomes metadata.name and the folder name)"
    )]
    BadName(String),
    #[error("provider `{0}` is given twice")]
    DuplicateProvider(Provider),
    #[error("{} already exists: `repro new` never overwrites; pick another name or remove it", .0.display())]
    Exists(PathBuf),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `secretbench repro ...`
#[derive(Debug, clap::Subcommand)]
pub enum ReproCommand {
    /// Scaffold a scenario folder reproducing an upstream bug (never overwrites).
    New(NewArgs),
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Folder and scenario name: lowercase letters, digits and '-'.
    pub name: String,
    /// Provider(s) the bug shows on (repeat or comma-separate; default: azure, the one the
    /// host backend runs).
    #[arg(long = "provider", value_name = "PROVIDER", value_delimiter = ',', value_parser = parse_provider)]
    pub providers: Vec<Provider>,
    /// Parent folder [default: scenarios/repro of the checkout around the current directory,
    /// else the current directory].
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Parses `aws`, `azure` or `vault` (the command line's `--provider`).
pub fn parse_provider(s: &str) -> Result<Provider, String> {
    Provider::ALL
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| format!("unknown provider `{s}` (expected aws, azure or vault)"))
}

/// Runs a `repro` command from `cwd`; returns what to tell the user.
///
/// The folder goes into `--dir`; else, inside a checkout, into its `scenarios/repro`; else into
/// `cwd`. The versions come from that checkout's `stack/versions.env` (else the stack
/// [`Stack::locate`] finds).
pub fn run(cmd: ReproCommand, cwd: &Path) -> Result<String, ScaffoldError> {
    match cmd {
        ReproCommand::New(args) => {
            let root = crate::project::root_from(cwd);
            let stack = match &root {
                Some(r) => Stack::open(&r.join("stack"))?,
                None => Stack::locate()?,
            };
            // `shown`: how the generated README names the folder (from where its commands run).
            let (dir, shown) = match (&args.dir, &root) {
                (Some(d), _) => (cwd.join(d), d.join(&args.name)),
                (None, Some(r)) => (r.join(DEFAULT_DIR), Path::new(DEFAULT_DIR).join(&args.name)),
                (None, None) => (cwd.to_owned(), PathBuf::from(&args.name)),
            };
            let versions = StackVersions::from_env(stack.versions())?;
            let shown = shown.display().to_string();
            let folder = create(&dir, &args.name, &args.providers, &versions, &shown)?;
            let here = crate::project::display_from(cwd, &folder);
            let mut out = format!(
                "created {}/ (scenario.yaml, manifests/, README.md)\n",
                here.display()
            );
            if root.is_none() && args.dir.is_none() {
                out.push_str(&format!(
                    "(not inside a secretbench checkout, so in the current directory: {})\n",
                    folder.display()
                ));
            }
            out.push_str(&format!(
                "next: fill in the TODOs (`secretbench lint` lists them), then\n  \
                 secretbench lint {here}\n  \
                 just e2e {here}   # or: secretbench run {here}\n\
                 and attach the folder to the upstream issue",
                here = here.display()
            ));
            Ok(out)
        }
    }
}

/// The versions a scaffold is pre-filled with, read from `stack/versions.env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackVersions {
    pub driver: String,
    pub kubernetes: String,
    pub providers: BTreeMap<Provider, String>,
}

impl StackVersions {
    pub fn from_env(v: &Versions) -> Result<Self, StackError> {
        let mut providers = BTreeMap::new();
        for (p, key) in [
            (Provider::Aws, "AWS_PROVIDER_VERSION"),
            (Provider::Azure, "AZURE_PROVIDER_VERSION"),
            (Provider::Vault, "VAULT_PROVIDER_VERSION"),
        ] {
            providers.insert(p, v.get(key)?.to_owned());
        }
        Ok(Self {
            driver: v.get("CSI_DRIVER_VERSION")?.to_owned(),
            kubernetes: v.get("KUBERNETES_VERSION")?.to_owned(),
            providers,
        })
    }

    fn provider(&self, p: Provider) -> &str {
        self.providers.get(&p).map_or("TODO", String::as_str)
    }
}

/// Checks a repro name: a DNS label, as `metadata.name` must be.
pub fn validate_name(name: &str) -> Result<(), ScaffoldError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ScaffoldError::BadName(name.to_owned()))
    }
}

/// The providers to scaffold: as given (order kept, duplicates refused) or azure by default.
fn providers_or_default(given: &[Provider]) -> Result<Vec<Provider>, ScaffoldError> {
    if given.is_empty() {
        return Ok(vec![Provider::Azure]);
    }
    let mut out: Vec<Provider> = Vec::new();
    for p in given {
        if out.contains(p) {
            return Err(ScaffoldError::DuplicateProvider(*p));
        }
        out.push(*p);
    }
    Ok(out)
}

/// The files of a scaffold, as (path relative to the folder, contents). `path` is how the
/// folder is named in the instructions; `schema` the relative path to `scenario.schema.json`
/// when the folder sits inside the checkout's `scenarios/`.
pub fn render(
    name: &str,
    providers: &[Provider],
    versions: &StackVersions,
    path: &str,
    schema: Option<&str>,
) -> Result<Vec<(PathBuf, String)>, ScaffoldError> {
    validate_name(name)?;
    let providers = providers_or_default(providers)?;
    let list = providers
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let provider_versions: String = providers
        .iter()
        .map(|p| format!("      {p}: \"{}\"\n", versions.provider(*p)))
        .collect();
    let bindings: String = providers
        .iter()
        .map(|p| match p {
            Provider::Aws => BINDING_AWS,
            Provider::Azure => BINDING_AZURE,
            Provider::Vault => BINDING_VAULT,
        })
        .collect();
    let schema_line = schema
        .map(|s| format!("# yaml-language-server: $schema={s}\n"))
        .unwrap_or_default();
    let scenario = fill(
        SCENARIO,
        &[
            ("schema", &schema_line),
            ("path", path),
            ("kubernetes", &versions.kubernetes),
            ("name", name),
            ("providers", &list),
            ("driver", &versions.driver),
            // The lines already end in '\n'; the template puts its own after the placeholder.
            (
                "provider_versions",
                provider_versions.trim_end_matches('\n'),
            ),
            ("bindings", bindings.trim_end_matches('\n')),
        ],
    );
    let mut rows = vec![format!(
        "| Secrets Store CSI Driver | {} |",
        versions.driver
    )];
    rows.extend(
        providers
            .iter()
            .map(|p| format!("| {p} provider | {} |", versions.provider(*p))),
    );
    rows.push(format!("| Kubernetes | {} |", versions.kubernetes));
    let readme = fill(
        README,
        &[
            ("name", name),
            ("path", path),
            ("version_rows", &rows.join("\n")),
        ],
    );
    Ok(vec![
        (PathBuf::from(super::FILE_NAME), scenario),
        (PathBuf::from("README.md"), readme),
        (
            PathBuf::from("manifests/serviceaccount.yaml"),
            SERVICE_ACCOUNT.to_owned(),
        ),
        (
            PathBuf::from("manifests/secretproviderclass.yaml"),
            SECRET_PROVIDER_CLASS.to_owned(),
        ),
        (PathBuf::from("manifests/pod.yaml"), POD.to_owned()),
    ])
}

/// Writes the scaffold into `dir/name` and returns that folder. `shown` is how the generated
/// files name the folder in their instructions (`scenarios/repro/NAME`: relative, so that no
/// machine's path ends up in a committed file). Refuses an existing folder (or file) of that
/// name; on a failed write it removes the folder it created.
pub fn create(
    dir: &Path,
    name: &str,
    providers: &[Provider],
    versions: &StackVersions,
    shown: &str,
) -> Result<PathBuf, ScaffoldError> {
    validate_name(name)?;
    let folder = dir.join(name);
    let schema = schema_path(dir);
    let files = render(name, providers, versions, shown, schema.as_deref())?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| ScaffoldError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    // create_dir (not _all) fails if anything is there already: the no-overwrite check and
    // the creation are one step.
    match std::fs::create_dir(&folder) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ScaffoldError::Exists(folder));
        }
        Err(e) => return Err(io("creating", &folder)(e)),
    }
    if let Err(e) = write_all(&folder, &files) {
        if let Err(cleanup) = std::fs::remove_dir_all(&folder) {
            tracing::warn!(folder = %folder.display(), error = %cleanup, "could not remove the half-written scaffold");
        }
        return Err(e);
    }
    Ok(folder)
}

fn write_all(folder: &Path, files: &[(PathBuf, String)]) -> Result<(), ScaffoldError> {
    use std::io::Write as _;
    for (rel, text) in files {
        let path = folder.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ScaffoldError::Io {
                action: "creating",
                path: parent.to_owned(),
                source,
            })?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| ScaffoldError::Io {
                action: "creating",
                path: path.clone(),
                source,
            })?;
        f.write_all(text.as_bytes())
            .map_err(|source| ScaffoldError::Io {
                action: "writing",
                path: path.clone(),
                source,
            })?;
    }
    Ok(())
}

/// `../..`-style path from a scenario folder in `dir` to `scenarios/scenario.schema.json`, when
/// `dir` is inside a folder holding that file.
fn schema_path(dir: &Path) -> Option<String> {
    let dir = std::path::absolute(dir).ok()?;
    // The scenario folder is dir/<name>: one level below dir.
    let mut ups = String::from("../");
    for ancestor in dir.ancestors().take(4) {
        if ancestor.join("scenario.schema.json").is_file() {
            return Some(format!("{ups}scenario.schema.json"));
        }
        ups.push_str("../");
    }
    None
}

/// Replaces every `{{key}}` in `template`.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::lint;

    const SHOWN: &str = "scenarios/repro/my-bug";

    fn versions() -> StackVersions {
        let v = Versions::parse(
            "CSI_DRIVER_VERSION=v9.8.7\nKUBERNETES_VERSION=v1.99.1\nAWS_PROVIDER_VERSION=4.5.6\n\
             AZURE_PROVIDER_VERSION=v7.7.7\nVAULT_PROVIDER_VERSION=v3.2.1\n",
        )
        .unwrap();
        StackVersions::from_env(&v).unwrap()
    }

    fn read(folder: &Path, rel: &str) -> String {
        std::fs::read_to_string(folder.join(rel)).unwrap()
    }

    #[test]
    fn the_scaffold_lints_clean_once_filled_in_for_every_provider_combination() {
        let combos: [&[Provider]; 5] = [
            &[],
            &[Provider::Aws],
            &[Provider::Vault],
            &[Provider::Azure, Provider::Aws],
            &[Provider::Aws, Provider::Azure, Provider::Vault],
        ];
        for combo in combos {
            let tmp = tempfile::tempdir().unwrap();
            let folder = create(tmp.path(), "my-bug", combo, &versions(), SHOWN).unwrap();
            // As scaffolded, lint names every placeholder, and nothing else.
            let report = lint::lint_paths(std::slice::from_ref(&folder));
            assert_eq!(report.files.len(), 1, "{report}");
            let diags = &report.files[0].1;
            assert!(diags.len() >= 5, "{combo:?}:\n{report}");
            assert!(
                diags.iter().all(|d| d.code == Some("unfilled-placeholder")),
                "{combo:?}:\n{report}"
            );
            assert!(
                diags
                    .iter()
                    .any(|d| d.message.contains("OWNER/REPO/NUMBER")),
                "{report}"
            );
            assert!(
                diags.iter().any(|d| d.file.ends_with("README.md")),
                "{report}"
            );
            // Filled in, it is clean.
            for rel in ["scenario.yaml", "README.md"] {
                let filled = read(&folder, rel)
                    .replace(
                        "OWNER/REPO/issues/NUMBER",
                        "kubernetes-sigs/secrets-store-csi-driver/issues/1",
                    )
                    .replace("TODO", "Filled");
                std::fs::write(folder.join(rel), filled).unwrap();
            }
            let report = lint::lint_paths(std::slice::from_ref(&folder));
            assert!(report.is_clean(), "{combo:?}:\n{report}");
            // No machine's path in what gets committed: the folder is named as `shown`.
            let tmp_path = tmp.path().display().to_string();
            for rel in [
                "scenario.yaml",
                "README.md",
                "manifests/pod.yaml",
                "manifests/secretproviderclass.yaml",
                "manifests/serviceaccount.yaml",
            ] {
                assert!(!read(&folder, rel).contains(&tmp_path), "{rel}");
            }
            assert!(read(&folder, "README.md").contains("secretbench lint scenarios/repro/my-bug"));
            let loaded = crate::scenario::load_file(&folder.join("scenario.yaml")).unwrap();
            let spec = &loaded.scenario.spec;
            let want: Vec<Provider> = if combo.is_empty() {
                vec![Provider::Azure]
            } else {
                combo.to_vec()
            };
            assert_eq!(spec.providers, want);
            let expect = spec.expect.as_ref().unwrap();
            assert_eq!(expect.outcome, crate::scenario::model::Outcome::Fail);
            assert_eq!(expect.step.as_deref(), Some("check"));
        }
    }

    #[test]
    fn versions_come_from_versions_env() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = create(
            tmp.path(),
            "my-bug",
            &[Provider::Aws, Provider::Vault],
            &versions(),
            SHOWN,
        )
        .unwrap();
        let loaded = crate::scenario::load_file(&folder.join("scenario.yaml")).unwrap();
        let v = loaded.scenario.spec.versions.unwrap();
        assert_eq!(v.driver.as_deref(), Some("v9.8.7"));
        assert_eq!(
            v.providers.get(&Provider::Aws).map(String::as_str),
            Some("4.5.6")
        );
        assert_eq!(
            v.providers.get(&Provider::Vault).map(String::as_str),
            Some("v3.2.1")
        );
        assert!(!v.providers.contains_key(&Provider::Azure));
        let scenario = read(&folder, "scenario.yaml");
        assert!(scenario.contains("Kubernetes v1.99.1"), "{scenario}");
        let readme = read(&folder, "README.md");
        for row in [
            "| Secrets Store CSI Driver | v9.8.7 |",
            "| aws provider | 4.5.6 |",
            "| vault provider | v3.2.1 |",
            "| Kubernetes | v1.99.1 |",
        ] {
            assert!(readme.contains(row), "{row} missing in\n{readme}");
        }
    }

    #[test]
    fn the_real_versions_env_fills_a_scaffold() {
        let stack = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let v = StackVersions::from_env(stack.versions()).unwrap();
        assert!(v.driver.starts_with('v'), "{v:?}");
        assert!(v.kubernetes.starts_with("v1."), "{v:?}");
        assert_eq!(v.providers.len(), 3);
    }

    #[test]
    fn the_readme_asks_for_a_bug_report() {
        let files = render("my-bug", &[], &versions(), "scenarios/repro/my-bug", None).unwrap();
        let (_, readme) = files
            .iter()
            .find(|(p, _)| p == Path::new("README.md"))
            .unwrap();
        let mut at = 0;
        for heading in [
            "## Upstream issue",
            "## Versions",
            "## What should happen",
            "## What happens",
            "## How to run",
        ] {
            let pos = readme[at..]
                .find(&format!("{heading}\n"))
                .unwrap_or_else(|| panic!("{heading} missing or out of order in\n{readme}"));
            at += pos + heading.len();
        }
        assert!(readme.contains("just e2e scenarios/repro/my-bug"));
        for (path, text) in &files {
            assert!(
                !text.contains("{{"),
                "{} keeps a placeholder",
                path.display()
            );
        }
    }

    #[test]
    fn refuses_to_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("taken");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("notes.txt"), "mine").unwrap();
        let err = create(tmp.path(), "taken", &[], &versions(), SHOWN).unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
        assert!(err.to_string().contains("never overwrites"), "{err}");
        assert_eq!(read(&folder, "notes.txt"), "mine");
        assert!(!folder.join("scenario.yaml").exists());

        // A file of that name is refused too.
        std::fs::write(tmp.path().join("file-bug"), "x").unwrap();
        let err = create(tmp.path(), "file-bug", &[], &versions(), SHOWN).unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");

        // A second scaffold of the same name is refused and leaves the first intact.
        let first = create(tmp.path(), "my-bug", &[], &versions(), SHOWN).unwrap();
        let before = read(&first, "scenario.yaml");
        let err = create(tmp.path(), "my-bug", &[Provider::Aws], &versions(), SHOWN).unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
        assert_eq!(read(&first, "scenario.yaml"), before);
    }

    #[test]
    fn bad_names_and_providers_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in [
            "",
            "My-Bug",
            "my_bug",
            "-bug",
            "bug-",
            "a/b",
            "..",
            "bug.1",
            &"x".repeat(64),
        ] {
            let err = create(tmp.path(), bad, &[], &versions(), SHOWN).unwrap_err();
            assert!(matches!(err, ScaffoldError::BadName(_)), "{bad:?}: {err}");
        }
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        let err = create(
            tmp.path(),
            "ok-1",
            &[Provider::Aws, Provider::Aws],
            &versions(),
            SHOWN,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ScaffoldError::DuplicateProvider(Provider::Aws)
        ));
        assert_eq!(parse_provider("vault").unwrap(), Provider::Vault);
        assert!(
            parse_provider("gcp")
                .unwrap_err()
                .contains("aws, azure or vault")
        );
    }

    #[test]
    fn the_schema_comment_points_at_the_schema() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("scenario.schema.json"), "{}").unwrap();
        let dir = tmp.path().join("repro");
        let folder = create(&dir, "my-bug", &[], &versions(), SHOWN).unwrap();
        let scenario = read(&folder, "scenario.yaml");
        assert!(
            scenario.starts_with("# yaml-language-server: $schema=../../scenario.schema.json\n"),
            "{scenario}"
        );
        assert!(folder.join("../../scenario.schema.json").is_file());
        let other = tempfile::tempdir().unwrap();
        let folder = create(other.path(), "my-bug", &[], &versions(), SHOWN).unwrap();
        assert!(read(&folder, "scenario.yaml").starts_with("# A reproduction"));
    }
}
