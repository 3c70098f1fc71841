//! The install plan: the driver and each provider as a Helm release (chart, release name,
//! namespace, values, the images its pods run), defined once from `stack/versions.env` and
//! used unchanged by every backend.

use serde_json::{Value, json};

use super::image_ref::normalize;
use crate::scenario::model::Provider;
use crate::stack::{StackError, Versions};

/// Where every release goes.
pub const NAMESPACE: &str = "kube-system";

/// The driver's rotation poll interval (the chart's default is 2m). Short, so that rotation
/// scenarios and repros that wait out `rotation + 30s` stay quick; the runner reads the value
/// back from the DaemonSet rather than trusting this constant.
pub const ROTATION_POLL_SECS: u64 = 10;

/// What a release installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    Driver,
    /// The driver's own test double behind a small main (`stack/fake-provider`), for the smoke.
    Fake,
    Aws,
    Azure,
    Vault,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::Driver,
        Component::Fake,
        Component::Aws,
        Component::Azure,
        Component::Vault,
    ];

    pub fn provider(self) -> Option<Provider> {
        match self {
            Component::Aws => Some(Provider::Aws),
            Component::Azure => Some(Provider::Azure),
            Component::Vault => Some(Provider::Vault),
            Component::Driver | Component::Fake => None,
        }
    }

    pub fn of_provider(p: Provider) -> Self {
        match p {
            Provider::Aws => Component::Aws,
            Provider::Azure => Component::Azure,
            Provider::Vault => Component::Vault,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Driver => "driver",
            Component::Fake => "fake provider",
            Component::Aws => "aws provider",
            Component::Azure => "azure provider",
            Component::Vault => "vault provider",
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Helm release of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub component: Component,
    /// The Helm release name.
    pub name: &'static str,
    /// The chart's name (`Chart.yaml` `name`).
    pub chart: &'static str,
    /// The chart version pinned in `stack/versions.env`.
    pub version: String,
    /// The upstream chart repository; `None` for charts that exist only in the stack.
    pub repo: Option<String>,
    /// The values, the same on every backend (passed as a values file).
    pub values: Value,
    /// The images the release's pods run, normalised (`docker.io/...`), pinned refs.
    pub images: Vec<String>,
    /// Whether `stack/build.sh` builds those images (so a bundle need not carry them).
    pub built_by_stack: bool,
    /// The DaemonSet the chart renders for this release name.
    pub daemonset: String,
}

/// The driver chart's settings: Secret sync, rotation every [`ROTATION_POLL_SECS`], and the
/// token audiences the AWS (IRSA and Pod Identity), Azure (workload identity) and Vault
/// providers ask for.
pub fn driver_values() -> Value {
    json!({
        "syncSecret": { "enabled": true },
        "enableSecretRotation": true,
        "rotationPollInterval": format!("{ROTATION_POLL_SECS}s"),
        "tokenRequests": [
            { "audience": "sts.amazonaws.com" },
            { "audience": "pods.eks.amazonaws.com" },
            { "audience": "api://AzureADTokenExchange" },
            { "audience": "vault" },
        ],
    })
}

/// Provider charts that can also install the driver (AWS, Azure) are told not to: the plan
/// installs the driver once, as its own release.
fn without_driver() -> Value {
    json!({ "secrets-store-csi-driver": { "install": false } })
}

/// The hashicorp/vault chart with only its CSI provider. `csi.agent.enabled=false` on every
/// backend: with the agent on, the chart points `VAULT_ADDR` at the agent's socket, but every
/// SecretProviderClass names `vaultAddress`, which the provider uses instead, so the agent
/// would carry no request and only add a second image (hashicorp/vault) to every install.
fn vault_values() -> Value {
    json!({
        "server": { "enabled": false },
        "injector": { "enabled": false },
        "csi": { "enabled": true, "agent": { "enabled": false } },
    })
}

/// Helm's `<release>-<chart>` full name rule (`fullnameOverride` unset), cut to 63 characters.
pub fn helm_fullname(release: &str, chart: &str) -> String {
    let mut name = if release.contains(chart) {
        release.to_owned()
    } else {
        format!("{release}-{chart}")
    };
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}

/// The plan: every release, the driver first (the providers' charts need its CRDs).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub releases: Vec<Release>,
}

impl Plan {
    pub fn from_versions(v: &Versions) -> Result<Self, StackError> {
        let image = |k: &str| -> Result<String, StackError> { Ok(normalize(v.get(k)?)) };
        let chart_version = |k: &str| -> Result<String, StackError> {
            Ok(v.get(&format!("{k}_CHART_VERSION"))?.to_owned())
        };
        let repo = |k: &str| -> Result<Option<String>, StackError> {
            Ok(Some(v.get(&format!("{k}_CHART_REPO"))?.to_owned()))
        };
        let driver = Release {
            component: Component::Driver,
            name: "csi-secrets-store",
            chart: "secrets-store-csi-driver",
            version: chart_version("CSI_DRIVER")?,
            repo: repo("CSI_DRIVER")?,
            values: driver_values(),
            images: vec![
                image("CSI_DRIVER_IMAGE")?,
                image("CSI_DRIVER_CRDS_IMAGE")?,
                image("NODE_DRIVER_REGISTRAR_IMAGE")?,
                image("LIVENESSPROBE_IMAGE")?,
            ],
            built_by_stack: true,
            daemonset: helm_fullname("csi-secrets-store", "secrets-store-csi-driver"),
        };
        let fake = Release {
            component: Component::Fake,
            name: "secretbench-fake-provider",
            chart: "secretbench-fake-provider",
            version: v.get("FAKE_PROVIDER_CHART_VERSION")?.to_owned(),
            repo: None,
            values: json!({}),
            images: vec![image("FAKE_PROVIDER_IMAGE")?],
            built_by_stack: true,
            daemonset: "secretbench-fake-provider".to_owned(),
        };
        let aws = Release {
            component: Component::Aws,
            name: "aws",
            chart: "secrets-store-csi-driver-provider-aws",
            version: chart_version("AWS_PROVIDER")?,
            repo: repo("AWS_PROVIDER")?,
            values: without_driver(),
            images: vec![image("AWS_PROVIDER_IMAGE")?],
            built_by_stack: false,
            daemonset: helm_fullname("aws", "secrets-store-csi-driver-provider-aws"),
        };
        let azure = Release {
            component: Component::Azure,
            name: "azure",
            chart: "csi-secrets-store-provider-azure",
            version: chart_version("AZURE_PROVIDER")?,
            repo: repo("AZURE_PROVIDER")?,
            values: without_driver(),
            images: vec![image("AZURE_PROVIDER_IMAGE")?],
            built_by_stack: true,
            daemonset: helm_fullname("azure", "csi-secrets-store-provider-azure"),
        };
        let vault = Release {
            component: Component::Vault,
            name: "vault",
            chart: "vault",
            version: chart_version("VAULT")?,
            repo: repo("VAULT")?,
            values: vault_values(),
            images: vec![image("VAULT_PROVIDER_IMAGE")?],
            built_by_stack: false,
            // The chart names its CSI DaemonSet `<fullname>-csi-provider`.
            daemonset: format!("{}-csi-provider", helm_fullname("vault", "vault")),
        };
        Ok(Self {
            releases: vec![driver, fake, aws, azure, vault],
        })
    }

    pub fn release(&self, c: Component) -> Option<&Release> {
        self.releases.iter().find(|r| r.component == c)
    }

    /// The release whose chart has this name.
    pub fn by_chart(&self, chart: &str) -> Option<&Release> {
        self.releases.iter().find(|r| r.chart == chart)
    }

    /// The release that runs this (normalised) image.
    pub fn by_image(&self, image: &str) -> Option<&Release> {
        self.releases
            .iter()
            .find(|r| r.images.iter().any(|i| i == image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Stack;
    use std::path::Path;

    fn plan() -> Plan {
        let s = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        Plan::from_versions(s.versions()).unwrap()
    }

    #[test]
    fn releases_and_their_daemonsets() {
        let p = plan();
        let names: Vec<_> = p
            .releases
            .iter()
            .map(|r| (r.name, r.daemonset.as_str()))
            .collect();
        // What the upstream charts render in kube-system with these release names.
        assert_eq!(
            names,
            vec![
                (
                    "csi-secrets-store",
                    "csi-secrets-store-secrets-store-csi-driver"
                ),
                ("secretbench-fake-provider", "secretbench-fake-provider"),
                ("aws", "aws-secrets-store-csi-driver-provider-aws"),
                ("azure", "azure-csi-secrets-store-provider-azure"),
                ("vault", "vault-csi-provider"),
            ]
        );
        let providers: Vec<_> = p
            .releases
            .iter()
            .filter_map(|r| r.component.provider())
            .collect();
        assert_eq!(providers, Provider::ALL.to_vec());
        assert_eq!(p.releases[0].version, "1.6.0");
        assert_eq!(p.releases[0].values["rotationPollInterval"], "10s");
        assert_eq!(
            p.releases[0].values["tokenRequests"][3]["audience"],
            "vault"
        );
        assert_eq!(
            p.release(Component::Vault).unwrap().values["csi"]["agent"]["enabled"],
            false
        );
        assert_eq!(
            p.release(Component::Aws).unwrap().images,
            ["public.ecr.aws/aws-secrets-manager/secrets-store-csi-driver-provider-aws:3.1.1"]
        );
        assert_eq!(
            p.release(Component::Vault).unwrap().images,
            ["docker.io/hashicorp/vault-csi-provider:1.7.4"]
        );
        assert!(p.release(Component::Fake).unwrap().repo.is_none());
        assert_eq!(
            p.by_chart("vault").map(|r| r.component),
            Some(Component::Vault)
        );
        assert_eq!(
            p.by_image("registry.k8s.io/csi-secrets-store/driver:v1.6.0")
                .map(|r| r.component),
            Some(Component::Driver)
        );
    }

    #[test]
    fn chart_versions_follow_the_provider_versions() {
        let s = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let v = s.versions();
        let bare = |k: &str| v.get(k).unwrap().trim_start_matches('v').to_owned();
        assert_eq!(bare("CSI_DRIVER_CHART_VERSION"), bare("CSI_DRIVER_VERSION"));
        assert_eq!(
            bare("AZURE_PROVIDER_CHART_VERSION"),
            bare("AZURE_PROVIDER_VERSION")
        );
        assert_eq!(
            bare("AWS_PROVIDER_CHART_VERSION"),
            bare("AWS_PROVIDER_VERSION")
        );
    }

    #[test]
    fn fullname_rule() {
        assert_eq!(helm_fullname("vault", "vault"), "vault");
        assert_eq!(helm_fullname("my-vault", "vault"), "my-vault");
        assert_eq!(helm_fullname("aws", "x"), "aws-x");
        let long = helm_fullname(&"r".repeat(40), &format!("{}-c", "c".repeat(21)));
        assert_eq!(long.len(), 62, "cut at 63, then the dangling dash trimmed");
    }
}
