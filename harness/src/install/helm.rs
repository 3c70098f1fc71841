//! Helm, the one way releases get into a cluster: `upgrade --install` with a values file, a
//! release left alone when it already runs the same chart version with the same values.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::InstallError;
use super::plan::{NAMESPACE, Release};
use crate::cmd::Cmd;

/// How long one release may take to become ready (`helm --wait`): image present, one pod per
/// node, the driver's CRD Job.
const WAIT: Duration = Duration::from_secs(300);

/// Where a chart comes from for one install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartRef {
    /// A chart folder or `.tgz` on this machine (the stack's or a bundle's).
    Local(PathBuf),
    /// The chart's upstream repository, at the plan's version.
    Repo(String),
}

impl std::fmt::Display for ChartRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChartRef::Local(p) => write!(f, "{}", p.display()),
            ChartRef::Repo(r) => write!(f, "{r}"),
        }
    }
}

/// What `helm list` says of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// `<chart>-<version>`.
    pub chart: String,
    pub status: String,
}

/// A helm binary bound to one kubeconfig, with its caches in one folder (never the user's).
#[derive(Debug, Clone)]
pub struct Helm {
    bin: PathBuf,
    home: PathBuf,
    kubeconfig: PathBuf,
}

impl Helm {
    pub fn new(bin: impl Into<PathBuf>, home: impl Into<PathBuf>, kubeconfig: &Path) -> Self {
        Self {
            bin: bin.into(),
            home: home.into(),
            kubeconfig: kubeconfig.to_owned(),
        }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Cmd::new(&self.bin)
            .env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_DATA_HOME", self.home.join("data"))
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args)
    }

    /// The release as `helm list` shows it, if it exists.
    pub async fn deployed(&self, name: &str) -> Result<Option<Deployed>, InstallError> {
        let out = self
            .cmd(["list", "-n", NAMESPACE, "-a", "-o", "json", "--filter"])
            .arg(format!("^{name}$"))
            .timeout(Duration::from_secs(60))
            .output()
            .await?;
        Ok(parse_list(&out, name))
    }

    /// The values the release was installed with (`null` when none).
    pub async fn values(&self, name: &str) -> Result<Value, InstallError> {
        let out = self
            .cmd(["get", "values", name, "-n", NAMESPACE, "-o", "json"])
            .timeout(Duration::from_secs(60))
            .output()
            .await?;
        serde_json::from_str(out.trim()).map_err(|e| InstallError::Helm {
            release: name.to_owned(),
            message: format!("`helm get values` is not JSON: {e}"),
        })
    }

    /// Whether the release already runs this chart version with these values.
    pub async fn up_to_date(&self, r: &Release) -> Result<bool, InstallError> {
        let Some(d) = self.deployed(r.name).await? else {
            return Ok(false);
        };
        if d.status != "deployed" || d.chart != format!("{}-{}", r.chart, r.version) {
            return Ok(false);
        }
        Ok(same_values(&self.values(r.name).await?, &r.values))
    }

    /// `helm upgrade --install` of one release, waiting until its resources are ready.
    pub async fn upgrade_install(
        &self,
        r: &Release,
        chart: &ChartRef,
        values_file: &Path,
    ) -> Result<(), InstallError> {
        self.cmd(upgrade_args(r, chart, values_file))
            .timeout(WAIT + Duration::from_secs(30))
            .output()
            .await
            .map_err(|e| InstallError::Helm {
                release: r.name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(())
    }
}

/// The command line of [`Helm::upgrade_install`].
pub fn upgrade_args(r: &Release, chart: &ChartRef, values_file: &Path) -> Vec<String> {
    let mut a: Vec<String> = ["upgrade", "--install", r.name]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    match chart {
        ChartRef::Local(p) => a.push(p.display().to_string()),
        ChartRef::Repo(url) => a.extend([
            r.chart.to_owned(),
            "--repo".to_owned(),
            url.clone(),
            "--version".to_owned(),
            r.version.clone(),
        ]),
    }
    a.extend(
        [
            "--namespace",
            NAMESPACE,
            "--values",
            &values_file.display().to_string(),
            "--wait",
            "--timeout",
            &format!("{}s", WAIT.as_secs()),
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    a
}

/// `helm list -o json` → the named release.
pub fn parse_list(json: &str, name: &str) -> Option<Deployed> {
    let v: Value = serde_json::from_str(json.trim()).ok()?;
    v.as_array()?
        .iter()
        .find(|r| r["name"] == name)
        .map(|r| Deployed {
            chart: r["chart"].as_str().unwrap_or_default().to_owned(),
            status: r["status"].as_str().unwrap_or_default().to_owned(),
        })
}

/// Helm gives back user values as given; `null` is no values.
pub fn same_values(have: &Value, want: &Value) -> bool {
    let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty);
    have == want || (empty(have) && empty(want))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::plan::Plan;
    use crate::stack::Stack;

    fn plan() -> Plan {
        let s = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        Plan::from_versions(s.versions()).unwrap()
    }

    #[test]
    fn command_lines_for_local_and_repository_charts() {
        let p = plan();
        let aws = &p.releases[2];
        assert_eq!(
            upgrade_args(
                aws,
                &ChartRef::Repo("https://example.test/charts".into()),
                Path::new("/w/aws.json")
            ),
            [
                "upgrade",
                "--install",
                "aws",
                "secrets-store-csi-driver-provider-aws",
                "--repo",
                "https://example.test/charts",
                "--version",
                "3.1.1",
                "--namespace",
                "kube-system",
                "--values",
                "/w/aws.json",
                "--wait",
                "--timeout",
                "300s"
            ]
        );
        let local = upgrade_args(
            aws,
            &ChartRef::Local(PathBuf::from("/b/aws.tgz")),
            Path::new("/w/aws.json"),
        );
        assert_eq!(local[..4], ["upgrade", "--install", "aws", "/b/aws.tgz"]);
        assert_eq!(local[4], "--namespace");
    }

    #[test]
    fn reads_helm_list_and_compares_values() {
        let list = r#"[{"name":"aws","namespace":"kube-system","revision":"1","status":"deployed","chart":"secrets-store-csi-driver-provider-aws-3.1.1","app_version":"3.1.1"}]"#;
        assert_eq!(
            parse_list(list, "aws"),
            Some(Deployed {
                chart: "secrets-store-csi-driver-provider-aws-3.1.1".into(),
                status: "deployed".into()
            })
        );
        assert_eq!(parse_list(list, "vault"), None);
        assert_eq!(parse_list("[]", "aws"), None);
        let want = serde_json::json!({"a": {"b": true}});
        assert!(same_values(&serde_json::json!({"a": {"b": true}}), &want));
        assert!(!same_values(&serde_json::json!({"a": {"b": false}}), &want));
        assert!(same_values(&Value::Null, &serde_json::json!({})));
    }
}
