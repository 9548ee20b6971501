//! IMAP command handlers, one file per group (Dovecot's `cmd-*.c` split):
//! [`any`] (any state), [`auth`] (Not Authenticated), [`mailbox`] and
//! [`append`] (Authenticated), [`selected`], [`store`] and [`idle`]
//! (Selected), and the read side [`fetch`], [`search`], [`sort`],
//! [`thread`] (over [`crate::imap::view::MailView`], driven from
//! [`query`]).
//!
//! [`dispatch`] is the only place a typed command meets its handler; the
//! session has already checked the state (`session::allowed`), so a
//! handler that needs the selected mailbox gets it from
//! [`selected_mut`] without a panic path.

pub(crate) mod any;
pub(crate) mod append;
pub(crate) mod auth;
pub mod fetch;
pub(crate) mod idle;
pub(crate) mod mailbox;
pub(crate) mod query;
pub mod search;
pub(crate) mod selected;
pub mod sort;
pub(crate) mod store;
pub mod thread;

use crate::imap::error::{Completion, ImapError};
use crate::imap::session::Session;
use crate::imap::wire::{CommandKind, Tag};

/// Capabilities contributed by the search family (advertised only when
/// those commands are complete).
pub(crate) const SEARCH_CAPABILITIES: &[&str] = &[
    "ESEARCH",
    "SORT",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "WITHIN",
];

/// Runs one command whose state was already checked.
pub(crate) fn dispatch(
    s: &mut Session<'_>,
    tag: &Tag,
    kind: CommandKind,
) -> Result<Completion, ImapError> {
    use CommandKind::*;
    match kind {
        Capability => any::capability(s),
        Noop => Ok(Completion::ok("NOOP completed")),
        Logout => any::logout(s),
        Id { params } => any::id(s, params),
        Enable { capabilities } => any::enable(s, capabilities),
        Namespace => any::namespace(s),
        StartTls => auth::starttls(s, tag),
        Login { user, password } => auth::login(s, tag, user, password),
        Authenticate {
            mechanism,
            initial_response,
        } => auth::authenticate(s, tag, &mechanism, initial_response),
        Select { mailbox, .. } => mailbox::select(s, mailbox, false),
        Examine { mailbox, .. } => mailbox::select(s, mailbox, true),
        Create { mailbox, .. } => mailbox::create(s, mailbox),
        Delete { mailbox } => mailbox::delete(s, mailbox),
        Rename { from, to } => mailbox::rename(s, from, to),
        Subscribe { mailbox } => mailbox::subscribe(s, mailbox, true),
        Unsubscribe { mailbox } => mailbox::subscribe(s, mailbox, false),
        List {
            reference,
            patterns,
            selection,
            returns,
        } => mailbox::list(s, reference, patterns, selection, returns),
        Lsub { reference, pattern } => mailbox::lsub(s, reference, pattern),
        Status { mailbox, items } => mailbox::status(s, mailbox, items),
        Append { mailbox, messages } => append::append(s, mailbox, messages),
        Idle => idle::idle(s),
        Check => selected::check(s),
        Close => selected::close(s, true),
        Unselect => selected::close(s, false),
        Expunge => selected::expunge(s, None),
        UidExpunge { set } => selected::expunge(s, Some(set)),
        Copy { uid, set, mailbox } => selected::copy(s, uid, set, mailbox, false),
        Move { uid, set, mailbox } => selected::copy(s, uid, set, mailbox, true),
        Store {
            uid,
            set,
            mode,
            silent,
            flags,
        } => store::store(s, uid, set, mode, silent, flags),
        Fetch { uid, set, items } => query::fetch(s, uid, set, items),
        Search {
            uid,
            charset,
            returns,
            criteria,
        } => query::search(s, tag, uid, charset, returns, criteria),
        Sort {
            uid,
            criteria,
            charset,
            search,
        } => query::sort(s, uid, criteria, charset, search),
        Thread {
            uid,
            algorithm,
            charset,
            search,
        } => query::thread(s, uid, algorithm, charset, search),
    }
}
