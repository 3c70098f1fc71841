//! HCL version 1 as Vault parses policies with it (hashicorp/hcl v1.0.1-vault-7, `hcl/scanner`
//! and `hcl/parser`): the same grammar, the same token positions and the same error texts
//! (`At 3:1: error parsing list, expected comma or list end, got: RBRACE`), so a bad policy is
//! refused in the words Vault uses. Heredocs are not supported (policies do not use them).

/// A token's kind, named as HCL prints it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Eof,
    Illegal,
    Comment,
    Ident,
    Number,
    Float,
    Bool,
    String,
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    Comma,
    Period,
    Assign,
    Add,
    Sub,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Eof => "EOF",
            Kind::Illegal => "ILLEGAL",
            Kind::Comment => "COMMENT",
            Kind::Ident => "IDENT",
            Kind::Number => "NUMBER",
            Kind::Float => "FLOAT",
            Kind::Bool => "BOOL",
            Kind::String => "STRING",
            Kind::LBrack => "LBRACK",
            Kind::RBrack => "RBRACK",
            Kind::LBrace => "LBRACE",
            Kind::RBrace => "RBRACE",
            Kind::Comma => "COMMA",
            Kind::Period => "PERIOD",
            Kind::Assign => "ASSIGN",
            Kind::Add => "ADD",
            Kind::Sub => "SUB",
        }
    }
}

/// A position as HCL reports it: line and column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    pub pos: Pos,
    pub text: String,
}

impl Token {
    /// The token's value as text: a string unquoted and unescaped, anything else as written.
    pub fn value(&self) -> String {
        if self.kind != Kind::String {
            return self.text.clone();
        }
        let inner = self
            .text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(&self.text);
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => {}
            }
        }
        out
    }
}

const EOF: Option<char> = None;

/// hcl/scanner, with its position bookkeeping (a read past the end still moves the column).
struct Scanner {
    src: Vec<char>,
    at: usize,
    line: usize,
    column: usize,
    prev: (usize, usize),
    last_line_len: usize,
    error: Option<(Pos, String)>,
}

impl Scanner {
    fn new(src: &str) -> Self {
        Self {
            src: src.replace("\r\n", "\n").chars().collect(),
            at: 0,
            line: 1,
            column: 0,
            prev: (1, 0),
            last_line_len: 0,
            error: None,
        }
    }

    fn next(&mut self) -> Option<char> {
        let Some(&ch) = self.src.get(self.at) else {
            self.column += 1;
            return EOF;
        };
        self.at += 1;
        self.prev = (self.line, self.column);
        self.column += 1;
        if ch == '\n' {
            self.line += 1;
            self.last_line_len = self.column;
            self.column = 0;
        }
        if ch == '\0' {
            self.err("unexpected null character (0x00)");
            return EOF;
        }
        Some(ch)
    }

    fn unread(&mut self) {
        self.at -= 1;
        (self.line, self.column) = self.prev;
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.at).copied()
    }

    fn recent(&self) -> Pos {
        if self.column > 0 {
            Pos {
                line: self.line,
                column: self.column,
            }
        } else if self.last_line_len > 0 {
            Pos {
                line: self.line - 1,
                column: self.last_line_len,
            }
        } else {
            Pos { line: 1, column: 1 }
        }
    }

    /// Scanner errors are kept (the last one wins, as in HCL) and reported after parsing.
    fn err(&mut self, msg: &str) {
        self.error = Some((self.recent(), msg.to_owned()));
    }

    fn scan(&mut self) -> Token {
        let mut ch = self.next();
        while matches!(ch, Some(' ' | '\t' | '\n' | '\r')) {
            ch = self.next();
        }
        let start = self.at.saturating_sub(usize::from(ch.is_some()));
        let pos = if self.column > 0 {
            Pos {
                line: self.line,
                column: self.column,
            }
        } else {
            Pos {
                line: self.line - 1,
                column: self.last_line_len,
            }
        };
        let kind = match ch {
            None => Kind::Eof,
            Some(c) if is_letter(c) => {
                let mut c = self.next();
                while c.is_some_and(|c| is_letter(c) || c.is_ascii_digit() || c == '-' || c == '.')
                {
                    c = self.next();
                }
                if c.is_some() {
                    self.unread();
                }
                let text: String = self.src[start..self.at].iter().collect();
                if text == "true" || text == "false" {
                    Kind::Bool
                } else {
                    Kind::Ident
                }
            }
            Some(c) if c.is_ascii_digit() => self.number(c),
            Some('"') => {
                self.string();
                Kind::String
            }
            Some(c @ ('#' | '/')) => {
                self.comment(c);
                Kind::Comment
            }
            Some('.') => {
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    let c = self.next();
                    let c = self.digits(c);
                    self.exponent(c);
                    Kind::Float
                } else {
                    Kind::Period
                }
            }
            Some('[') => Kind::LBrack,
            Some(']') => Kind::RBrack,
            Some('{') => Kind::LBrace,
            Some('}') => Kind::RBrace,
            Some(',') => Kind::Comma,
            Some('=') => Kind::Assign,
            Some('+') => Kind::Add,
            Some('-') => {
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    let c = self.next().unwrap_or('0');
                    self.number(c)
                } else {
                    Kind::Sub
                }
            }
            Some('<') => {
                self.err("heredoc expected second '<', didn't see it");
                Kind::Illegal
            }
            Some(_) => {
                self.err("illegal char");
                Kind::Illegal
            }
        };
        let end = self.at.min(self.src.len());
        Token {
            kind,
            pos,
            text: self.src[start.min(end)..end].iter().collect(),
        }
    }

    fn digits(&mut self, mut c: Option<char>) -> Option<char> {
        while c.is_some_and(|c| c.is_ascii_digit()) {
            c = self.next();
        }
        c
    }

    fn exponent(&mut self, c: Option<char>) {
        let mut c = c;
        if matches!(c, Some('e' | 'E')) {
            c = self.next();
            if matches!(c, Some('-' | '+')) {
                c = self.next();
            }
            c = self.digits(c);
        }
        if c.is_some() {
            self.unread();
        }
    }

    fn number(&mut self, first: char) -> Kind {
        let mut c;
        if first == '0' && matches!(self.peek(), Some('x' | 'X')) {
            self.next();
            c = self.next();
            let mut found = false;
            while c.is_some_and(|c| c.is_ascii_hexdigit()) {
                c = self.next();
                found = true;
            }
            if !found {
                self.err("illegal hexadecimal number");
            }
            if c.is_some() {
                self.unread();
            }
            return Kind::Number;
        }
        let after_first = self.next();
        c = self.digits(after_first);
        match c {
            Some('.') => {
                let c = self.next();
                let c = self.digits(c);
                self.exponent(c);
                Kind::Float
            }
            Some('e' | 'E') => {
                self.exponent(c);
                Kind::Float
            }
            Some(_) => {
                self.unread();
                Kind::Number
            }
            None => Kind::Number,
        }
    }

    fn string(&mut self) {
        let mut braces = 0;
        loop {
            let ch = self.next();
            if ch.is_none() || (ch == Some('\n') && braces == 0) {
                self.err("literal not terminated");
                return;
            }
            if ch == Some('"') && braces == 0 {
                return;
            }
            if braces == 0 && ch == Some('$') && self.peek() == Some('{') {
                braces += 1;
                self.next();
            } else if braces > 0 && ch == Some('{') {
                braces += 1;
            }
            if braces > 0 && ch == Some('}') {
                braces -= 1;
            }
            if ch == Some('\\') {
                self.escape();
            }
        }
    }

    fn escape(&mut self) {
        match self.next() {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' | '"') => {}
            Some('0'..='7') => {
                for _ in 0..2 {
                    if !self.next().is_some_and(|c| ('0'..='7').contains(&c)) {
                        self.err("illegal char escape");
                    }
                }
            }
            Some(c @ ('x' | 'u' | 'U')) => {
                let n = match c {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                for _ in 0..n {
                    if !self.next().is_some_and(|c| c.is_ascii_hexdigit()) {
                        self.err("illegal char escape");
                    }
                }
            }
            _ => self.err("illegal char escape"),
        }
    }

    fn comment(&mut self, first: char) {
        if first == '#' || (first == '/' && self.peek() != Some('*')) {
            if first == '/' && self.peek() != Some('/') {
                self.err("expected '/' for comment");
                return;
            }
            let mut ch = self.next();
            while ch.is_some() && ch != Some('\n') {
                ch = self.next();
            }
            if ch.is_some() {
                self.unread();
            }
            return;
        }
        self.next();
        let mut ch = self.next();
        loop {
            if ch.is_none() {
                self.err("comment not terminated");
                return;
            }
            let prev = ch;
            ch = self.next();
            if prev == Some('*') && ch == Some('/') {
                return;
            }
        }
    }
}

fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c.is_alphabetic())
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Literal(Token),
    List(Vec<Node>),
    Object(Vec<Item>),
}

impl Node {
    /// HCL's Go type name for the node, as decoding errors print it.
    pub fn go_type(&self) -> &'static str {
        match self {
            Node::Literal(_) => "*ast.LiteralType",
            Node::List(_) => "*ast.ListType",
            Node::Object(_) => "*ast.ObjectType",
        }
    }

    /// Where the node starts.
    pub fn pos(&self) -> Pos {
        match self {
            Node::Literal(t) => t.pos,
            Node::List(items) => items.first().map(Node::pos).unwrap_or_default(),
            Node::Object(items) => items.first().map(|i| i.keys[0].pos).unwrap_or_default(),
        }
    }
}

/// One `key ... = value` or `key "label" { ... }` of an object list.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub keys: Vec<Token>,
    /// Where the `=` is; `None` for a block (HCL then reports line 0).
    pub assign: Option<Pos>,
    pub value: Node,
}

/// An error in HCL's words; parse errors carry `At L:C: `.
fn at(pos: Pos, msg: impl std::fmt::Display) -> String {
    format!("At {pos}: {msg}")
}

/// hcl/parser.
struct Parser {
    scanner: Scanner,
    tok: Token,
    buffered: bool,
}

enum ParseError {
    Eof,
    Other(String),
}

type PResult<T> = Result<T, ParseError>;

fn other(s: String) -> ParseError {
    ParseError::Other(s)
}

impl Parser {
    fn scan(&mut self) -> Token {
        if self.buffered {
            self.buffered = false;
            return self.tok.clone();
        }
        loop {
            self.tok = self.scanner.scan();
            if self.tok.kind != Kind::Comment {
                return self.tok.clone();
            }
        }
    }

    fn unscan(&mut self) {
        self.buffered = true;
    }

    fn object_list(&mut self, in_object: bool) -> PResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        loop {
            if in_object {
                let tok = self.scan();
                self.unscan();
                if tok.kind == Kind::RBrace {
                    break;
                }
            }
            let item = match self.object_item() {
                Err(ParseError::Eof) => break,
                Err(e) => return Err(e),
                Ok(item) => item,
            };
            if item.assign.is_some() {
                for key in &item.keys {
                    if seen.contains(&key.text) {
                        return Err(other(format!(
                            "The argument \"{}\" at {} was already set. Each argument can only be defined once",
                            key.text, key.pos
                        )));
                    }
                    seen.push(key.text.clone());
                }
            }
            items.push(item);
            let tok = self.scan();
            if tok.kind != Kind::Comma {
                self.unscan();
            }
        }
        Ok(items)
    }

    fn object_item(&mut self) -> PResult<Item> {
        let (keys, err) = self.object_key();
        let mut err = match err {
            Some(ParseError::Eof) if !keys.is_empty() => None,
            e => e,
        };
        if !keys.is_empty() && err.is_some() && self.tok.kind == Kind::RBrace {
            err = None;
            self.tok.kind = Kind::Eof;
        }
        if let Some(e) = err {
            return Err(e);
        }
        match self.tok.kind {
            Kind::Assign => {
                let assign = Some(self.tok.pos);
                let value = self.object()?;
                Ok(Item {
                    keys,
                    assign,
                    value,
                })
            }
            Kind::LBrace => {
                let value = self.object_type()?;
                Ok(Item {
                    keys,
                    assign: None,
                    value,
                })
            }
            _ => {
                let names: Vec<&str> = keys.iter().map(|k| k.text.as_str()).collect();
                Err(other(at(
                    self.tok.pos,
                    format!(
                        "key '{}' expected start of object ('{{') or assignment ('=')",
                        names.join(" ")
                    ),
                )))
            }
        }
    }

    fn object_key(&mut self) -> (Vec<Token>, Option<ParseError>) {
        let mut keys = Vec::new();
        loop {
            let tok = self.scan();
            match tok.kind {
                Kind::Eof => return (keys, Some(ParseError::Eof)),
                Kind::Assign => {
                    if keys.len() > 1 {
                        return (
                            Vec::new(),
                            Some(other(at(
                                tok.pos,
                                "nested object expected: LBRACE got: ASSIGN",
                            ))),
                        );
                    }
                    if keys.is_empty() {
                        return (
                            Vec::new(),
                            Some(other(at(tok.pos, "no object keys found!"))),
                        );
                    }
                    return (keys, None);
                }
                Kind::LBrace => {
                    let err = keys
                        .is_empty()
                        .then(|| other(at(tok.pos, "expected: IDENT | STRING got: LBRACE")));
                    return (keys, err);
                }
                Kind::Ident | Kind::String => keys.push(tok),
                Kind::Illegal => return (keys, Some(other(at(tok.pos, "illegal character")))),
                k => {
                    return (
                        keys,
                        Some(other(at(
                            tok.pos,
                            format!(
                                "expected: IDENT | STRING | ASSIGN | LBRACE got: {}",
                                k.name()
                            ),
                        ))),
                    );
                }
            }
        }
    }

    fn object(&mut self) -> PResult<Node> {
        let tok = self.scan();
        match tok.kind {
            Kind::Number | Kind::Float | Kind::Bool | Kind::String => Ok(Node::Literal(tok)),
            Kind::LBrace => self.object_type(),
            Kind::LBrack => self.list_type(),
            Kind::Eof => Err(ParseError::Eof),
            _ => Err(other(at(
                tok.pos,
                format!(
                    "Unknown token: {{Type:{} Pos:{{Filename: Offset:0 Line:{} Column:{}}} Text:{} JSON:false}}",
                    tok.kind.name(),
                    tok.pos.line,
                    tok.pos.column,
                    tok.text
                ),
            ))),
        }
    }

    fn object_type(&mut self) -> PResult<Node> {
        let items = self.object_list(true)?;
        let tok = self.scan();
        if tok.kind != Kind::RBrace {
            return Err(other(at(
                tok.pos,
                format!("object expected closing RBRACE got: {}", tok.kind.name()),
            )));
        }
        Ok(Node::Object(items))
    }

    fn list_type(&mut self) -> PResult<Node> {
        let mut items = Vec::new();
        let mut need_comma = false;
        loop {
            let tok = self.scan();
            if need_comma && !matches!(tok.kind, Kind::Comma | Kind::RBrack) {
                return Err(other(at(
                    tok.pos,
                    format!(
                        "error parsing list, expected comma or list end, got: {}",
                        tok.kind.name()
                    ),
                )));
            }
            match tok.kind {
                Kind::Bool | Kind::Number | Kind::Float | Kind::String => {
                    items.push(Node::Literal(tok));
                    need_comma = true;
                }
                Kind::Comma => need_comma = false,
                Kind::LBrace => {
                    let node = self.object_type().map_err(|e| match e {
                        ParseError::Other(m) => other(at(
                            tok.pos,
                            format!("error while trying to parse object within list: {m}"),
                        )),
                        ParseError::Eof => ParseError::Eof,
                    })?;
                    items.push(node);
                    need_comma = true;
                }
                Kind::LBrack => {
                    let node = self.list_type().map_err(|e| match e {
                        ParseError::Other(m) => other(at(
                            tok.pos,
                            format!("error while trying to parse list within list: {m}"),
                        )),
                        ParseError::Eof => ParseError::Eof,
                    })?;
                    items.push(node);
                }
                Kind::RBrack => return Ok(Node::List(items)),
                k => {
                    return Err(other(at(
                        tok.pos,
                        format!("unexpected token while parsing list: {}", k.name()),
                    )));
                }
            }
        }
    }
}

/// Parses HCL text into its top-level items; `Err` is HCL's message.
pub fn parse(src: &str) -> Result<Vec<Item>, String> {
    let mut p = Parser {
        scanner: Scanner::new(src),
        tok: Token {
            kind: Kind::Eof,
            pos: Pos::default(),
            text: String::new(),
        },
        buffered: false,
    };
    let result = p.object_list(false);
    if let Some((pos, msg)) = p.scanner.error.take() {
        return Err(at(pos, msg));
    }
    match result {
        Ok(items) => Ok(items),
        Err(ParseError::Eof) => Err("EOF token found".into()),
        Err(ParseError::Other(m)) => Err(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every message here is what Vault v1.21.1 answered for the same policy text.
    #[test]
    fn errors_are_hcls() {
        let e = |src: &str| parse(src).unwrap_err();
        assert_eq!(
            e("path \"secret/*\" {\n  capabilities = [\"read\"\n}"),
            "At 3:1: error parsing list, expected comma or list end, got: RBRACE"
        );
        assert_eq!(
            e("path \"secret/*\" { capabilities = [\"read\"] "),
            "At 1:44: object expected closing RBRACE got: EOF"
        );
        assert_eq!(
            e("path \"secret/* { capabilities = [\"read\"] }"),
            "At 1:43: literal not terminated"
        );
        assert_eq!(
            e("path \"a\" { capabilities = [read] }"),
            "At 1:28: unexpected token while parsing list: IDENT"
        );
        assert_eq!(e("/* x"), "At 1:5: comment not terminated");
        assert_eq!(
            e("path \"a\" { capabilities = [\"read\"] } }"),
            "At 1:38: expected: IDENT | STRING | ASSIGN | LBRACE got: RBRACE"
        );
        assert_eq!(
            e("path \"a\" = { capabilities = [\"read\"] }"),
            "At 1:10: nested object expected: LBRACE got: ASSIGN"
        );
        assert_eq!(
            e("path \"a\" { capabilities = [\"read\"] \n} junk"),
            "At 2:8: key 'junk' expected start of object ('{') or assignment ('=')"
        );
        assert_eq!(
            e("path \"a\" { capabilities = [\"read\"]\ncapabilities = [\"list\"] }"),
            "The argument \"capabilities\" at 2:1 was already set. Each argument can only be defined once"
        );
    }

    #[test]
    fn parses_blocks_lists_and_comments() {
        let items = parse(
            "# c\npath \"a/*\" {\n  capabilities = [\"read\", \"list\",] // x\n}\n/* y */ name = \"n\"",
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].keys[1].value(), "a/*");
        assert!(items[0].assign.is_none());
        let Node::Object(body) = &items[0].value else {
            panic!("{:?}", items[0].value)
        };
        assert_eq!(body[0].keys[0].text, "capabilities");
        assert_eq!(
            body[0].assign,
            Some(Pos {
                line: 3,
                column: 16
            })
        );
        assert!(matches!(&body[0].value, Node::List(l) if l.len() == 2));
        assert!(parse("").unwrap().is_empty());
        assert!(parse("path \"a\" \"b\" {}").is_ok());
    }
}
