//! Authentication and privilege: who the client is, and becoming that user.
//! PAM ([`pam`]) or a Dovecot-style passwd-file ([`passwd_file`]); SASL
//! PLAIN/LOGIN decoding ([`sasl`]); the single privilege drop ([`privilege`]).
//!
//! STUB INTERFACE — the auth helper fills in the bodies.

#[cfg(feature = "pam")]
pub mod pam;
pub mod passwd_file;
pub mod privilege;
pub mod sasl;

use std::path::PathBuf;

/// An authenticated (or looked-up) local account.
#[derive(Clone, Debug)]
pub struct Account {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    /// true for passwd-file accounts: `setgroups([gid])` instead of initgroups.
    pub virtual_user: bool,
}

/// Why a login failed. `Display` never contains the password.
#[derive(Debug)]
pub enum AuthError {
    /// Wrong password or unknown user (the client is told the same for both).
    BadCredentials,
    /// Account exists but may not log in now (acct_mgmt, expired, uid 0, uid mismatch).
    Refused(String),
    /// Backend failure (PAM error, unreadable passwd-file): a temporary error.
    Internal(String),
}

/// Password check against the configured source. `password` is wiped by the caller.
pub fn authenticate(
    _cfg: &crate::config::Config,
    _user: &str,
    _password: &[u8],
    _peer: Option<std::net::IpAddr>,
) -> Result<Account, AuthError> {
    todo!()
}

/// Look a user up without a password (SMTP recipients, PREAUTH).
pub fn lookup(_cfg: &crate::config::Config, _user: &str) -> Result<Option<Account>, AuthError> {
    todo!()
}
