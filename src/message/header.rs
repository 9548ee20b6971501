//! Message header block: split header from body, iterate and find fields,
//! unfold values, and cut the IMAP `HEADER.FIELDS` / `HEADER.FIELDS.NOT`
//! subsets byte-exactly (RFC 5322 §2.2, §2.2.3, §3.5; RFC 3501 §6.4.5).
//!
//! Works on bytes as the client sees them (CRLF), and also accepts bare LF.
//! Does not decode encoded words (see `decode`) or parse structured fields.

use memchr::memchr;

/// Offset where the body starts: just past the empty line that ends the
/// header, or the message length when there is no empty line (the whole
/// message is then header, as Dovecot and UW treat it).
pub fn body_offset(msg: &[u8]) -> usize {
    if msg.starts_with(b"\r\n") {
        return 2;
    }
    if msg.starts_with(b"\n") {
        return 1;
    }
    let mut pos = 0;
    while let Some(i) = memchr(b'\n', &msg[pos..]) {
        let nl = pos + i;
        let rest = &msg[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return nl + 3;
        }
        if rest.starts_with(b"\n") {
            return nl + 2;
        }
        pos = nl + 1;
    }
    msg.len()
}

/// Splits `msg` into (header including its terminating empty line, body).
pub fn split(msg: &[u8]) -> (&[u8], &[u8]) {
    msg.split_at(body_offset(msg))
}

/// One header field as it appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// Field name, without the colon, with trailing blanks removed.
    pub name: &'a [u8],
    /// Raw value: everything after the colon up to (not including) the
    /// final line end; folding CRLFs are still in it.
    pub value: &'a [u8],
    /// The whole field including the name and the final line end (if any):
    /// what `HEADER.FIELDS` returns.
    pub raw: &'a [u8],
}

/// Iterator over the fields of a header block. Lines without a colon
/// (garbage, or an mbox `From ` line) are skipped; so is the empty line.
pub struct Fields<'a> {
    hdr: &'a [u8],
    pos: usize,
}

/// Iterates the fields of `header` (the header block, or a whole message:
/// iteration stops at the first empty line).
pub fn fields(header: &[u8]) -> Fields<'_> {
    Fields { hdr: header, pos: 0 }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        loop {
            let h = self.hdr;
            let start = self.pos;
            if start >= h.len() || h[start] == b'\n' || h[start..].starts_with(b"\r\n") {
                self.pos = h.len();
                return None;
            }
            // Field end: a line end not followed by a continuation blank.
            let mut end = start;
            let mut value_end;
            loop {
                match memchr(b'\n', &h[end..]) {
                    None => {
                        value_end = h.len();
                        end = h.len();
                        break;
                    }
                    Some(i) => {
                        let nl = end + i;
                        value_end = if nl > start && h[nl - 1] == b'\r' { nl - 1 } else { nl };
                        end = nl + 1;
                        if end < h.len() && (h[end] == b' ' || h[end] == b'\t') {
                            continue;
                        }
                        break;
                    }
                }
            }
            self.pos = end;
            let raw = &h[start..end];
            let Some(colon) = memchr(b':', &h[start..value_end]) else {
                continue;
            };
            let mut name = &h[start..start + colon];
            while let [rest @ .., b' ' | b'\t'] = name {
                name = rest;
            }
            if name.is_empty() {
                continue;
            }
            return Some(Field { name, value: &h[start + colon + 1..value_end], raw });
        }
    }
}

/// First field named `name` (ASCII case-insensitive), raw value.
pub fn find<'a>(header: &'a [u8], name: &str) -> Option<&'a [u8]> {
    fields(header).find(|f| f.name.eq_ignore_ascii_case(name.as_bytes())).map(|f| f.value)
}

/// All fields named `name`, raw values in order.
pub fn find_all<'a>(header: &'a [u8], name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
    fields(header).filter(move |f| f.name.eq_ignore_ascii_case(name.as_bytes())).map(|f| f.value)
}

/// Unfolds a raw value (RFC 5322 §2.2.3): removes every CR and LF, keeps
/// the blanks, and trims blanks at both ends.
pub fn unfold(value: &[u8]) -> Vec<u8> {
    let v: Vec<u8> = value.iter().copied().filter(|&b| b != b'\r' && b != b'\n').collect();
    trim(&v).to_vec()
}

/// Trims ASCII blanks (SP, HTAB, CR, LF) at both ends.
pub fn trim(v: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| matches!(*b, b' ' | b'\t' | b'\r' | b'\n');
    let start = v.iter().position(|b| !is_ws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ws(b)).map_or(start, |e| e + 1);
    &v[start..end]
}

/// The `HEADER.FIELDS (names)` (or, with `not`, `HEADER.FIELDS.NOT`)
/// subset of `header`: matching fields byte for byte in message order,
/// followed by the empty line, as RFC 3501 §6.4.5 and Dovecot/UW return it.
/// A last field with no line end gets a CRLF.
pub fn select_fields(header: &[u8], names: &[&[u8]], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields(header) {
        let hit = names.iter().any(|n| f.name.eq_ignore_ascii_case(n));
        if hit != not {
            out.extend_from_slice(f.raw);
            if !f.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The msg-ids of a Message-ID, In-Reply-To or References value
/// (RFC 5322 §3.6.4), without angle brackets or blanks, in order, for
/// THREAD=REFERENCES (RFC 5256 §2.2). Comments, quoted strings and words
/// outside brackets (obsolete phrases) are skipped; an unterminated `<`
/// ends the list.
pub fn parse_msg_ids(value: &[u8]) -> Vec<Vec<u8>> {
    let mut ids = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < value.len() {
        match value[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'\\' if depth > 0 => i += 1,
            b'"' if depth == 0 => {
                i += 1;
                while i < value.len() && value[i] != b'"' {
                    i += if value[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'<' if depth == 0 => {
                let Some(close) = memchr(b'>', &value[i..]) else { break };
                let id: Vec<u8> = value[i + 1..i + close]
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                if !id.is_empty() {
                    ids.push(id);
                }
                i += close;
            }
            _ => {}
        }
        i += 1;
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_offset_table() {
        let cases: &[(&[u8], usize)] = &[
            (b"", 0),
            (b"\r\nbody", 2),
            (b"\nbody", 1),
            (b"A: b\r\n\r\nbody", 8),
            (b"A: b\n\nbody", 6),
            (b"A: b\r\n", 6),
            (b"A: b", 4),
            (b"A: b\r\n c\r\n\r\n", 12),
        ];
        for (msg, want) in cases {
            assert_eq!(body_offset(msg), *want, "{:?}", String::from_utf8_lossy(msg));
        }
    }

    #[test]
    fn fields_table() {
        let h = b"From: a@b\r\nSubject: hello\r\n  world\r\ngarbage line\r\nX-Empty:\r\nTo : c@d\n\r\nBody: no\r\n";
        let got: Vec<(&[u8], &[u8])> = fields(h).map(|f| (f.name, f.value)).collect();
        let want: Vec<(&[u8], &[u8])> = vec![
            (b"From", b" a@b"),
            (b"Subject", b" hello\r\n  world"),
            (b"X-Empty", b""),
            (b"To", b" c@d"),
        ];
        assert_eq!(got, want);
        assert_eq!(find(h, "subject").map(unfold), Some(b"hello  world".to_vec()));
        assert_eq!(find(h, "body"), None);
        assert_eq!(find_all(h, "FROM").count(), 1);
    }

    #[test]
    fn select_fields_exact() {
        let h = b"From: a@b\r\nSubject: x\r\n y\r\nTo: c\r\n\r\n";
        assert_eq!(select_fields(h, &[b"subject", b"TO"], false), b"Subject: x\r\n y\r\nTo: c\r\n\r\n".to_vec());
        assert_eq!(select_fields(h, &[b"subject"], true), b"From: a@b\r\nTo: c\r\n\r\n".to_vec());
        assert_eq!(select_fields(h, &[b"nothing"], false), b"\r\n".to_vec());
        assert_eq!(select_fields(b"A: 1", &[b"a"], false), b"A: 1\r\n\r\n".to_vec());
    }

    #[test]
    fn msg_ids_table() {
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"<a@b>", &[b"a@b"]),
            (b"<a@b> <c@d>\r\n <e@f>", &[b"a@b", b"c@d", b"e@f"]),
            (b"(comment <x@y>) <a@b>", &[b"a@b"]),
            (b"\"phrase <x@y>\" <a@b>", &[b"a@b"]),
            (b"Your message of <a @ b>", &[b"a@b"]),
            (b"<>", &[]),
            (b"<unterminated", &[]),
            (b"", &[]),
        ];
        for (input, want) in cases {
            let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
            assert_eq!(parse_msg_ids(input), want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn fields_never_panic_on_prefixes() {
        let h = b"From: a@b\r\nSubject: x\r\n y\r\n:\r\n\r\nbody";
        for n in 0..=h.len() {
            let _ = fields(&h[..n]).count();
            let _ = body_offset(&h[..n]);
        }
    }
}
