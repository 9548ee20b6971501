//! One POP3 session: the AUTHORIZATION → TRANSACTION → UPDATE state machine
//! of RFC 1939 §3–§6, with CAPA (RFC 2449), AUTH PLAIN/LOGIN (RFC 5034,
//! RFC 4616), STLS (RFC 2595 §4) and the response codes of RFC 2449 §8 and
//! RFC 3206.
//!
//! The loop is `read line → parse → state gate → handler → reply`. Replies
//! queue in [`Replies`] and are written when no pipelined input waits.
//! Rules kept here, because they are the security-relevant ones:
//! - deletions reach the maildrop only through QUIT from TRANSACTION; EOF,
//!   an I/O error, a timeout or too many errors end the session unchanged;
//! - plaintext USER/PASS/AUTH are refused before TLS unless
//!   `plaintext_auth = yes` (or the session is PREAUTH over a pipe);
//! - input pipelined after STLS is discarded by the transport, never
//!   answered inside TLS;
//! - failed logins wait `login_delay`; after `max_auth_failures` the
//!   connection closes; after [`MAX_ERRORS`] protocol errors likewise;
//! - passwords live in `Zeroizing` buffers and never reach a log line.

use super::command::{parse_command, Command};
use super::maildrop::Maildrop;
use super::reply::{top_slice, Code, Replies, Stuffer};
use super::{Backend, Settings, Transport};
use crate::auth::{Account, AuthError};
use crate::io::ReadLine;
use crate::log::event;
use crate::store::ErrorKind;
use base64::Engine;
use zeroize::Zeroizing;

/// Longest command line accepted (RFC 2449 §4 asks for at least 255 octets;
/// AUTH initial responses need more).
pub const MAX_LINE: usize = 1024;
/// Protocol errors (unknown commands, bad arguments, wrong state, over-long
/// lines) tolerated before the server says goodbye.
pub const MAX_ERRORS: u32 = 10;
/// Queued reply bytes that force a write even while input is pipelined.
const FLUSH_AT: usize = 64 * 1024;

/// How a session ended (for the caller's exit code and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// QUIT (in either state); UPDATE succeeded if it ran.
    Quit,
    /// QUIT from TRANSACTION, but the maildrop could not be updated.
    UpdateFailed,
    /// Client closed the connection.
    Eof,
    /// `idle_timeout` passed without input.
    Timeout,
    /// Past [`MAX_ERRORS`] protocol errors.
    TooManyErrors,
    /// Past `max_auth_failures` failed logins.
    TooManyAuthFailures,
    /// Authenticated, but the maildrop could not be opened.
    MailboxUnavailable,
    /// TLS handshake after STLS failed.
    TlsFailed,
    /// Reading or writing the connection failed.
    IoError,
}

struct Transaction {
    account: Account,
    drop: Box<dyn Maildrop>,
    deleted: Vec<bool>,
    retrieved: Vec<bool>,
}

impl Transaction {
    /// Message count and octets not marked deleted (STAT, RSET, greeting).
    fn totals(&self) -> (usize, u64) {
        let mut n = 0;
        let mut octets = 0;
        for i in 0..self.deleted.len() {
            if !self.deleted[i] {
                n += 1;
                octets += self.drop.size(i);
            }
        }
        (n, octets)
    }

    /// RFC 1939 message number → index, refusing 0, out of range, deleted.
    fn index(&self, n: u32) -> Result<usize, &'static str> {
        let i = (n as usize).wrapping_sub(1);
        if n == 0 || i >= self.deleted.len() {
            Err("No such message")
        } else if self.deleted[i] {
            Err("Message is deleted")
        } else {
            Ok(i)
        }
    }
}

/// What a handler tells the loop.
enum Flow {
    Continue,
    Close(Outcome),
}

/// One connection's POP3 state; owned by [`Session::run`]'s caller.
pub struct Session<'a> {
    t: &'a mut dyn Transport,
    backend: &'a mut dyn Backend,
    s: &'a Settings,
    out: Replies,
    errors: u32,
    auth_failures: u32,
    /// Name from USER, waiting for PASS.
    user: Option<String>,
    tx: Option<Transaction>,
    host: String,
}

impl<'a> Session<'a> {
    pub fn new(t: &'a mut dyn Transport, backend: &'a mut dyn Backend, s: &'a Settings) -> Session<'a> {
        let host = crate::log::host(t.peer());
        Session { t, backend, s, out: Replies::default(), errors: 0, auth_failures: 0, user: None, tx: None, host }
    }

    /// Greet, then serve commands until QUIT, EOF, timeout or a bound.
    pub fn run(&mut self) -> Outcome {
        self.out.ok(&format!("{} POP3 server ready", self.s.hostname));
        let outcome = self.serve_loop();
        // Best effort: the last reply (goodbye, -ERR) may still be queued.
        let _ = self.flush();
        if let Some(tx) = &self.tx {
            event("Logout").field("user", &tx.account.user).raw("host", &self.host).info();
        }
        outcome
    }

    fn serve_loop(&mut self) -> Outcome {
        loop {
            if (!self.t.has_buffered() || self.out.len() >= FLUSH_AT) && self.flush().is_err() {
                return Outcome::IoError;
            }
            let line = match self.t.read_line(MAX_LINE) {
                Ok(ReadLine::Line(l)) => l,
                Ok(ReadLine::TooLong) => {
                    self.out.err(None, "Line too long");
                    if let Flow::Close(o) = self.protocol_error() {
                        return o;
                    }
                    continue;
                }
                Ok(ReadLine::Eof) => return Outcome::Eof,
                Ok(ReadLine::Timeout) => return self.autologout(),
                Err(e) => {
                    event("Read error").raw("host", &self.host).raw("error", e).debug();
                    return Outcome::IoError;
                }
            };
            if let Flow::Close(o) = self.handle_line(&line) {
                return o;
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let buf = self.out.take();
        self.t.send(&buf)
    }

    fn autologout(&mut self) -> Outcome {
        self.out.err(None, "Autologout; idle for too long");
        let mut ev = event("Autologout");
        if let Some(tx) = &self.tx {
            ev = ev.field("user", &tx.account.user);
        }
        ev.raw("host", &self.host).info();
        Outcome::Timeout
    }

    /// Count one client mistake (the `-ERR` is already queued).
    fn protocol_error(&mut self) -> Flow {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.out.err(None, "Too many errors, closing connection");
            event("Too many errors").raw("host", &self.host).info();
            return Flow::Close(Outcome::TooManyErrors);
        }
        Flow::Continue
    }

    fn reject(&mut self, code: Option<Code>, text: &str) -> Flow {
        self.out.err(code, text);
        self.protocol_error()
    }

    fn handle_line(&mut self, line: &[u8]) -> Flow {
        let cmd = match parse_command(line) {
            Ok(c) => c,
            Err(e) => return self.reject(None, e.text()),
        };
        match (cmd, self.tx.is_some()) {
            (Command::Capa, _) => {
                self.capa();
                Flow::Continue
            }
            (Command::Quit, false) => {
                self.out.ok(&format!("{} POP3 server signing off", self.s.hostname));
                Flow::Close(Outcome::Quit)
            }
            (Command::Quit, true) => self.quit(),
            (Command::User(name), false) => self.user_cmd(name),
            (Command::Pass(pw), false) => self.pass_cmd(&pw),
            (Command::Auth { mechanism, initial }, false) => self.auth_cmd(mechanism, initial),
            (Command::Stls, false) => self.stls(),
            (Command::Apop, false) => self.reject(None, "APOP not supported"),
            (Command::Stat, true) => {
                if let Some(tx) = &self.tx {
                    let (n, octets) = tx.totals();
                    self.out.ok(&format!("{} {}", n, octets));
                }
                Flow::Continue
            }
            (Command::List(n), true) => self.list(n),
            (Command::Uidl(n), true) => self.uidl(n),
            (Command::Retr(n), true) => self.retr(n, None),
            (Command::Top(n, lines), true) => self.retr(n, Some(lines)),
            (Command::Dele(n), true) => self.dele(n),
            (Command::Noop, true) => {
                self.out.ok("");
                Flow::Continue
            }
            (Command::Rset, true) => {
                if let Some(tx) = &mut self.tx {
                    tx.deleted.iter_mut().for_each(|d| *d = false);
                    let (n, octets) = tx.totals();
                    self.out.ok(&format!("maildrop has {} messages ({} octets)", n, octets));
                }
                Flow::Continue
            }
            _ => self.reject(None, "Command not valid in this state"),
        }
    }

    // ---- AUTHORIZATION -------------------------------------------------

    /// Plaintext credentials may cross this connection (DESIGN.md
    /// `plaintext_auth`; a PREAUTH pipe never leaves the machine).
    fn plaintext_allowed(&self) -> bool {
        self.s.plaintext_auth_always || self.s.preauth.is_some() || self.t.is_tls()
    }

    fn refuse_plaintext(&mut self) -> Flow {
        self.reject(Some(Code::Auth), "Plaintext authentication disallowed on non-secure connections")
    }

    fn capa(&mut self) {
        self.out.ok("Capability list follows");
        for cap in ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER"] {
            self.out.line(cap);
        }
        if self.tx.is_none() {
            if self.plaintext_allowed() {
                self.out.line("USER");
                self.out.line("SASL PLAIN LOGIN");
            }
            if !self.t.is_tls() && self.t.tls_available() {
                self.out.line("STLS");
            }
        }
        self.out.line("IMPLEMENTATION postern");
        self.out.end();
    }

    /// `USER name` — RFC 1939 §7. Always accepted, so user names cannot be
    /// probed; the verdict comes with PASS.
    fn user_cmd(&mut self, name: String) -> Flow {
        if !self.plaintext_allowed() {
            return self.refuse_plaintext();
        }
        self.user = Some(name);
        self.out.ok("User name accepted, password please");
        Flow::Continue
    }

    /// `PASS string` — RFC 1939 §7.
    fn pass_cmd(&mut self, pw: &[u8]) -> Flow {
        if !self.plaintext_allowed() {
            return self.refuse_plaintext();
        }
        match self.user.take() {
            Some(user) => self.login(&user, pw),
            None => self.reject(None, "No user name given; send USER first"),
        }
    }

    /// `AUTH [mechanism [initial-response]]` — RFC 5034 §4.
    fn auth_cmd(&mut self, mechanism: Option<String>, initial: Option<Zeroizing<Vec<u8>>>) -> Flow {
        let Some(mech) = mechanism else {
            // RFC 1734 listing, still sent by some clients.
            self.out.ok("Supported mechanisms follow");
            if self.plaintext_allowed() {
                self.out.line("PLAIN");
                self.out.line("LOGIN");
            }
            self.out.end();
            return Flow::Continue;
        };
        if mech != "PLAIN" && mech != "LOGIN" {
            return self.reject(None, "Unsupported authentication mechanism");
        }
        if !self.plaintext_allowed() {
            return self.refuse_plaintext();
        }
        self.user = None;
        let first = match initial {
            Some(ir) => ir,
            None => {
                let prompt = if mech == "PLAIN" { "" } else { "VXNlcm5hbWU6" };
                match self.read_response(prompt) {
                    Ok(r) => r,
                    Err(flow) => return flow,
                }
            }
        };
        let first = match decode_b64(&first) {
            Some(d) => d,
            None => return self.reject(None, "Invalid base64 data"),
        };
        if mech == "PLAIN" {
            match split_plain(&first) {
                Some((user, pw)) => self.login(&user, &pw),
                None => self.auth_failed("-", "bad PLAIN message", AuthError::BadCredentials),
            }
        } else {
            let user = match std::str::from_utf8(&first) {
                Ok(u) if !u.is_empty() && u.len() <= 255 && !u.chars().any(char::is_control) => u.to_string(),
                _ => return self.auth_failed("-", "bad LOGIN user name", AuthError::BadCredentials),
            };
            let pw = match self.read_response("UGFzc3dvcmQ6") {
                Ok(r) => r,
                Err(flow) => return flow,
            };
            match decode_b64(&pw) {
                Some(pw) => self.login(&user, &pw),
                None => self.reject(None, "Invalid base64 data"),
            }
        }
    }

    /// Send a SASL challenge and read the client's line. `*` cancels
    /// (RFC 5034 §4). `Err` carries the flow to return.
    fn read_response(&mut self, challenge: &str) -> Result<Zeroizing<Vec<u8>>, Flow> {
        self.out.continuation(challenge);
        if self.flush().is_err() {
            return Err(Flow::Close(Outcome::IoError));
        }
        match self.t.read_line(MAX_LINE) {
            Ok(ReadLine::Line(l)) => {
                let l = Zeroizing::new(l);
                if l.as_slice() == b"*" {
                    Err(self.reject(None, "Authentication canceled"))
                } else {
                    Ok(l)
                }
            }
            Ok(ReadLine::TooLong) => Err(self.reject(None, "Line too long")),
            Ok(ReadLine::Eof) => Err(Flow::Close(Outcome::Eof)),
            Ok(ReadLine::Timeout) => Err(Flow::Close(self.autologout())),
            Err(_) => Err(Flow::Close(Outcome::IoError)),
        }
    }

    /// Check credentials, then enter TRANSACTION.
    fn login(&mut self, user: &str, password: &[u8]) -> Flow {
        let result = match &self.s.preauth {
            // The process already runs as this user (ssh pipe): no secret to
            // check, but the name must be the invoking user's.
            Some(acct) if acct.user == user => Ok(acct.clone()),
            Some(_) => Err(AuthError::Refused("not the invoking user".into())),
            None => self.backend.authenticate(user, password, self.t.peer()),
        };
        match result {
            Ok(account) => self.open_maildrop(account),
            Err(e) => self.auth_failed(user, "", e),
        }
    }

    /// A failed login: log, `login_delay`, count; close past the limit.
    /// Refusal and backend details stay in the log; the client learns only
    /// whether to retry later ([SYS/TEMP]) or not ([AUTH]).
    fn auth_failed(&mut self, user: &str, why: &str, e: AuthError) -> Flow {
        let (code, text, reason) = match &e {
            AuthError::BadCredentials => (Code::Auth, "Authentication failed", "bad credentials".to_string()),
            AuthError::Refused(r) => (Code::Auth, "Authentication failed", r.clone()),
            AuthError::Internal(_) => {
                (Code::SysTemp, "Authentication temporarily unavailable", "internal error".to_string())
            }
        };
        let reason = if why.is_empty() { reason } else { why.to_string() };
        event("Login failed").field("user", user).raw("host", &self.host).field("reason", reason).info();
        self.backend.delay_after_failure();
        self.auth_failures += 1;
        if self.auth_failures >= self.s.max_auth_failures {
            self.out.err(Some(code), &format!("{}; too many failures, closing connection", text));
            return Flow::Close(Outcome::TooManyAuthFailures);
        }
        self.out.err(Some(code), text);
        Flow::Continue
    }

    fn open_maildrop(&mut self, account: Account) -> Flow {
        match self.backend.open_maildrop(&account) {
            Ok(drop) => {
                let n = drop.count();
                let tx = Transaction { account, drop, deleted: vec![false; n], retrieved: vec![false; n] };
                let (_, octets) = tx.totals();
                match self.t.tls_summary() {
                    Some(tls) => event("Login")
                        .field("user", &tx.account.user)
                        .raw("host", &self.host)
                        .raw("nmsgs", n)
                        .raw("tls", tls)
                        .info(),
                    None => event("Login").field("user", &tx.account.user).raw("host", &self.host).raw("nmsgs", n).info(),
                }
                self.tx = Some(tx);
                self.out.ok(&format!("Mailbox open, {} messages ({} octets)", n, octets));
                Flow::Continue
            }
            Err(e) => {
                event("Mailbox open failed")
                    .field("user", &account.user)
                    .raw("host", &self.host)
                    .raw("error", &e)
                    .error();
                let (code, text) = match e.kind {
                    ErrorKind::InUse => (Code::InUse, "Mailbox is locked by another POP3 session"),
                    ErrorKind::LockTimeout | ErrorKind::Io | ErrorKind::NoSpace => {
                        (Code::SysTemp, "Unable to open mailbox")
                    }
                    _ => (Code::SysPerm, "Unable to open mailbox"),
                };
                self.out.err(Some(code), text);
                // Privileges may already be dropped: no second login.
                Flow::Close(Outcome::MailboxUnavailable)
            }
        }
    }

    /// `STLS` — RFC 2595 §4.
    fn stls(&mut self) -> Flow {
        if self.t.is_tls() {
            return self.reject(None, "Already using TLS");
        }
        if !self.t.tls_available() {
            return self.reject(None, "TLS not available");
        }
        self.out.ok("Begin TLS negotiation");
        if self.flush().is_err() {
            return Flow::Close(Outcome::IoError);
        }
        if self.t.has_buffered() {
            event("STLS discarding pipelined plaintext").raw("host", &self.host).info();
        }
        match self.t.start_tls() {
            Ok(()) => {
                self.user = None;
                Flow::Continue
            }
            Err(e) => {
                event("TLS handshake failed").raw("host", &self.host).raw("error", e).debug();
                Flow::Close(Outcome::TlsFailed)
            }
        }
    }

    // ---- TRANSACTION ---------------------------------------------------

    fn list(&mut self, n: Option<u32>) -> Flow {
        let Some(tx) = &self.tx else { return Flow::Continue };
        match n {
            Some(n) => match tx.index(n) {
                Ok(i) => self.out.ok(&format!("{} {}", n, tx.drop.size(i))),
                Err(e) => return self.reject(None, e),
            },
            None => {
                let (count, octets) = tx.totals();
                self.out.ok(&format!("{} messages ({} octets)", count, octets));
                for i in (0..tx.deleted.len()).filter(|&i| !tx.deleted[i]) {
                    self.out.line(&format!("{} {}", i + 1, tx.drop.size(i)));
                }
                self.out.end();
            }
        }
        Flow::Continue
    }

    fn uidl(&mut self, n: Option<u32>) -> Flow {
        let Some(tx) = &self.tx else { return Flow::Continue };
        match n {
            Some(n) => match tx.index(n) {
                Ok(i) => self.out.ok(&format!("{} {}", n, tx.drop.uidl(i))),
                Err(e) => return self.reject(None, e),
            },
            None => {
                self.out.ok("");
                for i in (0..tx.deleted.len()).filter(|&i| !tx.deleted[i]) {
                    self.out.line(&format!("{} {}", i + 1, tx.drop.uidl(i)));
                }
                self.out.end();
            }
        }
        Flow::Continue
    }

    /// RETR (`top == None`) and TOP — RFC 1939 §7. Only RETR marks a
    /// message seen, as UW ipop3d does.
    fn retr(&mut self, n: u32, top: Option<u32>) -> Flow {
        let Some(tx) = &mut self.tx else { return Flow::Continue };
        let i = match tx.index(n) {
            Ok(i) => i,
            Err(e) => return self.reject(None, e),
        };
        let mut data = Vec::new();
        if let Err(e) = tx.drop.read_message(i, &mut data) {
            event("Message read failed")
                .field("user", &tx.account.user)
                .raw("host", &self.host)
                .raw("msg", n)
                .raw("error", &e)
                .error();
            self.out.err(Some(Code::SysTemp), "Unable to read message");
            return Flow::Continue;
        }
        let body = match top {
            None => {
                tx.retrieved[i] = true;
                self.out.ok(&format!("{} octets", data.len()));
                &data[..]
            }
            Some(lines) => {
                self.out.ok("");
                top_slice(&data, lines)
            }
        };
        // In parts, so the reply buffer never holds a second copy of a
        // large message.
        let mut st = Stuffer::default();
        for part in body.chunks(FLUSH_AT) {
            self.out.stuff_part(&mut st, part);
            if self.out.len() >= FLUSH_AT && self.flush().is_err() {
                return Flow::Close(Outcome::IoError);
            }
        }
        self.out.stuff_finish(&st);
        self.out.end();
        Flow::Continue
    }

    fn dele(&mut self, n: u32) -> Flow {
        let Some(tx) = &mut self.tx else { return Flow::Continue };
        match tx.index(n) {
            Ok(i) => {
                tx.deleted[i] = true;
                self.out.ok(&format!("Message {} deleted", n));
                Flow::Continue
            }
            Err(e) => self.reject(None, e),
        }
    }

    /// QUIT from TRANSACTION: the UPDATE state (RFC 1939 §6).
    fn quit(&mut self) -> Flow {
        let Some(tx) = &mut self.tx else { return Flow::Continue };
        let deleted: Vec<usize> = (0..tx.deleted.len()).filter(|&i| tx.deleted[i]).collect();
        let seen: Vec<usize> = (0..tx.retrieved.len()).filter(|&i| tx.retrieved[i] && !tx.deleted[i]).collect();
        let left = tx.deleted.len() - deleted.len();
        match tx.drop.commit(&deleted, &seen) {
            Ok(()) => {
                event("Update")
                    .field("user", &tx.account.user)
                    .raw("host", &self.host)
                    .raw("nmsgs", left)
                    .raw("ndele", deleted.len())
                    .info();
                self.out.ok(&format!("{} POP3 server signing off ({} messages left)", self.s.hostname, left));
                Flow::Close(Outcome::Quit)
            }
            Err(e) => {
                event("Update failed")
                    .field("user", &tx.account.user)
                    .raw("host", &self.host)
                    .raw("error", &e)
                    .error();
                self.out.err(Some(Code::SysTemp), "Some deleted messages not removed");
                Flow::Close(Outcome::UpdateFailed)
            }
        }
    }
}

/// SASL base64 (RFC 5034 §4: `=` is the empty response).
fn decode_b64(data: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if data == b"=" {
        return Some(Zeroizing::new(Vec::new()));
    }
    base64::engine::general_purpose::STANDARD.decode(data).ok().map(Zeroizing::new)
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`. An authzid other than the
/// authcid (proxy login) is refused.
fn split_plain(msg: &[u8]) -> Option<(String, Zeroizing<Vec<u8>>)> {
    let mut parts = msg.splitn(3, |&b| b == 0);
    let authz = parts.next()?;
    let authc = parts.next()?;
    let pw = parts.next()?;
    if authc.is_empty() || (!authz.is_empty() && authz != authc) {
        return None;
    }
    let user = std::str::from_utf8(authc).ok()?;
    if user.len() > 255 || user.chars().any(char::is_control) {
        return None;
    }
    Some((user.to_string(), Zeroizing::new(pw.to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages() {
        type Case<'a> = (&'a [u8], Option<(&'a str, &'a [u8])>);
        let cases: &[Case] = &[
            (b"\0alice\0secret", Some(("alice", b"secret"))),
            (b"alice\0alice\0se cret", Some(("alice", b"se cret"))),
            (b"bob\0alice\0secret", None),
            (b"\0\0secret", None),
            (b"alice\0secret", None),
            (b"", None),
            (b"\0alice\0", Some(("alice", b""))),
            (b"\0al\x01ice\0x", None),
            (b"\0\xff\0x", None),
        ];
        for (input, want) in cases {
            let got = split_plain(input);
            let got = got.as_ref().map(|(u, p)| (u.as_str(), p.as_slice()));
            assert_eq!(got, *want, "input {:?}", input);
        }
    }

    #[test]
    fn base64_responses() {
        assert_eq!(decode_b64(b"=").map(|v| v.to_vec()), Some(vec![]));
        assert_eq!(decode_b64(b"YWxpY2U=").map(|v| v.to_vec()), Some(b"alice".to_vec()));
        assert!(decode_b64(b"!!!").is_none());
        assert!(decode_b64(b"").map(|v| v.is_empty()).unwrap_or(false));
    }
}
