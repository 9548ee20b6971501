//! The MIME part tree of a message with byte offsets (RFC 2045 §5, RFC 2046
//! §5.1 multipart boundaries, §5.2 message/rfc822 nesting), Content-Type /
//! Content-Disposition parameters with RFC 2231 continuations and charsets,
//! and IMAP section addressing (RFC 3501 §6.4.5: `BODY[1.2.HEADER]`,
//! `BODY[2.MIME]`, `BODY[1.TEXT]`, `BODY[3]`, part 1 of a non-multipart).
//!
//! Offsets index the same byte slice that was parsed, so a section is a
//! sub-slice of the message: no copying, exact bytes. Nesting is bounded by
//! [`MAX_DEPTH`] and the part count by [`MAX_PARTS`]; past a bound the rest
//! is an opaque leaf. Boundary lines must be `--boundary` followed by
//! optional `--`, blanks and the line end, so an outer boundary that is a
//! prefix of an inner one does not cut inner parts short.
//! Not here: decoding of content (see `decode`), IMAP rendering (see
//! `bodystructure`).

use std::borrow::Cow;

use memchr::memmem;

use super::header;

/// Deepest nesting of multiparts / message/rfc822 parsed.
pub const MAX_DEPTH: usize = 100;
/// Most parts parsed in one message.
pub const MAX_PARTS: usize = 10_000;

/// One parameter of a Content-Type or Content-Disposition field, after
/// RFC 2231 continuations are joined. An extended (charset-tagged) value
/// keeps its `*` on the name and its `charset'lang'%XX` form, as Dovecot
/// sends it in BODYSTRUCTURE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Attribute as written (case kept); `name*` for extended values.
    pub name: String,
    /// Value with quoting removed.
    pub value: Vec<u8>,
}

/// A parsed `type/subtype; params` field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// Lower-case media type, e.g. `text`.
    pub kind: String,
    /// Lower-case subtype, e.g. `plain`.
    pub subtype: String,
    pub params: Vec<Param>,
    /// False when the type is the RFC 2045 §5.2 / RFC 2046 §5.1.5 default.
    pub explicit: bool,
}

impl ContentType {
    fn default_text() -> ContentType {
        ContentType {
            kind: "text".into(),
            subtype: "plain".into(),
            params: vec![Param { name: "charset".into(), value: b"us-ascii".to_vec() }],
            explicit: false,
        }
    }

    fn default_message() -> ContentType {
        ContentType { kind: "message".into(), subtype: "rfc822".into(), params: Vec::new(), explicit: false }
    }

    /// True for `kind/subtype` (both lower-case).
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind == kind && self.subtype == subtype
    }

    /// A parameter's value decoded to UTF-8 (RFC 2231 extended values and
    /// RFC 2047 encoded words, which some mailers put in file names).
    pub fn param(&self, name: &str) -> Option<String> {
        param_value(&self.params, name)
    }

    /// Raw value of a parameter (case-insensitive name, no decoding).
    pub fn raw_param(&self, name: &str) -> Option<&[u8]> {
        self.params.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| &p.value[..])
    }
}

/// Decoded value of parameter `name` in `params` (see [`ContentType::param`]).
pub fn param_value(params: &[Param], name: &str) -> Option<String> {
    for p in params {
        if let Some(base) = p.name.strip_suffix('*') {
            if base.eq_ignore_ascii_case(name) {
                return Some(super::decode::decode_rfc2231_value(&p.value));
            }
        }
    }
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| super::decode::decode_header_value(&p.value))
}

/// Where a part's bytes are and what it contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Offset of the part's first header byte (for a multipart child, just
    /// after its boundary line; for the root, 0).
    pub header_start: usize,
    /// Offset of the first body byte (after the header's empty line).
    pub body_start: usize,
    /// Offset just past the body (the line end before the next boundary
    /// belongs to the boundary, RFC 2046 §5.1.1).
    pub end: usize,
    pub content_type: ContentType,
    /// Number of LF bytes in the body (IMAP body-fld-lines); counted for
    /// text/* and message/* parts only, 0 for the others.
    pub body_lines: usize,
    pub body: Body,
}

/// What a part's body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A leaf (any non-multipart, non-nested type).
    Leaf,
    /// multipart/*: the children in order (at least one).
    Multipart(Vec<Part>),
    /// message/rfc822 (or message/global) with identity encoding: the
    /// embedded message, which starts at this part's body_start.
    Message(Box<Part>),
}

impl Part {
    /// Body size in octets.
    pub fn size(&self) -> usize {
        self.end - self.body_start
    }

    /// The part's header bytes (including the empty line).
    pub fn header<'m>(&self, msg: &'m [u8]) -> &'m [u8] {
        msg.get(self.header_start..self.body_start).unwrap_or(b"")
    }

    /// The part's body bytes.
    pub fn body_bytes<'m>(&self, msg: &'m [u8]) -> &'m [u8] {
        msg.get(self.body_start..self.end).unwrap_or(b"")
    }

    /// First header field `name` of this part, raw value.
    pub fn field<'m>(&self, msg: &'m [u8], name: &str) -> Option<&'m [u8]> {
        header::find(self.header(msg), name)
    }

    /// Content-Transfer-Encoding, trimmed and lower-cased; `7bit` if absent.
    pub fn encoding(&self, msg: &[u8]) -> String {
        match self.field(msg, "Content-Transfer-Encoding") {
            Some(v) => {
                let v = header::unfold(v);
                let v = String::from_utf8_lossy(&v).to_ascii_lowercase();
                if v.is_empty() { "7bit".into() } else { v }
            }
            None => "7bit".into(),
        }
    }

    /// Children of a multipart (empty for other parts).
    pub fn children(&self) -> &[Part] {
        match &self.body {
            Body::Multipart(c) => c,
            _ => &[],
        }
    }
}

/// Parses a `value; a=b; c="d"` field (Content-Type, Content-Disposition)
/// into the lower-cased first token and the parameters, RFC 2231 joined.
pub fn parse_field_params(value: &[u8]) -> (String, Vec<Param>) {
    let v = header::unfold(value);
    let semi = v.iter().position(|&b| b == b';').unwrap_or(v.len());
    let first = strip_comments(&v[..semi]);
    let first = String::from_utf8_lossy(header::trim(&first)).to_ascii_lowercase();
    (first, join_rfc2231(parse_params(&v[semi..])))
}

fn strip_comments(v: &[u8]) -> Vec<u8> {
    let mut depth = 0usize;
    let mut out = Vec::with_capacity(v.len());
    for &b in v {
        match b {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(b),
            _ => {}
        }
    }
    out
}

/// `*(";" attribute "=" value)` with tolerance for junk and missing quotes.
fn parse_params(v: &[u8]) -> Vec<Param> {
    let mut out = Vec::new();
    let mut i = 0;
    let ws = |b: u8| b == b' ' || b == b'\t';
    while i < v.len() && out.len() < 1000 {
        while i < v.len() && (ws(v[i]) || v[i] == b';') {
            i += 1;
        }
        let name_start = i;
        while i < v.len() && v[i] != b'=' && v[i] != b';' {
            i += 1;
        }
        let name = header::trim(&v[name_start..i]);
        if i >= v.len() || v[i] == b';' {
            continue; // attribute without value: ignored
        }
        i += 1; // '='
        while i < v.len() && ws(v[i]) {
            i += 1;
        }
        let mut value = Vec::new();
        if i < v.len() && v[i] == b'"' {
            i += 1;
            while i < v.len() && v[i] != b'"' {
                if v[i] == b'\\' && i + 1 < v.len() {
                    i += 1;
                }
                value.push(v[i]);
                i += 1;
            }
            i += 1;
            while i < v.len() && v[i] != b';' {
                i += 1;
            }
        } else {
            let s = i;
            while i < v.len() && v[i] != b';' {
                i += 1;
            }
            value = header::trim(&strip_comments(&v[s..i])).to_vec();
        }
        if !name.is_empty() {
            out.push(Param { name: String::from_utf8_lossy(name).into_owned(), value });
        }
    }
    out
}

/// Joins RFC 2231 §3 continuations `name*0`, `name*1*`, … into one
/// parameter: `name*` (extended) if any segment is extended, else `name`.
fn join_rfc2231(params: Vec<Param>) -> Vec<Param> {
    if !params.iter().any(|p| p.name.contains('*')) {
        return params;
    }
    let mut out: Vec<Param> = Vec::new();
    // (base name lower-case, index, extended, value)
    let mut segs: Vec<(String, String, u32, bool, Vec<u8>)> = Vec::new();
    for p in params {
        let (base, rest) = match p.name.split_once('*') {
            Some((b, r)) => (b.to_string(), r.to_string()),
            None => {
                out.push(p);
                continue;
            }
        };
        let extended = rest.ends_with('*') || rest.is_empty();
        let idx = rest.trim_end_matches('*');
        let index = if idx.is_empty() { 0 } else { idx.parse().unwrap_or(u32::MAX) };
        if index == u32::MAX {
            continue;
        }
        segs.push((base.to_ascii_lowercase(), base, index, extended, p.value));
    }
    segs.sort_by(|a, b| (a.0.as_str(), a.2).cmp(&(b.0.as_str(), b.2)));
    let mut i = 0;
    while i < segs.len() {
        let key = segs[i].0.clone();
        let j = segs[i..].iter().position(|s| s.0 != key).map_or(segs.len(), |n| i + n);
        let group = &segs[i..j];
        let any_ext = group.iter().any(|s| s.3);
        let mut value = Vec::new();
        for s in group {
            if any_ext && !s.3 {
                // A plain segment inside an extended value: percent-encode
                // what is not attribute-char so the whole stays decodable.
                for &b in &s.4 {
                    if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                        value.push(b);
                    } else {
                        value.extend_from_slice(format!("%{b:02X}").as_bytes());
                    }
                }
            } else {
                value.extend_from_slice(&s.4);
            }
        }
        // A plain parameter of the same name wins over nothing; keep both
        // only if the plain one was not already given.
        let name = if any_ext { format!("{}*", group[0].1) } else { group[0].1.clone() };
        if !out.iter().any(|p| p.name.eq_ignore_ascii_case(&name)) {
            out.push(Param { name, value });
        }
        i = j;
    }
    out
}

fn parse_content_type(hdr: &[u8], default: &ContentType) -> ContentType {
    let Some(v) = header::find(hdr, "Content-Type") else {
        return default.clone();
    };
    let (t, params) = parse_field_params(v);
    match t.split_once('/') {
        Some((k, s)) if !k.trim().is_empty() && !s.trim().is_empty() => ContentType {
            kind: k.trim().to_string(),
            subtype: s.trim().to_string(),
            params,
            explicit: true,
        },
        // RFC 2045 §5.2: a syntactically invalid type means text/plain.
        _ => ContentType::default_text(),
    }
}

/// Parses the whole message `msg` into its part tree.
pub fn parse(msg: &[u8]) -> Part {
    let mut ctx = Ctx { budget: MAX_PARTS, lines: true };
    parse_entity(msg, 0, msg.len(), &ContentType::default_text(), 0, &mut ctx)
}

/// [`parse`] without counting lines (every `body_lines` is 0): one pass
/// less over the text, for SEARCH, which never needs them.
pub fn parse_without_lines(msg: &[u8]) -> Part {
    let mut ctx = Ctx { budget: MAX_PARTS, lines: false };
    parse_entity(msg, 0, msg.len(), &ContentType::default_text(), 0, &mut ctx)
}

/// Parse state shared down the tree.
struct Ctx {
    /// Parts still allowed (MAX_PARTS in all).
    budget: usize,
    /// Whether to count body lines.
    lines: bool,
}

fn count_lines(b: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', b).count()
}

fn parse_entity(msg: &[u8], start: usize, end: usize, default: &ContentType, depth: usize, ctx: &mut Ctx) -> Part {
    ctx.budget = ctx.budget.saturating_sub(1);
    let region = &msg[start..end];
    let body_start = start + header::body_offset(region);
    let hdr = &msg[start..body_start];
    let mut content_type = parse_content_type(hdr, default);
    let can_nest = depth < MAX_DEPTH && ctx.budget > 0;
    let body = if content_type.kind == "multipart" {
        match content_type.raw_param("boundary").filter(|b| !b.is_empty()).map(<[u8]>::to_vec) {
            Some(boundary) if can_nest => {
                let digest = content_type.subtype == "digest";
                Body::Multipart(parse_multipart(msg, body_start, end, &boundary, digest, depth, ctx))
            }
            Some(_) => Body::Leaf,
            None => {
                // No boundary: nothing can be split; RFC 2046 gives no
                // meaning, so it is served as text/plain (as Dovecot does).
                content_type = ContentType::default_text();
                Body::Leaf
            }
        }
    } else if content_type.kind == "message"
        && (content_type.subtype == "rfc822" || content_type.subtype == "global")
        && can_nest
        && is_identity_encoding(hdr)
    {
        Body::Message(Box::new(parse_entity(msg, body_start, end, &ContentType::default_text(), depth + 1, ctx)))
    } else {
        Body::Leaf
    };
    // Lines are only reported for text and message parts; skipping the
    // count elsewhere keeps big attachments and nested multiparts from
    // being scanned once more per level.
    let needs_lines = ctx.lines
        && !matches!(body, Body::Multipart(_))
        && (content_type.kind == "text" || content_type.kind == "message");
    let body_lines = if needs_lines { count_lines(&msg[body_start..end]) } else { 0 };
    Part { header_start: start, body_start, end, content_type, body_lines, body }
}

fn is_identity_encoding(hdr: &[u8]) -> bool {
    match header::find(hdr, "Content-Transfer-Encoding") {
        None => true,
        Some(v) => {
            let v = header::unfold(v).to_ascii_lowercase();
            matches!(&v[..], b"7bit" | b"8bit" | b"binary" | b"")
        }
    }
}

/// Finds the delimiter lines of `boundary` in `msg[from..end]` and parses
/// the parts between them.
fn parse_multipart(
    msg: &[u8],
    from: usize,
    end: usize,
    boundary: &[u8],
    digest: bool,
    depth: usize,
    ctx: &mut Ctx,
) -> Vec<Part> {
    let mut needle = Vec::with_capacity(boundary.len() + 2);
    needle.extend_from_slice(b"--");
    needle.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&needle);
    let child_default = if digest { ContentType::default_message() } else { ContentType::default_text() };
    let mut children = Vec::new();
    let mut open: Option<usize> = None; // start of the current part
    let mut pos = from;
    while let Some(i) = finder.find(&msg[pos..end]) {
        let at = pos + i;
        pos = at + needle.len();
        if at > from && msg[at - 1] != b'\n' {
            continue;
        }
        let after = &msg[pos..end];
        let close = after.starts_with(b"--");
        let tail = if close { &after[2..] } else { after };
        let blanks = tail.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        let rest = &tail[blanks..];
        let line_len = if rest.starts_with(b"\r\n") {
            2
        } else if rest.starts_with(b"\n") {
            1
        } else if rest.is_empty() {
            0
        } else if close {
            // "--b--junk": still the close delimiter; skip to the line end.
            memchr::memchr(b'\n', rest).map_or(rest.len(), |n| n + 1)
        } else {
            continue;
        };
        let line_end = end - rest.len() + line_len;
        if let Some(start) = open.take() {
            // The line end before the delimiter belongs to the delimiter.
            let mut part_end = at;
            if part_end > start && msg[part_end - 1] == b'\n' {
                part_end -= 1;
                if part_end > start && msg[part_end - 1] == b'\r' {
                    part_end -= 1;
                }
            }
            if ctx.budget > 0 {
                let mut child = parse_entity(msg, start, part_end.max(start), &child_default, depth + 1, ctx);
                if part_end < at && ends_with_close_delimiter(msg, &child) {
                    // The line end after an inner close delimiter is also
                    // the one before our delimiter; Dovecot counts it in
                    // the inner part too (BODY[1] and sizes agree with it).
                    extend_end(msg, &mut child, at, ctx.lines);
                }
                children.push(child);
            }
        }
        if close {
            break;
        }
        open = Some(line_end);
        pos = line_end;
    }
    if let Some(start) = open {
        if ctx.budget > 0 || children.is_empty() {
            children.push(parse_entity(msg, start, end, &child_default, depth + 1, ctx));
        }
    }
    if children.is_empty() {
        // body-type-mpart needs at least one part: an empty text/plain at
        // the end of the body stands in for the missing ones.
        children.push(Part {
            header_start: end,
            body_start: end,
            end,
            content_type: ContentType::default_text(),
            body_lines: 0,
            body: Body::Leaf,
        });
    }
    children
}

/// True when `part` is a multipart (or a message/rfc822 holding one) whose
/// bytes end right after its own close delimiter `--boundary--`.
fn ends_with_close_delimiter(msg: &[u8], part: &Part) -> bool {
    let target = match &part.body {
        Body::Message(inner) => inner,
        _ => part,
    };
    let Body::Multipart(_) = target.body else { return false };
    let Some(boundary) = target.content_type.raw_param("boundary") else { return false };
    let bytes = msg.get(part.body_start..part.end).unwrap_or(b"");
    let blanks = bytes.iter().rev().take_while(|&&b| b == b' ' || b == b'\t').count();
    let bytes = &bytes[..bytes.len() - blanks];
    bytes.len() >= boundary.len() + 4
        && bytes.ends_with(b"--")
        && bytes[..bytes.len() - 2].ends_with(boundary)
        && bytes[..bytes.len() - 2 - boundary.len()].ends_with(b"--")
}

/// Moves the end of `part` (and of the message it embeds) to `new_end`.
fn extend_end(msg: &[u8], part: &mut Part, new_end: usize, lines: bool) {
    let old_end = part.end;
    part.end = new_end;
    if lines && (part.content_type.kind == "text" || part.content_type.kind == "message") {
        part.body_lines += count_lines(msg.get(old_end..new_end).unwrap_or(b""));
    }
    if let Body::Message(inner) = &mut part.body {
        extend_end(msg, inner, new_end, lines);
    }
}

/// What part of a section BODY[...] asks for (RFC 3501 §6.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// No text specifier: the whole message (empty path) or the part body.
    Full,
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)` / `HEADER.FIELDS.NOT (names)`
    HeaderFields { names: Vec<Vec<u8>>, not: bool },
    /// `TEXT`
    Text,
    /// `MIME` (only after a part number)
    Mime,
}

/// The part a section path `1.2.3` names (empty path: the root).
/// In a non-multipart part, part 1 is the part itself; the parts of a
/// message/rfc822 part are those of the embedded message. Checked against
/// Dovecot 2.3 on 2,000 generated messages and the fixtures.
pub fn find_part<'p>(root: &'p Part, path: &[u32]) -> Option<&'p Part> {
    let mut cur = root;
    for (step, &n) in path.iter().enumerate() {
        let idx = (n as usize).checked_sub(1)?;
        cur = match &cur.body {
            Body::Multipart(children) => children.get(idx)?,
            Body::Message(inner) if step > 0 => match &inner.body {
                Body::Multipart(children) => children.get(idx)?,
                _ if idx == 0 => inner,
                _ => return None,
            },
            // Part 1 of a non-multipart part is the part itself; on a
            // non-multipart root only once ("1" is the body, "1.1" does not
            // exist), as Dovecot answers.
            _ if idx == 0 && (step == 0 || !std::ptr::eq(cur, root)) => cur,
            _ => return None,
        };
    }
    Some(cur)
}

/// The bytes of `BODY[path.text]` of `msg` (whose tree is `root`), or
/// `None` when the section does not exist (part number out of range,
/// `MIME` without a part, `HEADER`/`TEXT` on a part that is not
/// message/rfc822); Dovecot answers those with an empty string (`{0}`),
/// which is what imapd should send. `HEADER.FIELDS` is the only case that
/// allocates.
pub fn section<'m>(msg: &'m [u8], root: &Part, path: &[u32], text: &SectionText) -> Option<Cow<'m, [u8]>> {
    let part = find_part(root, path)?;
    let slice = |a: usize, b: usize| msg.get(a..b).map(Cow::Borrowed);
    // The message HEADER/TEXT refer to: the root, or an embedded message.
    let message = || -> Option<&Part> {
        if path.is_empty() {
            Some(root)
        } else if let Body::Message(inner) = &part.body {
            Some(inner)
        } else {
            None
        }
    };
    match text {
        SectionText::Full if path.is_empty() => Some(Cow::Borrowed(msg)),
        SectionText::Full => slice(part.body_start, part.end),
        SectionText::Mime if path.is_empty() => None,
        SectionText::Mime => slice(part.header_start, part.body_start),
        SectionText::Header => message().and_then(|m| slice(m.header_start, m.body_start)),
        SectionText::Text => message().and_then(|m| slice(m.body_start, m.end)),
        SectionText::HeaderFields { names, not } => {
            let m = message()?;
            let names: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
            Some(Cow::Owned(header::select_fields(m.header(msg), &names, *not)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &[u8] = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
preamble\r\n--outer\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--outer\r\n\
Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=outer-in\r\n\r\n\
--outer-in\r\n\r\nplain\r\n--outer-in\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--outer-in--\r\n\
\r\n--outer\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--outer--\r\nepilogue\r\n";

    fn sec(path: &[u32], t: SectionText) -> Option<String> {
        let root = parse(NESTED);
        section(NESTED, &root, path, &t).map(|c| String::from_utf8_lossy(&c).into_owned())
    }

    #[test]
    fn tree_shape() {
        let root = parse(NESTED);
        assert!(root.content_type.is("multipart", "mixed"));
        let c = root.children();
        assert_eq!(c.len(), 3);
        assert!(c[0].content_type.is("text", "plain"));
        assert_eq!(c[0].body_bytes(NESTED), b"first");
        let Body::Message(inner) = &c[1].body else { panic!("not nested") };
        assert_eq!(inner.children().len(), 2);
        assert!(inner.children()[1].content_type.is("text", "html"));
        assert_eq!(c[2].body_bytes(NESTED), b"AAAA");
        assert_eq!(c[2].encoding(NESTED), "base64");
        assert_eq!(c[0].body_lines, 0);
    }

    #[test]
    fn section_table() {
        let cases: Vec<(&[u32], SectionText, Option<&str>)> = vec![
            (&[1], SectionText::Full, Some("first")),
            (&[1], SectionText::Mime, Some("Content-Type: text/plain\r\n\r\n")),
            (&[2, 1], SectionText::Full, Some("plain")),
            (&[2, 2], SectionText::Full, Some("<p>x</p>")),
            (&[2, 2], SectionText::Mime, Some("Content-Type: text/html\r\n\r\n")),
            (&[2], SectionText::Header, Some("Subject: inner\r\nContent-Type: multipart/alternative; boundary=outer-in\r\n\r\n")),
            (&[2], SectionText::HeaderFields { names: vec![b"SUBJECT".to_vec()], not: false }, Some("Subject: inner\r\n\r\n")),
            (&[3], SectionText::Full, Some("AAAA")),
            (&[4], SectionText::Full, None),
            (&[0], SectionText::Full, None),
            (&[1], SectionText::Header, None),
            (&[], SectionText::Mime, None),
            (&[1, 1], SectionText::Full, Some("first")),
            (&[2, 1, 1], SectionText::Full, Some("plain")),
            (&[], SectionText::HeaderFields { names: vec![b"from".to_vec()], not: false }, Some("From: a@b\r\n\r\n")),
        ];
        for (path, t, want) in cases {
            assert_eq!(sec(path, t.clone()).as_deref(), want, "{path:?} {t:?}");
        }
        let text = sec(&[], SectionText::Text).unwrap_or_default();
        assert!(text.starts_with("preamble\r\n--outer"));
        let t2 = sec(&[2], SectionText::Text).unwrap_or_default();
        assert!(t2.starts_with("--outer-in\r\n") && t2.ends_with("--outer-in--\r\n"), "{t2:?}");
    }

    #[test]
    fn single_part_sections() {
        let m = b"Subject: x\r\n\r\nhello\r\nworld\r\n";
        let root = parse(m);
        assert_eq!(root.body_lines, 2);
        assert_eq!(root.size(), 14);
        assert_eq!(section(m, &root, &[1], &SectionText::Full).as_deref(), Some(&b"hello\r\nworld\r\n"[..]));
        assert_eq!(section(m, &root, &[], &SectionText::Text).as_deref(), Some(&b"hello\r\nworld\r\n"[..]));
        assert_eq!(section(m, &root, &[2], &SectionText::Full), None);
    }

    #[test]
    fn params_table() {
        type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);
        let cases: Vec<Case> = vec![
            ("text/plain", "text/plain", vec![]),
            ("Text/HTML; Charset=\"UTF-8\"", "text/html", vec![("Charset", "UTF-8")]),
            ("a/b; x=1;y=\"q\\\"s\" ; z = 3", "a/b", vec![("x", "1"), ("y", "q\"s"), ("z", "3")]),
            ("a/b; name*0=\"long \"; name*1=\"name.txt\"", "a/b", vec![("name", "long name.txt")]),
            ("a/b; name*=utf-8''%E2%82%AC", "a/b", vec![("name*", "utf-8''%E2%82%AC")]),
            ("a/b; n*0*=utf-8''a%20; n*1=b c", "a/b", vec![("n*", "utf-8''a%20b%20c")]),
            ("a/b; broken; x=", "a/b", vec![("x", "")]),
            ("a/b (comment); x=y", "a/b", vec![("x", "y")]),
        ];
        for (input, t, params) in cases {
            let (got_t, got_p) = parse_field_params(input.as_bytes());
            assert_eq!(got_t, t, "{input}");
            let got: Vec<(String, String)> =
                got_p.iter().map(|p| (p.name.clone(), String::from_utf8_lossy(&p.value).into_owned())).collect();
            let want: Vec<(String, String)> = params.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
            assert_eq!(got, want, "{input}");
        }
        let (_, p) = parse_field_params(b"attachment; filename*0*=iso-8859-1''caf%E9; filename*1=.txt");
        assert_eq!(param_value(&p, "filename").as_deref(), Some("café.txt"));
        let (_, p) = parse_field_params(b"attachment; filename=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"");
        assert_eq!(param_value(&p, "filename").as_deref(), Some("résumé.pdf"));
    }

    #[test]
    fn defaults_and_odd_multiparts() {
        let m = b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n";
        assert!(parse(m).content_type.is("text", "plain"));
        let m = b"Content-Type: multipart/mixed; boundary=x\r\n\r\nnever delimited\r\n";
        let root = parse(m);
        assert_eq!(root.children().len(), 1);
        let m = b"Content-Type: multipart/digest; boundary=x\r\n\r\n--x\r\n\r\nSubject: d\r\n\r\nbody\r\n--x--\r\n";
        let root = parse(m);
        assert!(root.children()[0].content_type.is("message", "rfc822"));
        assert!(matches!(root.children()[0].body, Body::Message(_)));
        // Unterminated multipart: the last part runs to the end.
        let m = b"Content-Type: multipart/mixed; boundary=x\n\n--x\n\na\n--x\n\nb\n";
        let root = parse(m);
        assert_eq!(root.children().len(), 2);
        assert_eq!(root.children()[0].body_bytes(m), b"a");
        assert_eq!(root.children()[1].body_bytes(m), b"b\n");
    }

    #[test]
    fn nested_close_delimiter_keeps_line_end_like_dovecot() {
        let m = b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\
Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\na\r\n--i--\r\n--o\r\n\r\nb\r\n--o--\r\n";
        let root = parse(m);
        let inner = &root.children()[0];
        assert!(inner.body_bytes(m).ends_with(b"--i--\r\n"));
        assert_eq!(inner.children()[0].body_bytes(m), b"a");
        assert_eq!(root.children()[1].body_bytes(m), b"b");
        assert_eq!(section(m, &root, &[1, 1], &SectionText::Full).as_deref(), Some(&b"a"[..]));
        // A single-part root has part 1 but no part 1.1.
        let m = b"Subject: s\r\n\r\nbody";
        let root = parse(m);
        assert_eq!(section(m, &root, &[1], &SectionText::Full).as_deref(), Some(&b"body"[..]));
        assert_eq!(section(m, &root, &[1, 1], &SectionText::Full), None);
    }

    #[test]
    fn depth_bound() {
        let mut m = Vec::new();
        for i in 0..300 {
            m.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes());
        }
        m.extend_from_slice(b"\r\nleaf\r\n");
        let root = parse(&m);
        let mut depth = 0;
        let mut cur = &root;
        while let Some(c) = cur.children().first() {
            cur = c;
            depth += 1;
        }
        assert!(depth <= MAX_DEPTH);
    }

    #[test]
    fn part_count_bound() {
        let mut m = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for _ in 0..(MAX_PARTS + 50) {
            m.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        let root = parse(&m);
        assert!(root.children().len() <= MAX_PARTS);
    }
}
