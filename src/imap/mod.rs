//! IMAP4rev1 server (RFC 3501 and extensions). STUB.

pub mod sequence;
pub mod utf7;
pub mod wire;
