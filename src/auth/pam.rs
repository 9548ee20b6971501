//! PAM backend (feature `pam`), following UW imapd's `ckp_pam.c`:
//! `pam_start(service, user)`, `PAM_RHOST` = peer address,
//! `pam_authenticate`, `pam_acct_mgmt`, `pam_setcred(PAM_ESTABLISH_CRED)`,
//! `pam_end`. No PAM session is opened (UW doesn't either): after the
//! permanent `setuid` it could not be closed with privileges.
//!
//! The conversation answers only the user name prompt (echo on) and the
//! password prompt (echo off); informational messages are ignored and any
//! other kind of question fails the conversation. Known limit: pam-client2
//! copies the password from our `CString` with `strdup` and drops the
//! `CString` without wiping it; Linux-PAM wipes its own copy.

use super::AuthError;
use pam_client2::{Context, ConversationHandler, ErrorCode, Flag};
use std::ffi::{CStr, CString};
use std::net::IpAddr;
use zeroize::Zeroizing;

/// Answers PAM's questions from what the client already sent.
struct Conversation {
    user: CString,
    password: Zeroizing<Vec<u8>>,
}

impl ConversationHandler for Conversation {
    fn prompt_echo_on(&mut self, _prompt: &CStr) -> Result<CString, ErrorCode> {
        Ok(self.user.clone())
    }

    fn prompt_echo_off(&mut self, _prompt: &CStr) -> Result<CString, ErrorCode> {
        // A stack of several modules may each ask once; they all get the
        // same password (as UW does). A NUL was refused before PAM started.
        CString::new(self.password.to_vec()).map_err(|_| ErrorCode::CONV_ERR)
    }

    fn text_info(&mut self, _msg: &CStr) {}

    fn error_msg(&mut self, _msg: &CStr) {}

    fn radio_prompt(&mut self, _prompt: &CStr) -> Result<bool, ErrorCode> {
        Err(ErrorCode::CONV_ERR)
    }

    fn binary_prompt(&mut self, _type: u8, _data: &[u8]) -> Result<(u8, Vec<u8>), ErrorCode> {
        Err(ErrorCode::CONV_ERR)
    }
}

/// Runs the PAM transaction for `user`. On success the caller still has to
/// find the account with `getpwnam`.
pub fn authenticate(
    service: &str,
    user: &str,
    password: &[u8],
    peer: Option<IpAddr>,
) -> Result<(), AuthError> {
    let c_user = CString::new(user).map_err(|_| AuthError::BadCredentials)?;
    if password.contains(&0) {
        // Cannot be passed through PAM's C strings; no real password has one.
        return Err(AuthError::BadCredentials);
    }
    let conv = Conversation {
        user: c_user,
        password: Zeroizing::new(password.to_vec()),
    };
    let mut ctx = Context::new(service, Some(user), conv)
        .map_err(|e| AuthError::Internal(format!("pam_start({service}): {e}")))?;
    if let Some(ip) = peer {
        ctx.set_rhost(Some(&ip.to_string()))
            .map_err(|e| AuthError::Internal(format!("pam_set_item(PAM_RHOST): {e}")))?;
    }

    ctx.authenticate(Flag::DISALLOW_NULL_AUTHTOK)
        .map_err(|e| match e.code() {
            ErrorCode::AUTH_ERR
            | ErrorCode::USER_UNKNOWN
            | ErrorCode::CRED_INSUFFICIENT
            | ErrorCode::MAXTRIES
            | ErrorCode::PERM_DENIED => AuthError::BadCredentials,
            ErrorCode::CONV_ERR => {
                AuthError::Refused(format!("PAM asked a question we cannot answer: {e}"))
            }
            _ => AuthError::Internal(format!("pam_authenticate: {e}")),
        })?;

    ctx.acct_mgmt(Flag::NONE).map_err(|e| match e.code() {
        ErrorCode::NEW_AUTHTOK_REQD => AuthError::Refused("account password expired".into()),
        ErrorCode::ACCT_EXPIRED => AuthError::Refused("account expired".into()),
        _ => AuthError::Refused(format!("account not usable: {e}")),
    })?;

    // ESTABLISH_CRED through a pseudo session; leaking it keeps pam-client2
    // from calling DELETE_CRED on drop (the credentials are for this
    // process's lifetime). pam_end runs when `ctx` drops.
    let session = ctx
        .open_pseudo_session(Flag::NONE)
        .map_err(|e| AuthError::Internal(format!("pam_setcred: {e}")))?;
    let _token = session.leak();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The PAM transaction itself is tested under pam_wrapper in
    // tests/auth_cwrap.rs; here only the conversation's answers.
    #[test]
    fn conversation_answers_only_user_and_password() {
        let mut c = Conversation {
            user: CString::new("alice").unwrap(),
            password: Zeroizing::new(b"secret".to_vec()),
        };
        let prompt = CString::new("Password: ").unwrap();
        assert_eq!(c.prompt_echo_on(&prompt).unwrap().as_bytes(), b"alice");
        assert_eq!(c.prompt_echo_off(&prompt).unwrap().as_bytes(), b"secret");
        assert_eq!(c.radio_prompt(&prompt).err(), Some(ErrorCode::CONV_ERR));
        assert_eq!(c.binary_prompt(1, b"x").err(), Some(ErrorCode::CONV_ERR));
        c.text_info(&prompt);
        c.error_msg(&prompt);
    }

    #[test]
    fn nul_in_password_is_bad_credentials_before_pam() {
        let r = authenticate("postern-test-no-such-service", "alice", b"se\0cret", None);
        assert!(matches!(r, Err(AuthError::BadCredentials)));
    }
}
