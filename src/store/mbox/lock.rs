//! Mailbox locks, interoperable with MDAs and other IMAP/POP3 servers:
//!
//! * `<mbox>.lock` dot-lock made by the NFS-safe link method: create a
//!   unique file, `link(2)` it to the lock name, and trust the link count
//!   (not link's return value, which NFS may lose). The lock holds our pid.
//!   A lock older than [`STALE_SECS`], or naming a pid that no longer exists
//!   on this host, is taken over. We only ever unlink a lock file whose
//!   inode is the one we created, and never follow a symlink there.
//!   If the directory is not writable (spool without the `mail_group`
//!   privilege), we go on with the kernel lock alone, as UW does.
//! * An OFD `fcntl` write lock on the whole file (Linux `F_OFD_SETLK`): what
//!   Postfix, Exim and procmail take too; per open file, so two handles in
//!   one process exclude each other.
//! * Both are held only while reading new data, writing back or appending.
//! * The POP3 exclusive session lock is an `flock` on a companion file in
//!   `/tmp` named after the mailbox path, so it never collides with MDAs'
//!   fcntl locks on the mailbox itself and survives our renames.

use crate::store::{ErrorKind, StoreError};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// A dot-lock untouched this long is stale (UW and procmail use 5 minutes).
pub(crate) const STALE_SECS: u64 = 300;
/// How long to wait for either lock before giving up (temporary failure).
pub(crate) const WAIT: Duration = Duration::from_secs(60);

fn io_err(kind: ErrorKind, what: &str, path: &Path, e: io::Error) -> StoreError {
    StoreError::new(kind, format!("{what} {}: {e}", path.display()))
}

/// A held `<mbox>.lock`; removed on drop if it is still ours.
pub(crate) struct DotLock {
    path: PathBuf,
    ino: Option<(u64, u64)>,
}

impl DotLock {
    pub(crate) fn acquire(mbox: &Path) -> Result<DotLock, StoreError> {
        super::rewrite::ignore_sigxfsz();
        let mut lock = mbox.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        let dir = mbox
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let pid = std::process::id();
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut uniq = OsString::from(".");
        uniq.push(mbox.file_name().unwrap_or_default());
        uniq.push(format!(".lk{pid}.{nanos}"));
        let tmp = dir.join(uniq);
        let mut f = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                // No write access to the directory: kernel lock only.
                log::debug!("dotlock skipped dir={} err={e}", dir.display());
                return Ok(DotLock {
                    path: lock,
                    ino: None,
                });
            }
            Err(e) => return Err(io_err(ErrorKind::Io, "dotlock create", &tmp, e)),
        };
        let _ = writeln!(f, "{pid}");
        drop(f);
        let tmeta = fs::symlink_metadata(&tmp)
            .map_err(|e| io_err(ErrorKind::Io, "dotlock stat", &tmp, e))?;
        let start = Instant::now();
        let mut delay = Duration::from_millis(5);
        let result = loop {
            let _ = fs::hard_link(&tmp, &lock);
            // Link count, not link()'s result (NFS may lose the reply).
            match fs::symlink_metadata(&tmp) {
                Ok(m) if m.nlink() == 2 => match fs::symlink_metadata(&lock) {
                    Ok(l)
                        if l.file_type().is_file()
                            && l.ino() == tmeta.ino()
                            && l.dev() == tmeta.dev() =>
                    {
                        break Ok(DotLock {
                            path: lock.clone(),
                            ino: Some((l.dev(), l.ino())),
                        });
                    }
                    _ => {}
                },
                Ok(_) => {}
                Err(e) => break Err(io_err(ErrorKind::Io, "dotlock stat", &tmp, e)),
            }
            if is_stale(&lock) {
                log::info!("dotlock stale, taking over lock={}", lock.display());
                let _ = fs::remove_file(&lock);
                super::rewrite::remove_stale_temps(mbox);
                continue;
            }
            if start.elapsed() > WAIT {
                break Err(StoreError::new(
                    ErrorKind::LockTimeout,
                    format!("dotlock busy {}", lock.display()),
                ));
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(200));
        };
        let _ = fs::remove_file(&tmp);
        result
    }
}

/// Stale: old, or a symlink/non-file (never trusted), or its pid is gone.
fn is_stale(lock: &Path) -> bool {
    let m = match fs::symlink_metadata(lock) {
        Ok(m) => m,
        Err(_) => return false,
    };
    if !m.file_type().is_file() {
        return true;
    }
    let age = m
        .modified()
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default();
    if age.as_secs() > STALE_SECS {
        return true;
    }
    if m.len() > 0 && m.len() < 32 {
        if let Ok(s) = fs::read(lock) {
            let s = String::from_utf8_lossy(&s);
            if let Ok(pid) = s.trim().parse::<i32>() {
                if pid > 0
                    && unsafe { libc::kill(pid, 0) } == -1
                    && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
                {
                    return true;
                }
            }
        }
    }
    false
}

impl Drop for DotLock {
    fn drop(&mut self) {
        if let Some((dev, ino)) = self.ino {
            if let Ok(m) = fs::symlink_metadata(&self.path) {
                if m.dev() == dev && m.ino() == ino {
                    let _ = fs::remove_file(&self.path);
                }
            }
        }
    }
}

/// Whole-file OFD fcntl lock (`write` or read), waiting up to [`WAIT`].
pub(crate) fn ofd_lock(file: &File, write: bool) -> Result<(), StoreError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(2);
    loop {
        match ofd(file, if write { libc::F_WRLCK } else { libc::F_RDLCK }) {
            Ok(()) => return Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EAGAIN) | Some(libc::EACCES) | Some(libc::EINTR)
                ) =>
            {
                if start.elapsed() > WAIT {
                    return Err(StoreError::new(ErrorKind::LockTimeout, "fcntl lock busy"));
                }
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(StoreError::new(ErrorKind::Io, format!("fcntl lock: {e}"))),
        }
    }
}

pub(crate) fn ofd_unlock(file: &File) {
    let _ = ofd(file, libc::F_UNLCK);
}

fn ofd(file: &File, kind: libc::c_int) -> io::Result<()> {
    // SAFETY: a zeroed flock is valid; fields set below; fd is open.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Both locks on an open mailbox file; released on drop.
/// `file` is a `dup` of the mailbox descriptor: OFD locks belong to the
/// open file description, so the lock stays right even if the mailbox's
/// own descriptor is replaced while locked (after a rename).
pub(crate) struct Locked {
    file: File,
    _dot: DotLock,
}

impl Locked {
    pub(crate) fn take(path: &Path, file: File, write: bool) -> Result<Locked, StoreError> {
        let dot = DotLock::acquire(path)?;
        ofd_lock(&file, write)?;
        Ok(Locked { file, _dot: dot })
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        ofd_unlock(&self.file);
    }
}

/// The POP3 exclusive session lock (see module doc); `InUse` if held.
pub(crate) fn session_lock(mbox: &Path) -> Result<File, StoreError> {
    let canon = fs::canonicalize(mbox).unwrap_or_else(|_| mbox.to_path_buf());
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in canon.as_os_str().as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    let uid = unsafe { libc::geteuid() };
    let p = PathBuf::from(format!("/tmp/.postern-session.{uid}.{h:016x}"));
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&p)
        .map_err(|e| io_err(ErrorKind::Io, "session lock", &p, e))?;
    let m = f
        .metadata()
        .map_err(|e| io_err(ErrorKind::Io, "session lock", &p, e))?;
    if m.uid() != uid || !m.file_type().is_file() {
        return Err(StoreError::new(
            ErrorKind::InUse,
            format!("session lock {} not ours", p.display()),
        ));
    }
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == -1 {
        return Err(StoreError::new(
            ErrorKind::InUse,
            format!("session lock held {}", p.display()),
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("postern-lock-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn dotlock_excludes_and_cleans_up() {
        let d = tmpdir("ex");
        let mb = d.join("box");
        let l = DotLock::acquire(&mb).unwrap();
        assert!(d.join("box.lock").exists());
        drop(l);
        assert!(!d.join("box.lock").exists());
        assert_eq!(fs::read_dir(&d).unwrap().count(), 0, "no temp files left");
    }

    #[test]
    fn stale_dead_pid_and_symlink_taken_over() {
        let d = tmpdir("stale");
        let mb = d.join("box");
        fs::write(d.join("box.lock"), "999999999\n").unwrap();
        drop(DotLock::acquire(&mb).unwrap());
        std::os::unix::fs::symlink("/etc/passwd", d.join("box.lock")).unwrap();
        drop(DotLock::acquire(&mb).unwrap());
        assert!(fs::metadata("/etc/passwd").is_ok());
    }

    #[test]
    fn session_lock_is_exclusive() {
        let d = tmpdir("sess");
        let mb = d.join("box");
        fs::write(&mb, "").unwrap();
        let a = session_lock(&mb).unwrap();
        assert_eq!(
            session_lock(&mb).err().map(|e| e.kind),
            Some(ErrorKind::InUse)
        );
        drop(a);
        session_lock(&mb).unwrap();
    }
}
