//! The install plan: the driver and each provider as a Helm release (chart, release name,
//! namespace, values, the images its pods run), defined once from `stack/versions.env` and
//! the [`VersionSet`] to run (the pins, or versions chosen at run time), and used unchanged by
//! every backend.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::image_ref::{normalize, repository};
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

/// The driver and provider versions a plan installs: the driver's and the Azure provider's
/// release tags (`v1.6.0`; built here), and for the AWS and Vault providers the tag of the
/// image a bundle carries (`3.1.1`, `1.7.4`). The same shape says what a cluster runs
/// ([`VersionSet::running`]), where a provider that is not installed has no entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionSet {
    pub driver: String,
    pub providers: BTreeMap<Provider, String>,
}

/// How each component's versions are spelt: the driver's and the Azure provider's tags start
/// with `v`, the AWS and Vault providers' image tags do not.
fn spelt(c: Component, version: &str) -> String {
    let bare = version.trim().trim_start_matches('v');
    match c {
        Component::Driver | Component::Azure => format!("v{bare}"),
        Component::Aws | Component::Vault | Component::Fake => bare.to_owned(),
    }
}

/// The tag of a reference (`repo:tag`), if it has one.
fn tag_of(reference: &str) -> Option<&str> {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    no_digest[last_slash..]
        .rfind(':')
        .map(|i| &no_digest[last_slash + i + 1..])
}

/// `repo:tag` with another tag.
fn retag(reference: &str, tag: &str) -> String {
    format!("{}:{tag}", repository(&normalize(reference)))
}

impl VersionSet {
    /// The versions `stack/versions.env` pins (the image tags for AWS and Vault).
    pub fn pinned(v: &Versions) -> Result<Self, StackError> {
        let tag = |k: &str| -> Result<String, StackError> {
            let image = v.get(k)?;
            Ok(tag_of(image).unwrap_or(image).to_owned())
        };
        Ok(Self {
            driver: spelt(Component::Driver, v.get("CSI_DRIVER_VERSION")?),
            providers: BTreeMap::from([
                (
                    Provider::Aws,
                    spelt(Component::Aws, &tag("AWS_PROVIDER_IMAGE")?),
                ),
                (
                    Provider::Azure,
                    spelt(Component::Azure, v.get("AZURE_PROVIDER_VERSION")?),
                ),
                (
                    Provider::Vault,
                    spelt(Component::Vault, &tag("VAULT_PROVIDER_IMAGE")?),
                ),
            ]),
        })
    }

    /// This set with the driver at `version`.
    pub fn with_driver(mut self, version: &str) -> Self {
        self.driver = spelt(Component::Driver, version);
        self
    }

    /// This set with a provider at `version`.
    pub fn with_provider(mut self, p: Provider, version: &str) -> Self {
        self.providers
            .insert(p, spelt(Component::of_provider(p), version));
        self
    }

    /// The versions a scenario's `spec.versions` names, over this set.
    pub fn overlaid(&self, pins: &crate::scenario::model::Versions) -> Self {
        let mut out = self.clone();
        if let Some(d) = &pins.driver {
            out = out.with_driver(d);
        }
        for (p, v) in &pins.providers {
            out = out.with_provider(*p, v);
        }
        out
    }

    /// What the cluster runs: the tags of the images of the plan's repositories in its
    /// DaemonSets (any namespace), whatever the tag.
    pub fn running(plan: &Plan, daemonsets: &[crate::cluster::existing::DaemonSetInfo]) -> Self {
        let tag_in_cluster = |c: Component| -> Option<String> {
            let want = repository(plan.release(c)?.images.first()?).to_owned();
            daemonsets
                .iter()
                .flat_map(|d| &d.images)
                .map(|i| normalize(i))
                .find(|i| repository(i) == want)
                .and_then(|i| tag_of(&i).map(|t| spelt(c, t)))
        };
        Self {
            driver: tag_in_cluster(Component::Driver).unwrap_or_default(),
            providers: Provider::ALL
                .into_iter()
                .filter_map(|p| Some((p, tag_in_cluster(Component::of_provider(p))?)))
                .collect(),
        }
    }

    /// Whether a case of `provider` runs on the same versions in `self` and `other` (the
    /// driver and that provider).
    pub fn same_for(&self, other: &Self, provider: Provider) -> bool {
        self.driver == other.driver
            && self.providers.get(&provider) == other.providers.get(&provider)
    }

    /// `driver v1.6.0, azure v1.8.2`: the versions a case of `provider` runs on.
    pub fn label(&self, provider: Provider) -> String {
        let p = self
            .providers
            .get(&provider)
            .map_or_else(|| "not installed".to_owned(), Clone::clone);
        format!("driver {}, {provider} {p}", self.driver)
    }

    /// Pins of `versions` (for `provider`) that differ from this set, as
    /// `driver v1.4.4 (runs v1.6.0)`.
    pub fn differences(
        &self,
        versions: &crate::scenario::model::Versions,
        provider: Provider,
    ) -> Vec<String> {
        let same = |a: &str, b: &str| a.trim_start_matches('v') == b.trim_start_matches('v');
        let mut out = Vec::new();
        if let Some(d) = &versions.driver
            && !same(d, &self.driver)
        {
            out.push(format!("driver {d} (runs {})", self.driver));
        }
        if let Some(p) = versions.providers.get(&provider) {
            let running = self.providers.get(&provider).cloned().unwrap_or_default();
            if !same(p, &running) {
                out.push(format!("{provider} provider {p} (runs {running})"));
            }
        }
        out
    }
}

impl std::fmt::Display for VersionSet {
    /// `driver v1.6.0, aws 3.1.1, azure v1.8.2, vault 1.7.4`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "driver {}", self.driver)?;
        for (p, v) in &self.providers {
            write!(f, ", {p} {v}")?;
        }
        Ok(())
    }
}

/// `{"repository": R, "tag": T}` of an image reference, for chart values.
fn image_value(reference: &str) -> Value {
    let n = normalize(reference);
    let repo = repository(&n).to_owned();
    let tag = tag_of(&n).unwrap_or("latest").to_owned();
    json!({ "repository": repo, "tag": tag })
}

/// The driver chart's settings: Secret sync, rotation every [`ROTATION_POLL_SECS`], the
/// token audiences the AWS (IRSA and Pod Identity), Azure (workload identity) and Vault
/// providers ask for, and the sidecar images the plan carries. The sidecars are named
/// because each driver chart version names other tags (v1.4.4: registrar v2.10.0, v1.6.0:
/// v2.16.0), and the offline stack has one build of each (`stack/csi-sidecars`).
pub fn driver_values(registrar: &str, livenessprobe: &str) -> Value {
    json!({
        "linux": {
            "registrarImage": image_value(registrar),
            "livenessProbeImage": image_value(livenessprobe),
        },
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

/// The AWS chart at its pinned version, running the image tag of the set (the tag a bundle
/// carries).
fn aws_values(tag: &str) -> Value {
    let mut v = without_driver();
    v["image"] = json!({ "tag": tag });
    v
}

/// The hashicorp/vault chart with only its CSI provider. `csi.agent.enabled=false` on every
/// backend: with the agent on, the chart points `VAULT_ADDR` at the agent's socket, but every
/// SecretProviderClass names `vaultAddress`, which the provider uses instead, so the agent
/// would carry no request and only add a second image (hashicorp/vault) to every install.
/// `csi.image.tag` is the provider's image tag of the set (the chart version stays pinned: it
/// is the whole Vault chart's version, not the provider's).
fn vault_values(tag: &str) -> Value {
    json!({
        "server": { "enabled": false },
        "injector": { "enabled": false },
        "csi": { "enabled": true, "agent": { "enabled": false }, "image": { "tag": tag } },
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
    /// The plan of the pinned versions.
    pub fn from_versions(v: &Versions) -> Result<Self, StackError> {
        Self::new(v, &VersionSet::pinned(v)?)
    }

    /// The plan of `set`: the driver's and the Azure provider's chart versions follow their
    /// versions (upstream releases chart X.Y.Z with vX.Y.Z); the AWS and Vault charts stay at
    /// their pins with the image tag of the set in their values.
    pub fn new(v: &Versions, set: &VersionSet) -> Result<Self, StackError> {
        let image = |k: &str| -> Result<String, StackError> { Ok(normalize(v.get(k)?)) };
        let pinned = VersionSet::pinned(v)?;
        let provider = |p: Provider| -> String {
            set.providers
                .get(&p)
                .or_else(|| pinned.providers.get(&p))
                .cloned()
                .unwrap_or_default()
        };
        let driver_version = if set.driver.is_empty() {
            pinned.driver.clone()
        } else {
            set.driver.clone()
        };
        let chart_of = |version: &str| version.trim_start_matches('v').to_owned();
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
            version: chart_of(&driver_version),
            repo: repo("CSI_DRIVER")?,
            values: driver_values(
                v.get("NODE_DRIVER_REGISTRAR_IMAGE")?,
                v.get("LIVENESSPROBE_IMAGE")?,
            ),
            images: vec![
                retag(v.get("CSI_DRIVER_IMAGE")?, &driver_version),
                retag(v.get("CSI_DRIVER_CRDS_IMAGE")?, &driver_version),
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
            values: aws_values(&provider(Provider::Aws)),
            images: vec![retag(
                v.get("AWS_PROVIDER_IMAGE")?,
                &provider(Provider::Aws),
            )],
            built_by_stack: false,
            daemonset: helm_fullname("aws", "secrets-store-csi-driver-provider-aws"),
        };
        let azure = Release {
            component: Component::Azure,
            name: "azure",
            chart: "csi-secrets-store-provider-azure",
            version: chart_of(&provider(Provider::Azure)),
            repo: repo("AZURE_PROVIDER")?,
            values: without_driver(),
            images: vec![retag(
                v.get("AZURE_PROVIDER_IMAGE")?,
                &provider(Provider::Azure),
            )],
            built_by_stack: true,
            daemonset: helm_fullname("azure", "csi-secrets-store-provider-azure"),
        };
        let vault = Release {
            component: Component::Vault,
            name: "vault",
            chart: "vault",
            version: chart_version("VAULT")?,
            repo: repo("VAULT")?,
            values: vault_values(&provider(Provider::Vault)),
            images: vec![retag(
                v.get("VAULT_PROVIDER_IMAGE")?,
                &provider(Provider::Vault),
            )],
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
    fn a_version_set_moves_charts_images_and_values() {
        let s = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
        let pinned = VersionSet::pinned(s.versions()).unwrap();
        assert_eq!(pinned.driver, "v1.6.0");
        assert_eq!(pinned.providers[&Provider::Aws], "3.1.1");
        assert_eq!(pinned.providers[&Provider::Azure], "v1.8.2");
        assert_eq!(
            pinned.providers[&Provider::Vault],
            "1.7.4",
            "the image tag, no v"
        );
        assert_eq!(Plan::new(s.versions(), &pinned).unwrap(), plan());

        let set = pinned
            .clone()
            .with_driver("1.5.4")
            .with_provider(Provider::Azure, "1.7.0")
            .with_provider(Provider::Vault, "v1.7.3")
            .with_provider(Provider::Aws, "3.0.0");
        assert_eq!(set.driver, "v1.5.4", "driver tags are spelt with v");
        let p = Plan::new(s.versions(), &set).unwrap();
        let driver = p.release(Component::Driver).unwrap();
        assert_eq!(
            driver.version, "1.5.4",
            "the chart version follows the driver"
        );
        assert_eq!(
            driver.images[..2],
            [
                "registry.k8s.io/csi-secrets-store/driver:v1.5.4",
                "registry.k8s.io/csi-secrets-store/driver-crds:v1.5.4"
            ]
        );
        // Every chart version names its own sidecar tags; the values pin the stack's.
        assert_eq!(
            driver.values["linux"]["registrarImage"],
            json!({"repository": "registry.k8s.io/sig-storage/csi-node-driver-registrar", "tag": "v2.16.0"})
        );
        assert_eq!(
            driver.values["linux"]["livenessProbeImage"]["tag"],
            "v2.18.0"
        );
        let azure = p.release(Component::Azure).unwrap();
        assert_eq!(azure.version, "1.7.0");
        assert_eq!(
            azure.images,
            ["mcr.microsoft.com/oss/v2/azure/secrets-store/provider-azure:v1.7.0"]
        );
        let aws = p.release(Component::Aws).unwrap();
        assert_eq!(aws.version, "3.1.1", "the AWS chart stays pinned");
        assert_eq!(aws.values["image"]["tag"], "3.0.0");
        assert_eq!(aws.values["secrets-store-csi-driver"]["install"], false);
        let vault = p.release(Component::Vault).unwrap();
        assert_eq!(vault.version, "0.34.1", "the Vault chart stays pinned");
        assert_eq!(vault.values["csi"]["image"]["tag"], "1.7.3");
        assert_eq!(
            vault.images,
            ["docker.io/hashicorp/vault-csi-provider:1.7.3"]
        );
        assert_eq!(set.label(Provider::Vault), "driver v1.5.4, vault 1.7.3");
        assert_eq!(
            set.to_string(),
            "driver v1.5.4, aws 3.0.0, azure v1.7.0, vault 1.7.3"
        );
    }

    #[test]
    fn running_versions_come_from_the_daemonset_images() {
        use crate::cluster::existing::DaemonSetInfo;
        let ds = |images: &[&str]| DaemonSetInfo {
            namespace: "kube-system".into(),
            name: "x".into(),
            containers: vec![],
            images: images.iter().map(|s| (*s).to_owned()).collect(),
            desired: 1,
            updated: 1,
            available: 1,
            generation: 1,
            observed_generation: 1,
            driver_args: vec![],
        };
        let running = VersionSet::running(
            &plan(),
            &[
                ds(&[
                    "registry.k8s.io/csi-secrets-store/driver:v1.5.4",
                    "registry.k8s.io/sig-storage/livenessprobe:v2.18.0",
                ]),
                ds(&["hashicorp/vault-csi-provider:1.7.3"]),
            ],
        );
        assert_eq!(running.driver, "v1.5.4");
        assert_eq!(
            running.providers,
            BTreeMap::from([(Provider::Vault, "1.7.3".to_owned())]),
            "a provider with no DaemonSet has no entry"
        );
        let want = VersionSet::pinned(
            Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack"))
                .unwrap()
                .versions(),
        )
        .unwrap()
        .with_driver("v1.5.4");
        assert!(running.same_for(
            &want.clone().with_provider(Provider::Vault, "1.7.3"),
            Provider::Vault
        ));
        assert!(
            !running.same_for(&want, Provider::Vault),
            "vault 1.7.4 is not 1.7.3"
        );
        assert!(
            !running.same_for(&want, Provider::Azure),
            "azure is not running"
        );
        let reported = crate::scenario::model::Versions {
            driver: Some("v1.4.4".into()),
            providers: BTreeMap::from([(Provider::Vault, "v1.5.1".into())]),
        };
        let over = want.overlaid(&reported);
        assert_eq!(over.label(Provider::Vault), "driver v1.4.4, vault 1.5.1");
        assert_eq!(over.label(Provider::Azure), "driver v1.4.4, azure v1.8.2");
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
