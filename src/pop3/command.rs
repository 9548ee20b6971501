//! POP3 command lines parsed into typed [`Command`] values, with no I/O and
//! no session state (RFC 1939 §3, §5–§7; RFC 2449 §5 CAPA; RFC 5034 §4 AUTH;
//! RFC 2595 §4 STLS).
//!
//! Grammar, as RFC 1939 §3 and RFC 2449 §3 give it:
//!
//! ```text
//! command  = keyword *(SP argument) CRLF    ; keyword 3-4 letters, any case
//! argument = 1*40 printable ASCII           ; we bound the whole line instead
//! msg      = 1*DIGIT                        ; 1 .. 2^32-1, checked by the session
//! ```
//!
//! Deliberately lenient about runs of spaces and trailing spaces (clients in
//! the wild send them); strict about numbers: only ASCII digits that fit a
//! `u32`, so `LIST 4294967296` and `LIST -1` are syntax errors, never wrapped.
//! `PASS` takes the rest of the line verbatim, because passwords may contain
//! spaces (RFC 1939 §7 notes this). Nothing here echoes input back: error
//! texts are fixed so garbage is never reflected to the client.

use zeroize::Zeroizing;

/// One parsed POP3 command.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `USER name` — RFC 1939 §7
    User(String),
    /// `PASS secret` — RFC 1939 §7; wiped on drop.
    Pass(Zeroizing<Vec<u8>>),
    /// `APOP name digest` — recognised so it can be refused clearly.
    Apop,
    /// `AUTH [mechanism [initial-response]]` — RFC 5034 §4 (no mechanism:
    /// list mechanisms, as RFC 1734 clients expect).
    Auth {
        mechanism: Option<String>,
        initial: Option<Zeroizing<Vec<u8>>>,
    },
    /// `STLS` — RFC 2595 §4
    Stls,
    /// `CAPA` — RFC 2449 §5
    Capa,
    /// `STAT` — RFC 1939 §5
    Stat,
    /// `LIST [msg]`
    List(Option<u32>),
    /// `RETR msg`
    Retr(u32),
    /// `DELE msg`
    Dele(u32),
    /// `NOOP`
    Noop,
    /// `RSET`
    Rset,
    /// `QUIT`
    Quit,
    /// `TOP msg n` — n saturates at `u32::MAX` (a larger count means "all").
    Top(u32, u32),
    /// `UIDL [msg]`
    Uidl(Option<u32>),
}

/// Why a line is not a command. Each maps to one fixed `-ERR` text.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum ParseError {
    /// Keyword not known (or not ASCII letters).
    Unknown,
    /// Known keyword, wrong number or form of arguments.
    Syntax,
}

impl ParseError {
    /// Fixed client text; never contains input bytes.
    pub fn text(self) -> &'static str {
        match self {
            ParseError::Unknown => "Unknown command",
            ParseError::Syntax => "Syntax error in arguments",
        }
    }
}

/// Parse one line (without CRLF).
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    let (keyword, rest) = match line.iter().position(|&b| b == b' ') {
        Some(p) => (&line[..p], &line[p + 1..]),
        None => (line, &[][..]),
    };
    if keyword.is_empty() || keyword.len() > 4 || !keyword.iter().all(u8::is_ascii_alphabetic) {
        return Err(ParseError::Unknown);
    }
    let mut kw = [0u8; 4];
    kw[..keyword.len()].copy_from_slice(keyword);
    kw.make_ascii_uppercase();
    let kw = &kw[..keyword.len()];
    if kw == b"PASS" {
        // Rest of line verbatim; only the separator space is dropped.
        if rest.is_empty() {
            return Err(ParseError::Syntax);
        }
        return Ok(Command::Pass(Zeroizing::new(rest.to_vec())));
    }
    let args = split_args(rest);
    let cmd = match (kw, args.as_slice()) {
        (b"USER", [name]) => Command::User(parse_name(name)?),
        (b"APOP", _) => Command::Apop,
        (b"AUTH", []) => Command::Auth { mechanism: None, initial: None },
        (b"AUTH", [m]) => Command::Auth { mechanism: Some(parse_mechanism(m)?), initial: None },
        (b"AUTH", [m, ir]) => Command::Auth {
            mechanism: Some(parse_mechanism(m)?),
            initial: Some(Zeroizing::new(ir.to_vec())),
        },
        (b"STLS", []) => Command::Stls,
        (b"CAPA", []) => Command::Capa,
        (b"STAT", []) => Command::Stat,
        (b"LIST", []) => Command::List(None),
        (b"LIST", [n]) => Command::List(Some(parse_msg(n)?)),
        (b"RETR", [n]) => Command::Retr(parse_msg(n)?),
        (b"DELE", [n]) => Command::Dele(parse_msg(n)?),
        (b"NOOP", []) => Command::Noop,
        (b"RSET", []) => Command::Rset,
        (b"QUIT", []) => Command::Quit,
        (b"TOP", [n, l]) => Command::Top(parse_msg(n)?, parse_count(l)?),
        (b"UIDL", []) => Command::Uidl(None),
        (b"UIDL", [n]) => Command::Uidl(Some(parse_msg(n)?)),
        (
            b"USER" | b"AUTH" | b"STLS" | b"CAPA" | b"STAT" | b"LIST" | b"RETR" | b"DELE" | b"NOOP"
            | b"RSET" | b"QUIT" | b"TOP" | b"UIDL",
            _,
        ) => return Err(ParseError::Syntax),
        _ => return Err(ParseError::Unknown),
    };
    Ok(cmd)
}

/// Space-separated arguments, ignoring runs of spaces and trailing space.
fn split_args(rest: &[u8]) -> Vec<&[u8]> {
    rest.split(|&b| b == b' ').filter(|a| !a.is_empty()).collect()
}

/// `msg` argument: digits only, fits u32. Zero is a valid parse; the
/// session answers "no such message" for it.
fn parse_msg(arg: &[u8]) -> Result<u32, ParseError> {
    if arg.is_empty() || arg.len() > 10 || !arg.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Syntax);
    }
    let mut n: u64 = 0;
    for &d in arg {
        n = n * 10 + u64::from(d - b'0');
    }
    u32::try_from(n).map_err(|_| ParseError::Syntax)
}

/// TOP's line count: any digit string; huge values mean "every line".
fn parse_count(arg: &[u8]) -> Result<u32, ParseError> {
    if arg.is_empty() || !arg.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Syntax);
    }
    let mut n: u32 = 0;
    for &d in arg {
        n = n.saturating_mul(10).saturating_add(u32::from(d - b'0'));
    }
    Ok(n)
}

/// User names: printable ASCII or UTF-8 without controls, at most 255 bytes.
fn parse_name(arg: &[u8]) -> Result<String, ParseError> {
    let s = std::str::from_utf8(arg).map_err(|_| ParseError::Syntax)?;
    if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
        return Err(ParseError::Syntax);
    }
    Ok(s.to_string())
}

/// SASL mechanism names (RFC 4422 §3.1): upper-case letters, digits, `-`, `_`.
fn parse_mechanism(arg: &[u8]) -> Result<String, ParseError> {
    if arg.is_empty()
        || arg.len() > 20
        || !arg.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    {
        return Err(ParseError::Syntax);
    }
    Ok(String::from_utf8_lossy(arg).to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> Command {
        Command::Pass(Zeroizing::new(s.as_bytes().to_vec()))
    }

    #[test]
    fn table() {
        use Command::*;
        use ParseError::*;
        let cases: Vec<(&[u8], Result<Command, ParseError>)> = vec![
            (b"USER alice", Ok(User("alice".into()))),
            (b"user alice", Ok(User("alice".into()))),
            (b"USER  alice ", Ok(User("alice".into()))),
            (b"USER", Err(Syntax)),
            (b"USER a b", Err(Syntax)),
            (b"USER a\x01", Err(Syntax)),
            (b"PASS secret word ", Ok(pass("secret word "))),
            (b"PASS", Err(Syntax)),
            (b"STAT", Ok(Stat)),
            (b"STAT 1", Err(Syntax)),
            (b"stat", Ok(Stat)),
            (b"LIST", Ok(List(None))),
            (b"LIST 0", Ok(List(Some(0)))),
            (b"LIST 4294967295", Ok(List(Some(u32::MAX)))),
            (b"LIST 4294967296", Err(Syntax)),
            (b"LIST 99999999999999999999", Err(Syntax)),
            (b"LIST -1", Err(Syntax)),
            (b"LIST +1", Err(Syntax)),
            (b"LIST 1 2", Err(Syntax)),
            (b"RETR 1", Ok(Retr(1))),
            (b"RETR", Err(Syntax)),
            (b"RETR x", Err(Syntax)),
            (b"DELE 007", Ok(Dele(7))),
            (b"NOOP", Ok(Noop)),
            (b"RSET", Ok(Rset)),
            (b"QUIT", Ok(Quit)),
            (b"QUIT now", Err(Syntax)),
            (b"TOP 1 0", Ok(Top(1, 0))),
            (b"TOP 1 99999999999999", Ok(Top(1, u32::MAX))),
            (b"TOP 1", Err(Syntax)),
            (b"TOP 1 -2", Err(Syntax)),
            (b"UIDL", Ok(Uidl(None))),
            (b"UIDL 3", Ok(Uidl(Some(3)))),
            (b"CAPA", Ok(Capa)),
            (b"STLS", Ok(Stls)),
            (b"APOP a b", Ok(Apop)),
            (b"AUTH", Ok(Auth { mechanism: None, initial: None })),
            (b"AUTH plain", Ok(Auth { mechanism: Some("PLAIN".into()), initial: None })),
            (
                b"AUTH PLAIN =",
                Ok(Auth { mechanism: Some("PLAIN".into()), initial: Some(Zeroizing::new(b"=".to_vec())) }),
            ),
            (b"AUTH PL\xffAIN", Err(Syntax)),
            (b"", Err(Unknown)),
            (b" STAT", Err(Unknown)),
            (b"XYZZY", Err(Unknown)),
            (b"\x00\xff\xfe", Err(Unknown)),
            (b"ST4T", Err(Unknown)),
            (b"FOO bar", Err(Unknown)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_command(input), want, "input {:?}", String::from_utf8_lossy(input));
        }
    }
}
