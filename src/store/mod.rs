//! The mail store shared by the three servers. Mailboxes are mbox files
//! (see [`mbox`]: scanning, UW/Dovecot metadata, locking, crash-safe
//! write-back, append); folders live under `mail_dir`, INBOX is the spool
//! (see [`folders`]). Errors carry a kind for the client and a detail for
//! syslog ([`error`]). Indexes are 0-based; protocols map them to sequence
//! numbers.

pub mod error;
pub mod flags;
pub mod folders;
pub mod mbox;

pub use error::{ErrorKind, StoreError};
pub use flags::Flags;
pub use folders::Folders;
