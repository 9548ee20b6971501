//! The mbox metadata header codec shared with UW imapd and Dovecot:
//! `X-IMAPbase: <uidvalidity> <last uid> [keywords]` (first message; the
//! second number is the last UID given out, UIDNEXT-1, as UW and Dovecot
//! write it),
//! `X-IMAP:` (UW's pseudo-message), `X-UID:`, `Status:` (R, O),
//! `X-Status:` (A, F, T, D), `X-Keywords:`, and `Content-Length:` (Dovecot
//! writes it; ignored). These fields are hidden from
//! clients and renamed (`X-Original-…`) when they arrive inside new mail, so
//! a sender cannot forge flags or UIDs.
//!
//! Written form (UW's, also read by Dovecot): last UID zero-padded to 10
//! digits so it can be bumped in place; `X-Keywords:` padded with spaces so
//! later flag changes fit in the same bytes.

use crate::store::flags::{self, Flags, STATUS_LETTERS, X_STATUS_LETTERS};

/// A hidden metadata field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Status,
    XStatus,
    XKeywords,
    XUid,
    XImapBase,
    XImap,
    /// Written by Dovecot and Solaris mailers; hidden (as Dovecot does) and
    /// never trusted for message boundaries.
    ContentLength,
}

const FIELDS: &[(&[u8], Field)] = &[
    (b"status", Field::Status),
    (b"x-status", Field::XStatus),
    (b"x-keywords", Field::XKeywords),
    (b"x-uid", Field::XUid),
    (b"x-imapbase", Field::XImapBase),
    (b"x-imap", Field::XImap),
    (b"content-length", Field::ContentLength),
];

/// Spaces of padding written after the keywords.
pub(crate) const PAD: usize = 40;

/// The hidden field a header line starts, if any.
pub(crate) fn hidden_field(line: &[u8]) -> Option<Field> {
    let colon = memchr::memchr(b':', &line[..line.len().min(17)])?;
    let name = &line[..colon];
    let name = name.strip_suffix(b" ").unwrap_or(name);
    FIELDS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, f)| f)
}

/// Metadata read from one message's header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    pub flags: Flags,
    /// `Status:` had `O`: not \Recent.
    pub old: bool,
    pub keywords: Vec<String>,
    pub uid: Option<u32>,
    /// From X-IMAPbase or X-IMAP: (uidvalidity, UIDNEXT = last UID + 1).
    pub base: Option<(u32, u32)>,
    pub base_keywords: Vec<String>,
    /// The message is UW's pseudo-message (`X-IMAP:`).
    pub pseudo: bool,
    last: Option<Field>,
}

impl Meta {
    /// Take in one line (or continuation line) of field `f`. `first`: the
    /// message is the first in the file (only there X-IMAPbase counts).
    pub(crate) fn apply(&mut self, f: Field, line: &[u8], cont: bool, first: bool) {
        let value = if cont {
            line
        } else {
            match memchr::memchr(b':', line) {
                Some(i) => &line[i + 1..],
                None => return,
            }
        };
        let value = trim(value);
        self.last = Some(f);
        match f {
            Field::ContentLength => {}
            Field::Status => {
                self.flags
                    .insert(flags::flags_from_letters(value, STATUS_LETTERS));
                if value.contains(&b'O') {
                    self.old = true;
                }
            }
            Field::XStatus => self
                .flags
                .insert(flags::flags_from_letters(value, X_STATUS_LETTERS)),
            Field::XKeywords => {
                for w in words(value) {
                    if valid_keyword(w) && !self.keywords.iter().any(|k| k.as_bytes() == w) {
                        self.keywords.push(String::from_utf8_lossy(w).into_owned());
                    }
                }
            }
            Field::XUid => {
                if !cont {
                    self.uid = parse_u32(value).filter(|&u| u > 0);
                }
            }
            Field::XImapBase | Field::XImap => {
                if !first {
                    return;
                }
                if f == Field::XImap && !cont {
                    self.pseudo = true;
                }
                let mut it = words(value);
                if !cont {
                    let v = it.next().and_then(parse_u32);
                    let n = it.next().and_then(parse_u32);
                    if let (Some(v), Some(n)) = (v, n) {
                        self.base = Some((v, n.saturating_add(1)));
                    }
                }
                for w in it {
                    if valid_keyword(w) && !self.base_keywords.iter().any(|k| k.as_bytes() == w) {
                        self.base_keywords
                            .push(String::from_utf8_lossy(w).into_owned());
                    }
                }
            }
        }
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |i| i + 1);
    &v[s..e.max(s)]
}

fn words(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|c| c.is_ascii_whitespace() || *c == b',')
        .filter(|w| !w.is_empty())
}

fn parse_u32(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 10 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = v.iter().fold(0u64, |a, &c| a * 10 + u64::from(c - b'0'));
    u32::try_from(n).ok()
}

/// RFC 3501 flag-keyword atom that survives a round trip through
/// X-Keywords. A comma is legal in an atom, but X-Keywords lists are read
/// split at commas too (some writers use them), so a keyword holding one
/// would come back as other keywords: refused (found by the header-codec
/// fuzz target, contrib/fuzz).
pub(crate) fn valid_keyword(w: &[u8]) -> bool {
    !w.is_empty()
        && w.len() <= 100
        && w.iter()
            .all(|&c| c > b' ' && c < 0x7f && !b"(){%*\"\\],".contains(&c))
}

/// What the metadata lines of one message say.
pub(crate) struct Render<'a> {
    pub flags: Flags,
    pub old: bool,
    pub keywords: Vec<&'a str>,
    pub uid: Option<u32>,
    /// First message: (uidvalidity, uidnext, all keywords).
    pub base: Option<(u32, u32, &'a [String])>,
}

impl Render<'_> {
    /// The metadata lines with at least `pad` spaces of padding after the
    /// keywords; `None` if they cannot be made exactly `exact` bytes long.
    pub(crate) fn lines(&self, pad: usize, exact: Option<usize>) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(128);
        if let Some((v, n, kws)) = self.base {
            out.extend_from_slice(
                format!("X-IMAPbase: {v} {:010}", n.saturating_sub(1)).as_bytes(),
            );
            for k in kws {
                out.push(b' ');
                out.extend_from_slice(k.as_bytes());
            }
            out.push(b'\n');
        }
        let mut st = Vec::new();
        flags::letters_from_flags(self.flags, STATUS_LETTERS, &mut st);
        if self.old {
            st.push(b'O');
        }
        if !st.is_empty() {
            out.extend_from_slice(b"Status: ");
            out.extend_from_slice(&st);
            out.push(b'\n');
        }
        let mut xs = Vec::new();
        flags::letters_from_flags(self.flags, X_STATUS_LETTERS, &mut xs);
        if !xs.is_empty() {
            out.extend_from_slice(b"X-Status: ");
            out.extend_from_slice(&xs);
            out.push(b'\n');
        }
        out.extend_from_slice(b"X-Keywords:");
        for k in &self.keywords {
            out.push(b' ');
            out.extend_from_slice(k.as_bytes());
        }
        let kw_end = out.len();
        let mut tail = Vec::new();
        tail.push(b'\n');
        if let Some(u) = self.uid {
            tail.extend_from_slice(format!("X-UID: {u}\n").as_bytes());
        }
        let pad = match exact {
            Some(n) => n.checked_sub(kw_end + tail.len())?,
            None => pad,
        };
        out.resize(kw_end + pad, b' ');
        out.extend_from_slice(&tail);
        Some(out)
    }
}

/// Copy a header block of new mail, renaming metadata fields a sender put
/// there (`Status:` → `X-Original-Status:`), so they are not taken as ours.
pub(crate) fn rename_hidden(header: &[u8], out: &mut Vec<u8>) {
    for line in header.split_inclusive(|&c| c == b'\n') {
        if hidden_field(line).is_some() {
            out.extend_from_slice(b"X-Original-");
        }
        out.extend_from_slice(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_fields() {
        let cases: &[(&str, Option<Field>)] = &[
            ("Status: RO\n", Some(Field::Status)),
            ("status:R\n", Some(Field::Status)),
            ("X-UID: 5\n", Some(Field::XUid)),
            ("X-IMAP: 1 2\n", Some(Field::XImap)),
            ("X-IMAPbase: 1 2\n", Some(Field::XImapBase)),
            ("X-Keywords: a\n", Some(Field::XKeywords)),
            ("X-Status: A\n", Some(Field::XStatus)),
            ("X-Statuses: A\n", None),
            ("Subject: Status: R\n", None),
            ("X-UIDL: 5\n", None),
            ("Content-Length: 5\n", Some(Field::ContentLength)),
            ("Content-Type: text/plain\n", None),
        ];
        for &(l, f) in cases {
            assert_eq!(hidden_field(l.as_bytes()), f, "{l}");
        }
    }

    #[test]
    fn apply_values() {
        let mut m = Meta::default();
        m.apply(Field::XUid, b"X-UID: 0\n", false, false);
        assert_eq!(m.uid, None);
        m.apply(Field::XUid, b"X-UID: 99999999999\n", false, false);
        assert_eq!(m.uid, None);
        m.apply(Field::XUid, b"X-UID: 42 \n", false, false);
        assert_eq!(m.uid, Some(42));
        m.apply(Field::XImapBase, b"X-IMAPbase: 1 2 a\n", false, false);
        assert_eq!(m.base, None, "only in the first message");
        m.apply(Field::XImap, b"X-IMAP: 7 0000000009 a b\n", false, true);
        m.apply(Field::XImap, b"  c\n", true, true);
        assert_eq!(
            (m.base, m.pseudo, m.base_keywords.len()),
            (Some((7, 10)), true, 3)
        );
        m.apply(Field::XStatus, b"X-Status: DT\n", false, false);
        assert!(m.flags.contains(Flags::DELETED) && m.flags.contains(Flags::DRAFT));
    }

    #[test]
    fn render_exact_length() {
        let kws = vec!["a".to_string()];
        let r = Render {
            flags: Flags(31),
            old: true,
            keywords: vec!["a"],
            uid: Some(12),
            base: Some((5, 13, &kws)),
        };
        let l = r.lines(PAD, None).unwrap();
        assert_eq!(
            String::from_utf8(l.clone()).unwrap(),
            format!("X-IMAPbase: 5 0000000012 a\nStatus: RO\nX-Status: AFTD\nX-Keywords: a{}\nX-UID: 12\n", " ".repeat(PAD))
        );
        let r2 = Render {
            flags: Flags(0),
            old: false,
            keywords: vec![],
            uid: Some(12),
            base: Some((5, 13, &kws)),
        };
        assert_eq!(r2.lines(0, Some(l.len())).unwrap().len(), l.len());
        assert!(r2.lines(0, Some(10)).is_none());
    }

    #[test]
    fn rename_forged_fields() {
        let mut out = Vec::new();
        rename_hidden(b"Subject: x\nStatus: RO\nX-UID: 1\n", &mut out);
        assert_eq!(
            out,
            b"Subject: x\nX-Original-Status: RO\nX-Original-X-UID: 1\n"
        );
    }
}
