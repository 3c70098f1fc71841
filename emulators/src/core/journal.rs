//! The request journal: what each service was asked, by whom, and how it answered.
//! Scenarios assert on it, so it is ordered, and bounded both in entries and in bytes: a long
//! benchmark must not grow memory, and neither must a client sending megabyte-long names (each
//! field an entry keeps is cut to [`MAX_FIELD_BYTES`], and old entries go once the whole passes
//! [`DEFAULT_BYTES`]).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use super::tenant::RequestTenant;

pub const DEFAULT_CAPACITY: usize = 10_000;
/// What the entries may hold together (approximately: the bytes of their strings plus a fixed
/// overhead each).
pub const DEFAULT_BYTES: usize = 16 * 1024 * 1024;
/// The longest string an entry keeps; longer ones are cut at a character boundary and end in
/// [`CUT_MARK`]. Real identifiers (ARNs, names, paths) fit.
pub const MAX_FIELD_BYTES: usize = 2048;
/// Fields an entry keeps under `keys`.
pub const MAX_KEYS: usize = 16;
pub const CUT_MARK: &str = "…";
/// What an entry costs besides its strings (the struct, the map nodes, the allocator's share).
const ENTRY_OVERHEAD: usize = 256;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub seq: u64,
    pub time: String,
    pub service: String,
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The tenant (`aws/111122223333`, `vault/team-a`...) when it is not the service's default,
    /// so a single user's entries read as they did before tenants existed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tenant: Option<String>,
    /// The tenant whatever it is, default or not: what tenant-scoped queries select on.
    #[serde(skip)]
    pub scope: Option<String>,
    /// The fields that say what was touched (secret id, parameter names, role...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub keys: BTreeMap<String, String>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_micros: u64,
}

/// What a handler knows about a request before it is journaled.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub service: &'static str,
    pub operation: String,
    pub region: Option<String>,
    pub identity: Option<String>,
    /// The tenant the request was served in, once the service knows it.
    pub tenant: Option<RequestTenant>,
    pub keys: BTreeMap<String, String>,
}

impl Record {
    pub fn new(service: &'static str, operation: impl Into<String>) -> Self {
        Self {
            service,
            operation: operation.into(),
            ..Self::default()
        }
    }

    pub fn key(&mut self, name: &str, value: impl Into<String>) {
        self.keys.insert(name.to_owned(), value.into());
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Query {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Only entries with a sequence number greater than this.
    pub since: Option<u64>,
    /// Only entries of this tenant (`<service>/<name>`, the default tenant included).
    pub tenant: Option<String>,
}

#[derive(Debug)]
struct Inner {
    next_seq: u64,
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

/// `s` cut to at most [`MAX_FIELD_BYTES`] (plus the mark), at a character boundary.
fn bounded(mut s: String) -> String {
    if s.len() > MAX_FIELD_BYTES {
        let mut end = MAX_FIELD_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(CUT_MARK);
        s.shrink_to_fit();
    }
    s
}

impl Entry {
    fn cost(&self) -> usize {
        ENTRY_OVERHEAD
            + self.time.len()
            + self.service.len()
            + self.operation.len()
            + self.region.as_ref().map_or(0, String::len)
            + self.identity.as_ref().map_or(0, String::len)
            + self.tenant.as_ref().map_or(0, String::len)
            + self.scope.as_ref().map_or(0, String::len)
            + self.error.as_ref().map_or(0, String::len)
            + self
                .keys
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

impl Journal {
    /// A journal of at most `capacity` entries and about `max_bytes` bytes.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            max_bytes,
            inner: Mutex::new(Inner {
                next_seq: 1,
                entries: VecDeque::new(),
                bytes: 0,
            }),
        }
    }

    pub fn push(
        &self,
        record: Record,
        time: String,
        status: u16,
        error: Option<String>,
        latency_micros: u64,
    ) {
        let entry = Entry {
            seq: 0,
            time: bounded(time),
            service: record.service.to_owned(),
            operation: bounded(record.operation),
            region: record.region.map(bounded),
            identity: record.identity.map(bounded),
            tenant: record
                .tenant
                .as_ref()
                .filter(|t| !t.default)
                .map(|t| bounded(t.id.clone())),
            scope: record.tenant.map(|t| bounded(t.id)),
            keys: record
                .keys
                .into_iter()
                .take(MAX_KEYS)
                .map(|(k, v)| (bounded(k), bounded(v)))
                .collect(),
            status,
            error: error.map(bounded),
            latency_micros,
        };
        let cost = entry.cost();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let seq = inner.next_seq;
        inner.next_seq += 1;
        while inner.entries.len() >= self.capacity
            || (!inner.entries.is_empty() && inner.bytes + cost > self.max_bytes)
        {
            let Some((_, freed)) = inner.entries.pop_front() else {
                break;
            };
            inner.bytes -= freed;
        }
        inner.bytes += cost;
        inner.entries.push_back((Entry { seq, ..entry }, cost));
    }

    /// What the entries hold together, as [`Journal::new`]'s `max_bytes` counts it.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    pub fn query(&self, q: &Query) -> Vec<Entry> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .entries
            .iter()
            .map(|(e, _)| e)
            .filter(|e| q.since.is_none_or(|s| e.seq > s))
            .filter(|e| q.service.as_deref().is_none_or(|s| e.service == s))
            .filter(|e| q.operation.as_deref().is_none_or(|o| e.operation == o))
            .filter(|e| {
                q.tenant
                    .as_deref()
                    .is_none_or(|t| e.scope.as_deref() == Some(t))
            })
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.entries.clear();
        inner.bytes = 0;
    }

    /// Forgets the entries of one tenant (`<service>/<name>`), keeping everyone else's.
    pub fn clear_tenant(&self, tenant: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut freed = 0;
        inner.entries.retain(|(e, cost)| {
            let theirs = e.scope.as_deref() == Some(tenant);
            if theirs {
                freed += cost;
            }
            !theirs
        });
        inner.bytes -= freed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(j: &Journal, service: &'static str, op: &str) {
        j.push(Record::new(service, op), "t".into(), 200, None, 1);
    }

    #[test]
    fn keeps_the_newest_entries_up_to_capacity() {
        let j = Journal::new(2, DEFAULT_BYTES);
        push(&j, "aws", "A");
        push(&j, "aws", "B");
        push(&j, "aws", "C");
        let all = j.query(&Query::default());
        assert_eq!(
            all.iter().map(|e| e.operation.as_str()).collect::<Vec<_>>(),
            ["B", "C"]
        );
        assert_eq!(all[1].seq, 3);
    }

    #[test]
    fn filters_by_service_operation_and_sequence() {
        let j = Journal::new(10, DEFAULT_BYTES);
        push(&j, "aws", "GetSecretValue");
        push(&j, "vault", "read");
        push(&j, "aws", "GetSecretValue");
        let q = Query {
            service: Some("aws".into()),
            operation: Some("GetSecretValue".into()),
            since: Some(1),
            tenant: None,
        };
        let hits = j.query(&q);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].seq, 3);
        j.clear();
        assert!(j.query(&Query::default()).is_empty());
    }

    #[test]
    fn a_megabyte_key_is_cut_and_the_journal_stays_within_its_bytes() {
        let j = Journal::new(10_000, 64 * 1024);
        for _ in 0..1_000 {
            let mut r = Record::new("aws", "x".repeat(1_000_000));
            r.key("secretId", "s".repeat(1_000_000));
            j.push(r, "t".into(), 400, Some("e".repeat(100_000)), 1);
        }
        assert!(j.bytes() <= 64 * 1024, "{} bytes kept", j.bytes());
        let kept = j.query(&Query::default());
        assert!(!kept.is_empty());
        let last = kept.last().expect("an entry");
        assert_eq!(last.seq, 1_000, "sequence numbers go on counting");
        assert_eq!(
            last.keys["secretId"].len(),
            MAX_FIELD_BYTES + CUT_MARK.len()
        );
        assert!(last.keys["secretId"].ends_with(CUT_MARK));
        assert!(last.operation.len() <= MAX_FIELD_BYTES + CUT_MARK.len());
    }

    #[test]
    fn cutting_respects_character_boundaries() {
        let cut = bounded("é".repeat(MAX_FIELD_BYTES));
        assert!(cut.len() <= MAX_FIELD_BYTES + CUT_MARK.len());
        assert!(cut.ends_with(CUT_MARK));
        let j = Journal::new(10, DEFAULT_BYTES);
        let mut r = Record::new("vault", "read");
        for i in 0..100 {
            r.key(&format!("k{i:03}"), "v");
        }
        j.push(r, "t".into(), 200, None, 1);
        assert_eq!(j.query(&Query::default())[0].keys.len(), MAX_KEYS);
    }

    #[test]
    fn tenants_are_shown_unless_default_and_scope_queries_and_clearing() {
        let j = Journal::new(10, DEFAULT_BYTES);
        for (name, default) in [("123456789012", true), ("111122223333", false)] {
            let mut r = Record::new("secretsmanager", "GetSecretValue");
            r.tenant = Some(RequestTenant::new("aws", name, default));
            j.push(r, "t".into(), 200, None, 1);
        }
        push(&j, "entra", "token");
        let all = j.query(&Query::default());
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].tenant, None, "the default tenant is not written");
        assert_eq!(all[1].tenant.as_deref(), Some("aws/111122223333"));
        let json = serde_json::to_value(&all[0]).expect("serializes");
        assert!(json.get("tenant").is_none() && json.get("scope").is_none());
        let only = |t: &str| Query {
            tenant: Some(t.into()),
            ..Query::default()
        };
        assert_eq!(j.query(&only("aws/123456789012")).len(), 1);
        assert_eq!(j.query(&only("aws/111122223333"))[0].seq, 2);
        let before = j.bytes();
        j.clear_tenant("aws/111122223333");
        assert!(j.query(&only("aws/111122223333")).is_empty());
        assert_eq!(j.query(&Query::default()).len(), 2);
        assert!(j.bytes() < before);
    }
}
