//! The session side of the read commands FETCH, SEARCH (with ESEARCH,
//! RFC 4731), SORT and THREAD (RFC 5256): resolve the sequence set, run
//! the renderers of [`super::fetch`], [`super::search`], [`super::sort`]
//! and [`super::thread`] over the selected mailbox as a
//! [`crate::imap::view::MailView`], send FETCH output in bounded chunks,
//! and turn their errors into `NO` answers.
//!
//! A message another session expunged but that is still in our view
//! (RFC 2180 §4.1) cannot be read: FETCH skips it, sends the others and
//! answers `NO [EXPUNGEISSUED]`; SEARCH does not match it.

use super::search::{self, SearchError, CHARSETS};
use super::{fetch, sort, thread};
use crate::imap::error::{Completion, ImapError, RespCode};
use crate::imap::sequence::SequenceSet;
use crate::imap::session::{Session, State};
use crate::imap::wire::{FetchAttr, SearchKey, SearchReturn, SortCriterion, Tag, ThreadAlgorithm};
use crate::store::{ErrorKind, StoreError};

/// FETCH output is sent whenever this much is buffered.
const FETCH_CHUNK: usize = 256 * 1024;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn read_error(e: StoreError) -> ImapError {
    if e.kind == ErrorKind::NotFound {
        ImapError::no_code(
            RespCode::ExpungeIssued,
            "Some messages were expunged by another session",
        )
    } else {
        ImapError::from(e)
    }
}

fn search_error(e: SearchError) -> ImapError {
    match e {
        SearchError::BadCharset => {
            ImapError::no_code(RespCode::BadCharset(&CHARSETS), "Unsupported charset")
        }
        SearchError::Store(e) => read_error(e),
    }
}

/// ```text
/// fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")
/// ```
pub(crate) fn fetch(
    s: &mut Session<'_>,
    uid: bool,
    set: SequenceSet,
    attrs: Vec<FetchAttr>,
) -> Result<Completion, ImapError> {
    s.flush()?;
    let State::Selected(sel) = &mut s.state else {
        return Err(ImapError::bad("No mailbox selected"));
    };
    let idx = sel.resolve(&set, uid)?;
    let mut plan = fetch::Fetch::new(&attrs, uid);
    let mut buf = Vec::new();
    let mut result = Ok(());
    let mut expunged = 0usize;
    for i in idx {
        match plan.message(&mut **sel, i, &mut buf) {
            Ok(()) => {}
            // Expunged by another session, still in our view: skip it.
            Err(e) if e.kind == ErrorKind::NotFound => expunged += 1,
            Err(e) => {
                result = Err(ImapError::from(e));
                break;
            }
        }
        if buf.len() >= FETCH_CHUNK {
            s.ctx.conn.send(&buf)?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        s.ctx.conn.send(&buf)?;
    }
    if expunged > 0 && result.is_ok() {
        result = Err(read_error(StoreError::new(ErrorKind::NotFound, "expunged")));
    }
    result.map(|()| {
        Completion::ok(if uid {
            "UID FETCH completed"
        } else {
            "FETCH completed"
        })
    })
}

/// ```text
/// search = "SEARCH" [SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"]
///          [SP "CHARSET" SP astring] 1*(SP search-key)
/// ```
pub(crate) fn search(
    s: &mut Session<'_>,
    tag: &Tag,
    uid: bool,
    charset: Option<String>,
    returns: Option<Vec<SearchReturn>>,
    criteria: SearchKey,
) -> Result<Completion, ImapError> {
    let State::Selected(sel) = &mut s.state else {
        return Err(ImapError::bad("No mailbox selected"));
    };
    let hits =
        search::search(&mut **sel, &criteria, charset.as_deref(), now()).map_err(search_error)?;
    let mut buf = Vec::new();
    match &returns {
        None => search::render_search(&**sel, &hits, uid, &mut buf),
        Some(r) => search::render_esearch(&**sel, tag, &hits, uid, r, &mut buf),
    }
    s.flush()?;
    s.ctx.conn.send(&buf)?;
    Ok(Completion::ok(if uid {
        "UID SEARCH completed"
    } else {
        "SEARCH completed"
    }))
}

/// ```text
/// sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria
/// ```
pub(crate) fn sort(
    s: &mut Session<'_>,
    uid: bool,
    criteria: Vec<SortCriterion>,
    charset: String,
    key: SearchKey,
) -> Result<Completion, ImapError> {
    let State::Selected(sel) = &mut s.state else {
        return Err(ImapError::bad("No mailbox selected"));
    };
    let order = sort::sort(&mut **sel, &criteria, &charset, &key, now()).map_err(search_error)?;
    let mut buf = Vec::new();
    sort::render_sort(&**sel, &order, uid, &mut buf);
    s.flush()?;
    s.ctx.conn.send(&buf)?;
    Ok(Completion::ok(if uid {
        "UID SORT completed"
    } else {
        "SORT completed"
    }))
}

/// ```text
/// thread = ["UID" SP] "THREAD" SP thread-alg SP search-charset 1*(SP search-key)
/// ```
pub(crate) fn thread(
    s: &mut Session<'_>,
    uid: bool,
    algorithm: ThreadAlgorithm,
    charset: String,
    key: SearchKey,
) -> Result<Completion, ImapError> {
    let State::Selected(sel) = &mut s.state else {
        return Err(ImapError::bad("No mailbox selected"));
    };
    let threads =
        thread::thread(&mut **sel, algorithm, &charset, &key, now()).map_err(search_error)?;
    let mut buf = Vec::new();
    thread::render_thread(&**sel, &threads, uid, &mut buf);
    s.flush()?;
    s.ctx.conn.send(&buf)?;
    Ok(Completion::ok(if uid {
        "UID THREAD completed"
    } else {
        "THREAD completed"
    }))
}
