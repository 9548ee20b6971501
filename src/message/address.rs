//! RFC 5322 address lists (§3.4, §4.4 obsolete forms) as the IMAP ENVELOPE
//! needs them (RFC 3501 §7.4.2): each address is (name, adl, mailbox, host);
//! a group is a start marker (NIL NIL "name" NIL), its members, and an end
//! marker (NIL NIL NIL NIL).
//!
//! The parser is tolerant: it never fails and never panics; junk yields
//! best-effort addresses (a word with no `@` becomes a mailbox with no host).
//! Comments are dropped, except that the last comment of an address with no
//! display name becomes its name (`a@b (Alice)`), as Dovecot does. Encoded
//! words in names are kept undecoded (ENVELOPE carries them raw).

/// One IMAP address structure; groups use the marker forms described above.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// Display name (phrase), unquoted; for a group start, `None`.
    pub name: Option<Vec<u8>>,
    /// Obsolete source route (`@a,@b`), without the final colon.
    pub adl: Option<Vec<u8>>,
    /// Local part; for a group start, the group name; `None` for group end.
    pub mailbox: Option<Vec<u8>>,
    /// Domain; `None` only for group markers; empty when the address has
    /// no domain (an IMAP host of NIL would mean a group marker).
    pub host: Option<Vec<u8>>,
}

impl Address {
    /// True for the (NIL NIL "name" NIL) group start marker.
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some() && self.name.is_none() && self.adl.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// Atom text (dots included, so `John.Q` and `a.b` stay one token).
    Atom(Vec<u8>),
    /// Quoted string content, unescaped.
    Quoted(Vec<u8>),
    /// Domain literal including brackets.
    Literal(Vec<u8>),
    Comment(Vec<u8>),
    Special(u8),
}

const MAX_TOKENS: usize = 10_000;

fn tokenize(v: &[u8]) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut i = 0;
    while i < v.len() && toks.len() < MAX_TOKENS {
        let b = v[i];
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                while i < v.len() && v[i] != b'"' {
                    if v[i] == b'\\' && i + 1 < v.len() {
                        i += 1;
                    }
                    if v[i] != b'\r' && v[i] != b'\n' {
                        s.push(v[i]);
                    }
                    i += 1;
                }
                i += 1;
                toks.push(Tok::Quoted(s));
            }
            b'(' => {
                let mut depth = 0usize;
                let mut s = Vec::new();
                while i < v.len() {
                    match v[i] {
                        b'\\' if i + 1 < v.len() => {
                            i += 1;
                            s.push(v[i]);
                        }
                        b'(' => {
                            if depth > 0 {
                                s.push(b'(');
                            }
                            depth += 1;
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                            s.push(b')');
                        }
                        b'\r' | b'\n' => {}
                        c => s.push(c),
                    }
                    i += 1;
                }
                toks.push(Tok::Comment(s));
            }
            b'[' => {
                let start = i;
                while i < v.len() && v[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(v.len());
                toks.push(Tok::Literal(v[start..i].to_vec()));
            }
            b'<' | b'>' | b':' | b';' | b'@' | b',' | b')' | b']' | b'\\' => {
                toks.push(Tok::Special(b));
                i += 1;
            }
            _ => {
                let start = i;
                while i < v.len() && !b" \t\r\n\"(<>:;@,)[]\\".contains(&v[i]) {
                    i += 1;
                }
                toks.push(Tok::Atom(v[start..i].to_vec()));
            }
        }
    }
    toks
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    last_comment: Option<Vec<u8>>,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    /// Next non-comment token, remembering the last comment seen.
    fn skip_comments(&mut self) {
        while let Some(Tok::Comment(c)) = self.toks.get(self.pos) {
            self.last_comment = Some(c.clone());
            self.pos += 1;
        }
    }

    fn special(&mut self) -> Option<u8> {
        self.skip_comments();
        match self.peek() {
            Some(Tok::Special(s)) => Some(*s),
            _ => None,
        }
    }

    /// Words (atoms, quoted strings, stray specials that are not delimiters)
    /// up to one of `<`, `:`, `@`, `,`, `;`, `>` or the end.
    fn phrase(&mut self) -> Vec<Tok> {
        let mut words = Vec::new();
        loop {
            self.skip_comments();
            match self.peek() {
                Some(Tok::Atom(_) | Tok::Quoted(_) | Tok::Literal(_)) => {
                    words.push(self.toks[self.pos].clone());
                    self.pos += 1;
                }
                Some(Tok::Special(b')' | b']' | b'\\')) => self.pos += 1,
                _ => return words,
            }
        }
    }

    /// Domain after `@`: atoms and literals up to a delimiter.
    fn domain(&mut self) -> Vec<u8> {
        let mut d = Vec::new();
        loop {
            self.skip_comments();
            match self.peek() {
                Some(Tok::Atom(a) | Tok::Literal(a)) => {
                    d.extend_from_slice(a);
                    self.pos += 1;
                }
                _ => return d,
            }
        }
    }

    /// `[route] addr-spec` inside `<>`, consuming the closing `>`.
    fn angle_addr(&mut self, name: Option<Vec<u8>>) -> Address {
        let mut adl = Vec::new();
        // obs-route: 1*("@" domain [","]) ":"
        while self.special() == Some(b'@') {
            self.pos += 1;
            if !adl.is_empty() {
                adl.push(b',');
            }
            adl.push(b'@');
            adl.extend(self.domain());
            while self.special() == Some(b',') {
                self.pos += 1;
            }
            if self.special() == Some(b':') {
                self.pos += 1;
                break;
            }
        }
        let local = self.phrase();
        let mailbox = join_local(&local);
        let mut host = Some(Vec::new());
        if self.special() == Some(b'@') {
            self.pos += 1;
            host = Some(self.domain());
        }
        // Skip to the closing '>' (junk inside the brackets is ignored).
        while let Some(t) = self.peek() {
            if matches!(t, Tok::Special(b',' | b';')) {
                break;
            }
            let close = *t == Tok::Special(b'>');
            self.pos += 1;
            if close {
                break;
            }
        }
        Address {
            name,
            adl: if adl.is_empty() { None } else { Some(adl) },
            mailbox: Some(mailbox),
            host,
        }
    }

    /// One mailbox or group, appending to `out`. `in_group` stops at `;`.
    fn address(&mut self, out: &mut Vec<Address>, in_group: bool) {
        self.last_comment = None;
        let words = self.phrase();
        match self.special() {
            Some(b'<') => {
                self.pos += 1;
                let name = if words.is_empty() { None } else { Some(join_phrase(&words)) };
                let mut a = self.angle_addr(name);
                self.skip_comments();
                if a.name.is_none() {
                    a.name = self.last_comment.take();
                }
                out.push(a);
            }
            Some(b':') if !in_group => {
                self.pos += 1;
                out.push(Address { mailbox: Some(join_phrase(&words)), ..Address::default() });
                loop {
                    match self.special() {
                        None if self.peek().is_none() => break,
                        Some(b';') => {
                            self.pos += 1;
                            break;
                        }
                        Some(b',') => self.pos += 1,
                        _ => {
                            let before = self.pos;
                            self.address(out, true);
                            if self.pos == before {
                                self.pos += 1;
                            }
                        }
                    }
                }
                out.push(Address::default());
            }
            Some(b'@') => {
                self.pos += 1;
                let mailbox = join_local(&words);
                let host = self.domain();
                self.skip_comments();
                out.push(Address { name: self.last_comment.take(), adl: None, mailbox: Some(mailbox), host: Some(host) });
            }
            _ => {
                if !words.is_empty() {
                    self.skip_comments();
                    out.push(Address {
                        name: self.last_comment.take(),
                        adl: None,
                        mailbox: Some(join_local(&words)),
                        host: Some(Vec::new()),
                    });
                }
            }
        }
    }
}

fn word_bytes(t: &Tok) -> &[u8] {
    match t {
        Tok::Atom(a) | Tok::Quoted(a) | Tok::Literal(a) | Tok::Comment(a) => a,
        Tok::Special(_) => b"",
    }
}

fn join_phrase(words: &[Tok]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(word_bytes(w));
    }
    out
}

/// obs-local-part allows CFWS between words: they join without blanks.
fn join_local(words: &[Tok]) -> Vec<u8> {
    words.iter().flat_map(|w| word_bytes(w).iter().copied()).collect()
}

/// Parses an address-list / mailbox-list header value (raw, possibly
/// folded). Never fails; an empty or all-junk value gives an empty list.
pub fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let mut p = Parser { toks: tokenize(value), pos: 0, last_comment: None };
    let mut out = Vec::new();
    while p.pos < p.toks.len() {
        let before = p.pos;
        match p.special() {
            Some(b',' | b';' | b'>' | b'<' | b':' | b'@') if p.pos == before || p.peek().is_some() => {
                // A delimiter where an address should start: '<' and '@'
                // still start something useful, the rest are skipped.
                match p.special() {
                    Some(b'<' | b'@') => p.address(&mut out, false),
                    _ => p.pos += 1,
                }
            }
            _ => p.address(&mut out, false),
        }
        if p.pos == before {
            p.pos += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, adl: Option<&str>, mailbox: Option<&str>, host: Option<&str>) -> Address {
        let f = |s: Option<&str>| s.map(|s| s.as_bytes().to_vec());
        Address { name: f(name), adl: f(adl), mailbox: f(mailbox), host: f(host) }
    }

    #[test]
    fn address_table() {
        let cases: Vec<(&str, Vec<Address>)> = vec![
            ("", vec![]),
            ("a@b.example", vec![a(None, None, Some("a"), Some("b.example"))]),
            ("Alice <alice@example.org>", vec![a(Some("Alice"), None, Some("alice"), Some("example.org"))]),
            ("\"Doe, John\" <jd@x.y>", vec![a(Some("Doe, John"), None, Some("jd"), Some("x.y"))]),
            ("John Q. Public <jqp@x>, b@c", vec![
                a(Some("John Q. Public"), None, Some("jqp"), Some("x")),
                a(None, None, Some("b"), Some("c")),
            ]),
            ("a@b (Alice Smith)", vec![a(Some("Alice Smith"), None, Some("a"), Some("b"))]),
            ("<@r1,@r2:x@y>", vec![a(None, Some("@r1,@r2"), Some("x"), Some("y"))]),
            ("undisclosed-recipients:;", vec![
                a(None, None, Some("undisclosed-recipients"), None),
                a(None, None, None, None),
            ]),
            ("Team: a@b, C <c@d>; e@f", vec![
                a(None, None, Some("Team"), None),
                a(None, None, Some("a"), Some("b")),
                a(Some("C"), None, Some("c"), Some("d")),
                a(None, None, None, None),
                a(None, None, Some("e"), Some("f")),
            ]),
            ("\"quoted local\"@x", vec![a(None, None, Some("quoted local"), Some("x"))]),
            ("user", vec![a(None, None, Some("user"), Some(""))]),
            ("<>", vec![a(None, None, Some(""), Some(""))]),
            ("=?utf-8?q?J=C3=B6rg?= <j@x>", vec![a(Some("=?utf-8?q?J=C3=B6rg?="), None, Some("j"), Some("x"))]),
            ("a@[127.0.0.1]", vec![a(None, None, Some("a"), Some("[127.0.0.1]"))]),
            ("a @ b . c", vec![a(None, None, Some("a"), Some("b.c"))]),
            (",,a@b,,", vec![a(None, None, Some("a"), Some("b"))]),
            ("Folded\r\n <f@x>", vec![a(Some("Folded"), None, Some("f"), Some("x"))]),
        ];
        for (input, want) in cases {
            assert_eq!(parse_address_list(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let junk: &[&[u8]] = &[b"<<<>>>", b"@@@", b"\"unterminated", b"(((", b")))", b":;:;", b"a:b:c;;", b"<@", b"\\", b"[", b"g: <a@b"];
        for j in junk {
            let _ = parse_address_list(j);
        }
        let s = b"Team: \"A\" <a@b>, (c) x@y; <@r:z@w>";
        for n in 0..=s.len() {
            let _ = parse_address_list(&s[..n]);
        }
    }
}
