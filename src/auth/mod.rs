//! Authentication and privilege: who the client is, and becoming that user.
//! PAM ([`pam`]) or a Dovecot-style passwd-file ([`passwd_file`]); SASL
//! PLAIN/LOGIN decoding ([`sasl`]); the single privilege drop ([`privilege`]).
//! Account rules and the failed-login counter are in [`policy`].
//!
//! Flow in a protocol session: decode credentials ([`sasl`] or the
//! protocol's own LOGIN/USER+PASS), [`authenticate`] (which also applies
//! [`policy::check_account`]), on failure [`policy::FailureLimit`], on success
//! [`privilege::drop_to`] before any user file is opened.

#[cfg(feature = "pam")]
pub mod pam;
pub mod passwd_file;
pub mod policy;
pub mod privilege;
pub mod sasl;

use crate::config::{AuthSource, Config};
use std::net::IpAddr;
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

/// Why a login failed. `Display` never contains the password; it is for
/// the log. Tell the client the same thing for `BadCredentials` and
/// `Refused` (IMAP `NO [AUTHENTICATIONFAILED]`, POP3 `-ERR [AUTH]`, SMTP
/// `535 5.7.8`): a distinct answer for `Refused` would confirm the password
/// (e.g. root's). Only [`AuthError::is_temporary`] may change the answer
/// (`NO [UNAVAILABLE]`, `-ERR [SYS/TEMP]`, `454 4.7.0`).
#[derive(Debug)]
pub enum AuthError {
    /// Wrong password or unknown user (the client is told the same for both).
    BadCredentials,
    /// Account exists but may not log in now (acct_mgmt, expired, uid 0, uid mismatch).
    Refused(String),
    /// Backend failure (PAM error, unreadable passwd-file): a temporary error.
    Internal(String),
}

impl AuthError {
    /// True for backend failures the client may retry later ([`AuthError::Internal`]).
    pub fn is_temporary(&self) -> bool {
        matches!(self, AuthError::Internal(_))
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::BadCredentials => f.write_str("bad credentials"),
            AuthError::Refused(why) => write!(f, "refused: {why}"),
            AuthError::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// Password check against the configured source, then the account rules
/// of [`policy::check_account`]. `password` is wiped by the caller; copies
/// made here are wiped too. Refusals and backend errors are logged here with
/// their reason; the protocol logs the `Login` / `Login failed` line.
pub fn authenticate(
    cfg: &Config,
    user: &str,
    password: &[u8],
    peer: Option<IpAddr>,
) -> Result<Account, AuthError> {
    Backend::from_config(cfg).authenticate(user, password, peer)
}

/// Look a user up without a password (SMTP recipients, PREAUTH), in the
/// same source as [`authenticate`]. No account rules are applied.
pub fn lookup(cfg: &Config, user: &str) -> Result<Option<Account>, AuthError> {
    Backend::from_config(cfg).lookup(user)
}

/// The two configuration values authentication depends on, so tools and
/// tests can authenticate without a whole [`Config`].
#[derive(Clone, Copy, Debug)]
pub struct Backend<'a> {
    pub source: &'a AuthSource,
    pub pam_service: &'a str,
}

impl<'a> Backend<'a> {
    pub fn from_config(cfg: &'a Config) -> Backend<'a> {
        Backend {
            source: &cfg.auth,
            pam_service: &cfg.pam_service,
        }
    }

    /// See [`authenticate`].
    pub fn authenticate(
        &self,
        user: &str,
        password: &[u8],
        peer: Option<IpAddr>,
    ) -> Result<Account, AuthError> {
        let result = self
            .check_password(user, password, peer)
            .and_then(|account| {
                policy::check_account(&account, nix::unistd::geteuid().as_raw())?;
                Ok(account)
            });
        let event = |name: &str| {
            crate::log::event(name)
                .field("user", user)
                .raw("host", crate::log::host(peer))
        };
        match &result {
            Ok(_) => {}
            Err(AuthError::BadCredentials) => {
                event("Auth failed").raw("reason", "credentials").debug()
            }
            Err(AuthError::Refused(why)) => event("Login refused").field("reason", why).warn(),
            Err(AuthError::Internal(why)) => event("Auth error").field("error", why).error(),
        }
        result
    }

    fn check_password(
        &self,
        user: &str,
        password: &[u8],
        peer: Option<IpAddr>,
    ) -> Result<Account, AuthError> {
        match self.source {
            AuthSource::Pam => self.check_pam(user, password, peer),
            AuthSource::PasswdFile(path) => match passwd_file::find(path, user)? {
                Some(entry) if entry.verify(password)? => Ok(entry.account),
                Some(_) => Err(AuthError::BadCredentials),
                None => {
                    passwd_file::burn_time(password);
                    Err(AuthError::BadCredentials)
                }
            },
        }
    }

    #[cfg(feature = "pam")]
    fn check_pam(
        &self,
        user: &str,
        password: &[u8],
        peer: Option<IpAddr>,
    ) -> Result<Account, AuthError> {
        pam::authenticate(self.pam_service, user, password, peer)?;
        match getpwnam(user)? {
            Some(account) => Ok(account),
            None => Err(AuthError::Refused(
                "PAM accepted a user getpwnam does not know".into(),
            )),
        }
    }

    #[cfg(not(feature = "pam"))]
    fn check_pam(&self, _: &str, _: &[u8], _: Option<IpAddr>) -> Result<Account, AuthError> {
        Err(AuthError::Internal(
            "built without PAM support (feature \"pam\")".into(),
        ))
    }

    /// See [`lookup`].
    pub fn lookup(&self, user: &str) -> Result<Option<Account>, AuthError> {
        match self.source {
            AuthSource::Pam => getpwnam(user),
            AuthSource::PasswdFile(path) => Ok(passwd_file::find(path, user)?.map(|e| e.account)),
        }
    }
}

/// A system account from the passwd database (NSS).
pub fn getpwnam(user: &str) -> Result<Option<Account>, AuthError> {
    if user.is_empty() || user.contains('\0') {
        return Ok(None);
    }
    match nix::unistd::User::from_name(user) {
        Ok(Some(pw)) => Ok(Some(Account {
            user: pw.name,
            uid: pw.uid.as_raw(),
            gid: pw.gid.as_raw(),
            home: pw.dir,
            virtual_user: false,
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(AuthError::Internal(format!("getpwnam: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(name: &str, text: &str) -> (std::path::PathBuf, AuthSource) {
        let dir = std::env::temp_dir().join(format!("postern-auth-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("passwd");
        std::fs::write(&path, text).unwrap();
        (dir, AuthSource::PasswdFile(path))
    }

    #[test]
    fn passwd_file_outcomes() {
        let me = nix::unistd::geteuid().as_raw();
        // When not root only our own uid may log in; as root any uid but 0.
        let uid = if me == 0 { 4242 } else { me };
        let text = format!(
            "alice:{{PLAIN}}secret:{uid}:{uid}::/tmp:\n\
             root:{{PLAIN}}secret:0:0::/root:\n\
             other:{{PLAIN}}secret:{}:1::/tmp:\n",
            uid + 1
        );
        let (dir, source) = with_file("outcomes", &text);
        let b = Backend {
            source: &source,
            pam_service: "unused",
        };
        let ok = b.authenticate("alice", b"secret", None).unwrap();
        assert_eq!((ok.uid, ok.virtual_user), (uid, true));
        assert!(matches!(
            b.authenticate("alice", b"wrong", None),
            Err(AuthError::BadCredentials)
        ));
        assert!(matches!(
            b.authenticate("nobody", b"secret", None),
            Err(AuthError::BadCredentials)
        ));
        assert!(matches!(
            b.authenticate("root", b"secret", None),
            Err(AuthError::Refused(_))
        ));
        let other = b.authenticate("other", b"secret", None);
        assert_eq!(
            matches!(other, Err(AuthError::Refused(_))),
            me != 0,
            "{other:?}"
        );
        assert_eq!(b.lookup("alice").unwrap().map(|a| a.uid), Some(uid));
        assert!(b.lookup("nobody").unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn errors_do_not_show_password() {
        let (dir, source) = with_file("display", "alice:{MD5-CRYPT}$1$x$y:1:1::/h:\n");
        let b = Backend {
            source: &source,
            pam_service: "unused",
        };
        let err = b.authenticate("alice", b"hunter2", None).unwrap_err();
        assert!(matches!(err, AuthError::Internal(_)));
        assert!(!err.to_string().contains("hunter2"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn getpwnam_finds_root() {
        assert_eq!(getpwnam("root").unwrap().map(|a| a.uid), Some(0));
        assert!(getpwnam("no-such-user-postern").unwrap().is_none());
        assert!(getpwnam("").unwrap().is_none());
    }
}
