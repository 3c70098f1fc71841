//! `AllowedPattern`: a small regular-expression engine for the subset people write in parameter
//! patterns (literals, `.`, classes, `\d\w\s`, anchors, groups, `|`, `* + ? {m,n}`).
//!
//! It compiles to a Thompson NFA and simulates it breadth-first, so matching is linear in the
//! value and never recurses: a hostile pattern cannot hang a handler or overflow its stack.
//! The match is a search (like `find`), so patterns anchor themselves with `^...$` as AWS's
//! examples do.

/// Patterns are at most 1024 characters; this bounds what `{m,n}` expansion may produce.
const MAX_PROGRAM: usize = 20_000;
const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

impl ClassItem {
    fn matches(&self, c: char) -> bool {
        match *self {
            Self::Range(lo, hi) => lo <= c && c <= hi,
            Self::Digit(want) => c.is_ascii_digit() == want,
            Self::Word(want) => (c.is_ascii_alphanumeric() || c == '_') == want,
            Self::Space(want) => c.is_whitespace() == want,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Class {
        items: Vec<ClassItem>,
        negated: bool,
    },
    Any,
    Start,
    End,
    Alt(Vec<Vec<Node>>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn new(source: &str) -> Self {
        Self {
            chars: source.chars().collect(),
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += usize::from(c.is_some());
        c
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn alternation(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.sequence()?];
        while self.eat('|') {
            branches.push(self.sequence()?);
        }
        Ok(Node::Alt(branches))
    }

    fn sequence(&mut self) -> Result<Vec<Node>, String> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantified(atom)?;
            seq.push(atom);
        }
        Ok(seq)
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.next().ok_or("unexpected end of pattern")?;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '(' => {
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err("groups are nested too deeply".into());
                }
                if self.eat('?') && !self.eat(':') {
                    return Err("only (?:...) groups are supported".into());
                }
                let inner = self.alternation()?;
                if !self.eat(')') {
                    return Err("unclosed group".into());
                }
                self.depth -= 1;
                inner
            }
            '[' => self.class()?,
            '\\' => self.escape(false)?,
            '*' | '+' | '?' => return Err(format!("dangling meta character '{c}'")),
            '{' if self.looks_like_counter() => return Err("dangling meta character '{'".into()),
            c => literal(c),
        })
    }

    fn looks_like_counter(&self) -> bool {
        self.peek().is_some_and(|c| c.is_ascii_digit())
    }

    fn escape(&mut self, in_class: bool) -> Result<Node, String> {
        let c = self.next().ok_or("trailing backslash")?;
        let item = match c {
            'd' => ClassItem::Digit(true),
            'D' => ClassItem::Digit(false),
            'w' => ClassItem::Word(true),
            'W' => ClassItem::Word(false),
            's' => ClassItem::Space(true),
            'S' => ClassItem::Space(false),
            'n' => return Ok(literal('\n')),
            't' => return Ok(literal('\t')),
            'r' => return Ok(literal('\r')),
            'A' if !in_class => return Ok(Node::Start),
            'z' | 'Z' if !in_class => return Ok(Node::End),
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape \\{c}")),
            c => return Ok(literal(c)),
        };
        Ok(Node::Class {
            items: vec![item],
            negated: false,
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.next().ok_or("unclosed character class")?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                match self.escape(true)? {
                    Node::Class {
                        items: mut inner, ..
                    } if matches!(inner.first(), Some(ClassItem::Range(..))) => match inner.pop() {
                        Some(ClassItem::Range(l, _)) => l,
                        _ => return Err("bad escape in class".into()),
                    },
                    Node::Class { items: inner, .. } => {
                        items.extend(inner);
                        continue;
                    }
                    _ => return Err("bad escape in class".into()),
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let hi = match self.next().ok_or("unclosed character class")? {
                    '\\' => match self.escape(true)? {
                        Node::Class { items: inner, .. } => match inner.first() {
                            Some(ClassItem::Range(h, _)) => *h,
                            _ => return Err("bad range in class".into()),
                        },
                        _ => return Err("bad range in class".into()),
                    },
                    h => h,
                };
                if hi < lo {
                    return Err(format!("illegal character range {lo}-{hi}"));
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Node::Class { items, negated })
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{')
                if self
                    .chars
                    .get(self.pos + 1)
                    .is_some_and(|c| c.is_ascii_digit()) =>
            {
                self.pos += 1;
                let min = self.number().ok_or("bad repetition count")?;
                let max = if self.eat(',') {
                    if self.peek() == Some('}') {
                        None
                    } else {
                        Some(self.number().ok_or("bad repetition count")?)
                    }
                } else {
                    Some(min)
                };
                if !self.eat('}') {
                    return Err("unclosed repetition".into());
                }
                if max.is_some_and(|m| m < min) {
                    return Err("repetition range out of order".into());
                }
                let node = Node::Repeat {
                    node: Box::new(atom),
                    min,
                    max,
                };
                // Lazy and possessive suffixes do not change whether a match exists.
                let _ = self.eat('?') || self.eat('+');
                return Ok(node);
            }
            _ => return Ok(atom),
        };
        self.pos += 1;
        if matches!(atom, Node::Start | Node::End) {
            return Err("nothing to repeat".into());
        }
        let _ = self.eat('?') || self.eat('+');
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }
}

fn literal(c: char) -> Node {
    Node::Class {
        items: vec![ClassItem::Range(c, c)],
        negated: false,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Inst {
    Class {
        items: Vec<ClassItem>,
        negated: bool,
    },
    Any,
    Start,
    End,
    Split(usize, usize),
    Jump(usize),
    Match,
}

/// A compiled `AllowedPattern`.
#[derive(Debug, Clone)]
pub struct Pattern {
    program: Vec<Inst>,
}

impl Pattern {
    /// Compiles `source`; the error says what AWS would call an invalid pattern.
    pub fn new(source: &str) -> Result<Self, String> {
        let mut parser = Parser::new(source);
        let root = parser.alternation()?;
        if parser.pos != parser.chars.len() {
            return Err("unmatched closing ')'".into());
        }
        let mut program = Vec::new();
        emit(&root, &mut program)?;
        program.push(Inst::Match);
        Ok(Self { program })
    }

    /// Whether some part of `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        let chars: Vec<char> = value.chars().collect();
        let mut current: Vec<usize> = Vec::new();
        let mut seen = vec![usize::MAX; self.program.len()];
        for i in 0..=chars.len() {
            // Starting a thread at every position makes this a search rather than a full match.
            if self.closure(0, i, chars.len(), &mut current, &mut seen) {
                return true;
            }
            let Some(&c) = chars.get(i) else { break };
            let mut next = Vec::new();
            let step = i + 1;
            for &pc in &current {
                let advances = match &self.program[pc] {
                    Inst::Class { items, negated } => {
                        items.iter().any(|it| it.matches(c)) != *negated
                    }
                    Inst::Any => c != '\n',
                    _ => false,
                };
                if advances && self.closure(pc + 1, step, chars.len(), &mut next, &mut seen) {
                    return true;
                }
            }
            current = next;
        }
        false
    }

    /// Adds `pc` and everything reachable from it without consuming input to `list`; true when
    /// that reaches `Match`. `seen` (stamped with the position) stops epsilon loops.
    fn closure(
        &self,
        pc: usize,
        pos: usize,
        len: usize,
        list: &mut Vec<usize>,
        seen: &mut [usize],
    ) -> bool {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if seen[pc] == pos {
                continue;
            }
            seen[pc] = pos;
            match self.program[pc] {
                Inst::Match => return true,
                Inst::Jump(to) => stack.push(to),
                Inst::Split(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Inst::Start if pos == 0 => stack.push(pc + 1),
                Inst::End if pos == len => stack.push(pc + 1),
                Inst::Start | Inst::End => {}
                Inst::Class { .. } | Inst::Any => list.push(pc),
            }
        }
        false
    }
}

fn emit(node: &Node, out: &mut Vec<Inst>) -> Result<(), String> {
    if out.len() > MAX_PROGRAM {
        return Err("pattern is too large".into());
    }
    match node {
        Node::Class { items, negated } => out.push(Inst::Class {
            items: items.clone(),
            negated: *negated,
        }),
        Node::Any => out.push(Inst::Any),
        Node::Start => out.push(Inst::Start),
        Node::End => out.push(Inst::End),
        Node::Alt(branches) => {
            let mut jumps = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                let last = i + 1 == branches.len();
                let split = out.len();
                if !last {
                    out.push(Inst::Split(split + 1, 0));
                }
                for n in branch {
                    emit(n, out)?;
                }
                if !last {
                    jumps.push(out.len());
                    out.push(Inst::Jump(0));
                    let here = out.len();
                    out[split] = Inst::Split(split + 1, here);
                }
            }
            let end = out.len();
            for j in jumps {
                out[j] = Inst::Jump(end);
            }
        }
        Node::Repeat { node, min, max } => {
            for _ in 0..*min {
                emit(node, out)?;
            }
            match max {
                None => {
                    let split = out.len();
                    out.push(Inst::Split(split + 1, 0));
                    emit(node, out)?;
                    out.push(Inst::Jump(split));
                    let end = out.len();
                    out[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(out.len());
                        out.push(Inst::Split(0, 0));
                        emit(node, out)?;
                        if out.len() > MAX_PROGRAM {
                            return Err("pattern is too large".into());
                        }
                    }
                    let end = out.len();
                    for s in splits {
                        out[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    fn m(p: &str, v: &str) -> bool {
        Pattern::new(p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .is_match(v)
    }

    #[test]
    fn anchored_digits() {
        assert!(m(r"^\d+$", "12345"));
        assert!(!m(r"^\d+$", "12a45"));
        assert!(!m(r"^\d+$", ""));
    }

    #[test]
    fn unanchored_patterns_search() {
        assert!(m(r"\d", "abc1"));
        assert!(!m(r"\d", "abc"));
        assert!(m("", "anything"));
    }

    #[test]
    fn classes_groups_alternation_and_counts() {
        assert!(m(r"^[a-zA-Z0-9_.-]{3,5}$", "a.b-"));
        assert!(!m(r"^[a-zA-Z0-9_.-]{3,5}$", "ab"));
        assert!(!m(r"^[a-zA-Z0-9_.-]{3,5}$", "abcdef"));
        assert!(m(r"^(dev|prod)-(?:\w+)$", "prod-api_1"));
        assert!(!m(r"^(dev|prod)-(?:\w+)$", "test-api"));
        assert!(m(r"^[^,]+$", "no commas"));
        assert!(!m(r"^[^,]+$", "a,b"));
        assert!(m(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$", "ami-0123abcd"));
        assert!(m(r"^a{2}b*c?$", "aabbb"));
        assert!(m(r"^https?://\S+$", "http://x.example/p"));
        assert!(m(r"^[\d\-]+$", "12-34"));
    }

    #[test]
    fn pathological_patterns_stay_linear() {
        let value = format!("{}!", "a".repeat(8000));
        assert!(!m(r"^(a+)+$", &value));
        assert!(!m(r"^(a|a)*$", &value));
        assert!(m(r"(x*)*", &value));
    }

    #[test]
    fn invalid_patterns_are_refused() {
        for p in [
            "(", "a)", "[a-", "*a", "a{2,1}", r"\q", "[z-a]", "(?=x)", "^*",
        ] {
            assert!(Pattern::new(p).is_err(), "{p}");
        }
        assert!(
            Pattern::new("(a{1000}){1000}").is_err(),
            "expansion is bounded"
        );
    }
}
