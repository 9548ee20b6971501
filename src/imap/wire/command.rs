//! Typed IMAP commands: what the parser produces and handlers consume.
//!
//! Covers RFC 3501 §6 plus the extension commands imapd offers: SASL-IR
//! (4959), UIDPLUS (4315), NAMESPACE (2342), UNSELECT (3691), ID (2971),
//! ENABLE (5161), MOVE (6851), MULTIAPPEND (3502), ESEARCH (4731), SORT and
//! THREAD (5256), WITHIN (5032), LIST-EXTENDED (5258) and SPECIAL-USE (6154).
//! Values are owned bytes where the wire allows 8-bit (strings, mailbox
//! names still in modified UTF-7); meaning (is this mailbox allowed, does
//! that charset exist) is the handlers' business.

use std::fmt;

use crate::imap::sequence::SequenceSet;
use crate::imap::utf7;

/// A command tag, ASCII `ASTRING-CHAR`s except `+` (RFC 3501 §9 `tag`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tag(pub String);

impl Tag {
    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Credentials (LOGIN password, SASL initial response): `Debug` never
/// shows them and the bytes are zeroed on drop, so a logged command or a
/// dropped buffer cannot leak a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Takes ownership of the bytes.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }
    /// The secret bytes, for the authenticator only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// A mailbox name as sent (modified UTF-7), with `INBOX` in any case
/// already folded to `INBOX` (RFC 3501 §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MailboxName(pub Vec<u8>);

impl MailboxName {
    /// Folds any case of `INBOX` to `INBOX`.
    pub fn new(raw: Vec<u8>) -> MailboxName {
        if raw.eq_ignore_ascii_case(b"INBOX") {
            MailboxName(b"INBOX".to_vec())
        } else {
            MailboxName(raw)
        }
    }
    /// True for INBOX.
    pub fn is_inbox(&self) -> bool {
        self.0 == b"INBOX"
    }
    /// The name in UTF-8, or why it is not valid modified UTF-7.
    pub fn decode(&self) -> Result<String, utf7::Utf7Error> {
        utf7::decode(&self.0)
    }
}

/// A message flag (RFC 3501 §2.3.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Flag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
    /// `\Recent`: legal in SEARCH and responses, refused by STORE handlers.
    Recent,
    /// A keyword (atom without backslash), case kept.
    Keyword(String),
    /// Another `\Name` (flag-extension), case kept.
    Extension(String),
}

/// `date-time` of APPEND: `"dd-Mon-yyyy hh:mm:ss +zzzz"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Offset east of UTC in minutes.
    pub zone_minutes: i16,
}

/// `date` of SEARCH: `d-Mon-yyyy` (month 1..=12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// One message of APPEND (several with MULTIAPPEND, RFC 3502).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<Flag>,
    pub date: Option<DateTime>,
    pub data: Vec<u8>,
}

/// STATUS data items (RFC 3501 §6.3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
}

/// LIST selection options (RFC 5258 §3.1, RFC 6154).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListSelect {
    Subscribed,
    Remote,
    RecursiveMatch,
    SpecialUse,
}

/// LIST return options (RFC 5258 §3.2, RFC 6154, RFC 5819).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListReturn {
    Subscribed,
    Children,
    SpecialUse,
    Status(Vec<StatusItem>),
}

/// Where STORE puts the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// ESEARCH return options (RFC 4731 §3.1; SAVE from RFC 5182).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
}

/// A search key (RFC 3501 §6.4.4, RFC 5032 OLDER/YOUNGER). String
/// arguments are raw bytes in the command's CHARSET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(Vec<u8>),
    Before(Date),
    Body(Vec<u8>),
    Cc(Vec<u8>),
    Deleted,
    Draft,
    Flagged,
    From(Vec<u8>),
    /// HEADER field-name string
    Header(Vec<u8>, Vec<u8>),
    Keyword(String),
    Larger(u32),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u32),
    Subject(Vec<u8>),
    Text(Vec<u8>),
    To(Vec<u8>),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// A bare sequence set.
    Sequence(SequenceSet),
    /// A parenthesised list, or the top-level list: all must match.
    And(Vec<SearchKey>),
    /// WITHIN: internal date at least this many seconds ago.
    Older(u32),
    /// WITHIN: internal date at most this many seconds ago.
    Younger(u32),
}

/// SORT criteria keys (RFC 5256 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
}

/// A SORT criterion with its `REVERSE` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortCriterion {
    pub reverse: bool,
    pub key: SortKey,
}

/// THREAD algorithms (RFC 5256 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
}

/// `section-text` of BODY[...] (RFC 3501 §6.4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// Field names upper-cased (header matching is case-insensitive).
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}

/// `section`: a part path (empty = whole message) and an optional text part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

impl fmt::Display for Section {
    /// The text between the brackets, as a FETCH response echoes it
    /// (`1.2.HEADER.FIELDS (FROM TO)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.part.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        let Some(text) = &self.text else { return Ok(()) };
        if !self.part.is_empty() {
            f.write_str(".")?;
        }
        let (name, fields) = match text {
            SectionText::Header => ("HEADER", None),
            SectionText::Text => ("TEXT", None),
            SectionText::Mime => ("MIME", None),
            SectionText::HeaderFields(v) => ("HEADER.FIELDS", Some(v)),
            SectionText::HeaderFieldsNot(v) => ("HEADER.FIELDS.NOT", Some(v)),
        };
        f.write_str(name)?;
        if let Some(v) = fields {
            write!(f, " ({})", v.join(" "))?;
        }
        Ok(())
    }
}

/// FETCH data items (RFC 3501 §6.4.5); the macros ALL, FAST and FULL are
/// expanded by the parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchAttr {
    Envelope,
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    Rfc822Text,
    /// `BODY` without a section: the non-extensible BODYSTRUCTURE.
    Body,
    BodyStructure,
    Uid,
    /// `BODY[section]<origin.count>` or `BODY.PEEK[...]`.
    BodySection { peek: bool, section: Section, partial: Option<(u32, u32)> },
}

/// What a command asks for. UID forms carry `uid: true`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandKind {
    Capability,
    Noop,
    Logout,
    StartTls,
    /// Mechanism upper-cased; `initial_response` is the SASL-IR argument
    /// as sent (base64, or `=` for an empty response).
    Authenticate { mechanism: String, initial_response: Option<Secret> },
    Login { user: Vec<u8>, password: Secret },
    /// `params` are the upper-cased names of any select-params, ignored.
    Select { mailbox: MailboxName, params: Vec<String> },
    Examine { mailbox: MailboxName, params: Vec<String> },
    /// `special_use` from `(USE (\Drafts ...))`, RFC 6154 §3.
    Create { mailbox: MailboxName, special_use: Vec<String> },
    Delete { mailbox: MailboxName },
    Rename { from: MailboxName, to: MailboxName },
    Subscribe { mailbox: MailboxName },
    Unsubscribe { mailbox: MailboxName },
    List {
        reference: Vec<u8>,
        patterns: Vec<Vec<u8>>,
        selection: Vec<ListSelect>,
        returns: Vec<ListReturn>,
    },
    Lsub { reference: Vec<u8>, pattern: Vec<u8> },
    Namespace,
    Status { mailbox: MailboxName, items: Vec<StatusItem> },
    Append { mailbox: MailboxName, messages: Vec<AppendMessage> },
    Check,
    Close,
    Unselect,
    Expunge,
    /// `UID EXPUNGE set` (RFC 4315 §2.1).
    UidExpunge { set: SequenceSet },
    /// `returns: None` is a plain SEARCH; `Some(vec![])` is `RETURN ()`.
    Search { uid: bool, charset: Option<String>, returns: Option<Vec<SearchReturn>>, criteria: SearchKey },
    Fetch { uid: bool, set: SequenceSet, items: Vec<FetchAttr> },
    Store { uid: bool, set: SequenceSet, mode: StoreMode, silent: bool, flags: Vec<Flag> },
    Copy { uid: bool, set: SequenceSet, mailbox: MailboxName },
    Move { uid: bool, set: SequenceSet, mailbox: MailboxName },
    Sort { uid: bool, criteria: Vec<SortCriterion>, charset: String, search: SearchKey },
    Thread { uid: bool, algorithm: ThreadAlgorithm, charset: String, search: SearchKey },
    Idle,
    /// `None` for `ID NIL`; values may be NIL.
    Id { params: Option<IdParams> },
    /// Capability names upper-cased.
    Enable { capabilities: Vec<String> },
}

impl CommandKind {
    /// The command name for logs and completion texts (`UID FETCH` etc.).
    pub fn name(&self) -> &'static str {
        use CommandKind::*;
        match self {
            Capability => "CAPABILITY",
            Noop => "NOOP",
            Logout => "LOGOUT",
            StartTls => "STARTTLS",
            Authenticate { .. } => "AUTHENTICATE",
            Login { .. } => "LOGIN",
            Select { .. } => "SELECT",
            Examine { .. } => "EXAMINE",
            Create { .. } => "CREATE",
            Delete { .. } => "DELETE",
            Rename { .. } => "RENAME",
            Subscribe { .. } => "SUBSCRIBE",
            Unsubscribe { .. } => "UNSUBSCRIBE",
            List { .. } => "LIST",
            Lsub { .. } => "LSUB",
            Namespace => "NAMESPACE",
            Status { .. } => "STATUS",
            Append { .. } => "APPEND",
            Check => "CHECK",
            Close => "CLOSE",
            Unselect => "UNSELECT",
            Expunge => "EXPUNGE",
            UidExpunge { .. } => "UID EXPUNGE",
            Search { uid: false, .. } => "SEARCH",
            Search { uid: true, .. } => "UID SEARCH",
            Fetch { uid: false, .. } => "FETCH",
            Fetch { uid: true, .. } => "UID FETCH",
            Store { uid: false, .. } => "STORE",
            Store { uid: true, .. } => "UID STORE",
            Copy { uid: false, .. } => "COPY",
            Copy { uid: true, .. } => "UID COPY",
            Move { uid: false, .. } => "MOVE",
            Move { uid: true, .. } => "UID MOVE",
            Sort { uid: false, .. } => "SORT",
            Sort { uid: true, .. } => "UID SORT",
            Thread { uid: false, .. } => "THREAD",
            Thread { uid: true, .. } => "UID THREAD",
            Idle => "IDLE",
            Id { .. } => "ID",
            Enable { .. } => "ENABLE",
        }
    }
}

/// ID field/value pairs (RFC 2971 §3.3); a value may be NIL.
pub type IdParams = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A complete command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub tag: Tag,
    pub kind: CommandKind,
}
