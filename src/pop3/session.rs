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
use crate::auth::sasl::{self, Exchange, Mechanism, SaslError, Step};
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
    /// PREAUTH sessions open the maildrop right after the greeting, so a
    /// client (or benchmark) may send STAT at once (see `login`).
    pub fn run(&mut self) -> Outcome {
        let outcome = match self.s.preauth.clone() {
            Some(account) => {
                self.out.ok(&format!("{} POP3 server ready, preauthenticated", self.s.hostname));
                // Greet before the (possibly long) scan of a big mailbox.
                if self.flush().is_err() {
                    return Outcome::IoError;
                }
                match self.open_maildrop(account, false) {
                    Flow::Continue => self.serve_loop(),
                    Flow::Close(o) => o,
                }
            }
            None => {
                self.out.ok(&format!("{} POP3 server ready", self.s.hostname));
                self.serve_loop()
            }
        };
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
                // The line may be `PASS secret`: wiped when dropped.
                Ok(ReadLine::Line(l)) => Zeroizing::new(l),
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
            // PREAUTH is already in TRANSACTION; clients that log in anyway
            // (fetchmail's `plugin`) get the answers they expect.
            (Command::User(name), true) if self.s.preauth.is_some() => self.user_cmd(name),
            (Command::Pass(pw), true) if self.s.preauth.is_some() => self.pass_cmd(&pw),
            (Command::Auth { mechanism, initial }, true) if self.s.preauth.is_some() => {
                self.auth_cmd(mechanism, initial)
            }
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
        if self.tx.is_none() || self.s.preauth.is_some() {
            if self.plaintext_allowed() {
                self.out.line("USER");
                let mechs: Vec<&str> = Mechanism::ALL.iter().map(|m| m.name()).collect();
                self.out.line(&format!("SASL {}", mechs.join(" ")));
            }
            if self.tx.is_none() && !self.t.is_tls() && self.t.tls_available() {
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

    /// `AUTH [mechanism [initial-response]]` — RFC 5034 §4; the SASL
    /// decoding is `auth::sasl`'s, shared with IMAP and SMTP.
    fn auth_cmd(&mut self, mechanism: Option<String>, initial: Option<Zeroizing<Vec<u8>>>) -> Flow {
        let Some(name) = mechanism else {
            // RFC 1734 listing, still sent by some clients.
            self.out.ok("Supported mechanisms follow");
            if self.plaintext_allowed() {
                for m in Mechanism::ALL {
                    self.out.line(m.name());
                }
            }
            self.out.end();
            return Flow::Continue;
        };
        let Some(mech) = Mechanism::from_name(&name) else {
            return self.reject(None, "Unsupported authentication mechanism");
        };
        if !self.plaintext_allowed() {
            return self.refuse_plaintext();
        }
        self.user = None;
        let (mut exchange, mut step) = Exchange::start(mech, initial.as_deref().map(|v| v.as_slice()));
        // PLAIN needs at most one round, LOGIN two; the bound is defensive.
        for _ in 0..4 {
            match step {
                Step::Challenge(challenge) => {
                    let line = match self.read_response(challenge) {
                        Ok(l) => l,
                        Err(flow) => return flow,
                    };
                    step = exchange.step(&line);
                }
                Step::Done(creds) => return self.login(&creds.user, &creds.password),
                Step::Failed(e) => return self.sasl_failed(e),
            }
        }
        self.sasl_failed(SaslError::Malformed)
    }

    /// A SASL exchange that ended without credentials. Framing mistakes are
    /// protocol errors; a well-formed but unacceptable message is a failed
    /// login (delay and count), with the reason only in the log.
    fn sasl_failed(&mut self, e: SaslError) -> Flow {
        match e {
            SaslError::Cancelled | SaslError::Base64 | SaslError::TooLong => self.reject(None, &e.to_string()),
            SaslError::Malformed
            | SaslError::BadUser
            | SaslError::EmptyPassword
            | SaslError::AuthzidNotAllowed => self.auth_failed("-", &e.to_string(), AuthError::BadCredentials),
        }
    }

    /// Send a SASL challenge and read the client's line. `Err` carries the
    /// flow to return (over-long line, EOF, timeout).
    fn read_response(&mut self, challenge: &str) -> Result<Zeroizing<Vec<u8>>, Flow> {
        self.out.continuation(challenge);
        if self.flush().is_err() {
            return Err(Flow::Close(Outcome::IoError));
        }
        match self.t.read_line(sasl::MAX_RESPONSE_LEN) {
            Ok(ReadLine::Line(l)) => Ok(Zeroizing::new(l)),
            Ok(ReadLine::TooLong) => Err(self.reject(None, "Line too long")),
            Ok(ReadLine::Eof) => Err(Flow::Close(Outcome::Eof)),
            Ok(ReadLine::Timeout) => Err(Flow::Close(self.autologout())),
            Err(_) => Err(Flow::Close(Outcome::IoError)),
        }
    }

    /// Check credentials, then enter TRANSACTION. Under PREAUTH the
    /// maildrop is already open and only the invoking user's name is
    /// accepted, with any password.
    fn login(&mut self, user: &str, password: &[u8]) -> Flow {
        let result = match &self.s.preauth {
            // The process already runs as this user (ssh pipe): no secret to
            // check, but the name must be the invoking user's.
            Some(acct) if acct.user == user => Ok(acct.clone()),
            Some(_) => Err(AuthError::Refused("not the invoking user".into())),
            None => self.backend.authenticate(user, password, self.t.peer()),
        };
        match (result, &self.tx) {
            (Ok(_), Some(tx)) => {
                let (n, octets) = tx.totals();
                self.out.ok(&format!("Mailbox open, {} messages ({} octets)", n, octets));
                Flow::Continue
            }
            (Ok(account), None) => self.open_maildrop(account, true),
            (Err(e), _) => self.auth_failed(user, "", e),
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

    /// Enter TRANSACTION; `announce` sends the `+OK` a login answers with.
    fn open_maildrop(&mut self, account: Account, announce: bool) -> Flow {
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
                if announce {
                    self.out.ok(&format!("Mailbox open, {} messages ({} octets)", n, octets));
                }
                Flow::Continue
            }
            Err(e) => {
                let ev = event("Mailbox open failed").field("user", &account.user).raw("host", &self.host);
                if e.kind == ErrorKind::InUse {
                    ev.raw("error", "in use by another POP3 session").info();
                } else {
                    ev.raw("error", &e).error();
                }
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
