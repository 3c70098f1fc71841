//! The operations secrets, keys and certificates share: get (latest or by version), list, list
//! versions, update attributes, delete, deleted get/list, recover and purge, with nextLink paging.
//! Each kind supplies its store and its JSON shapes through [`ObjectKind`].

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::error::KvError;
use super::http::{Ctx, OpResult, Outcome};
use super::route::{Action, Route};
use super::state::Vault;
use super::store::{
    Attributes, AttributesInput, Deleted, RECOVERABLE_DAYS, RECOVERY_LEVEL, Store, Version,
};
use super::{Kind, certificates, keys, secrets};

/// Largest page Key Vault serves, and its default.
pub const MAX_PAGE: usize = 25;

pub(crate) trait ObjectKind {
    type Data;
    const KIND: Kind;
    fn store(vault: &Vault) -> &Store<Self::Data>;
    fn store_mut(vault: &mut Vault) -> &mut Store<Self::Data>;
    /// The full bundle of one version.
    fn bundle(base: &str, name: &str, version: &Version<Self::Data>) -> Value;
    /// The shape of one entry in a list.
    fn item(base: &str, name: &str, version: &Version<Self::Data>, with_version: bool) -> Value;
    /// Kind-specific members of a PATCH body (a secret's contentType...).
    fn patch(_data: &mut Self::Data, _input: &Value) -> Result<(), KvError> {
        Ok(())
    }
    /// What an update answers (a secret's update leaves the value out).
    fn updated(base: &str, name: &str, version: &Version<Self::Data>) -> Value {
        Self::bundle(base, name, version)
    }
}

pub fn attributes_json(a: &Attributes) -> Value {
    let mut v = json!({
        "enabled": a.enabled,
        "created": a.created,
        "updated": a.updated,
        "recoveryLevel": RECOVERY_LEVEL,
        "recoverableDays": RECOVERABLE_DAYS,
    });
    if let Some(nbf) = a.nbf {
        v["nbf"] = json!(nbf);
    }
    if let Some(exp) = a.exp {
        v["exp"] = json!(exp);
    }
    v
}

/// New attributes from a request's `attributes` member.
pub fn new_attributes(input: &Value, created: i64) -> Result<Attributes, KvError> {
    let given = parse_attributes(input)?;
    Ok(Attributes {
        enabled: given.enabled.unwrap_or(true),
        nbf: given.nbf,
        exp: given.exp,
        created,
        updated: created,
    })
}

fn parse_attributes(input: &Value) -> Result<AttributesInput, KvError> {
    match input.get("attributes") {
        None | Some(Value::Null) => Ok(AttributesInput::default()),
        Some(a) => serde_json::from_value(a.clone()).map_err(|e| {
            KvError::bad_parameter(format!("Property attributes has invalid value: {e}"))
        }),
    }
}

pub fn parse_tags(
    input: &Value,
) -> Result<Option<std::collections::BTreeMap<String, String>>, KvError> {
    match input.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(t) => serde_json::from_value(t.clone())
            .map(Some)
            .map_err(|_| KvError::bad_parameter("Property tags has invalid value")),
    }
}

fn deleted_extra(base: &str, collection: &str, name: &str, d: &Deleted<impl Sized>) -> Value {
    json!({
        "recoveryId": format!("{base}/{collection}/{name}"),
        "deletedDate": d.deleted_date,
        "scheduledPurgeDate": d.scheduled_purge_date,
    })
}

fn merge(mut into: Value, extra: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), extra) {
        a.extend(b);
    }
    into
}

/// One page of `items`, with an absolute nextLink built from the request's host and path.
fn page(ctx: &Ctx<'_>, path: &str, items: Vec<Value>) -> Result<Value, KvError> {
    let max = match ctx.query.get("maxresults") {
        None => MAX_PAGE,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(KvError::bad_parameter(format!(
                    "Invalid value for maxresults: {m}. The value must be between 1 and {MAX_PAGE}."
                )));
            }
        },
    };
    let skip = match ctx.query.get("$skiptoken") {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| KvError::bad_parameter("The $skiptoken is not valid."))?,
    };
    let end = skip.saturating_add(max).min(items.len());
    let value: Vec<Value> = items
        .get(skip..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let next = (end < items.len()).then(|| {
        let api = ctx.query.get("api-version").cloned().unwrap_or_default();
        format!(
            "{}{path}?api-version={api}&$skiptoken={end}&maxresults={max}",
            ctx.base
        )
    });
    Ok(json!({ "value": value, "nextLink": next }))
}

fn name_of(route: &Route) -> Result<&str, KvError> {
    let name = route.name.as_deref().unwrap_or_default();
    super::limits::check_name(name)?;
    Ok(name)
}

fn unsupported(route: &Route) -> KvError {
    match route.action {
        Action::Unknown => {
            return KvError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The requested URI does not name a Key Vault operation.",
            );
        }
        // ASP.NET Web API's words, which Key Vault's front end answers with.
        Action::MethodNotAllowed => {
            return KvError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!(
                    "The requested resource does not support http method '{}'.",
                    route.method
                ),
            );
        }
        _ => {}
    }
    KvError::new(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        format!(
            "The operation {} is not supported by this emulator.",
            route.op
        ),
    )
}

pub(crate) fn read(ctx: &mut Ctx<'_>, vault: &Vault, route: &Route) -> OpResult {
    match route.kind {
        Some(Kind::Secret) => read_kind::<secrets::Secrets>(ctx, vault, route),
        Some(Kind::Key) => read_kind::<keys::Keys>(ctx, vault, route),
        Some(Kind::Certificate) => match route.action {
            Action::GetPolicy | Action::GetPending => certificates::read_extra(ctx, vault, route),
            _ => read_kind::<certificates::Certificates>(ctx, vault, route),
        },
        None => Err(unsupported(route)),
    }
}

pub(crate) fn write(
    ctx: &mut Ctx<'_>,
    vault: &mut Vault,
    route: &Route,
    input: Option<Value>,
) -> OpResult {
    let input = input.unwrap_or_else(|| json!({}));
    match route.kind {
        Some(Kind::Secret) => match route.action {
            Action::Put => secrets::set(ctx, vault, name_of(route)?, &input),
            _ => write_kind::<secrets::Secrets>(ctx, vault, route, &input),
        },
        Some(Kind::Key) => match route.action {
            Action::Put | Action::Create => {
                keys::create(ctx, vault, name_of(route)?, route.action, &input)
            }
            _ => write_kind::<keys::Keys>(ctx, vault, route, &input),
        },
        Some(Kind::Certificate) => match route.action {
            Action::Create | Action::Import => {
                certificates::create(ctx, vault, name_of(route)?, route.action, &input)
            }
            _ => {
                let outcome = write_kind::<certificates::Certificates>(ctx, vault, route, &input)?;
                // A certificate's managed key and secret follow it into and out of deletion.
                if let Some(name) = route.name.as_deref() {
                    let now = ctx.now;
                    match route.action {
                        Action::Delete => {
                            vault.secrets.delete(name, now);
                            vault.keys.delete(name, now);
                        }
                        Action::Recover => {
                            vault.secrets.recover(name);
                            vault.keys.recover(name);
                        }
                        Action::Purge => {
                            vault.secrets.purge(name);
                            vault.keys.purge(name);
                        }
                        _ => {}
                    }
                }
                Ok(outcome)
            }
        },
        None => Err(unsupported(route)),
    }
}

fn read_kind<K: ObjectKind>(ctx: &mut Ctx<'_>, vault: &Vault, route: &Route) -> OpResult {
    let store = K::store(vault);
    let collection = K::KIND.collection();
    match route.action {
        Action::List => {
            let items = store
                .items
                .values()
                .filter_map(|i| i.latest().map(|v| K::item(&ctx.base, &i.name, v, false)))
                .collect();
            Ok(Outcome::read(page(ctx, &format!("/{collection}"), items)?))
        }
        Action::ListVersions => {
            let name = name_of(route)?;
            let item = store
                .get(name)
                .ok_or_else(|| KvError::not_found(K::KIND, name))?;
            let items = item
                .versions
                .iter()
                .map(|v| K::item(&ctx.base, &item.name, v, true))
                .collect();
            Ok(Outcome::read(page(
                ctx,
                &format!("/{collection}/{}/versions", item.name),
                items,
            )?))
        }
        Action::Get => {
            let name = name_of(route)?;
            let item = store
                .get(name)
                .ok_or_else(|| KvError::not_found(K::KIND, name))?;
            let wanted = route.version.as_deref().unwrap_or_default();
            let version = if wanted.is_empty()
                || (wanted.eq_ignore_ascii_case("latest") && item.version(wanted).is_none())
            {
                item.latest()
            } else {
                item.version(wanted)
            }
            .ok_or_else(|| KvError::version_not_found(K::KIND, name, wanted))?;
            if !version.attributes.enabled {
                return Err(KvError::disabled(K::KIND, "get"));
            }
            Ok(Outcome::read(K::bundle(&ctx.base, &item.name, version)))
        }
        Action::ListDeleted => {
            let items = store
                .deleted
                .values()
                .filter_map(|d| {
                    d.item.latest().map(|v| {
                        merge(
                            K::item(&ctx.base, &d.item.name, v, false),
                            deleted_extra(&ctx.base, K::KIND.deleted_collection(), &d.item.name, d),
                        )
                    })
                })
                .collect();
            Ok(Outcome::read(page(
                ctx,
                &format!("/{}", K::KIND.deleted_collection()),
                items,
            )?))
        }
        Action::GetDeleted => {
            let name = name_of(route)?;
            let d = store
                .deleted
                .get(&super::store::key(name))
                .ok_or_else(|| KvError::deleted_not_found(K::KIND, name))?;
            let v = d
                .item
                .latest()
                .ok_or_else(|| KvError::deleted_not_found(K::KIND, name))?;
            Ok(Outcome::read(deleted_bundle::<K>(&ctx.base, d, v)))
        }
        _ => Err(unsupported(route)),
    }
}

fn deleted_bundle<K: ObjectKind>(base: &str, d: &Deleted<K::Data>, v: &Version<K::Data>) -> Value {
    let mut bundle = K::bundle(base, &d.item.name, v);
    // A deleted secret's value is not returned.
    if let Some(o) = bundle.as_object_mut() {
        o.remove("value");
    }
    merge(
        bundle,
        deleted_extra(base, K::KIND.deleted_collection(), &d.item.name, d),
    )
}

fn write_kind<K: ObjectKind>(
    ctx: &mut Ctx<'_>,
    vault: &mut Vault,
    route: &Route,
    input: &Value,
) -> OpResult {
    let name = name_of(route)?.to_owned();
    let now = ctx.now;
    let store = K::store_mut(vault);
    match route.action {
        Action::Update => {
            let attrs = parse_attributes(input)?;
            let tags = parse_tags(input)?;
            let wanted = route.version.clone().unwrap_or_default();
            let item = store
                .get_mut(&name)
                .ok_or_else(|| KvError::not_found(K::KIND, &name))?;
            let item_name = item.name.clone();
            let version = if wanted.is_empty() {
                item.versions.last_mut()
            } else {
                item.version_mut(&wanted)
            }
            .ok_or_else(|| KvError::version_not_found(K::KIND, &name, &wanted))?;
            K::patch(&mut version.data, input)?;
            if let Some(e) = attrs.enabled {
                version.attributes.enabled = e;
            }
            if attrs.nbf.is_some() {
                version.attributes.nbf = attrs.nbf;
            }
            if attrs.exp.is_some() {
                version.attributes.exp = attrs.exp;
            }
            if tags.is_some() {
                version.tags = tags;
            }
            version.attributes.updated = now.max(version.attributes.created);
            Ok(Outcome::wrote(K::updated(&ctx.base, &item_name, version)))
        }
        Action::Delete => {
            let d = store
                .delete(&name, now)
                .ok_or_else(|| KvError::not_found(K::KIND, &name))?;
            let v = d
                .item
                .latest()
                .ok_or_else(|| KvError::not_found(K::KIND, &name))?;
            Ok(Outcome::wrote(deleted_bundle::<K>(&ctx.base, d, v)))
        }
        Action::Recover => {
            let item = store
                .recover(&name)
                .ok_or_else(|| KvError::deleted_not_found(K::KIND, &name))?;
            let v = item
                .latest()
                .ok_or_else(|| KvError::deleted_not_found(K::KIND, &name))?;
            let mut bundle = K::bundle(&ctx.base, &item.name, v);
            if let Some(o) = bundle.as_object_mut() {
                o.remove("value");
            }
            Ok(Outcome::wrote(bundle))
        }
        Action::Purge => {
            if store.purge(&name) {
                Ok(Outcome::no_content())
            } else {
                Err(KvError::deleted_not_found(K::KIND, &name))
            }
        }
        _ => Err(unsupported(route)),
    }
}

/// Refuses to create under a name that is soft-deleted, as Key Vault does.
pub fn check_not_deleted<T>(store: &Store<T>, kind: Kind, name: &str) -> Result<(), KvError> {
    if store.is_deleted(name) {
        return Err(KvError::conflict_deleted(kind, name));
    }
    Ok(())
}
