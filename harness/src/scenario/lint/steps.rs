//! Checks on scenario.yaml alone: metadata, providers and bindings, binding actions, step ids,
//! the known-bug expectation, snapshot names, and each operation's own rules (kinds, wait
//! conditions, modes, patterns).

use std::collections::{BTreeMap, BTreeSet};

use super::super::jsonpath::JsonPath;
use super::super::keyfile::{self, KeyFileError};
use super::super::load::suggest;
use super::super::located::YamlPath;
use super::super::model::{
    BackendAction, CertificateFile, Expect, KeyType, LogsSource, MetricSource, Number, ObjectRef,
    Op, Outcome, SOURCE_KEYS, Source,
};
use super::{Cx, is_dns_label, kinds};

pub(super) fn check(cx: &mut Cx) {
    metadata(cx);
    providers(cx);
    actions(cx);
    steps(cx);
    operations(cx);
}

fn metadata(cx: &mut Cx) {
    let s = cx.s;
    let name = &s.metadata.name;
    let at = YamlPath::parse("metadata.name");
    if !is_dns_label(name) {
        cx.push(
            cx.at(
                &at,
                format!(
                    "metadata.name `{name}` must be lowercase letters, digits and '-' (at most 63)"
                ),
            )
            .label("not a DNS label")
            .help("use lowercase letters, digits and '-', e.g. `my-scenario`"),
        );
    }
    if let Some(folder) = cx.loaded.dir.file_name().and_then(|f| f.to_str())
        && folder != name
    {
        cx.push(
            cx.at(
                &at,
                format!("metadata.name `{name}` differs from the folder name `{folder}`"),
            )
            .label(format!("folder is `{folder}`"))
            .help("rename one of them; the folder is the scenario's identity"),
        );
    }
    if s.metadata.description.trim().is_empty() {
        cx.push(
            cx.at(
                &YamlPath::parse("metadata.description"),
                "metadata.description is empty",
            )
            .help("say in a sentence or two what the scenario shows"),
        );
    }
}

fn providers(cx: &mut Cx) {
    let s = cx.s;
    let at = YamlPath::parse("spec.providers");
    if s.spec.providers.is_empty() {
        cx.push(
            cx.at_key(&at, "spec.providers is empty")
                .help("list aws, azure and/or vault"),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, p) in s.spec.providers.iter().enumerate() {
        if !seen.insert(*p) {
            cx.push(
                cx.at(
                    &at.index(i),
                    format!("provider `{p}` is listed twice in spec.providers"),
                )
                .label("again")
                .help("list each provider once"),
            );
        }
        if !s.spec.bindings.contains_key(p) {
            cx.push(
                cx.at(
                    &at.index(i),
                    format!(
                        "provider `{p}` is in spec.providers but has no entry in spec.bindings"
                    ),
                )
                .label("no binding")
                .help(format!(
                    "add `bindings: {{ {p}: {{ parameters: ..., vars: ... }} }}`"
                )),
            );
        }
    }
    for (p, b) in &s.spec.bindings {
        if let Some(identity) = b.identity
            && !identity.providers().contains(p)
        {
            let others: Vec<&str> = identity.providers().iter().map(|q| q.as_str()).collect();
            cx.push(
                cx.at(
                    &YamlPath::parse("spec.bindings").key(p.as_str()).key("identity"),
                    format!("spec.bindings.{p}.identity: `{identity}` is not an identity path of the {p} provider"),
                )
                .label(format!("not a {p} identity"))
                .help(format!("`{identity}` is for {}; remove it here", others.join(", "))),
            );
        }
    }
    for p in s.spec.bindings.keys() {
        if !seen.contains(p) {
            cx.push(
                cx.at_key(
                    &YamlPath::parse("spec.bindings").key(p.as_str()),
                    format!("spec.bindings.{p} is not used: `{p}` is not in spec.providers"),
                )
                .label("unused")
                .help(format!(
                    "add `{p}` to spec.providers, or remove this binding"
                )),
            );
        }
    }
    if let Some(v) = &s.spec.versions {
        for p in v.providers.keys() {
            if !seen.contains(p) {
                cx.push(
                    cx.at_key(
                        &YamlPath::parse("spec.versions.providers").key(p.as_str()),
                        format!("spec.versions.providers.{p}: `{p}` is not in spec.providers"),
                    )
                    .label("not a provider of this scenario")
                    .help(format!(
                        "add `{p}` to spec.providers, or remove this version"
                    )),
                );
            }
        }
    }
}

/// Binding actions act on their own provider only, and never nest `run`.
fn actions(cx: &mut Cx) {
    let s = cx.s;
    for (p, b) in &s.spec.bindings {
        for (action, list) in &b.actions {
            let at = YamlPath::parse("spec.bindings")
                .key(p.as_str())
                .key("actions")
                .key(action.clone());
            if list.is_empty() {
                cx.push(
                    cx.at_key(&at, format!("spec.bindings.{p}.actions.{action} is empty"))
                        .help("list the backend calls it makes, or remove it"),
                );
            }
            for (i, a) in list.iter().enumerate() {
                match a.provider() {
                    None => cx.push(
                        cx.at_key(&at.index(i).key("run"), "`run` cannot be nested in an action")
                            .help("list the calls themselves"),
                    ),
                    Some(q) if q != *p => cx.push(
                        cx.at(
                            &at.index(i),
                            format!(
                                "spec.bindings.{p}.actions.{action} talks to the {q} backend; a {p} binding can only act on {p}"
                            ),
                        )
                        .label(format!("a {q} call"))
                        .help(format!("move it to spec.bindings.{q}.actions")),
                    ),
                    Some(_) => {}
                }
                check_action_fields(cx, &at.index(i), a);
            }
        }
    }
}

/// The rules of one backend action's own fields (in a step or a binding's action list): a
/// certificate file inside the folder with a known extension, a key's size or curve for its
/// type.
fn check_action_fields(cx: &mut Cx, at: &YamlPath, a: &BackendAction) {
    match a {
        BackendAction::AwsLabelParameterVersion(l) => {
            let lat = at.key("aws.ssm.labelParameterVersion").key("labels");
            if l.labels.is_empty() || l.labels.len() > 10 {
                cx.push(
                    cx.at(&lat, format!("{} labels; SSM takes 1 to 10 per version", l.labels.len()))
                        .help("a parameter version has at most 10 labels (ParameterVersionLabelLimitExceeded)"),
                );
            }
            for (i, label) in l.labels.iter().enumerate() {
                if !label.contains("${") && !secretbench_emulators::aws::ssm::label_is_valid(label)
                {
                    cx.push(
                        cx.at(&lat.index(i), format!("SSM refuses the label `{label}`"))
                            .label("not a label")
                            .help("1 to 100 letters, digits, '.', '-' and '_', not starting with a digit, `aws` or `ssm`"),
                    );
                }
            }
            if l.version == Some(0) {
                cx.push(
                    cx.at(&at.key("aws.ssm.labelParameterVersion").key("version"), "parameter versions start at 1")
                        .help("give the version PutParameter made (1 for the first), or leave it out for the latest"),
                );
            }
        }
        BackendAction::AzureImportCertificate(c) => {
            let fat = at.key("azure.importCertificate").key("file");
            if outside_folder(cx, &fat, &c.file, "certificate") {
                // Reported; the file is not read.
            } else if CertificateFile::of(&c.file).is_none() {
                cx.push(
                    cx.at(&fat, format!("`{}` is neither *.pem nor *.pfx / *.p12", c.file))
                        .label("unknown kind of file")
                        .help("name a PEM file (PKCS#8 key and certificates) `*.pem`, a PKCS#12 file `*.pfx`"),
                );
            } else if !c.file.contains("${") && !cx.loaded.dir.join(&c.file).is_file() {
                cx.push(
                    cx.at(
                        &fat,
                        format!("certificate file `{}` does not exist", c.file),
                    )
                    .label("no such file")
                    .help("paths are relative to the scenario folder"),
                );
            }
            if c.password.is_some() && CertificateFile::of(&c.file) == Some(CertificateFile::Pem) {
                cx.push(
                    cx.at(&at.key("azure.importCertificate").key("password"), "a PEM import takes no password")
                        .help("the password is for a PKCS#12 file; a PEM file's key must be unencrypted PKCS#8"),
                );
            }
        }
        BackendAction::AzureImportKey(k) => {
            let fat = at.key("azure.importKey").key("file");
            if outside_folder(cx, &fat, &k.file, "key") {
                // Reported; the file is not read.
            } else if !k.file.contains("${") {
                // The run reads the file with the same code: what fails here fails there.
                match keyfile::read_jwk(&cx.loaded.dir.join(&k.file)) {
                    Ok(_) => {}
                    Err(KeyFileError::Read { .. }) if !cx.loaded.dir.join(&k.file).is_file() => {
                        cx.push(
                            cx.at(&fat, format!("key file `{}` does not exist", k.file))
                                .label("no such file")
                                .help("paths are relative to the scenario folder"),
                        );
                    }
                    Err(e) => {
                        cx.push(
                            cx.at(&fat, format!("key file `{}` cannot be imported: {}", k.file, why(&e)))
                                .label("not a key Key Vault imports")
                                .help("give a JWK (JSON) or one unencrypted PEM key: PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, PUBLIC KEY or RSA PUBLIC KEY; RSA 2048/3072/4096 or EC P-256/P-384/P-521"),
                        );
                    }
                }
            }
        }
        BackendAction::VaultPolicyWrite(p) => {
            if !p.rules.contains("${")
                && let Err(e) = secretbench_emulators::vault::policy::Policy::parse(&p.rules)
            {
                cx.push(
                    cx.at(
                        &at.key("vault.policy.write").key("rules"),
                        format!("policy `{}` does not parse: {e}", p.name),
                    )
                    .label("not an ACL policy")
                    .help("write HCL as `vault policy write` takes it: path \"pki/issue/x\" { capabilities = [\"update\"] }"),
                );
            }
        }
        BackendAction::VaultKubernetesRole(r) => {
            let rat = at.key("vault.kubernetes.role");
            for (field, list) in [
                ("boundServiceAccountNames", &r.bound_service_account_names),
                (
                    "boundServiceAccountNamespaces",
                    &r.bound_service_account_namespaces,
                ),
            ] {
                if list.is_empty() {
                    cx.push(
                        cx.at(&rat.key(field), format!("`{field}` is empty; Vault refuses such a role"))
                            .help("name the pods' service accounts and namespaces (`${namespace}`, or `*` for any)"),
                    );
                }
            }
        }
        BackendAction::VaultPkiRole(r) if r.allowed_domains.is_empty() && !r.allow_any_name => {
            cx.push(
                cx.at_key(&at.key("vault.pki.role"), format!("PKI role `{}` allows no name: every issue is refused", r.name))
                    .help("list `allowedDomains` (with `allowSubdomains` / `allowBareDomains`), or set `allowAnyName: true`"),
            );
        }
        BackendAction::VaultDatabaseConfig(c) if c.allowed_roles.is_empty() => {
            cx.push(
                cx.at(
                    &at.key("vault.database.config").key("allowedRoles"),
                    format!("connection `{}` allows no role", c.name),
                )
                .help("Vault refuses credentials for a role its connection does not list (`\"<role>\" is not an allowed role`): name the roles, or `*`"),
            );
        }
        BackendAction::VaultDatabaseConfig(c)
            if c.plugin_name == "postgresql-database-plugin"
                && (c.username.is_none() || c.password.is_none()) =>
        {
            cx.push(
                cx.at_key(&at.key("vault.database.config"), format!("connection `{}` has no `username` and `password`", c.name))
                    .help("Vault's PostgreSQL plugin refuses it (`must either provide username/password or set self-managed to 'true'`), even unverified: give both"),
            );
        }
        BackendAction::AzureCreateKey(k) => {
            let kat = at.key("azure.createKey");
            match k.kty {
                KeyType::Rsa => {
                    if let Some(size) = k.key_size
                        && ![2048, 3072, 4096].contains(&size)
                    {
                        cx.push(
                            cx.at(
                                &kat.key("keySize"),
                                format!("RSA key size {size} is not one Key Vault makes"),
                            )
                            .help("use 2048, 3072 or 4096"),
                        );
                    }
                    if k.curve.is_some() {
                        cx.push(
                            cx.at_key(&kat.key("curve"), "`curve` is for EC keys")
                                .help("drop it, or use `kty: EC`"),
                        );
                    }
                }
                KeyType::Ec => {
                    if let Some(crv) = &k.curve
                        && !["P-256", "P-384", "P-521"].contains(&crv.as_str())
                    {
                        cx.push(
                            cx.at(
                                &kat.key("curve"),
                                format!("curve `{crv}` is not one Key Vault makes"),
                            )
                            .help("use P-256, P-384 or P-521"),
                        );
                    }
                    if k.key_size.is_some() {
                        cx.push(
                            cx.at_key(&kat.key("keySize"), "`keySize` is for RSA keys")
                                .help("drop it, or use `kty: RSA`"),
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

/// Whether a file an action names leaves the scenario folder (`..`, an absolute path).
fn escapes_folder(file: &str) -> bool {
    std::path::Path::new(file).components().any(|p| {
        matches!(
            p,
            std::path::Component::ParentDir | std::path::Component::RootDir
        )
    })
}

/// What is wrong with a key file, without its path (the diagnostic names the file as the
/// scenario wrote it).
fn why(e: &KeyFileError) -> String {
    match e {
        KeyFileError::Read { source, .. } => source.to_string(),
        KeyFileError::Invalid { why, .. } => why.clone(),
    }
}

fn steps(cx: &mut Cx) {
    let s = cx.s;
    let at = YamlPath::parse("spec.steps");
    if s.spec.steps.is_empty() {
        cx.push(
            cx.at_key(&at, "spec.steps is empty")
                .help("add a step: `- id: check\n  try: [...]`"),
        );
    }
    let mut step_ids = BTreeSet::new();
    // Where each id is, for the order of `spec.expect.trigger` and `spec.expect.step`.
    let mut order: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, step) in s.spec.steps.iter().enumerate() {
        if let Some(id) = &step.id {
            order.entry(id.as_str()).or_insert(i);
        }
        if let Some(id) = &step.id {
            let id_at = at.index(i).key("id");
            if !is_dns_label(id) {
                cx.push(
                    cx.at(
                        &id_at,
                        format!("step id `{id}` must be lowercase letters, digits and '-'"),
                    )
                    .label("not a DNS label")
                    .help("e.g. `deploy`, `check-rotated`"),
                );
            }
            if !step_ids.insert(id.clone()) {
                cx.push(
                    cx.at(&id_at, format!("step id `{id}` is used twice"))
                        .label("again")
                        .help("step ids are unique: `spec.expect.step`, `spec.expect.trigger` and the report name steps by id"),
                );
            }
        }
        if step.try_.is_empty() {
            cx.push(
                cx.at_key(
                    &at.index(i).key("try"),
                    format!("spec.steps[{i}].try is empty"),
                )
                .help("list the step's operations under `try`"),
            );
        }
    }
    if let Some(expect) = &s.spec.expect {
        if expect.outcome == Outcome::Fail
            && expect.reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            cx.push(
                cx.at(
                    &YamlPath::parse("spec.expect.outcome"),
                    "spec.expect.outcome is `fail` without a `reason`",
                )
                .help("add `reason:` saying which bug this reproduces"),
            );
        }
        for field in ["step", "trigger"] {
            let named = if field == "step" {
                &expect.step
            } else {
                &expect.trigger
            };
            if let Some(step) = named
                && !step_ids.contains(step)
            {
                let ids: Vec<&str> = step_ids.iter().map(String::as_str).collect();
                let mut d = cx
                    .at(
                        &YamlPath::parse(&format!("spec.expect.{field}")),
                        format!(
                            "spec.expect.{field} `{step}` does not name a step (no step has this id)"
                        ),
                    )
                    .label("no such step");
                d = match suggest(step, &ids) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("step ids: {}", ids.join(", "))),
                };
                cx.push(d);
            }
        }
        trigger(cx, expect, &order);
    }
}

/// `spec.expect.trigger` and `attempts`: a trigger belongs to a repro, comes before the step
/// that shows the bug (a run stops at its first failing step, so a trigger after it could never
/// decide anything), and `attempts` means nothing without one.
fn trigger(cx: &mut Cx, expect: &Expect, order: &BTreeMap<&str, usize>) {
    let at = YamlPath::parse("spec.expect.trigger");
    let Some(trigger) = &expect.trigger else {
        if expect.attempts.is_some() {
            cx.push(
                cx.at_key(
                    &YamlPath::parse("spec.expect.attempts"),
                    "spec.expect.attempts without spec.expect.trigger",
                )
                .label("no trigger to retry")
                .help("attempts are the runs that may try to get past the trigger step: add `trigger: <step id>` or remove `attempts`"),
            );
        }
        return;
    };
    if expect.outcome != Outcome::Fail {
        cx.push(
            cx.at(&at, "spec.expect.trigger needs `outcome: fail`")
                .label("not a repro")
                .help("a trigger says when a run set up a known bug; a scenario that should pass has none"),
        );
    }
    let Some(step) = &expect.step else {
        cx.push(
            cx.at(&at, "spec.expect.trigger without spec.expect.step")
                .label("before which step?")
                .help(
                    "name the step that shows the bug in `step:`; the trigger must come before it",
                ),
        );
        return;
    };
    if let (Some(&t), Some(&b)) = (order.get(trigger.as_str()), order.get(step.as_str()))
        && t >= b
    {
        let why = if t == b {
            format!("spec.expect.trigger `{trigger}` is the bug's step itself")
        } else {
            format!("spec.expect.trigger `{trigger}` comes after spec.expect.step `{step}`")
        };
        cx.push(
            cx.at(&at, why)
                .label("must come before the bug's step")
                .help(format!(
                    "the trigger checks the bug's precondition, so it runs before `{step}`: move it up or name an earlier step"
                )),
        );
    }
}

/// A kind as a scenario writes it (`Pod`, not `pod`): known, and consistent with an apiVersion.
fn check_kind(cx: &mut Cx, at: &YamlPath, kind: &str, api_version: Option<&str>) {
    let Some(info) = kinds::find(kind) else {
        let mut d = cx
            .at(at, format!("unknown kind `{kind}`"))
            .label("not a kind lint knows")
            .code("unknown-kind");
        d = match suggest(kind, &kinds::names()) {
            Some(s) => d.help(format!(
                "did you mean `{s}`? (kinds are written as in manifests)"
            )),
            None => d.help(format!("kinds: {}", kinds::names().join(", "))),
        };
        cx.push(d);
        return;
    };
    if let Some(av) = api_version
        && av != info.api_version
    {
        cx.push(
            cx.at(
                &at.parent().key("apiVersion"),
                format!(
                    "`{kind}` is in apiVersion `{}`, not `{av}`",
                    info.api_version
                ),
            )
            .label("wrong apiVersion")
            .help(format!(
                "write `apiVersion: {}`, or leave it out",
                info.api_version
            )),
        );
    }
}

/// `op` is the operation naming the object (`delete`, `snapshot`): only `delete` may look
/// outside the scenario's namespace, and a `delete` there changes what every case of the
/// provider sees, so it needs `spec.exclusive`.
fn check_object_ref(cx: &mut Cx, at: &YamlPath, o: &ObjectRef, op: &str) {
    check_kind(cx, &at.key("kind"), &o.kind, o.api_version.as_deref());
    if o.namespace.is_none() {
        return;
    }
    if op == "snapshot" {
        cx.push(
            cx.at(
                &at.key("namespace"),
                "`snapshot` reads objects of the scenario's namespace only",
            )
            .label("not allowed here")
            .help("`namespace: provider` is for `delete` and `absent`"),
        );
    } else if op == "delete" && cx.s.spec.exclusive.is_none() {
        cx.push(
            cx.at(
                &at.key("namespace"),
                format!(
                    "deleting `{}` in the providers' namespace changes what every case of the provider sees, so the scenario must run alone",
                    o.name
                ),
            )
            .label("shared by every case")
            .help("add `spec.exclusive: <why>`"),
        );
    }
}

fn operations(cx: &mut Cx) {
    let mut snapshots: BTreeMap<String, YamlPath> = BTreeMap::new();
    let ops: Vec<(YamlPath, &Op)> = cx.ops.iter().map(|o| (o.path.clone(), o.op)).collect();
    for (at, op) in ops {
        let mut snapshot = |cx: &mut Cx, field: YamlPath, name: &str| {
            if !is_snapshot_name(name) {
                cx.push(
                    cx.at(
                        &field,
                        format!(
                            "snapshot name `{name}` must be lowercase letters, digits, '-' and '_'"
                        ),
                    )
                    .label("not a snapshot name")
                    .help("it becomes a file name: use lowercase letters, digits, '-' and '_'"),
                );
            }
            if let Some(first) = snapshots.get(name) {
                let first = cx.loaded.tree.find(first);
                cx.push(
                    cx.at(&field, format!("snapshot name `{name}` is already used at line {}", first.line))
                        .label("second use")
                        .help("snapshot names are unique in a scenario: each is a file, snapshots/<name>@<provider>.snap"),
                );
            } else {
                snapshots.insert(name.to_owned(), field);
            }
        };
        match op {
            Op::Backend(a) => check_backend(cx, &at.key("backend"), a),
            Op::Apply(a) => {
                if let Some(ns) = &a.namespace
                    && (!is_dns_label(ns) || ns.len() > 20)
                {
                    cx.push(
                        cx.at(
                            &at.key("apply").key("namespace"),
                            format!("apply namespace `{ns}` must be a short DNS label (at most 20 of a-z, 0-9, '-'): it is appended to the scenario namespace"),
                        )
                        .label("not a short DNS label")
                        .help("e.g. `namespace: other`"),
                    );
                }
            }
            Op::Delete(d) => {
                if d.path.is_some() == d.object.is_some() {
                    cx.push(
                        cx.at_key(&at.key("delete"), "delete needs exactly one of `path` or `object`")
                            .help("`delete: { path: manifests/pod, within: 60s }` or `delete: { object: { kind: Pod, name: x }, within: 60s }`"),
                    );
                }
                if let Some(o) = &d.object {
                    check_object_ref(cx, &at.key("delete").key("object"), o, "delete");
                }
            }
            Op::Absent(o) => {
                let aat = at.key("absent");
                check_kind(cx, &aat.key("kind"), &o.kind, o.api_version.as_deref());
                if o.name.is_some() == o.selector.is_some() {
                    cx.push(
                        cx.at_key(&aat, "`absent` needs exactly one of `name` and `selector`")
                            .help("`name: NAME` for one object, or `selector: app=NAME` for every object with those labels"),
                    );
                }
                if o.within.is_none() {
                    cx.push(
                        cx.at_key(
                            &aat,
                            format!(
                                "`absent` needs `within` (how long to wait for {} to go)",
                                o.describe()
                            ),
                        )
                        .help("add e.g. `within: 30s`"),
                    );
                }
            }
            Op::Wait(w) => {
                let wat = at.key("wait");
                check_kind(cx, &wat.key("kind"), &w.kind, None);
                if let Some(info) = kinds::find(&w.kind) {
                    if info.conditions.is_empty() {
                        cx.push(
                            cx.at(&wat.key("kind"), format!("a {} has no status conditions to wait for", w.kind))
                                .label("no conditions")
                                .help("wait for its pods, or use `scale` (which waits for ready replicas) or `assert`"),
                        );
                    } else if !info.conditions.contains(&w.condition.as_str()) {
                        let mut d = cx
                            .at(
                                &wat.key("condition"),
                                format!("a {} has no condition `{}`", w.kind, w.condition),
                            )
                            .label("unknown condition")
                            .code("unknown-condition");
                        d = match suggest(&w.condition, info.conditions) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help(format!(
                                "{} conditions: {}",
                                w.kind,
                                info.conditions.join(", ")
                            )),
                        };
                        cx.push(d);
                    }
                }
            }
            Op::Scale(sc) => {
                let sat = at.key("scale").key("kind");
                if !matches!(
                    sc.kind.as_str(),
                    "Deployment" | "StatefulSet" | "ReplicaSet"
                ) {
                    let mut d = cx
                        .at(&sat, format!("cannot scale a `{}`", sc.kind))
                        .label("not scalable");
                    let options = ["Deployment", "StatefulSet", "ReplicaSet"];
                    d = match suggest(&sc.kind, &options) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("scale a Deployment, StatefulSet or ReplicaSet"),
                    };
                    cx.push(d);
                }
            }
            Op::Event(e) => {
                let eat = at.key("event");
                check_kind(cx, &eat.key("object").key("kind"), &e.object.kind, None);
                if let Some(m) = &e.message
                    && let Err(err) = regex_lite::Regex::new(&pattern_without_vars(m))
                {
                    cx.push(
                        cx.at(
                            &eat.key("message"),
                            format!("event message is not a valid pattern: {err}"),
                        )
                        .label("not a regular expression")
                        .help("escape `.`, `(`, `[` and the like with `\\` (in single quotes)"),
                    );
                }
            }
            Op::Files(f) => {
                let fat = at.key("files");
                check_target(cx, &fat, "files", f.pod.is_some(), f.deployment.is_some());
                if f.snapshot.is_none() && f.expect.is_empty() {
                    cx.push(
                        cx.at_key(&fat, "`files` needs `snapshot`, `expect` or both")
                            .help("`expect` checks names, modes and contents; `snapshot` records them"),
                    );
                }
                if !f.expect.is_empty() && f.within.is_none() {
                    cx.push(
                        cx.at_key(
                            &fat.key("expect"),
                            "`files` with `expect` needs `within` (its deadline)",
                        )
                        .help("add e.g. `within: 10s`"),
                    );
                }
                for (file, e) in &f.expect {
                    let eat = fat.key("expect").key(file.clone());
                    let given: Vec<&str> = [
                        ("contents", e.contents.is_some()),
                        ("base64", e.base64.is_some()),
                        ("hex", e.hex.is_some()),
                    ]
                    .into_iter()
                    .filter_map(|(k, on)| on.then_some(k))
                    .collect();
                    if given.len() > 1 {
                        cx.push(
                            cx.at_key(&eat.key(given[1]), format!("`{file}` gives {}; give one", given.join(" and ")))
                                .help("`contents` is text; `base64` or `hex` give the exact bytes of a file that is not text"),
                        );
                    } else if let Err(why) = e.expected_bytes()
                        && !e.base64.iter().chain(&e.hex).any(|v| v.contains("${"))
                    {
                        cx.push(
                            cx.at(&eat.key(given.first().copied().unwrap_or("base64")), format!("`{file}`: {why}"))
                                .help("`base64` is standard base64 (`AAEC/w==`), `hex` two digits a byte (`000102ff`)"),
                        );
                    }
                    if !e.exists && !given.is_empty() {
                        cx.push(
                            cx.at_key(
                                &eat.key("exists"),
                                format!("`{file}` must not exist, yet its {} is given", given[0]),
                            )
                            .help("drop the contents, or `exists: false`"),
                        );
                    }
                    if let Some(mode) = &e.mode
                        && !(mode.len() == 4
                            && mode.starts_with('0')
                            && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)))
                    {
                        cx.push(
                            cx.at(
                                &fat.key("expect").key(file.clone()).key("mode"),
                                format!("mode `{mode}` of `{file}` must be 4 octal digits"),
                            )
                            .help("write it quoted, like \"0644\""),
                        );
                    }
                }
                if let Some(n) = &f.snapshot {
                    snapshot(cx, fat.key("snapshot"), n);
                }
            }
            Op::Exec(e) => {
                let eat = at.key("exec");
                check_target(cx, &eat, "exec", e.pod.is_some(), e.deployment.is_some());
                if e.command.is_empty() {
                    cx.push(cx.at(&eat.key("command"), "exec `command` is empty").help(
                        "give the command and its arguments, e.g. `[cat, /mnt/secrets-store/x]`",
                    ));
                }
                if e.stdout.is_none() && e.snapshot.is_none() {
                    cx.push(
                        cx.at_key(
                            &eat,
                            "`exec` needs `stdout`, `snapshot` or both (what does it check?)",
                        )
                        .help(
                            "add `stdout:` with the expected output, or `snapshot:` to record it",
                        ),
                    );
                }
                if let Some(n) = &e.snapshot {
                    snapshot(cx, eat.key("snapshot"), n);
                }
            }
            Op::Journal(j) => {
                let jat = at.key("journal");
                if let (Some(lo), Some(hi)) = (j.at_least, j.at_most)
                    && lo > hi
                {
                    cx.push(
                        cx.at(
                            &jat.key("atLeast"),
                            format!("journal atLeast {lo} is more than atMost {hi}"),
                        )
                        .label("no count satisfies both")
                        .help("lower atLeast or raise atMost"),
                    );
                }
                if let Some(n) = &j.snapshot {
                    snapshot(cx, jat.key("snapshot"), n);
                }
            }
            Op::Snapshot(sn) => {
                let sat = at.key("snapshot");
                check_object_ref(cx, &sat.key("object"), &sn.object, "snapshot");
                snapshot(cx, sat.key("name"), &sn.name);
            }
            Op::Assert(a) => {
                let aat = at.key("assert").key("object");
                let kind = a.object.get("kind").and_then(|k| k.as_str());
                let named = a
                    .object
                    .pointer("/metadata/name")
                    .is_some_and(|n| n.is_string());
                match kind {
                    Some(k) if named => check_kind(
                        cx,
                        &aat.key("kind"),
                        k,
                        a.object.get("apiVersion").and_then(|v| v.as_str()),
                    ),
                    _ => cx.push(
                        cx.at_key(&aat, "assert.object needs at least `kind` and `metadata.name`")
                            .help("e.g. `object: { apiVersion: v1, kind: Secret, metadata: { name: x }, data: {...} }`"),
                    ),
                }
            }
            Op::Capture(c) => {
                let cat = at.key("capture");
                check_sources(cx, &cat, "capture", &c.sources());
                check_json_path(cx, &cat, c.json_path.as_deref(), &c.sources());
                let name = &c.as_;
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
                if !valid {
                    cx.push(
                        cx.at(
                            &cat.key("as"),
                            format!("capture name `{name}` is not a variable name"),
                        )
                        .label("not a variable name")
                        .help(
                            "use letters, digits and `_`, not starting with a digit, e.g. `before`",
                        ),
                    );
                } else if super::BUILTIN_VARS.contains(&name.as_str()) {
                    cx.push(
                        cx.at(
                            &cat.key("as"),
                            format!("capture name `{name}` would redefine a built-in variable"),
                        )
                        .label("built in")
                        .help("choose another name, e.g. `captured_{name}`"),
                    );
                } else if let Some(p) =
                    cx.s.spec
                        .bindings
                        .iter()
                        .find_map(|(p, b)| b.vars.contains_key(name).then_some(*p))
                {
                    cx.push(
                        cx.at(&cat.key("as"), format!("capture name `{name}` would redefine spec.bindings.{p}.vars.{name}"))
                            .label("already a variable")
                            .help("choose another name: a binding variable keeps its value for the whole run"),
                    );
                }
            }
            Op::Check(c) => {
                let cat = at.key("check");
                check_sources(cx, &cat, "check", &c.sources());
                check_json_path(cx, &cat, c.json_path.as_deref(), &c.sources());
                if !c.expects_anything() {
                    cx.push(
                        cx.at_key(&cat, "`check` needs an expectation")
                            .help("add `equals`, `differs`, `matches`, `notMatches`, `atLeast`, `atMost`, `greaterThan`, `lessThan` or `certificate`"),
                    );
                }
                if let Some(signer) = c.certificate.as_ref().and_then(|x| x.signed_by.as_deref())
                    && !signer.contains("${")
                    && !signer.contains("-----BEGIN CERTIFICATE-----")
                {
                    cx.push(
                        cx.at(&cat.key("certificate").key("signedBy"), "`signedBy` holds no PEM certificate")
                            .label("not PEM")
                            .help("give the CA certificate as PEM, e.g. `${ca}` captured with `jsonPath: .data.issuing_ca`"),
                    );
                }
                if c.within.is_some() && c.for_.is_some() {
                    cx.push(
                        cx.at_key(&cat.key("for"), "`check` has both `within` and `for`")
                            .label("one or the other")
                            .help("`within`: poll until it holds; `for`: it must keep holding that long"),
                    );
                }
                for (field, pattern) in [("matches", &c.matches), ("notMatches", &c.not_matches)] {
                    if let Some(p) = pattern
                        && let Err(err) = regex_lite::Regex::new(&pattern_without_vars(p))
                    {
                        cx.push(
                            cx.at(
                                &cat.key(field),
                                format!("check `{field}` is not a valid pattern: {err}"),
                            )
                            .label("not a regular expression")
                            .help("escape `.`, `(`, `[` and the like with `\\` (in single quotes)"),
                        );
                    }
                }
                for (field, n) in [
                    ("atLeast", &c.at_least),
                    ("atMost", &c.at_most),
                    ("greaterThan", &c.greater_than),
                    ("lessThan", &c.less_than),
                ] {
                    if let Some(Number::Text(t)) = n
                        && !t.contains("${")
                        && let Err(e) = Number::Text(t.clone()).value()
                    {
                        cx.push(
                            cx.at(&cat.key(field), format!("check `{field}`: {e}"))
                                .label("not a number")
                                .help(
                                    "write a number, or a captured variable such as \"${before}\"",
                                ),
                        );
                    }
                }
            }
            Op::Collect(c) if c.is_empty() => {
                cx.push(
                    cx.at_key(&at.key("collect"), "collect is empty")
                        .help("list what to collect: events, logs, journal, describe"),
                );
            }
            _ => {}
        }
    }
}

/// A pattern with each `${var}` replaced by a plain word: the values are known only to the run,
/// but the rest of the pattern can be compiled now.
fn pattern_without_vars(pattern: &str) -> String {
    let mut vars = crate::runner::vars::Vars::new();
    for (_, _, name) in super::var_refs(pattern) {
        vars.set(&name, "x");
    }
    vars.expand(pattern).unwrap_or_else(|_| pattern.to_owned())
}

/// A `jsonPath` narrowing a `capture` or `check` value: one field, and not on an `object`
/// source, which has its own.
fn check_json_path(cx: &mut Cx, at: &YamlPath, path: Option<&str>, sources: &[Source]) {
    let Some(path) = path else {
        return;
    };
    if sources.iter().any(|s| matches!(s, Source::Object(_))) {
        cx.push(
            cx.at(
                &at.key("jsonPath"),
                "an `object` source takes its field in `object.jsonPath`",
            )
            .label("a second path")
            .help("move the path into `object: { ..., jsonPath: ... }`"),
        );
    } else if let Err(e) = JsonPath::parse(path) {
        cx.push(
            cx.at(&at.key("jsonPath"), format!("jsonPath `{path}`: {e}"))
                .label("not a path to one field")
                .help("write it as kubectl does, e.g. `.data.certificate`"),
        );
    }
}

/// A `capture` or `check` reads exactly one source, and each source is well formed.
fn check_sources(cx: &mut Cx, at: &YamlPath, op: &str, sources: &[Source]) {
    let keys: Vec<&str> = if op == "capture" {
        SOURCE_KEYS
            .iter()
            .copied()
            .filter(|k| *k != "value")
            .collect()
    } else {
        SOURCE_KEYS.to_vec()
    };
    match sources {
        [] => cx.push(
            cx.at_key(at, format!("`{op}` needs a source"))
                .help(format!(
                    "give one of {}, e.g. `file: {{ pod: app, path: /mnt/secrets-store/x }}`",
                    keys.join(", ")
                )),
        ),
        [_] => {}
        [_, second, ..] => cx.push(
            cx.at_key(
                &at.key(second.key()),
                format!(
                    "`{op}` has several sources ({}); it reads one",
                    sources
                        .iter()
                        .map(|s| s.key())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .label("a second source")
            .help(format!("split it into one `{op}` per source")),
        ),
    }
    for src in sources {
        let sat = at.key(src.key());
        match src {
            Source::File(f) if !f.path.starts_with('/') && !f.path.starts_with("${") => {
                cx.push(
                    cx.at(
                        &sat.key("path"),
                        format!("file path `{}` is not absolute", f.path),
                    )
                    .label("relative")
                    .help("give the path in the container, e.g. `/mnt/secrets-store/db-password`"),
                );
            }
            Source::Object(o) => {
                check_kind(cx, &sat.key("kind"), &o.kind, o.api_version.as_deref());
                if let Err(e) = JsonPath::parse(&o.json_path) {
                    cx.push(
                        cx.at(&sat.key("jsonPath"), format!("jsonPath `{}`: {e}", o.json_path))
                            .label("not a path to one field")
                            .help("write it as kubectl does, e.g. `.status.objects[0].version` or `.status.objects[?(@.id==\"secret/x\")].version`"),
                    );
                }
            }
            Source::Exec(e) if e.command.is_empty() => cx
                .push(cx.at(&sat.key("command"), "exec `command` is empty").help(
                    "give the command and its arguments, e.g. `[printenv, SECRET_USERNAME]`",
                )),
            Source::File(f) => {
                check_target(cx, &sat, "file", f.pod.is_some(), f.deployment.is_some())
            }
            Source::Exec(e) if !e.command.is_empty() => {
                check_target(cx, &sat, "exec", e.pod.is_some(), e.deployment.is_some())
            }
            Source::Logs(LogsSource {
                pod,
                selector,
                deployment: Some(_),
                namespace,
                ..
            }) => {
                if pod.is_some() || selector.is_some() {
                    cx.push(
                        cx.at_key(&sat.key("deployment"), "`logs` needs exactly one of `pod`, `selector` and `deployment`")
                            .help("`deployment: NAME` reads a Ready pod of that Deployment; drop the others"),
                    );
                }
                if namespace.is_some() {
                    cx.push(
                        cx.at_key(&sat.key("namespace"), "`deployment` names a Deployment of the scenario's manifests, in the scenario's namespace")
                            .help("drop `namespace`, or use `selector` for pods in another namespace"),
                    );
                }
            }
            Source::Logs(LogsSource { pod, selector, .. })
            | Source::Metric(MetricSource { pod, selector, .. })
                if pod.is_some() == selector.is_some() =>
            {
                cx.push(
                    cx.at_key(&sat, format!("`{}` needs exactly one of `pod` and `selector`", src.key()))
                        .help("`pod: NAME`, or `selector: app=secrets-store-csi-driver` with `namespace: kube-system`"),
                );
            }
            _ => {}
        }
    }
}

/// `files`, `exec` and the `file` / `exec` sources run in exactly one pod: `pod: NAME`, or
/// `deployment: NAME` (a Ready pod of it, found by the runner).
fn check_target(cx: &mut Cx, at: &YamlPath, what: &str, pod: bool, deployment: bool) {
    if pod == deployment {
        let msg = if pod {
            format!("`{what}` gives both `pod` and `deployment`; give one")
        } else {
            format!("`{what}` needs `pod` or `deployment`")
        };
        let at = if pod {
            at.key("deployment")
        } else {
            at.clone()
        };
        cx.push(
            cx.at_key(&at, msg)
                .help("`pod: NAME` for a Pod of the manifests, `deployment: NAME` for any Ready pod of a Deployment"),
        );
    }
}

fn check_backend(cx: &mut Cx, at: &YamlPath, a: &BackendAction) {
    let s = cx.s;
    check_action_fields(cx, at, a);
    match a {
        BackendAction::Run(name) => {
            let lacking: Vec<_> = s
                .spec
                .providers
                .iter()
                .filter(|p| {
                    s.spec
                        .bindings
                        .get(p)
                        .is_some_and(|b| !b.actions.contains_key(name))
                })
                .collect();
            if lacking.is_empty() {
                return;
            }
            let mut known: Vec<&str> = s
                .spec
                .bindings
                .values()
                .flat_map(|b| b.actions.keys().map(String::as_str))
                .collect();
            known.sort_unstable();
            known.dedup();
            let list: Vec<String> = lacking.iter().map(|p| p.to_string()).collect();
            let mut d = cx
                .at(
                    &at.key("run"),
                    format!(
                        "`run: {name}` names no action of spec.bindings.<provider>.actions for {}",
                        list.join(", ")
                    ),
                )
                .label("no such action");
            d = match suggest(name, &known) {
                Some(sug) => d.help(format!("did you mean `{sug}`?")),
                None => d.help(format!(
                    "add `{name}` to spec.bindings.{}.actions (actions: {})",
                    list[0],
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )),
            };
            cx.push(d);
        }
        other => {
            if let Some(q) = other.provider()
                && s.spec.providers.iter().any(|p| *p != q)
            {
                cx.push(
                    cx.at_key(
                        at,
                        format!(
                            "this action talks to the {q} backend, but the scenario also runs for other providers"
                        ),
                    )
                    .label(format!("{q} only"))
                    .help("put provider-specific actions in spec.bindings.<provider>.actions and call them with `backend: { run: NAME }`"),
                );
            }
        }
    }
}

pub(super) fn is_snapshot_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Reports a scenario file (`what`: certificate, key) that escapes the scenario folder; true if
/// it does.
fn outside_folder(cx: &mut Cx, at: &YamlPath, file: &str, what: &str) -> bool {
    if !escapes_folder(file) {
        return false;
    }
    cx.push(
        cx.at(at, format!("`{file}` must stay inside the scenario folder"))
            .label("outside the folder")
            .help(format!(
                "copy the {what} into this scenario's folder, e.g. `fixtures/`"
            )),
    );
    true
}
