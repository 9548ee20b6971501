//! Who may log in, and what a failed login costs. Shared by the three
//! protocols so the rules exist once (shared/DESIGN.md, "Authentication and
//! privilege"):
//!
//! - uid 0 never logs in (UW imapd, qmail-pop3d `die_root`), nor an account
//!   whose primary group is gid 0 (Dovecot's `first_valid_gid = 1`): it
//!   would read root-group files as the user;
//! - a server not running as root cannot switch users, so it only serves the
//!   account whose uid is its own;
//! - after a failed login wait `login_delay` seconds; after
//!   `max_auth_failures` failures the protocol says goodbye and closes;
//! - plaintext mechanisms only under TLS unless `plaintext_auth = yes`.

use super::{Account, AuthError};
use std::time::Duration;

/// Applies the account rules for a process whose effective uid is
/// `process_uid`. The reason in `Refused` is for the log, not the client.
pub fn check_account(account: &Account, process_uid: u32) -> Result<(), AuthError> {
    if account.uid == 0 {
        return Err(AuthError::Refused("uid 0 may not log in".into()));
    }
    if account.gid == 0 {
        return Err(AuthError::Refused("gid 0 may not log in".into()));
    }
    if process_uid != 0 && account.uid != process_uid {
        return Err(AuthError::Refused(format!(
            "account uid {} is not the server's uid {} (not running as root)",
            account.uid, process_uid
        )));
    }
    Ok(())
}

/// Whether LOGIN, USER/PASS and AUTH PLAIN/LOGIN may be used now
/// (`plaintext_auth`): with `tls`, only once the session is under TLS (IMAP
/// then drops `LOGINDISABLED`, POP3 shows `USER`, SMTP shows `AUTH`).
pub fn plaintext_allowed(cfg: &crate::config::Config, under_tls: bool) -> bool {
    under_tls || cfg.plaintext_auth == crate::config::PlaintextAuth::Yes
}

/// Counts failed logins on one connection and slows down guessing.
///
/// ```
/// # use postern::auth::policy::FailureLimit;
/// # use std::time::Duration;
/// // In a session: FailureLimit::from_config(cfg)
/// let mut limit = FailureLimit::new(Duration::ZERO, 3);
/// // on each failed LOGIN / PASS / AUTH, before answering:
/// limit.record_failure(); // sleeps login_delay
/// if limit.too_many() { /* goodbye and close */ }
/// # assert_eq!(limit.failures(), 1);
/// ```
#[derive(Debug)]
pub struct FailureLimit {
    delay: Duration,
    max: u32,
    failures: u32,
}

impl FailureLimit {
    /// `login_delay` and `max_auth_failures` from the configuration.
    pub fn from_config(cfg: &crate::config::Config) -> FailureLimit {
        FailureLimit::new(Duration::from_secs(cfg.login_delay), cfg.max_auth_failures)
    }

    /// Explicit values (tests use a zero delay). A `max` of 0 is taken as 1:
    /// there is no setting that allows unlimited guessing.
    pub fn new(delay: Duration, max: u32) -> FailureLimit {
        FailureLimit {
            delay,
            max: max.max(1),
            failures: 0,
        }
    }

    /// Call once per failed attempt, before answering the client: sleeps
    /// the configured delay, then counts the failure.
    pub fn record_failure(&mut self) {
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        self.failures = self.failures.saturating_add(1);
    }

    /// Failures so far (for the logout log line).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// True once `max_auth_failures` attempts have failed: send the
    /// protocol's goodbye and close.
    pub fn too_many(&self) -> bool {
        self.failures >= self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn account(uid: u32, gid: u32) -> Account {
        Account {
            user: "u".into(),
            uid,
            gid,
            home: PathBuf::from("/"),
            virtual_user: false,
        }
    }

    #[test]
    fn account_rules() {
        // (account uid, account gid, process euid, allowed)
        let table = [
            (0, 0, 0, false),
            (0, 100, 0, false),
            (0, 100, 1000, false),
            (1000, 100, 0, true),
            (1000, 0, 0, false),
            (1000, 100, 1000, true),
            (1000, 0, 1000, false),
            (1001, 100, 1000, false),
            (65534, 65534, 0, true),
        ];
        for (uid, gid, euid, ok) in table {
            let got = check_account(&account(uid, gid), euid);
            assert_eq!(got.is_ok(), ok, "uid {uid} gid {gid} euid {euid}: {got:?}");
            if let Err(e) = got {
                assert!(matches!(e, AuthError::Refused(_)));
            }
        }
    }

    #[test]
    fn failure_counting() {
        let mut f = FailureLimit::new(Duration::ZERO, 3);
        assert!(!f.too_many());
        f.record_failure();
        f.record_failure();
        assert!(!f.too_many());
        assert_eq!(f.failures(), 2);
        f.record_failure();
        assert!(f.too_many());

        let mut f = FailureLimit::new(Duration::ZERO, 0);
        f.record_failure();
        assert!(f.too_many());
    }

    #[test]
    fn failure_delay_is_applied() {
        let mut f = FailureLimit::new(Duration::from_millis(20), 3);
        let t = std::time::Instant::now();
        f.record_failure();
        assert!(t.elapsed() >= Duration::from_millis(20));
    }
}
