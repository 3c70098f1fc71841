//! A bundle: what an air-gapped user carries in. A folder (searched recursively) of image
//! archives (`docker save`, `ctr images export`, `skopeo copy ... oci-archive:`) and Helm charts
//! (folders, or `.tgz` as `helm pull` writes them). Everything is read and checked against the
//! install plan before anything is installed; every problem names its file and what to do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::archive::{self, ChartMeta, Content, ImageArchive};
use super::image_ref::repository;
use super::plan::{Plan, Release};

/// The environment variable `--bundle` falls back to.
pub const ENV_BUNDLE: &str = "SECRETBENCH_BUNDLE";

/// The chart every provider chart may depend on; the plan installs it as its own release.
pub const DRIVER_CHART: &str = "secrets-store-csi-driver";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleChart {
    pub path: PathBuf,
    pub meta: ChartMeta,
}

/// One thing wrong with a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("bundle {}: {source}", dir.display())]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "bundle {} cannot be used ({} problem{}); nothing was installed:\n{}",
        dir.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    Invalid {
        dir: PathBuf,
        problems: Vec<Problem>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Bundle {
    pub dir: PathBuf,
    pub images: Vec<ImageArchive>,
    pub charts: Vec<BundleChart>,
    /// Files that are neither archives nor charts (READMEs, checksums), left alone.
    pub ignored: Vec<PathBuf>,
    /// Charts that serve no release of the plan, left alone.
    pub foreign_charts: Vec<BundleChart>,
}

fn archive_like(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".tar", ".tar.gz", ".tgz", ".tar.gzip"]
        .iter()
        .any(|ext| n.ends_with(ext))
}

impl Bundle {
    /// Reads and checks a bundle; any problem refuses it whole.
    pub fn open(dir: &Path, plan: &Plan) -> Result<Self, BundleError> {
        let (bundle, problems) = Self::read(dir, plan)?;
        if problems.is_empty() {
            Ok(bundle)
        } else {
            Err(BundleError::Invalid {
                dir: dir.to_owned(),
                problems,
            })
        }
    }

    /// Reads a bundle and lists its problems without failing on them (for `bundle inspect`).
    pub fn read(dir: &Path, plan: &Plan) -> Result<(Self, Vec<Problem>), BundleError> {
        let io = |source| BundleError::Io {
            dir: dir.to_owned(),
            source,
        };
        let meta = std::fs::metadata(dir).map_err(io)?;
        if !meta.is_dir() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a folder: a bundle is a folder of image archives and charts",
            )));
        }
        let mut b = Bundle {
            dir: dir.to_owned(),
            ..Self::default()
        };
        let mut problems = Vec::new();
        b.scan(dir, plan, &mut problems).map_err(io)?;
        problems.extend(b.check(plan));
        Ok((b, problems))
    }

    fn scan(
        &mut self,
        dir: &Path,
        plan: &Plan,
        problems: &mut Vec<Problem>,
    ) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if p.join("Chart.yaml").is_file() {
                    match archive::read_chart_dir(&p) {
                        Ok(meta) => self.add_chart(p, meta, plan),
                        Err(e) => problems.push(problem_of(&p, &e)),
                    }
                } else {
                    self.scan(&p, plan, problems)?;
                }
            } else if archive_like(&p) {
                match archive::read_file(&p) {
                    Ok(Content::Image(i)) => self.images.push(i),
                    Ok(Content::Chart(meta)) => self.add_chart(p, meta, plan),
                    Err(e) => problems.push(problem_of(&p, &e)),
                }
            } else {
                self.ignored.push(p);
            }
        }
        Ok(())
    }

    fn add_chart(&mut self, path: PathBuf, meta: ChartMeta, plan: &Plan) {
        let chart = BundleChart { path, meta };
        if plan.by_chart(&chart.meta.name).is_some() {
            self.charts.push(chart);
        } else {
            self.foreign_charts.push(chart);
        }
    }

    /// The plan's rules: one chart per release, at the pinned version, with its images; images
    /// at the pinned tags; every image named.
    fn check(&self, plan: &Plan) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
        for c in &self.charts {
            let Some(r) = plan.by_chart(&c.meta.name) else {
                continue;
            };
            if let Some(first) = seen.insert(r.chart, &c.path) {
                problems.push(Problem {
                    path: c.path.clone(),
                    message: format!(
                        "a second chart for the {} (the first is {}); keep one",
                        r.component,
                        first.display()
                    ),
                });
            }
            if c.meta.version != r.version {
                problems.push(Problem {
                    path: c.path.clone(),
                    message: format!(
                        "chart {} {} but stack/versions.env pins {} for the {}; \
                         `helm pull {} --version {}` from its repository",
                        c.meta.name, c.meta.version, r.version, r.component, r.chart, r.version
                    ),
                });
            }
            for d in c.meta.missing_dependencies() {
                if d.name != DRIVER_CHART {
                    problems.push(Problem {
                        path: c.path.clone(),
                        message: format!(
                            "depends on chart {} {}, which is neither packaged in its charts/ \
                             nor the driver chart; package it (`helm dependency build`)",
                            d.name, d.version
                        ),
                    });
                }
            }
            if !r.built_by_stack {
                for want in &r.images {
                    if !self.images.iter().any(|i| i.references.contains(want)) {
                        problems.push(Problem {
                            path: c.path.clone(),
                            message: format!(
                                "no image archive in the bundle for {want}, which this chart runs; \
                                 add it (`docker save {want} -o FILE.tar` or `skopeo copy \
                                 docker://{want} oci-archive:FILE.tar:{want}`)"
                            ),
                        });
                    }
                }
            }
        }
        for i in &self.images {
            if i.references.is_empty() {
                problems.push(Problem {
                    path: i.path.clone(),
                    message: format!(
                        "the archive names no image{}: write it with its full name \
                         (`docker save REPO:TAG`, `ctr images export FILE REPO:TAG` or \
                         `skopeo copy ... oci-archive:FILE:REPO:TAG`)",
                        if i.unnamed.is_empty() {
                            String::new()
                        } else {
                            format!(" (only `{}`)", i.unnamed.join("`, `"))
                        }
                    ),
                });
            }
            for reference in &i.references {
                // Another tag beside the pinned one is how one bundle serves version runs
                // (`--vault-provider 1.5.1`, a repro's `spec.versions`): only a bundle that has
                // the other tag instead of the pinned one is wrong.
                if let Some((r, pinned)) = pinned_elsewhere(plan, reference)
                    && !self.references().any(|r| r == pinned)
                {
                    problems.push(Problem {
                        path: i.path.clone(),
                        message: format!(
                            "image {reference}, but stack/versions.env pins {pinned} for the {}",
                            r.component
                        ),
                    });
                }
            }
        }
        problems
    }

    /// The bundle's chart for a release of the plan.
    pub fn chart_of(&self, r: &Release) -> Option<&BundleChart> {
        self.charts.iter().find(|c| c.meta.name == r.chart)
    }

    /// Every image reference the bundle carries.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.images
            .iter()
            .flat_map(|i| i.references.iter().map(String::as_str))
    }

    /// What `secretbench bundle inspect` prints.
    pub fn report(&self, plan: &Plan, problems: &[Problem]) -> String {
        let rel = |p: &Path| p.strip_prefix(&self.dir).unwrap_or(p).display().to_string();
        let mut out = String::new();
        let _ = writeln!(out, "bundle {}", self.dir.display());
        let _ = writeln!(out, "\nimages ({}):", self.images.len());
        for i in &self.images {
            let serves: Vec<String> = i
                .references
                .iter()
                .filter_map(|r| plan.by_image(r).map(|x| x.component.to_string()))
                .collect();
            let _ = writeln!(
                out,
                "  {}  [{}]  {}{}",
                rel(&i.path),
                i.format,
                if i.references.is_empty() {
                    "(no image name)".to_owned()
                } else {
                    i.references.join(", ")
                },
                if serves.is_empty() {
                    "  (used by no release of the plan)".to_owned()
                } else {
                    format!("  → {}", serves.join(", "))
                }
            );
        }
        let _ = writeln!(
            out,
            "\ncharts ({}):",
            self.charts.len() + self.foreign_charts.len()
        );
        for c in &self.charts {
            let r = plan.by_chart(&c.meta.name);
            let dep = if c
                .meta
                .missing_dependencies()
                .iter()
                .any(|d| d.name == DRIVER_CHART)
            {
                " (its driver-chart dependency is filled with the plan's driver chart)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {}  {} {}  → {}{dep}",
                rel(&c.path),
                c.meta.name,
                c.meta.version,
                r.map_or_else(|| "?".to_owned(), |r| r.component.to_string())
            );
        }
        for c in &self.foreign_charts {
            let _ = writeln!(
                out,
                "  {}  {} {}  (serves no release of the plan; left alone)",
                rel(&c.path),
                c.meta.name,
                c.meta.version
            );
        }
        if !self.ignored.is_empty() {
            let _ = writeln!(out, "\nleft alone (neither image archive nor chart):");
            for p in &self.ignored {
                let _ = writeln!(out, "  {}", rel(p));
            }
        }
        let _ = writeln!(out, "\nper release (with what the offline stack builds):");
        for r in &plan.releases {
            let chart = if self.chart_of(r).is_some() {
                "chart from the bundle"
            } else if r.built_by_stack {
                "chart from the stack"
            } else {
                "no chart"
            };
            let missing: Vec<&str> = r
                .images
                .iter()
                .filter(|i| !r.built_by_stack && !self.references().any(|x| x == i.as_str()))
                .map(String::as_str)
                .collect();
            let verdict = if chart == "no chart" && missing.len() == r.images.len() {
                format!(
                    "not in the bundle: add chart {} {} and image {}",
                    r.chart,
                    r.version,
                    r.images.join(", ")
                )
            } else if chart == "no chart" {
                format!(
                    "missing chart {} {} (`helm pull {} --repo {} --version {}`)",
                    r.chart,
                    r.version,
                    r.chart,
                    r.repo.as_deref().unwrap_or("?"),
                    r.version
                )
            } else if !missing.is_empty() {
                format!("{chart}; missing image {}", missing.join(", "))
            } else if r.built_by_stack && self.chart_of(r).is_none() {
                "from the stack (host backend)".to_owned()
            } else {
                format!("{chart}, images present: installable")
            };
            let _ = writeln!(out, "  {:<16} {verdict}", r.component.to_string());
        }
        if problems.is_empty() {
            let _ = writeln!(out, "\nno problems");
        } else {
            let _ = writeln!(out, "\n{} problem(s):", problems.len());
            for p in problems {
                let _ = writeln!(out, "  - {p}");
            }
        }
        out
    }
}

/// The release whose image has this repository at another tag, with the pinned reference.
fn pinned_elsewhere<'a>(plan: &'a Plan, reference: &str) -> Option<(&'a Release, &'a str)> {
    let repo = repository(reference);
    plan.releases.iter().find_map(|r| {
        r.images
            .iter()
            .find(|i| repository(i) == repo && i.as_str() != reference)
            .map(|i| (r, i.as_str()))
    })
}

fn problem_of(path: &Path, e: &archive::ArchiveError) -> Problem {
    let message = match e {
        archive::ArchiveError::Io { source, .. } => format!("cannot be read: {source}"),
        archive::ArchiveError::Invalid { message, .. } => message.clone(),
    };
    Problem {
        path: path.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::super::archive::tests::{oci_index, write_tar};
    use super::*;
    use crate::install::Component;
    use crate::stack::Stack;

    fn plan() -> Plan {
        let s = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        Plan::from_versions(s.versions()).unwrap()
    }

    fn oci(path: &Path, name: &str) {
        let ann = format!(r#"{{"io.containerd.image.name":"{name}"}}"#);
        write_tar(path, &[("index.json", oci_index(&ann).as_bytes())], false);
    }

    fn docker(path: &Path, tag: &str) {
        let m = format!(r#"[{{"Config":"c.json","RepoTags":["{tag}"],"Layers":[]}}]"#);
        write_tar(path, &[("manifest.json", m.as_bytes())], true);
    }

    fn chart(path: &Path, name: &str, version: &str, driver_dep: bool) {
        let mut y = format!("apiVersion: v2\nname: {name}\nversion: {version}\n");
        if driver_dep {
            y.push_str("dependencies:\n- name: secrets-store-csi-driver\n  version: ^1\n  condition: secrets-store-csi-driver.install\n");
        }
        write_tar(path, &[(&format!("{name}/Chart.yaml"), y.as_bytes())], true);
    }

    /// The bundle the README describes: AWS and Vault, images and charts.
    fn good(dir: &Path) {
        std::fs::create_dir_all(dir.join("images")).unwrap();
        oci(
            &dir.join("images/aws.tar"),
            "public.ecr.aws/aws-secrets-manager/secrets-store-csi-driver-provider-aws:3.1.1",
        );
        docker(
            &dir.join("images/vault.tar.gz"),
            "hashicorp/vault-csi-provider:1.7.4",
        );
        chart(
            &dir.join("secrets-store-csi-driver-provider-aws-3.1.1.tgz"),
            "secrets-store-csi-driver-provider-aws",
            "3.1.1",
            true,
        );
        chart(&dir.join("vault-0.34.1.tgz"), "vault", "0.34.1", false);
        std::fs::write(dir.join("SHA256SUMS"), "x").unwrap();
    }

    #[test]
    fn a_good_bundle_serves_aws_and_vault() {
        let t = tempfile::tempdir().unwrap();
        good(t.path());
        let p = plan();
        let b = Bundle::open(t.path(), &p).unwrap();
        assert_eq!(b.images.len(), 2);
        assert!(b.chart_of(p.release(Component::Aws).unwrap()).is_some());
        assert!(b.chart_of(p.release(Component::Vault).unwrap()).is_some());
        assert!(b.chart_of(p.release(Component::Azure).unwrap()).is_none());
        assert_eq!(b.ignored, [t.path().join("SHA256SUMS")]);
        let report = b.report(&p, &[]);
        assert!(report.contains("→ aws provider"), "{report}");
        assert!(
            report.contains("filled with the plan's driver chart"),
            "{report}"
        );
        assert!(report.contains("no problems"), "{report}");
    }

    #[test]
    fn another_tag_beside_the_pinned_one_is_for_version_runs() {
        let t = tempfile::tempdir().unwrap();
        good(t.path());
        docker(
            &t.path().join("images/vault-1.5.1.tar"),
            "hashicorp/vault-csi-provider:1.5.1",
        );
        let b = Bundle::open(t.path(), &plan()).unwrap();
        assert!(
            b.references()
                .any(|r| r == "docker.io/hashicorp/vault-csi-provider:1.5.1")
        );
    }

    #[test]
    fn broken_bundles_name_the_file_and_the_fix() {
        let p = plan();
        let problems = |setup: &dyn Fn(&Path)| {
            let t = tempfile::tempdir().unwrap();
            good(t.path());
            setup(t.path());
            match Bundle::open(t.path(), &p) {
                Err(BundleError::Invalid { problems, .. }) => problems
                    .iter()
                    .map(|x| {
                        format!(
                            "{}: {}",
                            x.path.strip_prefix(t.path()).unwrap().display(),
                            x.message
                        )
                    })
                    .collect::<Vec<_>>(),
                other => panic!("expected problems, got {other:?}"),
            }
        };
        // An unreadable archive.
        let v = problems(&|d| std::fs::write(d.join("images/broken.tar"), b"garbage").unwrap());
        assert!(
            v[0].starts_with("images/broken.tar: not a readable tar"),
            "{v:?}"
        );
        // A chart with no matching image.
        let v = problems(&|d| std::fs::remove_file(d.join("images/vault.tar.gz")).unwrap());
        assert!(
            v[0].starts_with("vault-0.34.1.tgz: no image archive in the bundle for docker.io/hashicorp/vault-csi-provider:1.7.4"),
            "{v:?}"
        );
        // Two charts for one provider.
        let v = problems(&|d| chart(&d.join("z-vault-copy.tgz"), "vault", "0.34.1", false));
        assert!(
            v[0].starts_with("z-vault-copy.tgz: a second chart for the vault provider"),
            "{v:?}"
        );
        // A version other than the pins: chart and image.
        let v = problems(&|d| {
            std::fs::remove_file(d.join("vault-0.34.1.tgz")).unwrap();
            chart(&d.join("vault-0.33.0.tgz"), "vault", "0.33.0", false);
            docker(
                &d.join("images/vault.tar.gz"),
                "hashicorp/vault-csi-provider:1.7.3",
            );
        });
        assert!(
            v.iter().any(|x| x.starts_with(
                "vault-0.33.0.tgz: chart vault 0.33.0 but stack/versions.env pins 0.34.1"
            )),
            "{v:?}"
        );
        assert!(v.iter().any(|x| x.starts_with("images/vault.tar.gz: image docker.io/hashicorp/vault-csi-provider:1.7.3, but stack/versions.env pins docker.io/hashicorp/vault-csi-provider:1.7.4")), "{v:?}");
        // A chart that is not a chart.
        let v = problems(&|d| {
            std::fs::create_dir_all(d.join("notachart")).unwrap();
            std::fs::write(d.join("notachart/Chart.yaml"), "just: text\n").unwrap();
        });
        assert!(
            v[0].starts_with("notachart: Chart.yaml has no name or no version"),
            "{v:?}"
        );
        // An image archive named only by a tag.
        let v = problems(&|d| {
            write_tar(
                &d.join("images/tag-only.tar"),
                &[(
                    "index.json",
                    oci_index(r#"{"org.opencontainers.image.ref.name":"3.1.1"}"#).as_bytes(),
                )],
                false,
            );
        });
        assert!(
            v[0].starts_with("images/tag-only.tar: the archive names no image (only `3.1.1`)"),
            "{v:?}"
        );
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let e = Bundle::open(Path::new("/nonexistent/bundle"), &plan()).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/bundle"), "{e}");
    }
}
