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
//!
//! # Appends are all or nothing, even under kill -9 and power loss
//! An append writes after the old end of the file, and the bytes before it
//! are never touched; what can go wrong is a partial last message. So,
//! before writing, the appender records `append <dev> <ino> <old size>
//! <new size>` in the dot-lock file after the pid line and fsyncs it; after
//! the message is written and fsynced it truncates the record away and
//! fsyncs again, and only then reports success (and removes the lock). A
//! record left in a lock therefore means "this append was never
//! acknowledged". Whoever takes over a stale lock first renames it to a
//! private name (so exactly one process owns its record, even when several
//! find it stale at once; a lock that turns out to be live is linked back),
//! and once it holds both locks, truncates the mailbox back to the old size
//! if it is still the recorded inode and not longer than the recorded new
//! size (longer would mean a writer that ignores dot-locks appended after
//! the crash; then the file is left alone and the case logged). Every
//! locker — `Mailbox::open`/`sync`, write-back, append — goes through
//! this, so the partial message is gone before anyone reads it.
//!
//!
//! The record also carries a checksum (64-bit FNV-1a) of the bytes the
//! append writes after the old size. Recovery truncates only when those
//! bytes are not all there: a complete append is kept (at worst a
//! duplicate the client retries, never a loss). That is what lets the
//! appender clear the record after success *without* an fsync: if the
//! clearing is lost in a crash, the message was already fsynced, so its
//! checksum matches and recovery leaves it alone. The record written before
//! the append is still fsynced: that one is what finds a partial message.
//!
//! Without a dot-lock (directory not writable) the same record goes to
//! `/var/tmp/.postern-append.<euid>.<dev>.<ino>` (a directory that survives
//! reboots), fsynced with its directory; every locker checks that file
//! (one `stat`) once it holds the fcntl lock. A record found under the
//! fcntl lock is always stale, because the appender clears it before it
//! unlocks. Limitation: a record written under another uid is only
//! recovered by that uid.
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
    /// The lock file, open for writing the append record after the pid line.
    file: Option<File>,
    pid_len: u64,
    /// Records of interrupted appends found in stale locks we took over.
    pub(crate) recovered: Vec<AppendRecord>,
}

/// An append in progress (see module doc): mailbox inode, size before and
/// after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AppendRecord {
    pub dev: u64,
    pub ino: u64,
    pub old_size: u64,
    pub new_size: u64,
    /// [`checksum`] of the appended bytes (records written by older
    /// versions have none: recovery then truncates whatever is there).
    pub sum: Option<u64>,
}

/// 64-bit FNV-1a: enough to tell a complete append from a partial or
/// zero-filled one after a crash; not a defence against an adversary, who
/// could not write the mailbox anyway.
pub(crate) fn checksum(data: &[u8]) -> u64 {
    checksum_more(0xcbf2_9ce4_8422_2325, data)
}

fn checksum_more(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl AppendRecord {
    fn render(&self) -> String {
        match self.sum {
            Some(sum) => format!(
                "append {} {} {} {} {sum:016x}\n",
                self.dev, self.ino, self.old_size, self.new_size
            ),
            None => format!(
                "append {} {} {} {}\n",
                self.dev, self.ino, self.old_size, self.new_size
            ),
        }
    }

    /// The record in a lock file's text, if any (any line may hold it).
    pub(crate) fn parse(text: &[u8]) -> Option<AppendRecord> {
        let text = std::str::from_utf8(text).ok()?;
        text.lines().find_map(|l| {
            let mut w = l.strip_prefix("append ")?.split(' ');
            let mut n = || w.next()?.parse::<u64>().ok();
            let r = AppendRecord {
                dev: n()?,
                ino: n()?,
                old_size: n()?,
                new_size: n()?,
                sum: match w.next() {
                    None => None,
                    Some(x) => Some(u64::from_str_radix(x, 16).ok()?),
                },
            };
            (r.old_size <= r.new_size).then_some(r)
        })
    }
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
                    file: None,
                    pid_len: 0,
                    recovered: Vec::new(),
                });
            }
            Err(e) => return Err(io_err(ErrorKind::Io, "dotlock create", &tmp, e)),
        };
        let pid_line = format!("{pid}\n");
        let _ = f.write_all(pid_line.as_bytes());
        let mut recovered = Vec::new();
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
                            file: None,
                            pid_len: pid_line.len() as u64,
                            recovered: std::mem::take(&mut recovered),
                        });
                    }
                    _ => {}
                },
                Ok(_) => {}
                Err(e) => break Err(io_err(ErrorKind::Io, "dotlock stat", &tmp, e)),
            }
            if is_stale(&lock) {
                log::info!("dotlock stale, taking over lock={}", lock.display());
                take_over(&lock, &tmp, &mut recovered);
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
        result.map(|mut d| {
            d.file = Some(f);
            d
        })
    }
}

/// Move a stale lock out of the way under a private name, so that only we
/// read its append record; a lock that is live after all is put back.
fn take_over(lock: &Path, tmp: &Path, recovered: &mut Vec<AppendRecord>) {
    let mut grab = tmp.as_os_str().to_owned();
    grab.push(".stale");
    let grab = PathBuf::from(grab);
    if fs::rename(lock, &grab).is_err() {
        return;
    }
    let m = fs::symlink_metadata(&grab);
    if m.as_ref().is_ok_and(|m| m.file_type().is_file()) && !is_stale(&grab) {
        // Someone made a fresh lock between our check and the rename.
        let _ = fs::hard_link(&grab, lock);
    } else if m
        .as_ref()
        .is_ok_and(|m| m.file_type().is_file() && m.len() < 4096)
    {
        if let Some(r) = fs::read(&grab).ok().and_then(|t| AppendRecord::parse(&t)) {
            recovered.push(r);
        }
    }
    let _ = fs::remove_file(&grab);
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
    if m.len() > 0 && m.len() < 4096 {
        if let Ok(s) = fs::read(lock) {
            let s = String::from_utf8_lossy(&s);
            if let Ok(pid) = s.lines().next().unwrap_or("").trim().parse::<i32>() {
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
    /// Always `Some` until dropped.
    file: Option<File>,
    dot: DotLock,
    /// The `/var/tmp` record file of an append in progress without dot-lock.
    companion: Option<(PathBuf, File)>,
    /// The append in progress has a checksummed record.
    summed: bool,
}

impl Locked {
    pub(crate) fn take(path: &Path, file: File, write: bool) -> Result<Locked, StoreError> {
        let mut dot = DotLock::acquire(path)?;
        ofd_lock(&file, write)?;
        let mut records = std::mem::take(&mut dot.recovered);
        if let Ok(m) = file.metadata() {
            let cp = companion_path(m.dev(), m.ino());
            if fs::symlink_metadata(&cp).is_ok_and(|c| c.len() > 0) {
                if let Some(r) = read_companion(&cp) {
                    records.push(r);
                }
                let _ = fs::remove_file(&cp);
            }
        }
        for r in records {
            recover_append(path, &r);
        }
        Ok(Locked {
            file: Some(file),
            dot,
            companion: None,
            summed: false,
        })
    }

    /// Record an append about to grow the mailbox from `old_size` to
    /// `new_size`, durably, before any byte of it is written.
    /// `sum` is the [`checksum`] of the bytes to be written; with it,
    /// [`end_append`](Self::end_append) need not fsync.
    pub(crate) fn begin_append(
        &mut self,
        old_size: u64,
        new_size: u64,
        sum: Option<u64>,
    ) -> io::Result<()> {
        let m = match &self.file {
            Some(f) => f.metadata()?,
            None => return Err(io::Error::from(io::ErrorKind::NotFound)),
        };
        let rec = AppendRecord {
            dev: m.dev(),
            ino: m.ino(),
            old_size,
            new_size,
            sum,
        };
        self.summed = sum.is_some();
        if let Some(f) = &self.dot.file {
            use std::os::unix::fs::FileExt;
            f.write_all_at(rec.render().as_bytes(), self.dot.pid_len)?;
            return f.sync_data();
        }
        let cp = companion_path(rec.dev, rec.ino);
        let _ = fs::remove_file(&cp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&cp)?;
        f.write_all(rec.render().as_bytes())?;
        f.sync_data()?;
        if let Some(d) = cp.parent() {
            File::open(d)?.sync_all()?;
        }
        self.companion = Some((cp, f));
        Ok(())
    }

    /// The append is complete and fsynced: drop the record, durably, so a
    /// later takeover cannot undo it.
    /// With a checksummed record the clearing need not be durable (see
    /// module doc), which saves an fsync per delivery.
    pub(crate) fn end_append(&mut self) -> io::Result<()> {
        let durable = !std::mem::take(&mut self.summed);
        if let Some((cp, f)) = self.companion.take() {
            f.set_len(0)?;
            if durable {
                f.sync_data()?;
            }
            let _ = fs::remove_file(cp);
            return Ok(());
        }
        if let Some(f) = &self.dot.file {
            f.set_len(self.dot.pid_len)?;
            if durable {
                f.sync_data()?;
            }
        }
        Ok(())
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        if let Some(f) = self.file.take() {
            ofd_unlock(&f);
            // Ours may be the last descriptor of a replaced mailbox.
            super::rewrite::close_in_background(f);
        }
    }
}

fn companion_path(dev: u64, ino: u64) -> PathBuf {
    let uid = unsafe { libc::geteuid() };
    PathBuf::from(format!("/var/tmp/.postern-append.{uid}.{dev}.{ino}"))
}

fn read_companion(p: &Path) -> Option<AppendRecord> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(p)
        .ok()?;
    let m = f.metadata().ok()?;
    if m.uid() != unsafe { libc::geteuid() } || !m.is_file() || m.len() > 4096 {
        return None;
    }
    let mut t = Vec::new();
    io::Read::read_to_end(&mut &f, &mut t).ok()?;
    AppendRecord::parse(&t)
}

/// [`checksum`] of the file's bytes in `[from, to)`.
fn region_sum(f: &File, from: u64, to: u64) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut h = checksum(&[]);
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = from;
    while at < to {
        let n = (to - at).min(buf.len() as u64) as usize;
        f.read_exact_at(&mut buf[..n], at).ok()?;
        h = checksum_more(h, &buf[..n]);
        at += n as u64;
    }
    Some(h)
}

/// Undo an interrupted append (see module doc); called holding both locks.
fn recover_append(path: &Path, r: &AppendRecord) {
    let f = match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            log::warn!("append recovery: cannot open {}: {e}", path.display());
            return;
        }
    };
    let m = match f.metadata() {
        Ok(m) => m,
        Err(_) => return,
    };
    if m.dev() != r.dev || m.ino() != r.ino || m.len() <= r.old_size {
        return;
    }
    if let Some(sum) = r.sum {
        if m.len() >= r.new_size && region_sum(&f, r.old_size, r.new_size) == Some(sum) {
            log::info!(
                "append recovery: {} holds the whole interrupted append; kept",
                path.display()
            );
            return;
        }
    }
    if m.len() > r.new_size {
        log::warn!(
            "append recovery: {} grew past the interrupted append ({} > {}); left alone",
            path.display(),
            m.len(),
            r.new_size
        );
        return;
    }
    log::info!(
        "append recovery: truncating {} from {} to {} bytes (interrupted append)",
        path.display(),
        m.len(),
        r.old_size
    );
    if f.set_len(r.old_size).and_then(|_| f.sync_all()).is_err() {
        log::warn!("append recovery: truncate failed for {}", path.display());
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
    fn append_record_parse() {
        let cases: &[(&str, Option<(u64, u64, u64, u64)>)] = &[
            ("123\nappend 1 2 3 4\n", Some((1, 2, 3, 4))),
            ("123\n", None),
            ("123\nappend 1 2 5 4\n", None),
            ("123\nappend 1 2 x 4\n", None),
            ("append 9 8 0 7", Some((9, 8, 0, 7))),
            ("append 9 8 0 7 00000000000000ff\n", Some((9, 8, 0, 7))),
            ("append 9 8 0 7 zz\n", None),
        ];
        for &(t, want) in cases {
            let got =
                AppendRecord::parse(t.as_bytes()).map(|r| (r.dev, r.ino, r.old_size, r.new_size));
            assert_eq!(got, want, "{t:?}");
        }
    }

    fn rw(p: &Path) -> File {
        OpenOptions::new().read(true).write(true).open(p).unwrap()
    }

    /// A stale dot-lock with an append record, and a `/var/tmp` record of a
    /// lock-less append: the next locker truncates the partial message.
    #[test]
    fn interrupted_append_truncated_by_next_locker() {
        let d = tmpdir("recover");
        let mb = d.join("box");
        fs::write(&mb, "old\npartial new").unwrap();
        let m = fs::metadata(&mb).unwrap();
        let rec = |new: u64| format!("999999999\nappend {} {} 4 {new}\n", m.dev(), m.ino());
        // Longer than the record says: someone appended after; left alone.
        fs::write(d.join("box.lock"), rec(10)).unwrap();
        drop(Locked::take(&mb, rw(&mb), false).unwrap());
        assert_eq!(fs::read(&mb).unwrap(), b"old\npartial new");
        fs::write(d.join("box.lock"), rec(100)).unwrap();
        drop(Locked::take(&mb, rw(&mb), false).unwrap());
        assert_eq!(fs::read(&mb).unwrap(), b"old\n");
        assert_eq!(
            fs::read_dir(&d).unwrap().count(),
            1,
            "lock and temp files gone"
        );

        fs::write(&mb, "old\npartial").unwrap();
        let cp = companion_path(m.dev(), m.ino());
        fs::write(&cp, format!("append {} {} 4 50\n", m.dev(), m.ino())).unwrap();
        drop(Locked::take(&mb, rw(&mb), true).unwrap());
        assert_eq!(fs::read(&mb).unwrap(), b"old\n");
        assert!(!cp.exists());

        // A completed append leaves no record behind.
        let mut l = Locked::take(&mb, rw(&mb), true).unwrap();
        l.begin_append(4, 9, None).unwrap();
        assert!(fs::read_to_string(d.join("box.lock"))
            .unwrap()
            .contains("append "));
        fs::write(&mb, "old\nnew\n\n").unwrap();
        l.end_append().unwrap();
        assert!(!fs::read_to_string(d.join("box.lock"))
            .unwrap()
            .contains("append"));
        drop(l);
        drop(Locked::take(&mb, rw(&mb), true).unwrap());
        assert_eq!(fs::read(&mb).unwrap(), b"old\nnew\n\n");
    }

    /// With a checksum in the record, recovery keeps a complete append
    /// (its clearing was lost) and truncates a partial one.
    #[test]
    fn checksummed_record_keeps_complete_append() {
        let d = tmpdir("recover-sum");
        let mb = d.join("box");
        let new = b"From a Thu Jan  1 00:00:00 1970\n\nnew\n\n";
        let full = [&b"old\n"[..], new].concat();
        // (file content, expected after recovery)
        let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (full.clone(), full.clone()),
            (full[..full.len() - 3].to_vec(), b"old\n".to_vec()),
            (
                [&b"old\n"[..], &vec![0u8; new.len()]].concat(),
                b"old\n".to_vec(),
            ),
        ];
        for (content, want) in cases {
            fs::write(&mb, &content).unwrap();
            let m = fs::metadata(&mb).unwrap();
            let rec = AppendRecord {
                dev: m.dev(),
                ino: m.ino(),
                old_size: 4,
                new_size: full.len() as u64,
                sum: Some(checksum(new)),
            };
            fs::write(d.join("box.lock"), format!("999999999\n{}", rec.render())).unwrap();
            drop(Locked::take(&mb, rw(&mb), false).unwrap());
            assert_eq!(fs::read(&mb).unwrap(), want);
        }
        // The appender's own clearing: no fsync, record gone all the same.
        let mut l = Locked::take(&mb, rw(&mb), true).unwrap();
        l.begin_append(4, 9, Some(1)).unwrap();
        l.end_append().unwrap();
        assert!(!fs::read_to_string(d.join("box.lock"))
            .unwrap()
            .contains("append"));
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
