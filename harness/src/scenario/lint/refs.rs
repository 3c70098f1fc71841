//! References between the objects a scenario applies, and from its steps to them, checked for
//! each provider with that provider's variables substituted: a pod's ServiceAccount, its CSI
//! volumes' SecretProviderClass and nodePublishSecretRef, the Secrets it reads (from a manifest
//! or synced by `secretObjects`, and then only if some pod mounts that class), its volume
//! mounts; and the pods and objects that `files`, `exec`, `wait`, `scale`, `event`, `delete`,
//! `snapshot` and `assert` name.

use serde_json::Value;

use super::super::Diagnostic;
use super::super::load::suggest;
use super::super::located::YamlPath;
use super::super::model::{Op, PodTarget, Provider, ReferenceCheck, Source};
use super::manifests::{Inventory, ManifestFile};
use super::{Cx, kinds, vars};
use crate::runner::manifests::CSI_DRIVER;

/// One applied object, with this provider's variables substituted.
pub(super) struct Obj<'a> {
    pub namespace: Option<&'a str>,
    pub kind: String,
    pub name: String,
    pub file: &'a ManifestFile,
    pub doc: usize,
    pub value: Value,
}

/// Everything applied, for one provider.
pub(super) fn world<'a>(cx: &Cx, inv: &'a Inventory, provider: Provider) -> Vec<Obj<'a>> {
    let mut texts: Vec<&str> = inv.files.iter().map(|f| f.source.as_ref()).collect();
    texts.push(cx.loaded.source.as_ref());
    let vars = vars::for_provider(cx, provider, &texts);
    let mut out = Vec::new();
    for ns in inv.namespaces() {
        for (file, doc, value) in inv.objects_in(ns) {
            let value = vars::expand(&vars, value);
            let text = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_owned);
            let (Some(kind), Some(name)) = (text("/kind"), text("/metadata/name")) else {
                continue;
            };
            out.push(Obj {
                namespace: ns,
                kind,
                name,
                file,
                doc,
                value,
            });
        }
    }
    out
}

fn find<'w, 'a>(
    world: &'w [Obj<'a>],
    ns: Option<&str>,
    kind: &str,
    name: &str,
) -> Option<&'w Obj<'a>> {
    world
        .iter()
        .find(|o| o.namespace == ns && o.kind == kind && o.name == name)
}

/// Where else an object of that kind and name is applied (for "only in namespace x").
fn elsewhere(world: &[Obj], ns: Option<&str>, kind: &str, name: &str) -> Option<String> {
    world
        .iter()
        .find(|o| o.namespace != ns && o.kind == kind && o.name == name)
        .map(|o| match o.namespace {
            Some(n) => format!("`<scenario namespace>-{n}` (apply.namespace: {n})"),
            None => "the scenario's namespace".to_owned(),
        })
}

fn names_of<'w>(world: &'w [Obj], ns: Option<&str>, kind: &str) -> Vec<&'w str> {
    world
        .iter()
        .filter(|o| o.namespace == ns && o.kind == kind)
        .map(|o| o.name.as_str())
        .collect()
}

/// A missing-reference finding: code and subject for `spec.lint.allow`, a suggestion among the
/// names that exist, and the allow entry in the help.
fn missing(
    d: Diagnostic,
    check: ReferenceCheck,
    kind: &str,
    name: &str,
    known: &[&str],
    fix: &str,
) -> Diagnostic {
    let subject = format!("{kind}/{name}");
    let mut help = match suggest(name, known) {
        Some(s) => format!("did you mean `{s}`? "),
        None => String::new(),
    };
    help.push_str(fix);
    help.push_str(&format!(
        "; if the scenario means it to be missing, add to spec.lint.allow: {{ check: {}, subject: {subject}, reason: ... }}",
        check.code()
    ));
    d.code(check.code()).subject(subject).help(help)
}

pub(super) fn check(cx: &mut Cx, inv: &Inventory) {
    if !inv.complete {
        return;
    }
    let mut found: Vec<(Diagnostic, Provider)> = Vec::new();
    for p in cx.s.spec.providers.clone() {
        let w = world(cx, inv, p);
        for d in pods(&w) {
            found.push((d, p));
        }
        for d in steps(cx, &w, p) {
            found.push((d, p));
        }
    }
    let all = cx.s.spec.providers.clone();
    cx.diags.extend(per_provider(found, &all));
}

/// Findings from every provider's pass, once each; one that only some providers' variables
/// produce says for which.
pub(super) fn per_provider(
    found: Vec<(Diagnostic, Provider)>,
    all: &[Provider],
) -> Vec<Diagnostic> {
    let mut out: Vec<(Diagnostic, Vec<Provider>)> = Vec::new();
    for (d, p) in found {
        match out
            .iter_mut()
            .find(|(o, _)| o.file == d.file && o.span == d.span && o.message == d.message)
        {
            Some((_, ps)) => {
                if !ps.contains(&p) {
                    ps.push(p);
                }
            }
            None => out.push((d, vec![p])),
        }
    }
    out.into_iter()
        .map(|(mut d, ps)| {
            let mut distinct = all.to_vec();
            distinct.dedup();
            // A message that already names its providers needs no "(for ...)".
            let named = ps.iter().all(|p| d.message.contains(p.as_str()));
            if ps.len() < distinct.len() && !named {
                let list: Vec<String> = ps.iter().map(ToString::to_string).collect();
                d.message = format!("{} (for {})", d.message, list.join(", "));
            }
            d
        })
        .collect()
}

/// How a pod spec refers to a Secret.
struct SecretUse<'a> {
    at: YamlPath,
    name: &'a str,
    key: Option<&'a str>,
    optional: bool,
}

fn pods(world: &[Obj]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for obj in world {
        let Some(spec_path) = kinds::find(&obj.kind).and_then(|k| k.pod_spec) else {
            continue;
        };
        let mut at = YamlPath::root();
        let mut spec = &obj.value;
        for key in spec_path {
            at = at.key(*key);
            match spec.get(key) {
                Some(v) => spec = v,
                None => break,
            }
        }
        if !spec.is_object() {
            continue;
        }
        pod_spec(world, obj, spec, &at, &mut out);
    }
    out
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn list<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn pod_spec(world: &[Obj], obj: &Obj, spec: &Value, at: &YamlPath, out: &mut Vec<Diagnostic>) {
    let ns = obj.namespace;
    let f = obj.file;
    let who = format!("{} `{}`", obj.kind, obj.name);

    // ServiceAccount
    for key in ["serviceAccountName", "serviceAccount"] {
        if let Some(sa) = str_at(spec, key)
            && sa != "default"
            && find(world, ns, "ServiceAccount", sa).is_none()
        {
            let mut msg = format!(
                "{who} runs as ServiceAccount `{sa}`, which no manifest of this scenario defines"
            );
            if let Some(w) = elsewhere(world, ns, "ServiceAccount", sa) {
                msg =
                    format!("{who} runs as ServiceAccount `{sa}`, which is applied only into {w}");
            }
            out.push(missing(
                f.at(obj.doc, &at.key(key), msg)
                    .label("no such ServiceAccount"),
                ReferenceCheck::MissingServiceAccount,
                "ServiceAccount",
                sa,
                &names_of(world, ns, "ServiceAccount"),
                "add a ServiceAccount manifest, or name an existing one",
            ));
        }
    }

    // Volumes
    let volumes = list(spec, "volumes");
    let mut volume_names: Vec<&str> = Vec::new();
    let mut secret_uses: Vec<SecretUse> = Vec::new();
    for (i, v) in volumes.iter().enumerate() {
        let vat = at.key("volumes").index(i);
        if let Some(name) = str_at(v, "name") {
            if volume_names.contains(&name) {
                out.push(
                    f.at(
                        obj.doc,
                        &vat.key("name"),
                        format!("{who} has two volumes named `{name}`"),
                    )
                    .label("again")
                    .help("volume names are unique within a pod"),
                );
            }
            volume_names.push(name);
        }
        if let Some(csi) = v.get("csi") {
            let driver = str_at(csi, "driver").unwrap_or_default();
            if driver != CSI_DRIVER && driver.contains("secrets-store") {
                out.push(
                    f.at(obj.doc, &vat.key("csi").key("driver"), format!("no CSI driver is named `{driver}`"))
                        .label("not the driver's name")
                        .help(format!("the Secrets Store CSI Driver is `{CSI_DRIVER}` (the API group of its classes is secrets-store.csi.x-k8s.io)")),
                );
            }
            if driver == CSI_DRIVER {
                let attrs = csi.get("volumeAttributes");
                match attrs.and_then(|a| str_at(a, "secretProviderClass")) {
                    None => out.push(
                        f.at_key(
                            obj.doc,
                            &vat.key("csi"),
                            format!("{who}: this CSI volume names no SecretProviderClass"),
                        )
                        .label("no volumeAttributes.secretProviderClass")
                        .help("add `volumeAttributes: { secretProviderClass: NAME }`"),
                    ),
                    Some(spc) if find(world, ns, "SecretProviderClass", spc).is_none() => {
                        let sat = vat
                            .key("csi")
                            .key("volumeAttributes")
                            .key("secretProviderClass");
                        let msg = match elsewhere(world, ns, "SecretProviderClass", spc) {
                            Some(w) => format!(
                                "{who} mounts SecretProviderClass `{spc}`, which is applied only into {w}: the driver looks it up in the pod's own namespace"
                            ),
                            None => format!(
                                "{who} mounts SecretProviderClass `{spc}`, which no manifest of this scenario defines"
                            ),
                        };
                        out.push(missing(
                            f.at(obj.doc, &sat, msg)
                                .label("no such SecretProviderClass here"),
                            ReferenceCheck::MissingSecretProviderClass,
                            "SecretProviderClass",
                            spc,
                            &names_of(world, ns, "SecretProviderClass"),
                            "name a class this scenario applies into the pod's namespace",
                        ));
                    }
                    Some(_) => {}
                }
                if let Some(name) = csi
                    .get("nodePublishSecretRef")
                    .and_then(|r| str_at(r, "name"))
                {
                    secret_uses.push(SecretUse {
                        at: vat.key("csi").key("nodePublishSecretRef").key("name"),
                        name,
                        key: None,
                        optional: false,
                    });
                }
            }
        }
        if let Some(sv) = v.get("secret")
            && let Some(name) = str_at(sv, "secretName")
        {
            let optional = sv.get("optional").and_then(Value::as_bool).unwrap_or(false);
            secret_uses.push(SecretUse {
                at: vat.key("secret").key("secretName"),
                name,
                key: None,
                optional,
            });
            for (k, item) in list(sv, "items").iter().enumerate() {
                if let Some(key) = str_at(item, "key") {
                    secret_uses.push(SecretUse {
                        at: vat.key("secret").key("items").index(k).key("key"),
                        name,
                        key: Some(key),
                        optional,
                    });
                }
            }
        }
    }

    // Containers: volume mounts and Secrets read through the environment.
    for group in ["initContainers", "containers"] {
        for (c, container) in list(spec, group).iter().enumerate() {
            let cat = at.key(group).index(c);
            for (m, mount) in list(container, "volumeMounts").iter().enumerate() {
                if let Some(name) = str_at(mount, "name")
                    && !volume_names.contains(&name)
                {
                    let mut d = f
                        .at(
                            obj.doc,
                            &cat.key("volumeMounts").index(m).key("name"),
                            format!("{who} mounts volume `{name}`, which is not in its volumes"),
                        )
                        .label("no such volume")
                        .code("unknown-volume");
                    d = match suggest(name, &volume_names) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!(
                            "volumes of this pod: {}",
                            if volume_names.is_empty() {
                                "none".to_owned()
                            } else {
                                volume_names.join(", ")
                            }
                        )),
                    };
                    out.push(d);
                }
            }
            for (e, env) in list(container, "env").iter().enumerate() {
                if let Some(r) = env.get("valueFrom").and_then(|v| v.get("secretKeyRef"))
                    && let Some(name) = str_at(r, "name")
                {
                    secret_uses.push(SecretUse {
                        at: cat
                            .key("env")
                            .index(e)
                            .key("valueFrom")
                            .key("secretKeyRef")
                            .key("name"),
                        name,
                        key: str_at(r, "key"),
                        optional: r.get("optional").and_then(Value::as_bool).unwrap_or(false),
                    });
                }
            }
            for (e, from) in list(container, "envFrom").iter().enumerate() {
                if let Some(r) = from.get("secretRef")
                    && let Some(name) = str_at(r, "name")
                {
                    secret_uses.push(SecretUse {
                        at: cat.key("envFrom").index(e).key("secretRef").key("name"),
                        name,
                        key: None,
                        optional: r.get("optional").and_then(Value::as_bool).unwrap_or(false),
                    });
                }
            }
        }
    }

    for u in secret_uses {
        secret(world, obj, &who, &u, out);
    }
}

/// A Secret a pod reads: from a manifest, or synced by a class some pod mounts.
fn secret(world: &[Obj], obj: &Obj, who: &str, u: &SecretUse, out: &mut Vec<Diagnostic>) {
    let ns = obj.namespace;
    let f = obj.file;
    if let Some(s) = find(world, ns, "Secret", u.name) {
        if let Some(key) = u.key {
            let keys: Vec<&str> = ["data", "stringData"]
                .iter()
                .filter_map(|k| s.value.get(*k).and_then(Value::as_object))
                .flat_map(|m| m.keys().map(String::as_str))
                .collect();
            if !keys.contains(&key) && !u.optional {
                out.push(
                    f.at(
                        obj.doc,
                        &u.at.parent().key("key"),
                        format!("Secret `{}` has no key `{key}`", u.name),
                    )
                    .label("no such key")
                    .help(match suggest(key, &keys) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("its keys: {}", keys.join(", ")),
                    }),
                );
            }
        }
        return;
    }
    // Synced by a SecretProviderClass?
    let syncing: Vec<(&Obj, &Value)> = secret_objects(world, ns)
        .filter(|(_, so)| str_at(so, "secretName") == Some(u.name))
        .collect();
    if let Some((spc, so)) = syncing.first() {
        if let Some(key) = u.key {
            let keys: Vec<&str> = list(so, "data")
                .iter()
                .filter_map(|d| str_at(d, "key"))
                .collect();
            if !keys.contains(&key) && !u.optional {
                out.push(
                    f.at(obj.doc, &u.at.parent().key("key"), format!(
                        "the Secret `{}` that SecretProviderClass `{}` syncs has no key `{key}`",
                        u.name, spc.name
                    ))
                    .label("no such key")
                    .help(match suggest(key, &keys) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("secretObjects data keys: {}", keys.join(", ")),
                    }),
                );
            }
        }
        let mounted = world
            .iter()
            .any(|o| o.namespace == ns && mounts(o, &spc.name));
        if !mounted && !u.optional {
            let d = f
                .at(obj.doc, &u.at, format!(
                    "{who} reads Secret `{}`, which only SecretProviderClass `{}` syncs, and no pod mounts that class: the driver syncs only what a pod mounts",
                    u.name, spc.name
                ))
                .label("never created")
                .code(ReferenceCheck::SecretNeverSynced.code())
                .subject(format!("Secret/{}", u.name))
                .help(format!(
                    "mount SecretProviderClass `{}` in a CSI volume of this pod; if the scenario means it, add to spec.lint.allow: {{ check: {}, subject: Secret/{}, reason: ... }}",
                    spc.name,
                    ReferenceCheck::SecretNeverSynced.code(),
                    u.name
                ));
            out.push(d);
        }
        return;
    }
    if u.optional {
        return;
    }
    let mut msg = format!(
        "{who} reads Secret `{}`, which neither a manifest nor a SecretProviderClass's secretObjects makes",
        u.name
    );
    if let Some(w) = elsewhere(world, ns, "Secret", u.name) {
        msg = format!(
            "{who} reads Secret `{}`, which is applied only into {w}",
            u.name
        );
    }
    let mut known = names_of(world, ns, "Secret");
    let synced: Vec<&str> = secret_objects(world, ns)
        .filter_map(|(_, so)| str_at(so, "secretName"))
        .collect();
    known.extend(synced);
    out.push(missing(
        f.at(obj.doc, &u.at, msg).label("no such Secret"),
        ReferenceCheck::MissingSecret,
        "Secret",
        u.name,
        &known,
        "add the Secret (a manifest, or secretObjects in a class the pod mounts)",
    ));
}

/// The `secretObjects` entries of every class applied into `ns`, with their class.
fn secret_objects<'w, 'a>(
    world: &'w [Obj<'a>],
    ns: Option<&'w str>,
) -> impl Iterator<Item = (&'w Obj<'a>, &'w Value)> {
    world
        .iter()
        .filter(move |o| o.namespace == ns && o.kind == "SecretProviderClass")
        .flat_map(|o| {
            o.value
                .pointer("/spec/secretObjects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(move |so| (o, so))
        })
}

/// Whether a workload mounts SecretProviderClass `spc` in a CSI volume.
pub(super) fn mounts(o: &Obj, spc: &str) -> bool {
    let Some(path) = kinds::find(&o.kind).and_then(|k| k.pod_spec) else {
        return false;
    };
    let pointer = format!("/{}/volumes", path.join("/"));
    o.value
        .pointer(&pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("csi"))
        .any(|csi| {
            str_at(csi, "driver") == Some(CSI_DRIVER)
                && csi
                    .get("volumeAttributes")
                    .and_then(|a| str_at(a, "secretProviderClass"))
                    == Some(spc)
        })
}

/// Kinds whose objects come from manifests (so a step naming one names a manifest's object).
fn from_manifests(kind: &str) -> bool {
    !matches!(
        kind,
        "Node" | "Event" | "Namespace" | "SecretProviderClassPodStatus" | "ReplicaSet"
    )
}

/// The object a `pod` or `deployment` field names (none when neither or both are given: the
/// step checks report that).
fn target_ref<'a>(
    at: &YamlPath,
    target: Option<PodTarget<'a>>,
    op: &'static str,
) -> Option<(YamlPath, &'a str, &'a str, &'static str)> {
    let t = target?;
    let (key, kind) = t.key_and_kind();
    Some((at.key(key), kind, t.name(), op))
}

/// The objects a `capture` or `check` source names in the scenario's namespace.
fn source_refs<'a>(
    at: &YamlPath,
    sources: &[Source<'a>],
    op: &'static str,
) -> Vec<(YamlPath, &'a str, &'a str, &'static str)> {
    sources
        .iter()
        .filter_map(|src| {
            let sat = at.key(src.key());
            match *src {
                Source::File(f) => target_ref(&sat, f.target(), op),
                Source::Exec(e) => target_ref(&sat, e.target(), op),
                Source::Object(ob) => {
                    Some((sat.key("name"), ob.kind.as_str(), ob.name.as_str(), op))
                }
                Source::Secret(se) => Some((sat.key("name"), "Secret", se.name.as_str(), op)),
                Source::Logs(l) if l.deployment.is_some() => {
                    target_ref(&sat, PodTarget::of(&l.pod, &l.deployment), op)
                }
                Source::Logs(l) if l.namespace.is_none() => {
                    l.pod.as_deref().map(|p| (sat.key("pod"), "Pod", p, op))
                }
                Source::Metric(mt) if mt.namespace.is_none() => {
                    mt.pod.as_deref().map(|p| (sat.key("pod"), "Pod", p, op))
                }
                _ => None,
            }
        })
        .collect()
}

/// The pods and objects the steps name.
fn steps(cx: &Cx, world: &[Obj], provider: Provider) -> Vec<Diagnostic> {
    let mut texts: Vec<&str> = world.iter().map(|o| o.file.source.as_ref()).collect();
    texts.push(cx.loaded.source.as_ref());
    let vars = vars::for_provider(cx, provider, &texts);
    let mut out = Vec::new();
    let synced: Vec<String> = secret_objects(world, None)
        .filter_map(|(_, so)| str_at(so, "secretName").map(str::to_owned))
        .collect();
    for o in &cx.ops {
        let refs: Vec<(YamlPath, &str, &str, &str)> = match o.op {
            Op::Files(f) => target_ref(&o.path.key("files"), f.target(), "files")
                .into_iter()
                .collect(),
            Op::Exec(e) => target_ref(&o.path.key("exec"), e.target(), "exec")
                .into_iter()
                .collect(),
            Op::Wait(w) => vec![(
                o.path.key("wait").key("name"),
                w.kind.as_str(),
                w.name.as_str(),
                "wait",
            )],
            Op::Scale(s) => vec![(
                o.path.key("scale").key("name"),
                s.kind.as_str(),
                s.name.as_str(),
                "scale",
            )],
            Op::Event(e) => vec![(
                o.path.key("event").key("object").key("name"),
                e.object.kind.as_str(),
                e.object.name.as_str(),
                "event",
            )],
            // An object of the providers' namespace is none of the scenario's manifests.
            Op::Delete(d) => d
                .object
                .as_ref()
                .filter(|r| r.namespace.is_none())
                .map(|r| {
                    (
                        o.path.key("delete").key("object").key("name"),
                        r.kind.as_str(),
                        r.name.as_str(),
                        "delete",
                    )
                })
                .into_iter()
                .collect(),
            Op::Snapshot(s) => vec![(
                o.path.key("snapshot").key("object").key("name"),
                s.object.kind.as_str(),
                s.object.name.as_str(),
                "snapshot",
            )],
            Op::Assert(a) => match (
                a.object.get("kind").and_then(Value::as_str),
                a.object.pointer("/metadata/name").and_then(Value::as_str),
            ) {
                (Some(k), Some(n)) => vec![(
                    o.path
                        .key("assert")
                        .key("object")
                        .key("metadata")
                        .key("name"),
                    k,
                    n,
                    "assert",
                )],
                _ => vec![],
            },
            Op::Capture(c) => source_refs(&o.path.key("capture"), &c.sources(), "capture"),
            Op::Check(c) => source_refs(&o.path.key("check"), &c.sources(), "check"),
            _ => vec![],
        };
        for (at, kind, raw, op) in refs {
            if kinds::find(kind).is_none() || !from_manifests(kind) {
                continue;
            }
            let name = vars::expand_str(&vars, raw);
            if find(world, None, kind, &name).is_some() {
                continue;
            }
            if kind == "Secret" && synced.contains(&name) {
                continue;
            }
            let mut known = names_of(world, None, kind);
            if kind == "Secret" {
                known.extend(synced.iter().map(String::as_str));
            }
            let msg = match elsewhere(world, None, kind, &name) {
                Some(w) => format!(
                    "`{op}` names {kind} `{name}`, which is applied only into {w}; steps act in the scenario's namespace"
                ),
                None => format!(
                    "`{op}` names {kind} `{name}`, which no manifest of this scenario defines"
                ),
            };
            out.push(missing(
                cx.at(&at, msg).label(format!("no such {kind}")),
                ReferenceCheck::MissingObject,
                kind,
                &name,
                &known,
                "name an object of the scenario's manifests",
            ));
        }
    }
    out
}
