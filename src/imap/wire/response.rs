//! The one path for bytes to an IMAP client: status responses with response
//! codes, continuation requests, and untagged data built item by item with
//! the quoting rules in one place (RFC 3501 §4.3, §7, §9 `resp-text-code`;
//! RFC 4315 APPENDUID/COPYUID; RFC 5530 codes).
//!
//! Strings go out quoted only when every byte is 7-bit, non-NUL and not CR,
//! LF, `"` or `\`; anything else goes out as a literal, so no escaping rule
//! has to be trusted on the client side. Human-readable text has CR and LF
//! replaced so a line can never be split. Writing is into a `Vec<u8>` that
//! the session sends with one write per response batch (NOTES.md).

use super::command::Tag;
use super::parse::{is_atom_char, ErrorKind, ParseError};
use crate::imap::sequence::render_compact;

/// Status condition of a status response (RFC 3501 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
    Preauth,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::Bye => "BYE",
            Status::Preauth => "PREAUTH",
        }
    }
}

/// Response codes (RFC 3501 §7.1, RFC 4315, RFC 5530, RFC 7889).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code<'a> {
    Alert,
    AlreadyExists,
    /// UIDs of the appended messages, in order.
    AppendUid { uidvalidity: u32, uids: &'a [u32] },
    AuthenticationFailed,
    AuthorizationFailed,
    BadCharset(&'a [&'a str]),
    Cannot,
    Capability(&'a [&'a str]),
    ClientBug,
    Closed,
    ContactAdmin,
    /// Source and destination UIDs, paired by position.
    CopyUid { uidvalidity: u32, source: &'a [u32], dest: &'a [u32] },
    ExpungeIssued,
    InUse,
    Limit,
    Nonexistent,
    NoPerm,
    OverQuota,
    Parse,
    PermanentFlags(&'a [&'a str]),
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    TooBig,
    TryCreate,
    UidNext(u32),
    UidNotSticky,
    UidValidity(u32),
    Unavailable,
    Unseen(u32),
}

/// A response buffer. Every method appends; nothing is sent from here.
#[derive(Debug, Default)]
pub struct Response {
    buf: Vec<u8>,
    need_space: bool,
}

impl Response {
    /// An empty buffer.
    pub fn new() -> Response {
        Response::default()
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// True if nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Hands over the bytes and empties the buffer.
    pub fn take(&mut self) -> Vec<u8> {
        self.need_space = false;
        std::mem::take(&mut self.buf)
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.need_space = false;
    }

    // ---- status responses ----

    /// `tag SP status [SP "[" code "]"] SP text CRLF`; `tag: None` is `*`.
    pub fn status(&mut self, tag: Option<&Tag>, status: Status, code: Option<Code<'_>>, text: &str) {
        match tag {
            Some(t) => self.buf.extend_from_slice(t.as_str().as_bytes()),
            None => self.buf.push(b'*'),
        }
        self.buf.push(b' ');
        self.buf.extend_from_slice(status.word().as_bytes());
        self.buf.push(b' ');
        if let Some(c) = code {
            self.buf.push(b'[');
            self.code(c);
            self.buf.extend_from_slice(b"] ");
        }
        self.text(text);
        self.buf.extend_from_slice(b"\r\n");
        self.need_space = false;
    }

    /// Tagged completion.
    pub fn tagged(&mut self, tag: &Tag, status: Status, code: Option<Code<'_>>, text: &str) {
        self.status(Some(tag), status, code, text);
    }

    /// Untagged status (`* OK`, `* BYE`, `* PREAUTH` ...).
    pub fn untagged(&mut self, status: Status, code: Option<Code<'_>>, text: &str) {
        self.status(None, status, code, text);
    }

    /// `+ text CRLF` (RFC 3501 §7.5).
    pub fn continuation(&mut self, text: &str) {
        self.buf.extend_from_slice(b"+ ");
        self.text(text);
        self.buf.extend_from_slice(b"\r\n");
        self.need_space = false;
    }

    /// `+ base64 CRLF`: an AUTHENTICATE challenge, already encoded.
    pub fn continuation_base64(&mut self, base64: &str) {
        self.buf.extend_from_slice(b"+ ");
        self.buf.extend(base64.bytes().filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')));
        self.buf.extend_from_slice(b"\r\n");
        self.need_space = false;
    }

    /// The response a refused command gets: `BAD` (untagged when there was
    /// no usable tag), or `NO [TOOBIG]` for an oversized APPEND.
    pub fn parse_error(&mut self, e: &ParseError) {
        let text = e.kind.to_string();
        match (&e.tag, &e.kind) {
            (Some(t), ErrorKind::LiteralTooBig) => self.tagged(t, Status::No, Some(Code::TooBig), &text),
            (Some(t), _) => self.tagged(t, Status::Bad, None, &text),
            (None, _) => self.untagged(Status::Bad, None, &text),
        }
        if e.fatal {
            self.untagged(Status::Bye, None, "Cannot resynchronise after refused literal");
        }
    }

    /// Human text: CR, LF and NUL become spaces; a leading `[` that would
    /// read as a response code is escaped by a space.
    fn text(&mut self, text: &str) {
        if text.starts_with('[') {
            self.buf.push(b' ');
        }
        if text.is_empty() {
            // resp-text needs at least one character after the space for
            // some parsers; "OK" style texts are always given by callers.
            self.buf.extend_from_slice(b"done");
        }
        self.buf.extend(text.bytes().map(|b| if matches!(b, b'\r' | b'\n' | 0) { b' ' } else { b }));
    }

    fn code(&mut self, c: Code<'_>) {
        let w = |s: &mut Self, t: &str| s.buf.extend_from_slice(t.as_bytes());
        match c {
            Code::Alert => w(self, "ALERT"),
            Code::AlreadyExists => w(self, "ALREADYEXISTS"),
            Code::AppendUid { uidvalidity, uids } => {
                w(self, &format!("APPENDUID {uidvalidity} {}", render_compact(uids)))
            }
            Code::AuthenticationFailed => w(self, "AUTHENTICATIONFAILED"),
            Code::AuthorizationFailed => w(self, "AUTHORIZATIONFAILED"),
            Code::BadCharset(cs) => {
                w(self, "BADCHARSET");
                if !cs.is_empty() {
                    w(self, " (");
                    self.need_space = false;
                    for c in cs {
                        self.astring(c.as_bytes());
                    }
                    w(self, ")");
                }
            }
            Code::Cannot => w(self, "CANNOT"),
            Code::Capability(caps) => {
                w(self, "CAPABILITY");
                for cap in caps {
                    w(self, " ");
                    self.atom_bytes(cap.as_bytes());
                }
            }
            Code::ClientBug => w(self, "CLIENTBUG"),
            Code::Closed => w(self, "CLOSED"),
            Code::ContactAdmin => w(self, "CONTACTADMIN"),
            Code::CopyUid { uidvalidity, source, dest } => w(
                self,
                &format!("COPYUID {uidvalidity} {} {}", render_compact(source), render_compact(dest)),
            ),
            Code::ExpungeIssued => w(self, "EXPUNGEISSUED"),
            Code::InUse => w(self, "INUSE"),
            Code::Limit => w(self, "LIMIT"),
            Code::Nonexistent => w(self, "NONEXISTENT"),
            Code::NoPerm => w(self, "NOPERM"),
            Code::OverQuota => w(self, "OVERQUOTA"),
            Code::Parse => w(self, "PARSE"),
            Code::PermanentFlags(flags) => {
                w(self, "PERMANENTFLAGS (");
                for (i, f) in flags.iter().enumerate() {
                    if i > 0 {
                        w(self, " ");
                    }
                    self.atom_bytes(f.as_bytes());
                }
                w(self, ")");
            }
            Code::PrivacyRequired => w(self, "PRIVACYREQUIRED"),
            Code::ReadOnly => w(self, "READ-ONLY"),
            Code::ReadWrite => w(self, "READ-WRITE"),
            Code::ServerBug => w(self, "SERVERBUG"),
            Code::TooBig => w(self, "TOOBIG"),
            Code::TryCreate => w(self, "TRYCREATE"),
            Code::UidNext(n) => w(self, &format!("UIDNEXT {n}")),
            Code::UidNotSticky => w(self, "UIDNOTSTICKY"),
            Code::UidValidity(n) => w(self, &format!("UIDVALIDITY {n}")),
            Code::Unavailable => w(self, "UNAVAILABLE"),
            Code::Unseen(n) => w(self, &format!("UNSEEN {n}")),
        }
        self.need_space = false;
    }

    // ---- untagged data, item by item; spaces are inserted automatically ----

    /// Starts `* ` data; end it with [`Response::end`].
    pub fn begin(&mut self) -> &mut Self {
        self.buf.push(b'*');
        self.need_space = true;
        self
    }

    fn item(&mut self) {
        if self.need_space {
            self.buf.push(b' ');
        }
        self.need_space = true;
    }

    /// Server-chosen protocol text (`FETCH`, `\Seen`, `BODY[1.2]<0>`):
    /// printable ASCII and SP only; anything else is dropped, so no CR/LF
    /// can ever split a line.
    fn atom_bytes(&mut self, s: &[u8]) {
        self.buf.extend(s.iter().filter(|&&b| (0x20..=0x7e).contains(&b)));
    }

    /// A keyword, flag or item name: `FETCH`, `\Seen`,
    /// `BODY[HEADER.FIELDS (FROM TO)]<0>` (spaces kept).
    pub fn atom(&mut self, s: &str) -> &mut Self {
        self.item();
        self.atom_bytes(s.as_bytes());
        self
    }

    /// A `number` (RFC 3501 §9: 32-bit in most places, 64-bit in a few).
    pub fn number(&mut self, n: impl Into<u64>) -> &mut Self {
        self.item();
        self.buf.extend_from_slice(n.into().to_string().as_bytes());
        self
    }

    /// `NIL`.
    pub fn nil(&mut self) -> &mut Self {
        self.atom("NIL")
    }

    /// `(`; the next item follows without a space.
    pub fn open(&mut self) -> &mut Self {
        self.item();
        self.buf.push(b'(');
        self.need_space = false;
        self
    }

    /// `)`.
    pub fn close(&mut self) -> &mut Self {
        self.buf.push(b')');
        self.need_space = true;
        self
    }

    /// `string`: quoted when safe, else a literal.
    pub fn string(&mut self, s: &[u8]) -> &mut Self {
        self.item();
        if is_quotable(s) {
            self.buf.push(b'"');
            self.buf.extend_from_slice(s);
            self.buf.push(b'"');
        } else {
            self.literal_bytes(s);
        }
        self
    }

    /// `nstring = string / nil`: NIL for `None`.
    pub fn nstring(&mut self, s: Option<&[u8]>) -> &mut Self {
        match s {
            Some(s) => self.string(s),
            None => self.nil(),
        }
    }

    /// `astring`: a bare atom when that is unambiguous, else a string.
    pub fn astring(&mut self, s: &[u8]) -> &mut Self {
        if !s.is_empty() && s.iter().all(|&b| is_atom_char(b)) && !s.eq_ignore_ascii_case(b"NIL") {
            self.item();
            self.buf.extend_from_slice(s);
            self
        } else {
            self.string(s)
        }
    }

    /// A literal regardless of content (message bodies).
    pub fn literal(&mut self, s: &[u8]) -> &mut Self {
        self.item();
        self.literal_bytes(s);
        self
    }

    fn literal_bytes(&mut self, s: &[u8]) {
        self.buf.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
        self.buf.extend_from_slice(s);
    }

    /// Ends a data line with CRLF.
    pub fn end(&mut self) {
        self.buf.extend_from_slice(b"\r\n");
        self.need_space = false;
    }

    // ---- common untagged data (RFC 3501 §7.2-7.4) ----

    /// `* n EXISTS`, `* n RECENT`, `* n EXPUNGE`: `what` is the keyword.
    pub fn counted(&mut self, n: u32, what: &str) {
        self.begin().number(n).atom(what).end();
    }

    /// `* CAPABILITY cap...`
    pub fn capability(&mut self, caps: &[&str]) {
        self.begin().atom("CAPABILITY");
        for c in caps {
            self.atom(c);
        }
        self.end();
    }

    /// `* FLAGS (flag...)`
    pub fn flags(&mut self, flags: &[&str]) {
        self.begin().atom("FLAGS").open();
        for f in flags {
            self.atom(f);
        }
        self.close().end();
    }

    /// `* LIST (attrs) "/" name` (or LSUB): `name` is already modified UTF-7.
    pub fn list(&mut self, what: &str, attrs: &[&str], delimiter: Option<u8>, name: &[u8]) {
        self.begin().atom(what).open();
        for a in attrs {
            self.atom(a);
        }
        self.close();
        match delimiter {
            Some(d) => self.string(&[d]),
            None => self.nil(),
        };
        self.astring(name).end();
    }

    /// `* SEARCH n...` (RFC 3501 §7.2.5); `nums` in the order given.
    pub fn search(&mut self, nums: impl IntoIterator<Item = u32>) {
        self.begin().atom("SEARCH");
        for n in nums {
            self.number(n);
        }
        self.end();
    }

    /// `* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [ALL set] [COUNT n]`
    /// (RFC 4731 §3.1); absent items are `None`, an empty ALL is left out.
    pub fn esearch(&mut self, tag: &Tag, uid: bool, min: Option<u32>, max: Option<u32>, all: Option<&str>, count: Option<u32>) {
        self.begin().atom("ESEARCH").open().atom("TAG").string(tag.as_str().as_bytes()).close();
        if uid {
            self.atom("UID");
        }
        if let Some(n) = min {
            self.atom("MIN").number(n);
        }
        if let Some(n) = max {
            self.atom("MAX").number(n);
        }
        if let Some(set) = all.filter(|s| !s.is_empty()) {
            self.atom("ALL").atom(set);
        }
        if let Some(n) = count {
            self.atom("COUNT").number(n);
        }
        self.end();
    }
}

fn is_quotable(s: &[u8]) -> bool {
    s.len() <= 1024 && s.iter().all(|&b| (0x01..=0x7f).contains(&b) && !matches!(b, b'\r' | b'\n' | b'"' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::wire::frame::{CommandReader, Frame, Limits};

    fn tag() -> Tag {
        Tag("a1".into())
    }

    #[test]
    fn status_lines() {
        let caps = ["IMAP4rev1", "LITERAL+", "AUTH=PLAIN"];
        let flags = ["\\Seen", "\\Deleted", "\\*"];
        type Row<'a> = (Option<Tag>, Status, Option<Code<'a>>, &'a str, &'a str);
        let table: Vec<Row<'_>> = vec![
            (None, Status::Ok, Some(Code::Capability(&caps)), "ready", "* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready\r\n"),
            (Some(tag()), Status::Ok, Some(Code::ReadWrite), "SELECT completed", "a1 OK [READ-WRITE] SELECT completed\r\n"),
            (None, Status::Ok, Some(Code::UidValidity(3857529045)), "UIDs valid", "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
            (None, Status::Ok, Some(Code::UidNext(4392)), "x", "* OK [UIDNEXT 4392] x\r\n"),
            (None, Status::Ok, Some(Code::PermanentFlags(&flags)), "x", "* OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] x\r\n"),
            (
                Some(tag()),
                Status::Ok,
                Some(Code::AppendUid { uidvalidity: 38505, uids: &[3955, 3956, 3957, 3960] }),
                "APPEND completed",
                "a1 OK [APPENDUID 38505 3955:3957,3960] APPEND completed\r\n",
            ),
            (
                Some(tag()),
                Status::Ok,
                Some(Code::CopyUid { uidvalidity: 38505, source: &[304, 319, 320, 321], dest: &[3956, 3957, 3958, 3959] }),
                "Done",
                "a1 OK [COPYUID 38505 304,319:321 3956:3959] Done\r\n",
            ),
            (Some(tag()), Status::No, Some(Code::TryCreate), "No such mailbox", "a1 NO [TRYCREATE] No such mailbox\r\n"),
            (Some(tag()), Status::No, Some(Code::Nonexistent), "x", "a1 NO [NONEXISTENT] x\r\n"),
            (Some(tag()), Status::No, Some(Code::AlreadyExists), "x", "a1 NO [ALREADYEXISTS] x\r\n"),
            (Some(tag()), Status::No, Some(Code::ServerBug), "Internal error", "a1 NO [SERVERBUG] Internal error\r\n"),
            (Some(tag()), Status::No, Some(Code::TooBig), "x", "a1 NO [TOOBIG] x\r\n"),
            (None, Status::Ok, Some(Code::Alert), "x", "* OK [ALERT] x\r\n"),
            (Some(tag()), Status::Bad, Some(Code::ClientBug), "x", "a1 BAD [CLIENTBUG] x\r\n"),
            (Some(tag()), Status::No, Some(Code::BadCharset(&["UTF-8", "US-ASCII"])), "x", "a1 NO [BADCHARSET (UTF-8 US-ASCII)] x\r\n"),
            (None, Status::Bye, None, "Autologout\r\n* OK forged", "* BYE Autologout  * OK forged\r\n"),
            (None, Status::Ok, None, "[ALERT] not a code", "* OK  [ALERT] not a code\r\n"),
            (None, Status::Preauth, None, "as alice", "* PREAUTH as alice\r\n"),
        ];
        for (t, st, code, text, want) in table {
            let mut r = Response::new();
            r.status(t.as_ref(), st, code, text);
            assert_eq!(String::from_utf8_lossy(r.as_bytes()), want);
        }
    }

    #[test]
    fn data_items_and_quoting() {
        let mut r = Response::new();
        r.begin().number(12u32).atom("FETCH").open().atom("FLAGS").open().atom("\\Seen").atom("$Junk").close();
        r.atom("UID").number(4u32).atom("BODY[]").literal(b"Hi\r\n").close().end();
        assert_eq!(r.as_bytes(), b"* 12 FETCH (FLAGS (\\Seen $Junk) UID 4 BODY[] {4}\r\nHi\r\n)\r\n");
        r.clear();
        r.begin().atom("LIST").open().close().string(b"/").astring(b"INBOX").end();
        assert_eq!(r.take(), b"* LIST () \"/\" INBOX\r\n");
        r.begin().number(1u32).atom("FETCH").open().atom("BODY[HEADER.FIELDS (FROM TO)]\r\n").nil().close().end();
        assert_eq!(r.take(), b"* 1 FETCH (BODY[HEADER.FIELDS (FROM TO)] NIL)\r\n");
        let table: &[(&[u8], &[u8])] = &[
            (b"plain", b"plain"),
            (b"", b"\"\""),
            (b"NIL", b"\"NIL\""),
            (b"nil", b"\"nil\""),
            (b"two words", b"\"two words\""),
            (b"Entw&APw-rfe", b"Entw&APw-rfe"),
            (b"a%b", b"\"a%b\""),
            (b"a\"b", b"{3}\r\na\"b"),
            (b"a\\b", b"{3}\r\na\\b"),
            (b"a\r\nb", b"{4}\r\na\r\nb"),
            (b"caf\xc3\xa9", b"{5}\r\ncaf\xc3\xa9"),
            (b"nul\0", b"{4}\r\nnul\0"),
        ];
        for (input, want) in table {
            let mut r = Response::new();
            r.begin().astring(input).end();
            let mut w = b"* ".to_vec();
            w.extend_from_slice(want);
            w.extend_from_slice(b"\r\n");
            assert_eq!(r.as_bytes(), &w[..], "{}", String::from_utf8_lossy(input));
        }
        let mut r = Response::new();
        r.begin().nstring(None).nstring(Some(b"x")).end();
        assert_eq!(r.as_bytes(), b"* NIL \"x\"\r\n");
        r.clear();
        r.continuation("Ready");
        r.continuation_base64("");
        r.continuation_base64("AGE=\r\n");
        assert_eq!(r.as_bytes(), b"+ Ready\r\n+ \r\n+ AGE=\r\n");
    }

    /// What the server writes must parse back: strings written by the
    /// writer are read by the command parser as the same bytes.
    #[test]
    fn written_strings_round_trip_through_parser() {
        let samples: &[&[u8]] = &[b"x", b"two words", b"q\"uote", b"back\\slash", b"line\r\nbreak", b"\xe2\x82\xac", b"NIL", b"]"];
        for s in samples {
            let mut r = Response::new();
            r.atom("a1").atom("LOGIN").astring(s).astring(b"pw").end();
            let bytes = r.take();
            let mut reader = CommandReader::new(Limits::default());
            let mut rest = &bytes[..];
            let cmd = loop {
                let nl = rest.iter().position(|&b| b == b'\n').unwrap() + 1;
                match reader.push_line(&rest[..nl]) {
                    Frame::Literal { size, .. } => {
                        let n = size as usize;
                        reader.push_literal(rest[nl..nl + n].to_vec()).unwrap();
                        rest = &rest[nl + n..];
                    }
                    Frame::Done(r) => break r.unwrap(),
                }
            };
            assert_eq!(
                cmd.kind,
                crate::imap::wire::CommandKind::Login {
                    user: s.to_vec(),
                    password: crate::imap::wire::Secret::new(b"pw".to_vec())
                }
            );
        }
    }

    #[test]
    fn helpers() {
        let mut r = Response::new();
        r.counted(3, "EXISTS");
        r.capability(&["IMAP4rev1", "IDLE"]);
        r.flags(&["\\Seen", "$Junk"]);
        r.list("LIST", &["\\HasNoChildren", "\\Sent"], Some(b'/'), b"Sent Items");
        r.list("LSUB", &[], None, b"INBOX");
        r.search([]);
        r.search([2, 5]);
        r.esearch(&tag(), true, Some(1), Some(9), Some("1:3,9"), Some(4));
        r.esearch(&tag(), false, None, None, Some(""), Some(0));
        let want = "* 3 EXISTS\r\n* CAPABILITY IMAP4rev1 IDLE\r\n* FLAGS (\\Seen $Junk)\r\n\
                    * LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n* LSUB () NIL INBOX\r\n\
                    * SEARCH\r\n* SEARCH 2 5\r\n\
                    * ESEARCH (TAG \"a1\") UID MIN 1 MAX 9 ALL 1:3,9 COUNT 4\r\n\
                    * ESEARCH (TAG \"a1\") COUNT 0\r\n";
        assert_eq!(String::from_utf8_lossy(r.as_bytes()), want);
    }

    #[test]
    fn parse_errors_render() {
        let cases: &[(Option<Tag>, ErrorKind, bool, &str)] = &[
            (None, ErrorKind::Syntax("bad tag"), false, "* BAD Syntax error: bad tag\r\n"),
            (Some(tag()), ErrorKind::UnknownCommand, false, "a1 BAD Unknown command\r\n"),
            (Some(tag()), ErrorKind::LiteralTooBig, false, "a1 NO [TOOBIG] Message too large\r\n"),
            (
                Some(tag()),
                ErrorKind::BadLiteral,
                true,
                "a1 BAD Invalid literal size\r\n* BYE Cannot resynchronise after refused literal\r\n",
            ),
        ];
        for (t, kind, fatal, want) in cases {
            let mut r = Response::new();
            r.parse_error(&ParseError { tag: t.clone(), kind: kind.clone(), fatal: *fatal });
            assert_eq!(String::from_utf8_lossy(r.as_bytes()), *want);
        }
    }
}
