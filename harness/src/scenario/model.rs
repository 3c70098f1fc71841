//! The scenario format, `secretbench.dev/v1alpha1`: the types `scenario.yaml` deserializes into.
//! Every struct rejects unknown fields; the JSON Schema (`secretbench schema`) is generated from
//! these same types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Deadline;

/// The only accepted `apiVersion`.
pub const API_VERSION: &str = "secretbench.dev/v1alpha1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "secretbench.dev/v1alpha1")]
    V1Alpha1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Kind {
    Scenario,
}

/// A scenario: a folder holding this file, its manifests and its snapshots.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scenario {
    /// Always `secretbench.dev/v1alpha1`.
    pub api_version: ApiVersion,
    /// Always `Scenario`.
    pub kind: Kind,
    /// Name, description, links and labels.
    pub metadata: Metadata,
    /// What runs: providers, bindings, steps.
    pub spec: Spec,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// Must equal the folder name (lowercase letters, digits and '-').
    pub name: String,
    /// What the scenario shows, in a sentence or two.
    pub description: String,
    /// Upstream issues or docs this scenario reproduces or follows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Free-form labels for selecting scenarios (`secretbench run -l ...`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Link {
    /// Address of the issue, pull request or page.
    pub url: String,
    /// What it is, in a few words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Aws,
    Azure,
    Vault,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Aws, Provider::Azure, Provider::Vault];
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Vault => "vault",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    /// The providers this scenario runs for; each needs an entry in `bindings`.
    pub providers: Vec<Provider>,
    /// Per provider: SecretProviderClass parameters, variables and backend actions.
    #[schemars(transform = describe_provider_keys)]
    pub bindings: BTreeMap<Provider, Binding>,
    /// Expected outcome; `fail` marks a known-bug repro ("still reproduces").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// The driver / provider versions a repro was reported on: a run uses them instead of
    /// the stack's (`--versions reported,current` runs both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Versions>,
    /// Run each case this many times (a racy repro): the result is then a count,
    /// "reproduces k/N". `--repeat N` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<std::num::NonZeroU32>,
    /// Why this scenario must run alone among its provider's cases (`--jobs` runs other cases
    /// at the same time): it restarts or reconfigures its provider's DaemonSet, or asserts on
    /// requests that belong to no tenant (a refused identity, Entra ID). Such a case runs with
    /// no other case of its provider, against that provider's emulator defaults after resetting
    /// them, and reads only what its own run journaled; other providers' cases, in their own
    /// tenants, go on meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive: Option<String>,
    /// Steps, run in order; the first failing step stops the run (its catch/finally still run).
    pub steps: Vec<Step>,
    /// Operations run when any step failed, before cleanup (the failing state is still there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Op>,
    /// Operations always run at the end, before the namespace is deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finally: Vec<Op>,
    /// What `secretbench lint` should accept as intended (a scenario about a missing
    /// reference names it here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<LintSettings>,
}

/// Lint findings this scenario means to have.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LintSettings {
    /// Each entry accepts one finding of a reference check; an entry that matches nothing is
    /// itself an error, so the list cannot go stale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<LintAllow>,
}

/// One intended finding: `{ check: missing-secret-provider-class, subject:
/// SecretProviderClass/my-db-secret, reason: ... }`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LintAllow {
    /// The check, as lint prints it after `secretbench::`.
    pub check: ReferenceCheck,
    /// What the finding is about, as lint prints it in `help` (e.g.
    /// `SecretProviderClass/my-db-secret`).
    pub subject: String,
    /// Why the scenario wants it (say what the scenario checks with it).
    pub reason: String,
}

/// The reference checks a scenario may declare intended (the format checks never are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceCheck {
    /// A pod's CSI volume names a SecretProviderClass that no manifest applied into the pod's
    /// namespace defines.
    MissingSecretProviderClass,
    /// A workload runs as a ServiceAccount that no manifest defines (other than `default`).
    MissingServiceAccount,
    /// A pod reads a Secret (env, envFrom, volume, nodePublishSecretRef) that neither a
    /// manifest nor a SecretProviderClass's `secretObjects` makes.
    MissingSecret,
    /// A Secret only `secretObjects` makes is used, but no pod mounts that class, so the
    /// driver never syncs it.
    SecretNeverSynced,
    /// `secretObjects[].data[].objectName` names no file the class mounts (an object's
    /// alias, or its name when it has none).
    SyncObjectNotMounted,
    /// A step names a pod or object (`files.pod`, `wait`, `event.object`, ...) that no manifest
    /// defines.
    MissingObject,
}

impl ReferenceCheck {
    /// The code lint prints (`secretbench::<code>`).
    pub fn code(self) -> &'static str {
        match self {
            ReferenceCheck::MissingSecretProviderClass => "missing-secret-provider-class",
            ReferenceCheck::MissingServiceAccount => "missing-service-account",
            ReferenceCheck::MissingSecret => "missing-secret",
            ReferenceCheck::SecretNeverSynced => "secret-never-synced",
            ReferenceCheck::SyncObjectNotMounted => "sync-object-not-mounted",
            ReferenceCheck::MissingObject => "missing-object",
        }
    }
}

/// What one provider needs to run the scenario.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Binding {
    /// Merged into `spec.parameters` of every SecretProviderClass the scenario applies
    /// (and `spec.provider` is set to this provider).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// `${name}` substitutions for the manifests and the steps (file names, values, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// Named lists of backend actions, run by a step's `backend: { run: NAME }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, Vec<BackendAction>>,
    /// How the provider authenticates to the backend, where it has more than one way; default:
    /// the wiring's (aws: `podIdentity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

/// An identity path: how a provider gets credentials for the pod it mounts for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Identity {
    /// aws: EKS Pod Identity. SecretProviderClass `usePodIdentity: "true"`; the provider sends
    /// the pod's token to the Pod Identity agent, which answers for the role associated with
    /// the pod's ServiceAccount.
    PodIdentity,
    /// aws: IAM roles for service accounts. No `usePodIdentity`; the provider reads the role
    /// from the pod's ServiceAccount annotation `eks.amazonaws.com/role-arn` (the scenario's
    /// manifests set it) and exchanges the pod's token with STS `AssumeRoleWithWebIdentity`.
    Irsa,
}

impl Identity {
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::PodIdentity => "podIdentity",
            Identity::Irsa => "irsa",
        }
    }

    /// The providers that have this identity path.
    pub fn providers(self) -> &'static [Provider] {
        match self {
            Identity::PodIdentity | Identity::Irsa => &[Provider::Aws],
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// `pass` (the default when there is no `expect`) or `fail` (a known bug still there).
    pub outcome: Outcome,
    /// Why: required when `outcome: fail` (what the bug is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The id of the step expected to fail while the bug is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// For a racy repro (`outcome: fail`): the id of the step that checks the bug's
    /// precondition held (the race went the bug's way), before `step`. A run where it fails
    /// did not set the bug up: it neither reproduces nor clears the bug, and the case runs
    /// again from a fresh namespace, up to `attempts` times, until a run gets past it. Only
    /// such triggered runs count ("reproduces k/N"); when none does, the verdict is
    /// "inconclusive". Keep in it only the check of the precondition: any failure in it
    /// counts as "not triggered".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// How many runs may try to get past `trigger` per counted run: with `repeat: N` the case
    /// gets N × `attempts` runs in all to make its N triggered runs (a run that triggers at
    /// once leaves its unused attempts to the next). Default 8: a precondition that holds in
    /// half the runs then misses all of them less than once in 250, and one that holds in one
    /// run of six still triggers at least once in 19 cases of 20, while a case that never
    /// triggers costs at most 8 runs per counted run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<std::num::NonZeroU32>,
}

impl Expect {
    /// `attempts` when not given (see its documentation for why 8).
    pub const DEFAULT_ATTEMPTS: u32 = 8;

    /// How many runs may try to get past the trigger step: 1 without a trigger.
    pub fn attempts(&self) -> u32 {
        match (&self.trigger, self.attempts) {
            (None, _) => 1,
            (Some(_), Some(n)) => n.get(),
            (Some(_), None) => Self::DEFAULT_ATTEMPTS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every step passes.
    Pass,
    /// The step named by `step` fails while the bug is there.
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Versions {
    /// Secrets Store CSI Driver version, e.g. `v1.5.4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Provider versions, e.g. `{ aws: v2.1.0 }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = describe_provider_keys)]
    pub providers: BTreeMap<Provider, String>,
}

/// A step: `try` runs in order and stops at the first failure; `catch` runs if it failed;
/// `finally` always runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Step {
    /// Unique within the scenario; referenced by `spec.expect.step` and `spec.expect.trigger`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What the step does or shows, for the reader and the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Operations run in order; the first failure stops the step.
    #[serde(rename = "try")]
    pub try_: Vec<Op>,
    /// Operations run when `try` failed (to collect what went wrong).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Op>,
    /// Operations always run after `try` (and `catch`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finally: Vec<Op>,
}

/// One operation. Each list item has exactly one of these keys.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = describe_variant_properties)]
pub enum Op {
    /// Act on an emulator through the service's API.
    Backend(BackendAction),
    /// Add or clear fault-injection rules on the emulators.
    Faults(Faults),
    /// Assert on the emulator request journal (polled until `within`).
    Journal(JournalAssert),
    /// Apply a manifest file or every `*.yaml` in a folder, relative to the scenario.
    Apply(Apply),
    /// Delete objects (by file or by kind/name) and wait until they are gone.
    Delete(Delete),
    /// Scale a Deployment or StatefulSet.
    Scale(Scale),
    /// Partial-object match, polled until it holds or `within` passes.
    Assert(AssertObject),
    /// Negative assert: the object, or every object a label selector matches, must not exist
    /// (watched until gone).
    Absent(Absent),
    /// An event with this reason and message pattern must appear (e.g. FailedMount).
    Event(EventAssert),
    /// Wait for a condition (e.g. a pod Ready) with a deadline.
    Wait(Wait),
    /// Read the files under a path in a pod: names, modes, contents.
    Files(Files),
    /// Run a command in a pod and check its output.
    Exec(Exec),
    /// Snapshot an object (redacted) as a YAML insta snapshot.
    Snapshot(SnapshotObject),
    /// Capture a value (a file's contents, an object's field, a Secret's key, ...) into a
    /// variable, `${as}` in the later steps and in manifests applied after it.
    Capture(Box<Capture>),
    /// Check a value (a file, an object's field, a Secret's key, command output, container
    /// logs, a Prometheus metric, or text with captured variables) against expectations:
    /// polled until they hold (`within`), held throughout a period (`for`), or checked once.
    Check(Box<Check>),
    /// Collect diagnostics into the artifacts folder.
    Collect(Vec<Collect>),
}

/// Backend actions, named after the service API they call.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = describe_variant_properties)]
pub enum BackendAction {
    /// Run the named action list of the current provider's binding.
    #[serde(rename = "run")]
    Run(String),
    /// Secrets Manager `CreateSecret`.
    #[serde(rename = "aws.secretsmanager.createSecret")]
    AwsCreateSecret(AwsCreateSecret),
    /// Secrets Manager `PutSecretValue` (a new `AWSCURRENT` version).
    #[serde(rename = "aws.secretsmanager.putSecretValue")]
    AwsPutSecretValue(AwsPutSecretValue),
    /// Secrets Manager `DeleteSecret`.
    #[serde(rename = "aws.secretsmanager.deleteSecret")]
    AwsDeleteSecret(AwsDeleteSecret),
    /// SSM Parameter Store `PutParameter`.
    #[serde(rename = "aws.ssm.putParameter")]
    AwsPutParameter(AwsPutParameter),
    /// SSM Parameter Store `DeleteParameter`.
    #[serde(rename = "aws.ssm.deleteParameter")]
    AwsDeleteParameter(AwsDeleteParameter),
    /// SSM Parameter Store `LabelParameterVersion` (a label moves to the version named).
    #[serde(rename = "aws.ssm.labelParameterVersion")]
    AwsLabelParameterVersion(AwsLabelParameterVersion),
    /// IAM `CreateRole` with a web-identity trust policy and an inline permission policy (IRSA).
    #[serde(rename = "aws.iam.createRole")]
    AwsCreateRole(AwsCreateRole),
    /// Key Vault "Set Secret" (a new version when it exists).
    #[serde(rename = "azure.setSecret")]
    AzureSetSecret(AzureSetSecret),
    /// Key Vault "Delete Secret".
    #[serde(rename = "azure.deleteSecret")]
    AzureDeleteSecret(AzureDeleteSecret),
    /// Key Vault "Import Certificate" from a PEM or PKCS#12 file of the scenario (its key and
    /// managed secret, of the same name, come with it).
    #[serde(rename = "azure.importCertificate")]
    AzureImportCertificate(AzureImportCertificate),
    /// Key Vault "Create Key" (a new key pair, generated by the service).
    #[serde(rename = "azure.createKey")]
    AzureCreateKey(AzureCreateKey),
    /// Key Vault "Import Key" from a key file of the scenario: a JWK, or a PEM key sent as one
    /// (a new version when the key exists).
    #[serde(rename = "azure.importKey")]
    AzureImportKey(AzureImportKey),
    /// Vault KV version 2: write a new version.
    #[serde(rename = "vault.kv2.put")]
    VaultKv2Put(VaultPut),
    /// Vault KV version 2: delete the latest version.
    #[serde(rename = "vault.kv2.delete")]
    VaultKv2Delete(VaultDelete),
    /// Vault KV version 1: write (replaces the value).
    #[serde(rename = "vault.kv1.put")]
    VaultKv1Put(VaultPut),
    /// Vault `sys/mounts/<path>`: enable a secrets engine (`vault secrets enable`).
    #[serde(rename = "vault.secrets.enable")]
    VaultSecretsEnable(VaultSecretsEnable),
    /// Vault `sys/policies/acl/<name>`: write an ACL policy (`vault policy write`).
    #[serde(rename = "vault.policy.write")]
    VaultPolicyWrite(VaultPolicyWrite),
    /// Vault `auth/<mount>/role/<name>`: a role of the Kubernetes auth method, binding service
    /// accounts to policies (the one a SecretProviderClass names in `roleName`).
    #[serde(rename = "vault.kubernetes.role")]
    VaultKubernetesRole(VaultKubernetesRole),
    /// Vault PKI `<mount>/root/generate/internal`: the mount's root CA.
    #[serde(rename = "vault.pki.generateRoot")]
    VaultPkiGenerateRoot(VaultPkiGenerateRoot),
    /// Vault PKI `<mount>/roles/<name>`: which names a role issues certificates for
    /// (`<mount>/issue/<name>`, which vault-csi-provider calls with `method: PUT`).
    #[serde(rename = "vault.pki.role")]
    VaultPkiRole(VaultPkiRole),
    /// Vault database `<mount>/config/<name>`: a connection (written with
    /// `verify_connection=false`: no database needs to be there).
    #[serde(rename = "vault.database.config")]
    VaultDatabaseConfig(VaultDatabaseConfig),
    /// Vault database `<mount>/roles/<name>`: a dynamic role; every read of
    /// `<mount>/creds/<name>` makes a new user and password.
    #[serde(rename = "vault.database.role")]
    VaultDatabaseRole(VaultDatabaseRole),
}

/// A map keyed by provider: each key's entry says it is for that provider.
fn describe_provider_keys(schema: &mut schemars::Schema) {
    if let Some(props) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
        for (key, prop) in props.iter_mut() {
            if let Some(prop) = prop.as_object_mut() {
                prop.entry("description")
                    .or_insert(format!("For the `{key}` provider.").into());
            }
        }
    }
}

/// schemars puts a variant's doc comment on its `oneOf` entry; editors and the format reference
/// read a field's description from the property, so it is copied there.
fn describe_variant_properties(schema: &mut schemars::Schema) {
    let Some(variants) = schema.get_mut("oneOf").and_then(|v| v.as_array_mut()) else {
        return;
    };
    for variant in variants {
        let Some(description) = variant.get("description").cloned() else {
            continue;
        };
        if let Some(props) = variant
            .get_mut("properties")
            .and_then(|p| p.as_object_mut())
            .filter(|p| p.len() == 1)
        {
            for prop in props.values_mut() {
                if let Some(prop) = prop.as_object_mut() {
                    prop.entry("description").or_insert(description.clone());
                }
            }
        }
    }
}

impl BackendAction {
    /// The provider whose backend this action talks to (`None` for `run`).
    pub fn provider(&self) -> Option<Provider> {
        match self {
            BackendAction::Run(_) => None,
            BackendAction::AwsCreateSecret(_)
            | BackendAction::AwsPutSecretValue(_)
            | BackendAction::AwsDeleteSecret(_)
            | BackendAction::AwsPutParameter(_)
            | BackendAction::AwsDeleteParameter(_)
            | BackendAction::AwsLabelParameterVersion(_)
            | BackendAction::AwsCreateRole(_) => Some(Provider::Aws),
            BackendAction::AzureSetSecret(_)
            | BackendAction::AzureDeleteSecret(_)
            | BackendAction::AzureImportCertificate(_)
            | BackendAction::AzureCreateKey(_)
            | BackendAction::AzureImportKey(_) => Some(Provider::Azure),
            BackendAction::VaultKv2Put(_)
            | BackendAction::VaultKv2Delete(_)
            | BackendAction::VaultKv1Put(_)
            | BackendAction::VaultSecretsEnable(_)
            | BackendAction::VaultPolicyWrite(_)
            | BackendAction::VaultKubernetesRole(_)
            | BackendAction::VaultPkiGenerateRoot(_)
            | BackendAction::VaultPkiRole(_)
            | BackendAction::VaultDatabaseConfig(_)
            | BackendAction::VaultDatabaseRole(_) => Some(Provider::Vault),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsCreateSecret {
    /// The secret's name (`Name`).
    pub name: String,
    /// Its first value (`SecretString`).
    pub secret_string: String,
    /// Region (default: the binding's / emulator's default region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsPutSecretValue {
    /// Name or ARN of the secret (`SecretId`).
    pub secret_id: String,
    /// The new value (`SecretString`); it becomes `AWSCURRENT`.
    pub secret_string: String,
    /// Region (default: the emulator's default region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsDeleteSecret {
    /// Name or ARN of the secret (`SecretId`).
    pub secret_id: String,
    /// Delete at once instead of scheduling the deletion (`ForceDeleteWithoutRecovery`).
    #[serde(default)]
    pub force_delete_without_recovery: bool,
    /// Region (default: the emulator's default region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ParameterType {
    /// Plain text.
    String,
    /// Comma-separated values.
    StringList,
    /// Encrypted text (decrypted for readers that ask, as the provider does).
    SecureString,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsPutParameter {
    /// The parameter's name, e.g. `/sample-app/db/password` (`Name`).
    pub name: String,
    /// Its value (`Value`).
    pub value: String,
    /// `String` (default), `StringList` or `SecureString` (`Type`).
    #[serde(default = "default_parameter_type", rename = "type")]
    pub type_: ParameterType,
    /// Replace an existing parameter, making a new version (`Overwrite`).
    #[serde(default)]
    pub overwrite: bool,
    /// Region (default: the emulator's default region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

fn default_parameter_type() -> ParameterType {
    ParameterType::String
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsDeleteParameter {
    /// The parameter's name (`Name`).
    pub name: String,
    /// Region (default: the emulator's default region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Labels attached to one version of a parameter; a label already on another version of it
/// moves here. A parameter version has at most 10 labels.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsLabelParameterVersion {
    /// The parameter's name (`Name`).
    pub name: String,
    /// The version to label (`ParameterVersion`; default: the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The labels (`Labels`): 1 to 100 letters, digits, `.`, `-` and `_`, not starting with a
    /// digit, `aws` or `ssm`. SSM answers labels breaking these rules in `InvalidLabels`
    /// without failing; the action fails on them.
    pub labels: Vec<String>,
    /// Region (default: the emulator's default region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// An IAM role for IRSA: `CreateRole` with its trust policy, and its permissions as an inline
/// policy (`PutRolePolicy`), the way seed 001's Terraform makes one
/// (`iam-assumable-role-with-oidc`). The ARN is `arn:aws:iam::<accountId>:role/<roleName>`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsCreateRole {
    /// The role's name; its ARN is `arn:aws:iam::<accountId>:role/<roleName>`.
    pub role_name: String,
    /// Default: the emulator's account (`${awsAccountId}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Who may assume the role (its trust policy).
    pub trust: AwsWebIdentityTrust,
    /// Permission statements; none: the role may do nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<AwsStatement>,
}

/// Who may assume the role with a web identity token.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsWebIdentityTrust {
    /// The federated principal: the OIDC issuer whose tokens the role takes (`${awsOidcIssuer}`
    /// for the cluster's). Its provider must be registered in the role's account.
    pub issuer: String,
    /// `StringEquals` on `<issuer>:aud` (default `sts.amazonaws.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// `StringEquals` on `<issuer>:sub`: `system:serviceaccount:<namespace>:<name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// `StringLike` on `<issuer>:sub` (`*` and `?` wildcards).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects_like: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The statement grants the actions.
    Allow,
    /// The statement refuses the actions (wins over any allow).
    Deny,
}

/// One IAM policy statement: actions (e.g. `secretsmanager:GetSecretValue`) on resources (ARN
/// patterns, e.g. `arn:aws:secretsmanager:${awsRegion}:${awsAccountId}:secret:MyDBSecret-*`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsStatement {
    /// Default: allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    /// IAM actions, e.g. `secretsmanager:GetSecretValue` (`*` wildcards).
    pub actions: Vec<String>,
    /// Resource ARN patterns the actions apply to (`*` wildcards).
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureSetSecret {
    /// Vault name (the emulator tells vaults apart by host name).
    pub vault: String,
    /// The secret's name in the vault.
    pub name: String,
    /// Its value (a new version when the secret exists).
    pub value: String,
    /// The secret's `contentType` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureDeleteSecret {
    /// Vault name.
    pub vault: String,
    /// The secret's name (soft-deleted, as Key Vault does).
    pub name: String,
}

/// A certificate and its private key imported from a file of the scenario, the way
/// `az keyvault certificate import` sends it: a PEM file as text with the policy's content type
/// `application/x-pem-file`, a PKCS#12 file base64-encoded as `application/x-pkcs12`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureImportCertificate {
    /// Vault name.
    pub vault: String,
    /// The certificate's name (its key and secret get the same name).
    pub name: String,
    /// The file, relative to the scenario folder: `*.pem` (a PKCS#8 private key and the
    /// certificates) or `*.pfx` / `*.p12` (PKCS#12).
    pub file: String,
    /// The PKCS#12 file's password (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// How a certificate file is sent to Key Vault, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFile {
    /// `*.pem`: sent as text, content type `application/x-pem-file`.
    Pem,
    /// `*.pfx`, `*.p12`: sent base64-encoded, content type `application/x-pkcs12`.
    Pkcs12,
}

impl CertificateFile {
    /// The kind of `path` by its extension, `None` for any other.
    pub fn of(path: &str) -> Option<Self> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "pem" => Some(Self::Pem),
            "pfx" | "p12" => Some(Self::Pkcs12),
            _ => None,
        }
    }

    /// The secret content type Key Vault keeps for it.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pem => "application/x-pem-file",
            Self::Pkcs12 => "application/x-pkcs12",
        }
    }
}

/// A key type Key Vault generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KeyType {
    /// RSA (`keySize` 2048, 3072 or 4096).
    #[serde(rename = "RSA")]
    Rsa,
    /// Elliptic curve (`curve` P-256, P-384 or P-521).
    #[serde(rename = "EC")]
    Ec,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureCreateKey {
    /// Vault name.
    pub vault: String,
    /// The key's name.
    pub name: String,
    /// `RSA` or `EC` (`kty`).
    pub kty: KeyType,
    /// RSA only: 2048 (default), 3072 or 4096 (`key_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_size: Option<u32>,
    /// EC only: `P-256` (default), `P-384` or `P-521` (`crv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
}

/// A key imported from a file of the scenario, sent as Key Vault's "Import Key" takes it
/// (`PUT /keys/{name}`, `{"key": <JWK>}`). Key Vault keeps a private key's private parts and
/// answers "Get Key" with the public ones, which the Azure provider mounts for
/// `objectType: key` as a PEM `PUBLIC KEY`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureImportKey {
    /// Vault name.
    pub vault: String,
    /// The key's name.
    pub name: String,
    /// The file, relative to the scenario folder: a JWK (JSON, RFC 7517: `kty` RSA, RSA-HSM,
    /// EC or EC-HSM, sent as it is), or one PEM key, sent as a JWK with every part it has:
    /// `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1),
    /// `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY`; RSA 2048, 3072 or 4096, EC
    /// P-256, P-384 or P-521, unencrypted. Lint reads it as the run does.
    pub file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultPut {
    /// Secrets engine mount, e.g. `secret`.
    pub mount: String,
    /// Path inside the mount, e.g. `sample-app/db` (read as `secret/data/sample-app/db` on KV v2).
    pub path: String,
    /// Key/value pairs to write (a new version on KV v2). A value is any JSON value: text,
    /// a number, a boolean, null, a list or a mapping, stored as Vault stores JSON.
    /// vault-csi-provider writes a text value as it is and any other value JSON-encoded
    /// (compact, keys sorted, `<`, `>` and `&` escaped as `\u003c`, ..., as Go's
    /// `json.Marshal` writes it).
    pub data: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultDelete {
    /// Secrets engine mount, e.g. `secret`.
    pub mount: String,
    /// Path inside the mount (on KV v2, its latest version is deleted).
    pub path: String,
}

/// A secrets engine type the Vault emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum VaultEngine {
    /// KV version 1.
    #[serde(rename = "kv")]
    Kv,
    /// KV version 2 (versioned).
    #[serde(rename = "kv-v2")]
    KvV2,
    /// PKI: a CA issuing certificates.
    #[serde(rename = "pki")]
    Pki,
    /// Database: dynamic credentials.
    #[serde(rename = "database")]
    Database,
}

impl VaultEngine {
    /// The type as Vault's `sys/mounts` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kv => "kv",
            Self::KvV2 => "kv-v2",
            Self::Pki => "pki",
            Self::Database => "database",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultSecretsEnable {
    /// Where to mount it, e.g. `pki` (requests then go to `pki/...`).
    pub path: String,
    /// The engine: `kv`, `kv-v2`, `pki` or `database`.
    #[serde(rename = "type")]
    pub type_: VaultEngine,
    /// The mount's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultPolicyWrite {
    /// The policy's name, e.g. `pki-policy`; a role lists it in `policies`.
    pub name: String,
    /// Its rules in HCL, as `vault policy write` takes them, e.g.
    /// `path "pki/issue/example-dot-com" { capabilities = ["update"] }`.
    pub rules: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultKubernetesRole {
    /// The role's name (`roleName` in a SecretProviderClass).
    pub name: String,
    /// The service accounts that may log in with it (`bound_service_account_names`; `*` for any).
    pub bound_service_account_names: Vec<String>,
    /// Their namespaces (`bound_service_account_namespaces`; `*` for any, e.g. `${namespace}`).
    pub bound_service_account_namespaces: Vec<String>,
    /// The audience the login token must carry (`audience`; vault-csi-provider's default
    /// request is for `vault`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The policies its tokens get.
    pub policies: Vec<String>,
    /// Its tokens' TTL (`ttl`), e.g. `20m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<super::duration::Dur>,
    /// The Kubernetes auth method's mount (default `kubernetes`, the one the bench wires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultPkiGenerateRoot {
    /// The PKI mount, e.g. `pki`.
    pub mount: String,
    /// The CA's common name (`common_name`), e.g. `example.com`.
    pub common_name: String,
    /// The CA certificate's lifetime (`ttl`; default Vault's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<super::duration::Dur>,
}

/// A key type Vault's PKI generates for the certificates a role issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PkiKeyType {
    /// RSA 2048 (Vault's default).
    #[serde(rename = "rsa")]
    Rsa,
    /// ECDSA P-256.
    #[serde(rename = "ec")]
    Ec,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultPkiRole {
    /// The PKI mount, e.g. `pki`.
    pub mount: String,
    /// The role's name: certificates are issued at `<mount>/issue/<name>`.
    pub name: String,
    /// The domains it issues for (`allowed_domains`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_domains: Vec<String>,
    /// Names under those domains too, e.g. `test.example.com` for `example.com` (`allow_subdomains`).
    #[serde(default)]
    pub allow_subdomains: bool,
    /// The domains themselves (`allow_bare_domains`).
    #[serde(default)]
    pub allow_bare_domains: bool,
    /// Any name at all (`allow_any_name`).
    #[serde(default)]
    pub allow_any_name: bool,
    /// The issued certificates' key type (`key_type`; default `rsa`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<PkiKeyType>,
    /// Their default lifetime (`ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<super::duration::Dur>,
    /// Their longest lifetime (`max_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<super::duration::Dur>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultDatabaseConfig {
    /// The database mount, e.g. `database`.
    pub mount: String,
    /// The connection's name; a role names it in `dbName`.
    pub name: String,
    /// The database plugin (`plugin_name`), e.g. `postgresql-database-plugin`.
    pub plugin_name: String,
    /// The roles that may use it (`allowed_roles`; `*` for any). Vault refuses credentials for
    /// a role not listed.
    pub allowed_roles: Vec<String>,
    /// The plugin's connection URL (`connection_url`), e.g.
    /// `postgres://{{username}}:{{password}}@postgres:5432/db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_url: Option<String>,
    /// The user Vault connects as (`username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Its password (`password`; never shown again by Vault).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultDatabaseRole {
    /// The database mount, e.g. `database`.
    pub mount: String,
    /// The role's name: credentials are read at `<mount>/creds/<name>`.
    pub name: String,
    /// The connection it uses (`db_name`), a `vault.database.config` name.
    pub db_name: String,
    /// The statements that make a user (`creation_statements`), e.g.
    /// `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`.
    pub creation_statements: Vec<String>,
    /// The credentials' lease (`default_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_ttl: Option<super::duration::Dur>,
    /// Their longest lease (`max_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<super::duration::Dur>,
}

/// Fault injection on the emulators.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = describe_variant_properties)]
pub enum Faults {
    /// Add one rule.
    Add(FaultRule),
    /// Remove every rule (of one service when given).
    Clear(FaultClear),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FaultRule {
    /// `secretsmanager`, `ssm`, `keyvault`, `vault`, ...
    pub service: String,
    /// Only this operation, e.g. `GetSecretValue` (default: every operation of the service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Only requests signed for this AWS region (default: every region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// HTTP status to answer with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The service's error code, e.g. `ThrottlingException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Extra latency before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<super::duration::Dur>,
    /// Only the first N matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FaultClear {
    /// Only this service's rules (default: every rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JournalAssert {
    /// `secretsmanager`, `ssm`, `sts`, `podidentity`, `keyvault`, `entra`, `vault`, ...
    pub service: String,
    /// The operation as the journal names it, e.g. `GetSecretValue`, `GetSecret`, `kv2.read`.
    pub operation: String,
    /// Only entries with this HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// At least this many matching entries (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u32>,
    /// At most this many (0 = "must never be called").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<u32>,
    /// Snapshot the matching entries (redacted) under this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// How long the journal is polled for the count to hold.
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Apply {
    /// A file or folder relative to the scenario folder.
    pub path: String,
    /// Put the objects in a second namespace, `<scenario namespace>-<this>`, which the run
    /// creates and removes (e.g. a SecretProviderClass the pod must not see).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Expect the API server to reject it, with a message matching this pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Delete {
    /// A file or folder relative to the scenario (its objects are deleted)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// ... or one object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// Deadline for the objects to be gone.
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scale {
    /// `Deployment` or `StatefulSet`.
    pub kind: String,
    /// The object's `metadata.name` (from the scenario's manifests).
    pub name: String,
    /// The replica count to set.
    pub replicas: u32,
    /// Deadline for the ready replica count to match.
    pub within: Deadline,
}

/// What `absent` waits to be gone: one object by name, or every object of a kind that a label
/// selector matches in the scenario's namespace (e.g. the pods of a Deployment scaled to zero,
/// whose names the scenario does not know).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Absent {
    /// Defaults from the kind for the core and secrets-store kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The Kubernetes kind, as in manifests: `Pod`, `Secret`, `SecretProviderClassPodStatus`, ...
    pub kind: String,
    /// The object's `metadata.name` (`${var}`s allowed)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ... or a label selector, e.g. `app=sample-app`: no object of the kind may match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Another namespace than the scenario's: `provider`, where the install plan puts the
    /// driver and the providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<ObjectNamespace>,
    /// How long to wait for it to be gone (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Deadline>,
}

impl Absent {
    /// How a message names what must be gone: `Pod/web-1`, `Pod[app=web]`.
    pub fn describe(&self) -> String {
        match (&self.name, &self.selector) {
            (Some(name), _) => format!("{}/{name}", self.kind),
            (None, Some(sel)) => format!("{}[{sel}]", self.kind),
            (None, None) => self.kind.clone(),
        }
    }
}

/// An object in the scenario's namespace (or cluster-scoped), or, for `delete` and `absent`, in
/// the providers' namespace.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectRef {
    /// Defaults from the kind for the core and secrets-store kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The Kubernetes kind, as in manifests: `Pod`, `Secret`, `SecretProviderClassPodStatus`, ...
    pub kind: String,
    /// The object's `metadata.name` (`${var}`s allowed).
    pub name: String,
    /// Another namespace than the scenario's (`delete` only; `absent` has its own): `provider`,
    /// where the install plan puts the driver and the providers, e.g. for the Secret that holds
    /// vault-csi-provider's HMAC key. Such a change is seen by every case of that provider, so
    /// the scenario must be `exclusive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<ObjectNamespace>,
    /// How long to wait for it to exist (`snapshot`, default 10s; not used elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Deadline>,
}

/// A namespace an [`ObjectRef`] may name besides the scenario's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ObjectNamespace {
    /// The namespace of the install plan's releases (the driver and every provider).
    Provider,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssertObject {
    /// A partial object: apiVersion, kind, metadata.name and the fields that must match.
    pub object: serde_json::Value,
    /// How long to poll until the object matches.
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventAssert {
    /// The object the event is about (`involvedObject`).
    pub object: EventObject,
    /// The event's `reason`, e.g. `FailedMount`, `SecretRotationComplete`.
    pub reason: String,
    /// Regular expression the message must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `Normal` or `Warning` (default: either).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub type_: Option<EventType>,
    /// How long to poll for the event.
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventObject {
    /// The object's kind, e.g. `Pod`.
    pub kind: String,
    /// The object's name.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EventType {
    /// An informational event.
    Normal,
    /// A problem, e.g. `FailedMount`.
    Warning,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Wait {
    /// A kind with status conditions: `Pod`, `Deployment`, `StatefulSet`, `DaemonSet`,
    /// `ReplicaSet`, `Job`, ...
    pub kind: String,
    /// The object's `metadata.name` (from the scenario's manifests).
    pub name: String,
    /// A status condition type of that kind, e.g. `Ready` (Pod), `Available` (Deployment),
    /// `Complete` (Job); it must become `True`.
    pub condition: String,
    /// How long to wait.
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Files {
    /// A pod of the scenario's manifests (`kind: Pod`, by `metadata.name`); or give
    /// `deployment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// ... or a Deployment of the scenario's manifests: any Ready pod of its current
    /// ReplicaSet (the runner finds one; its name is never guessed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The container to read in (default: the pod's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// A directory in the container; its files are listed (recursively) with modes and contents.
    pub path: String,
    /// Expected contents per file name (relative to `path`), polled until `within`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expect: BTreeMap<String, FileExpect>,
    /// Snapshot name (unique in the scenario) for names, modes and contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Deadline for `expect` to hold (required with `expect`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Deadline>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileExpect {
    /// The file's exact contents, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<String>,
    /// The file's exact bytes, base64-encoded (for contents that are not text, e.g. a PKCS#12
    /// file the Azure provider writes with `objectEncoding: base64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// The file's exact bytes, hex-encoded (`cafe00ff`; upper or lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Octal permission bits, e.g. `"0644"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `false`: this file must not exist.
    #[serde(default = "yes")]
    pub exists: bool,
}

fn yes() -> bool {
    true
}

impl FileExpect {
    /// The expected bytes given as `base64` or `hex` (`None` when neither is); `Err` says why
    /// the encoding does not decode, or that both are given.
    pub fn expected_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        use base64::Engine as _;
        match (&self.base64, &self.hex) {
            (Some(_), Some(_)) => Err("give one of `base64` and `hex`".to_owned()),
            (Some(b), None) => {
                // YAML folds long values across lines: whitespace is not part of the data.
                let compact: String = b.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map(Some)
                    .map_err(|e| format!("`base64` does not decode: {e}"))
            }
            (None, Some(h)) => {
                let compact: String = h.chars().filter(|c| !c.is_whitespace()).collect();
                hex::decode(compact)
                    .map(Some)
                    .map_err(|e| format!("`hex` does not decode: {e}"))
            }
            (None, None) => Ok(None),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exec {
    /// A pod of the scenario's manifests (`kind: Pod`, by `metadata.name`); or give
    /// `deployment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// ... or a Deployment of the scenario's manifests: any Ready pod of its current
    /// ReplicaSet (the runner finds one; its name is never guessed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The container to run in (default: the pod's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The command and its arguments (no shell unless you run one, e.g. `[sh, -c, "..."]`).
    pub command: Vec<String>,
    /// Expected stdout (exact, after trimming one trailing newline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Snapshot name (unique in the scenario) for stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// How long to retry until the command succeeds (and `stdout` matches).
    pub within: Deadline,
}

/// `capture: { as: NAME, <one source>, within }`: reads a value once it can be read and keeps it
/// as the variable `${NAME}` for the rest of the case.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Capture {
    /// The variable's name (letters, digits and `_`, not starting with a digit); later steps
    /// and manifests use it as `${NAME}`. It may not redefine a built-in or binding variable.
    #[serde(rename = "as")]
    pub as_: String,
    /// Source: a file's contents in a pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileSource>,
    /// Source: a field of a Kubernetes object, by a JSONPath.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectField>,
    /// Source: one key of a Secret, decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKey>,
    /// Source: a command's stdout in a pod (one trailing newline trimmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecSource>,
    /// Source: a container's logs (the lines since the case started, or all with
    /// `since: all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<LogsSource>,
    /// Source: a Prometheus metric's value (the sum of the matching series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricSource>,
    /// Keep only this field of the value, read as JSON, by kubectl's JSONPath (a string as it
    /// is, anything else as JSON), e.g. `.data.issuing_ca` of the file vault-csi-provider writes
    /// for an object without `secretKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// How long to retry until the source can be read (the file exists, the object has the
    /// field); default 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Deadline>,
}

/// `check: { <one source>, <expectations>, within | for }`. Every expectation given must
/// hold. With `within` the check is polled until they hold; with `for` they must hold at
/// every look for the whole period and the check fails at the first look where one does
/// not ("still holds after"); with neither it is checked once.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Check {
    /// Source: a file's contents in a pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileSource>,
    /// Source: a field of a Kubernetes object, by a JSONPath.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectField>,
    /// Source: one key of a Secret, decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKey>,
    /// Source: a command's stdout in a pod (one trailing newline trimmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecSource>,
    /// Source: a container's logs (the lines since the case started, or all with
    /// `since: all`; `matches` / `notMatches` look at each line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<LogsSource>,
    /// Source: a Prometheus metric's value (the sum of the matching series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricSource>,
    /// Source: this text, e.g. a captured variable (`"${before}"`) to compare with another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Check only this field of the value, read as JSON, by kubectl's JSONPath (a string as it
    /// is, anything else as JSON), e.g. `.data.certificate` of the file vault-csi-provider
    /// writes for an object without `secretKey` (the whole answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// The value is a PEM certificate (the first of a chain) with these properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateExpect>,
    /// The value equals this exactly (e.g. `"${before}"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// The value is not this (e.g. `"${before}"`: it changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differs: Option<String>,
    /// A regular expression some line of the value matches (`^` and `$` match at line ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// A regular expression no line of the value matches (e.g. an error in a log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_matches: Option<String>,
    /// The value, as a number, is at least this (a number, or text such as `"${before}"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<Number>,
    /// The value, as a number, is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<Number>,
    /// The value, as a number, is more than this (e.g. a counter that went up since a capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greater_than: Option<Number>,
    /// The value, as a number, is less than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub less_than: Option<Number>,
    /// Poll until every expectation holds, at most this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Deadline>,
    /// Every expectation must hold at every look for this long (looked at every 500ms, the
    /// last look at the end of the period); fails at the first look where one does not.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "for")]
    pub for_: Option<Deadline>,
}

/// A number, or text that is one after variable substitution (`"${before}"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Number {
    /// A number, e.g. `1` or `0.5`.
    Number(f64),
    /// Text holding a number once `${var}`s are substituted.
    Text(String),
}

impl Number {
    /// The number, or why the text is not one.
    pub fn value(&self) -> Result<f64, String> {
        match self {
            Number::Number(n) => Ok(*n),
            Number::Text(t) => t
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("`{t}` is not a number")),
        }
    }
}

/// A file in a pod of the scenario.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileSource {
    /// A pod of the scenario's manifests (`kind: Pod`, by `metadata.name`); or give
    /// `deployment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// ... or a Deployment of the scenario's manifests: any Ready pod of its current
    /// ReplicaSet (the runner finds one; its name is never guessed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The container to read in (default: the pod's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The file's absolute path, e.g. `/mnt/secrets-store/db-password`.
    pub path: String,
}

/// One field of an object in the scenario's namespace (or cluster-scoped).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectField {
    /// Defaults from the kind for the core and secrets-store kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The Kubernetes kind, e.g. `SecretProviderClassPodStatus`, `Secret`, `Pod`.
    pub kind: String,
    /// The object's `metadata.name` (`${var}`s allowed), e.g. the pod status
    /// `<pod>-${namespace}-<class>`.
    pub name: String,
    /// Which field, as kubectl's JSONPath: `.status.objects[0].version`,
    /// `.status.objects[?(@.id=="secret/joke")].version`, `.metadata.labels['app']`. A string
    /// is taken as it is; a number, boolean, object or list as JSON.
    pub json_path: String,
}

/// One key of a Secret in the scenario's namespace (e.g. one the driver syncs).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKey {
    /// The Secret's name.
    pub name: String,
    /// The key in its `data`; the value is base64-decoded.
    pub key: String,
}

/// A command run in a pod of the scenario.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecSource {
    /// A pod of the scenario's manifests (`kind: Pod`, by `metadata.name`); or give
    /// `deployment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// ... or a Deployment of the scenario's manifests: any Ready pod of its current
    /// ReplicaSet (the runner finds one; its name is never guessed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The container to run in (default: the pod's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The command and its arguments (no shell unless you run one, e.g. `[printenv, X]`).
    pub command: Vec<String>,
}

/// The logs of one container of the pods chosen by `pod` or `selector`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogsSource {
    /// One pod by name (in the scenario's namespace unless `namespace` says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// ... or every pod matching this label selector, e.g. `app=secrets-store-csi-driver`
    /// (their logs one after the other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// ... or any Ready pod of this Deployment's current ReplicaSet (in the scenario's
    /// namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The pods' namespace, e.g. `kube-system` for the driver and the providers (default: the
    /// scenario's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The container, e.g. `secrets-store` (the driver's); required when a pod has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Which lines: `case` (the default), those logged since the case started (from the
    /// second it started: `kubectl logs --since-time`), so a check on a pod every case shares
    /// (the driver's, a provider's) does not see what earlier cases made it log; cases running
    /// beside it under `--jobs` still log there meanwhile, so a pattern names the case's own
    /// objects (a pod's uid, the namespace). `all`: the container's whole log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<LogsSince>,
}

/// Which lines of a container's log a `logs` source reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum LogsSince {
    /// Lines logged since the case started (its setup included), by the node's timestamps.
    #[default]
    Case,
    /// The whole log the kubelet keeps (lines of earlier and concurrent cases too).
    All,
}

/// A metric read from a pod's Prometheus endpoint through the API server's pod proxy
/// (`/api/v1/namespaces/NS/pods/POD:PORT/proxy/metrics`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricSource {
    /// One pod by name (in the scenario's namespace unless `namespace` says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// ... or every pod matching this label selector (their values are added up), e.g.
    /// `app=secrets-store-csi-driver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The pods' namespace, e.g. `kube-system` (default: the scenario's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The metrics port, e.g. `8095` (the driver's `--metrics-addr`).
    pub port: u16,
    /// The endpoint's path (default `/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The metric's name as the endpoint writes it, e.g. `node_publish_total` (the driver's
    /// count of publishes; its docs call it `total_node_publish`).
    pub name: String,
    /// Only series with these labels (others may be there too), e.g. `{ provider: azure }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The pod an operation runs in: one by name, or any Ready pod of a Deployment's current
/// ReplicaSet (resolved to a name by the runner before kubectl is called).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodTarget<'a> {
    Pod(&'a str),
    Deployment(&'a str),
}

impl<'a> PodTarget<'a> {
    /// Exactly one of `pod` and `deployment`, else `None`.
    pub fn of(pod: &'a Option<String>, deployment: &'a Option<String>) -> Option<Self> {
        match (pod, deployment) {
            (Some(p), None) => Some(PodTarget::Pod(p)),
            (None, Some(d)) => Some(PodTarget::Deployment(d)),
            _ => None,
        }
    }

    /// The key that names it in `scenario.yaml`, and the kind of the object it names.
    pub fn key_and_kind(self) -> (&'static str, &'static str) {
        match self {
            PodTarget::Pod(_) => ("pod", "Pod"),
            PodTarget::Deployment(_) => ("deployment", "Deployment"),
        }
    }

    /// The name given (of the pod or of the Deployment).
    pub fn name(self) -> &'a str {
        match self {
            PodTarget::Pod(n) | PodTarget::Deployment(n) => n,
        }
    }
}

impl std::fmt::Display for PodTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PodTarget::Pod(p) => write!(f, "pod {p}"),
            PodTarget::Deployment(d) => write!(f, "a pod of Deployment {d}"),
        }
    }
}

/// Where a `capture` or a `check` reads its value: exactly one source.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    File(&'a FileSource),
    Object(&'a ObjectField),
    Secret(&'a SecretKey),
    Exec(&'a ExecSource),
    Logs(&'a LogsSource),
    Metric(&'a MetricSource),
    Value(&'a str),
}

impl Source<'_> {
    /// The key that names it in `scenario.yaml`.
    pub fn key(&self) -> &'static str {
        match self {
            Source::File(_) => "file",
            Source::Object(_) => "object",
            Source::Secret(_) => "secret",
            Source::Exec(_) => "exec",
            Source::Logs(_) => "logs",
            Source::Metric(_) => "metric",
            Source::Value(_) => "value",
        }
    }
}

/// The keys a source is given by, in the order the format reference lists them.
pub const SOURCE_KEYS: [&str; 7] = [
    "file", "object", "secret", "exec", "logs", "metric", "value",
];

impl Files {
    /// The pod to read in (`None` unless exactly one of `pod` and `deployment` is given).
    pub fn target(&self) -> Option<PodTarget<'_>> {
        PodTarget::of(&self.pod, &self.deployment)
    }
}

impl Exec {
    /// The pod to run in (`None` unless exactly one of `pod` and `deployment` is given).
    pub fn target(&self) -> Option<PodTarget<'_>> {
        PodTarget::of(&self.pod, &self.deployment)
    }
}

impl FileSource {
    /// The pod to read in (`None` unless exactly one of `pod` and `deployment` is given).
    pub fn target(&self) -> Option<PodTarget<'_>> {
        PodTarget::of(&self.pod, &self.deployment)
    }
}

impl ExecSource {
    /// The pod to run in (`None` unless exactly one of `pod` and `deployment` is given).
    pub fn target(&self) -> Option<PodTarget<'_>> {
        PodTarget::of(&self.pod, &self.deployment)
    }
}

impl Capture {
    /// Every source given (exactly one is valid).
    pub fn sources(&self) -> Vec<Source<'_>> {
        let mut out = Vec::new();
        out.extend(self.file.as_ref().map(Source::File));
        out.extend(self.object.as_ref().map(Source::Object));
        out.extend(self.secret.as_ref().map(Source::Secret));
        out.extend(self.exec.as_ref().map(Source::Exec));
        out.extend(self.logs.as_ref().map(Source::Logs));
        out.extend(self.metric.as_ref().map(Source::Metric));
        out
    }
}

impl Check {
    /// Every source given (exactly one is valid).
    pub fn sources(&self) -> Vec<Source<'_>> {
        let mut out = Vec::new();
        out.extend(self.file.as_ref().map(Source::File));
        out.extend(self.object.as_ref().map(Source::Object));
        out.extend(self.secret.as_ref().map(Source::Secret));
        out.extend(self.exec.as_ref().map(Source::Exec));
        out.extend(self.logs.as_ref().map(Source::Logs));
        out.extend(self.metric.as_ref().map(Source::Metric));
        out.extend(self.value.as_deref().map(Source::Value));
        out
    }

    /// Whether any expectation is given.
    pub fn expects_anything(&self) -> bool {
        self.equals.is_some()
            || self.differs.is_some()
            || self.matches.is_some()
            || self.not_matches.is_some()
            || self.at_least.is_some()
            || self.at_most.is_some()
            || self.greater_than.is_some()
            || self.less_than.is_some()
            || self.certificate.is_some()
    }
}

/// What a certificate must be; every field given must hold. The value must parse as a PEM
/// X.509 certificate in any case.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CertificateExpect {
    /// Its subject's common name (CN), e.g. the `common_name` a PKI issue asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// Its issuer's common name, e.g. the CA's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_common_name: Option<String>,
    /// DNS names its subject alternative names must include.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// Whether it is a CA certificate (basic constraints `CA:TRUE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_ca: Option<bool>,
    /// A PEM certificate whose key signed it, e.g. `${ca}` captured from the issuing CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// Its validity period (notAfter - notBefore) is at most this, e.g. the `ttl` a request
    /// asked for plus Vault's 30s backdating (`24h1m` for `ttl: 24h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lifetime: Option<super::duration::Dur>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotObject {
    /// Snapshot name, unique in the scenario: stored as `snapshots/<name>@<provider>.snap`.
    pub name: String,
    /// The object to snapshot (redacted of uids, times and other per-run values).
    pub object: ObjectRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Collect {
    /// Events of the scenario namespace.
    Events,
    /// Logs of the scenario's pods, the driver and the providers.
    Logs,
    /// The emulator request journal.
    Journal,
    /// `kubectl describe` of the scenario's objects.
    Describe,
}
