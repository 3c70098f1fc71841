//! One vault's versioned objects (secrets, keys and certificates share the shape): items with
//! versions in creation order, plus the soft-deleted items awaiting recovery or purge.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What Key Vault reports for every object without purge protection.
pub const RECOVERY_LEVEL: &str = "Recoverable+Purgeable";
pub const RECOVERABLE_DAYS: i64 = 90;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

/// The attributes a client may send (`attributes` in a set/update body).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AttributesInput {
    pub enabled: Option<bool>,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Version<T> {
    pub id: String,
    pub attributes: Attributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    pub data: T,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Item<T> {
    /// The name as first created (lookups are case-insensitive).
    pub name: String,
    pub versions: Vec<Version<T>>,
}

impl<T> Item<T> {
    pub fn latest(&self) -> Option<&Version<T>> {
        self.versions.last()
    }

    pub fn version(&self, id: &str) -> Option<&Version<T>> {
        self.versions.iter().find(|v| v.id.eq_ignore_ascii_case(id))
    }

    pub fn version_mut(&mut self, id: &str) -> Option<&mut Version<T>> {
        self.versions
            .iter_mut()
            .find(|v| v.id.eq_ignore_ascii_case(id))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Deleted<T> {
    pub item: Item<T>,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct Store<T> {
    #[serde(default)]
    pub items: BTreeMap<String, Item<T>>,
    #[serde(default)]
    pub deleted: BTreeMap<String, Deleted<T>>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Self {
            items: BTreeMap::new(),
            deleted: BTreeMap::new(),
        }
    }
}

pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl<T> Store<T> {
    pub fn get(&self, name: &str) -> Option<&Item<T>> {
        self.items.get(&key(name))
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Item<T>> {
        self.items.get_mut(&key(name))
    }

    pub fn is_deleted(&self, name: &str) -> bool {
        self.deleted.contains_key(&key(name))
    }

    /// The `created` of a new version: now, but always after every existing version, because the
    /// Azure provider sorts versions by `created` with an unstable sort.
    pub fn next_created(&self, name: &str, now: i64) -> i64 {
        let last = self
            .get(name)
            .and_then(|i| i.versions.iter().map(|v| v.attributes.created).max());
        match last {
            Some(last) if last >= now => last + 1,
            _ => now,
        }
    }

    /// Appends a version, creating the item on first use.
    pub fn push(&mut self, name: &str, version: Version<T>) -> &Version<T> {
        let item = self.items.entry(key(name)).or_insert_with(|| Item {
            name: name.to_owned(),
            versions: Vec::new(),
        });
        item.versions.push(version);
        let last = item.versions.len() - 1;
        &item.versions[last]
    }

    /// Moves an item to the deleted set.
    pub fn delete(&mut self, name: &str, now: i64) -> Option<&Deleted<T>> {
        let k = key(name);
        let item = self.items.remove(&k)?;
        self.deleted.insert(
            k.clone(),
            Deleted {
                item,
                deleted_date: now,
                scheduled_purge_date: now + RECOVERABLE_DAYS * 86_400,
            },
        );
        self.deleted.get(&k)
    }

    pub fn recover(&mut self, name: &str) -> Option<&Item<T>> {
        let k = key(name);
        let deleted = self.deleted.remove(&k)?;
        self.items.insert(k.clone(), deleted.item);
        self.items.get(&k)
    }

    pub fn purge(&mut self, name: &str) -> bool {
        self.deleted.remove(&key(name)).is_some()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    fn version(id: &str, created: i64) -> Version<()> {
        Version {
            id: id.into(),
            attributes: Attributes {
                enabled: true,
                nbf: None,
                exp: None,
                created,
                updated: created,
            },
            tags: None,
            data: (),
        }
    }

    #[test]
    fn created_is_strictly_increasing_within_one_second() {
        let mut store = Store::<()>::default();
        assert_eq!(store.next_created("a", 100), 100);
        store.push("A", version("v1", 100));
        assert_eq!(store.next_created("a", 100), 101);
        store.push("a", version("v2", 101));
        assert_eq!(store.get("A").map(|i| i.versions.len()), Some(2));
        assert_eq!(store.get("a").map(|i| i.name.as_str()), Some("A"));
    }

    #[test]
    fn delete_recover_purge() {
        let mut store = Store::<()>::default();
        store.push("s", version("v1", 1));
        assert!(store.delete("S", 10).is_some());
        assert!(store.get("s").is_none() && store.is_deleted("s"));
        assert!(store.recover("s").is_some());
        assert!(store.delete("s", 11).is_some());
        assert!(store.purge("s"));
        assert!(!store.purge("s"));
    }
}
