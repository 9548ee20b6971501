//! IMAP command parser (RFC 3501 §9 formal syntax plus the extension
//! grammars listed in `command.rs`), over a command already framed by
//! [`super::frame::CommandReader`]: text pieces with their literals.
//!
//! One small function per grammar rule, no recursion that input can deepen
//! past `max_depth` (parenthesised lists and SEARCH NOT/OR count alike),
//! arguments counted against `max_args`. Lenient only where real clients
//! need it: 8-bit bytes inside quoted strings, case-insensitive keywords,
//! unknown LIST/SELECT/CREATE options skipped. No I/O, no allocation that
//! is not bounded by the command's own size.

use std::fmt;

use super::command::*;
use super::frame::Limits;
use crate::imap::sequence::{SequenceError, SequenceSet};

/// Why a command was refused. Rendered by `Response::parse_error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input does not follow the grammar; the text says what broke.
    Syntax(&'static str),
    /// The command name is not one imapd knows.
    UnknownCommand,
    /// Parentheses or NOT/OR nested deeper than `max_depth`.
    TooDeep,
    /// More arguments or literals than `max_args`.
    TooManyArgs,
    /// Command text (with non-APPEND literals) over `max_command` bytes.
    CommandTooLong,
    /// An APPEND literal over `max_literal` (answered `NO [TOOBIG]`).
    LiteralTooBig,
    /// `{n}` with n beyond 32 bits.
    BadLiteral,
    /// A sequence set that does not parse.
    Sequence(SequenceError),
}

/// A refused command: `tag` is `None` when the line had no usable tag
/// (answered with an untagged `* BAD`); `fatal` means the connection cannot
/// be resynchronised (a refused non-synchronizing literal is in flight).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub tag: Option<Tag>,
    pub kind: ErrorKind,
    pub fatal: bool,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Syntax(s) => write!(f, "Syntax error: {s}"),
            ErrorKind::UnknownCommand => f.write_str("Unknown command"),
            ErrorKind::TooDeep => f.write_str("Too deeply nested"),
            ErrorKind::TooManyArgs => f.write_str("Too many arguments"),
            ErrorKind::CommandTooLong => f.write_str("Command too long"),
            ErrorKind::LiteralTooBig => f.write_str("Message too large"),
            ErrorKind::BadLiteral => f.write_str("Invalid literal size"),
            ErrorKind::Sequence(e) => e.fmt(f),
        }
    }
}

type PResult<T> = Result<T, ErrorKind>;

fn syntax<T>(what: &'static str) -> PResult<T> {
    Err(ErrorKind::Syntax(what))
}

/// `ATOM-CHAR`: CHAR except atom-specials (RFC 3501 §9).
pub(crate) fn is_atom_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

fn is_tag_char(b: u8) -> bool {
    (is_atom_char(b) || b == b']') && b != b'+'
}

const MAX_TAG: usize = 64;
/// Mailbox names and other short strings; longer ones are hostile.
const MAX_NAME: usize = 4096;

/// The tag of a first command line, if it has a valid one followed by SP.
pub(crate) fn peek_tag(line: &[u8]) -> Option<Tag> {
    let end = line.iter().position(|&b| !is_tag_char(b)).unwrap_or(line.len());
    if end == 0 || end > MAX_TAG || line.get(end) != Some(&b' ') {
        return None;
    }
    Some(Tag(String::from_utf8_lossy(&line[..end]).into_owned()))
}

/// Whether a first line is an APPEND (whose literals get `max_literal`).
pub(crate) fn is_append(line: &[u8]) -> bool {
    let Some(sp) = line.iter().position(|&b| b == b' ') else { return false };
    let rest = &line[sp + 1..];
    rest.len() > 6 && rest[..6].eq_ignore_ascii_case(b"APPEND") && rest[6] == b' '
}

const COMMANDS: &[&str] = &[
    "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "AUTHENTICATE", "LOGIN", "SELECT", "EXAMINE", "CREATE", "DELETE",
    "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "NAMESPACE", "STATUS", "APPEND", "CHECK", "CLOSE",
    "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "SORT", "THREAD", "UID", "IDLE", "ID", "ENABLE",
];
const UID_COMMANDS: &[&str] = &["SEARCH", "FETCH", "STORE", "COPY", "MOVE", "SORT", "THREAD", "EXPUNGE"];

/// Checks the first line of a command that announces a literal, so that a
/// missing tag or an unknown command is refused before the client is
/// invited to send the literal.
pub(crate) fn precheck(line: &[u8]) -> Result<(), ErrorKind> {
    let word = |s: &[u8]| -> (String, usize) {
        let n = s.iter().position(|&b| !is_atom_char(b)).unwrap_or(s.len());
        (String::from_utf8_lossy(&s[..n]).to_ascii_uppercase(), n)
    };
    let Some(tag) = peek_tag(line) else { return syntax("bad tag") };
    let rest = &line[tag.0.len() + 1..];
    let (name, n) = word(rest);
    if !COMMANDS.contains(&name.as_str()) {
        return Err(ErrorKind::UnknownCommand);
    }
    if name == "UID" {
        let Some(rest) = rest[n..].strip_prefix(b" ") else { return syntax("expected space") };
        if !UID_COMMANDS.contains(&word(rest).0.as_str()) {
            return Err(ErrorKind::UnknownCommand);
        }
    }
    Ok(())
}

/// Parses a framed command: `texts[i]` for i < last ends with the marker
/// of `literals[i]`.
pub(crate) fn parse_command(texts: &[Vec<u8>], literals: Vec<Vec<u8>>, limits: &Limits) -> PResult<Command> {
    let mut p = Parser { texts, literals, part: 0, pos: 0, depth: 0, args: 0, limits };
    let result = p.whole_command();
    // Literals not moved into the command (on error) may hold a password.
    for l in p.literals.iter_mut() {
        zeroize::Zeroize::zeroize(l);
    }
    result
}

struct Parser<'a> {
    texts: &'a [Vec<u8>],
    literals: Vec<Vec<u8>>,
    part: usize,
    pos: usize,
    depth: usize,
    args: usize,
    limits: &'a Limits,
}

impl Parser<'_> {
    /// `command = tag SP (command-any / command-auth / command-nonauth /
    /// command-select) CRLF`
    fn whole_command(&mut self) -> PResult<Command> {
        let tag = self.tag()?;
        self.sp()?;
        let kind = self.command()?;
        self.end()?;
        Ok(Command { tag, kind })
    }

    // ---- cursor ----

    fn peek(&self) -> Option<u8> {
        self.texts.get(self.part).and_then(|t| t.get(self.pos)).copied()
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, what: &'static str) -> PResult<()> {
        if self.eat(b) { Ok(()) } else { syntax(what) }
    }

    fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "expected space")?;
        self.count_arg()
    }

    fn count_arg(&mut self) -> PResult<()> {
        self.args += 1;
        if self.args > self.limits.max_args { Err(ErrorKind::TooManyArgs) } else { Ok(()) }
    }

    fn end(&self) -> PResult<()> {
        if self.part + 1 == self.texts.len() && self.pos == self.texts[self.part].len() {
            Ok(())
        } else {
            syntax("unexpected characters at end of command")
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth { Err(ErrorKind::TooDeep) } else { Ok(()) }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Bytes while `f` holds, from the current text piece.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &[u8] {
        let t = match self.texts.get(self.part) {
            Some(t) => &t[..],
            None => return &[],
        };
        let start = self.pos;
        let mut i = start;
        while i < t.len() && f(t[i]) {
            i += 1;
        }
        self.pos = i;
        &t[start..i]
    }

    // ---- basic tokens ----

    fn tag(&mut self) -> PResult<Tag> {
        let t = self.take_while(is_tag_char);
        if t.is_empty() || t.len() > MAX_TAG {
            return syntax("bad tag");
        }
        Ok(Tag(String::from_utf8_lossy(t).into_owned()))
    }

    /// `atom`, upper-cased (for keywords).
    fn keyword(&mut self) -> PResult<String> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            return syntax("expected keyword");
        }
        Ok(String::from_utf8_lossy(a).to_ascii_uppercase())
    }

    /// `atom` as written.
    fn atom(&mut self) -> PResult<String> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            return syntax("expected atom");
        }
        Ok(String::from_utf8_lossy(a).into_owned())
    }

    fn number64(&mut self) -> PResult<u64> {
        let d = self.take_while(|b| b.is_ascii_digit());
        if d.is_empty() || d.len() > 10 {
            return syntax("expected number");
        }
        Ok(d.iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0')))
    }

    /// `number`: 32-bit unsigned.
    fn number(&mut self) -> PResult<u32> {
        let n = self.number64()?;
        u32::try_from(n).or(syntax("number too large"))
    }

    fn nz_number(&mut self) -> PResult<u32> {
        match self.number()? {
            0 => syntax("zero not allowed"),
            n => Ok(n),
        }
    }

    fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "expected quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return syntax("unterminated quoted string"),
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.bump();
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.bump();
                        }
                        _ => return syntax("bad escape in quoted string"),
                    }
                }
                // 8-bit is outside RFC 3501 but clients send UTF-8 here.
                Some(0 | b'\r' | b'\n') => return syntax("NUL, CR or LF in quoted string"),
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    /// `literal`: the `{n}` marker must end the text piece.
    fn literal(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'{', "expected literal")?;
        self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "bad literal")?;
        let last = self.part + 1 >= self.texts.len();
        if last || self.pos != self.texts[self.part].len() {
            return syntax("literal must end the line");
        }
        let data = self.literals.get_mut(self.part).map(std::mem::take).unwrap_or_default();
        self.part += 1;
        self.pos = 0;
        Ok(data)
    }

    /// `string` = quoted / literal, no NUL.
    fn string(&mut self) -> PResult<Vec<u8>> {
        let s = match self.peek() {
            Some(b'"') => return self.quoted(),
            Some(b'{') => self.literal()?,
            _ => return syntax("expected string"),
        };
        if s.contains(&0) {
            return syntax("NUL in string");
        }
        Ok(s)
    }

    /// `astring` = 1*ASTRING-CHAR / string.
    fn astring(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let a = self.take_while(|b| is_atom_char(b) || b == b']');
                if a.is_empty() {
                    return syntax("expected string");
                }
                Ok(a.to_vec())
            }
        }
    }

    fn nstring(&mut self) -> PResult<Option<Vec<u8>>> {
        match self.peek() {
            Some(b'"' | b'{') => Ok(Some(self.string()?)),
            _ => {
                if self.keyword()? == "NIL" { Ok(None) } else { syntax("expected string or NIL") }
            }
        }
    }

    fn short(&mut self, s: Vec<u8>) -> PResult<Vec<u8>> {
        if s.len() > MAX_NAME { syntax("name too long") } else { Ok(s) }
    }

    fn mailbox(&mut self) -> PResult<MailboxName> {
        let s = self.astring()?;
        Ok(MailboxName::new(self.short(s)?))
    }

    /// `list-mailbox` = 1*list-char / string.
    fn list_mailbox(&mut self) -> PResult<Vec<u8>> {
        let s = match self.peek() {
            Some(b'"' | b'{') => self.string()?,
            _ => {
                let a = self.take_while(|b| is_atom_char(b) || matches!(b, b'%' | b'*' | b']'));
                if a.is_empty() {
                    return syntax("expected mailbox pattern");
                }
                a.to_vec()
            }
        };
        self.short(s)
    }

    fn sequence_set(&mut self) -> PResult<SequenceSet> {
        let s = self.take_while(|b| b.is_ascii_digit() || matches!(b, b':' | b',' | b'*' | b'$'));
        SequenceSet::parse(s).map_err(ErrorKind::Sequence)
    }

    /// `"(" item *(SP item) ")"`, or `()` if `empty_ok`.
    fn list<T>(&mut self, empty_ok: bool, mut item: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        self.expect(b'(', "expected '('")?;
        self.enter()?;
        let mut v = Vec::new();
        if self.eat(b')') {
            self.leave();
            return if empty_ok { Ok(v) } else { syntax("empty list") };
        }
        loop {
            self.count_arg()?;
            v.push(item(self)?);
            if self.eat(b')') {
                break;
            }
            self.expect(b' ', "expected space or ')'")?;
        }
        self.leave();
        Ok(v)
    }

    /// Skips one `tagged-ext-val`-like value (atom, number, string, nested
    /// list), returning its atom name when it is one.
    fn generic_value(&mut self) -> PResult<Option<String>> {
        match self.peek() {
            Some(b'(') => {
                self.list(true, |p| p.generic_value())?;
                Ok(None)
            }
            Some(b'"' | b'{') => {
                self.string()?;
                Ok(None)
            }
            _ => {
                let a = self.take_while(|b| is_atom_char(b) || matches!(b, b'*' | b']'));
                if a.is_empty() {
                    return syntax("expected value");
                }
                let a = String::from_utf8_lossy(a).to_ascii_uppercase();
                Ok(if a.bytes().all(|b| b.is_ascii_digit() || b == b':' || b == b',') { None } else { Some(a) })
            }
        }
    }

    fn generic_names(&mut self) -> PResult<Vec<String>> {
        Ok(self.list(true, |p| p.generic_value())?.into_iter().flatten().collect())
    }

    // ---- commands ----

    fn command(&mut self) -> PResult<CommandKind> {
        use CommandKind as K;
        let name = self.keyword()?;
        Ok(match name.as_str() {
            "CAPABILITY" => K::Capability,
            "NOOP" => K::Noop,
            "LOGOUT" => K::Logout,
            "STARTTLS" => K::StartTls,
            "NAMESPACE" => K::Namespace,
            "CHECK" => K::Check,
            "CLOSE" => K::Close,
            "UNSELECT" => K::Unselect,
            "EXPUNGE" => K::Expunge,
            "IDLE" => K::Idle,
            "AUTHENTICATE" => self.authenticate()?,
            "LOGIN" => {
                self.sp()?;
                let user = self.astring()?;
                let user = self.short(user)?;
                self.sp()?;
                let password = self.astring()?;
                K::Login { user, password: Secret::new(self.short(password)?) }
            }
            "SELECT" | "EXAMINE" => {
                self.sp()?;
                let mailbox = self.mailbox()?;
                let params = if self.eat(b' ') { self.generic_names()? } else { Vec::new() };
                if name == "SELECT" { K::Select { mailbox, params } } else { K::Examine { mailbox, params } }
            }
            "CREATE" => self.create()?,
            "DELETE" => K::Delete { mailbox: self.sp_mailbox()? },
            "RENAME" => K::Rename { from: self.sp_mailbox()?, to: self.sp_mailbox()? },
            "SUBSCRIBE" => K::Subscribe { mailbox: self.sp_mailbox()? },
            "UNSUBSCRIBE" => K::Unsubscribe { mailbox: self.sp_mailbox()? },
            "LIST" => self.list_command()?,
            "LSUB" => {
                self.sp()?;
                let reference = self.astring()?;
                let reference = self.short(reference)?;
                self.sp()?;
                K::Lsub { reference, pattern: self.list_mailbox()? }
            }
            "STATUS" => {
                let mailbox = self.sp_mailbox()?;
                self.sp()?;
                K::Status { mailbox, items: self.list(false, |p| p.status_item())? }
            }
            "APPEND" => self.append()?,
            "SEARCH" => self.search(false)?,
            "FETCH" => self.fetch(false)?,
            "STORE" => self.store(false)?,
            "COPY" => self.copy_move(false, false)?,
            "MOVE" => self.copy_move(false, true)?,
            "SORT" => self.sort(false)?,
            "THREAD" => self.thread(false)?,
            "UID" => self.uid()?,
            "ID" => self.id()?,
            "ENABLE" => {
                let mut capabilities = Vec::new();
                while self.eat(b' ') {
                    self.count_arg()?;
                    capabilities.push(self.keyword()?);
                }
                if capabilities.is_empty() {
                    return syntax("ENABLE needs a capability");
                }
                K::Enable { capabilities }
            }
            _ => return Err(ErrorKind::UnknownCommand),
        })
    }

    fn sp_mailbox(&mut self) -> PResult<MailboxName> {
        self.sp()?;
        self.mailbox()
    }

    fn uid(&mut self) -> PResult<CommandKind> {
        self.sp()?;
        match self.keyword()?.as_str() {
            "SEARCH" => self.search(true),
            "FETCH" => self.fetch(true),
            "STORE" => self.store(true),
            "COPY" => self.copy_move(true, false),
            "MOVE" => self.copy_move(true, true),
            "SORT" => self.sort(true),
            "THREAD" => self.thread(true),
            "EXPUNGE" => {
                self.sp()?;
                Ok(CommandKind::UidExpunge { set: self.sequence_set()? })
            }
            _ => Err(ErrorKind::UnknownCommand),
        }
    }

    /// ```text
    /// authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]
    /// ```
    fn authenticate(&mut self) -> PResult<CommandKind> {
        self.sp()?;
        let mechanism = self.keyword()?;
        let initial_response = if self.eat(b' ') {
            let r = self.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            if r.is_empty() {
                return syntax("bad initial response");
            }
            Some(Secret::new(r.to_vec()))
        } else {
            None
        };
        Ok(CommandKind::Authenticate { mechanism, initial_response })
    }

    /// ```text
    /// create = "CREATE" SP mailbox [SP "(" create-param *(SP create-param) ")"]
    /// create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"   ; RFC 6154
    /// ```
    fn create(&mut self) -> PResult<CommandKind> {
        let mailbox = self.sp_mailbox()?;
        let mut special_use = Vec::new();
        if self.eat(b' ') {
            self.expect(b'(', "expected '('")?;
            loop {
                let name = self.keyword()?;
                self.sp()?;
                if name == "USE" {
                    let attrs = self.list(true, |p| {
                        p.expect(b'\\', "expected \\attribute")?;
                        Ok(format!("\\{}", p.atom()?))
                    })?;
                    special_use.extend(attrs);
                } else {
                    self.generic_value()?;
                }
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        }
        Ok(CommandKind::Create { mailbox, special_use })
    }

    /// ```text
    /// list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
    ///        [SP list-return-opts]                           ; RFC 5258
    /// ```
    fn list_command(&mut self) -> PResult<CommandKind> {
        self.sp()?;
        let mut selection = Vec::new();
        if self.peek() == Some(b'(') {
            selection = self.list(true, |p| {
                Ok(match p.keyword()?.as_str() {
                    "SUBSCRIBED" => ListSelect::Subscribed,
                    "REMOTE" => ListSelect::Remote,
                    "RECURSIVEMATCH" => ListSelect::RecursiveMatch,
                    "SPECIAL-USE" => ListSelect::SpecialUse,
                    // RFC 5258 §3.1: an unknown selection option is BAD.
                    _ => return syntax("unknown LIST selection option"),
                })
            })?;
            self.sp()?;
        }
        let reference = self.astring()?;
        let reference = self.short(reference)?;
        self.sp()?;
        let patterns = if self.peek() == Some(b'(') {
            self.list(false, |p| p.list_mailbox())?
        } else {
            vec![self.list_mailbox()?]
        };
        let mut returns = Vec::new();
        if self.eat(b' ') {
            if self.keyword()? != "RETURN" {
                return syntax("expected RETURN");
            }
            self.sp()?;
            returns = self.list(true, |p| {
                Ok(match p.keyword()?.as_str() {
                    "SUBSCRIBED" => ListReturn::Subscribed,
                    "CHILDREN" => ListReturn::Children,
                    "SPECIAL-USE" => ListReturn::SpecialUse,
                    "STATUS" => {
                        p.sp()?;
                        ListReturn::Status(p.list(false, |p| p.status_item())?)
                    }
                    // An option we did not advertise cannot be honoured
                    // (Dovecot answers BAD too).
                    _ => return syntax("unknown LIST return option"),
                })
            })?;
        }
        Ok(CommandKind::List { reference, patterns, selection, returns })
    }

    fn status_item(&mut self) -> PResult<StatusItem> {
        Ok(match self.keyword()?.as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            _ => return syntax("unknown STATUS item"),
        })
    }

    fn flag(&mut self) -> PResult<Flag> {
        if self.eat(b'\\') {
            let a = self.atom()?;
            return Ok(match a.to_ascii_uppercase().as_str() {
                "SEEN" => Flag::Seen,
                "ANSWERED" => Flag::Answered,
                "FLAGGED" => Flag::Flagged,
                "DELETED" => Flag::Deleted,
                "DRAFT" => Flag::Draft,
                "RECENT" => Flag::Recent,
                _ => Flag::Extension(a),
            });
        }
        Ok(Flag::Keyword(self.atom()?))
    }

    fn flag_list(&mut self) -> PResult<Vec<Flag>> {
        self.list(true, |p| p.flag())
    }

    /// ```text
    /// append = "APPEND" SP mailbox 1*append-message          ; RFC 3502
    /// append-message = [SP flag-list] [SP date-time] SP literal
    /// ```
    fn append(&mut self) -> PResult<CommandKind> {
        let mailbox = self.sp_mailbox()?;
        let mut messages = Vec::new();
        while self.eat(b' ') {
            self.count_arg()?;
            let mut flags = Vec::new();
            let mut date = None;
            if self.peek() == Some(b'(') {
                flags = self.flag_list()?;
                self.sp()?;
            }
            if self.peek() == Some(b'"') {
                date = Some(self.date_time()?);
                self.sp()?;
            }
            if self.peek() != Some(b'{') {
                return syntax("APPEND needs a literal");
            }
            messages.push(AppendMessage { flags, date, data: self.literal()? });
        }
        if messages.is_empty() {
            return syntax("APPEND needs a message");
        }
        Ok(CommandKind::Append { mailbox, messages })
    }

    fn date_time(&mut self) -> PResult<DateTime> {
        let q = self.quoted()?;
        parse_date_time(&q).ok_or(ErrorKind::Syntax("bad date-time"))
    }

    fn date(&mut self) -> PResult<Date> {
        let s = if self.peek() == Some(b'"') { self.quoted()? } else { self.atom()?.into_bytes() };
        parse_date(&s).ok_or(ErrorKind::Syntax("bad date"))
    }

    // ---- SEARCH, SORT, THREAD ----

    /// ```text
    /// search = "SEARCH" [SP "RETURN" SP "(" [search-return-opt *(SP ...)] ")"]
    ///          [SP "CHARSET" SP astring] 1*(SP search-key)
    /// ```
    fn search(&mut self, uid: bool) -> PResult<CommandKind> {
        self.sp()?;
        let mut returns = None;
        if self.peek_keyword("RETURN ") {
            self.keyword()?;
            self.sp()?;
            returns = Some(self.list(true, |p| {
                Ok(match p.keyword()?.as_str() {
                    "MIN" => SearchReturn::Min,
                    "MAX" => SearchReturn::Max,
                    "ALL" => SearchReturn::All,
                    "COUNT" => SearchReturn::Count,
                    "SAVE" => SearchReturn::Save,
                    _ => return syntax("unknown RETURN option"),
                })
            })?);
            self.sp()?;
        }
        let mut charset = None;
        if self.peek_keyword("CHARSET ") {
            self.keyword()?;
            self.sp()?;
            charset = Some(self.charset()?);
            self.sp()?;
        }
        let criteria = self.search_keys()?;
        Ok(CommandKind::Search { uid, charset, returns, criteria })
    }

    fn peek_keyword(&self, word: &str) -> bool {
        let t = match self.texts.get(self.part) {
            Some(t) => &t[self.pos.min(t.len())..],
            None => return false,
        };
        t.len() >= word.len() && t[..word.len()].eq_ignore_ascii_case(word.as_bytes())
    }

    fn charset(&mut self) -> PResult<String> {
        let c = self.astring()?;
        if c.len() > 64 || !c.is_ascii() {
            return syntax("bad charset");
        }
        Ok(String::from_utf8_lossy(&c).to_ascii_uppercase())
    }

    /// `1*(search-key SP) search-key` up to the end of the command.
    fn search_keys(&mut self) -> PResult<SearchKey> {
        let mut keys = vec![self.search_key()?];
        while self.eat(b' ') {
            self.count_arg()?;
            keys.push(self.search_key()?);
        }
        Ok(if keys.len() == 1 { keys.remove(0) } else { SearchKey::And(keys) })
    }

    fn search_key(&mut self) -> PResult<SearchKey> {
        self.enter()?;
        let k = self.search_key_inner();
        self.leave();
        k
    }

    fn sp_astring(&mut self) -> PResult<Vec<u8>> {
        self.sp()?;
        self.astring()
    }

    fn sp_date(&mut self) -> PResult<Date> {
        self.sp()?;
        self.date()
    }

    fn search_key_inner(&mut self) -> PResult<SearchKey> {
        use SearchKey as S;
        match self.peek() {
            Some(b'(') => {
                let keys = self.list(false, |p| p.search_key())?;
                return Ok(S::And(keys));
            }
            Some(b'0'..=b'9' | b'*' | b'$') => return Ok(S::Sequence(self.sequence_set()?)),
            _ => {}
        }
        Ok(match self.keyword()?.as_str() {
            "ALL" => S::All,
            "ANSWERED" => S::Answered,
            "BCC" => S::Bcc(self.sp_astring()?),
            "BEFORE" => S::Before(self.sp_date()?),
            "BODY" => S::Body(self.sp_astring()?),
            "CC" => S::Cc(self.sp_astring()?),
            "DELETED" => S::Deleted,
            "DRAFT" => S::Draft,
            "FLAGGED" => S::Flagged,
            "FROM" => S::From(self.sp_astring()?),
            "HEADER" => {
                let field = self.sp_astring()?;
                S::Header(field, self.sp_astring()?)
            }
            "KEYWORD" => {
                self.sp()?;
                S::Keyword(self.atom()?)
            }
            "LARGER" => {
                self.sp()?;
                S::Larger(self.number()?)
            }
            "NEW" => S::New,
            "NOT" => {
                self.sp()?;
                S::Not(Box::new(self.search_key()?))
            }
            "OLD" => S::Old,
            "ON" => S::On(self.sp_date()?),
            "OR" => {
                self.sp()?;
                let a = self.search_key()?;
                self.sp()?;
                S::Or(Box::new(a), Box::new(self.search_key()?))
            }
            "RECENT" => S::Recent,
            "SEEN" => S::Seen,
            "SENTBEFORE" => S::SentBefore(self.sp_date()?),
            "SENTON" => S::SentOn(self.sp_date()?),
            "SENTSINCE" => S::SentSince(self.sp_date()?),
            "SINCE" => S::Since(self.sp_date()?),
            "SMALLER" => {
                self.sp()?;
                S::Smaller(self.number()?)
            }
            "SUBJECT" => S::Subject(self.sp_astring()?),
            "TEXT" => S::Text(self.sp_astring()?),
            "TO" => S::To(self.sp_astring()?),
            "UID" => {
                self.sp()?;
                S::Uid(self.sequence_set()?)
            }
            "UNANSWERED" => S::Unanswered,
            "UNDELETED" => S::Undeleted,
            "UNDRAFT" => S::Undraft,
            "UNFLAGGED" => S::Unflagged,
            "UNKEYWORD" => {
                self.sp()?;
                S::Unkeyword(self.atom()?)
            }
            "UNSEEN" => S::Unseen,
            "OLDER" => {
                self.sp()?;
                S::Older(self.nz_number()?)
            }
            "YOUNGER" => {
                self.sp()?;
                S::Younger(self.nz_number()?)
            }
            _ => return syntax("unknown search key"),
        })
    }

    /// ```text
    /// sort = ["UID" SP] "SORT" SP sort-criteria SP charset 1*(SP search-key)
    /// ```
    fn sort(&mut self, uid: bool) -> PResult<CommandKind> {
        self.sp()?;
        let criteria = self.list(false, |p| {
            let mut reverse = false;
            let mut k = p.keyword()?;
            if k == "REVERSE" {
                reverse = true;
                p.sp()?;
                k = p.keyword()?;
            }
            let key = match k.as_str() {
                "ARRIVAL" => SortKey::Arrival,
                "CC" => SortKey::Cc,
                "DATE" => SortKey::Date,
                "FROM" => SortKey::From,
                "SIZE" => SortKey::Size,
                "SUBJECT" => SortKey::Subject,
                "TO" => SortKey::To,
                _ => return syntax("unknown sort key"),
            };
            Ok(SortCriterion { reverse, key })
        })?;
        self.sp()?;
        let charset = self.charset()?;
        self.sp()?;
        Ok(CommandKind::Sort { uid, criteria, charset, search: self.search_keys()? })
    }

    fn thread(&mut self, uid: bool) -> PResult<CommandKind> {
        self.sp()?;
        let algorithm = match self.keyword()?.as_str() {
            "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
            "REFERENCES" => ThreadAlgorithm::References,
            _ => return syntax("unknown thread algorithm"),
        };
        self.sp()?;
        let charset = self.charset()?;
        self.sp()?;
        Ok(CommandKind::Thread { uid, algorithm, charset, search: self.search_keys()? })
    }

    // ---- FETCH, STORE, COPY ----

    /// ```text
    /// fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
    ///         fetch-att / "(" fetch-att *(SP fetch-att) ")")
    /// ```
    fn fetch(&mut self, uid: bool) -> PResult<CommandKind> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let items = if self.peek() == Some(b'(') {
            self.list(false, |p| p.fetch_att())?.into_iter().flatten().collect()
        } else {
            self.fetch_att()?
        };
        Ok(CommandKind::Fetch { uid, set, items })
    }

    /// One fetch-att; the macros expand to several.
    fn fetch_att(&mut self) -> PResult<Vec<FetchAttr>> {
        use FetchAttr as F;
        let name = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.');
        let name = String::from_utf8_lossy(name).to_ascii_uppercase();
        Ok(match name.as_str() {
            "ALL" => vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope],
            "FAST" => vec![F::Flags, F::InternalDate, F::Rfc822Size],
            "FULL" => vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope, F::Body],
            "ENVELOPE" => vec![F::Envelope],
            "FLAGS" => vec![F::Flags],
            "INTERNALDATE" => vec![F::InternalDate],
            "RFC822" => vec![F::Rfc822],
            "RFC822.HEADER" => vec![F::Rfc822Header],
            "RFC822.SIZE" => vec![F::Rfc822Size],
            "RFC822.TEXT" => vec![F::Rfc822Text],
            "BODYSTRUCTURE" => vec![F::BodyStructure],
            "UID" => vec![F::Uid],
            "BODY" if self.peek() != Some(b'[') => vec![F::Body],
            "BODY" | "BODY.PEEK" => {
                let section = self.section()?;
                let partial = if self.eat(b'<') {
                    let origin = self.number()?;
                    self.expect(b'.', "expected '.' in partial")?;
                    let count = self.nz_number()?;
                    self.expect(b'>', "expected '>'")?;
                    Some((origin, count))
                } else {
                    None
                };
                vec![F::BodySection { peek: name == "BODY.PEEK", section, partial }]
            }
            _ => return syntax("unknown FETCH item"),
        })
    }

    /// ```text
    /// section = "[" [section-spec] "]"
    /// section-spec = section-msgtext / (section-part ["." section-text])
    /// ```
    fn section(&mut self) -> PResult<Section> {
        self.expect(b'[', "expected '['")?;
        let mut part = Vec::new();
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            if part.len() >= 64 {
                return Err(ErrorKind::TooDeep);
            }
            part.push(self.nz_number()?);
            if !self.eat(b'.') {
                break;
            }
        }
        let text = if self.peek() == Some(b']') {
            if self.texts[self.part].get(self.pos.wrapping_sub(1)) == Some(&b'.') && !part.is_empty() {
                return syntax("bad section");
            }
            None
        } else {
            let t = self.take_while(|b| b.is_ascii_alphabetic() || b == b'.');
            let t = String::from_utf8_lossy(t).to_ascii_uppercase();
            Some(match t.as_str() {
                "HEADER" => SectionText::Header,
                "TEXT" => SectionText::Text,
                "MIME" if !part.is_empty() => SectionText::Mime,
                "HEADER.FIELDS" => SectionText::HeaderFields(self.header_list()?),
                "HEADER.FIELDS.NOT" => SectionText::HeaderFieldsNot(self.header_list()?),
                _ => return syntax("bad section"),
            })
        };
        self.expect(b']', "expected ']'")?;
        Ok(Section { part, text })
    }

    fn header_list(&mut self) -> PResult<Vec<String>> {
        self.sp()?;
        self.list(false, |p| {
            let f = p.astring()?;
            if f.is_empty() || f.len() > 256 || !f.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b':') {
                return syntax("bad header field name");
            }
            Ok(String::from_utf8_lossy(&f).to_ascii_uppercase())
        })
    }

    /// ```text
    /// store = "STORE" SP sequence-set SP store-att-flags
    /// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
    ///                   (flag-list / (flag *(SP flag)))
    /// ```
    fn store(&mut self, uid: bool) -> PResult<CommandKind> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let mode = if self.eat(b'+') {
            StoreMode::Add
        } else if self.eat(b'-') {
            StoreMode::Remove
        } else {
            StoreMode::Replace
        };
        let silent = match self.take_while(|b| b.is_ascii_alphabetic() || b == b'.').to_ascii_uppercase().as_slice() {
            b"FLAGS" => false,
            b"FLAGS.SILENT" => true,
            _ => return syntax("expected FLAGS"),
        };
        self.sp()?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut v = vec![self.flag()?];
            while self.eat(b' ') {
                self.count_arg()?;
                v.push(self.flag()?);
            }
            v
        };
        Ok(CommandKind::Store { uid, set, mode, silent, flags })
    }

    fn copy_move(&mut self, uid: bool, is_move: bool) -> PResult<CommandKind> {
        self.sp()?;
        let set = self.sequence_set()?;
        let mailbox = self.sp_mailbox()?;
        Ok(if is_move { CommandKind::Move { uid, set, mailbox } } else { CommandKind::Copy { uid, set, mailbox } })
    }

    /// ```text
    /// id = "ID" SP ( "(" string SP nstring *(SP string SP nstring) ")" / nil )
    /// ```
    fn id(&mut self) -> PResult<CommandKind> {
        self.sp()?;
        if self.peek() != Some(b'(') {
            return if self.keyword()? == "NIL" { Ok(CommandKind::Id { params: None }) } else { syntax("expected ID list") };
        }
        let params = self.list(true, |p| {
            let k = p.string()?;
            let k = p.short(k)?;
            p.sp()?;
            let v = match p.nstring()? {
                Some(v) => Some(p.short(v)?),
                None => None,
            };
            Ok((k, v))
        })?;
        Ok(CommandKind::Id { params: Some(params) })
    }
}

const MONTHS: [&[u8; 3]; 12] = [b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG", b"SEP", b"OCT", b"NOV", b"DEC"];

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0')))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `date-text = date-day "-" date-month "-" date-year` (day 1 or 2 digits).
pub fn parse_date(s: &[u8]) -> Option<Date> {
    let mut it = s.split(|&b| b == b'-');
    let (d, m, y) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || d.is_empty() || d.len() > 2 || y.len() != 4 || m.len() != 3 {
        return None;
    }
    let day = digits(d)? as u8;
    let year = digits(y)? as u16;
    let month = MONTHS.iter().position(|mm| m.eq_ignore_ascii_case(&mm[..]))? as u8 + 1;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(Date { year, month, day })
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
/// (the quotes already removed). A one-digit day without the padding space
/// is accepted too, as clients send it.
pub fn parse_date_time(s: &[u8]) -> Option<DateTime> {
    let padded;
    let s = if s.len() == 25 && s.get(1) == Some(&b'-') {
        padded = [&b" "[..], s].concat();
        &padded[..]
    } else {
        s
    };
    if s.len() != 26 || s[11] != b' ' || s[20] != b' ' {
        return None;
    }
    let day_part: &[u8] = if s[0] == b' ' { &s[1..2] } else { &s[0..2] };
    let mut date_text = day_part.to_vec();
    date_text.extend_from_slice(&s[2..11]);
    let date = parse_date(&date_text)?;
    let t = &s[12..20];
    if t[2] != b':' || t[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (digits(&t[0..2])?, digits(&t[3..5])?, digits(&t[6..8])?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let z = &s[21..26];
    let sign: i16 = match z[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (zh, zm) = (digits(&z[1..3])?, digits(&z[3..5])?);
    if zm > 59 || zh > 23 {
        return None;
    }
    Some(DateTime {
        date,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        zone_minutes: sign * (zh as i16 * 60 + zm as i16),
    })
}

#[cfg(test)]
mod tests {
    use super::super::frame::{CommandReader, Frame, Limits};
    use super::*;
    use crate::imap::sequence::{SeqNum, SeqRange};

    /// Plays the session: cuts `input` into lines and literals exactly as a
    /// transport would, receiving it in chunks of `chunk` bytes, and returns
    /// every result plus the continuation requests it had to send.
    fn drive(input: &[u8], chunk: usize, limits: Limits) -> (Vec<Result<Command, ParseError>>, usize) {
        let mut reader = CommandReader::new(limits);
        let mut out = Vec::new();
        let mut continuations = 0;
        let mut pending: Vec<u8> = Vec::new();
        let mut want_literal: Option<usize> = None;
        for piece in input.chunks(chunk.max(1)) {
            pending.extend_from_slice(piece);
            loop {
                if let Some(n) = want_literal {
                    if pending.len() < n {
                        break;
                    }
                    let rest = pending.split_off(n);
                    let lit = std::mem::replace(&mut pending, rest);
                    reader.push_literal(lit).expect("literal accepted");
                    want_literal = None;
                    continue;
                }
                let Some(nl) = pending.iter().position(|&b| b == b'\n') else { break };
                let rest = pending.split_off(nl + 1);
                let line = std::mem::replace(&mut pending, rest);
                match reader.push_line(&line) {
                    Frame::Literal { size, sync } => {
                        continuations += usize::from(sync);
                        want_literal = Some(size as usize);
                    }
                    Frame::Done(r) => {
                        let fatal = r.as_ref().err().is_some_and(|e| e.fatal);
                        out.push(r);
                        if fatal {
                            return (out, continuations);
                        }
                    }
                }
            }
        }
        (out, continuations)
    }

    fn parse_one(input: &str) -> Result<Command, ParseError> {
        let input = format!("{input}\r\n");
        let whole = drive(input.as_bytes(), input.len(), Limits::default());
        if input.contains('{') {
            for chunk in 1..input.len() {
                assert_eq!(drive(input.as_bytes(), chunk, Limits::default()), whole, "{input:?} in chunks of {chunk}");
            }
        }
        let (mut v, _) = whole;
        assert_eq!(v.len(), 1, "{input:?}");
        v.remove(0)
    }

    fn kind(input: &str) -> CommandKind {
        match parse_one(input) {
            Ok(c) => {
                assert_eq!(c.tag.as_str(), "a1");
                c.kind
            }
            Err(e) => panic!("{input:?}: {e:?}"),
        }
    }

    fn err(input: &str) -> ParseError {
        match parse_one(input) {
            Ok(c) => panic!("{input:?} parsed: {c:?}"),
            Err(e) => e,
        }
    }

    fn mb(s: &str) -> MailboxName {
        MailboxName::new(s.as_bytes().to_vec())
    }

    fn set(s: &str) -> SequenceSet {
        SequenceSet::parse(s.as_bytes()).unwrap()
    }

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn simple_commands() {
        use CommandKind as K;
        let table: &[(&str, CommandKind)] = &[
            ("a1 CAPABILITY", K::Capability),
            ("a1 capability", K::Capability),
            ("a1 NOOP", K::Noop),
            ("a1 LOGOUT", K::Logout),
            ("a1 STARTTLS", K::StartTls),
            ("a1 NAMESPACE", K::Namespace),
            ("a1 CHECK", K::Check),
            ("a1 CLOSE", K::Close),
            ("a1 UNSELECT", K::Unselect),
            ("a1 EXPUNGE", K::Expunge),
            ("a1 IDLE", K::Idle),
            ("a1 AUTHENTICATE plain", K::Authenticate { mechanism: "PLAIN".into(), initial_response: None }),
            (
                "a1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==",
                K::Authenticate { mechanism: "PLAIN".into(), initial_response: Some(Secret::new(b("AGFsaWNlAHNlY3JldA=="))) },
            ),
            ("a1 AUTHENTICATE EXTERNAL =", K::Authenticate { mechanism: "EXTERNAL".into(), initial_response: Some(Secret::new(b("="))) }),
            ("a1 LOGIN alice secret", K::Login { user: b("alice"), password: Secret::new(b("secret")) }),
            ("a1 LOGIN \"al ice\" \"p\\\"w\\\\\"", K::Login { user: b("al ice"), password: Secret::new(b("p\"w\\")) }),
            ("a1 LOGIN alice {6+}\r\nsec\"t\\", K::Login { user: b("alice"), password: Secret::new(b("sec\"t\\")) }),
            ("a1 SELECT inbox", K::Select { mailbox: mb("INBOX"), params: vec![] }),
            ("a1 SELECT INBOX (CONDSTORE)", K::Select { mailbox: mb("INBOX"), params: vec!["CONDSTORE".into()] }),
            (
                "a1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
                K::Select { mailbox: mb("INBOX"), params: vec!["QRESYNC".into()] },
            ),
            ("a1 EXAMINE \"Sent Items\"", K::Examine { mailbox: mb("Sent Items"), params: vec![] }),
            ("a1 CREATE foo/bar", K::Create { mailbox: mb("foo/bar"), special_use: vec![] }),
            (
                "a1 CREATE MySpecialJunk (USE (\\Junk \\Sent))",
                K::Create { mailbox: mb("MySpecialJunk"), special_use: vec!["\\Junk".into(), "\\Sent".into()] },
            ),
            ("a1 DELETE Trash", K::Delete { mailbox: mb("Trash") }),
            ("a1 RENAME INBOX Old", K::Rename { from: mb("INBOX"), to: mb("Old") }),
            ("a1 SUBSCRIBE &AMk-t&AOk-", K::Subscribe { mailbox: mb("&AMk-t&AOk-") }),
            ("a1 UNSUBSCRIBE {3}\r\na b", K::Unsubscribe { mailbox: mb("a b") }),
            (
                "a1 LIST \"\" *",
                K::List { reference: b(""), patterns: vec![b("*")], selection: vec![], returns: vec![] },
            ),
            (
                "a1 LIST ~/Mail/ %/foo]",
                K::List { reference: b("~/Mail/"), patterns: vec![b("%/foo]")], selection: vec![], returns: vec![] },
            ),
            (
                "a1 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent*\") RETURN (SPECIAL-USE CHILDREN SUBSCRIBED)",
                K::List {
                    reference: b(""),
                    patterns: vec![b("INBOX"), b("Sent*")],
                    selection: vec![ListSelect::Subscribed, ListSelect::RecursiveMatch],
                    returns: vec![ListReturn::SpecialUse, ListReturn::Children, ListReturn::Subscribed],
                },
            ),
            (
                "a1 LIST () \"\" % RETURN (STATUS (MESSAGES UNSEEN))",
                K::List {
                    reference: b(""),
                    patterns: vec![b("%")],
                    selection: vec![],
                    returns: vec![ListReturn::Status(vec![StatusItem::Messages, StatusItem::Unseen])],
                },
            ),
            ("a1 LSUB \"\" \"*\"", K::Lsub { reference: b(""), pattern: b("*") }),
            (
                "a1 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)",
                K::Status {
                    mailbox: mb("INBOX"),
                    items: vec![StatusItem::Messages, StatusItem::Recent, StatusItem::UidNext, StatusItem::UidValidity, StatusItem::Unseen],
                },
            ),
            ("a1 UID EXPUNGE 3:5,7", K::UidExpunge { set: set("3:5,7") }),
            ("a1 COPY 1:* Archive", K::Copy { uid: false, set: set("1:*"), mailbox: mb("Archive") }),
            ("a1 UID COPY 4,5 \"A b\"", K::Copy { uid: true, set: set("4,5"), mailbox: mb("A b") }),
            ("a1 MOVE $ Junk", K::Move { uid: false, set: SequenceSet::Saved, mailbox: mb("Junk") }),
            ("a1 uid move 10:* Trash", K::Move { uid: true, set: set("10:*"), mailbox: mb("Trash") }),
            ("a1 ID NIL", K::Id { params: None }),
            (
                "a1 ID (\"name\" \"mutt\" \"version\" NIL)",
                K::Id { params: Some(vec![(b("name"), Some(b("mutt"))), (b("version"), None)]) },
            ),
            ("a1 ENABLE CONDSTORE utf8=accept", K::Enable { capabilities: vec!["CONDSTORE".into(), "UTF8=ACCEPT".into()] }),
        ];
        for (input, want) in table {
            assert_eq!(&kind(input), want, "{input}");
        }
    }

    #[test]
    fn store_commands() {
        use CommandKind as K;
        let table: &[(&str, CommandKind)] = &[
            (
                "a1 STORE 1 FLAGS (\\Seen \\Deleted $Label1)",
                K::Store {
                    uid: false,
                    set: set("1"),
                    mode: StoreMode::Replace,
                    silent: false,
                    flags: vec![Flag::Seen, Flag::Deleted, Flag::Keyword("$Label1".into())],
                },
            ),
            (
                "a1 UID STORE 1:* +FLAGS.SILENT \\answered",
                K::Store { uid: true, set: set("1:*"), mode: StoreMode::Add, silent: true, flags: vec![Flag::Answered] },
            ),
            (
                "a1 STORE 2 -flags (\\Flagged \\Draft \\X-Custom)",
                K::Store {
                    uid: false,
                    set: set("2"),
                    mode: StoreMode::Remove,
                    silent: false,
                    flags: vec![Flag::Flagged, Flag::Draft, Flag::Extension("X-Custom".into())],
                },
            ),
            ("a1 STORE 2 FLAGS ()", K::Store { uid: false, set: set("2"), mode: StoreMode::Replace, silent: false, flags: vec![] }),
        ];
        for (input, want) in table {
            assert_eq!(&kind(input), want, "{input}");
        }
    }

    #[test]
    fn fetch_items() {
        use FetchAttr as F;
        let sec = |part: Vec<u32>, text: Option<SectionText>| Section { part, text };
        let body = |peek, section, partial| F::BodySection { peek, section, partial };
        let table: &[(&str, Vec<FetchAttr>)] = &[
            ("ALL", vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope]),
            ("fast", vec![F::Flags, F::InternalDate, F::Rfc822Size]),
            ("FULL", vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope, F::Body]),
            ("(FLAGS UID)", vec![F::Flags, F::Uid]),
            ("(RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT)", vec![F::Rfc822, F::Rfc822Header, F::Rfc822Size, F::Rfc822Text]),
            ("(ENVELOPE BODY BODYSTRUCTURE INTERNALDATE)", vec![F::Envelope, F::Body, F::BodyStructure, F::InternalDate]),
            ("BODY[]", vec![body(false, sec(vec![], None), None)]),
            ("BODY.PEEK[]<0.2048>", vec![body(true, sec(vec![], None), Some((0, 2048)))]),
            ("body[header]", vec![body(false, sec(vec![], Some(SectionText::Header)), None)]),
            ("BODY[TEXT]", vec![body(false, sec(vec![], Some(SectionText::Text)), None)]),
            ("BODY[1]", vec![body(false, sec(vec![1], None), None)]),
            ("BODY[1.2.3]", vec![body(false, sec(vec![1, 2, 3], None), None)]),
            ("BODY[1.2.MIME]", vec![body(false, sec(vec![1, 2], Some(SectionText::Mime)), None)]),
            ("BODY[4.2.HEADER]", vec![body(false, sec(vec![4, 2], Some(SectionText::Header)), None)]),
            ("BODY[3.TEXT]<10.20>", vec![body(false, sec(vec![3], Some(SectionText::Text)), Some((10, 20)))]),
            (
                "(UID BODY.PEEK[HEADER.FIELDS (From To \"Subject\" {10}\r\nMessage-ID)])",
                vec![
                    F::Uid,
                    body(
                        true,
                        sec(vec![], Some(SectionText::HeaderFields(vec!["FROM".into(), "TO".into(), "SUBJECT".into(), "MESSAGE-ID".into()]))),
                        None,
                    ),
                ],
            ),
            (
                "BODY[HEADER.FIELDS.NOT (X-Spam)]",
                vec![body(false, sec(vec![], Some(SectionText::HeaderFieldsNot(vec!["X-SPAM".into()]))), None)],
            ),
        ];
        for (items, want) in table {
            let input = format!("a1 UID FETCH 1:* {items}");
            match kind(&input) {
                CommandKind::Fetch { uid: true, set: s, items } => {
                    assert_eq!(s, set("1:*"));
                    assert_eq!(&items, want, "{input}");
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        let bad = [
            "BODY[", "BODY[MIME]", "BODY[1.]", "BODY[0]", "BODY[]<0>", "BODY[]<0.0>", "BODY[HEADER.FIELDS]",
            "BODY[HEADER.FIELDS ()]", "BODY[TEXT.HEADER]", "(FLAGS", "FLAGS)", "()", "XYZ", "BODY.PEEK",
            "(FLAGS  UID)", "BODY[HEADER.FIELDS (a:b)]",
        ];
        for items in bad {
            let e = err(&format!("a1 FETCH 1 {items}"));
            assert_eq!(e.tag, Some(Tag("a1".into())), "{items}");
        }
    }

    #[test]
    fn search_keys() {
        use SearchKey as S;
        let d = |year, month, day| Date { year, month, day };
        let table: &[(&str, SearchKey)] = &[
            ("ALL", S::All),
            ("1:3,5", S::Sequence(set("1:3,5"))),
            ("$", S::Sequence(SequenceSet::Saved)),
            ("UID 1:*", S::Uid(set("1:*"))),
            (
                "ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN",
                S::And(vec![S::Answered, S::Deleted, S::Draft, S::Flagged, S::New, S::Old, S::Recent, S::Seen]),
            ),
            (
                "UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
                S::And(vec![S::Unanswered, S::Undeleted, S::Undraft, S::Unflagged, S::Unseen]),
            ),
            (
                "BCC a CC b FROM \"c d\" TO e SUBJECT {3}\r\nf g BODY h TEXT i",
                S::And(vec![
                    S::Bcc(b("a")),
                    S::Cc(b("b")),
                    S::From(b("c d")),
                    S::To(b("e")),
                    S::Subject(b("f g")),
                    S::Body(b("h")),
                    S::Text(b("i")),
                ]),
            ),
            ("HEADER Message-ID \"<x@y>\"", S::Header(b("Message-ID"), b("<x@y>"))),
            ("KEYWORD $Junk UNKEYWORD Work", S::And(vec![S::Keyword("$Junk".into()), S::Unkeyword("Work".into())])),
            ("LARGER 1000 SMALLER 4294967295", S::And(vec![S::Larger(1000), S::Smaller(u32::MAX)])),
            (
                "BEFORE 1-Feb-1994 ON \"29-feb-2024\" SINCE 31-Dec-1999",
                S::And(vec![S::Before(d(1994, 2, 1)), S::On(d(2024, 2, 29)), S::Since(d(1999, 12, 31))]),
            ),
            (
                "SENTBEFORE 1-Jan-2000 SENTON 2-Jan-2000 SENTSINCE 3-Jan-2000",
                S::And(vec![S::SentBefore(d(2000, 1, 1)), S::SentOn(d(2000, 1, 2)), S::SentSince(d(2000, 1, 3))]),
            ),
            ("NOT SEEN", S::Not(Box::new(S::Seen))),
            (
                "OR (FROM a SEEN) NOT TO b",
                S::Or(Box::new(S::And(vec![S::From(b("a")), S::Seen])), Box::new(S::Not(Box::new(S::To(b("b")))))),
            ),
            ("OLDER 3600 YOUNGER 60", S::And(vec![S::Older(3600), S::Younger(60)])),
            ("((SEEN))", S::And(vec![S::And(vec![S::Seen])])),
            ("SUBJECT \"caf\u{e9}\"", S::Subject("caf\u{e9}".as_bytes().to_vec())),
        ];
        for (keys, want) in table {
            let input = format!("a1 SEARCH {keys}");
            match kind(&input) {
                CommandKind::Search { uid: false, charset: None, returns: None, criteria } => {
                    assert_eq!(&criteria, want, "{input}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        assert_eq!(
            kind("a1 UID SEARCH RETURN (MIN MAX ALL COUNT) CHARSET utf-8 TEXT x"),
            CommandKind::Search {
                uid: true,
                charset: Some("UTF-8".into()),
                returns: Some(vec![SearchReturn::Min, SearchReturn::Max, SearchReturn::All, SearchReturn::Count]),
                criteria: S::Text(b("x")),
            }
        );
        assert_eq!(
            kind("a1 SEARCH RETURN () 1:*"),
            CommandKind::Search { uid: false, charset: None, returns: Some(vec![]), criteria: S::Sequence(set("1:*")) }
        );
        let bad = [
            "", "FOO", "BEFORE 30-Feb-2001", "BEFORE 1-Foo-2001", "BEFORE 1-Jan-01", "LARGER x", "LARGER 4294967296",
            "NOT", "OR SEEN", "()", "(SEEN", "SEEN)", "OLDER 0", "UID", "0", "1:", "SEEN  ANSWERED", "CHARSET",
            "RETURN (FOO) ALL", "HEADER x",
        ];
        for keys in bad {
            let e = err(&format!("a1 SEARCH {keys}"));
            assert_eq!(e.tag, Some(Tag("a1".into())), "{keys}");
            assert!(!e.fatal);
        }
    }

    #[test]
    fn sort_and_thread() {
        assert_eq!(
            kind("a1 UID SORT (REVERSE ARRIVAL cc DATE FROM SIZE SUBJECT TO) UTF-8 SINCE 1-Feb-1994"),
            CommandKind::Sort {
                uid: true,
                criteria: [
                    (true, SortKey::Arrival),
                    (false, SortKey::Cc),
                    (false, SortKey::Date),
                    (false, SortKey::From),
                    (false, SortKey::Size),
                    (false, SortKey::Subject),
                    (false, SortKey::To),
                ]
                .into_iter()
                .map(|(reverse, key)| SortCriterion { reverse, key })
                .collect(),
                charset: "UTF-8".into(),
                search: SearchKey::Since(Date { year: 1994, month: 2, day: 1 }),
            }
        );
        assert_eq!(
            kind("a1 THREAD REFERENCES US-ASCII ALL UNDELETED"),
            CommandKind::Thread {
                uid: false,
                algorithm: ThreadAlgorithm::References,
                charset: "US-ASCII".into(),
                search: SearchKey::And(vec![SearchKey::All, SearchKey::Undeleted]),
            }
        );
        assert!(matches!(
            kind("a1 UID THREAD orderedsubject UTF-8 ALL"),
            CommandKind::Thread { uid: true, algorithm: ThreadAlgorithm::OrderedSubject, .. }
        ));
        for bad in ["a1 SORT () UTF-8 ALL", "a1 SORT (REVERSE) UTF-8 ALL", "a1 SORT (DATE) UTF-8", "a1 THREAD FOO UTF-8 ALL"] {
            assert!(err(bad).tag.is_some(), "{bad}");
        }
    }

    #[test]
    fn append_and_multiappend() {
        let dt = DateTime {
            date: Date { year: 1994, month: 7, day: 7 },
            hour: 21,
            minute: 52,
            second: 25,
            zone_minutes: -(7 * 60),
        };
        assert_eq!(
            kind("a1 APPEND saved-messages (\\Seen) \" 7-Jul-1994 21:52:25 -0700\" {5}\r\nHello"),
            CommandKind::Append {
                mailbox: mb("saved-messages"),
                messages: vec![AppendMessage { flags: vec![Flag::Seen], date: Some(dt), data: b("Hello") }],
            }
        );
        assert_eq!(
            kind("a1 APPEND INBOX {8+}\r\nA\r\n{3}\r\n \"07-Jul-1994 21:52:25 +0530\" {0+}\r\n () {4}\r\n\0\r\n."),
            CommandKind::Append {
                mailbox: mb("INBOX"),
                messages: vec![
                    AppendMessage { flags: vec![], date: None, data: b("A\r\n{3}\r\n") },
                    AppendMessage {
                        flags: vec![],
                        date: Some(DateTime { zone_minutes: 330, ..dt }),
                        data: vec![],
                    },
                    AppendMessage { flags: vec![], date: None, data: b("\0\r\n.") },
                ],
            }
        );
        for bad in [
            "a1 APPEND INBOX",
            "a1 APPEND INBOX \"x\"",
            "a1 APPEND INBOX (\\Seen)",
            "a1 APPEND INBOX \"32-Jul-1994 21:52:25 -0700\" {1}\r\nx",
            "a1 APPEND INBOX \"7-Jul-1994 21:52:25 -07000\" {1}\r\nx",
            "a1 APPEND INBOX \"7-Jul-1994 21:52:25 -070\" {1}\r\nx",
            "a1 APPEND INBOX \" 7-Jul-1994 24:52:25 -0700\" {1}\r\nx",
            "a1 APPEND INBOX {1}\r\nx ",
            "a1 APPEND INBOX {1}\r\nxy",
        ] {
            assert!(err(bad).tag.is_some(), "{bad:?}");
        }
    }

    #[test]
    fn syntax_errors_tagged_and_untagged() {
        let table: &[(&str, Option<&str>, ErrorKind)] = &[
            ("", None, ErrorKind::Syntax("bad tag")),
            ("a1", None, ErrorKind::Syntax("expected space")),
            ("+a NOOP", None, ErrorKind::Syntax("bad tag")),
            ("* NOOP", None, ErrorKind::Syntax("bad tag")),
            ("a{1} NOOP", None, ErrorKind::Syntax("expected space")),
            ("a1 XYZZY", Some("a1"), ErrorKind::UnknownCommand),
            ("a1 UID XYZZY 1", Some("a1"), ErrorKind::UnknownCommand),
            ("a1 NOOP extra", Some("a1"), ErrorKind::Syntax("unexpected characters at end of command")),
            ("a1 NOOP ", Some("a1"), ErrorKind::Syntax("unexpected characters at end of command")),
            ("a1  NOOP", Some("a1"), ErrorKind::Syntax("expected keyword")),
            ("a1 LOGIN alice", Some("a1"), ErrorKind::Syntax("expected space")),
            ("a1 LOGIN \"alice secret", Some("a1"), ErrorKind::Syntax("unterminated quoted string")),
            ("a1 LOGIN \"a\\lice\" x", Some("a1"), ErrorKind::Syntax("bad escape in quoted string")),
            ("a1 FETCH 0 FLAGS", Some("a1"), ErrorKind::Sequence(SequenceError::Syntax)),
            ("a1 FETCH 4294967296 FLAGS", Some("a1"), ErrorKind::Sequence(SequenceError::Overflow)),
            ("a1 STATUS INBOX (SIZE)", Some("a1"), ErrorKind::Syntax("unknown STATUS item")),
            ("a1 STATUS INBOX ()", Some("a1"), ErrorKind::Syntax("empty list")),
            ("a1 LIST (X-FOO) \"\" \"\"", Some("a1"), ErrorKind::Syntax("unknown LIST selection option")),
            ("a1 LIST \"\" \"\" RETURN (X-FOO)", Some("a1"), ErrorKind::Syntax("unknown LIST return option")),
            ("a1 ENABLE", Some("a1"), ErrorKind::Syntax("ENABLE needs a capability")),
            ("a1 SELECT", Some("a1"), ErrorKind::Syntax("expected space")),
            ("a1 LOGIN {5}x", Some("a1"), ErrorKind::Syntax("literal must end the line")),
            ("a1 LOGIN \"a\rb\" x", Some("a1"), ErrorKind::Syntax("NUL, CR or LF in quoted string")),
        ];
        for (input, tag, kind) in table {
            let e = err(input);
            assert_eq!(e.tag.as_ref().map(Tag::as_str), *tag, "{input:?}");
            assert_eq!(&e.kind, kind, "{input:?}");
            assert!(!e.fatal, "{input:?}");
        }
    }

    #[test]
    fn every_chunking_gives_the_same_result() {
        let inputs: &[&[u8]] = &[
            b"a1 LOGIN {5}\r\nalice {6}\r\nse\r\ncr\r\n",
            b"a2 APPEND INBOX (\\Seen) {12+}\r\nSubject: x\r\n {3}\r\n{5}\r\n",
            b"a3 SEARCH CHARSET UTF-8 SUBJECT {4+}\r\n\xc3\xa9\"\\ FROM \"{3}\"\r\n",
            b"a4 UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS ({4}\r\nFrom)])\r\na5 NOOP\r\n",
            b"a6 LOGIN \"{5}\" x\r\nbad line {3}\r\nabc\r\n",
        ];
        for input in inputs {
            let (whole, conts) = drive(input, input.len(), Limits::default());
            assert!(whole.iter().all(|r| r.is_ok()) || input.starts_with(b"a6"), "{whole:?}");
            for chunk in 1..input.len() {
                assert_eq!(drive(input, chunk, Limits::default()), (whole.clone(), conts), "chunk {chunk}");
            }
        }
        let (r, conts) = drive(inputs[0], 1, Limits::default());
        assert_eq!(conts, 2);
        assert_eq!(r[0].as_ref().unwrap().kind, CommandKind::Login { user: b("alice"), password: Secret::new(b("se\r\ncr")) });
        // "{5}" inside quotes is no literal; the bad line that follows is
        // untagged-BAD-free: it has a tag, then its literal is consumed.
        // An unknown command is refused before its literal is invited; the
        // literal's bytes then arrive as a line of their own.
        let (r, conts) = drive(inputs[4], 1, Limits::default());
        assert_eq!(conts, 0);
        assert!(r[0].is_ok());
        assert_eq!(r[1].as_ref().unwrap_err().tag, Some(Tag("bad".into())));
        assert_eq!(r[1].as_ref().unwrap_err().kind, ErrorKind::UnknownCommand);
        assert_eq!(r[2].as_ref().unwrap_err().tag, None);
        for (line, kind) in [
            (&b"* LOGIN {5}\r\n"[..], ErrorKind::Syntax("bad tag")),
            (b"a XLOGIN {5}\r\n", ErrorKind::UnknownCommand),
            (b"a UID XFETCH {5}\r\n", ErrorKind::UnknownCommand),
            (b"a UID  {5}\r\n", ErrorKind::UnknownCommand),
        ] {
            match CommandReader::new(Limits::default()).push_line(line) {
                Frame::Done(Err(e)) => assert_eq!((e.kind, e.fatal), (kind, false)),
                f => panic!("{f:?}"),
            }
        }
        match CommandReader::new(Limits::default()).push_line(b"a XLOGIN {5+}\r\n") {
            Frame::Done(Err(e)) => assert!(e.fatal),
            f => panic!("{f:?}"),
        }
    }

    #[test]
    fn literal_bounds() {
        let limits = Limits { max_literal: 100, max_append_total: 150, max_command: 200, ..Limits::default() };
        let mut r = CommandReader::new(limits);
        // Over max_literal: refused before reading; sync → recoverable NO.
        match r.push_line(b"a1 APPEND INBOX {101}\r\n") {
            Frame::Done(Err(e)) => {
                assert_eq!(e.kind, ErrorKind::LiteralTooBig);
                assert_eq!(e.tag, Some(Tag("a1".into())));
                assert!(!e.fatal);
            }
            f => panic!("{f:?}"),
        }
        assert!(!r.in_progress());
        // Non-synchronizing and too big: the bytes are coming, so fatal.
        match r.push_line(b"a2 APPEND INBOX {101+}\r\n") {
            Frame::Done(Err(e)) => assert!(e.fatal && e.kind == ErrorKind::LiteralTooBig),
            f => panic!("{f:?}"),
        }
        // MULTIAPPEND total.
        assert_eq!(r.push_line(b"a3 APPEND INBOX {100}\r\n"), Frame::Literal { size: 100, sync: true });
        r.push_literal(vec![b'x'; 100]).unwrap();
        match r.push_line(b" {51}\r\n") {
            Frame::Done(Err(e)) => assert_eq!(e.kind, ErrorKind::LiteralTooBig),
            f => panic!("{f:?}"),
        }
        // Other commands: literals count against max_command.
        match r.push_line(b"a4 LOGIN {190}\r\n") {
            Frame::Done(Err(e)) => assert_eq!((e.kind, e.fatal), (ErrorKind::CommandTooLong, false)),
            f => panic!("{f:?}"),
        }
        // 2^32 and beyond: a clean error, never a wrapped size.
        for (line, fatal) in [
            (&b"a5 APPEND INBOX {4294967296}\r\n"[..], false),
            (b"a5 LOGIN {99999999999999999999999}\r\n", false),
            (b"a5 APPEND INBOX {4294967296+}\r\n", true),
        ] {
            match r.push_line(line) {
                Frame::Done(Err(e)) => {
                    assert_eq!((e.kind, e.fatal, e.tag), (ErrorKind::BadLiteral, fatal, Some(Tag("a5".into()))))
                }
                f => panic!("{f:?}"),
            }
        }
        // Wrong literal length from the session is refused, not trusted.
        assert_eq!(r.push_line(b"a6 LOGIN {3}\r\n"), Frame::Literal { size: 3, sync: true });
        assert!(r.push_literal(b"ab".to_vec()).unwrap_err().fatal);
        // A too long line; fatal only if it announced a {n+} literal.
        for (end, fatal) in [("x", false), ("{3}", false), ("{3+}", true)] {
            let long = format!("a7 LOGIN {} {end}\r\n", "a".repeat(300));
            match r.push_line(long.as_bytes()) {
                Frame::Done(Err(e)) => assert_eq!((e.kind, e.fatal), (ErrorKind::CommandTooLong, fatal), "{end}"),
                f => panic!("{f:?}"),
            }
        }
        // The same after a literal, on a continuation line.
        assert_eq!(r.push_line(b"a7 LOGIN {3}\r\n"), Frame::Literal { size: 3, sync: true });
        r.push_literal(b"abc".to_vec()).unwrap();
        let long = format!(" {} {{4+}}\r\n", "a".repeat(300));
        match r.push_line(long.as_bytes()) {
            Frame::Done(Err(e)) => assert_eq!((e.kind, e.fatal, e.tag), (ErrorKind::CommandTooLong, true, Some(Tag("a7".into())))),
            f => panic!("{f:?}"),
        }
        assert_eq!(r.push_line(b"a8 APPEND INBOX {0}\r\n"), Frame::Literal { size: 0, sync: true });
        r.push_literal(Vec::new()).unwrap();
        assert!(matches!(r.push_line(b"\r\n"), Frame::Done(Ok(_))));
    }

    #[test]
    fn nesting_and_argument_bounds() {
        // 10,000 nested parentheses: BAD, no stack overflow.
        let deep = format!("a1 SEARCH {}SEEN{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(err(&deep).kind, ErrorKind::TooDeep);
        let nots = format!("a1 SEARCH {}SEEN", "NOT ".repeat(10_000));
        assert_eq!(err(&nots).kind, ErrorKind::TooDeep);
        let ors = format!("a1 SEARCH {}SEEN{}", "OR ".repeat(10_000), " SEEN".repeat(10_000));
        assert_eq!(err(&ors).kind, ErrorKind::TooDeep);
        let generic = format!("a1 SELECT INBOX {}{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(err(&generic).kind, ErrorKind::TooDeep);
        // Within the bound it parses.
        let ok = format!("a1 SEARCH {}SEEN{}", "(".repeat(30), ")".repeat(30));
        assert!(parse_one(&ok).is_ok());
        let ok = format!("a1 SEARCH {}SEEN", "NOT ".repeat(60));
        assert!(parse_one(&ok).is_ok());
        let many = format!("a1 SEARCH{}", " SEEN".repeat(20_000));
        assert_eq!(err(&many).kind, ErrorKind::TooManyArgs);
        let flags = format!("a1 STORE 1 +FLAGS ({})", vec!["x"; 20_000].join(" "));
        assert_eq!(err(&flags).kind, ErrorKind::TooManyArgs);
        let huge = "a1 FETCH 1:4294967295 (FLAGS)";
        assert!(matches!(kind_of(huge), CommandKind::Fetch { .. }));
    }

    fn kind_of(s: &str) -> CommandKind {
        parse_one(s).unwrap().kind
    }

    #[test]
    fn garbage_never_panics() {
        // Deterministic pseudo-random bytes, whole and in small chunks.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let alphabet = b"a1 ()[]{}<>\"\\*%$:,.+-~0123456789\r\nSEARCHFETCHBODY.PEEKHEADER.FIELDSUIDNOTOR\x80\xff\0";
        for round in 0..300 {
            let len = 1 + (round * 7) % 200;
            let mut input = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                input.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            input.extend_from_slice(b"\r\n");
            let limits = Limits { max_literal: 64, max_command: 4096, ..Limits::default() };
            let whole = drive(&input, input.len(), limits);
            assert_eq!(drive(&input, 3, limits), whole);
        }
    }

    /// Valid commands with bytes flipped, dropped and cut short: never a
    /// panic, and the same outcome however the input is chunked.
    #[test]
    fn mutated_commands_never_panic() {
        let seeds: &[&[u8]] = &[
            b"a1 UID FETCH 1:*,3 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (FROM TO)]<0.100> UID)\r\n",
            b"a2 SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM {3}\r\nabc SINCE 1-Feb-1994) NOT UID 5:*\r\n",
            b"a3 APPEND INBOX (\\Seen) \" 7-Jul-1994 21:52:25 -0700\" {5+}\r\nHello {2}\r\nhi\r\n",
            b"a4 LIST (SUBSCRIBED) \"\" (INBOX %) RETURN (CHILDREN STATUS (MESSAGES))\r\n",
            b"a5 UID SORT (REVERSE DATE) UTF-8 ALL\r\na6 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n",
        ];
        let mut x: u64 = 0x2545f4914f6cdd1d;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as usize
        };
        let limits = Limits { max_literal: 1000, max_command: 4096, ..Limits::default() };
        for round in 0..2000 {
            let mut input = seeds[round % seeds.len()].to_vec();
            for _ in 0..1 + next(4) {
                if input.len() < 2 {
                    break;
                }
                let i = next(input.len() as u64);
                match next(3) {
                    0 => input[i] = b"(){}[]<>\"\\ 0*$+.:,\r\nx\xff"[next(20)],
                    1 => {
                        input.remove(i);
                    }
                    _ => input.truncate(i.max(1)),
                }
            }
            let whole = drive(&input, input.len(), limits);
            assert_eq!(drive(&input, 1 + next(7), limits), whole, "{:?}", String::from_utf8_lossy(&input));
        }
    }

    /// A Thunderbird-style UID set of 60,000 ranges (~900 KB) parses, and
    /// resolves against a mailbox without expanding.
    #[test]
    fn long_uid_set() {
        let set: Vec<String> = (0..60_000u32).map(|i| format!("{}:{}", i * 10 + 1, i * 10 + 3)).collect();
        let input = format!("a1 UID STORE {} +FLAGS (\\Seen)", set.join(","));
        assert!(input.len() < Limits::default().max_command);
        match kind_of(&input) {
            CommandKind::Store { set, .. } => {
                let r = set.resolve_uid(u32::MAX);
                assert_eq!(r.as_slice().len(), 60_000);
                assert_eq!(r.len(), 180_000);
                assert!(r.contains(599_993) && !r.contains(599_994));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sequence_set_shape() {
        match kind_of("a1 FETCH 1:*,3 FLAGS") {
            CommandKind::Fetch { set: SequenceSet::Ranges(r), .. } => assert_eq!(
                r,
                vec![
                    SeqRange { start: SeqNum::Num(1), end: SeqNum::Star },
                    SeqRange { start: SeqNum::Num(3), end: SeqNum::Num(3) }
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn credentials_never_in_debug() {
        for input in ["a1 LOGIN alice hunter2", "a1 LOGIN alice {7}\r\nhunter2", "a1 AUTHENTICATE PLAIN aHVudGVyMg=="] {
            let shown = format!("{:?}", parse_one(input));
            assert!(!shown.contains("hunter2") && !shown.contains("aHVudGVyMg") && !shown.contains("104, 117"), "{shown}");
        }
    }

    #[test]
    fn section_display_round_trips() {
        for spec in ["", "1", "1.2.3", "HEADER", "TEXT", "2.MIME", "1.HEADER.FIELDS (FROM TO)", "HEADER.FIELDS.NOT (X-SPAM)"] {
            match kind_of(&format!("a1 FETCH 1 BODY[{spec}]")) {
                CommandKind::Fetch { items, .. } => match &items[..] {
                    [FetchAttr::BodySection { section, .. }] => assert_eq!(section.to_string(), spec),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date(b"1-Jan-2000"), Some(Date { year: 2000, month: 1, day: 1 }));
        assert_eq!(parse_date(b"29-Feb-1900"), None);
        assert_eq!(parse_date(b"29-Feb-2000"), Some(Date { year: 2000, month: 2, day: 29 }));
        for bad in [&b"0-Jan-2000"[..], b"001-Jan-2000", b"1-January-2000", b"1-Jan-2000-", b"1 Jan 2000", b""] {
            assert_eq!(parse_date(bad), None);
        }
        assert!(parse_date_time(b"01-Jan-2000 00:00:00 +0000").is_some());
        assert_eq!(parse_date_time(b"1-Jan-2000 00:00:00 +0000"), parse_date_time(b" 1-Jan-2000 00:00:00 +0000"));
        assert!(parse_date_time(b"1-Jan-2000 00:00:00 +0000").is_some());
        assert!(parse_date_time(b"1-Jan-200000:00:00 +0000").is_none());
        assert!(parse_date_time(b"01-Jan-2000 00:00:00 0000").is_none());
        assert!(parse_date_time(b"01-Jan-2000 00:60:00 +0000").is_none());
        assert!(parse_date_time(b"01-Jan-2000 00:00:00 +0060").is_none());
    }
}
