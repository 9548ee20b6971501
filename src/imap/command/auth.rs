//! Not Authenticated state: STARTTLS (RFC 3501 §6.2.1, RFC 2595),
//! LOGIN (§6.2.3), AUTHENTICATE PLAIN/LOGIN with SASL-IR (§6.2.2, RFC
//! 4959, RFC 4616), and EXTERNAL (RFC 4422 App. A) when the TLS client
//! certificate was verified against `client_ca` and its CN names a local
//! user (`alice`, or `alice@<one of local_domains>`). Plaintext credentials only under TLS unless
//! `plaintext_auth = yes`; every failure costs `login_delay` and after
//! `max_auth_failures` the session ends (shared/DESIGN.md).
//!
//! Passwords stay in [`Secret`] / `Zeroizing` buffers and never reach a
//! log line or a response.

use crate::auth::sasl::{self, Exchange, Mechanism, SaslError, Step};
use crate::auth::AuthError;
use crate::imap::error::{Completion, ImapError, RespCode};
use crate::imap::session::{Session, State};
use crate::imap::wire::{Secret, Status, Tag};
use crate::io::ReadLine;

/// ```text
/// starttls = "STARTTLS"
/// ```
/// OK goes out in plaintext, then buffered (pipelined) input is dropped
/// and the handshake runs (CVE-2011-0411 class).
pub(crate) fn starttls(s: &mut Session<'_>, tag: &Tag) -> Result<Completion, ImapError> {
    if s.ctx.conn.tls().is_some() {
        return Err(ImapError::bad("TLS is already active"));
    }
    if !s.ctx.starttls_available() {
        return Err(ImapError::no(
            "TLS not available: no server certificate installed",
        ));
    }
    s.out
        .tagged(tag, Status::Ok, None, "Begin TLS negotiation now");
    s.flush()?;
    if s.ctx.start_tls().is_err() {
        // Logged by Conn; the stream is unusable now.
        s.state = State::Logout;
        return Err(ImapError::Disconnected);
    }
    Ok(Completion::answered())
}

fn plaintext_check(s: &Session<'_>) -> Result<(), ImapError> {
    if crate::auth::policy::plaintext_allowed(&s.ctx.cfg, s.ctx.conn.tls().is_some()) {
        Ok(())
    } else {
        Err(ImapError::no_code(
            RespCode::PrivacyRequired,
            "Plaintext authentication disallowed without TLS",
        ))
    }
}

/// ```text
/// login = "LOGIN" SP userid SP password
/// ```
pub(crate) fn login(
    s: &mut Session<'_>,
    tag: &Tag,
    user: Vec<u8>,
    password: Secret,
) -> Result<Completion, ImapError> {
    plaintext_check(s)?;
    match sasl::check_user(&user) {
        Ok(name) => verify(s, tag, &name, password.expose(), "LOGIN"),
        Err(_) => failed(s, tag, &String::from_utf8_lossy(&user)),
    }
}

/// ```text
/// authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")] *(CRLF base64)
/// ```
pub(crate) fn authenticate(
    s: &mut Session<'_>,
    tag: &Tag,
    mechanism: &str,
    initial: Option<Secret>,
) -> Result<Completion, ImapError> {
    if mechanism.eq_ignore_ascii_case("EXTERNAL") {
        return external(s, tag, initial);
    }
    let Some(mech) = Mechanism::from_name(mechanism) else {
        return Err(ImapError::no("Unsupported authentication mechanism"));
    };
    plaintext_check(s)?;
    let (mut ex, mut step) = Exchange::start(mech, initial.as_ref().map(|i| i.expose()));
    drop(initial);
    loop {
        match step {
            Step::Challenge(c) => {
                s.out.continuation_base64(c);
                s.flush()?;
                let mut line = match s.ctx.conn.read_line(sasl::MAX_RESPONSE_LEN + 2)? {
                    ReadLine::Line(l) => l,
                    ReadLine::TooLong => {
                        return Err(ImapError::bad(SaslError::TooLong.to_string()))
                    }
                    ReadLine::Eof => return Err(ImapError::Disconnected),
                    ReadLine::Timeout => {
                        return Err(ImapError::Bye("Autologout; idle for too long".into()))
                    }
                };
                step = ex.step(&line);
                zeroize::Zeroize::zeroize(&mut line);
            }
            Step::Done(creds) => {
                return verify(s, tag, &creds.user, &creds.password, mech.name());
            }
            Step::Failed(e @ (SaslError::Cancelled | SaslError::Base64 | SaslError::TooLong)) => {
                return Err(ImapError::bad(e.to_string()));
            }
            Step::Failed(_) => return failed(s, tag, ""),
        }
    }
}

/// The local user a verified client certificate names: the subject's CN,
/// or the local part of a CN `user@domain` whose domain is one of
/// `local_domains`. `subject` is the RFC 4514 form (`CN=a,O=x\\, y`).
pub(crate) fn certificate_user(subject: &str, local_domains: &[String]) -> Option<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = subject.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            ',' => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    let cn = parts
        .iter()
        .find_map(|p| p.trim().strip_prefix("CN="))?
        .trim();
    let user = match cn.rsplit_once('@') {
        Some((local, domain)) if local_domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) => {
            local
        }
        Some(_) => return None,
        None => cn,
    };
    sasl::check_user(user.as_bytes()).ok()
}

/// ```text
/// authenticate = "AUTHENTICATE" SP "EXTERNAL" [SP (base64 / "=")]
/// ```
/// The optional authorization identity must be the certificate's user.
fn external(
    s: &mut Session<'_>,
    tag: &Tag,
    initial: Option<Secret>,
) -> Result<Completion, ImapError> {
    let subject = s.ctx.conn.tls().and_then(|t| t.client_subject.clone());
    let Some(subject) = subject else {
        return Err(ImapError::no(
            "EXTERNAL needs a verified TLS client certificate",
        ));
    };
    let response = match initial {
        Some(r) => r.expose().to_vec(),
        None => {
            s.out.continuation_base64("");
            s.flush()?;
            match s.ctx.conn.read_line(sasl::MAX_RESPONSE_LEN + 2)? {
                ReadLine::Line(l) => l,
                ReadLine::TooLong => return Err(ImapError::bad(SaslError::TooLong.to_string())),
                ReadLine::Eof => return Err(ImapError::Disconnected),
                ReadLine::Timeout => {
                    return Err(ImapError::Bye("Autologout; idle for too long".into()))
                }
            }
        }
    };
    let authzid = sasl::decode_response(&response).map_err(|e| ImapError::bad(e.to_string()))?;
    let Some(user) = certificate_user(&subject, &s.ctx.cfg.local_domains) else {
        return failed(s, tag, &subject);
    };
    if !authzid.is_empty() && *authzid != user.as_bytes() {
        return failed(s, tag, &user);
    }
    match crate::auth::lookup(&s.ctx.cfg, &user) {
        Ok(Some(account)) => {
            s.enter_authenticated(account, "EXTERNAL")?;
            Ok(s.logged_in("Logged in"))
        }
        Ok(None) => failed(s, tag, &user),
        Err(_) => Err(ImapError::no_code(
            RespCode::Unavailable,
            "Temporary authentication failure, try again later",
        )),
    }
}

/// Checks a password; on success drops privileges and logs in.
fn verify(
    s: &mut Session<'_>,
    tag: &Tag,
    user: &str,
    password: &[u8],
    how: &str,
) -> Result<Completion, ImapError> {
    match crate::auth::authenticate(&s.ctx.cfg, user, password, s.ctx.peer_ip()) {
        Ok(account) => {
            s.enter_authenticated(account, how)?;
            Ok(s.logged_in("Logged in"))
        }
        Err(AuthError::BadCredentials | AuthError::Refused(_)) => failed(s, tag, user),
        Err(AuthError::Internal(_)) => Err(ImapError::no_code(
            RespCode::Unavailable,
            "Temporary authentication failure, try again later",
        )),
    }
}

/// A failed login: delay, log, count; after the limit NO then BYE.
fn failed(s: &mut Session<'_>, tag: &Tag, user: &str) -> Result<Completion, ImapError> {
    s.failures.record_failure();
    crate::log::event("Login failed")
        .field("user", user)
        .raw("host", s.ctx.host())
        .info();
    if s.failures.too_many() {
        s.out.tagged(
            tag,
            Status::No,
            Some(RespCode::AuthenticationFailed.as_code()),
            "Authentication failed",
        );
        return Err(ImapError::Bye("Too many authentication failures".into()));
    }
    Err(ImapError::no_code(
        RespCode::AuthenticationFailed,
        "Authentication failed",
    ))
}

#[cfg(test)]
mod tests {
    use super::certificate_user;

    #[test]
    fn users_from_certificate_subjects() {
        let domains = vec!["postern.test".to_string()];
        let table = [
            ("CN=alice,O=Example\\, Inc,C=DE", Some("alice")),
            ("CN = alice", None),
            ("CN=valid@postern.test,O=postern test", Some("valid")),
            ("CN=valid@POSTERN.TEST", Some("valid")),
            ("CN=valid@elsewhere.example", None),
            ("O=x\\,CN=mallory,CN=alice", Some("alice")),
            ("O=nobody", None),
            ("CN=", None),
        ];
        for (subject, want) in table {
            assert_eq!(
                certificate_user(subject, &domains).as_deref(),
                want,
                "{subject}"
            );
        }
    }
}
