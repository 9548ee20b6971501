//! The real login path — PAM or passwd-file, account rules, privilege drop —
//! run in a separate process (examples/auth_probe.rs) under the cwrap stack:
//! uid_wrapper fakes root and the id changes, nss_wrapper supplies passwd
//! and group, pam_wrapper with pam_matrix supplies PAM services
//! (shared/NOTES.md). Works the same whether cargo runs as root or not,
//! since every id the probe sees is uid_wrapper's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";

/// A private directory with passwd, group, passdb, pam.d and homes.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        for lib in [
            "libuid_wrapper.so",
            "libnss_wrapper.so",
            "libpam_wrapper.so",
        ] {
            assert!(
                Path::new(LIBDIR).join(lib).exists(),
                "{lib} missing: apt-get install libuid-wrapper libnss-wrapper libpam-wrapper"
            );
        }
        let dir = std::env::temp_dir().join(format!("postern-cwrap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pam.d")).unwrap();
        std::fs::create_dir_all(dir.join("home/alice")).unwrap();
        std::fs::create_dir_all(dir.join("home/dave")).unwrap();
        let d = dir.display();
        write(
            &dir,
            "passwd",
            &format!(
                "root:x:0:0:root:/root:/bin/sh\n\
                 alice:x:1000:1000:Alice:{d}/home/alice:/bin/sh\n\
                 bob:x:1001:1001:Bob:{d}/home/bob:/bin/sh\n\
                 carl:x:1002:1002:Carl:{d}/home/carl:/bin/sh\n"
            ),
        );
        write(
            &dir,
            "group",
            "root:x:0:\nmail:x:8:\nstaff:x:50:alice\nalice:x:1000:\nbob:x:1001:\n",
        );
        write(
            &dir,
            "passdb",
            "alice:secret:imap\nbob:secret:locked\nroot:secret:imap\ncarl:secret:rhost\n",
        );
        let matrix = format!("{LIBDIR}/pam_wrapper/pam_matrix.so passdb={d}/passdb");
        let deny = format!("{LIBDIR}/security/pam_deny.so");
        write(
            &dir,
            "pam.d/imap",
            &["auth", "account", "password", "session"]
                .map(|k| format!("{k} required {matrix}\n"))
                .concat(),
        );
        // "locked": the password is right, but acct_mgmt fails.
        write(
            &dir,
            "pam.d/locked",
            &format!("auth required {matrix}\naccount required {deny}\n"),
        );
        // "rhost": pam_exec records the PAM items the server set.
        write(
            &dir,
            "pam.d/rhost",
            &format!(
                "auth optional {LIBDIR}/security/pam_exec.so quiet log={d}/items.log \
                 /usr/bin/printenv PAM_RHOST PAM_SERVICE PAM_USER\n\
                 auth required {matrix}\naccount required {LIBDIR}/security/pam_permit.so\n"
            ),
        );
        write(
            &dir,
            "pam.d/other",
            &format!("auth required {deny}\naccount required {deny}\n"),
        );
        // passwd-file: dave has a home, erin's is missing, root is uid 0,
        // frank's primary group is gid 0.
        // dave's hash: `doveadm pw -s SHA512-CRYPT -p secret`.
        write(
            &dir,
            "users",
            &format!(
                "# virtual users\n\
                 dave:{{SHA512-CRYPT}}$6$UwMhqjGG7RUDWtXa$amPirI/4FGIVd51AJAgE9vDf4.bRPSExVYK5hv4wwF7qdsHhkza9ZJQsOHhpcXrErUcbSudjcjlLig9JUMhjo1:2000:2000::{d}/home/dave:\n\
                 erin:{{PLAIN}}secret:2001:2001::{d}/home/missing:\n\
                 root:{{PLAIN}}secret:0:0::/root:\n\
                 frank:{{PLAIN}}secret:2002:0::/root:\n"
            ),
        );
        Sandbox { dir }
    }

    /// Runs the probe with `password` on stdin; returns (stdout, stderr).
    ///
    /// pam_wrapper 1.1.4 copies the service files into `/tmp/pam.X` with X
    /// from a small alphabet, and two processes starting together can pick
    /// the same directory and garble each other's copy. So probes run one
    /// at a time, and a run that hit that race (pam_wrapper or libpam says
    /// so on stderr) is repeated.
    fn probe(&self, args: &[&str], password: &str) -> (String, String) {
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..4 {
            let (stdout, stderr) = self.probe_once(args, password);
            let garbled = [
                "Failed to create pam_wrapper config dir",
                "illegal module type",
            ]
            .iter()
            .any(|sign| stderr.contains(sign));
            if !garbled {
                return (stdout, stderr);
            }
        }
        panic!("pam_wrapper could not create its config dir 4 times in a row");
    }

    fn probe_once(&self, args: &[&str], password: &str) -> (String, String) {
        let exe = probe_path();
        let d = &self.dir;
        let mut child = Command::new(&exe)
            .args(args)
            .env(
                "LD_PRELOAD",
                "libuid_wrapper.so libnss_wrapper.so libpam_wrapper.so",
            )
            .env("UID_WRAPPER", "1")
            .env("UID_WRAPPER_ROOT", "1")
            .env("NSS_WRAPPER_PASSWD", d.join("passwd"))
            .env("NSS_WRAPPER_GROUP", d.join("group"))
            .env("PAM_WRAPPER", "1")
            .env("PAM_WRAPPER_SERVICE_DIR", d.join("pam.d"))
            .current_dir(d)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        // Shown by the harness only when the test fails.
        println!("probe {args:?}\n  stdout: {stdout}\n  stderr: {stderr}");
        assert_eq!(
            out.status.success(),
            stdout.starts_with("ok "),
            "{stdout}\n{stderr}"
        );
        // Whatever happened, the password is in no output and no log line.
        assert!(
            !stdout.contains(password) && !stderr.contains(password),
            "{stdout}\n{stderr}"
        );
        (stdout, stderr)
    }

    fn home(&self, user: &str) -> String {
        self.dir.join("home").join(user).display().to_string()
    }

    fn users(&self) -> String {
        self.dir.join("users").display().to_string()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// The probe lives next to the test binaries:
/// target/debug/deps/auth_cwrap-HASH → target/debug/examples/auth_probe.
/// A plain `cargo test` builds examples, but `cargo test --test auth_cwrap`
/// does not, so make sure once that it is there and current.
fn probe_path() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().and_then(Path::parent).unwrap();
            let target_dir = profile_dir.parent().unwrap();
            let mut cargo = Command::new(env!("CARGO"));
            // Build scripts (ring's) watch CARGO_MANIFEST_DIR, CARGO_PKG_*
            // and OUT_DIR; the values cargo sets for this test process
            // would make the nested build and the next `cargo test` rebuild
            // everything, each time.
            for (key, _) in std::env::vars_os() {
                let key_str = key.to_string_lossy();
                let set_by_cargo_test = [
                    "CARGO_MANIFEST_",
                    "CARGO_PKG_",
                    "CARGO_BIN_",
                    "CARGO_CRATE_",
                ]
                .iter()
                .any(|p| key_str.starts_with(p))
                    || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"]
                        .contains(&&*key_str);
                if set_by_cargo_test {
                    cargo.env_remove(&key);
                }
            }
            cargo
                .args([
                    "build",
                    "--quiet",
                    "--example",
                    "auth_probe",
                    "--target-dir",
                ])
                .arg(target_dir)
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if profile_dir.file_name() == Some("release".as_ref()) {
                cargo.arg("--release");
            }
            let probe = profile_dir.join("examples").join("auth_probe");
            match cargo.status() {
                Ok(status) => assert!(status.success(), "cargo build --example auth_probe failed"),
                // Test binary run by hand without cargo: use what is built.
                Err(e) => assert!(probe.exists(), "{}: {e}", env!("CARGO")),
            }
            probe
        })
        .clone()
}

#[test]
fn pam_login_drops_to_user() {
    let s = Sandbox::new("pam-ok");
    let (out, _) = s.probe(&["--peer", "192.0.2.7", "alice"], "secret");
    assert_eq!(
        out,
        format!(
            "ok user=alice uid=1000 euid=1000 gid=1000 egid=1000 groups=50,1000 cwd={}",
            s.home("alice")
        )
    );
    // mail_group kept as a supplementary group for dot-locks.
    let (out, _) = s.probe(&["--keep-group", "mail", "alice"], "secret");
    assert!(out.contains(" groups=8,50,1000 "), "{out}");
}

#[test]
fn pam_gets_service_user_and_rhost() {
    let s = Sandbox::new("rhost");
    let (out, _) = s.probe(
        &["--service", "rhost", "--peer", "2001:db8::7", "carl"],
        "secret",
    );
    assert!(out.starts_with("ok user=carl uid=1002 "), "{out}");
    let items = std::fs::read_to_string(s.dir.join("items.log")).unwrap();
    let lines: Vec<&str> = items.lines().filter(|l| !l.starts_with("***")).collect();
    assert_eq!(lines, ["2001:db8::7", "rhost", "carl"], "{items}");
}

#[test]
fn pam_wrong_password_and_unknown_user_look_the_same() {
    let s = Sandbox::new("pam-bad");
    let (wrong, _) = s.probe(&["alice"], "wrong-password");
    let (unknown, _) = s.probe(&["carol"], "secret");
    assert!(wrong.starts_with("err kind=BadCredentials"), "{wrong}");
    assert_eq!(wrong, unknown);
}

#[test]
fn pam_locked_account_is_refused() {
    let s = Sandbox::new("pam-locked");
    let (out, log) = s.probe(&["--service", "locked", "bob"], "secret");
    assert!(out.starts_with("err kind=Refused"), "{out}");
    assert!(
        log.contains("Login refused user=bob") && log.contains("account"),
        "{log}"
    );
    // The wrong password on that service is still only BadCredentials.
    let (out, _) = s.probe(&["--service", "locked", "bob"], "nope");
    assert!(out.starts_with("err kind=BadCredentials"), "{out}");
}

#[test]
fn uid_0_and_gid_0_never_log_in() {
    let s = Sandbox::new("root");
    let (out, log) = s.probe(&["root"], "secret");
    assert!(out.starts_with("err kind=Refused"), "{out}");
    assert!(log.contains("uid 0"), "{log}");
    let (out, _) = s.probe(&["--passwd-file", &s.users(), "root"], "secret");
    assert!(out.starts_with("err kind=Refused"), "{out}");
    let (out, log) = s.probe(&["--passwd-file", &s.users(), "frank"], "secret");
    assert!(out.starts_with("err kind=Refused"), "{out}");
    assert!(log.contains("gid 0"), "{log}");
    // mail_group must not be root's group either.
    let (out, _) = s.probe(
        &["--passwd-file", &s.users(), "--keep-group", "root", "dave"],
        "secret",
    );
    assert!(out.starts_with("err kind=Internal"), "{out}");
}

#[test]
fn not_root_serves_only_its_own_uid() {
    let s = Sandbox::new("notroot");
    let (out, _) = s.probe(&["--start-as", "1000:1000", "alice"], "secret");
    assert!(
        out.starts_with("ok user=alice uid=1000 euid=1000 gid=1000 egid=1000 groups=1000 "),
        "{out}"
    );
    let (out, log) = s.probe(&["--start-as", "1001:1001", "alice"], "secret");
    assert!(out.starts_with("err kind=Refused"), "{out}");
    assert!(log.contains("not running as root"), "{log}");
}

#[test]
fn passwd_file_login_drops_to_virtual_user() {
    let s = Sandbox::new("pwfile");
    let users = s.users();
    let (out, _) = s.probe(&["--passwd-file", &users, "dave"], "secret");
    assert_eq!(
        out,
        format!(
            "ok user=dave uid=2000 euid=2000 gid=2000 egid=2000 groups=2000 cwd={}",
            s.home("dave")
        )
    );
    let (out, _) = s.probe(
        &["--passwd-file", &users, "--keep-group", "mail", "dave"],
        "secret",
    );
    assert!(out.contains(" groups=8,2000 "), "{out}");
    // A missing home is not fatal: the session starts in /.
    let (out, log) = s.probe(&["--passwd-file", &users, "erin"], "secret");
    assert!(
        out.starts_with("ok user=erin uid=2001") && out.ends_with(" cwd=/"),
        "{out}"
    );
    assert!(log.contains("Home not usable user=erin"), "{log}");
    // smtpd's delivery child skips the chdir: same ids, no warning.
    let (out, log) = s.probe(&["--passwd-file", &users, "--skip-home", "erin"], "secret");
    assert!(out.starts_with("ok user=erin uid=2001 euid=2001"), "{out}");
    assert!(!out.ends_with(" cwd=/"), "{out}");
    assert!(!log.contains("Home not usable"), "{log}");
    for (user, pw) in [("dave", "wrong"), ("nobody", "secret")] {
        let (out, _) = s.probe(&["--passwd-file", &users, user], pw);
        assert!(out.starts_with("err kind=BadCredentials"), "{user}: {out}");
    }
}
