//! Command framing: joins the lines and literals of one command, with its
//! bounds, before the whole is parsed (RFC 3501 §4.3 literals, §7.5
//! continuation; RFC 7888 non-synchronizing literals).
//!
//! The session owns the I/O and drives this loop:
//!
//! ```text
//! read line -> push_line -> Frame::Literal{size, sync}
//!                             sync: send "+ Ready", then read exactly size bytes
//!                             push_literal(bytes), read next line, push_line ...
//!                        -> Frame::Done(Ok(command) | Err(parse error))
//! ```
//!
//! A literal over its bound is refused *before* it is read: `push_line`
//! returns `Done(Err)` with `fatal == false` for a synchronizing literal
//! (the client waits for `+` and will not send it) and `fatal == true` for a
//! non-synchronizing one, whose bytes are already on their way (RFC 7888 §4:
//! the session says BYE and closes). Nothing here reads or writes.

use super::command::{Command, Tag};
use super::parse::{self, ErrorKind, ParseError};

/// Bounds on one command. `max_literal` is the caller's `max_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of command text plus non-APPEND literals.
    pub max_command: usize,
    /// Largest APPEND message literal (config `max_size`).
    pub max_literal: u64,
    /// All APPEND message literals of one (MULTIAPPEND) command together.
    pub max_append_total: u64,
    /// Deepest nesting of parentheses and NOT/OR.
    pub max_depth: usize,
    /// Most arguments (and literals) in one command.
    pub max_args: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_command: 1 << 20,
            max_literal: 52_428_800,
            max_append_total: 4 * 52_428_800,
            max_depth: 64,
            max_args: 10_000,
        }
    }
}

/// What the session must do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// Read exactly `size` bytes and hand them to [`CommandReader::push_literal`];
    /// if `sync`, send a continuation request first.
    Literal { size: u32, sync: bool },
    /// The command is complete, or refused; the reader is reset either way.
    Done(Result<Command, ParseError>),
}

/// Accumulates one command across lines and literals.
#[derive(Debug)]
pub struct CommandReader {
    limits: Limits,
    /// `texts.len() == literals.len() + 1` once complete: each text but the
    /// last ends with a `{n}` marker whose data is the literal of same index.
    texts: Vec<Vec<u8>>,
    literals: Vec<Vec<u8>>,
    expecting: Option<u32>,
    command_bytes: usize,
    append_bytes: u64,
    append: bool,
    tag: Option<Tag>,
}

impl CommandReader {
    /// A reader enforcing `limits`.
    pub fn new(limits: Limits) -> CommandReader {
        CommandReader {
            limits,
            texts: Vec::new(),
            literals: Vec::new(),
            expecting: None,
            command_bytes: 0,
            append_bytes: 0,
            append: false,
            tag: None,
        }
    }

    /// The bounds in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Changes `max_literal` (e.g. from config after login).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// True between the first line of a command and its completion.
    pub fn in_progress(&self) -> bool {
        !self.texts.is_empty()
    }

    /// The tag of the command in progress, if its first line had one.
    pub fn tag(&self) -> Option<&Tag> {
        self.tag.as_ref()
    }

    /// Drops a partial command (e.g. after a read timeout); its bytes are
    /// zeroed, as they may hold a password.
    pub fn reset(&mut self) {
        wipe(&mut self.texts);
        wipe(&mut self.literals);
        self.expecting = None;
        self.command_bytes = 0;
        self.append_bytes = 0;
        self.append = false;
        self.tag = None;
    }

    fn fail(&mut self, kind: ErrorKind, fatal: bool) -> Frame {
        let tag = self.tag.take();
        self.reset();
        Frame::Done(Err(ParseError { tag, kind, fatal }))
    }

    /// Adds one line (with or without its CRLF).
    pub fn push_line(&mut self, line: &[u8]) -> Frame {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.expecting.is_some() {
            // The session skipped the literal: a bug there, refused here.
            return self.fail(ErrorKind::Syntax("Literal data missing"), true);
        }
        if self.texts.is_empty() {
            self.tag = parse::peek_tag(line);
            self.append = parse::is_append(line);
        }
        self.command_bytes = self.command_bytes.saturating_add(line.len() + 2);
        let marker = literal_marker(line);
        if self.command_bytes > self.limits.max_command {
            // If the line announced a {n+} literal, its bytes are coming and
            // must never be read as commands: that refusal is fatal.
            let nonsync = matches!(marker, Some(Ok((_, false)) | Err(false)));
            return self.fail(ErrorKind::CommandTooLong, nonsync);
        }
        self.texts.push(line.to_vec());
        let Some(marker) = marker else {
            return self.finish();
        };
        let (size, sync) = match marker {
            Ok(m) => m,
            // {n+} with a bad n: its bytes may follow; stop.
            Err(sync) => return self.fail(ErrorKind::BadLiteral, !sync),
        };
        if self.literals.is_empty() {
            if let Err(kind) = parse::precheck(&self.texts[0]) {
                return self.fail(kind, !sync);
            }
        }
        if self.literals.len() >= self.limits.max_args {
            return self.fail(ErrorKind::TooManyArgs, !sync);
        }
        let fits = if self.append {
            u64::from(size) <= self.limits.max_literal
                && self.append_bytes + u64::from(size) <= self.limits.max_append_total
        } else {
            self.command_bytes as u64 + u64::from(size) <= self.limits.max_command as u64
        };
        if !fits {
            let kind = if self.append { ErrorKind::LiteralTooBig } else { ErrorKind::CommandTooLong };
            return self.fail(kind, !sync);
        }
        self.expecting = Some(size);
        Frame::Literal { size, sync }
    }

    /// Adds the literal announced by the last [`Frame::Literal`]; `data`
    /// must be exactly that many bytes.
    pub fn push_literal(&mut self, data: Vec<u8>) -> Result<(), ParseError> {
        match self.expecting {
            Some(n) if n as usize == data.len() => {
                self.expecting = None;
                if self.append {
                    self.append_bytes += data.len() as u64;
                } else {
                    self.command_bytes += data.len();
                }
                self.literals.push(data);
                Ok(())
            }
            _ => {
                let tag = self.tag.take();
                self.reset();
                Err(ParseError { tag, kind: ErrorKind::Syntax("Literal length mismatch"), fatal: true })
            }
        }
    }

    fn finish(&mut self) -> Frame {
        let mut texts = std::mem::take(&mut self.texts);
        let literals = std::mem::take(&mut self.literals);
        let tag = self.tag.take();
        let limits = self.limits;
        self.reset();
        let result = parse::parse_command(&texts, literals, &limits);
        wipe(&mut texts);
        Frame::Done(result.map_err(|kind| ParseError { tag, kind, fatal: false }))
    }
}

/// Zeroes and drops buffers that may hold credentials.
fn wipe(bufs: &mut Vec<Vec<u8>>) {
    for b in bufs.iter_mut() {
        zeroize::Zeroize::zeroize(b);
    }
    bufs.clear();
}

/// If `line` ends with a literal marker outside a quoted string, its size
/// and whether it is synchronizing; `Err(sync)` if the marker's number is
/// not a 32-bit number.
fn literal_marker(line: &[u8]) -> Option<Result<(u32, bool), bool>> {
    let body = line.strip_suffix(b"}")?;
    let (digits_end, sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, false),
        None => (body, true),
    };
    let open = digits_end.iter().rposition(|&b| !b.is_ascii_digit())?;
    if digits_end[open] != b'{' || open + 1 == digits_end.len() {
        return None;
    }
    // A '{' inside an open quoted string is text, not a literal.
    let mut quoted = false;
    let mut i = 0;
    while i < open {
        match line[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            _ => {}
        }
        i += 1;
    }
    if quoted {
        return None;
    }
    let digits = &digits_end[open + 1..];
    let mut n: u64 = 0;
    for &d in digits {
        n = n * 10 + u64::from(d - b'0');
        if n > u64::from(u32::MAX) {
            return Some(Err(sync));
        }
    }
    Some(Ok((n as u32, sync)))
}
