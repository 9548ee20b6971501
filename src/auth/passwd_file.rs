//! Dovecot-style passwd-file backend (`auth = passwd-file:PATH`).
//!
//! ```text
//! line = user ":" "{" SCHEME "}" secret ":" uid ":" gid ":" gecos ":" home [":" shell [":" extra]]
//! ```
//! `#` starts a comment line; blank lines are ignored. Schemes are the ones
//! `doveadm pw` makes: `{PLAIN}` (also `{CLEAR}`, `{CLEARTEXT}`),
//! `{SHA512-CRYPT}`, `{SHA256-CRYPT}`, `{BLF-CRYPT}`, `{ARGON2ID}`/`{ARGON2I}`,
//! and `{CRYPT}` or no scheme for a bare `$6$`/`$5$`/`$2y$`/`$argon2…$` hash.
//! A secret of `*` or starting with `!` is a locked account. Accounts from
//! this file are "virtual": they get `setgroups([gid])`, not `initgroups`.
//!
//! Not handled: Dovecot's extra fields (`userdb_*`), `%` variables in home,
//! weak legacy schemes (MD5-CRYPT, SHA1, …) — those lines fail with a logged
//! reason.

use super::{Account, AuthError};
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// One account line, with the scheme-tagged secret kept in a wiped buffer.
pub struct Entry {
    pub account: Account,
    secret: Zeroizing<String>,
}

impl Entry {
    /// Checks `password` against this entry's secret.
    pub fn verify(&self, password: &[u8]) -> Result<bool, AuthError> {
        verify(&self.secret, password).map_err(|why| {
            AuthError::Internal(format!(
                "passwd-file entry for {}: {why}",
                self.account.user
            ))
        })
    }
}

/// Finds `user` in the file at `path`. Lines of other users that do not
/// parse are skipped, so one bad line does not lock everybody out.
pub fn find(path: &Path, user: &str) -> Result<Option<Entry>, AuthError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| AuthError::Internal(format!("passwd-file {}: {e}", path.display())))?,
    );
    for (n, line) in text.lines().enumerate() {
        let name = line.split(':').next().unwrap_or("");
        if line.starts_with('#') || name != user {
            continue;
        }
        return parse_line(line).map(Some).map_err(|why| {
            AuthError::Internal(format!(
                "passwd-file {} line {}: {why}",
                path.display(),
                n + 1
            ))
        });
    }
    Ok(None)
}

/// Parses one non-comment line into an [`Entry`].
pub fn parse_line(line: &str) -> Result<Entry, &'static str> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() < 6 {
        return Err("expected user:{SCHEME}secret:uid:gid:gecos:home");
    }
    if f[0].is_empty() {
        return Err("empty user name");
    }
    let uid = f[2].parse::<u32>().map_err(|_| "bad uid")?;
    let gid = f[3].parse::<u32>().map_err(|_| "bad gid")?;
    if !f[5].starts_with('/') {
        return Err("home must be an absolute path");
    }
    Ok(Entry {
        account: Account {
            user: f[0].to_owned(),
            uid,
            gid,
            home: PathBuf::from(f[5]),
            virtual_user: true,
        },
        secret: Zeroizing::new(f[1].to_owned()),
    })
}

/// A real SHA512-CRYPT hash (default rounds) checked for unknown users so the
/// reply takes about as long as for a known one.
const DUMMY_HASH: &str = "{SHA512-CRYPT}$6$UwMhqjGG7RUDWtXa$amPirI/4FGIVd51AJAgE9vDf4.bRPSExVYK5hv4wwF7qdsHhkza9ZJQsOHhpcXrErUcbSudjcjlLig9JUMhjo1";

/// Spends the time of one SHA512-CRYPT verification (unknown-user path).
pub fn burn_time(password: &[u8]) {
    let _ = verify(DUMMY_HASH, password);
}

/// Verifies `password` against a `{SCHEME}secret` string. `Err` means the
/// secret itself is unusable (unknown scheme, malformed hash).
pub fn verify(secret: &str, password: &[u8]) -> Result<bool, &'static str> {
    let (scheme, value) = split_scheme(secret);
    let scheme = scheme.map(|s| s.to_ascii_uppercase());
    if value == "*" || value.starts_with('!') {
        return Ok(false); // locked
    }
    match scheme.as_deref() {
        Some("PLAIN" | "CLEAR" | "CLEARTEXT") => Ok(bool::from(value.as_bytes().ct_eq(password))),
        Some("SHA512-CRYPT") => verify_sha_crypt(value, password, "6"),
        Some("SHA256-CRYPT") => verify_sha_crypt(value, password, "5"),
        Some("BLF-CRYPT") => verify_bcrypt(value, password),
        Some("ARGON2ID" | "ARGON2I") => verify_argon2(value, password),
        Some("CRYPT") | None => verify_crypt(value, password),
        Some(_) => Err("unsupported password scheme"),
    }
}

/// Picks the algorithm from a crypt(3)-style `$id$` prefix.
fn verify_crypt(value: &str, password: &[u8]) -> Result<bool, &'static str> {
    if value.starts_with("$6$") {
        verify_sha_crypt(value, password, "6")
    } else if value.starts_with("$5$") {
        verify_sha_crypt(value, password, "5")
    } else if value.starts_with("$2") {
        verify_bcrypt(value, password)
    } else if value.starts_with("$argon2") {
        verify_argon2(value, password)
    } else {
        Err("unsupported password scheme")
    }
}

fn split_scheme(secret: &str) -> (Option<&str>, &str) {
    if let Some(rest) = secret.strip_prefix('{') {
        if let Some(end) = rest.find('}') {
            return (Some(&rest[..end]), &rest[end + 1..]);
        }
    }
    (None, secret)
}

/// `$6$[rounds=N$]salt$hash` (Drepper's SHA-crypt). sha-crypt's own
/// `*_check` only takes `&str` passwords, so the hash is recomputed over the
/// raw bytes and compared in constant time here.
fn verify_sha_crypt(value: &str, password: &[u8], id: &str) -> Result<bool, &'static str> {
    let mut parts = value.split('$');
    if parts.next() != Some("") || parts.next() != Some(id) {
        return Err("malformed SHA-crypt hash");
    }
    let mut field = parts.next().ok_or("malformed SHA-crypt hash")?;
    let mut rounds = 5000usize;
    if let Some(r) = field.strip_prefix("rounds=") {
        rounds = r.parse().map_err(|_| "malformed SHA-crypt rounds")?;
        // glibc clamps out-of-range rounds rather than failing.
        rounds = rounds.clamp(1000, 999_999_999);
        field = parts.next().ok_or("malformed SHA-crypt hash")?;
    }
    let salt = field;
    let hash = parts.next().ok_or("malformed SHA-crypt hash")?;
    if parts.next().is_some() {
        return Err("malformed SHA-crypt hash");
    }
    let computed = Zeroizing::new(if id == "6" {
        let params = sha_crypt::Sha512Params::new(rounds).map_err(|_| "bad SHA-crypt rounds")?;
        sha_crypt::sha512_crypt_b64(password, salt.as_bytes(), &params)
            .map_err(|_| "SHA-crypt failed")?
    } else {
        let params = sha_crypt::Sha256Params::new(rounds).map_err(|_| "bad SHA-crypt rounds")?;
        sha_crypt::sha256_crypt_b64(password, salt.as_bytes(), &params)
            .map_err(|_| "SHA-crypt failed")?
    });
    Ok(bool::from(computed.as_bytes().ct_eq(hash.as_bytes())))
}

fn verify_bcrypt(value: &str, password: &[u8]) -> Result<bool, &'static str> {
    // bcrypt ignores bytes past 72 and cannot take NUL; refuse NUL rather
    // than silently checking a prefix.
    if password.contains(&0) {
        return Ok(false);
    }
    bcrypt::verify(password, value).map_err(|_| "malformed BLF-CRYPT hash")
}

fn verify_argon2(value: &str, password: &[u8]) -> Result<bool, &'static str> {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let hash = PasswordHash::new(value).map_err(|_| "malformed ARGON2 hash")?;
    if hash.hash.is_none() || hash.salt.is_none() {
        return Err("malformed ARGON2 hash");
    }
    match argon2::Argon2::default().verify_password(password, &hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(_) => Err("unusable ARGON2 hash"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `doveadm pw -s SCHEME -p secret` (Dovecot 2.3, this machine).
    const SECRET_HASHES: &[&str] = &[
        "{PLAIN}secret",
        "{SHA512-CRYPT}$6$UwMhqjGG7RUDWtXa$amPirI/4FGIVd51AJAgE9vDf4.bRPSExVYK5hv4wwF7qdsHhkza9ZJQsOHhpcXrErUcbSudjcjlLig9JUMhjo1",
        "{SHA512-CRYPT}$6$rounds=10000$97T9uFGlBDoNA83z$Lob71NeRo/NXID.16G.vmV6hoeZEAuGu56KTHMCyud0ylWx0eZZJheAqM3rNKEewWTkRnQL0ynZPOVE7fPnl60",
        "{SHA256-CRYPT}$5$Ja/foLWn9MGiSrnF$tJI9fXDq6lQDazDXpgv0nlFpc9nPtH9S6rSbw5R/R01",
        "{BLF-CRYPT}$2y$05$MhA1TqaFVeHrVsW86NIEwue4CakrbfOh2TY0T0Sxqgx19cpI9TOPW",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$+w1P+E3aIZPAnE8lRxNifg$cRRsGETtsaZL3sNI0ZlAqs4K+SHkOZ9T0rEyzXeFW/M",
        "{CRYPT}$5$Ja/foLWn9MGiSrnF$tJI9fXDq6lQDazDXpgv0nlFpc9nPtH9S6rSbw5R/R01",
        "$2y$05$MhA1TqaFVeHrVsW86NIEwue4CakrbfOh2TY0T0Sxqgx19cpI9TOPW",
        "{plain}secret",
    ];

    #[test]
    fn doveadm_hashes_verify() {
        for h in SECRET_HASHES {
            assert_eq!(verify(h, b"secret"), Ok(true), "{h}");
            for wrong in [&b"Secret"[..], b"secret ", b"", b"secre", b"secret\0"] {
                assert_eq!(verify(h, wrong), Ok(false), "{h} {wrong:?}");
            }
        }
    }

    #[test]
    fn non_ascii_password() {
        // doveadm pw -s SHA512-CRYPT / SHA256-CRYPT -p 'pässwörd with spaces'
        let pw = "pässwörd with spaces".as_bytes();
        for h in [
            "{SHA512-CRYPT}$6$eRmnE.3AqA1z2tjJ$vhO5ZzRwSpIOn0GyXf6m085Lu.8I0d8dA5zjE9XOII6hTb0ap2UcgIDWmdTGZXdNaWZded2jrtOKSTXWHZXxM.",
            "{SHA256-CRYPT}$5$G5x4jv/flAbIOFkc$RYj4FKWbR78ok15Z9AMMk.1ViaCJZfJIiKpR1x/n56B",
        ] {
            assert_eq!(verify(h, pw), Ok(true));
            assert_eq!(verify(h, b"passwoerd with spaces"), Ok(false));
        }
    }

    #[test]
    fn unusable_secrets() {
        let table: &[(&str, Result<bool, ()>)] = &[
            ("{PLAIN}!secret", Ok(false)),
            ("*", Ok(false)),
            ("{SHA512-CRYPT}!$6$abc$def", Ok(false)),
            ("{MD5-CRYPT}$1$abc$def", Err(())),
            ("{SHA512-CRYPT}$5$abc$def", Err(())),
            ("{SHA512-CRYPT}$6$rounds=x$abc$def", Err(())),
            ("{SHA512-CRYPT}$6$abc", Err(())),
            ("{SHA512-CRYPT}$6$abc$def$ghi", Err(())),
            ("{BLF-CRYPT}$2y$xx$abc", Err(())),
            ("{ARGON2ID}$argon2id$v=19$nonsense", Err(())),
            ("plaintext-without-scheme", Err(())),
        ];
        for (secret, want) in table {
            assert_eq!(verify(secret, b"secret").map_err(|_| ()), *want, "{secret}");
        }
    }

    #[test]
    fn parse_lines() {
        let e = parse_line("alice:{PLAIN}secret:1001:1002:Alice A:/home/alice:/bin/sh").unwrap();
        assert_eq!(e.account.user, "alice");
        assert_eq!((e.account.uid, e.account.gid), (1001, 1002));
        assert_eq!(e.account.home, PathBuf::from("/home/alice"));
        assert!(e.account.virtual_user);
        assert_eq!(e.verify(b"secret").ok(), Some(true));
        // Shell may be absent.
        assert!(parse_line("bob:{PLAIN}x:1:1::/h").is_ok());
        for bad in [
            "alice:{PLAIN}secret",
            "alice:{PLAIN}secret:x:1::/h:",
            "alice:{PLAIN}secret:1:-1::/h:",
            "alice:{PLAIN}secret:1:1::relative:",
            ":{PLAIN}secret:1:1::/h:",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn find_in_file() {
        let dir = std::env::temp_dir().join(format!("postern-pwfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("passwd");
        std::fs::write(
            &path,
            "# comment\n\
             \n\
             broken line\n\
             alice:{PLAIN}secret:1001:1001::/home/alice:\n\
             #carol:{PLAIN}x:1:1::/h:\n\
             bob:{PLAIN}x:notanumber:1::/h:\n",
        )
        .unwrap();
        assert_eq!(
            find(&path, "alice").unwrap().map(|e| e.account.uid),
            Some(1001)
        );
        assert!(find(&path, "nobody").unwrap().is_none());
        assert!(find(&path, "carol").unwrap().is_none());
        assert!(find(&path, "al").unwrap().is_none());
        assert!(matches!(find(&path, "bob"), Err(AuthError::Internal(_))));
        assert!(matches!(
            find(&dir.join("missing"), "alice"),
            Err(AuthError::Internal(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
