//! postern — small, auditable inetd mail servers on mbox files.
//!
//! Three blocking per-connection programs (`imapd`, `ipop3d`, `smtpd`) share
//! this library; the binaries in `src/bin/` are thin. Map of the modules:
//!
//! - [`config`]  — `postern.conf` keys, `-c`/`-o`/`-s` command line (shared/DESIGN.md)
//! - [`log`]     — syslog(3) behind the `log` facade; key=value event lines
//! - [`io`]      — fd 0/fd 1 transport, bounded line reader, timeouts, TLS (rustls)
//! - [`auth`]    — PAM and passwd-file, SASL PLAIN/LOGIN, the single privilege drop
//! - [`server`]  — what every binary does before the protocol starts
//! - [`message`] — RFC 5322 / MIME parsing: headers, addresses, part tree, decoding
//! - [`store`]   — the mbox store: scan, metadata, locking, crash-safe write-back, append
//! - [`pop3`]    — RFC 1939 server (ipop3d)
//! - [`imap`]    — RFC 3501 server with extensions (imapd)
//! - [`smtp`]    — RFC 5321 server with local mbox delivery (smtpd)

pub mod auth;
pub mod config;
pub mod imap;
pub mod io;
pub mod log;
pub mod message;
pub mod pop3;
pub mod server;
pub mod smtp;
pub mod store;
