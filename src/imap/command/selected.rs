//! Selected-state commands that change the mailbox as a whole: CHECK,
//! CLOSE, UNSELECT (RFC 3691), EXPUNGE, UID EXPUNGE (RFC 4315 §2.1),
//! COPY / UID COPY with COPYUID (RFC 4315 §3), MOVE / UID MOVE (RFC 6851).

use crate::imap::command::mailbox::copy_messages;
use crate::imap::error::{Completion, ImapError, RespCode};
use crate::imap::sequence::SequenceSet;
use crate::imap::session::{Session, State};
use crate::imap::wire::{MailboxName, Status};
use crate::store::Flags;

/// ```text
/// check = "CHECK"
/// ```
pub(crate) fn check(s: &mut Session<'_>) -> Result<Completion, ImapError> {
    if let State::Selected(sel) = &mut s.state {
        sel.write_seen()?;
        if !sel.read_only {
            sel.mbox.write_back()?;
        }
    }
    Ok(Completion::ok("CHECK completed"))
}

/// ```text
/// close    = "CLOSE"      ; expunges \Deleted silently (RFC 3501 §6.4.2)
/// unselect = "UNSELECT"   ; does not (RFC 3691)
/// ```
pub(crate) fn close(s: &mut Session<'_>, expunge: bool) -> Result<Completion, ImapError> {
    let state = std::mem::replace(&mut s.state, State::Authenticated);
    let State::Selected(mut sel) = state else {
        s.state = state;
        return Err(ImapError::bad("No mailbox selected"));
    };
    sel.write_seen()?;
    if expunge && !sel.read_only {
        let idx = deleted(&sel.mbox, None);
        sel.mbox.expunge(&idx)?;
        s.counts.expunged += idx.len() as u64;
    }
    Ok(Completion::ok(if expunge {
        "CLOSE completed"
    } else {
        "UNSELECT completed"
    }))
}

/// Indexes of `\Deleted` messages, optionally only those with UIDs in `uids`.
fn deleted(
    mbox: &crate::store::mbox::Mailbox,
    uids: Option<&crate::imap::sequence::Ranges>,
) -> Vec<usize> {
    mbox.messages()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.flags.contains(Flags::DELETED) && uids.is_none_or(|r| r.contains(m.uid)))
        .map(|(i, _)| i)
        .collect()
}

/// ```text
/// expunge     = "EXPUNGE"
/// uid-expunge = "UID" SP "EXPUNGE" SP sequence-set
/// ```
pub(crate) fn expunge(
    s: &mut Session<'_>,
    set: Option<SequenceSet>,
) -> Result<Completion, ImapError> {
    let (sel, out) = match &mut s.state {
        State::Selected(sel) => (sel, &mut s.out),
        _ => return Err(ImapError::bad("No mailbox selected")),
    };
    if sel.read_only {
        return Err(ImapError::no_code(
            RespCode::ReadOnly,
            "Mailbox is read-only",
        ));
    }
    let ranges = set.map(|set| set.resolve_uid(sel.mbox.messages().last().map_or(0, |m| m.uid)));
    let idx = deleted(&sel.mbox, ranges.as_ref());
    sel.mbox.expunge(&idx)?;
    sel.announce_expunged(&idx, out);
    s.counts.expunged += idx.len() as u64;
    Ok(Completion::ok(if ranges.is_some() {
        "UID EXPUNGE completed"
    } else {
        "EXPUNGE completed"
    }))
}

/// ```text
/// copy = "COPY" SP sequence-set SP mailbox
/// move = "MOVE" SP sequence-set SP mailbox
/// ```
pub(crate) fn copy(
    s: &mut Session<'_>,
    uid: bool,
    set: SequenceSet,
    name: MailboxName,
    is_move: bool,
) -> Result<Completion, ImapError> {
    let folders = s.folders()?.clone();
    let sender = s.envelope_sender();
    let dest = folders.path(&name).map_err(ImapError::dest)?;
    if dest.is_dir() {
        return Err(ImapError::no_code(
            RespCode::Cannot,
            "Mailbox is not selectable",
        ));
    }
    if !name.is_inbox() && !folders.is_mailbox(&dest) {
        return Err(ImapError::no_code(
            RespCode::TryCreate,
            "Mailbox does not exist",
        ));
    }
    let (sel, out) = match &mut s.state {
        State::Selected(sel) => (sel, &mut s.out),
        _ => return Err(ImapError::bad("No mailbox selected")),
    };
    if is_move && sel.read_only {
        return Err(ImapError::no_code(
            RespCode::ReadOnly,
            "Mailbox is read-only",
        ));
    }
    let what = match (is_move, uid) {
        (false, false) => "COPY",
        (false, true) => "UID COPY",
        (true, false) => "MOVE",
        (true, true) => "UID MOVE",
    };
    let idx = sel.resolve(&set, uid)?;
    if idx.is_empty() {
        return Ok(Completion::ok(format!("{what} completed, no messages")));
    }
    sel.write_seen()?;
    let (uidvalidity, source, dest_uids) = copy_messages(&mut sel.mbox, &idx, &dest, &sender)?;
    s.counts.copied += idx.len() as u64;
    let code = RespCode::CopyUid {
        uidvalidity,
        source,
        dest: dest_uids,
    };
    if !is_move {
        return Ok(Completion::with(code, format!("{what} completed")));
    }
    out.untagged(Status::Ok, Some(code.as_code()), "Moved");
    sel.mbox.expunge(&idx)?;
    sel.announce_expunged(&idx, out);
    s.counts.expunged += idx.len() as u64;
    Ok(Completion::ok(format!("{what} completed")))
}
