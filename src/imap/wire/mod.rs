//! The IMAP wire protocol without I/O: command framing with literals
//! ([`frame`]), parsing into typed commands ([`parse`], [`command`]) and the
//! single response writer ([`response`]). RFC 3501 §4 (data formats), §7
//! (responses), §9 (formal syntax), RFC 7888 (LITERAL+) and the extension
//! grammars listed in `command.rs`. The session owns the transport; IDLE's
//! `DONE` and AUTHENTICATE's response lines are read by the session as plain
//! lines, not through [`CommandReader`].
//!
//! How a session drives it (the transport here is a byte slice):
//!
//! ```
//! use postern::imap::wire::{CommandKind, CommandReader, Frame, Limits, Response, Secret};
//!
//! let mut input: &[u8] = b"a1 LOGIN alice {6}\r\nsecret\r\n";
//! let mut reader = CommandReader::new(Limits { max_literal: 1 << 20, ..Limits::default() });
//! let mut out = Response::new();
//! let command = loop {
//!     let nl = input.iter().position(|&b| b == b'\n').unwrap() + 1;
//!     let (line, rest) = input.split_at(nl);
//!     input = rest;
//!     match reader.push_line(line) {
//!         Frame::Literal { size, sync } => {
//!             if sync {
//!                 out.continuation("Ready for literal");
//!             }
//!             let (lit, rest) = input.split_at(size as usize);
//!             input = rest;
//!             reader.push_literal(lit.to_vec()).unwrap();
//!         }
//!         Frame::Done(Ok(command)) => break command,
//!         Frame::Done(Err(e)) => {
//!             out.parse_error(&e); // BAD / * BAD / NO [TOOBIG], then BYE if e.fatal
//!             unreachable!();
//!         }
//!     }
//! };
//! let password = Secret::new(b"secret".to_vec());
//! assert_eq!(command.kind, CommandKind::Login { user: b"alice".to_vec(), password });
//! assert_eq!(out.as_bytes(), b"+ Ready for literal\r\n");
//! ```

pub mod command;
pub mod frame;
pub mod parse;
pub mod response;

pub use command::*;
pub use frame::{CommandReader, Frame, Limits};
pub use parse::{ErrorKind, ParseError};
pub use response::{Code, Response, Status};
