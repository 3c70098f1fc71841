//! The offline stack: `stack/versions.env` (the single place versions are pinned) and the
//! binaries, charts and images that `stack/build.sh` builds into its cache. Paths are asked
//! of `build.sh path COMPONENT` so the cache layout lives in one place (the script).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{Cmd, CmdError};

/// The components `up` needs (names as `stack/build.sh list` prints them).
pub const NEEDED: &[&str] = &[
    "kubernetes",
    "etcd",
    "csi_driver",
    "provider_azure",
    "fake_provider",
    "csi_sidecars",
    "helm",
    "pause",
    "images",
];

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "cannot find the stack directory (a `stack/versions.env` in the current directory or above, \
         or next to this crate); set SECRETBENCH_STACK_DIR"
    )]
    NotFound,
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("versions.env line {line}: expected KEY=VALUE, got `{text}`")]
    Parse { line: usize, text: String },
    #[error("versions.env has no {0}")]
    Missing(String),
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error("stack/build.sh finished but {0} is still missing")]
    NotBuilt(PathBuf),
}

/// `versions.env`: `KEY=VALUE` lines, `#` comments, blank lines; split on the first `=`.
#[derive(Debug, Clone, Default)]
pub struct Versions {
    map: BTreeMap<String, String>,
}

impl Versions {
    pub fn parse(text: &str) -> Result<Self, StackError> {
        let mut map = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(StackError::Parse {
                    line: i + 1,
                    text: raw.to_owned(),
                });
            };
            let valid_key =
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_key || v.contains(char::is_whitespace) {
                return Err(StackError::Parse {
                    line: i + 1,
                    text: raw.to_owned(),
                });
            }
            map.insert(k.to_owned(), v.to_owned());
        }
        Ok(Self { map })
    }

    pub fn get(&self, key: &str) -> Result<&str, StackError> {
        self.map
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| StackError::Missing(key.to_owned()))
    }
}

/// The checkout's `stack/` directory and its pinned versions.
#[derive(Debug, Clone)]
pub struct Stack {
    dir: PathBuf,
    versions: Versions,
}

/// Where the built pieces are (all inside the stack cache).
#[derive(Debug, Clone)]
pub struct Built {
    /// `kubernetes-*/bin`: kube-apiserver, kube-controller-manager, kube-scheduler,
    /// kube-proxy, kubelet, kubectl.
    pub kube_bin: PathBuf,
    pub etcd: PathBuf,
    pub helm: PathBuf,
    /// The driver's upstream chart.
    pub driver_chart: PathBuf,
    /// The Azure provider's upstream chart.
    pub azure_chart: PathBuf,
    /// The image tarballs and `images.txt`.
    pub images: PathBuf,
}

impl Built {
    pub fn kube(&self, name: &str) -> PathBuf {
        self.kube_bin.join(name)
    }

    /// The charts the offline stack provides, by chart name: the driver's and the Azure
    /// provider's upstream charts from the cache, and the fake provider's from the checkout.
    pub fn charts(&self, stack: &Stack) -> std::collections::BTreeMap<String, PathBuf> {
        std::collections::BTreeMap::from([
            (
                "secrets-store-csi-driver".to_owned(),
                self.driver_chart.clone(),
            ),
            (
                "csi-secrets-store-provider-azure".to_owned(),
                self.azure_chart.clone(),
            ),
            (
                FAKE_PROVIDER_CHART.to_owned(),
                stack.chart(FAKE_PROVIDER_CHART),
            ),
        ])
    }
}

/// Our chart for the fake provider (`stack/charts/`).
pub const FAKE_PROVIDER_CHART: &str = "secretbench-fake-provider";

impl Stack {
    /// Finds `stack/`: `$SECRETBENCH_STACK_DIR`, else the current directory or an ancestor
    /// holding `stack/versions.env`, else the checkout this binary was built from.
    pub fn locate() -> Result<Self, StackError> {
        let dir = Self::find_dir().ok_or(StackError::NotFound)?;
        Self::open(&dir)
    }

    fn find_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("SECRETBENCH_STACK_DIR") {
            return Some(PathBuf::from(d));
        }
        if let Ok(cwd) = std::env::current_dir() {
            for a in cwd.ancestors() {
                if a.join("stack/versions.env").is_file() {
                    return Some(a.join("stack"));
                }
            }
        }
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack");
        built_from
            .join("versions.env")
            .is_file()
            .then_some(built_from)
    }

    pub fn open(dir: &Path) -> Result<Self, StackError> {
        let path = dir.join("versions.env");
        let text = std::fs::read_to_string(&path).map_err(|source| StackError::Read {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            dir: dir.canonicalize().unwrap_or_else(|_| dir.to_owned()),
            versions: Versions::parse(&text)?,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn versions(&self) -> &Versions {
        &self.versions
    }

    /// A chart committed in `stack/charts/`.
    pub fn chart(&self, name: &str) -> PathBuf {
        self.dir.join("charts").join(name)
    }

    /// A file in `stack/manifests/`.
    pub fn manifest(&self, name: &str) -> PathBuf {
        self.dir.join("manifests").join(name)
    }

    fn build_sh(&self) -> Cmd {
        Cmd::new(self.dir.join("build.sh"))
    }

    /// The cache directory of one component (it may not exist yet).
    pub async fn component_dir(&self, component: &str) -> Result<PathBuf, StackError> {
        let out = self
            .build_sh()
            .args(["path", component])
            .timeout(Duration::from_secs(30))
            .output()
            .await?;
        Ok(PathBuf::from(out.trim()))
    }

    /// The paths of everything `up` needs, running `stack/build.sh` first when a component
    /// is not in the cache (a cold build takes 15-25 minutes on 2 cores).
    pub async fn ensure_built(&self) -> Result<Built, StackError> {
        let mut missing = Vec::new();
        for c in NEEDED {
            let d = self.component_dir(c).await?;
            if !d.is_dir() {
                missing.push(d);
            }
        }
        if !missing.is_empty() {
            tracing::warn!(
                ?missing,
                "stack components not built yet: running stack/build.sh"
            );
            self.build_sh()
                .timeout(Duration::from_secs(3 * 3600))
                .run_inherit()
                .await?;
        }
        let kube = self.component_dir("kubernetes").await?;
        let built = Built {
            kube_bin: kube.join("bin"),
            etcd: self.component_dir("etcd").await?.join("bin/etcd"),
            helm: self.component_dir("helm").await?.join("bin/helm"),
            driver_chart: self
                .component_dir("csi_driver")
                .await?
                .join("charts/secrets-store-csi-driver"),
            azure_chart: self
                .component_dir("provider_azure")
                .await?
                .join("charts/csi-secrets-store-provider-azure"),
            images: self.component_dir("images").await?,
        };
        for p in [
            built.kube("kubectl"),
            built.etcd.clone(),
            built.helm.clone(),
            built.driver_chart.clone(),
            built.azure_chart.clone(),
            built.images.join("images.txt"),
        ] {
            if !p.exists() {
                return Err(StackError::NotBuilt(p));
            }
        }
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_env() {
        let v = Versions::parse(
            "# comment\n\nKUBERNETES_VERSION=v1.34.4\nPAUSE_IMAGE=registry.k8s.io/pause:3.10.1\nX=a=b\n",
        )
        .unwrap();
        assert_eq!(v.get("KUBERNETES_VERSION").unwrap(), "v1.34.4");
        assert_eq!(
            v.get("PAUSE_IMAGE").unwrap(),
            "registry.k8s.io/pause:3.10.1"
        );
        assert_eq!(v.get("X").unwrap(), "a=b", "split on the first =");
        assert!(matches!(v.get("NOPE"), Err(StackError::Missing(_))));
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(matches!(
            Versions::parse("A=1\nnot a pair\n"),
            Err(StackError::Parse { line: 2, .. })
        ));
        assert!(Versions::parse("A B=1\n").is_err());
        assert!(Versions::parse("A=has space\n").is_err());
    }

    #[test]
    fn parses_the_real_file() {
        let s = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        assert!(
            s.versions()
                .get("KUBERNETES_VERSION")
                .unwrap()
                .starts_with("v1.")
        );
        assert!(s.versions().get("PAUSE_IMAGE").is_ok());
        assert!(s.manifest("smoke-fake.yaml").is_file());
    }

    #[test]
    fn the_fake_provider_chart_matches_its_pins() {
        let s = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let dir = s.chart(FAKE_PROVIDER_CHART);
        let meta = crate::install::archive::read_chart_dir(&dir).unwrap();
        assert_eq!(meta.name, FAKE_PROVIDER_CHART);
        assert_eq!(
            meta.version,
            s.versions().get("FAKE_PROVIDER_CHART_VERSION").unwrap()
        );
        let values = std::fs::read_to_string(dir.join("values.yaml")).unwrap();
        assert!(
            values.contains(&format!(
                "image: {}\n",
                s.versions().get("FAKE_PROVIDER_IMAGE").unwrap()
            )),
            "{values}"
        );
    }
}
