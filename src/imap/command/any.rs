//! Commands valid in any state, and the small informational ones:
//! CAPABILITY, LOGOUT (RFC 3501 §6.1), ID (RFC 2971), ENABLE (RFC 5161),
//! NAMESPACE (RFC 2342). NOOP is answered by `dispatch` directly; its
//! real work, reporting mailbox changes, is the session's after every
//! command.

use crate::imap::error::{Completion, ImapError};
use crate::imap::session::{Session, State};
use crate::imap::wire::{IdParams, Status};

/// ```text
/// capability = "CAPABILITY"   ; * CAPABILITY IMAP4rev1 ...
/// ```
pub(crate) fn capability(s: &mut Session<'_>) -> Result<Completion, ImapError> {
    let caps = s.capabilities();
    s.out.capability(&caps);
    Ok(Completion::ok("CAPABILITY completed"))
}

/// ```text
/// logout = "LOGOUT"           ; * BYE, then tagged OK, then close
/// ```
pub(crate) fn logout(s: &mut Session<'_>) -> Result<Completion, ImapError> {
    if let State::Selected(sel) = &mut s.state {
        sel.write_seen()?;
    }
    s.out.untagged(Status::Bye, None, "Logging out");
    s.state = State::Logout;
    Ok(Completion::ok("LOGOUT completed"))
}

/// ```text
/// id = "ID" SP ( "(" string SP nstring *( SP string SP nstring ) ")" / nil )
/// ```
/// The client's values go to the debug log only (sanitised).
pub(crate) fn id(s: &mut Session<'_>, params: Option<IdParams>) -> Result<Completion, ImapError> {
    if let Some(p) = &params {
        let mut ev = crate::log::event("ID").raw("host", s.ctx.host());
        for (k, v) in p.iter().take(8) {
            let key: String = String::from_utf8_lossy(k)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(20)
                .collect();
            if !key.is_empty() {
                ev = ev.field(&key, v.as_deref().unwrap_or(b"NIL"));
            }
        }
        ev.debug();
    }
    s.out
        .begin()
        .atom("ID")
        .open()
        .string(b"name")
        .string(b"postern")
        .string(b"version");
    s.out
        .string(env!("CARGO_PKG_VERSION").as_bytes())
        .close()
        .end();
    Ok(Completion::ok("ID completed"))
}

/// ```text
/// enable = "ENABLE" 1*(SP capability)   ; * ENABLED [capability...]
/// ```
/// No capability we offer needs enabling, so none is ever enabled.
pub(crate) fn enable(s: &mut Session<'_>, _caps: Vec<String>) -> Result<Completion, ImapError> {
    s.out.begin().atom("ENABLED").end();
    Ok(Completion::ok("ENABLE completed"))
}

/// ```text
/// namespace = "NAMESPACE"   ; * NAMESPACE (("" "/")) NIL NIL
/// ```
pub(crate) fn namespace(s: &mut Session<'_>) -> Result<Completion, ImapError> {
    s.out
        .begin()
        .atom("NAMESPACE")
        .open()
        .open()
        .string(b"")
        .string(b"/")
        .close()
        .close()
        .nil()
        .nil()
        .end();
    Ok(Completion::ok("NAMESPACE completed"))
}
