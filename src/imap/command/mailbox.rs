//! Authenticated-state mailbox commands: SELECT, EXAMINE, CREATE, DELETE,
//! RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS (RFC 3501 §6.3),
//! with CHILDREN (RFC 3348), SPECIAL-USE attributes (RFC 6154) and the
//! LIST-EXTENDED options clients send (RFC 5258: SUBSCRIBED selection,
//! SUBSCRIBED / CHILDREN / SPECIAL-USE returns). Names and paths are
//! [`crate::imap::folder`]'s business.

use crate::imap::error::{Completion, ImapError, RespCode};
use crate::imap::folder::{self, Folders};
use crate::imap::selected::Selected;
use crate::imap::session::{Session, State};
use crate::imap::wire::{Code, ListReturn, ListSelect, MailboxName, Response, Status, StatusItem};
use crate::store::mbox::{Mailbox, NewMessage, OpenOptions};
use crate::store::{ErrorKind, Flags, StoreError};

/// Leaves the Selected state without expunging (SELECT/EXAMINE, RFC 3501 §6.3.1).
fn deselect(s: &mut Session<'_>) {
    if let State::Selected(sel) = &mut s.state {
        let _ = sel.write_seen();
        s.state = State::Authenticated;
    }
}

fn not_selectable() -> ImapError {
    ImapError::no_code(RespCode::Cannot, "Mailbox is not selectable")
}

/// Creates a missing spool file, as UW does: INBOX always exists. False
/// when it is missing and the spool directory is not ours to write (the
/// MDA creates it at the first delivery): INBOX is then shown empty.
fn ensure_inbox(folders: &Folders) -> Result<bool, StoreError> {
    if std::fs::symlink_metadata(&folders.inbox).is_err() {
        let created = Mailbox::open(
            &folders.inbox,
            &OpenOptions {
                read_only: false,
                exclusive_session: false,
                create: true,
            },
        );
        match created {
            Err(e) if e.kind == crate::store::ErrorKind::Permission => return Ok(false),
            r => drop(r?),
        }
    }
    Ok(true)
}

/// ```text
/// select  = "SELECT" SP mailbox [select-params]
/// examine = "EXAMINE" SP mailbox [select-params]
/// ```
pub(crate) fn select(
    s: &mut Session<'_>,
    name: MailboxName,
    read_only: bool,
) -> Result<Completion, ImapError> {
    deselect(s);
    let folders = s.folders()?.clone();
    let path = folders.path(&name)?;
    let mut sel = if name.is_inbox() && !ensure_inbox(&folders)? {
        Selected::open_missing(path, name, read_only)?
    } else if path.is_dir() {
        return Err(not_selectable());
    } else {
        Selected::open(path, name, read_only, false)?
    };
    sel.write_flag_lists(&mut s.out);
    s.out.counted(sel.count(), "EXISTS");
    s.out.counted(sel.recent_count(), "RECENT");
    if let Some(i) = sel
        .mbox
        .messages()
        .iter()
        .position(|m| !m.flags.contains(Flags::SEEN))
    {
        let n = i as u32 + 1;
        s.out.untagged(
            Status::Ok,
            Some(Code::Unseen(n)),
            &format!("Message {n} is first unseen"),
        );
    }
    s.out.untagged(
        Status::Ok,
        Some(Code::UidValidity(sel.mbox.uid_validity())),
        "UIDs valid",
    );
    s.out.untagged(
        Status::Ok,
        Some(Code::UidNext(sel.mbox.uid_next())),
        "Predicted next UID",
    );
    let ro = sel.read_only;
    s.state = State::Selected(Box::new(sel));
    let what = if read_only { "EXAMINE" } else { "SELECT" };
    Ok(Completion::with(
        if ro {
            RespCode::ReadOnly
        } else {
            RespCode::ReadWrite
        },
        format!("{what} completed"),
    ))
}

/// ```text
/// create = "CREATE" SP mailbox    ; trailing "/" makes a \Noselect level
/// ```
pub(crate) fn create(s: &mut Session<'_>, name: MailboxName) -> Result<Completion, ImapError> {
    s.folders()?.create(&name)?;
    Ok(Completion::ok("CREATE completed"))
}

/// ```text
/// delete = "DELETE" SP mailbox
/// ```
pub(crate) fn delete(s: &mut Session<'_>, name: MailboxName) -> Result<Completion, ImapError> {
    if name.is_inbox() {
        return Err(ImapError::no_code(
            RespCode::Cannot,
            "INBOX cannot be deleted",
        ));
    }
    if let State::Selected(sel) = &s.state {
        if sel.name == name {
            return Err(ImapError::no_code(
                RespCode::InUse,
                "Mailbox is selected; close it first",
            ));
        }
    }
    if !s.folders()?.delete(&name)? {
        return Err(ImapError::no("Mailbox has inferior hierarchical names"));
    }
    Ok(Completion::ok("DELETE completed"))
}

/// ```text
/// rename = "RENAME" SP mailbox SP mailbox
/// ```
/// Renaming INBOX moves its messages into the new mailbox and leaves
/// INBOX empty (RFC 3501 §6.3.5).
pub(crate) fn rename(
    s: &mut Session<'_>,
    from: MailboxName,
    to: MailboxName,
) -> Result<Completion, ImapError> {
    if to.is_inbox() {
        return Err(ImapError::no_code(
            RespCode::AlreadyExists,
            "Mailbox already exists",
        ));
    }
    if let State::Selected(sel) = &s.state {
        if sel.name == from {
            return Err(ImapError::no_code(
                RespCode::InUse,
                "Mailbox is selected; close it first",
            ));
        }
    }
    let folders = s.folders()?.clone();
    if from.is_inbox() {
        let moved = rename_inbox(&folders, &to, &s.envelope_sender())?;
        s.counts.copied += moved as u64;
    } else {
        folders.rename(&from, &to)?;
    }
    Ok(Completion::ok("RENAME completed"))
}

fn rename_inbox(folders: &Folders, to: &MailboxName, sender: &str) -> Result<usize, ImapError> {
    let dst = folders.path(to)?;
    if std::fs::symlink_metadata(&dst).is_ok() {
        return Err(StoreError::new(ErrorKind::Exists, "rename target exists").into());
    }
    ensure_inbox(folders)?;
    folders.make_parent(&dst)?;
    let mut inbox = Mailbox::open(&folders.inbox, &OpenOptions::default())?;
    folders.create(to)?;
    let n = inbox.len();
    let all: Vec<usize> = (0..n).collect();
    copy_messages(&mut inbox, &all, &dst, sender)?;
    inbox.expunge(&all)?;
    Ok(n)
}

/// Most bytes held in memory per append batch of COPY/MOVE/RENAME INBOX.
const COPY_BATCH: usize = 32 << 20;

/// Appends messages `idx` of `src` to the mbox at `dst` in batches,
/// keeping flags (minus `\Recent`), keywords and internal dates. Returns
/// (uidvalidity, source uids, new uids).
pub(crate) fn copy_messages(
    src: &mut Mailbox,
    idx: &[usize],
    dst: &std::path::Path,
    sender: &str,
) -> Result<(u32, Vec<u32>, Vec<u32>), ImapError> {
    let mut validity = 0;
    let mut src_uids = Vec::with_capacity(idx.len());
    let mut new_uids = Vec::with_capacity(idx.len());
    let mut start = 0;
    while start < idx.len() {
        let mut bufs: Vec<(usize, Vec<u8>, Vec<String>)> = Vec::new();
        let mut bytes = 0;
        while start < idx.len() && (bufs.is_empty() || bytes < COPY_BATCH) {
            let i = idx[start];
            let mut data = Vec::new();
            src.read_message(i, &mut data)?;
            bytes += data.len();
            let kws: Vec<String> = {
                let all = src.keywords();
                src.messages()[i]
                    .keywords
                    .iter()
                    .filter_map(|&k| all.get(k as usize).cloned())
                    .collect()
            };
            bufs.push((i, data, kws));
            start += 1;
        }
        let msgs: Vec<NewMessage<'_>> = bufs
            .iter()
            .map(|(i, data, kws)| {
                let m = &src.messages()[*i];
                NewMessage {
                    data,
                    from: sender,
                    date: m.internal_date,
                    flags: m.flags,
                    keywords: kws,
                }
            })
            .collect();
        let (v, uids) = crate::store::mbox::append(dst, &msgs).map_err(ImapError::dest)?;
        validity = v;
        src_uids.extend(bufs.iter().map(|(i, _, _)| src.messages()[*i].uid));
        new_uids.extend(uids);
    }
    Ok((validity, src_uids, new_uids))
}

/// ```text
/// subscribe   = "SUBSCRIBE" SP mailbox
/// unsubscribe = "UNSUBSCRIBE" SP mailbox
/// ```
pub(crate) fn subscribe(
    s: &mut Session<'_>,
    name: MailboxName,
    on: bool,
) -> Result<Completion, ImapError> {
    let folders = s.folders()?;
    folders.path(&name)?;
    folders.set_subscribed(&name, on)?;
    Ok(Completion::ok(if on {
        "SUBSCRIBE completed"
    } else {
        "UNSUBSCRIBE completed"
    }))
}

/// Reference and pattern joined as RFC 3501 §6.3.8 describes.
fn full_pattern(reference: &[u8], pattern: &[u8]) -> Vec<u8> {
    let mut p = reference.to_vec();
    if !p.is_empty() && !p.ends_with(b"/") && !pattern.starts_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(pattern);
    p
}

/// One `* LIST` line, with RFC 5258 `CHILDINFO` extended data when asked.
fn write_list(out: &mut Response, attrs: &[&str], name: &[u8], childinfo: bool) {
    out.begin().atom("LIST").open();
    for a in attrs {
        out.atom(a);
    }
    out.close().string(b"/").astring(name);
    if childinfo {
        out.open()
            .string(b"CHILDINFO")
            .open()
            .string(b"SUBSCRIBED")
            .close()
            .close();
    }
    out.end();
}

/// ```text
/// list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
/// list-select-opts = "(" [list-select-option *(SP list-select-option)] ")"
/// list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
/// ```
/// RFC 5258 selection SUBSCRIBED / REMOTE (no remote mailboxes here) /
/// RECURSIVEMATCH, RFC 6154 SPECIAL-USE; returns SUBSCRIBED, CHILDREN
/// (always given, RFC 3348), SPECIAL-USE (always given), STATUS (RFC 5819).
pub(crate) fn list(
    s: &mut Session<'_>,
    reference: Vec<u8>,
    patterns: Vec<Vec<u8>>,
    selection: Vec<ListSelect>,
    returns: Vec<ListReturn>,
) -> Result<Completion, ImapError> {
    let folders = s.folders()?.clone();
    let only_subscribed = selection.contains(&ListSelect::Subscribed);
    let only_special = selection.contains(&ListSelect::SpecialUse);
    let recursive = selection.contains(&ListSelect::RecursiveMatch);
    if recursive && !only_subscribed && !only_special {
        return Err(ImapError::bad(
            "RECURSIVEMATCH needs another selection option",
        ));
    }
    if patterns.len() == 1 && patterns[0].is_empty() {
        write_list(&mut s.out, &["\\Noselect"], b"", false);
        return Ok(Completion::ok("LIST completed"));
    }
    let status_items: Option<Vec<StatusItem>> = returns.iter().find_map(|r| match r {
        ListReturn::Status(items) => Some(items.clone()),
        _ => None,
    });
    let want_subscribed = only_subscribed || returns.contains(&ListReturn::Subscribed);
    let subs = if want_subscribed {
        folders.subscriptions()
    } else {
        Vec::new()
    };
    let pats: Vec<Vec<u8>> = patterns
        .iter()
        .map(|p| full_pattern(&reference, p))
        .collect();
    let matching = |name: &[u8]| pats.iter().any(|p| folder::matches(p, name));
    // CHILDINFO tells of subscribed descendants the reply does not list
    // itself: one the patterns match is listed in its own right (RFC 5258
    // §3.5 examples; Dovecot agrees).
    let subscribed_below = |name: &[u8]| {
        subs.iter().any(|x| {
            x.len() > name.len() + 1 && x.starts_with(name) && x[name.len()] == b'/' && !matching(x)
        })
    };
    let mut seen: Vec<Vec<u8>> = Vec::new();
    for e in folders.list_all() {
        let wire = folder::encode(&e.name);
        if !matching(&wire) {
            continue;
        }
        let subscribed = subs.contains(&wire);
        let special = if e.name.contains('/') {
            None
        } else {
            folder::special_use(&e.name)
        };
        let childinfo = recursive && only_subscribed && subscribed_below(&wire);
        if (only_subscribed && !subscribed && !childinfo) || (only_special && special.is_none()) {
            continue;
        }
        // An mbox file cannot hold folders (CREATE below it is refused):
        // \NoInferiors, which implies \HasNoChildren (RFC 5258 §4).
        let attrs_base: &[&str] = match (e.noselect, e.has_children) {
            (false, _) => &["\\NoInferiors"],
            (true, true) => &["\\Noselect", "\\HasChildren"],
            (true, false) => &["\\Noselect", "\\HasNoChildren"],
        };
        let mut attrs: Vec<&str> = attrs_base.to_vec();
        attrs.extend(special);
        if subscribed {
            attrs.push("\\Subscribed");
        }
        write_list(&mut s.out, &attrs, &wire, childinfo);
        if let (Some(items), false) = (&status_items, e.noselect) {
            // RFC 5819: STATUS follows its LIST line; a mailbox that cannot
            // be opened just gets none.
            let name = MailboxName::new(wire.clone());
            if let Ok(n) = folders
                .path_of(&e.name)
                .map_err(ImapError::from)
                .and_then(|p| status_numbers(s, &name, &p))
            {
                write_status(&mut s.out, &wire, items, n);
            }
        }
        seen.push(wire);
    }
    if only_subscribed {
        for sub in &subs {
            if !seen.contains(sub) && matching(sub) {
                write_list(&mut s.out, &["\\NonExistent", "\\Subscribed"], sub, false);
            }
        }
    }
    Ok(Completion::ok("LIST completed"))
}

/// ```text
/// lsub = "LSUB" SP mailbox SP list-mailbox
/// ```
/// A level above a subscribed name that `%` stops at is listed
/// `\Noselect` when it is not subscribed itself (RFC 3501 §6.3.9).
pub(crate) fn lsub(
    s: &mut Session<'_>,
    reference: Vec<u8>,
    pattern: Vec<u8>,
) -> Result<Completion, ImapError> {
    let folders = s.folders()?.clone();
    let pat = full_pattern(&reference, &pattern);
    let subs = folders.subscriptions();
    let mut shown: Vec<Vec<u8>> = Vec::new();
    for sub in &subs {
        if folder::matches(&pat, sub) {
            let name = MailboxName::new(sub.clone());
            let noselect = folders.path(&name).map(|p| p.is_dir()).unwrap_or(false);
            let attrs: &[&str] = if noselect { &["\\Noselect"] } else { &[] };
            s.out.list("LSUB", attrs, Some(b'/'), &name.0);
            shown.push(sub.clone());
            continue;
        }
        for (i, _) in sub.iter().enumerate().filter(|(_, &b)| b == b'/') {
            let parent = &sub[..i];
            if folder::matches(&pat, parent)
                && !subs.iter().any(|x| x == parent)
                && !shown.iter().any(|x| x == parent)
            {
                s.out.list("LSUB", &["\\Noselect"], Some(b'/'), parent);
                shown.push(parent.to_vec());
            }
        }
    }
    Ok(Completion::ok("LSUB completed"))
}

/// MESSAGES, RECENT, UIDNEXT, UIDVALIDITY, UNSEEN of one mailbox.
type StatusNumbers = (u32, u32, u32, u32, u32);

fn status_numbers(
    s: &Session<'_>,
    name: &MailboxName,
    path: &std::path::Path,
) -> Result<StatusNumbers, ImapError> {
    let unseen = |msgs: &[crate::store::mbox::Message]| {
        msgs.iter()
            .filter(|m| !m.flags.contains(Flags::SEEN))
            .count() as u32
    };
    if let State::Selected(sel) = &s.state {
        if sel.path == path {
            let m = sel.mbox.messages();
            return Ok((
                sel.count(),
                sel.recent_count(),
                sel.mbox.uid_next(),
                sel.mbox.uid_validity(),
                unseen(m),
            ));
        }
    }
    if name.is_inbox() {
        if !ensure_inbox(s.folders()?)? {
            return Ok((0, 0, 1, 1, 0));
        }
    } else if path.is_dir() {
        return Err(not_selectable());
    }
    let mb = Mailbox::open(
        path,
        &OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        },
    )?;
    let msgs = mb.messages();
    Ok((
        msgs.len() as u32,
        msgs.iter().filter(|m| m.recent).count() as u32,
        mb.uid_next(),
        mb.uid_validity(),
        unseen(msgs),
    ))
}

fn write_status(out: &mut Response, name: &[u8], items: &[StatusItem], n: StatusNumbers) {
    out.begin().atom("STATUS").astring(name).open();
    for it in items {
        let (word, v) = match it {
            StatusItem::Messages => ("MESSAGES", n.0),
            StatusItem::Recent => ("RECENT", n.1),
            StatusItem::UidNext => ("UIDNEXT", n.2),
            StatusItem::UidValidity => ("UIDVALIDITY", n.3),
            StatusItem::Unseen => ("UNSEEN", n.4),
        };
        out.atom(word).number(v);
    }
    out.close().end();
}

/// ```text
/// status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
/// ```
pub(crate) fn status(
    s: &mut Session<'_>,
    name: MailboxName,
    items: Vec<StatusItem>,
) -> Result<Completion, ImapError> {
    let path = s.folders()?.path(&name)?;
    let numbers = status_numbers(s, &name, &path)?;
    write_status(&mut s.out, &name.0, &items, numbers);
    Ok(Completion::ok("STATUS completed"))
}
