//! YAML as a tree of nodes that know where they are in the source, built from serde-saphyr's
//! `Spanned` (the parser's own spans). Lint walks the typed model for meaning and this tree for
//! places: `tree.find(&path)` answers "where is `spec.steps[3].try[0].wait.kind`?", so a finding
//! points at the node it is about, never at the first text that looks like it.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A place in a source text: 1-based line and column, and the byte range for the snippet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
    pub offset: usize,
    pub len: usize,
}

impl Pos {
    fn of(loc: &serde_saphyr::Location) -> Pos {
        let span = loc.span();
        Pos {
            line: loc.line(),
            column: loc.column(),
            offset: span.byte_offset().unwrap_or_default() as usize,
            len: span.byte_len().unwrap_or_default() as usize,
        }
    }

    /// Where a parse error happened (serde-saphyr's location), with a one-character span.
    pub fn from_location(loc: &serde_saphyr::Location, source: &str) -> Pos {
        let mut pos = Pos::of(loc);
        if loc.span().byte_offset().is_none() {
            pos.offset = offset_of(source, pos.line, pos.column);
        }
        pos.len = pos.len.max(1);
        pos
    }

    /// The position of line `line`, column `column` (both 1-based) in `source`.
    pub fn at(source: &str, line: u64, column: u64, len: usize) -> Pos {
        Pos {
            line,
            column,
            offset: offset_of(source, line, column),
            len,
        }
    }
}

/// Byte offset of a 1-based line and (character) column.
fn offset_of(source: &str, line: u64, column: u64) -> usize {
    let mut offset = 0;
    for (i, text) in source.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            let col = text
                .char_indices()
                .nth(column.saturating_sub(1) as usize)
                .map_or(text.len(), |(b, _)| b);
            return (offset + col).min(source.len());
        }
        offset += text.len();
    }
    source.len()
}

/// One YAML node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Any scalar, as text (`true`, `3`, `hello`).
    Scalar(String),
    Seq(Vec<Node>),
    /// Keys in source order, each with its own position.
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

/// One step of a path into a tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path into a YAML document, like `spec.steps[3].try[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YamlPath(pub Vec<Seg>);

impl YamlPath {
    pub fn root() -> Self {
        Self::default()
    }

    /// This path with one more key.
    pub fn key(&self, k: impl Into<String>) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.into()));
        p
    }

    /// This path with one more index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    /// This path without its last step.
    pub fn parent(&self) -> Self {
        let mut p = self.clone();
        p.0.pop();
        p
    }

    /// Parses `a.b[2].c` (keys may not contain '.', '[' or ']').
    pub fn parse(s: &str) -> Self {
        let mut out = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
            if !name.is_empty() {
                out.push(Seg::Key(name.to_owned()));
            }
            while let Some((i, tail)) = rest.split_once(']') {
                if let Ok(i) = i.parse() {
                    out.push(Seg::Index(i));
                }
                rest = tail.strip_prefix('[').unwrap_or(tail);
            }
        }
        Self(out)
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if first => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

impl Node {
    /// Parses one YAML document.
    pub fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
        serde_saphyr::from_str::<Spanned<Node>>(text).map(from_spanned)
    }

    /// Parses every document of a multi-document text (empty documents are `Null`).
    pub fn parse_all(text: &str) -> Result<Vec<Node>, serde_saphyr::Error> {
        serde_saphyr::from_str_multiple::<Spanned<Node>, Vec<_>>(text)
            .map(|docs| docs.into_iter().map(from_spanned).collect())
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value of `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub fn item(&self, i: usize) -> Option<&Node> {
        match &self.value {
            Value::Seq(items) => items.get(i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        let entries: &[(Key, Node)] = match &self.value {
            Value::Map(e) => e,
            _ => &[],
        };
        entries.iter().map(|(k, _)| k)
    }

    /// The node at `path`, if the whole path exists.
    pub fn at(&self, path: &YamlPath) -> Option<&Node> {
        let mut node = self;
        for seg in &path.0 {
            node = match seg {
                Seg::Key(k) => node.get(k)?,
                Seg::Index(i) => node.item(*i)?,
            };
        }
        Some(node)
    }

    /// Where `path` is: the value at its end (a scalar, or the key naming a mapping or a list,
    /// which reads better than a whole block), else the deepest part of it that exists.
    pub fn find(&self, path: &YamlPath) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for seg in &path.0 {
            match seg {
                Seg::Key(k) => match node.entry(k) {
                    Some((key, value)) => {
                        pos = match value.value {
                            Value::Scalar(_) => value.pos,
                            _ => key.pos,
                        };
                        node = value;
                    }
                    None => return pos,
                },
                Seg::Index(i) => match node.item(*i) {
                    Some(item) => {
                        pos = match &item.value {
                            // A list item that is a mapping: its first key.
                            Value::Map(entries) => entries.first().map_or(item.pos, |(k, _)| k.pos),
                            _ => item.pos,
                        };
                        node = item;
                    }
                    None => return pos,
                },
            }
        }
        pos
    }

    /// Where the key at the end of `path` is (for "this key is wrong" findings).
    pub fn find_key(&self, path: &YamlPath) -> Pos {
        match path.0.split_last() {
            Some((Seg::Key(k), parent)) => {
                match self.at(&YamlPath(parent.to_vec())).and_then(|n| n.entry(k)) {
                    Some((key, _)) => key.pos,
                    None => self.find(path),
                }
            }
            _ => self.find(path),
        }
    }

    /// Every mapping key in the tree, with the path it names.
    pub fn keys_with_paths(&self) -> Vec<(YamlPath, &Key)> {
        let mut out = Vec::new();
        let mut stack = vec![(YamlPath::root(), self)];
        while let Some((here, node)) = stack.pop() {
            match &node.value {
                Value::Map(entries) => {
                    for (k, v) in entries {
                        let p = here.key(k.name.clone());
                        out.push((p.clone(), k));
                        stack.push((p, v));
                    }
                }
                Value::Seq(items) => {
                    for (i, n) in items.iter().enumerate() {
                        stack.push((here.index(i), n));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Every scalar in the tree, with its path.
    pub fn scalars(&self) -> Vec<(YamlPath, &Node)> {
        let mut out = Vec::new();
        self.walk(&YamlPath::root(), &mut out);
        out
    }

    fn walk<'a>(&'a self, here: &YamlPath, out: &mut Vec<(YamlPath, &'a Node)>) {
        match &self.value {
            Value::Scalar(_) => out.push((here.clone(), self)),
            Value::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    n.walk(&here.index(i), out);
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    v.walk(&here.key(k.name.clone()), out);
                }
            }
            Value::Null => {}
        }
    }
}

fn from_spanned(s: Spanned<Node>) -> Node {
    let mut node = s.value;
    node.pos = Pos::of(&s.referenced);
    node
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

fn scalar(s: String) -> Node {
    Node {
        pos: Pos::default(),
        value: Value::Scalar(s),
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(scalar(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(scalar(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(scalar(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(scalar(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(scalar(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(scalar(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(scalar(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(scalar(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(scalar(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node {
            pos: Pos::default(),
            value: Value::Null,
        })
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node {
            pos: Pos::default(),
            value: Value::Null,
        })
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element::<Spanned<Node>>()? {
            items.push(from_spanned(item));
        }
        Ok(Node {
            pos: Pos::default(),
            value: Value::Seq(items),
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = a.next_key::<Spanned<KeyText>>()? {
            let value = a.next_value::<Spanned<Node>>()?;
            entries.push((
                Key {
                    name: key.value.0,
                    pos: Pos::of(&key.referenced),
                },
                from_spanned(value),
            ));
        }
        Ok(Node {
            pos: Pos::default(),
            value: Value::Map(entries),
        })
    }
}

/// A mapping key as written (`y:` is the key "y", not a boolean).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(KeyText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "a: 1\nlist:\n  - x: hello\n    y: [1, 2]\n  - plain\n";

    #[test]
    fn nodes_carry_their_positions() {
        let tree = Node::parse(TEXT).unwrap();
        let hello = tree.at(&YamlPath::parse("list[0].x")).unwrap();
        assert_eq!(hello.as_str(), Some("hello"));
        assert_eq!((hello.pos.line, hello.pos.column), (3, 8));
        assert_eq!(
            &TEXT[hello.pos.offset..hello.pos.offset + hello.pos.len],
            "hello"
        );
        let p = tree.find(&YamlPath::parse("list[0].y[1]"));
        assert_eq!((p.line, p.column), (4, 12));
        // A missing tail stops at the deepest part that exists.
        let p = tree.find(&YamlPath::parse("list[0].nope.deeper"));
        assert_eq!((p.line, p.column), (3, 5));
        let p = tree.find_key(&YamlPath::parse("list[0].y"));
        assert_eq!((p.line, p.column), (4, 5));
        assert_eq!(YamlPath::parse("list[0].y[1]").to_string(), "list[0].y[1]");
    }

    #[test]
    fn every_document_of_a_stream() {
        let docs = Node::parse_all("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].find(&YamlPath::parse("b")).line, 3);
    }

    #[test]
    fn offsets_of_lines_and_columns() {
        assert_eq!(offset_of("ab\ncd\n", 2, 2), 4);
        assert_eq!(offset_of("ab\n", 9, 1), 3);
    }
}
