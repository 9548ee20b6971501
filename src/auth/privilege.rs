//! The one place where the process changes its ids (shared/DESIGN.md,
//! "Authentication and privilege"; STYLE.md "Privileges").
//!
//! Started as root: `setgid(gid)`, then `initgroups(user, gid)` for system
//! accounts or `setgroups([gid])` for passwd-file accounts (plus the
//! `mail_group` when asked, only so dot-locks can be made in the spool
//! directory), then `setuid(uid)`; the result is checked (real and effective
//! ids, and `setuid(0)` must now fail) and any mismatch is an error the
//! caller must treat as fatal. Not root: nothing is switched; the account
//! must be the process's own uid.
//!
//! Then `chdir(home)`, done as the user (skipped with [`Home::Skip`] by
//! workers that use absolute paths only, e.g. smtpd's delivery child). A missing or unreadable home is not
//! fatal for anybody — as login(1) and sshd do, we fall back to `/` with a
//! logged warning — because postern's mail paths are absolute and a virtual
//! user's home is often created on first delivery.

use super::{policy, Account, AuthError};
use nix::unistd::{self, Gid, Uid};
use std::ffi::CString;

/// Whether [`drop_to_with`] changes into the account's home afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    /// A login session: `chdir(home)`, falling back to `/` with a warning.
    Enter,
    /// A short-lived worker that only uses absolute paths (smtpd's delivery
    /// child): stay where we are, and do not warn on every delivery to a
    /// virtual user who has no home.
    Skip,
}

/// Becomes `account` (see the module doc). `keep_group` is the `mail_group`
/// gid to keep as a supplementary group, if any. On `Err` the session must
/// end: the process may be half-switched.
pub fn drop_to(account: &Account, keep_group: Option<u32>) -> Result<(), AuthError> {
    drop_to_with(account, keep_group, Home::Enter)
}

/// [`drop_to`], choosing whether to enter the home directory.
pub fn drop_to_with(account: &Account, keep_group: Option<u32>, home: Home) -> Result<(), AuthError> {
    let euid = unistd::geteuid().as_raw();
    policy::check_account(account, euid)?;
    if euid == 0 {
        switch_ids(account, keep_group)?;
        verify_ids(account)?;
    } else if unistd::getuid().as_raw() != account.uid {
        return Err(AuthError::Refused(format!(
            "real uid {} is not the account's uid {}",
            unistd::getuid(),
            account.uid
        )));
    }
    if home == Home::Enter {
        enter_home(account);
    }
    Ok(())
}

fn switch_ids(account: &Account, keep_group: Option<u32>) -> Result<(), AuthError> {
    let fail = |what: &str, e: nix::Error| AuthError::Internal(format!("{what}: {e}"));
    let gid = Gid::from_raw(account.gid);
    unistd::setgid(gid).map_err(|e| fail("setgid", e))?;
    let mut groups = if account.virtual_user {
        vec![gid]
    } else {
        let user = CString::new(account.user.as_str())
            .map_err(|_| AuthError::Internal("user name contains NUL".into()))?;
        unistd::initgroups(&user, gid).map_err(|e| fail("initgroups", e))?;
        unistd::getgroups().map_err(|e| fail("getgroups", e))?
    };
    if let Some(keep) = keep_group.map(Gid::from_raw) {
        if !groups.contains(&keep) {
            groups.push(keep);
        }
    }
    if account.virtual_user || keep_group.is_some() {
        unistd::setgroups(&groups).map_err(|e| fail("setgroups", e))?;
    }
    unistd::setuid(Uid::from_raw(account.uid)).map_err(|e| fail("setuid", e))?;
    Ok(())
}

fn verify_ids(account: &Account) -> Result<(), AuthError> {
    let ids = (
        unistd::getuid().as_raw(),
        unistd::geteuid().as_raw(),
        unistd::getgid().as_raw(),
        unistd::getegid().as_raw(),
    );
    if ids != (account.uid, account.uid, account.gid, account.gid) {
        return Err(AuthError::Internal(format!(
            "privilege drop did not take: uid/euid/gid/egid {ids:?}, wanted {}/{}",
            account.uid, account.gid
        )));
    }
    if unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(AuthError::Internal(
            "setuid(0) still succeeds after the drop".into(),
        ));
    }
    Ok(())
}

fn enter_home(account: &Account) {
    if let Err(e) = unistd::chdir(&account.home) {
        crate::log::event("Home not usable")
            .field("user", &account.user)
            .field("home", account.home.as_os_str().as_encoded_bytes())
            .field("error", e.to_string())
            .raw("using", "/")
            .warn();
        let _ = unistd::chdir("/");
    }
}

/// Resolves the `mail_group` setting: a group name or number; empty means
/// none. An unknown name is an error (a typo should not silently disable
/// dot-locking), and so is gid 0, which would hand the user root's group.
pub fn resolve_group(name: &str) -> Result<Option<u32>, AuthError> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    let gid = match name.parse::<u32>() {
        Ok(gid) => gid,
        Err(_) => match unistd::Group::from_name(name) {
            Ok(Some(g)) => g.gid.as_raw(),
            Ok(None) => {
                return Err(AuthError::Internal(format!(
                    "mail_group {name}: no such group"
                )))
            }
            Err(e) => return Err(AuthError::Internal(format!("mail_group {name}: {e}"))),
        },
    };
    if gid == 0 {
        return Err(AuthError::Internal(format!(
            "mail_group {name}: gid 0 is not allowed"
        )));
    }
    Ok(Some(gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    // drop_to itself runs only in tests/auth_cwrap.rs, under uid_wrapper in
    // a separate process: a real setuid would change the whole test harness.

    #[test]
    fn resolve_group_table() {
        assert_eq!(resolve_group("").ok(), Some(None));
        assert_eq!(resolve_group("  ").ok(), Some(None));
        assert_eq!(resolve_group("8").ok(), Some(Some(8)));
        assert!(resolve_group("root").is_err());
        // Debian's base-passwd has group mail = 8.
        assert_eq!(resolve_group("mail").ok(), Some(Some(8)));
        assert!(resolve_group("0").is_err());
        assert!(resolve_group("no-such-group-postern").is_err());
    }
}
