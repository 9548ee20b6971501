//! IMAP4rev1 server (RFC 3501 and extensions). STUB.

pub mod sequence;
pub mod utf7;
pub mod view;
pub mod wire;

// TEMPORARY (imapfetch branch only): the "imap" helper owns
// src/imap/command/mod.rs; the lead reconciles this block with it by adding
// `pub mod fetch; pub mod search; pub mod sort; pub mod thread;` there.
pub mod command {
    pub mod fetch;
    pub mod search;
    pub mod sort;
    pub mod thread;
}
