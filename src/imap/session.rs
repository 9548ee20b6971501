//! One IMAP session as straight-line blocking code: read a command (lines
//! and literals through the wire [`CommandReader`]), check it against the
//! state it is allowed in, run its handler, report mailbox changes, answer.
//! RFC 3501 §3 (states), §5.5 (pipelining), §7.5 (continuations), §5.4
//! (autologout); RFC 7888 (LITERAL+).
//!
//! Bounds: a command line over `max_command` is answered `BAD` and the
//! connection closed (its tail cannot be told from commands); an APPEND
//! literal over `max_size` is refused before it is read; before login,
//! commands and literals are small; after
//! [`MAX_BAD_COMMANDS`] refused commands in a row the session says BYE. No
//! input for `idle_timeout` ends with `* BYE Autologout`.

use crate::auth::Account;
use crate::imap::command;
use crate::imap::error::{store_error_response, Completion, ImapError};
use crate::imap::folder::Folders;
use crate::imap::selected::Selected;
use crate::imap::wire::{
    Command, CommandKind, CommandReader, Frame, Limits, Response, Status, Tag,
};
use crate::io::ReadLine;
use crate::server::Context;
use std::process::ExitCode;

/// Refused commands in a row before the session gives up.
pub(crate) const MAX_BAD_COMMANDS: u32 = 20;
/// Longest command text, and APPEND literal, before login (an APPEND is
/// then read, within this bound, only to be refused by the state gate).
/// 64 KiB as Dovecot's imap-login: an ID with 30 long pairs fits.
const PREAUTH_MAX_COMMAND: usize = 64 * 1024;

/// The logged-in user and where their mail is.
pub(crate) struct User {
    pub account: Account,
    pub folders: Folders,
}

/// RFC 3501 §3 states. Selected carries its mailbox.
pub(crate) enum State {
    NotAuthenticated,
    Authenticated,
    Selected(Box<Selected>),
    Logout,
}

/// Per-session counters for the Logout log line.
#[derive(Default, Debug)]
pub(crate) struct Counts {
    pub appended: u64,
    pub copied: u64,
    pub expunged: u64,
    pub flag_changes: u64,
}

pub(crate) struct Session<'c> {
    pub ctx: &'c mut Context,
    pub state: State,
    pub user: Option<User>,
    pub out: Response,
    pub failures: crate::auth::policy::FailureLimit,
    pub counts: Counts,
    reader: CommandReader,
    bad_in_row: u32,
}

/// What reading the next command gave.
enum Input {
    Command(Command),
    Refused(crate::imap::wire::ParseError),
    LineTooLong,
    Eof,
    Timeout,
}

/// Which commands each state allows (RFC 3501 §6; extensions by their RFC).
fn allowed(state: &State, kind: &CommandKind) -> bool {
    use CommandKind::*;
    match kind {
        Capability | Noop | Logout | Id { .. } => true,
        StartTls | Authenticate { .. } | Login { .. } => matches!(state, State::NotAuthenticated),
        Select { .. }
        | Examine { .. }
        | Create { .. }
        | Delete { .. }
        | Rename { .. }
        | Subscribe { .. }
        | Unsubscribe { .. }
        | List { .. }
        | Lsub { .. }
        | Namespace
        | Status { .. }
        | Append { .. }
        | Idle
        | Enable { .. } => matches!(state, State::Authenticated | State::Selected(_)),
        Check
        | Close
        | Unselect
        | Expunge
        | UidExpunge { .. }
        | Search { .. }
        | Fetch { .. }
        | Store { .. }
        | Copy { .. }
        | Move { .. }
        | Sort { .. }
        | Thread { .. } => matches!(state, State::Selected(_)),
    }
}

/// Commands during which EXPUNGE must not be sent (RFC 3501 §7.4.1): the
/// message numbers the client is working with would shift.
fn must_not_expunge(kind: &CommandKind) -> bool {
    use CommandKind::*;
    matches!(
        kind,
        Fetch { uid: false, .. }
            | Store { uid: false, .. }
            | Search { uid: false, .. }
            | Sort { uid: false, .. }
            | Thread { uid: false, .. }
    )
}

impl<'c> Session<'c> {
    pub(crate) fn new(ctx: &'c mut Context) -> Session<'c> {
        let failures = crate::auth::policy::FailureLimit::from_config(&ctx.cfg);
        let mut s = Session {
            ctx,
            state: State::NotAuthenticated,
            user: None,
            out: Response::new(),
            failures,
            counts: Counts::default(),
            reader: CommandReader::new(Limits::default()),
            bad_in_row: 0,
        };
        s.set_limits();
        s
    }

    /// Small commands and literals before login; after it, each APPEND
    /// message up to `max_size` and one MULTIAPPEND up to twice that, so a
    /// session holds at most 2 × `max_size` of message data in memory.
    pub(crate) fn set_limits(&mut self) {
        let d = Limits::default();
        let limits = if self.user.is_some() {
            Limits {
                max_literal: self.ctx.cfg.max_size,
                max_append_total: self.ctx.cfg.max_size.saturating_mul(2),
                ..d
            }
        } else {
            Limits {
                max_command: PREAUTH_MAX_COMMAND,
                max_literal: PREAUTH_MAX_COMMAND as u64,
                max_append_total: PREAUTH_MAX_COMMAND as u64,
                ..d
            }
        };
        self.reader.set_limits(limits);
    }

    /// The From_ line sender of messages this session APPENDs or COPYs:
    /// the logged-in user, as UW writes (a name unfit for a From_ line,
    /// or no login, gives MAILER-DAEMON).
    pub(crate) fn envelope_sender(&self) -> String {
        match &self.user {
            Some(u)
                if !u.account.user.is_empty()
                    && u.account.user.len() <= 256
                    && u.account.user.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                u.account.user.clone()
            }
            _ => "MAILER-DAEMON".into(),
        }
    }

    /// Sends what is buffered as one write.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let bytes = self.out.take();
        self.ctx.conn.send(&bytes)
    }

    /// The command loop; returns when the client logs out, leaves, times
    /// out, or the session must end.
    pub(crate) fn run(&mut self) -> ExitCode {
        loop {
            if matches!(self.state, State::Logout) {
                break;
            }
            let input = self.read_command();
            match input {
                Ok(Input::Command(cmd)) => self.execute(cmd),
                Ok(Input::Refused(e)) => {
                    self.out.parse_error(&e);
                    if e.fatal {
                        self.state = State::Logout;
                    } else {
                        self.count_bad();
                    }
                }
                Ok(Input::LineTooLong) => {
                    self.out
                        .untagged(Status::Bad, None, "Command line too long");
                    self.out.untagged(
                        Status::Bye,
                        None,
                        "Cannot resynchronise after an over-long line",
                    );
                    self.state = State::Logout;
                }
                Ok(Input::Timeout) => {
                    self.out
                        .untagged(Status::Bye, None, "Autologout; idle for too long");
                    self.state = State::Logout;
                }
                Ok(Input::Eof) | Err(_) => {
                    self.out.clear();
                    break;
                }
            }
            if matches!(self.state, State::Logout) {
                // Logged before the last answer goes out, so the line is
                // there by the time the client sees its LOGOUT completed.
                break;
            }
            if self.flush().is_err() {
                break;
            }
            // \Seen set by FETCH is written after the reply has left, so a
            // client reading a large message whose flags do not fit in place
            // (a whole-file rewrite) is not kept waiting for it; the next
            // command, CLOSE or LOGOUT finds it written.
            self.write_seen_after_reply();
        }
        self.state = State::Logout;
        self.log_logout();
        let _ = self.flush();
        ExitCode::SUCCESS
    }

    fn write_seen_after_reply(&mut self) {
        if let State::Selected(sel) = &mut self.state {
            if let Err(e) = sel.write_seen() {
                crate::log::event("Writing \\Seen failed")
                    .detail("error", &e)
                    .error();
            }
        }
    }

    fn count_bad(&mut self) {
        self.bad_in_row += 1;
        if self.bad_in_row >= MAX_BAD_COMMANDS {
            self.out
                .untagged(Status::Bye, None, "Too many invalid commands");
            self.state = State::Logout;
        }
    }

    fn read_command(&mut self) -> std::io::Result<Input> {
        let max_line = self.reader.limits().max_command;
        loop {
            let mut line = match self.ctx.conn.read_line(max_line)? {
                ReadLine::Line(l) => l,
                ReadLine::TooLong => {
                    self.reader.reset();
                    return Ok(Input::LineTooLong);
                }
                ReadLine::Eof => return Ok(Input::Eof),
                ReadLine::Timeout => return Ok(Input::Timeout),
            };
            let frame = self.reader.push_line(&line);
            zeroize::Zeroize::zeroize(&mut line);
            match frame {
                Frame::Done(Ok(c)) => return Ok(Input::Command(c)),
                Frame::Done(Err(e)) => return Ok(Input::Refused(e)),
                Frame::Literal { size, sync } => {
                    if sync {
                        self.out.continuation("Ready for literal data");
                        self.flush()?;
                    }
                    let mut data = Vec::new();
                    match self.ctx.conn.read_exact_into(size as usize, &mut data) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                            return Ok(Input::Timeout)
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                            return Ok(Input::Eof)
                        }
                        Err(e) => return Err(e),
                    }
                    if let Err(e) = self.reader.push_literal(data) {
                        return Ok(Input::Refused(e));
                    }
                }
            }
        }
    }

    /// Gate, handler, change report, tagged answer.
    fn execute(&mut self, cmd: Command) {
        let Command { tag, kind } = cmd;
        if !allowed(&self.state, &kind) {
            let text = match self.state {
                State::NotAuthenticated => "Log in first",
                State::Selected(_) | State::Authenticated
                    if matches!(
                        kind,
                        CommandKind::Login { .. }
                            | CommandKind::Authenticate { .. }
                            | CommandKind::StartTls
                    ) =>
                {
                    "Already logged in"
                }
                _ => "No mailbox selected",
            };
            self.out
                .tagged(&tag, Status::Bad, None, &format!("{} {text}", kind.name()));
            self.count_bad();
            return;
        }
        let may_expunge = !must_not_expunge(&kind);
        let name = kind.name();
        let result = command::dispatch(self, &tag, kind);
        let result = match result {
            Ok(done) => self.updates(may_expunge).map(|_| done),
            Err(e @ (ImapError::No(..) | ImapError::Store(..))) => {
                // A NO still reports what changed meanwhile.
                match self.updates(may_expunge) {
                    Ok(()) => Err(e),
                    Err(u) => Err(u),
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(done) if done.answered => self.bad_in_row = 0,
            Ok(done) => {
                self.bad_in_row = 0;
                self.out.tagged(
                    &tag,
                    Status::Ok,
                    done.code.as_ref().map(|c| c.as_code()),
                    &done.text,
                );
            }
            Err(e) => self.answer_error(&tag, name, e),
        }
    }

    /// Writes the answer for a failed command.
    pub(crate) fn answer_error(&mut self, tag: &Tag, name: &str, e: ImapError) {
        match e {
            ImapError::No(code, text) => {
                self.bad_in_row = 0;
                self.out
                    .tagged(tag, Status::No, code.as_ref().map(|c| c.as_code()), &text)
            }
            ImapError::Bad(text) => {
                self.out
                    .tagged(tag, Status::Bad, None, &format!("{name}: {text}"));
                self.count_bad();
            }
            ImapError::Store(e, role) => {
                self.bad_in_row = 0;
                let user = self
                    .user
                    .as_ref()
                    .map_or("", |u| u.account.user.as_str())
                    .to_string();
                let (code, text) = store_error_response(&e, role, &user);
                self.out
                    .tagged(tag, Status::No, Some(code.as_code()), &text);
            }
            ImapError::Bye(text) => {
                self.out.untagged(Status::Bye, None, &text);
                self.state = State::Logout;
            }
            ImapError::Disconnected => {
                self.out.clear();
                self.state = State::Logout;
            }
        }
    }

    /// After a command: write back `\Seen` from FETCH, then (unless
    /// forbidden) report other processes' changes.
    fn updates(&mut self, may_expunge: bool) -> Result<(), ImapError> {
        let State::Selected(sel) = &mut self.state else {
            return Ok(());
        };
        // report_changes writes pending \Seen itself before it syncs; after
        // FETCH/STORE/SEARCH the write waits until the reply has gone out
        // (see `run`).
        if may_expunge {
            sel.report_changes(&mut self.out)?;
        } else {
            sel.announce_keywords(&mut self.out);
        }
        Ok(())
    }

    /// The capabilities for the current state (RFC 3501 §6.1.1; STARTTLS
    /// and LOGINDISABLED per §6.2.1 and RFC 2595).
    pub(crate) fn capabilities(&self) -> Vec<&'static str> {
        let mut caps = vec![
            "IMAP4rev1",
            "LITERAL+",
            "SASL-IR",
            "ID",
            "ENABLE",
            "IDLE",
            "NAMESPACE",
            "UNSELECT",
            "UIDPLUS",
            "MOVE",
            "CHILDREN",
            "MULTIAPPEND",
            "SPECIAL-USE",
            "LIST-EXTENDED",
            "LIST-STATUS",
        ];
        caps.extend_from_slice(command::SEARCH_CAPABILITIES);
        if matches!(self.state, State::NotAuthenticated) {
            if self.ctx.starttls_available() {
                caps.push("STARTTLS");
            }
            if self
                .ctx
                .conn
                .tls()
                .is_some_and(|t| t.client_subject.is_some())
            {
                caps.push("AUTH=EXTERNAL");
            }
            if crate::auth::policy::plaintext_allowed(&self.ctx.cfg, self.ctx.conn.tls().is_some())
            {
                caps.push("AUTH=PLAIN");
                caps.push("AUTH=LOGIN");
            } else {
                caps.push("LOGINDISABLED");
            }
        }
        caps
    }

    fn log_logout(&self) {
        match &self.user {
            Some(u) => crate::log::event("Logout")
                .field("user", &u.account.user)
                .raw("host", self.ctx.host())
                .raw("appended", self.counts.appended)
                .raw("copied", self.counts.copied)
                .raw("expunged", self.counts.expunged)
                .raw("flags", self.counts.flag_changes)
                .info(),
            None if self.failures.failures() > 0 => crate::log::event("Logout")
                .raw("host", self.ctx.host())
                .raw("auth_failures", self.failures.failures())
                .info(),
            None => {}
        }
    }

    /// Becomes `account` (privilege drop) and enters the Authenticated
    /// state. Errors end the session.
    pub(crate) fn enter_authenticated(
        &mut self,
        account: Account,
        how: &str,
    ) -> Result<(), ImapError> {
        let keep = if nix::unistd::geteuid().is_root() {
            crate::auth::privilege::resolve_group(&self.ctx.cfg.mail_group)
                .ok()
                .flatten()
        } else {
            None
        };
        if let Err(e) = crate::auth::privilege::drop_to(&account, keep) {
            crate::log::event("Login aborted")
                .field("user", &account.user)
                .raw("host", self.ctx.host())
                .raw("error", e)
                .error();
            return Err(ImapError::Bye(
                "Internal error, cannot switch to user".into(),
            ));
        }
        let cfg = &self.ctx.cfg;
        let folders = Folders {
            inbox: crate::config::Config::expand(&cfg.inbox, &account.user, &account.home),
            root: crate::config::Config::expand(&cfg.mail_dir, &account.user, &account.home),
        };
        let mut ev = crate::log::event("Login")
            .field("user", &account.user)
            .raw("host", self.ctx.host())
            .raw("method", how);
        if let Some(t) = self.ctx.conn.tls() {
            ev = ev.raw("tls", format!("{}/{}", t.version, t.cipher));
        }
        ev.info();
        self.user = Some(User { account, folders });
        self.state = State::Authenticated;
        self.set_limits();
        Ok(())
    }

    /// `OK [CAPABILITY ...] text` after a login.
    pub(crate) fn logged_in(&self, text: &str) -> Completion {
        Completion::with(
            crate::imap::error::RespCode::Capability(self.capabilities()),
            text,
        )
    }

    /// The user's folders (only called in authenticated states).
    pub(crate) fn folders(&self) -> Result<&Folders, ImapError> {
        self.user
            .as_ref()
            .map(|u| &u.folders)
            .ok_or_else(|| ImapError::bad("Log in first"))
    }
}

#[cfg(test)]
impl Session<'_> {
    /// Tests: start logged in without a password check or privilege drop
    /// (the test process runs as root and must keep its ids).
    pub(crate) fn preset_user(&mut self, account: Account, folders: Folders) {
        self.user = Some(User { account, folders });
        self.state = State::Authenticated;
        self.set_limits();
    }
}
