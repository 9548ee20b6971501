//! auth_probe — runs postern's real login path (authenticate, then
//! `privilege::drop_to`) for one user and prints the resulting ids, so tests
//! can check it in a separate process under the cwrap stack
//! (tests/auth_cwrap.rs; recipe in shared/NOTES.md).
//!
//! ```text
//! auth_probe [--service NAME] [--passwd-file PATH] [--keep-group GROUP]
//!            [--peer IP] [--start-as UID:GID] [--skip-home] USER   (password on stdin, one line)
//! ok user=alice uid=1000 euid=1000 gid=1000 egid=1000 groups=8,1000 cwd=/home/alice
//! err kind=BadCredentials|Refused|Internal
//! ```
//! `--start-as` pretends the server was started by that user (only under
//! uid_wrapper, `UID_WRAPPER=1`), to exercise the not-root path. The
//! password is never printed; log lines go to stderr so tests can check
//! that they carry the reason and never the password.

use nix::unistd;
use postern::auth::{self, privilege, AuthError};
use postern::config::AuthSource;
use std::io::Read;
use std::process::ExitCode;
use zeroize::Zeroizing;

/// Writes every log record to stderr (the probe is not an inetd server).
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        eprintln!("{} {}", record.level(), record.args());
    }
    fn flush(&self) {}
}

fn main() -> ExitCode {
    if log::set_logger(&StderrLog).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let kind = match e {
                AuthError::BadCredentials => "BadCredentials",
                AuthError::Refused(_) => "Refused",
                AuthError::Internal(_) => "Internal",
            };
            println!("err kind={kind} detail={e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, AuthError> {
    let usage = |what: &str| AuthError::Internal(format!("usage: {what}"));
    let mut service = "imap".to_string();
    let mut source = AuthSource::Pam;
    let mut keep_group = String::new();
    let mut peer = None;
    let mut start_as = None;
    let mut user = None;
    let mut home = privilege::Home::Enter;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| usage(&arg));
        match arg.as_str() {
            "--service" => service = value()?,
            "--passwd-file" => source = AuthSource::PasswdFile(value()?.into()),
            "--keep-group" => keep_group = value()?,
            "--peer" => peer = Some(value()?.parse().map_err(|_| usage("--peer IP"))?),
            "--start-as" => start_as = Some(value()?),
            "--skip-home" => home = privilege::Home::Skip,
            _ if user.is_none() && !arg.starts_with('-') => user = Some(arg),
            _ => return Err(usage(&arg)),
        }
    }
    let user = user.ok_or_else(|| usage("USER"))?;
    if let Some(ids) = start_as {
        start_as_user(&ids)?;
    }

    let mut input = Zeroizing::new(Vec::new());
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| AuthError::Internal(format!("stdin: {e}")))?;
    let len = input
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(input.len());
    let password = &input[..len];

    let backend = auth::Backend {
        source: &source,
        pam_service: &service,
    };
    let account = backend.authenticate(&user, password, peer)?;
    let keep = privilege::resolve_group(&keep_group)?;
    privilege::drop_to_with(&account, keep, home)?;

    let mut groups: Vec<u32> = unistd::getgroups()
        .map_err(|e| AuthError::Internal(format!("getgroups: {e}")))?
        .into_iter()
        .map(|g| g.as_raw())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Ok(format!(
        "ok user={} uid={} euid={} gid={} egid={} groups={} cwd={}",
        account.user,
        unistd::getuid(),
        unistd::geteuid(),
        unistd::getgid(),
        unistd::getegid(),
        groups.join(","),
        cwd
    ))
}

/// Test-only: become UID:GID before authenticating. Refused outside
/// uid_wrapper so the probe can never be used to change real ids this way.
fn start_as_user(ids: &str) -> Result<(), AuthError> {
    if std::env::var_os("UID_WRAPPER").is_none() {
        return Err(AuthError::Internal(
            "--start-as only under uid_wrapper".into(),
        ));
    }
    let (uid, gid) = ids
        .split_once(':')
        .and_then(|(u, g)| Some((u.parse::<u32>().ok()?, g.parse::<u32>().ok()?)))
        .ok_or_else(|| AuthError::Internal("--start-as UID:GID".into()))?;
    let err = |e: nix::Error| AuthError::Internal(format!("--start-as: {e}"));
    unistd::setgroups(&[unistd::Gid::from_raw(gid)]).map_err(err)?;
    unistd::setgid(unistd::Gid::from_raw(gid)).map_err(err)?;
    unistd::setuid(unistd::Uid::from_raw(uid)).map_err(err)?;
    Ok(())
}
