//! RFC 5322 / MIME message parsing for the servers: header fields,
//! address lists, dates, the MIME part tree with byte offsets, IMAP
//! ENVELOPE and BODYSTRUCTURE values and their wire rendering, content
//! decoding and case-insensitive text search.
//!
//! Pure and I/O-free: every function takes the message bytes as the client
//! sees them (CRLF line ends; bare LF is accepted too) and knows nothing of
//! IMAP sessions or mbox files. Parsers never panic on any input and are
//! bounded in depth and part count.
//!
//! - [`header`]        — split header/body, fields, unfold, HEADER.FIELDS subsets (RFC 5322 §2.2)
//! - [`address`]       — address lists with groups (RFC 5322 §3.4, §4.4)
//! - [`date`]          — RFC 5322 dates, IMAP date-time/date, mbox ctime dates
//! - [`mime`]          — part tree, Content-* fields, RFC 2231 params, IMAP section addressing (RFC 2045/2046, RFC 3501 §6.4.5)
//! - [`envelope`]      — ENVELOPE value and rendering (RFC 3501 §7.4.2)
//! - [`bodystructure`] — BODY/BODYSTRUCTURE value and rendering (RFC 3501 §7.4.2)
//! - [`decode`]        — QP, base64, RFC 2047 encoded words, charsets
//! - [`search`]        — SEARCH BODY/TEXT/HEADER matching on decoded text
//! - [`subject`]       — base subject for SORT/THREAD (RFC 5256 §2.1)
//! - [`imapstr`]       — IMAP quoted/literal/NIL string rendering, shared with the IMAP wire writer

pub mod address;
pub mod bodystructure;
pub mod date;
pub mod decode;
pub mod envelope;
pub mod header;
pub mod imapstr;
pub mod mime;
pub mod search;
pub mod subject;
