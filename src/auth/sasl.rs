//! SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) decoding,
//! shared by IMAP `AUTHENTICATE` (RFC 3501 §6.2.2, SASL-IR RFC 4959), POP3
//! `AUTH` (RFC 5034) and SMTP `AUTH` (RFC 4954).
//!
//! This module knows nothing about the wire framing of each protocol: the
//! caller strips the command, passes the optional initial response and each
//! client line, and sends the challenge text behind its own prefix
//! (`+ ` in IMAP and POP3, `334 ` in SMTP). Decoded passwords live only in
//! [`Zeroizing`] buffers. It deliberately does not check the password or
//! decide whether plaintext mechanisms are allowed (`plaintext_auth`).

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use std::fmt;
use zeroize::Zeroizing;

/// Base64 challenge for the user name in LOGIN: `Username:`.
pub const LOGIN_USERNAME_CHALLENGE: &str = "VXNlcm5hbWU6";
/// Base64 challenge for the password in LOGIN: `Password:`.
pub const LOGIN_PASSWORD_CHALLENGE: &str = "UGFzc3dvcmQ6";

/// Longest client response accepted, in base64 characters. PLAIN carries two
/// names and a password, so 4 KiB is far above any honest use.
pub const MAX_RESPONSE_LEN: usize = 4096;
/// Longest user name accepted (bytes).
pub const MAX_USER_LEN: usize = 255;

/// Padding is optional on input: some clients omit it, and RFC 4648 §3.2
/// allows the receiver to be lenient.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A user name and password taken from a SASL exchange (or from IMAP
/// `LOGIN` / POP3 `USER`+`PASS`). The password is wiped on drop and never
/// shown by `Debug`.
pub struct Credentials {
    pub user: String,
    pub password: Zeroizing<Vec<u8>>,
}

impl Credentials {
    /// Credentials from IMAP `LOGIN` or POP3 `USER`/`PASS`, with the same
    /// user name rules as SASL ([`check_user`]); takes the password buffer
    /// over so it is wiped on drop.
    pub fn new(user: &[u8], password: Vec<u8>) -> Result<Credentials, SaslError> {
        let password = Zeroizing::new(password);
        let user = check_user(user)?;
        if password.is_empty() {
            return Err(SaslError::EmptyPassword);
        }
        Ok(Credentials { user, password })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"********")
            .finish()
    }
}

/// Why a SASL exchange failed. `Display` is safe to send to the client: it
/// never contains any of the client's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslError {
    /// The client sent `*` (RFC 4954 §4, RFC 3501 §6.2.2).
    Cancelled,
    /// The response was not valid base64.
    Base64,
    /// The response was longer than [`MAX_RESPONSE_LEN`].
    TooLong,
    /// The decoded PLAIN message does not have the form
    /// `authzid NUL authcid NUL passwd`.
    Malformed,
    /// The user name is empty, too long, not UTF-8 or holds control characters.
    BadUser,
    /// The password is empty (RFC 4616: `passwd = 1*SAFE`).
    EmptyPassword,
    /// PLAIN asked to act as another user (authzid ≠ authcid); we have no
    /// proxy authorization.
    AuthzidNotAllowed,
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SaslError::Cancelled => "Authentication cancelled",
            SaslError::Base64 => "Invalid base64 data",
            SaslError::TooLong => "Authentication response too long",
            SaslError::Malformed => "Malformed PLAIN response",
            SaslError::BadUser => "Invalid user name",
            SaslError::EmptyPassword => "Empty password",
            SaslError::AuthzidNotAllowed => "Authorization identity not allowed",
        })
    }
}

impl std::error::Error for SaslError {}

/// The mechanisms we implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
}

impl Mechanism {
    /// Case-insensitive lookup of a mechanism name from the client.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        if name.eq_ignore_ascii_case("PLAIN") {
            Some(Mechanism::Plain)
        } else if name.eq_ignore_ascii_case("LOGIN") {
            Some(Mechanism::Login)
        } else {
            None
        }
    }

    /// Name as advertised in CAPABILITY / CAPA / EHLO.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }

    /// All mechanisms, in the order to advertise them.
    pub const ALL: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];
}

/// What the protocol does next in an exchange.
#[derive(Debug)]
pub enum Step {
    /// Send this base64 challenge (possibly empty) behind `+ ` / `334 ` and
    /// pass the client's next line to [`Exchange::step`].
    Challenge(&'static str),
    /// The exchange is complete: check these credentials.
    Done(Credentials),
    /// The exchange failed; tell the client and forget the exchange.
    Failed(SaslError),
}

#[derive(Debug)]
enum State {
    PlainResponse,
    LoginUser,
    LoginPassword(String),
    Finished,
}

/// One SASL exchange, driven by the protocol's session loop.
///
/// ```text
/// IMAP:  a AUTHENTICATE PLAIN [initial]   → "+ <challenge>" … client lines
/// POP3:  AUTH PLAIN [initial]             → "+ <challenge>"
/// SMTP:  AUTH PLAIN [initial]             → "334 <challenge>"
/// ```
#[derive(Debug)]
pub struct Exchange {
    state: State,
}

impl Exchange {
    /// Starts an exchange. `initial` is the initial response if the client
    /// sent one (RFC 4959, RFC 4954 §4); `=` stands for an empty one.
    pub fn start(mech: Mechanism, initial: Option<&[u8]>) -> (Exchange, Step) {
        let mut ex = Exchange {
            state: match mech {
                Mechanism::Plain => State::PlainResponse,
                Mechanism::Login => State::LoginUser,
            },
        };
        let step = match initial {
            Some(line) => ex.step(line),
            None => match mech {
                Mechanism::Plain => Step::Challenge(""),
                Mechanism::Login => Step::Challenge(LOGIN_USERNAME_CHALLENGE),
            },
        };
        (ex, step)
    }

    /// Feeds one client line (without CRLF; trailing CR/LF/spaces are ignored).
    pub fn step(&mut self, line: &[u8]) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match state {
            State::Finished => Step::Failed(SaslError::Malformed),
            State::PlainResponse => match decode_response(line) {
                Ok(raw) => match parse_plain(&raw) {
                    Ok(c) => Step::Done(c),
                    Err(e) => Step::Failed(e),
                },
                Err(e) => Step::Failed(e),
            },
            State::LoginUser => match decode_response(line).and_then(|raw| check_user(&raw)) {
                Ok(user) => {
                    self.state = State::LoginPassword(user);
                    Step::Challenge(LOGIN_PASSWORD_CHALLENGE)
                }
                Err(e) => Step::Failed(e),
            },
            State::LoginPassword(user) => match decode_response(line) {
                Ok(password) if password.is_empty() => Step::Failed(SaslError::EmptyPassword),
                Ok(password) => Step::Done(Credentials { user, password }),
                Err(e) => Step::Failed(e),
            },
        }
    }
}

/// Decodes one base64 client response. `*` is a cancel, `=` an empty
/// response (RFC 4954 §4).
pub fn decode_response(line: &[u8]) -> Result<Zeroizing<Vec<u8>>, SaslError> {
    let line = trim_end(line);
    if line == b"*" {
        return Err(SaslError::Cancelled);
    }
    if line.len() > MAX_RESPONSE_LEN {
        return Err(SaslError::TooLong);
    }
    if line == b"=" || line.is_empty() {
        return Ok(Zeroizing::new(Vec::new()));
    }
    // Reserve once so decoding never reallocates and leaves an unwiped copy.
    let mut out = Zeroizing::new(Vec::with_capacity(line.len() / 4 * 3 + 3));
    BASE64
        .decode_vec(line, &mut out)
        .map_err(|_| SaslError::Base64)?;
    Ok(out)
}

/// Splits a decoded PLAIN message (RFC 4616 §2):
///
/// ```text
/// message = [authzid] UTF8NUL authcid UTF8NUL passwd
/// ```
pub fn parse_plain(raw: &[u8]) -> Result<Credentials, SaslError> {
    let mut parts = raw.splitn(3, |&b| b == 0);
    let (authzid, authcid, passwd) = match (parts.next(), parts.next(), parts.next()) {
        (Some(z), Some(c), Some(p)) => (z, c, p),
        _ => return Err(SaslError::Malformed),
    };
    if passwd.contains(&0) {
        return Err(SaslError::Malformed);
    }
    let user = check_user(authcid)?;
    if !authzid.is_empty() && authzid != authcid {
        return Err(SaslError::AuthzidNotAllowed);
    }
    if passwd.is_empty() {
        return Err(SaslError::EmptyPassword);
    }
    Ok(Credentials {
        user,
        password: Zeroizing::new(passwd.to_vec()),
    })
}

/// A user name must be non-empty UTF-8 without control characters; this
/// keeps log lines and passwd lookups sane.
pub fn check_user(raw: &[u8]) -> Result<String, SaslError> {
    let user = std::str::from_utf8(raw).map_err(|_| SaslError::BadUser)?;
    if user.is_empty() || user.len() > MAX_USER_LEN || user.chars().any(char::is_control) {
        return Err(SaslError::BadUser);
    }
    Ok(user.to_owned())
}

fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n' | b' ' | b'\t'] = line {
        line = rest;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(raw: &[u8]) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .encode(raw)
            .into_bytes()
    }

    #[test]
    fn plain_table() {
        let ok: &[(&[u8], &str, &[u8])] = &[
            (b"\0alice\0secret", "alice", b"secret"),
            (b"alice\0alice\0secret", "alice", b"secret"),
            (b"\0alice\0p\xc3\xa4ss word", "alice", b"p\xc3\xa4ss word"),
            (b"\0al@ex.org\0s", "al@ex.org", b"s"),
        ];
        for (raw, user, pw) in ok {
            let c = parse_plain(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(c.user, *user);
            assert_eq!(&c.password[..], *pw);
            // Through base64 and the exchange, as initial response and as a line.
            let (_, step) = Exchange::start(Mechanism::Plain, Some(&b64(raw)));
            assert!(
                matches!(step, Step::Done(ref c) if c.user == *user),
                "{raw:?}"
            );
            let (mut ex, step) = Exchange::start(Mechanism::Plain, None);
            assert!(matches!(step, Step::Challenge("")));
            let mut line = b64(raw);
            line.extend_from_slice(b"\r\n");
            assert!(matches!(ex.step(&line), Step::Done(ref c) if &c.password[..] == *pw));
        }
        let bad: &[(&[u8], SaslError)] = &[
            (b"", SaslError::Malformed),
            (b"alice", SaslError::Malformed),
            (b"\0alice", SaslError::Malformed),
            (b"\0alice\0se\0cret", SaslError::Malformed),
            (b"\0\0secret", SaslError::BadUser),
            (b"\0al\x01ce\0secret", SaslError::BadUser),
            (b"\0\xff\0secret", SaslError::BadUser),
            (b"bob\0alice\0secret", SaslError::AuthzidNotAllowed),
            (b"\0alice\0", SaslError::EmptyPassword),
        ];
        for (raw, err) in bad {
            assert_eq!(parse_plain(raw).err(), Some(*err), "{raw:?}");
        }
    }

    type DecodeCase = (&'static [u8], Result<&'static [u8], SaslError>);

    #[test]
    fn decode_table() {
        let cases: &[DecodeCase] = &[
            (b"*", Err(SaslError::Cancelled)),
            (b"*\r\n", Err(SaslError::Cancelled)),
            (b"=", Ok(b"")),
            (b"", Ok(b"")),
            (b"YWJj", Ok(b"abc")),
            (b"YWI=", Ok(b"ab")),
            (b"YWI", Ok(b"ab")),
            (b"YWI=\r\n", Ok(b"ab")),
            (b"YW!=", Err(SaslError::Base64)),
            (b"YWJj YWJj", Err(SaslError::Base64)),
            (b"Y", Err(SaslError::Base64)),
        ];
        for (line, want) in cases {
            let got = decode_response(line).map(|v| v.to_vec());
            assert_eq!(got, want.map(|v| v.to_vec()), "{line:?}");
        }
        let long = vec![b'A'; MAX_RESPONSE_LEN + 4];
        assert_eq!(decode_response(&long).err(), Some(SaslError::TooLong));
    }

    #[test]
    fn login_exchange() {
        let (mut ex, step) = Exchange::start(Mechanism::Login, None);
        assert!(matches!(step, Step::Challenge(LOGIN_USERNAME_CHALLENGE)));
        assert!(matches!(
            ex.step(b"YWxpY2U="),
            Step::Challenge(LOGIN_PASSWORD_CHALLENGE)
        ));
        match ex.step(b"c2VjcmV0\r\n") {
            Step::Done(c) => {
                assert_eq!(c.user, "alice");
                assert_eq!(&c.password[..], b"secret");
                assert!(!format!("{c:?}").contains("secret"));
            }
            other => panic!("{other:?}"),
        }
        // A finished exchange accepts nothing more.
        assert!(matches!(
            ex.step(b"YQ=="),
            Step::Failed(SaslError::Malformed)
        ));

        // SMTP clients may send the user name as the initial response.
        let (mut ex, step) = Exchange::start(Mechanism::Login, Some(b"YWxpY2U="));
        assert!(matches!(step, Step::Challenge(LOGIN_PASSWORD_CHALLENGE)));
        assert!(matches!(ex.step(b"*"), Step::Failed(SaslError::Cancelled)));

        let table: &[(&[u8], &[u8], SaslError)] = &[
            (b"*", b"", SaslError::Cancelled),
            (b"=", b"", SaslError::BadUser),
            (b"!!", b"", SaslError::Base64),
            (b"YWxpY2U=", b"=", SaslError::EmptyPassword),
            (b"YWxpY2U=", b"%%", SaslError::Base64),
        ];
        for (user, pass, err) in table {
            let (mut ex, _) = Exchange::start(Mechanism::Login, None);
            let step = match ex.step(user) {
                Step::Challenge(_) => ex.step(pass),
                other => other,
            };
            assert!(
                matches!(step, Step::Failed(e) if e == *err),
                "{user:?} {pass:?}: {step:?}"
            );
        }
    }

    #[test]
    fn credentials_from_login() {
        let c = Credentials::new(b"alice", b"secret".to_vec()).unwrap();
        assert_eq!(
            (c.user.as_str(), &c.password[..]),
            ("alice", &b"secret"[..])
        );
        let bad: &[(&[u8], &[u8], SaslError)] = &[
            (b"", b"x", SaslError::BadUser),
            (b"a\nb", b"x", SaslError::BadUser),
            (b"alice", b"", SaslError::EmptyPassword),
        ];
        for (user, pw, err) in bad {
            assert_eq!(Credentials::new(user, pw.to_vec()).err(), Some(*err));
        }
    }

    #[test]
    fn mechanism_names() {
        assert_eq!(Mechanism::from_name("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::from_name("LOGIN"), Some(Mechanism::Login));
        assert_eq!(Mechanism::from_name("CRAM-MD5"), None);
        assert_eq!(Mechanism::Plain.name(), "PLAIN");
    }

    #[test]
    fn errors_never_echo_input() {
        for e in [SaslError::Base64, SaslError::Malformed, SaslError::BadUser] {
            assert!(!e.to_string().contains("secret"));
        }
    }
}
