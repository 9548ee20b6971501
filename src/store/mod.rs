//! The mail store shared by the three servers. Mailboxes are mbox files
//! (see [`mbox`]); folders live under `mail_dir`, INBOX is the spool.
//!
//! STUB INTERFACE — the store helper fills in the bodies and may refine the
//! shapes (report changes). Indexes are 0-based; protocols map them to
//! sequence numbers.

pub mod error;
pub mod flags;
pub mod folders;
pub mod mbox;

pub use error::{ErrorKind, StoreError};
pub use flags::Flags;
