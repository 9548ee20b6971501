//! STORE and UID STORE (RFC 3501 §6.4.6): FLAGS, +FLAGS, -FLAGS and their
//! .SILENT forms, system flags and keywords. Changes are written back in
//! one pass; the untagged FETCH FLAGS answers come from the stored state.
//! `\Recent` cannot be stored (RFC 3501 §2.3.2) and is ignored, as are
//! unknown `\Extension` flags.

use crate::imap::error::{Completion, ImapError, RespCode};
use crate::imap::sequence::SequenceSet;
use crate::imap::session::{Session, State};
use crate::imap::wire::{Flag, StoreMode};
use crate::store::Flags;

/// Most distinct keywords one STORE/APPEND may name.
const MAX_KEYWORDS: usize = 64;

/// Wire flags as system flag bits and keyword names.
pub(crate) fn split_flags(flags: &[Flag]) -> Result<(Flags, Vec<String>), ImapError> {
    let mut f = Flags::default();
    let mut kws: Vec<String> = Vec::new();
    for flag in flags {
        match flag {
            Flag::Seen => f.insert(Flags::SEEN),
            Flag::Answered => f.insert(Flags::ANSWERED),
            Flag::Flagged => f.insert(Flags::FLAGGED),
            Flag::Deleted => f.insert(Flags::DELETED),
            Flag::Draft => f.insert(Flags::DRAFT),
            Flag::Recent | Flag::Extension(_) => {}
            Flag::Keyword(k) => {
                if !kws.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                    kws.push(k.clone());
                }
            }
        }
    }
    if kws.len() > MAX_KEYWORDS {
        return Err(ImapError::no_code(RespCode::Limit, "Too many keywords"));
    }
    Ok((f, kws))
}

/// ```text
/// store = "STORE" SP sequence-set SP store-att-flags
/// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
/// ```
pub(crate) fn store(
    s: &mut Session<'_>,
    uid: bool,
    set: SequenceSet,
    mode: StoreMode,
    silent: bool,
    flags: Vec<Flag>,
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
    let idx = sel.resolve(&set, uid)?;
    let (bits, kws) = split_flags(&flags)?;
    let mut changed = 0u64;
    // Another session may have changed these messages' flags since we
    // last looked: add and remove relative to the file, not our view.
    let on_disk = sel.flags_on_disk();
    for &i in &idx {
        let old = sel.mbox.messages()[i].flags;
        let old_kws = sel.keyword_names(i);
        let base = on_disk
            .as_ref()
            .and_then(|d| d.get(&sel.mbox.messages()[i].uid))
            .filter(|(f, k)| *f != old || *k != old_kws);
        let (mut f, mut k) = match base {
            Some((f, k)) => (*f, k.clone()),
            None => (old, old_kws.clone()),
        };
        match mode {
            StoreMode::Replace => {
                f = bits;
                k = kws.clone();
            }
            StoreMode::Add => {
                f.insert(bits);
                for w in &kws {
                    if !k.iter().any(|x| x.eq_ignore_ascii_case(w)) {
                        k.push(w.clone());
                    }
                }
            }
            StoreMode::Remove => {
                f.remove(bits);
                k.retain(|x| !kws.iter().any(|w| w.eq_ignore_ascii_case(x)));
            }
        }
        if f != old || k != old_kws {
            sel.mbox.set_flags(i, f, &k);
            changed += 1;
        } else if base.is_some_and(|(bf, bk)| f != *bf || k != *bk) {
            // Back to what we saw, but the file holds another's change.
            sel.set_flags_forced(i, f, &k);
            changed += 1;
        }
    }
    sel.mbox.write_back()?;
    if on_disk.is_none() {
        sel.note_disk();
    }
    // A new keyword is announced before the FETCH lines that show it.
    sel.announce_keywords(out);
    if !silent {
        for &i in &idx {
            sel.write_flags(out, i, uid);
        }
    }
    s.counts.flag_changes += changed;
    Ok(Completion::ok(if uid {
        "UID STORE completed"
    } else {
        "STORE completed"
    }))
}
