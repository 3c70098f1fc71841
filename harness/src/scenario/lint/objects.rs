//! The providers' SecretProviderClass parameters, parsed as each provider parses them, so that a
//! mistake fails here instead of as a FailedMount after the whole deadline:
//!
//! - the parameter names each provider reads (AWS provider 3.1.1 `server/server.go`; Azure
//!   provider v1.8.2 `pkg/provider/types/types.go`; Vault CSI provider 1.7.4
//!   `internal/config/config.go`);
//! - `objects`: AWS a YAML list of descriptors (`provider/secret_descriptor.go`), Azure a YAML
//!   `array:` of YAML strings each holding one KeyVaultObject, Vault a YAML list of secrets;
//!   unknown keys, missing names, bad types, modes and formats are errors, and a `jmesPath` on
//!   an object the scenario seeds with a value that is not JSON;
//! - `secretObjects[].data[].objectName` must name a file the class mounts (an object's alias,
//!   else its name as the provider turns it into a file name).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::super::Diagnostic;
use super::super::load::{suggest, yaml_error};
use super::super::located::{Node, Pos, YamlPath};
use super::super::model::{BackendAction, Op, Provider, ReferenceCheck, VaultEngine};
use super::manifests::Inventory;
use super::refs::{Obj, per_provider, world};
use super::{Cx, vars};

const AWS_PARAMETERS: &[&str] = &[
    "region",
    "failoverRegion",
    "objects",
    "pathTranslation",
    "usePodIdentity",
    "preferredAddressType",
];
const AZURE_PARAMETERS: &[&str] = &[
    "keyvaultName",
    "tenantId",
    "tenantID",
    "cloudName",
    "cloudEnvFileName",
    "usePodIdentity",
    "useVMManagedIdentity",
    "useAzureTokenProxy",
    "userAssignedIdentityID",
    "clientID",
    "objects",
];
const VAULT_PARAMETERS: &[&str] = &[
    "roleName",
    "vaultAddress",
    "vaultNamespace",
    "vaultKubernetesMountPath",
    "vaultAuthMountPath",
    "audience",
    "vaultCACertPath",
    "vaultCADirectory",
    "vaultTLSServerName",
    "vaultTLSClientCertPath",
    "vaultTLSClientKeyPath",
    "vaultSkipTLSVerify",
    "objects",
];

fn parameters_of(p: Provider) -> &'static [&'static str] {
    match p {
        Provider::Aws => AWS_PARAMETERS,
        Provider::Azure => AZURE_PARAMETERS,
        Provider::Vault => VAULT_PARAMETERS,
    }
}

/// A scalar of any type as text: the providers read these fields with Go's YAML into strings,
/// which takes `0644` as well as `"0644"`.
#[derive(Debug, Clone)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let node = Node::deserialize(d)?;
        match node.as_str() {
            Some(s) => Ok(Text(s.to_owned())),
            None => Err(serde::de::Error::custom(
                "expected a single value, not a list or a mapping",
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct AwsObject {
    object_name: Text,
    #[serde(default)]
    object_type: Option<Text>,
    #[serde(default)]
    object_alias: Option<Text>,
    #[serde(default)]
    object_version: Option<Text>,
    #[serde(default)]
    object_version_label: Option<Text>,
    #[serde(default)]
    file_permission: Option<Text>,
    #[serde(default, rename = "jmesPath")]
    jmes_path: Option<Vec<JmesPath>>,
    #[serde(default)]
    failover_object: Option<AwsFailover>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct JmesPath {
    path: Text,
    object_alias: Text,
    #[serde(default)]
    file_permission: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct AwsFailover {
    object_name: Text,
    #[serde(default)]
    object_version: Option<Text>,
    #[serde(default)]
    object_version_label: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AzureObjects {
    array: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct AzureObject {
    object_name: Text,
    object_type: Text,
    #[serde(default)]
    object_alias: Option<Text>,
    #[serde(default)]
    object_version: Option<Text>,
    #[serde(default)]
    object_version_history: Option<i32>,
    #[serde(default)]
    object_format: Option<Text>,
    #[serde(default)]
    object_encoding: Option<Text>,
    #[serde(default)]
    file_permission: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct VaultObject {
    object_name: Text,
    secret_path: Text,
    #[serde(default)]
    secret_key: Option<Text>,
    #[serde(default)]
    method: Option<Text>,
    #[serde(default)]
    secret_args: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    file_permission: Option<Text>,
    #[serde(default)]
    encoding: Option<Text>,
}

/// Where a YAML text embedded in a string scalar sits, so that positions inside it can be
/// shown in the file: the file, its text, and the scalar's position in it (outermost first for
/// texts nested in texts).
#[derive(Clone)]
struct Embedded {
    file: std::path::PathBuf,
    source: Arc<str>,
    /// (the text holding the scalar, the scalar's position in it), outermost first.
    layers: Vec<(Arc<str>, Pos)>,
}

impl Embedded {
    fn new(file: &Path, source: &Arc<str>, pos: Pos) -> Self {
        Embedded {
            file: file.to_owned(),
            source: Arc::clone(source),
            layers: vec![(Arc::clone(source), pos)],
        }
    }

    /// The same, one level deeper: a scalar at `pos` inside `text` (this level's string).
    fn nested(&self, text: &str, pos: Pos) -> Self {
        let mut e = self.clone();
        e.layers.push((Arc::from(text), pos));
        e
    }

    /// A position inside the innermost string, in the file.
    fn map(&self, inner_text: &str, inner: Pos) -> Pos {
        let mut pos = inner;
        let mut text: Arc<str> = Arc::from(inner_text);
        for (container, scalar) in self.layers.iter().rev() {
            pos = map_one(container, *scalar, &text, pos).unwrap_or(*scalar);
            text = Arc::clone(container);
        }
        pos
    }

    fn at(&self, inner_text: &str, inner: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, message).pos(&self.source, self.map(inner_text, inner))
    }

    /// A finding about the whole (innermost) string.
    fn whole(&self, message: impl Into<String>) -> Diagnostic {
        let n = self.layers.len();
        let pos = match n {
            0 => Pos::default(),
            1 => self.layers[0].1,
            _ => {
                let (text, scalar) = &self.layers[n - 1];
                let outer = Embedded {
                    layers: self.layers[..n - 1].to_vec(),
                    ..self.clone()
                };
                outer.map(text, *scalar)
            }
        };
        // The first line of the string, not the whole block.
        let first_line = self
            .source
            .get(pos.offset..)
            .and_then(|r| r.lines().next())
            .map_or(0, str::len);
        let pos = Pos {
            len: first_line,
            ..pos
        };
        Diagnostic::new(&self.file, message).pos(&self.source, pos)
    }
}

/// A position inside the string of a block scalar at `scalar` in `container`, in `container`:
/// the string's line `n` is the container's line `scalar.line + n - 1`, shifted by the block's
/// indentation. `None` when the lines do not correspond (a quoted or folded string).
fn map_one(container: &str, scalar: Pos, inner_text: &str, inner: Pos) -> Option<Pos> {
    let inner_line = inner_text
        .lines()
        .nth(inner.line.checked_sub(1)? as usize)?;
    let line_no = scalar.line + inner.line - 1;
    let outer_line = container.lines().nth(line_no.checked_sub(1)? as usize)?;
    let indent = outer_line.len() - outer_line.trim_start().len();
    if outer_line.get(indent..)? != inner_line.trim_start() || !outer_line.ends_with(inner_line) {
        return None;
    }
    let shift = outer_line.len() - inner_line.len();
    let column = inner.column + shift as u64;
    Some(Pos::at(container, line_no, column, inner.len))
}

/// One provider's view of one class: its objects text and where it came from.
struct Source<'a> {
    text: String,
    at: Embedded,
    /// The class it is for (its name), if it came from a manifest.
    spc: Option<&'a str>,
}

pub(super) fn check(cx: &mut Cx, inv: &Inventory) {
    let mut found: Vec<(Diagnostic, Provider)> = Vec::new();
    for p in cx.s.spec.providers.clone() {
        let w = world(cx, inv, p);
        for d in provider(cx, &w, p) {
            found.push((d, p));
        }
    }
    let all = cx.s.spec.providers.clone();
    cx.diags.extend(per_provider(found, &all));
}

fn provider(cx: &Cx, world: &[Obj], p: Provider) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let binding = cx.s.spec.bindings.get(&p);
    let bat = YamlPath::root()
        .key("spec")
        .key("bindings")
        .key(p.as_str())
        .key("parameters");
    // Parameter names: the binding's for its provider, a manifest's for any provider the
    // scenario runs (the same class is applied for each).
    if let Some(b) = binding {
        for key in b.parameters.keys() {
            if let Some(d) = unknown_parameter(key, parameters_of(p), p.as_str()) {
                out.push(d.apply(cx.at_key(&bat.key(key.clone()), "")));
            }
        }
    }
    let known_any: Vec<&str> =
        cx.s.spec
            .providers
            .iter()
            .flat_map(|q| parameters_of(*q).iter().copied())
            .collect();
    let spcs: Vec<&Obj> = world
        .iter()
        .filter(|o| o.kind == "SecretProviderClass")
        .collect();
    for spc in &spcs {
        if let Some(params) = spc
            .value
            .pointer("/spec/parameters")
            .and_then(Value::as_object)
        {
            for key in params.keys() {
                if let Some(d) = unknown_parameter(key, &known_any, "the scenario's providers") {
                    let at = YamlPath::parse("spec.parameters").key(key.clone());
                    out.push(d.apply(spc.file.at_key(spc.doc, &at, "")));
                }
            }
        }
    }

    // The objects text: the binding's wins over the manifest's, as in the run.
    let mut sources: Vec<Source> = Vec::new();
    if let Some(text) = binding.and_then(|b| b.parameters.get("objects")) {
        let node_pos = cx.loaded.tree.find(&bat.key("objects"));
        sources.push(Source {
            text: text.clone(),
            at: Embedded::new(&cx.loaded.file, &cx.loaded.source, node_pos),
            spc: None,
        });
    }
    for spc in &spcs {
        let from_binding = !sources.is_empty() && sources[0].spc.is_none();
        let raw = spc
            .file
            .docs
            .get(spc.doc)
            .and_then(|d| d.value.pointer("/spec/parameters/objects"))
            .and_then(Value::as_str);
        let own = spc
            .value
            .pointer("/spec/parameters/objects")
            .and_then(Value::as_str);
        match (raw.zip(own), from_binding) {
            (Some((raw, text)), false) => {
                // `objects: ${var}`: the text and its places are the variable's, in scenario.yaml.
                let var = raw
                    .trim()
                    .strip_prefix("${")
                    .and_then(|r| r.strip_suffix('}'))
                    .filter(|v| binding.is_some_and(|b| b.vars.contains_key(*v)));
                let at = match var {
                    Some(v) => {
                        let path = YamlPath::root()
                            .key("spec")
                            .key("bindings")
                            .key(p.as_str())
                            .key("vars")
                            .key(v);
                        Embedded::new(&cx.loaded.file, &cx.loaded.source, cx.loaded.tree.find(&path))
                    }
                    None => {
                        let at = YamlPath::parse("spec.parameters.objects");
                        let pos = spc.file.docs.get(spc.doc).map(|d| d.tree.find(&at)).unwrap_or_default();
                        Embedded::new(&spc.file.path, &spc.file.source, pos)
                    }
                };
                sources.push(Source {
                    text: text.to_owned(),
                    at,
                    spc: Some(spc.name.as_str()),
                });
            }
            (None, false) => out.push(
                spc.file
                    .at_key(spc.doc, &YamlPath::root().key("spec"), format!(
                        "SecretProviderClass `{}` has no `objects` parameter for {p}: the provider has nothing to mount",
                        spc.name
                    ))
                    .label("no objects")
                    .help(format!("add `objects` to spec.bindings.{p}.parameters (or to this class's spec.parameters)")),
            ),
            _ => {}
        }
    }

    let seeds = seeded_values(cx, p);
    let engines = engine_mounts(cx);
    let mut texts: Vec<&str> = world.iter().map(|o| o.file.source.as_ref()).collect();
    texts.push(cx.loaded.source.as_ref());
    let vars = vars::for_provider(cx, p, &texts);
    let params = |spc: Option<&Obj>| -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        if let Some(o) = spc
            .and_then(|s| s.value.pointer("/spec/parameters"))
            .and_then(Value::as_object)
        {
            for (k, v) in o {
                if let Some(v) = v.as_str() {
                    m.insert(k.clone(), v.to_owned());
                }
            }
        }
        if let Some(b) = binding {
            for (k, v) in &b.parameters {
                m.insert(k.clone(), vars::expand_str(&vars, v));
            }
        }
        m
    };
    // Files each class mounts, for its secretObjects.
    let mut files_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for source in &sources {
        let spc_obj = source
            .spc
            .and_then(|n| spcs.iter().find(|o| o.name == n).copied());
        let params = params(spc_obj);
        let files = match p {
            Provider::Aws => aws(source, &params, &seeds, &vars, &mut out),
            Provider::Azure => azure(source, &vars, &mut out),
            Provider::Vault => vault(source, &vars, &engines, &mut out),
        };
        match source.spc {
            Some(n) => {
                files_of.insert(n.to_owned(), files);
            }
            None => {
                for spc in &spcs {
                    files_of.insert(spc.name.clone(), files.clone());
                }
            }
        }
    }
    for spc in &spcs {
        let Some(files) = files_of.get(&spc.name) else {
            continue;
        };
        sync_objects(spc, files, p, &mut out);
    }
    out
}

/// A finding whose place is filled in later (the key of the parameter).
struct Pending {
    message: String,
    label: String,
    help: String,
}

impl Pending {
    fn apply(self, at: Diagnostic) -> Diagnostic {
        let mut d = at.label(self.label).help(self.help);
        d.message = self.message;
        d
    }
}

fn unknown_parameter(key: &str, known: &[&str], whose: &str) -> Option<Pending> {
    if known.contains(&key) || key.starts_with("csi.storage.k8s.io/") {
        return None;
    }
    Some(Pending {
        message: format!("`{key}` is not a parameter of {whose}: the provider ignores it"),
        label: "unknown parameter".to_owned(),
        help: match suggest(key, known) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("parameters: {}", known.join(", ")),
        },
    })
}

/// Parses an objects text as `T`, reporting a YAML or type error where it is.
fn parse<T: DeserializeOwned>(
    text: &str,
    at: &Embedded,
    what: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<(T, Node)> {
    let options = serde_saphyr::options! { with_snippet: false };
    let typed = serde_saphyr::from_str_with_options::<T>(text, options);
    let tree = Node::parse(text);
    match (typed, tree) {
        (Ok(v), Ok(tree)) => Some((v, tree)),
        (Err(e), _) | (Ok(_), Err(e)) => {
            let inner: Arc<str> = Arc::from(text);
            let local = yaml_error(Path::new(""), &inner, &e);
            let pos = e
                .location()
                .map(|l| Pos::from_location(&l, text))
                .map(|p| Pos {
                    len: local.span.map_or(p.len, |s| s.1),
                    ..p
                })
                .unwrap_or_default();
            let mut d = if pos.line > 0 {
                at.at(text, pos, format!("{what}: {}", local.message))
            } else {
                at.whole(format!("{what}: {}", local.message))
            };
            d.label = local.label.or(Some("here".to_owned()));
            d.help = local.help;
            d = d.code("provider-objects");
            out.push(d);
            None
        }
    }
}

fn objects_error(
    at: &Embedded,
    text: &str,
    tree: &Node,
    path: &YamlPath,
    message: String,
) -> Diagnostic {
    at.at(text, tree.find(path), message)
        .code("provider-objects")
}

fn is_mode(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| (b'0'..=b'7').contains(&b))
}

/// AWS: descriptors, their file names, and jmesPath only on JSON.
fn aws(
    source: &Source,
    params: &BTreeMap<String, String>,
    seeds: &BTreeMap<String, Vec<(String, String)>>,
    vars: &crate::runner::vars::Vars,
    out: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let text = &source.text;
    let Some((objects, tree)) = parse::<Vec<AwsObject>>(text, &source.at, "aws objects", out)
    else {
        return Vec::new();
    };
    let translate = params.get("pathTranslation").map_or("_", String::as_str);
    let mut files = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let at = YamlPath::root().index(i);
        let err = |path: YamlPath, msg: String| objects_error(&source.at, text, &tree, &path, msg);
        let name = vars::expand_str(vars, &o.object_name.0);
        let is_arn = name.starts_with("arn:");
        match o.object_type.as_ref().map(|t| t.0.as_str()) {
            Some("secretsmanager" | "ssmparameter") => {}
            Some(other) => out.push(
                err(at.key("objectType"), format!("aws objectType `{other}` is not `secretsmanager` or `ssmparameter`"))
                    .label("unknown objectType")
                    .help(match suggest(other, &["secretsmanager", "ssmparameter"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "use `secretsmanager` or `ssmparameter`".to_owned(),
                    }),
            ),
            None if !is_arn => out.push(
                err(at.clone(), format!("aws object `{name}` has no objectType"))
                    .label("objectType missing")
                    .help("add `objectType: secretsmanager` or `objectType: ssmparameter` (only an ARN may leave it out)"),
            ),
            None => {}
        }
        if let Some(m) = &o.file_permission
            && !is_mode(&m.0)
        {
            out.push(
                err(
                    at.key("filePermission"),
                    format!("filePermission `{}` must be 4 octal digits", m.0),
                )
                .label("not a mode")
                .help("write it quoted, like \"0644\""),
            );
        }
        if o.object_type
            .as_ref()
            .is_some_and(|t| t.0 == "ssmparameter")
            && o.object_version.is_some()
            && o.object_version_label.is_some()
        {
            out.push(
                err(
                    at.key("objectVersionLabel"),
                    "an ssmparameter object cannot have both objectVersion and objectVersionLabel"
                        .to_owned(),
                )
                .label("one or the other")
                .help("keep objectVersion or objectVersionLabel, not both"),
            );
        }
        if o.failover_object.is_some() {
            if o.object_alias.is_none() {
                out.push(
                    err(
                        at.key("failoverObject"),
                        "failoverObject requires objectAlias".to_owned(),
                    )
                    .label("no objectAlias")
                    .help(
                        "add `objectAlias:` (the file name both regions' objects are written to)",
                    ),
                );
            }
            if !params.contains_key("failoverRegion") {
                out.push(
                    err(
                        at.key("failoverObject"),
                        "failoverObject requires the failoverRegion parameter".to_owned(),
                    )
                    .label("no failoverRegion")
                    .help("add `failoverRegion:` to the class parameters"),
                );
            }
        }
        if let Some(jmes) = &o.jmes_path {
            let not_json = seeds.get(&name).into_iter().flatten().find(|(value, _)| {
                !serde_json::from_str::<Value>(&vars::expand_str(vars, value))
                    .is_ok_and(|v| v.is_object())
            });
            if let Some((value, origin)) = not_json {
                out.push(
                    err(at.key("jmesPath"), format!(
                        "jmesPath reads a JSON secret, but `{name}` is seeded with `{value}` ({origin}), which is not a JSON object"
                    ))
                    .label("needs JSON")
                    .help("seed the secret with a JSON object (e.g. '{\"username\": \"...\"}'), or drop jmesPath and mount the value as it is"),
                );
            }
            for (j, e) in jmes.iter().enumerate() {
                files.push(vars::expand_str(vars, &e.object_alias.0));
                if let Some(m) = &e.file_permission
                    && !is_mode(&m.0)
                {
                    out.push(
                        err(
                            at.key("jmesPath").index(j).key("filePermission"),
                            format!("filePermission `{}` must be 4 octal digits", m.0),
                        )
                        .label("not a mode")
                        .help("write it quoted, like \"0644\""),
                    );
                }
            }
        }
        let base = o
            .object_alias
            .as_ref()
            .map_or(name.clone(), |a| vars::expand_str(vars, &a.0));
        let file = if translate == "False" {
            base.trim_start_matches('/').to_owned()
        } else {
            base.replace('/', translate)
        };
        if files.contains(&file) {
            out.push(
                err(
                    at.key("objectName"),
                    format!("two aws objects are mounted as `{file}`"),
                )
                .label("same file name")
                .help("give one of them an objectAlias"),
            );
        }
        files.push(file);
    }
    files
}

/// Azure: `array:` of YAML strings, each a KeyVaultObject.
fn azure(
    source: &Source,
    vars: &crate::runner::vars::Vars,
    out: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let text = &source.text;
    let Some((objects, tree)) = parse::<AzureObjects>(text, &source.at, "azure objects", out)
    else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for (i, item) in objects.array.iter().enumerate() {
        let item_pos = tree.find(&YamlPath::root().key("array").index(i));
        let at = source.at.nested(text, item_pos);
        let Some((o, itree)) =
            parse::<AzureObject>(item, &at, &format!("azure objects array[{i}]"), out)
        else {
            continue;
        };
        let err =
            |path: &str, msg: String| objects_error(&at, item, &itree, &YamlPath::parse(path), msg);
        let kind = o.object_type.0.as_str();
        if !matches!(kind, "secret" | "key" | "cert") {
            out.push(
                err(
                    "objectType",
                    format!("azure objectType `{kind}` is not `secret`, `key` or `cert`"),
                )
                .label("unknown objectType")
                .help(match suggest(kind, &["secret", "key", "cert"]) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "use `secret`, `key` or `cert`".to_owned(),
                }),
            );
        }
        if let Some(f) = &o.object_format {
            if !matches!(f.0.as_str(), "pem" | "pfx") {
                out.push(
                    err(
                        "objectFormat",
                        format!("objectFormat `{}` is not `pem` or `pfx`", f.0),
                    )
                    .label("unknown format")
                    .help("use `pem` or `pfx`"),
                );
            } else if f.0 == "pfx" && kind != "secret" {
                out.push(
                    err(
                        "objectFormat",
                        "objectFormat `pfx` is allowed only for objectType `secret`".to_owned(),
                    )
                    .label("secret only")
                    .help("remove it, or use objectType `secret`"),
                );
            }
        }
        if let Some(e) = &o.object_encoding {
            if !matches!(e.0.as_str(), "utf-8" | "hex" | "base64") {
                out.push(
                    err(
                        "objectEncoding",
                        format!("objectEncoding `{}` is not `utf-8`, `hex` or `base64`", e.0),
                    )
                    .label("unknown encoding")
                    .help("use `utf-8`, `base64` or `hex`"),
                );
            } else if kind != "secret" {
                out.push(
                    err(
                        "objectEncoding",
                        "objectEncoding is allowed only for objectType `secret`".to_owned(),
                    )
                    .label("secret only")
                    .help("remove it, or use objectType `secret`"),
                );
            }
        }
        if let Some(m) = &o.file_permission
            && !is_mode(&m.0)
        {
            out.push(
                err(
                    "filePermission",
                    format!("filePermission `{}` must be 4 octal digits", m.0),
                )
                .label("not a mode")
                .help("write it quoted, like \"0644\""),
            );
        }
        let base = vars::expand_str(vars, &o.object_alias.as_ref().unwrap_or(&o.object_name).0);
        match o.object_version_history {
            Some(n) if n > 1 => files.extend((0..n).map(|v| format!("{base}/{v}"))),
            _ => files.push(base),
        }
    }
    files
}

/// Vault: a YAML list of secrets.
fn vault(
    source: &Source,
    vars: &crate::runner::vars::Vars,
    engines: &BTreeMap<String, VaultEngine>,
    out: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let text = &source.text;
    if let Ok(tree) = Node::parse(text)
        && matches!(tree.value, super::super::located::Value::Map(_))
    {
        out.push(
            source
                .at
                .whole("vault objects is a mapping; the provider reads a list (it fails with `cannot unmarshal !!map into []config.Secret`)")
                .label("not a list")
                .help("write each object as a list item: `- objectName: ...`")
                .code("provider-objects"),
        );
        return Vec::new();
    }
    let Some((objects, tree)) = parse::<Vec<VaultObject>>(text, &source.at, "vault objects", out)
    else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let at = YamlPath::root().index(i);
        let err = |path: YamlPath, msg: String| objects_error(&source.at, text, &tree, &path, msg);
        if let Some(e) = &o.encoding
            && !matches!(e.0.as_str(), "utf-8" | "base64" | "hex")
        {
            out.push(
                err(
                    at.key("encoding"),
                    format!("encoding `{}` is not `utf-8`, `base64` or `hex`", e.0),
                )
                .label("unknown encoding")
                .help("use `utf-8`, `base64` or `hex`"),
            );
        }
        if let Some(m) = &o.method
            && !matches!(m.0.to_uppercase().as_str(), "GET" | "PUT" | "POST")
        {
            out.push(
                err(
                    at.key("method"),
                    format!("method `{}` is not GET, PUT or POST", m.0),
                )
                .label("unknown method")
                .help("use GET (the default) or PUT"),
            );
        }
        if let Some(m) = &o.file_permission
            && !is_mode(&m.0)
            && !m.0.chars().all(|c| c.is_ascii_digit())
        {
            out.push(
                err(
                    at.key("filePermission"),
                    format!("filePermission `{}` must be octal digits", m.0),
                )
                .label("not a mode")
                .help("write it quoted, like \"0644\""),
            );
        }
        if let Some(why) = engine_method_mismatch(engines, &o.secret_path.0, o.method.as_ref()) {
            let path = if o.method.is_some() {
                at.key("method")
            } else {
                at.key("secretPath")
            };
            out.push(err(path, why.0).label(why.1).help(why.2));
        }
        files.push(vars::expand_str(vars, &o.object_name.0));
    }
    files
}

/// `secretObjects[].data[].objectName` must be a file the class mounts.
fn sync_objects(spc: &Obj, files: &[String], p: Provider, out: &mut Vec<Diagnostic>) {
    let Some(list) = spc
        .value
        .pointer("/spec/secretObjects")
        .and_then(Value::as_array)
    else {
        return;
    };
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    for (i, so) in list.iter().enumerate() {
        let data = so
            .get("data")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (j, d) in data.iter().enumerate() {
            let Some(name) = d.get("objectName").and_then(Value::as_str) else {
                continue;
            };
            if refs.contains(&name) {
                continue;
            }
            let at = YamlPath::parse("spec.secretObjects")
                .index(i)
                .key("data")
                .index(j)
                .key("objectName");
            let subject = format!("SecretProviderClass/{}/{name}", spc.name);
            let mut help = match suggest(name, &refs) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            help.push_str(&format!(
                "name the mounted file (the object's alias if it has one; mounted for {p}: {}); if the scenario means it, add to spec.lint.allow: {{ check: {}, subject: {subject}, reason: ... }}",
                if refs.is_empty() { "none".to_owned() } else { refs.join(", ") },
                ReferenceCheck::SyncObjectNotMounted.code()
            ));
            out.push(
                spc.file
                    .at(spc.doc, &at, format!(
                        "secretObjects objectName `{name}` is not a file SecretProviderClass `{}` mounts: the driver syncs from the mounted files",
                        spc.name
                    ))
                    .label("no such mounted file")
                    .code(ReferenceCheck::SyncObjectNotMounted.code())
                    .subject(subject)
                    .help(help),
            );
        }
    }
}

/// The secrets engines the scenario enables (`vault.secrets.enable`, in its steps or the vault
/// binding's actions), by mount path.
fn engine_mounts(cx: &Cx) -> BTreeMap<String, VaultEngine> {
    let mut out = BTreeMap::new();
    let mut record = |a: &BackendAction| {
        if let BackendAction::VaultSecretsEnable(e) = a {
            out.insert(e.path.trim_matches('/').to_owned(), e.type_);
        }
    };
    if let Some(b) = cx.s.spec.bindings.get(&Provider::Vault) {
        b.actions.values().flatten().for_each(&mut record);
    }
    for o in &cx.ops {
        if let Op::Backend(a) = o.op {
            record(a);
        }
    }
    out
}

/// A Vault object whose method its engine refuses (Vault answers 405 `unsupported operation`):
/// PKI's `issue/<role>` takes only writes, which vault-csi-provider sends for `method: PUT`
/// (upstream's e2e class `vault-pki`); database `creds/<role>` only reads. (message, label, help)
fn engine_method_mismatch(
    engines: &BTreeMap<String, VaultEngine>,
    secret_path: &str,
    method: Option<&Text>,
) -> Option<(String, &'static str, &'static str)> {
    let path = secret_path.trim_start_matches('/');
    let path = path.strip_prefix("v1/").unwrap_or(path);
    let path = path.split('?').next().unwrap_or(path);
    let method = method.map_or("GET".to_owned(), |m| m.0.to_uppercase());
    let writes = matches!(method.as_str(), "PUT" | "POST");
    engines.iter().find_map(|(mount, engine)| {
        let rest = path.strip_prefix(mount.as_str())?.strip_prefix('/')?;
        match engine {
            VaultEngine::Pki if rest.starts_with("issue/") && !writes => Some((
                format!(
                    "`{path}` issues a certificate only on a write; the provider sends {method}"
                ),
                "Vault answers 405",
                "add `method: PUT` (with `secretArgs`, e.g. `common_name`)",
            )),
            VaultEngine::Database if rest.starts_with("creds/") && writes => Some((
                format!("`{path}` makes credentials only on a read; the provider sends {method}"),
                "Vault answers 405",
                "drop `method` (GET is the default)",
            )),
            _ => None,
        }
    })
}

/// Values the scenario seeds per AWS object name (for `jmesPath`): (value, where).
fn seeded_values(cx: &Cx, p: Provider) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut record = |a: &BackendAction, origin: String| match a {
        BackendAction::AwsCreateSecret(c) => out
            .entry(c.name.clone())
            .or_default()
            .push((c.secret_string.clone(), origin)),
        BackendAction::AwsPutSecretValue(c) => out
            .entry(c.secret_id.clone())
            .or_default()
            .push((c.secret_string.clone(), origin)),
        BackendAction::AwsPutParameter(c) => out
            .entry(c.name.clone())
            .or_default()
            .push((c.value.clone(), origin)),
        _ => {}
    };
    if let Some(b) = cx.s.spec.bindings.get(&p) {
        for (name, list) in &b.actions {
            for a in list {
                record(a, format!("in spec.bindings.{p}.actions.{name}"));
            }
        }
    }
    for o in &cx.ops {
        if let Op::Backend(a) = o.op {
            let line = cx.loaded.tree.find(&o.path).line;
            record(a, format!("at line {line}"));
        }
    }
    out
}
