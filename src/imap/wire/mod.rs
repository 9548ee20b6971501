//! The IMAP wire protocol without I/O: command framing with literals
//! ([`frame`]), parsing into typed commands ([`parse`], [`command`]) and the
//! single response writer ([`response`]). RFC 3501 §4 (data formats), §7
//! (responses), §9 (formal syntax), RFC 7888 (LITERAL+) and the extension
//! grammars listed in `command.rs`. The session drives the transport.

pub mod command;
pub mod frame;
pub mod parse;
pub mod response;

pub use command::*;
pub use frame::{CommandReader, Frame, Limits};
pub use parse::{ErrorKind, ParseError};
pub use response::{Code, Response, Status};
