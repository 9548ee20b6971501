//! SEARCH and UID SEARCH evaluation (RFC 3501 §6.4.4) with WITHIN's
//! OLDER/YOUNGER (RFC 5032), and the `* SEARCH` / `* ESEARCH` responses
//! (RFC 3501 §7.2.5, RFC 4731 §3.1). SORT and THREAD use the same
//! [`Query`] to pick their messages.
//!
//! ```text
//! search = "SEARCH" [SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"]
//!          [SP "CHARSET" SP astring] 1*(SP search-key)
//! ```
//!
//! The parsed [`SearchKey`] tree is compiled once into a [`Query`]: needles
//! are case-folded, dates turned into day numbers, sequence and UID sets
//! resolved, and the operands of every AND/OR ordered by cost, so flag,
//! size, date and set tests run before header tests, and header tests
//! before body tests. Per message the header or the whole message is read
//! only when a test that needs it is reached, and at most once; buffers are
//! reused across messages. Header-only keys (FROM, SUBJECT, HEADER,
//! SENT*) therefore never read a body.
//!
//! Text keys match case-insensitively on decoded text (RFC 2047 words,
//! quoted-printable, base64, charsets: see `message::search`); as in
//! Dovecot, BODY looks at text parts only and TEXT adds every header
//! block (the message's, each part's, each embedded message's). The search
//! CHARSET may be UTF-8 or US-ASCII (or absent); anything else is
//! [`SearchError::BadCharset`], which the session answers with
//! `NO [BADCHARSET (UTF-8 US-ASCII)]`. Message dates (SENT*) are the Date:
//! header's calendar date as written; a message without a parsable Date:
//! matches no SENT* key. `$` (RFC 5182 SEARCHRES) is resolved by the
//! session before it calls in; here it names no message.

use crate::imap::sequence::Ranges;
use crate::imap::view::MailView;
use crate::imap::wire::command::{Date, SearchKey, SearchReturn, Tag};
use crate::imap::wire::Response;
use crate::message::date::{days_from_civil, parse_rfc5322};
use crate::message::header;
use crate::message::mime::{self, Part};
use crate::message::search::{Needle, Scope, Scratch};
use crate::store::{ErrorKind, Flags, StoreError};

/// Charsets SEARCH/SORT/THREAD accept, as `BADCHARSET` lists them.
pub const CHARSETS: [&str; 2] = ["UTF-8", "US-ASCII"];

/// Why a search could not be run.
#[derive(Debug)]
pub enum SearchError {
    /// The CHARSET is not one of [`CHARSETS`]: `NO [BADCHARSET (...)]`.
    BadCharset,
    /// Reading a message failed: the session maps the kind to NO.
    Store(StoreError),
}

impl From<StoreError> for SearchError {
    fn from(e: StoreError) -> SearchError {
        SearchError::Store(e)
    }
}

/// How much of a message a test needs; also the evaluation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cost {
    Metadata,
    Header,
    Message,
}

/// Day comparison of BEFORE/ON/SINCE and SENT*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DayCmp {
    Before,
    On,
    Since,
}

impl DayCmp {
    fn test(self, day: i64, key: i64) -> bool {
        match self {
            DayCmp::Before => day < key,
            DayCmp::On => day == key,
            DayCmp::Since => day >= key,
        }
    }
}

/// A compiled search key.
#[derive(Debug)]
enum Node {
    All,
    /// Flag set (`true`) or clear (`false`).
    Flag(Flags, bool),
    Recent(bool),
    /// RECENT and UNSEEN.
    New,
    /// Keyword present (`true`) or absent.
    Keyword(String, bool),
    /// Sequence numbers (1-based).
    Seq(Ranges),
    Uid(Ranges),
    Larger(u64),
    Smaller(u64),
    /// Internal date's calendar day (in its own zone) against a day number.
    Internal(DayCmp, i64),
    /// OLDER (`true`) / YOUNGER (`false`) than this many seconds.
    Within(bool, i64),
    /// Date: header's calendar day against a day number.
    Sent(DayCmp, i64),
    /// A header field (FROM, TO, CC, BCC, SUBJECT, HEADER name) contains
    /// the needle; an empty needle tests presence.
    Field(String, Needle),
    /// BODY (`Scope::Body`) or TEXT (`Scope::Text`).
    Text(Needle, Scope),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Box<Node>, Box<Node>),
}

impl Node {
    fn cost(&self) -> Cost {
        match self {
            Node::Field(..) | Node::Sent(..) => Cost::Header,
            Node::Text(..) => Cost::Message,
            Node::Not(n) => n.cost(),
            Node::And(v) => v.iter().map(Node::cost).max().unwrap_or(Cost::Metadata),
            Node::Or(a, b) => a.cost().max(b.cost()),
            _ => Cost::Metadata,
        }
    }
}

fn day_number(d: &Date) -> i64 {
    days_from_civil(i32::from(d.year), u32::from(d.month), u32::from(d.day))
}

/// Compilation context: what sets resolve against.
struct Compiler {
    count: u32,
    max_uid: u32,
}

impl Compiler {
    fn needle(&self, s: &[u8]) -> Needle {
        Needle::new(&String::from_utf8_lossy(s))
    }

    fn compile(&self, key: &SearchKey) -> Node {
        use SearchKey as K;
        let field = |name: &str, s: &[u8]| Node::Field(name.to_string(), self.needle(s));
        match key {
            K::All => Node::All,
            K::Answered => Node::Flag(Flags::ANSWERED, true),
            K::Deleted => Node::Flag(Flags::DELETED, true),
            K::Draft => Node::Flag(Flags::DRAFT, true),
            K::Flagged => Node::Flag(Flags::FLAGGED, true),
            K::Seen => Node::Flag(Flags::SEEN, true),
            K::Unanswered => Node::Flag(Flags::ANSWERED, false),
            K::Undeleted => Node::Flag(Flags::DELETED, false),
            K::Undraft => Node::Flag(Flags::DRAFT, false),
            K::Unflagged => Node::Flag(Flags::FLAGGED, false),
            K::Unseen => Node::Flag(Flags::SEEN, false),
            K::Recent => Node::Recent(true),
            K::Old => Node::Recent(false),
            K::New => Node::New,
            K::Keyword(k) => Node::Keyword(k.clone(), true),
            K::Unkeyword(k) => Node::Keyword(k.clone(), false),
            K::Larger(n) => Node::Larger(u64::from(*n)),
            K::Smaller(n) => Node::Smaller(u64::from(*n)),
            K::Before(d) => Node::Internal(DayCmp::Before, day_number(d)),
            K::On(d) => Node::Internal(DayCmp::On, day_number(d)),
            K::Since(d) => Node::Internal(DayCmp::Since, day_number(d)),
            K::SentBefore(d) => Node::Sent(DayCmp::Before, day_number(d)),
            K::SentOn(d) => Node::Sent(DayCmp::On, day_number(d)),
            K::SentSince(d) => Node::Sent(DayCmp::Since, day_number(d)),
            K::Older(n) => Node::Within(true, i64::from(*n)),
            K::Younger(n) => Node::Within(false, i64::from(*n)),
            K::Bcc(s) => field("Bcc", s),
            K::Cc(s) => field("Cc", s),
            K::From(s) => field("From", s),
            K::To(s) => field("To", s),
            K::Subject(s) => field("Subject", s),
            K::Header(name, s) => field(&String::from_utf8_lossy(name), s),
            K::Body(s) => Node::Text(self.needle(s), Scope::Body),
            K::Text(s) => Node::Text(self.needle(s), Scope::Text),
            // Numbers past the end name no message rather than failing the
            // whole SEARCH (clients send stale sets; UW and Dovecot agree).
            K::Sequence(set) => Node::Seq(set.resolve_uid(self.count)),
            K::Uid(set) => Node::Uid(set.resolve_uid(self.max_uid)),
            K::Not(k) => Node::Not(Box::new(self.compile(k))),
            K::Or(a, b) => {
                let (a, b) = (self.compile(a), self.compile(b));
                if b.cost() < a.cost() {
                    Node::Or(Box::new(b), Box::new(a))
                } else {
                    Node::Or(Box::new(a), Box::new(b))
                }
            }
            K::And(keys) => {
                let mut v: Vec<Node> = keys.iter().map(|k| self.compile(k)).collect();
                v.sort_by_key(Node::cost); // stable: equal costs keep the client's order
                Node::And(v)
            }
        }
    }
}

/// Per-message lazily loaded text, with buffers reused across messages.
#[derive(Default)]
struct Loaded {
    /// Header, or the whole message once `message` is true.
    buf: Vec<u8>,
    header: bool,
    message: bool,
    body_off: usize,
    tree: Option<Part>,
    scratch: Scratch,
}

impl Loaded {
    fn reset(&mut self) {
        self.buf.clear();
        self.header = false;
        self.message = false;
        self.tree = None;
    }

    fn header<V: MailView + ?Sized>(&mut self, view: &mut V, i: usize) -> Result<&[u8], StoreError> {
        if !self.header && !self.message {
            self.buf.clear();
            view.header(i, &mut self.buf)?;
            self.body_off = self.buf.len();
            self.header = true;
        }
        Ok(&self.buf[..self.body_off])
    }

    fn message<V: MailView + ?Sized>(&mut self, view: &mut V, i: usize) -> Result<(), StoreError> {
        if !self.message {
            self.buf.clear();
            view.message(i, &mut self.buf)?;
            self.body_off = header::body_offset(&self.buf);
            self.message = true;
        }
        if self.tree.is_none() {
            // Text search never looks at line counts: skip that pass.
            self.tree = Some(mime::parse_without_lines(&self.buf));
        }
        Ok(())
    }
}

/// A compiled search, reusable over the messages of one mailbox.
pub struct Query {
    root: Node,
    now: i64,
    loaded: Loaded,
}

impl Query {
    /// Compiles `key` for `view` (sets resolve against its current size and
    /// largest UID). `charset` is the command's CHARSET, upper-cased, or
    /// `None`; `now` is the current unix time, for OLDER/YOUNGER.
    pub fn new<V: MailView + ?Sized>(view: &V, key: &SearchKey, charset: Option<&str>, now: i64) -> Result<Query, SearchError> {
        if let Some(cs) = charset {
            if !CHARSETS.iter().any(|c| c.eq_ignore_ascii_case(cs)) {
                return Err(SearchError::BadCharset);
            }
        }
        let count = view.count();
        let max_uid = if count == 0 { 0 } else { view.uid(count - 1) };
        let compiler = Compiler { count: u32::try_from(count).unwrap_or(u32::MAX), max_uid };
        Ok(Query { root: compiler.compile(key), now, loaded: Loaded::default() })
    }

    /// The header of message `i`, after [`Query::matches`] on the same
    /// message: reuses what the search already read (SORT and THREAD keys).
    pub(crate) fn header<V: MailView + ?Sized>(&mut self, view: &mut V, i: usize) -> Result<&[u8], StoreError> {
        self.loaded.header(view, i)
    }

    /// Does message `i` match? A message another session expunged
    /// meanwhile (read fails with `ErrorKind::NotFound`) does not.
    pub fn matches<V: MailView + ?Sized>(&mut self, view: &mut V, i: usize) -> Result<bool, StoreError> {
        self.loaded.reset();
        match eval(&self.root, view, i, self.now, &mut self.loaded) {
            Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
            r => r,
        }
    }

    /// Indexes of all matching messages, ascending.
    pub fn run<V: MailView + ?Sized>(&mut self, view: &mut V) -> Result<Vec<usize>, StoreError> {
        let mut hits = Vec::new();
        for i in 0..view.count() {
            if self.matches(view, i)? {
                hits.push(i);
            }
        }
        Ok(hits)
    }
}

fn eval<V: MailView + ?Sized>(node: &Node, view: &mut V, i: usize, now: i64, ld: &mut Loaded) -> Result<bool, StoreError> {
    Ok(match node {
        Node::All => true,
        Node::Flag(f, want) => view.flags(i).contains(*f) == *want,
        Node::Recent(want) => view.recent(i) == *want,
        Node::New => view.recent(i) && !view.flags(i).contains(Flags::SEEN),
        Node::Keyword(k, want) => view.keywords(i).iter().any(|x| x.eq_ignore_ascii_case(k)) == *want,
        Node::Seq(r) => u32::try_from(i + 1).is_ok_and(|n| r.contains(n)),
        Node::Uid(r) => r.contains(view.uid(i)),
        Node::Larger(n) => view.size(i) > *n,
        Node::Smaller(n) => view.size(i) < *n,
        Node::Internal(cmp, key) => {
            let (ts, zone) = view.internal_date(i);
            cmp.test((ts + i64::from(zone) * 60).div_euclid(86_400), *key)
        }
        Node::Within(older, secs) => {
            let age = now - view.internal_date(i).0;
            if *older {
                age >= *secs
            } else {
                age <= *secs
            }
        }
        Node::Sent(cmp, key) => {
            let hdr = ld.header(view, i)?;
            header::find(hdr, "Date").and_then(parse_rfc5322).is_some_and(|d| cmp.test(d.day_number(), *key))
        }
        Node::Field(name, needle) if ["From", "To", "Cc", "Bcc"].contains(&name.as_str()) => {
            needle.in_address_field(ld.header(view, i)?, name)
        }
        Node::Field(name, needle) => needle.in_header_field(ld.header(view, i)?, name),
        Node::Text(needle, scope) => {
            ld.message(view, i)?;
            match &ld.tree {
                Some(root) => needle.in_message(&ld.buf, root, *scope, &mut ld.scratch),
                None => false,
            }
        }
        Node::Not(n) => !eval(n, view, i, now, ld)?,
        Node::And(v) => {
            for n in v {
                if !eval(n, view, i, now, ld)? {
                    return Ok(false);
                }
            }
            true
        }
        Node::Or(a, b) => eval(a, view, i, now, ld)? || eval(b, view, i, now, ld)?,
    })
}

/// Runs `key` over the whole mailbox: matching indexes, ascending.
pub fn search<V: MailView + ?Sized>(view: &mut V, key: &SearchKey, charset: Option<&str>, now: i64) -> Result<Vec<usize>, SearchError> {
    let mut q = Query::new(view, key, charset, now)?;
    Ok(q.run(view)?)
}

/// The numbers a response shows for `hits`: sequence numbers or UIDs.
fn numbers<'a, V: MailView + ?Sized>(view: &'a V, hits: &'a [usize], uid: bool) -> impl Iterator<Item = u32> + 'a {
    hits.iter().map(move |&i| if uid { view.uid(i) } else { u32::try_from(i + 1).unwrap_or(u32::MAX) })
}

/// `* SEARCH n...` (RFC 3501 §7.2.5), `hits` ascending.
///
/// ```text
/// mailbox-data =/ "SEARCH" *(SP nz-number)
/// ```
pub fn render_search<V: MailView + ?Sized>(view: &V, hits: &[usize], uid: bool, out: &mut Vec<u8>) {
    let mut r = Response::new();
    r.search(numbers(view, hits, uid));
    out.extend_from_slice(r.as_bytes());
}

/// `* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [ALL set] [COUNT n]` (RFC
/// 4731 §3.1). An empty `returns` means ALL (§3.1); nothing is written when
/// SAVE is the only option (RFC 5182 §2.4: the session saves `hits`).
///
/// ```text
/// esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
/// search-return-data = "MIN" SP nz-number / "MAX" SP nz-number /
///                      "ALL" SP sequence-set / "COUNT" SP number
/// ```
pub fn render_esearch<V: MailView + ?Sized>(
    view: &V,
    tag: &Tag,
    hits: &[usize],
    uid: bool,
    returns: &[SearchReturn],
    out: &mut Vec<u8>,
) {
    let all = returns.is_empty() || returns.contains(&SearchReturn::All);
    let want = |r: SearchReturn| returns.contains(&r);
    if !all && returns.iter().all(|r| *r == SearchReturn::Save) {
        return;
    }
    // Hits are ascending and UIDs grow with the index, so the ends are the
    // extremes in both numberings.
    let mut nums = numbers(view, hits, uid);
    let min = if want(SearchReturn::Min) { nums.next() } else { None };
    let max = if want(SearchReturn::Max) { numbers(view, hits, uid).last() } else { None };
    let set = if all { Some(Ranges::from_numbers(numbers(view, hits, uid)).to_string()) } else { None };
    let count = if want(SearchReturn::Count) { Some(u32::try_from(hits.len()).unwrap_or(u32::MAX)) } else { None };
    let mut r = Response::new();
    r.esearch(tag, uid, min, max, set.as_deref(), count);
    out.extend_from_slice(r.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::sequence::SequenceSet;
    use crate::imap::view::mem::MemView;
    use SearchKey as K;

    /// 1: plain, seen+answered, small. 2: QP + base64 + encoded From,
    /// flagged+deleted, keyword. 3: no Date, recent, draft. 4: nested
    /// message with Cc/Bcc, recent+seen.
    fn mailbox() -> MemView {
        let m1: &[u8] = b"From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: Lunch plans\n\
Date: Mon, 16 Nov 2026 23:30:00 -0800\nMessage-ID: <1@x>\n\nShall we meet at noon?\n";
        let m2: &[u8] = b"From: =?iso-8859-1?q?J=F6rg_M=FCller?= <joerg@example.de>\nTo: team@example.org\n\
Subject: =?utf-8?b?UXVhcnRhbHNiZXJpY2h0IMOcYmVyc2ljaHQ=?=\nDate: Tue, 17 Nov 2026 09:00:00 +0100\n\
X-Priority: 1\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
Gr=C3=BC=C3=9Fe aus M=C3=BCnchen, soft=\nbroken\n--b\nContent-Type: text/plain\n\
Content-Transfer-Encoding: base64\n\nSGlkZGVuIFplcGh5ciBpbiBiYXNlNjQ=\n--b--\n";
        let m3: &[u8] = b"From: carol@example.com\nTo: bob@example.net\nSubject: Re: Lunch plans\n\nno date here\n";
        let m4: &[u8] = b"From: dave@example.com\nTo: bob@example.net\nCc: Erin <erin@example.org>\n\
Bcc: frank@example.org\nSubject: Fwd: report\nDate: 20 Nov 2026 12:00 +0000\n\
Content-Type: message/rfc822\n\nFrom: inner@example.org\nSubject: Inner Title\n\ninner body words\n";
        let mut v = MemView::new(&[m1, m2, m3, m4]);
        v.messages[0].flags = Flags(Flags::SEEN.0 | Flags::ANSWERED.0);
        v.messages[1].flags = Flags(Flags::FLAGGED.0 | Flags::DELETED.0);
        v.messages[1].keywords = vec!["$Work".into()];
        v.messages[2].flags = Flags::DRAFT;
        v.messages[2].recent = true;
        v.messages[3].flags = Flags::SEEN;
        v.messages[3].recent = true;
        for (m, uid) in v.messages.iter_mut().zip([10, 20, 30, 40]) {
            m.uid = uid;
        }
        v
    }

    const NOW: i64 = 1_795_176_000 + 3 * 86_400 + 3600; // an hour after message 4 arrived

    fn date(s: &str) -> Date {
        crate::imap::wire::parse::parse_date(s.as_bytes()).expect("date")
    }

    fn set(s: &str) -> SequenceSet {
        SequenceSet::parse(s.as_bytes()).expect("set")
    }

    fn s(x: &str) -> Vec<u8> {
        x.as_bytes().to_vec()
    }

    #[test]
    fn every_key() {
        let sizes: Vec<u32> = mailbox().messages.iter().map(|m| m.data.len() as u32).collect();
        let table: Vec<(SearchKey, Vec<u32>)> = vec![
            (K::All, vec![1, 2, 3, 4]),
            (K::Answered, vec![1]),
            (K::Unanswered, vec![2, 3, 4]),
            (K::Deleted, vec![2]),
            (K::Undeleted, vec![1, 3, 4]),
            (K::Draft, vec![3]),
            (K::Undraft, vec![1, 2, 4]),
            (K::Flagged, vec![2]),
            (K::Unflagged, vec![1, 3, 4]),
            (K::Seen, vec![1, 4]),
            (K::Unseen, vec![2, 3]),
            (K::Recent, vec![3, 4]),
            (K::Old, vec![1, 2]),
            (K::New, vec![3]),
            (K::Keyword("$work".into()), vec![2]),
            (K::Unkeyword("$Work".into()), vec![1, 3, 4]),
            (K::Larger(sizes[0]), vec![2, 4]),
            (K::Smaller(sizes[0] + 1), vec![1, 3]),
            // Internal dates: 20, 21, 22, 23 Nov 2026, 12:00 UTC.
            (K::Before(date("21-Nov-2026")), vec![1]),
            (K::On(date("22-Nov-2026")), vec![3]),
            (K::Since(date("22-Nov-2026")), vec![3, 4]),
            // Sent dates as written: 16 Nov (-0800), 17 Nov, none, 20 Nov.
            (K::SentBefore(date("17-Nov-2026")), vec![1]),
            (K::SentOn(date("17-Nov-2026")), vec![2]),
            (K::SentSince(date("17-Nov-2026")), vec![2, 4]),
            (K::Older(2 * 86_400), vec![1, 2]),
            (K::Younger(2 * 86_400), vec![3, 4]),
            (K::From(s("ALICE")), vec![1]),
            (K::From(s("jörg müller")), vec![2]),
            (K::From(s("example.com")), vec![3, 4]),
            (K::To(s("bob@")), vec![1, 3, 4]),
            (K::Cc(s("erin")), vec![4]),
            (K::Bcc(s("frank")), vec![4]),
            (K::Subject(s("lunch")), vec![1, 3]),
            (K::Subject(s("übersicht")), vec![2]),
            (K::Subject(s("inner")), vec![]),
            (K::Header(s("x-priority"), s("1")), vec![2]),
            (K::Header(s("Cc"), s("")), vec![4]),
            (K::Header(s("Message-ID"), s("<1@X>")), vec![1]),
            (K::Body(s("grüße aus münchen")), vec![2]),
            (K::Body(s("SOFTBROKEN")), vec![2]),
            (K::Body(s("zephyr in base64")), vec![2]),
            (K::Body(s("noon")), vec![1]),
            (K::Body(s("lunch")), vec![]),
            // BODY is text parts only; TEXT adds every header block (Dovecot).
            (K::Body(s("inner title")), vec![]),
            (K::Text(s("inner title")), vec![4]),
            (K::Text(s("lunch")), vec![1, 3]),
            (K::Text(s("inner body")), vec![4]),
            (K::Uid(set("20:35")), vec![2, 3]),
            (K::Uid(set("*")), vec![4]),
            (K::Uid(set("41:*")), vec![4]),
            (K::Sequence(set("2,4")), vec![2, 4]),
            (K::Sequence(set("3:*")), vec![3, 4]),
            (K::Sequence(set("9")), vec![]),
            (K::Not(Box::new(K::Seen)), vec![2, 3]),
            (K::Or(Box::new(K::Draft), Box::new(K::Answered)), vec![1, 3]),
            (K::And(vec![K::Subject(s("lunch")), K::Unseen]), vec![3]),
            (K::And(vec![K::Or(Box::new(K::Body(s("noon"))), Box::new(K::Flagged)), K::Not(Box::new(K::Deleted))]), vec![1]),
        ];
        for (key, want) in table {
            let mut v = mailbox();
            let got = search(&mut v, &key, Some("UTF-8"), NOW).expect("search");
            let got: Vec<u32> = got.iter().map(|&i| i as u32 + 1).collect();
            assert_eq!(got, want, "{key:?}");
        }
    }

    #[test]
    fn reads_only_what_is_needed() {
        let cases: Vec<(SearchKey, usize, usize)> = vec![
            (K::Seen, 0, 0),
            (K::And(vec![K::Larger(1), K::Uid(set("1:*")), K::Since(date("1-Jan-2000"))]), 0, 0),
            (K::From(s("alice")), 4, 0),
            (K::And(vec![K::From(s("x")), K::Subject(s("y")), K::SentOn(date("1-Jan-2000"))]), 4, 0),
            // Cheap keys first: only the two unseen messages get a header read.
            (K::And(vec![K::Subject(s("lunch")), K::Unseen]), 2, 0),
            (K::And(vec![K::Body(s("noon")), K::Deleted]), 0, 1),
            (K::Body(s("noon")), 0, 4),
            // The header comes from the message once that is loaded.
            (K::And(vec![K::Body(s("noon")), K::From(s("alice"))]), 4, 1),
        ];
        for (key, headers, messages) in cases {
            let mut v = mailbox();
            search(&mut v, &key, None, NOW).expect("search");
            assert_eq!((v.header_reads, v.message_reads), (headers, messages), "{key:?}");
        }
    }

    #[test]
    fn charsets() {
        let mut v = mailbox();
        for cs in [None, Some("UTF-8"), Some("US-ASCII"), Some("utf-8")] {
            assert!(search(&mut v, &K::All, cs, NOW).is_ok(), "{cs:?}");
        }
        for cs in ["ISO-8859-1", "KOI8-R", ""] {
            assert!(matches!(search(&mut v, &K::All, Some(cs), NOW), Err(SearchError::BadCharset)), "{cs}");
        }
    }

    #[test]
    fn responses() {
        let v = mailbox();
        let tag = Tag("t1".into());
        type Case = (Vec<usize>, bool, Option<Vec<SearchReturn>>, &'static str);
        let cases: Vec<Case> = vec![
            (vec![0, 2, 3], false, None, "* SEARCH 1 3 4\r\n"),
            (vec![0, 2, 3], true, None, "* SEARCH 10 30 40\r\n"),
            (vec![], false, None, "* SEARCH\r\n"),
            (vec![0, 2, 3], false, Some(vec![]), "* ESEARCH (TAG \"t1\") ALL 1,3:4\r\n"),
            (
                vec![0, 2, 3],
                true,
                Some(vec![SearchReturn::Min, SearchReturn::Max, SearchReturn::Count, SearchReturn::All]),
                "* ESEARCH (TAG \"t1\") UID MIN 10 MAX 40 ALL 10,30,40 COUNT 3\r\n",
            ),
            (vec![1], false, Some(vec![SearchReturn::Count]), "* ESEARCH (TAG \"t1\") COUNT 1\r\n"),
            (vec![], true, Some(vec![SearchReturn::Min, SearchReturn::Count]), "* ESEARCH (TAG \"t1\") UID COUNT 0\r\n"),
            (vec![1], false, Some(vec![SearchReturn::Save]), ""),
            (vec![1], false, Some(vec![SearchReturn::Save, SearchReturn::Min]), "* ESEARCH (TAG \"t1\") MIN 2\r\n"),
        ];
        for (hits, uid, returns, want) in cases {
            let mut out = Vec::new();
            match &returns {
                None => render_search(&v, &hits, uid, &mut out),
                Some(r) => render_esearch(&v, &tag, &hits, uid, r, &mut out),
            }
            assert_eq!(String::from_utf8_lossy(&out), want, "{hits:?} {returns:?}");
        }
    }

    #[test]
    fn expunged_elsewhere_does_not_match() {
        let mut v = mailbox();
        v.gone = Some(0);
        let hits = search(&mut v, &K::Not(Box::new(K::From(s("nobody")))), None, NOW).expect("search");
        assert_eq!(hits, vec![1, 2, 3]);
    }

    #[test]
    fn empty_mailbox() {
        let mut v = MemView::new(&[]);
        let hits = search(&mut v, &K::And(vec![K::Uid(set("1:*")), K::Sequence(set("*"))]), None, NOW).expect("search");
        assert!(hits.is_empty());
    }
}

/// Timing of the read side on a real mbox, held in memory so only this
/// crate's work is measured (not run by default):
/// `POSTERN_BENCH_MBOX=/tmp/big10k.mbox POSTERN_BENCH_WORD=zqx007919vorn
/// cargo test --release --lib imap::command::search::bench -- --ignored --nocapture`
#[cfg(test)]
mod bench {
    use std::time::Instant;

    use super::*;
    use crate::imap::command::fetch::fetch;
    use crate::imap::view::mem::MemView;
    use crate::imap::wire::command::FetchAttr;

    #[test]
    #[ignore]
    fn bench_mbox() {
        let Some(path) = std::env::var_os("POSTERN_BENCH_MBOX") else { return };
        let word = std::env::var("POSTERN_BENCH_WORD").unwrap_or_else(|_| "zqx007919vorn".into());
        let data = std::fs::read(path).expect("read mbox");
        let mut starts: Vec<usize> = memchr::memmem::find_iter(&data, b"\nFrom ").map(|i| i + 1).collect();
        starts.insert(0, 0);
        let msgs: Vec<&[u8]> = starts
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let e = starts.get(i + 1).copied().unwrap_or(data.len());
                let m = &data[s..e];
                &m[memchr::memchr(b'\n', m).map_or(m.len(), |n| n + 1)..]
            })
            .collect();
        let mut v = MemView::new(&msgs);
        drop(data);
        let n = v.count();
        for (attrs, name) in [(vec![FetchAttr::Envelope], "ENVELOPE"), (vec![FetchAttr::BodyStructure], "BODYSTRUCTURE")] {
            let t = Instant::now();
            let mut out = Vec::new();
            let mut total = 0;
            let mut plan = super::super::fetch::Fetch::new(&attrs, false);
            for i in 0..n {
                plan.message(&mut v, i, &mut out).expect("fetch");
                total += out.len();
                out.clear();
            }
            println!("FETCH 1:{n} {name}: {:?} ({total} bytes)", t.elapsed());
        }
        let t = Instant::now();
        let mut out = Vec::new();
        fetch(&mut v, [5000usize], &[FetchAttr::Rfc822], false, &mut out).expect("fetch");
        println!("FETCH 5001 RFC822: {:?} ({} bytes)", t.elapsed(), out.len());
        let t = Instant::now();
        let hits = search(&mut v, &SearchKey::Body(word.clone().into_bytes()), None, 0).expect("search");
        println!("SEARCH BODY {word}: {:?} hits {:?}", t.elapsed(), hits.iter().map(|i| i + 1).collect::<Vec<_>>());
        let t = Instant::now();
        let mut buf = Vec::new();
        let mut parts = 0;
        for i in 0..n {
            buf.clear();
            v.message(i, &mut buf).expect("read");
            parts += crate::message::mime::parse(&buf).children().len();
        }
        println!("read+parse only: {:?} ({parts})", t.elapsed());
        let t = Instant::now();
        let hits = search(&mut v, &SearchKey::From(b"nobody-at-all".to_vec()), None, 0).expect("search");
        println!("SEARCH FROM: {:?} hits {}", t.elapsed(), hits.len());
    }

    /// The same through the real mbox store (a copy of the file is best:
    /// opening takes the mailbox locks): `POSTERN_BENCH_STORE=/path`.
    #[test]
    #[ignore]
    fn bench_store() {
        use crate::store::mbox::{Mailbox, OpenOptions};
        use crate::store::{Flags, StoreError};
        struct StoreView(Mailbox);
        impl MailView for StoreView {
            fn count(&self) -> usize {
                self.0.len()
            }
            fn uid(&self, i: usize) -> u32 {
                self.0.messages()[i].uid
            }
            fn flags(&self, i: usize) -> Flags {
                self.0.messages()[i].flags
            }
            fn recent(&self, i: usize) -> bool {
                self.0.messages()[i].recent
            }
            fn keywords(&self, _i: usize) -> Vec<&str> {
                Vec::new()
            }
            fn internal_date(&self, i: usize) -> (i64, i32) {
                self.0.messages()[i].internal_date
            }
            fn size(&self, i: usize) -> u64 {
                self.0.messages()[i].size
            }
            fn header(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
                self.0.read_header(i, out)
            }
            fn message(&mut self, i: usize, out: &mut Vec<u8>) -> Result<(), StoreError> {
                self.0.read_message(i, out)
            }
            fn set_seen(&mut self, _i: usize) {}
            fn read_only(&self) -> bool {
                true
            }
        }
        let Some(path) = std::env::var_os("POSTERN_BENCH_STORE") else { return };
        let word = std::env::var("POSTERN_BENCH_WORD").unwrap_or_else(|_| "zqx007919vorn".into());
        let t = Instant::now();
        let opts = OpenOptions { read_only: true, ..OpenOptions::default() };
        let mut v = StoreView(Mailbox::open(std::path::Path::new(&path), &opts).expect("open"));
        println!("open: {:?} ({} messages)", t.elapsed(), v.count());
        let t = Instant::now();
        let mut buf = Vec::new();
        let mut bytes = 0;
        for i in 0..v.count() {
            buf.clear();
            v.message(i, &mut buf).expect("read");
            bytes += buf.len();
        }
        println!("store read_message only: {:?} ({bytes} bytes)", t.elapsed());
        for (attrs, name) in [(vec![FetchAttr::Envelope], "ENVELOPE"), (vec![FetchAttr::BodyStructure], "BODYSTRUCTURE")] {
            let t = Instant::now();
            let mut out = Vec::new();
            let mut plan = super::super::fetch::Fetch::new(&attrs, true);
            for i in 0..v.count() {
                plan.message(&mut v, i, &mut out).expect("fetch");
                out.clear();
            }
            println!("FETCH 1:* {name}: {:?}", t.elapsed());
        }
        let t = Instant::now();
        let hits = search(&mut v, &SearchKey::Body(word.clone().into_bytes()), None, 0).expect("search");
        println!("UID SEARCH BODY {word}: {:?} hits {:?}", t.elapsed(), hits.iter().map(|&i| v.uid(i)).collect::<Vec<_>>());
    }
}
