//! FETCH and UID FETCH rendering (RFC 3501 §6.4.5, §7.4.2): every data
//! item, from the typed [`FetchAttr`]s the wire parser produced (macros
//! already expanded) to `* n FETCH (...)` lines.
//!
//! ```text
//! fetch     = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
//!             fetch-att / "(" fetch-att *(SP fetch-att) ")")
//! msg-att   = "(" (msg-att-dynamic / msg-att-static)
//!             *(SP (msg-att-dynamic / msg-att-static)) ")"
//! ```
//!
//! A [`Fetch`] is planned once per command: it decides whether the items
//! need nothing but metadata, only the header (ENVELOPE, RFC822.HEADER,
//! BODY[HEADER], BODY[HEADER.FIELDS ...]) or the whole message, and whether
//! the MIME tree must be parsed (BODY, BODYSTRUCTURE, part numbers). Each
//! message is then read at most once into a buffer reused across messages,
//! and body data is written as a literal straight into the output. The
//! session calls [`Fetch::message`] per message and flushes its output
//! buffer when it grows, so memory stays bounded on `FETCH 1:* BODY[]`;
//! [`fetch`] is the one-call form.
//!
//! `\Seen` is set by non-PEEK BODY[...], RFC822 and RFC822.TEXT unless the
//! mailbox is read-only, and FLAGS is then added to the response if it was
//! not asked for (§6.4.5). UID FETCH always includes UID (§6.4.8), first.
//! Body sections always go out as literals; a section that does not exist,
//! or a partial range that starts beyond the end, is the empty literal
//! `{0}` as Dovecot sends it. Not here: resolving sequence sets and
//! announcing other sessions' changes (the session's job).

use std::io::Write as _;

use crate::imap::view::MailView;
use crate::imap::wire::command::{FetchAttr, Section, SectionText};
use crate::message::bodystructure::BodyStructure;
use crate::message::date::DateTime;
use crate::message::envelope::Envelope;
use crate::message::imapstr::write_literal;
use crate::message::{header, mime};
use crate::store::{ErrorKind, Flags, StoreError};

/// How much of a message the planned items need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    Metadata,
    Header,
    Message,
}

/// One item in output order, with everything that does not depend on the
/// message precomputed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Uid,
    Flags,
    InternalDate,
    Size,
    Envelope,
    /// `BODY` (false) or `BODYSTRUCTURE` (true).
    Structure(bool),
    /// `RFC822`, `RFC822.HEADER`, `RFC822.TEXT`: the label and which part.
    Rfc822(&'static str, Whole),
    Section {
        /// `BODY[1.HEADER]<0>` as echoed in the response.
        label: String,
        part: Vec<u32>,
        text: mime::SectionText,
        partial: Option<(u32, u32)>,
    },
}

/// The three slices of the whole message RFC822.* return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Whole {
    Message,
    Header,
    Text,
}

/// A planned FETCH: the items, what to read, and reusable buffers.
#[derive(Debug)]
pub struct Fetch {
    items: Vec<Item>,
    need: Need,
    /// Parse the MIME tree (BODY, BODYSTRUCTURE, part numbers).
    tree: bool,
    sets_seen: bool,
    has_flags: bool,
    buf: Vec<u8>,
}

fn convert_text(text: &Option<SectionText>) -> mime::SectionText {
    let names = |v: &[String]| v.iter().map(|s| s.as_bytes().to_vec()).collect();
    match text {
        None => mime::SectionText::Full,
        Some(SectionText::Header) => mime::SectionText::Header,
        Some(SectionText::Text) => mime::SectionText::Text,
        Some(SectionText::Mime) => mime::SectionText::Mime,
        Some(SectionText::HeaderFields(v)) => mime::SectionText::HeaderFields { names: names(v), not: false },
        Some(SectionText::HeaderFieldsNot(v)) => mime::SectionText::HeaderFields { names: names(v), not: true },
    }
}

fn section_label(section: &Section, partial: Option<(u32, u32)>) -> String {
    match partial {
        Some((origin, _)) => format!("BODY[{section}]<{origin}>"),
        None => format!("BODY[{section}]"),
    }
}

impl Fetch {
    /// Plans `attrs` (duplicates dropped); `uid` is true for UID FETCH.
    pub fn new(attrs: &[FetchAttr], uid: bool) -> Fetch {
        let mut items: Vec<Item> = Vec::with_capacity(attrs.len() + 1);
        let mut need = Need::Metadata;
        let mut tree = false;
        let mut sets_seen = false;
        if uid && !attrs.contains(&FetchAttr::Uid) {
            items.push(Item::Uid);
        }
        for a in attrs {
            let item = match a {
                FetchAttr::Uid => Item::Uid,
                FetchAttr::Flags => Item::Flags,
                FetchAttr::InternalDate => Item::InternalDate,
                FetchAttr::Rfc822Size => Item::Size,
                FetchAttr::Envelope => {
                    need = need.max(Need::Header);
                    Item::Envelope
                }
                FetchAttr::Body | FetchAttr::BodyStructure => {
                    need = Need::Message;
                    tree = true;
                    Item::Structure(*a == FetchAttr::BodyStructure)
                }
                FetchAttr::Rfc822 => {
                    need = Need::Message;
                    sets_seen = true;
                    Item::Rfc822("RFC822", Whole::Message)
                }
                FetchAttr::Rfc822Header => {
                    need = need.max(Need::Header);
                    Item::Rfc822("RFC822.HEADER", Whole::Header)
                }
                FetchAttr::Rfc822Text => {
                    need = Need::Message;
                    sets_seen = true;
                    Item::Rfc822("RFC822.TEXT", Whole::Text)
                }
                FetchAttr::BodySection { peek, section, partial } => {
                    sets_seen |= !peek;
                    let text = convert_text(&section.text);
                    let header_only = section.part.is_empty()
                        && matches!(text, mime::SectionText::Header | mime::SectionText::HeaderFields { .. });
                    need = need.max(if header_only { Need::Header } else { Need::Message });
                    tree |= !section.part.is_empty();
                    Item::Section {
                        label: section_label(section, *partial),
                        part: section.part.clone(),
                        text,
                        partial: *partial,
                    }
                }
            };
            if !items.contains(&item) {
                items.push(item);
            }
        }
        let has_flags = items.contains(&Item::Flags);
        Fetch { items, need, tree, sets_seen, has_flags, buf: Vec::new() }
    }

    /// True when no item needs message text (FLAGS, UID, sizes, dates).
    pub fn metadata_only(&self) -> bool {
        self.need == Need::Metadata
    }

    /// Appends `* n FETCH (...)` for message index `i`. On a read error
    /// nothing is appended for this message and `\Seen` is not set.
    pub fn message<V: MailView + ?Sized>(&mut self, view: &mut V, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
        self.buf.clear();
        match self.need {
            Need::Metadata => {}
            Need::Header => view.header(i, &mut self.buf)?,
            Need::Message => view.message(i, &mut self.buf)?,
        }
        let mut add_flags = false;
        if self.sets_seen && !view.read_only() && !view.flags(i).contains(Flags::SEEN) {
            view.set_seen(i);
            add_flags = !self.has_flags;
        }
        let data = &self.buf[..];
        let body_off = if self.need == Need::Metadata { 0 } else { header::body_offset(data) };
        let root = if self.tree { Some(mime::parse(data)) } else { None };
        let _ = write!(out, "* {} FETCH (", i + 1);
        for (n, item) in self.items.iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            render_item(view, i, item, data, body_off, root.as_ref(), out);
        }
        if add_flags {
            if !self.items.is_empty() {
                out.push(b' ');
            }
            render_flags(view, i, out);
        }
        out.extend_from_slice(b")\r\n");
        Ok(())
    }
}

fn render_item<V: MailView + ?Sized>(
    view: &V,
    i: usize,
    item: &Item,
    data: &[u8],
    body_off: usize,
    root: Option<&mime::Part>,
    out: &mut Vec<u8>,
) {
    match item {
        Item::Uid => {
            let _ = write!(out, "UID {}", view.uid(i));
        }
        Item::Flags => render_flags(view, i, out),
        Item::InternalDate => {
            let (ts, zone) = view.internal_date(i);
            let _ = write!(out, "INTERNALDATE \"{}\"", DateTime::from_timestamp(ts, zone).to_imap());
        }
        Item::Size => {
            let _ = write!(out, "RFC822.SIZE {}", view.size(i));
        }
        Item::Envelope => {
            out.extend_from_slice(b"ENVELOPE ");
            Envelope::from_header(&data[..body_off]).render(out);
        }
        Item::Structure(extended) => {
            out.extend_from_slice(if *extended { b"BODYSTRUCTURE " } else { b"BODY " });
            match root {
                Some(root) => BodyStructure::build(data, root).render(out, *extended),
                None => BodyStructure::of_message(data).render(out, *extended),
            }
        }
        Item::Rfc822(label, whole) => {
            out.extend_from_slice(label.as_bytes());
            out.push(b' ');
            let bytes = match whole {
                Whole::Message => data,
                Whole::Header => &data[..body_off],
                Whole::Text => &data[body_off..],
            };
            write_literal(out, bytes);
        }
        Item::Section { label, part, text, partial } => {
            out.extend_from_slice(label.as_bytes());
            out.push(b' ');
            if part.is_empty() {
                match text {
                    mime::SectionText::Full => write_partial(out, data, *partial),
                    mime::SectionText::Header => write_partial(out, &data[..body_off], *partial),
                    mime::SectionText::Text => write_partial(out, &data[body_off..], *partial),
                    mime::SectionText::HeaderFields { names, not } => {
                        let names: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
                        let selected = header::select_fields(&data[..body_off], &names, *not);
                        write_partial(out, &selected, *partial);
                    }
                    // The parser refuses MIME without a part number.
                    mime::SectionText::Mime => write_partial(out, b"", None),
                }
            } else {
                let bytes = root.and_then(|r| mime::section(data, r, part, text));
                write_partial(out, bytes.as_deref().unwrap_or(b""), *partial);
            }
        }
    }
}

/// `<origin.count>` applied to `bytes` (RFC 3501 §6.4.5): an origin past
/// the end gives the empty string.
fn write_partial(out: &mut Vec<u8>, bytes: &[u8], partial: Option<(u32, u32)>) {
    let slice = match partial {
        None => bytes,
        Some((origin, count)) => {
            let start = (origin as usize).min(bytes.len());
            let end = start.saturating_add(count as usize).min(bytes.len());
            &bytes[start..end]
        }
    };
    write_literal(out, slice);
}

/// `FLAGS (...)` in Dovecot's order: system flags, `\Recent`, keywords.
fn render_flags<V: MailView + ?Sized>(view: &V, i: usize, out: &mut Vec<u8>) {
    const SYSTEM: [(Flags, &str); 5] = [
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::SEEN, "\\Seen"),
        (Flags::DRAFT, "\\Draft"),
    ];
    out.extend_from_slice(b"FLAGS (");
    let start = out.len();
    let word = |out: &mut Vec<u8>, w: &str| {
        if out.len() > start {
            out.push(b' ');
        }
        // Keywords come from the store, which only keeps atoms; filtering
        // anyway means a bad one can never break the line.
        out.extend(w.bytes().filter(|&b| b > b' ' && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'"')));
    };
    let flags = view.flags(i);
    for (f, name) in SYSTEM {
        if flags.contains(f) {
            word(out, name);
        }
    }
    if view.recent(i) {
        word(out, "\\Recent");
    }
    for k in view.keywords(i) {
        word(out, k);
    }
    out.push(b')');
}

/// What [`fetch`] could not do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Messages skipped because another session expunged them meanwhile
    /// (read failed with `ErrorKind::NotFound`): the session completes
    /// with `NO [EXPUNGEISSUED]` (RFC 5530) after sending the rest.
    pub expunged: usize,
}

/// Renders FETCH for every index in `seqs` (0-based, ascending as resolved
/// from the sequence set). A message that vanished under another session
/// is skipped and counted; any other read error stops the FETCH, leaving
/// the responses before it in `out` for the session to send before NO.
pub fn fetch<V: MailView + ?Sized>(
    view: &mut V,
    seqs: impl IntoIterator<Item = usize>,
    attrs: &[FetchAttr],
    uid: bool,
    out: &mut Vec<u8>,
) -> Result<Fetched, StoreError> {
    let mut plan = Fetch::new(attrs, uid);
    let mut done = Fetched::default();
    for i in seqs {
        match plan.message(view, i, out) {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::NotFound => done.expunged += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::view::mem::MemView;
    use crate::imap::wire::command::{FetchAttr as F, Section, SectionText as T};

    const SIMPLE: &[u8] = b"From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: Hello\n\
Date: Mon, 23 Nov 2026 10:00:00 +0100\nMessage-ID: <m1@example.org>\n\nHi Bob,\nbye.\n";

    const NESTED: &[u8] = b"From: a@b\nSubject: outer\nContent-Type: multipart/mixed; boundary=\"o\"\n\n\
preamble\n--o\nContent-Type: text/plain\n\nfirst\n--o\nContent-Type: message/rfc822\n\n\
Subject: inner\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\nplain\n--i\n\
Content-Type: text/html\n\n<p>x</p>\n--i--\n\n--o--\n";

    fn body(peek: bool, part: Vec<u32>, text: Option<T>, partial: Option<(u32, u32)>) -> F {
        F::BodySection { peek, section: Section { part, text }, partial }
    }

    fn run(view: &mut MemView, seqs: &[usize], attrs: &[F], uid: bool) -> String {
        let mut out = Vec::new();
        fetch(view, seqs.iter().copied(), attrs, uid, &mut out).expect("fetch");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn metadata_items() {
        let mut v = MemView::new(&[SIMPLE]);
        v.messages[0].flags = Flags(Flags::SEEN.0 | Flags::ANSWERED.0);
        v.messages[0].recent = true;
        v.messages[0].keywords = vec!["$Forwarded".into()];
        v.messages[0].internal_date = (1_795_176_000, -300);
        v.messages[0].uid = 42;
        let size = v.messages[0].data.len();
        let cases: Vec<(Vec<F>, bool, String)> = vec![
            (vec![F::Flags], false, "* 1 FETCH (FLAGS (\\Answered \\Seen \\Recent $Forwarded))\r\n".into()),
            (vec![F::Uid], false, "* 1 FETCH (UID 42)\r\n".into()),
            (vec![F::Flags], true, "* 1 FETCH (UID 42 FLAGS (\\Answered \\Seen \\Recent $Forwarded))\r\n".into()),
            (vec![F::Flags, F::Uid], true, "* 1 FETCH (FLAGS (\\Answered \\Seen \\Recent $Forwarded) UID 42)\r\n".into()),
            (vec![F::InternalDate], false, "* 1 FETCH (INTERNALDATE \"20-Nov-2026 07:00:00 -0500\")\r\n".into()),
            (vec![F::Rfc822Size], false, format!("* 1 FETCH (RFC822.SIZE {size})\r\n")),
            (vec![F::Uid, F::Uid], false, "* 1 FETCH (UID 42)\r\n".into()),
        ];
        for (attrs, uid, want) in cases {
            assert_eq!(run(&mut v, &[0], &attrs, uid), want, "{attrs:?}");
        }
        assert_eq!(v.header_reads + v.message_reads, 0, "metadata must not read the message");
        let mut v = MemView::new(&[SIMPLE]);
        assert_eq!(run(&mut v, &[0], &[F::Flags], false), "* 1 FETCH (FLAGS ())\r\n");
    }

    #[test]
    fn envelope_reads_header_only() {
        let mut v = MemView::new(&[SIMPLE, SIMPLE]);
        let got = run(&mut v, &[0, 1], &[F::Envelope], false);
        let env = "(\"Mon, 23 Nov 2026 10:00:00 +0100\" \"Hello\" ((\"Alice\" NIL \"alice\" \"example.org\")) \
((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Alice\" NIL \"alice\" \"example.org\")) \
((NIL NIL \"bob\" \"example.net\")) NIL NIL NIL \"<m1@example.org>\")";
        assert_eq!(got, format!("* 1 FETCH (ENVELOPE {env})\r\n* 2 FETCH (ENVELOPE {env})\r\n"));
        assert_eq!((v.header_reads, v.message_reads), (2, 0));
        let got = run(&mut v, &[0], &[body(false, vec![], Some(T::HeaderFields(vec!["SUBJECT".into(), "TO".into()])), None)], false);
        assert_eq!(got, "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT TO)] {39}\r\nTo: bob@example.net\r\nSubject: Hello\r\n\r\n FLAGS (\\Seen))\r\n");
        assert_eq!(v.message_reads, 0);
    }

    #[test]
    fn whole_message_items_and_seen() {
        let hdr = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Hello\r\n\
Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMessage-ID: <m1@example.org>\r\n\r\n";
        let text = "Hi Bob,\r\nbye.\r\n";
        let whole = format!("{hdr}{text}");
        let lit = |s: &str| format!("{{{}}}\r\n{s}", s.len());
        let cases: Vec<(F, String, bool)> = vec![
            (F::Rfc822, format!("RFC822 {}", lit(&whole)), true),
            (F::Rfc822Header, format!("RFC822.HEADER {}", lit(hdr)), false),
            (F::Rfc822Text, format!("RFC822.TEXT {}", lit(text)), true),
            (body(true, vec![], None, None), format!("BODY[] {}", lit(&whole)), false),
            (body(false, vec![], None, None), format!("BODY[] {}", lit(&whole)), true),
            (body(true, vec![], Some(T::Header), None), format!("BODY[HEADER] {}", lit(hdr)), false),
            (body(true, vec![], Some(T::Text), None), format!("BODY[TEXT] {}", lit(text)), false),
            (body(true, vec![1], None, None), format!("BODY[1] {}", lit(text)), false),
            // Part 1 of a single-part message is the message itself (Dovecot).
            (body(true, vec![1], Some(T::Mime), None), format!("BODY[1.MIME] {}", lit(hdr)), false),
            (body(true, vec![2], None, None), "BODY[2] {0}\r\n".to_string(), false),
            (
                body(true, vec![], Some(T::HeaderFieldsNot(vec!["FROM".into(), "DATE".into(), "MESSAGE-ID".into()])), None),
                format!("BODY[HEADER.FIELDS.NOT (FROM DATE MESSAGE-ID)] {}", lit("To: bob@example.net\r\nSubject: Hello\r\n\r\n")),
                false,
            ),
        ];
        for (attr, want, seen) in cases {
            let mut v = MemView::new(&[SIMPLE]);
            let got = run(&mut v, &[0], std::slice::from_ref(&attr), false);
            let flags = if seen { " FLAGS (\\Seen)" } else { "" };
            assert_eq!(got, format!("* 1 FETCH ({want}{flags})\r\n"), "{attr:?}");
            assert_eq!(v.messages[0].flags.contains(Flags::SEEN), seen, "{attr:?}");
            // Already seen: no FLAGS added; read-only: nothing set.
            assert_eq!(run(&mut v, &[0], std::slice::from_ref(&attr), false), format!("* 1 FETCH ({want})\r\n"));
            let mut v = MemView::new(&[SIMPLE]);
            v.read_only = true;
            assert_eq!(run(&mut v, &[0], std::slice::from_ref(&attr), false), format!("* 1 FETCH ({want})\r\n"));
        }
        // FLAGS asked for before the body shows the new \Seen in place.
        let mut v = MemView::new(&[SIMPLE]);
        let got = run(&mut v, &[0], &[F::Flags, body(false, vec![], Some(T::Text), None)], true);
        assert_eq!(got, format!("* 1 FETCH (UID 1 FLAGS (\\Seen) BODY[TEXT] {})\r\n", lit(text)));
    }

    #[test]
    fn partial_ranges() {
        let text = b"Hi Bob,\r\nbye.\r\n"; // 15 bytes
        let cases: &[((u32, u32), &str)] = &[
            ((0, 5), "BODY[TEXT]<0> {5}\r\nHi Bo"),
            ((3, 4), "BODY[TEXT]<3> {4}\r\nBob,"),
            ((10, 100), "BODY[TEXT]<10> {5}\r\nye.\r\n"),
            ((15, 1), "BODY[TEXT]<15> {0}\r\n"),
            ((99, 1), "BODY[TEXT]<99> {0}\r\n"),
            ((u32::MAX, u32::MAX), "BODY[TEXT]<4294967295> {0}\r\n"),
            ((0, u32::MAX), "BODY[TEXT]<0> {15}\r\nHi Bob,\r\nbye.\r\n"),
        ];
        assert_eq!(text.len(), 15);
        for &(p, want) in cases {
            let mut v = MemView::new(&[SIMPLE]);
            let got = run(&mut v, &[0], &[body(true, vec![], Some(T::Text), Some(p))], false);
            assert_eq!(got, format!("* 1 FETCH ({want})\r\n"), "{p:?}");
        }
        let mut v = MemView::new(&[SIMPLE]);
        let got = run(&mut v, &[0], &[body(true, vec![], Some(T::HeaderFields(vec!["TO".into()])), Some((4, 3)))], false);
        assert_eq!(got, "* 1 FETCH (BODY[HEADER.FIELDS (TO)]<4> {3}\r\nbob)\r\n");
    }

    #[test]
    fn nested_sections() {
        let cases: Vec<(Vec<u32>, Option<T>, &str)> = vec![
            (vec![1], None, "BODY[1] {5}\r\nfirst"),
            (vec![1], Some(T::Mime), "BODY[1.MIME] {28}\r\nContent-Type: text/plain\r\n\r\n"),
            (vec![2], Some(T::Header), "BODY[2.HEADER] {67}\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"),
            (vec![2], Some(T::HeaderFields(vec!["SUBJECT".into()])), "BODY[2.HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: inner\r\n\r\n"),
            (vec![2, 1], None, "BODY[2.1] {5}\r\nplain"),
            (vec![2, 2], None, "BODY[2.2] {8}\r\n<p>x</p>"),
            (vec![2, 2], Some(T::Mime), "BODY[2.2.MIME] {27}\r\nContent-Type: text/html\r\n\r\n"),
            (vec![2, 3], None, "BODY[2.3] {0}\r\n"),
            (vec![3], None, "BODY[3] {0}\r\n"),
            (vec![1], Some(T::Header), "BODY[1.HEADER] {0}\r\n"),
            (vec![1, 1], None, "BODY[1.1] {5}\r\nfirst"),
        ];
        for (part, text, want) in cases {
            let mut v = MemView::new(&[NESTED]);
            let got = run(&mut v, &[0], &[body(true, part.clone(), text.clone(), None)], false);
            assert_eq!(got, format!("* 1 FETCH ({want})\r\n"), "{part:?} {text:?}");
        }
        let mut v = MemView::new(&[NESTED]);
        let got = run(&mut v, &[0], &[body(true, vec![2], Some(T::Text), Some((0, 10)))], false);
        assert_eq!(got, "* 1 FETCH (BODY[2.TEXT]<0> {10}\r\n--i\r\n\r\npla)\r\n");
    }

    #[test]
    fn structure_items_match_message_renderers() {
        for n in ["001", "003", "005", "007"] {
            let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/messages/{n}.eml"));
            let msg = std::fs::read(p).expect("fixture");
            let mut v = MemView::new(&[&msg]);
            let got = run(&mut v, &[0], &[F::Body, F::BodyStructure, F::Envelope], false);
            let want_bs = std::fs::read_to_string(format!("{}/tests/fixtures/messages/{n}.bodystructure", env!("CARGO_MANIFEST_DIR"))).expect("golden");
            let want_b = std::fs::read_to_string(format!("{}/tests/fixtures/messages/{n}.body", env!("CARGO_MANIFEST_DIR"))).expect("golden");
            let want_e = std::fs::read_to_string(format!("{}/tests/fixtures/messages/{n}.envelope", env!("CARGO_MANIFEST_DIR"))).expect("golden");
            let want = format!("* 1 FETCH (BODY {} BODYSTRUCTURE {} ENVELOPE {})\r\n", want_b.trim_end(), want_bs.trim_end(), want_e.trim_end());
            assert_eq!(got, want, "{n}");
        }
    }

    /// Pulls the literal out of a one-item FETCH response.
    fn literal_of(resp: &[u8]) -> Vec<u8> {
        let open = resp.iter().position(|&b| b == b'{').expect("literal");
        let close = open + resp[open..].iter().position(|&b| b == b'}').expect("}");
        let n: usize = std::str::from_utf8(&resp[open + 1..close]).expect("ascii").parse().expect("number");
        resp[close + 3..close + 3 + n].to_vec()
    }

    /// Every fixture, fetched whole and in partial chunks of 1..512 bytes:
    /// the chunks put together are the whole section, and HEADER + TEXT is
    /// the message.
    #[test]
    fn partial_chunks_reassemble_fixtures() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages");
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .expect("fixtures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        assert!(!names.is_empty());
        for path in names {
            let msg = std::fs::read(&path).expect("fixture");
            let mut v = MemView::new(&[&msg]);
            let one = |v: &mut MemView, attr: F| {
                let mut out = Vec::new();
                fetch(v, [0], &[attr], false, &mut out).expect("fetch");
                literal_of(&out)
            };
            let whole = one(&mut v, body(true, vec![], None, None));
            assert_eq!(whole, v.messages[0].data, "{}", path.display());
            let mut joined = one(&mut v, body(true, vec![], Some(T::Header), None));
            joined.extend(one(&mut v, body(true, vec![], Some(T::Text), None)));
            assert_eq!(joined, whole, "{}", path.display());
            for (part, text) in [(vec![], None), (vec![1], None), (vec![], Some(T::Text)), (vec![2], Some(T::Mime))] {
                let full = one(&mut v, body(true, part.clone(), text.clone(), None));
                for chunk in [1u32, 2, 3, 7, 64, 512] {
                    let mut got = Vec::new();
                    let mut origin = 0u32;
                    loop {
                        let piece = one(&mut v, body(true, part.clone(), text.clone(), Some((origin, chunk))));
                        if piece.is_empty() {
                            break;
                        }
                        assert!(piece.len() <= chunk as usize);
                        got.extend(piece);
                        origin += chunk;
                    }
                    assert_eq!(got, full, "{} {part:?} {text:?} chunk {chunk}", path.display());
                }
            }
            assert!(!v.messages[0].flags.contains(Flags::SEEN), "PEEK must not set \\Seen");
        }
    }

    /// Every item on every prefix of every fixture (truncated messages,
    /// headers without an end, cut boundaries): no panic, and each
    /// response is one well-formed line per message.
    #[test]
    fn truncated_messages_never_panic() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages");
        let fixtures: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .expect("fixtures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| std::fs::read(p).ok())
            .collect();
        let attrs = vec![
            F::Flags,
            F::Envelope,
            F::Body,
            F::BodyStructure,
            F::Rfc822Header,
            F::Rfc822Text,
            body(true, vec![], Some(T::HeaderFields(vec!["SUBJECT".into()])), Some((3, 9))),
            body(true, vec![2, 1], Some(T::Mime), None),
            body(true, vec![2], Some(T::Text), Some((1, 1))),
            body(true, vec![1, 1, 1], None, None),
        ];
        for msg in &fixtures {
            for cut in (0..=msg.len()).step_by(3) {
                let mut v = MemView::new(&[&msg[..cut]]);
                v.messages[0].data = msg[..cut].to_vec();
                let mut out = Vec::new();
                fetch(&mut v, [0], &attrs, true, &mut out).expect("fetch");
                assert!(out.starts_with(b"* 1 FETCH (UID 1 FLAGS (\\Seen) ENVELOPE (") && out.ends_with(b")\r\n"));
            }
        }
    }

    #[test]
    fn expunged_elsewhere_is_skipped_and_counted() {
        let mut v = MemView::new(&[SIMPLE, SIMPLE, SIMPLE]);
        v.gone = Some(1);
        let mut out = Vec::new();
        let done = fetch(&mut v, [0, 1, 2], &[F::Rfc822Header], false, &mut out).expect("fetch");
        assert_eq!(done, Fetched { expunged: 1 });
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("* 1 FETCH (RFC822.HEADER {"), "{text}");
        assert!(text.contains("* 3 FETCH (RFC822.HEADER {") && !text.contains("* 2 FETCH"), "{text}");
        // Metadata-only items never read, so nothing is skipped.
        let mut out = Vec::new();
        assert_eq!(fetch(&mut v, [1], &[F::Uid], false, &mut out).expect("fetch"), Fetched { expunged: 0 });
        assert_eq!(out, b"* 2 FETCH (UID 2)\r\n");
        // A non-peek fetch of a message that cannot be read does not set \Seen.
        let mut out = Vec::new();
        fetch(&mut v, [1], &[F::Rfc822], false, &mut out).expect("fetch");
        assert!(out.is_empty() && !v.messages[1].flags.contains(Flags::SEEN));
    }

    #[test]
    fn macros_and_several_messages() {
        let mut v = MemView::new(&[SIMPLE, NESTED, b"Subject: x\n\nshort\n"]);
        // FAST as the parser expands it.
        let got = run(&mut v, &[0, 2], &[F::Flags, F::InternalDate, F::Rfc822Size], true);
        assert_eq!(
            got,
            format!(
                "* 1 FETCH (UID 1 FLAGS () INTERNALDATE \"20-Nov-2026 12:00:00 +0000\" RFC822.SIZE {})\r\n\
                 * 3 FETCH (UID 3 FLAGS () INTERNALDATE \"22-Nov-2026 12:00:00 +0000\" RFC822.SIZE 21)\r\n",
                v.messages[0].data.len()
            )
        );
        let mut out = Vec::new();
        let mut plan = Fetch::new(&[F::Uid], true);
        assert!(plan.metadata_only());
        plan.message(&mut v, 1, &mut out).expect("fetch");
        assert_eq!(out, b"* 2 FETCH (UID 2)\r\n");
    }
}
