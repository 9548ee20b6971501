//! IMAP4rev1 server (RFC 3501) with the extensions clients rely on:
//! LITERAL+, SASL-IR, ID, ENABLE, IDLE, NAMESPACE, UNSELECT, UIDPLUS, MOVE,
//! CHILDREN, MULTIAPPEND, SPECIAL-USE, and the search family from
//! `command::{search,sort,thread}`.
//!
//! [`serve`] greets (`* OK [CAPABILITY ...]`, or `* PREAUTH` when fd 0 is
//! not a socket and the process is not root: IMAP over ssh, see
//! shared/DESIGN.md) and runs the [`session`] loop. The wire format lives
//! in [`wire`]; mailbox names in [`folder`]; the selected mailbox in
//! [`selected`]; each command group in [`command`].

pub mod command;
pub(crate) mod error;
pub(crate) mod folder;
pub(crate) mod selected;
pub mod sequence;
pub(crate) mod session;
pub mod utf7;
pub mod view;
pub mod wire;

#[cfg(test)]
mod tests;

use crate::server::Context;
use session::Session;
use std::process::ExitCode;
use wire::{Code, Status};

/// Serves one IMAP connection on `ctx.conn` until LOGOUT, EOF or timeout.
pub fn serve(ctx: &mut Context) -> ExitCode {
    ctx.set_goodbye(b"* BYE Internal error, closing connection\r\n");
    let mut s = Session::new(ctx);
    if let Some(err) = s.ctx.startup_error.clone() {
        let _ = err; // already logged by server::run; the client gets no detail
        s.out.untagged(
            Status::Bye,
            Some(Code::Unavailable),
            "Service not available, configuration error",
        );
        let _ = s.flush();
        return ExitCode::FAILURE;
    }
    if !s.ctx.stdin_is_socket && !nix::unistd::geteuid().is_root() {
        match preauth(&mut s) {
            Ok(()) => {}
            Err(text) => {
                s.out.untagged(Status::Bye, None, text);
                let _ = s.flush();
                return ExitCode::FAILURE;
            }
        }
    } else {
        let caps = s.capabilities();
        let host = s.ctx.cfg.hostname.clone();
        s.out.untagged(
            Status::Ok,
            Some(Code::Capability(&caps)),
            &format!("{host} postern IMAP4rev1 ready"),
        );
    }
    if s.flush().is_err() {
        return ExitCode::SUCCESS;
    }
    s.run()
}

/// `* PREAUTH` as the invoking user (fd 0 is a pipe or tty: ssh, a tunnel).
fn preauth(s: &mut Session<'_>) -> Result<(), &'static str> {
    let uid = nix::unistd::getuid();
    let pw = match nix::unistd::User::from_uid(uid) {
        Ok(Some(pw)) => pw,
        _ => return Err("Unknown user"),
    };
    let account = crate::auth::Account {
        user: pw.name,
        uid: pw.uid.as_raw(),
        gid: pw.gid.as_raw(),
        home: pw.dir,
        virtual_user: false,
    };
    let user = account.user.clone();
    s.enter_authenticated(account, "preauth")
        .map_err(|_| "Cannot serve this user")?;
    let caps = s.capabilities();
    s.out.untagged(
        Status::Preauth,
        Some(Code::Capability(&caps)),
        &format!("Logged in as {user}"),
    );
    Ok(())
}

/// Tests: [`serve`] as an already authenticated user (`* PREAUTH`), with
/// no password check and no privilege drop.
#[cfg(test)]
pub(crate) fn serve_preauth(
    ctx: &mut Context,
    account: crate::auth::Account,
    folders: folder::Folders,
) -> ExitCode {
    let mut s = Session::new(ctx);
    let user = account.user.clone();
    s.preset_user(account, folders);
    let caps = s.capabilities();
    s.out.untagged(
        Status::Preauth,
        Some(Code::Capability(&caps)),
        &format!("Logged in as {user}"),
    );
    if s.flush().is_err() {
        return ExitCode::SUCCESS;
    }
    s.run()
}
