//! SMTP command lines parsed into typed values, with no I/O (RFC 5321 §4.1,
//! RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, RFC 4954 AUTH,
//! RFC 3030 BDAT, RFC 3207 STARTTLS).
//!
//! The parser decides only what a line says; whether the command is allowed
//! now, and what the limits are, is the session's business. Paths are
//! checked against the RFC 5321 §4.1.2 grammar and the §4.5.3.1 lengths.
//! Non-ASCII bytes are accepted in addresses and flagged, so the session can
//! demand SMTPUTF8 (RFC 6531 §3.4).

/// A mailbox `local@domain`; `domain` is empty only for the bare
/// `<postmaster>` recipient that RFC 5321 §4.5.1 requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub local: String,
    pub domain: String,
}

impl Mailbox {
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.domain.is_ascii()
    }
}

impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.domain.is_empty() {
            write!(f, "{}", self.local)
        } else {
            write!(f, "{}@{}", self.local, self.domain)
        }
    }
}

/// BODY= parameter of MAIL (RFC 6152, RFC 3030).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    SevenBit,
    EightBitMime,
}

/// Parameters of MAIL FROM that smtpd understands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    pub size: Option<u64>,
    pub body: Option<Body>,
    pub smtputf8: bool,
}

/// One parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Helo(String),
    Ehlo(String),
    /// `None` is the null reverse-path `<>`.
    Mail { from: Option<Mailbox>, params: MailParams },
    Rcpt { to: Mailbox },
    Data,
    Bdat { size: u64, last: bool },
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
    StartTls,
    Auth { mechanism: String, initial: Option<String> },
}

/// Why a line is not a command; each maps to one reply in the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Verb not known: `500 5.5.1`.
    Unknown,
    /// Known verb, wrong arguments: `501 5.5.4` with the usage text.
    Syntax(&'static str),
    /// MAIL FROM path malformed: `501 5.1.7`.
    BadSender,
    /// RCPT TO path malformed: `501 5.1.3`.
    BadRecipient,
    /// Unknown or malformed MAIL/RCPT parameter: `555 5.5.4`.
    BadParam(String),
}

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;
const MAX_PATH: usize = 256;

/// Parse one command line (without CRLF).
///
/// ```text
/// helo = "HELO" SP Domain            ehlo = "EHLO" SP ( Domain / address-literal )
/// mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]
/// rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]
/// bdat = "BDAT" SP chunk-size [ SP end-marker ]      end-marker = "LAST"
/// auth = "AUTH" SP mechanism [ SP initial-response ]
/// data / rset / noop [SP String] / quit / vrfy SP String / help [SP String] / starttls
/// ```
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::Unknown)?;
    let (verb, rest) = match line.find(' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    let verb = verb.to_ascii_uppercase();
    match verb.as_str() {
        "HELO" => parse_hello(rest, "HELO domain").map(Command::Helo),
        "EHLO" => parse_hello(rest, "EHLO domain").map(Command::Ehlo),
        "MAIL" => parse_mail(rest),
        "RCPT" => parse_rcpt(rest),
        "DATA" => no_args(rest, Command::Data, "DATA"),
        "BDAT" => parse_bdat(rest),
        "RSET" => no_args(rest, Command::Rset, "RSET"),
        "NOOP" => Ok(Command::Noop),
        "QUIT" => no_args(rest, Command::Quit, "QUIT"),
        "VRFY" => {
            if rest.trim().is_empty() {
                Err(ParseError::Syntax("VRFY user"))
            } else {
                Ok(Command::Vrfy)
            }
        }
        "HELP" => Ok(Command::Help),
        "STARTTLS" => no_args(rest, Command::StartTls, "STARTTLS"),
        "AUTH" => parse_auth(rest),
        _ => Err(ParseError::Unknown),
    }
}

fn no_args(rest: &str, c: Command, usage: &'static str) -> Result<Command, ParseError> {
    if rest.trim().is_empty() {
        Ok(c)
    } else {
        Err(ParseError::Syntax(usage))
    }
}

fn parse_hello(rest: &str, usage: &'static str) -> Result<String, ParseError> {
    let name = rest.trim();
    // Clients put junk after the name often enough; only the name is kept.
    let name = name.split(' ').next().unwrap_or("");
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_control()) {
        return Err(ParseError::Syntax(usage));
    }
    Ok(name.to_string())
}

/// `rest` after the verb must start with `keyword` (case-insensitive);
/// RFC 5321 has no space after the colon but many clients send one.
fn strip_keyword<'a>(rest: &'a str, keyword: &str) -> Option<&'a str> {
    let k = keyword.len();
    if rest.len() >= k && rest.is_char_boundary(k) && rest[..k].eq_ignore_ascii_case(keyword) {
        Some(rest[k..].trim_start_matches(' '))
    } else {
        None
    }
}

/// Split `<path> params` at the closing `>` (a quoted local part may hold `>`).
fn split_path(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'<') {
        return None;
    }
    let mut in_quote = false;
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b'>' if !in_quote => {
                let inner = &s[1..i];
                let rest = &s[i + 1..];
                if !rest.is_empty() && !rest.starts_with(' ') {
                    return None;
                }
                return Some((inner, rest.trim_start_matches(' ')));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn parse_mail(rest: &str) -> Result<Command, ParseError> {
    let usage = "MAIL FROM:<address> [parameters]";
    let s = strip_keyword(rest, "FROM:").ok_or(ParseError::Syntax(usage))?;
    let (inner, params) = split_path(s).ok_or(ParseError::BadSender)?;
    let from = if inner.is_empty() {
        None
    } else {
        Some(parse_path(inner).ok_or(ParseError::BadSender)?)
    };
    let params = parse_mail_params(params)?;
    Ok(Command::Mail { from, params })
}

fn parse_rcpt(rest: &str) -> Result<Command, ParseError> {
    let usage = "RCPT TO:<address>";
    let s = strip_keyword(rest, "TO:").ok_or(ParseError::Syntax(usage))?;
    let (inner, params) = split_path(s).ok_or(ParseError::BadRecipient)?;
    let to = if inner.eq_ignore_ascii_case("postmaster") {
        Mailbox { local: "postmaster".into(), domain: String::new() }
    } else {
        parse_path(inner).ok_or(ParseError::BadRecipient)?
    };
    // No RCPT parameters are advertised (no DSN).
    if let Some(p) = params.split(' ').find(|p| !p.is_empty()) {
        return Err(ParseError::BadParam(truncate(p)));
    }
    Ok(Command::Rcpt { to })
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// ```text
/// Mail-parameters = esmtp-param *(SP esmtp-param)
/// esmtp-param     = esmtp-keyword ["=" esmtp-value]
/// ```
fn parse_mail_params(s: &str) -> Result<MailParams, ParseError> {
    let mut p = MailParams::default();
    for param in s.split(' ').filter(|x| !x.is_empty()) {
        let (k, v) = match param.find('=') {
            Some(i) => (&param[..i], Some(&param[i + 1..])),
            None => (param, None),
        };
        let bad = || ParseError::BadParam(truncate(param));
        match (k.to_ascii_uppercase().as_str(), v) {
            ("SIZE", Some(v)) if !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()) => {
                // More than u64 can hold is simply "too big".
                p.size = Some(v.parse().unwrap_or(u64::MAX));
            }
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => p.body = Some(Body::SevenBit),
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => p.body = Some(Body::EightBitMime),
            ("SMTPUTF8", None) => p.smtputf8 = true,
            // RFC 4954 §5: accepted and ignored; we trust only our own AUTH.
            ("AUTH", Some(_)) => {}
            _ => return Err(bad()),
        }
    }
    Ok(p)
}

/// ```text
/// Path = "<" [ A-d-l ":" ] Mailbox ">"   (angle brackets already removed)
/// ```
pub fn parse_path(s: &str) -> Option<Mailbox> {
    if s.len() > MAX_PATH {
        return None;
    }
    // A source route is parsed and ignored (RFC 5321 §4.1.2, Appendix C).
    let s = if s.starts_with('@') {
        let colon = s.find(':')?;
        for hop in s[..colon].split(',') {
            let d = hop.strip_prefix('@')?;
            if !is_domain(d) {
                return None;
            }
        }
        &s[colon + 1..]
    } else {
        s
    };
    let at = s.rfind('@')?;
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.is_empty() || local.len() > MAX_LOCAL || domain.len() > MAX_DOMAIN {
        return None;
    }
    if !(is_dot_string(local) || is_quoted_string(local)) {
        return None;
    }
    if !(is_domain(domain) || is_address_literal(domain)) {
        return None;
    }
    Some(Mailbox { local: local.to_string(), domain: domain.to_string() })
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

fn is_dot_string(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|a| !a.is_empty() && a.bytes().all(is_atext))
}

fn is_quoted_string(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b'"' || b[b.len() - 1] != b'"' {
        return false;
    }
    let mut i = 1;
    while i < b.len() - 1 {
        match b[i] {
            b'\\' => {
                i += 1;
                if i >= b.len() - 1 || !(32..=126).contains(&b[i]) {
                    return false;
                }
            }
            b'"' => return false,
            c if c >= 0x80 || (32..=126).contains(&c) => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// ```text
/// Domain = sub-domain *("." sub-domain)   sub-domain = Let-dig [Ldh-str]
/// ```
/// (U-labels allowed: RFC 6531 §3.3.)
pub fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_DOMAIN
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c >= 0x80)
        })
}

fn is_address_literal(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) else {
        return false;
    };
    if let Some(v6) = inner.strip_prefix("IPv6:") {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    inner.parse::<std::net::Ipv4Addr>().is_ok()
}

fn parse_bdat(rest: &str) -> Result<Command, ParseError> {
    let usage = "BDAT size [LAST]";
    let mut it = rest.split(' ').filter(|x| !x.is_empty());
    let size = it.next().ok_or(ParseError::Syntax(usage))?;
    if size.is_empty() || size.len() > 20 || !size.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Syntax(usage));
    }
    let size: u64 = size.parse().map_err(|_| ParseError::Syntax(usage))?;
    let last = match it.next() {
        None => false,
        Some(l) if l.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(ParseError::Syntax(usage)),
    };
    if it.next().is_some() {
        return Err(ParseError::Syntax(usage));
    }
    Ok(Command::Bdat { size, last })
}

fn parse_auth(rest: &str) -> Result<Command, ParseError> {
    let usage = "AUTH mechanism [initial-response]";
    let mut it = rest.split(' ').filter(|x| !x.is_empty());
    let mechanism = it.next().ok_or(ParseError::Syntax(usage))?.to_ascii_uppercase();
    let initial = it.next().map(str::to_string);
    if it.next().is_some() {
        return Err(ParseError::Syntax(usage));
    }
    Ok(Command::Auth { mechanism, initial })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(l: &str, d: &str) -> Mailbox {
        Mailbox { local: l.into(), domain: d.into() }
    }

    #[test]
    fn commands_table() {
        let p = MailParams::default();
        let cases: Vec<(&str, Result<Command, ParseError>)> = vec![
            ("EHLO client.example", Ok(Command::Ehlo("client.example".into()))),
            ("ehlo [192.0.2.1]", Ok(Command::Ehlo("[192.0.2.1]".into()))),
            ("HELO", Err(ParseError::Syntax("HELO domain"))),
            ("MAIL FROM:<a@b.example>", Ok(Command::Mail { from: Some(mb("a", "b.example")), params: p.clone() })),
            ("mail from: <a@b>", Ok(Command::Mail { from: Some(mb("a", "b")), params: p.clone() })),
            ("MAIL FROM:<>", Ok(Command::Mail { from: None, params: p.clone() })),
            (
                "MAIL FROM:<a@b> SIZE=1000 BODY=8BITMIME SMTPUTF8 AUTH=<>",
                Ok(Command::Mail {
                    from: Some(mb("a", "b")),
                    params: MailParams { size: Some(1000), body: Some(Body::EightBitMime), smtputf8: true },
                }),
            ),
            ("MAIL FROM:<a@b> SIZE=99999999999999999999", Ok(Command::Mail { from: Some(mb("a", "b")), params: MailParams { size: Some(u64::MAX), ..p.clone() } })),
            ("MAIL FROM:<a@b> BODY=BINARYMIME", Err(ParseError::BadParam("BODY=BINARYMIME".into()))),
            ("MAIL FROM:<a@b> SIZE=x", Err(ParseError::BadParam("SIZE=x".into()))),
            ("MAIL FROM:<a@b>x", Err(ParseError::BadSender)),
            ("MAIL FROM:a@b", Err(ParseError::BadSender)),
            ("MAIL FROM:<a b@c>", Err(ParseError::BadSender)),
            ("MAIL FROM:<a@@b>", Err(ParseError::BadSender)),
            ("MAIL FROM:<a@-b>", Err(ParseError::BadSender)),
            ("MAIL FROM:<@relay.example:a@b>", Ok(Command::Mail { from: Some(mb("a", "b")), params: p.clone() })),
            ("MAIL TO:<a@b>", Err(ParseError::Syntax("MAIL FROM:<address> [parameters]"))),
            ("RCPT TO:<\"x y\"@b>", Ok(Command::Rcpt { to: mb("\"x y\"", "b") })),
            ("RCPT TO:<\"x>y\"@b>", Ok(Command::Rcpt { to: mb("\"x>y\"", "b") })),
            ("RCPT TO:<Postmaster>", Ok(Command::Rcpt { to: mb("postmaster", "") })),
            ("RCPT TO:<alice@[127.0.0.1]>", Ok(Command::Rcpt { to: mb("alice", "[127.0.0.1]") })),
            ("RCPT TO:<alice@[IPv6:::1]>", Ok(Command::Rcpt { to: mb("alice", "[IPv6:::1]") })),
            ("RCPT TO:<alice@[1.2.3]>", Err(ParseError::BadRecipient)),
            ("RCPT TO:<alice>", Err(ParseError::BadRecipient)),
            ("RCPT TO:<a@b> NOTIFY=NEVER", Err(ParseError::BadParam("NOTIFY=NEVER".into()))),
            ("RCPT TO:<jörg@bücher.example>", Ok(Command::Rcpt { to: mb("jörg", "bücher.example") })),
            ("DATA", Ok(Command::Data)),
            ("DATA x", Err(ParseError::Syntax("DATA"))),
            ("BDAT 100", Ok(Command::Bdat { size: 100, last: false })),
            ("bdat 0 last", Ok(Command::Bdat { size: 0, last: true })),
            ("BDAT", Err(ParseError::Syntax("BDAT size [LAST]"))),
            ("BDAT -1", Err(ParseError::Syntax("BDAT size [LAST]"))),
            ("BDAT 1 FIRST", Err(ParseError::Syntax("BDAT size [LAST]"))),
            ("RSET", Ok(Command::Rset)),
            ("NOOP anything", Ok(Command::Noop)),
            ("QUIT", Ok(Command::Quit)),
            ("VRFY alice", Ok(Command::Vrfy)),
            ("VRFY", Err(ParseError::Syntax("VRFY user"))),
            ("HELP", Ok(Command::Help)),
            ("STARTTLS", Ok(Command::StartTls)),
            ("AUTH plain AGFsaWNlAHNlY3JldA==", Ok(Command::Auth { mechanism: "PLAIN".into(), initial: Some("AGFsaWNlAHNlY3JldA==".into()) })),
            ("AUTH LOGIN", Ok(Command::Auth { mechanism: "LOGIN".into(), initial: None })),
            ("AUTH", Err(ParseError::Syntax("AUTH mechanism [initial-response]"))),
            ("FOO", Err(ParseError::Unknown)),
            ("", Err(ParseError::Unknown)),
        ];
        for (line, want) in cases {
            assert_eq!(parse_command(line.as_bytes()), want, "{line}");
        }
    }

    #[test]
    fn invalid_utf8_and_long_paths() {
        assert_eq!(parse_command(b"MAIL FROM:<\xff@b>"), Err(ParseError::Unknown));
        let long = format!("RCPT TO:<{}@b>", "a".repeat(65));
        assert_eq!(parse_command(long.as_bytes()), Err(ParseError::BadRecipient));
        let long = format!("RCPT TO:<a@{}>", "b.".repeat(130) + "c");
        assert_eq!(parse_command(long.as_bytes()), Err(ParseError::BadRecipient));
    }

    #[test]
    fn random_lines_never_panic() {
        let atoms: [&str; 24] = [
            "MAIL", "RCPT", "FROM:", "TO:", "BDAT", "AUTH", "EHLO", "<", ">", "@", "\"", "\\", " ", ":", "=", ".", "[",
            "]", "IPv6:", "SIZE=", "ü", "\u{10348}", "a", "9",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..50_000 {
            let mut line = String::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                line.push_str(atoms[(x % atoms.len() as u64) as usize]);
            }
            x = x.wrapping_add(0x632b_e59b_d9b4_e019);
            let _ = parse_command(line.as_bytes());
            let _ = parse_path(&line);
        }
    }
}
