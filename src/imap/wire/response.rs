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
    /// printable ASCII only; anything else is dropped.
    fn atom_bytes(&mut self, s: &[u8]) {
        self.buf.extend(s.iter().filter(|&&b| (0x21..=0x7e).contains(&b)));
    }

    /// A keyword or flag: `FETCH`, `\Seen`, `BODY[TEXT]<0>`.
    pub fn atom(&mut self, s: &str) -> &mut Self {
        self.item();
        self.atom_bytes(s.as_bytes());
        self
    }

    pub fn number(&mut self, n: impl Into<u64>) -> &mut Self {
        self.item();
        self.buf.extend_from_slice(n.into().to_string().as_bytes());
        self
    }

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

    /// `nstring`: NIL for `None`.
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
}

fn is_quotable(s: &[u8]) -> bool {
    s.len() <= 1024 && s.iter().all(|&b| (0x01..=0x7f).contains(&b) && !matches!(b, b'\r' | b'\n' | b'"' | b'\\'))
}
