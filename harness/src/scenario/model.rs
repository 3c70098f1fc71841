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
    pub api_version: ApiVersion,
    pub kind: Kind,
    pub metadata: Metadata,
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
    pub url: String,
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
    /// Steps, run in order; the first failing step stops the run (its catch/finally still run).
    pub steps: Vec<Step>,
    /// Operations run when any step failed, before cleanup (the failing state is still there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Op>,
    /// Operations always run at the end, before the namespace is deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finally: Vec<Op>,
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
    pub outcome: Outcome,
    /// Why: required when `outcome: fail` (what the bug is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The id of the step expected to fail while the bug is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
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
    pub providers: BTreeMap<Provider, String>,
}

/// A step: `try` runs in order and stops at the first failure; `catch` runs if it failed;
/// `finally` always runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Step {
    /// Unique within the scenario; referenced by `spec.expect.step`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "try")]
    pub try_: Vec<Op>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Op>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finally: Vec<Op>,
}

/// One operation. Each list item has exactly one of these keys.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
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
    /// Negative assert: the object must not exist (polled until gone).
    Absent(ObjectRef),
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
    /// Collect diagnostics into the artifacts folder.
    Collect(Vec<Collect>),
}

/// Backend actions, named after the service API they call.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub enum BackendAction {
    /// Run the named action list of the current provider's binding.
    #[serde(rename = "run")]
    Run(String),
    #[serde(rename = "aws.secretsmanager.createSecret")]
    AwsCreateSecret(AwsCreateSecret),
    #[serde(rename = "aws.secretsmanager.putSecretValue")]
    AwsPutSecretValue(AwsPutSecretValue),
    #[serde(rename = "aws.secretsmanager.deleteSecret")]
    AwsDeleteSecret(AwsDeleteSecret),
    #[serde(rename = "aws.ssm.putParameter")]
    AwsPutParameter(AwsPutParameter),
    #[serde(rename = "aws.ssm.deleteParameter")]
    AwsDeleteParameter(AwsDeleteParameter),
    #[serde(rename = "aws.iam.createRole")]
    AwsCreateRole(AwsCreateRole),
    #[serde(rename = "azure.setSecret")]
    AzureSetSecret(AzureSetSecret),
    #[serde(rename = "azure.deleteSecret")]
    AzureDeleteSecret(AzureDeleteSecret),
    #[serde(rename = "vault.kv2.put")]
    VaultKv2Put(VaultPut),
    #[serde(rename = "vault.kv2.delete")]
    VaultKv2Delete(VaultDelete),
    #[serde(rename = "vault.kv1.put")]
    VaultKv1Put(VaultPut),
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
            | BackendAction::AwsCreateRole(_) => Some(Provider::Aws),
            BackendAction::AzureSetSecret(_) | BackendAction::AzureDeleteSecret(_) => {
                Some(Provider::Azure)
            }
            BackendAction::VaultKv2Put(_)
            | BackendAction::VaultKv2Delete(_)
            | BackendAction::VaultKv1Put(_) => Some(Provider::Vault),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsCreateSecret {
    pub name: String,
    pub secret_string: String,
    /// Region (default: the binding's / emulator's default region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsPutSecretValue {
    pub secret_id: String,
    pub secret_string: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsDeleteSecret {
    pub secret_id: String,
    #[serde(default)]
    pub force_delete_without_recovery: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsPutParameter {
    pub name: String,
    pub value: String,
    #[serde(default = "default_parameter_type", rename = "type")]
    pub type_: ParameterType,
    #[serde(default)]
    pub overwrite: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

fn default_parameter_type() -> ParameterType {
    ParameterType::String
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsDeleteParameter {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// An IAM role for IRSA: `CreateRole` with its trust policy, and its permissions as an inline
/// policy (`PutRolePolicy`), the way seed 001's Terraform makes one
/// (`iam-assumable-role-with-oidc`). The ARN is `arn:aws:iam::<accountId>:role/<roleName>`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsCreateRole {
    pub role_name: String,
    /// Default: the emulator's account (`${awsAccountId}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
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
    Allow,
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
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureSetSecret {
    /// Vault name (the emulator tells vaults apart by host name).
    pub vault: String,
    pub name: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureDeleteSecret {
    pub vault: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultPut {
    /// Secrets engine mount, e.g. `secret`.
    pub mount: String,
    pub path: String,
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VaultDelete {
    pub mount: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Faults {
    Add(FaultRule),
    /// Remove every rule (of one service when given).
    Clear(FaultClear),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FaultRule {
    /// `secretsmanager`, `ssm`, `keyvault`, `vault`, ...
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JournalAssert {
    pub service: String,
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
    pub name: String,
    pub replicas: u32,
    /// Deadline for the ready replica count to match.
    pub within: Deadline,
}

/// An object in the scenario's namespace (or cluster-scoped).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectRef {
    /// Defaults from the kind for the core and secrets-store kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Deadline>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssertObject {
    /// A partial object: apiVersion, kind, metadata.name and the fields that must match.
    pub object: serde_json::Value,
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventAssert {
    /// The object the event is about (`involvedObject`).
    pub object: EventObject,
    pub reason: String,
    /// Regular expression the message must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub type_: Option<EventType>,
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventObject {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EventType {
    Normal,
    Warning,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Wait {
    pub kind: String,
    pub name: String,
    /// A status condition type, e.g. `Ready` or `Available`.
    pub condition: String,
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Files {
    pub pod: String,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<String>,
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

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exec {
    pub pod: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub command: Vec<String>,
    /// Expected stdout (exact, after trimming one trailing newline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    pub within: Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotObject {
    pub name: String,
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
