//! The request journal: what each service was asked, by whom, and how it answered.
//! Scenarios assert on it, so it is bounded (a long benchmark must not grow memory) and ordered.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

pub const DEFAULT_CAPACITY: usize = 10_000;

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
}

#[derive(Debug)]
struct Inner {
    next_seq: u64,
    entries: VecDeque<Entry>,
}

#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                next_seq: 1,
                entries: VecDeque::new(),
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
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let seq = inner.next_seq;
        inner.next_seq += 1;
        if inner.entries.len() == self.capacity {
            inner.entries.pop_front();
        }
        inner.entries.push_back(Entry {
            seq,
            time,
            service: record.service.to_owned(),
            operation: record.operation,
            region: record.region,
            identity: record.identity,
            keys: record.keys,
            status,
            error,
            latency_micros,
        });
    }

    pub fn query(&self, q: &Query) -> Vec<Entry> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .entries
            .iter()
            .filter(|e| q.since.is_none_or(|s| e.seq > s))
            .filter(|e| q.service.as_deref().is_none_or(|s| e.service == s))
            .filter(|e| q.operation.as_deref().is_none_or(|o| e.operation == o))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entries
            .clear();
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
        let j = Journal::new(2);
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
        let j = Journal::new(10);
        push(&j, "aws", "GetSecretValue");
        push(&j, "vault", "read");
        push(&j, "aws", "GetSecretValue");
        let q = Query {
            service: Some("aws".into()),
            operation: Some("GetSecretValue".into()),
            since: Some(1),
        };
        let hits = j.query(&q);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].seq, 3);
        j.clear();
        assert!(j.query(&Query::default()).is_empty());
    }
}
