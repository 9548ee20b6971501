"""pytest harness: the built servers against real clients, started as inetd does.

What the fixtures give a test:

- ``postern_bin(name)``: path of a built binary (``$POSTERN_BIN_DIR`` or
  ``target/debug``); a missing binary fails the test, it never skips.
- ``sandbox``: a private directory with the test certificates, a passwd-file
  (``alice`` with a ``{PLAIN}`` password, ``bob`` with ``{SHA512-CRYPT}``), a
  spool directory, home/mail directories, ``postern.conf`` pointing at all of
  it and ``POSTERN_LOG_FILE`` = ``<sandbox>/log``. Helpers deliver messages
  into an mbox with a valid ``From_`` line. Kept on failure (path printed),
  removed otherwise.
- ``inetd``: starts a binary behind ``socat TCP-LISTEN:...,fork
  EXEC:...,nofork`` on 127.0.0.1 (or 127.0.0.2) and a free high port; the
  child gets the TCP socket itself on fd 0/1, exactly as under inetd.
- ``xinetd``: the same under a private ``xinetd -dontfork`` with a generated
  UNLISTED service and ``server_args``.
- ``cwrap``: environment for libuid/nss/pam_wrapper (shared/NOTES.md), to run
  a server "as root" with PAM and getpwnam answered from sandbox files.

Every server started here is stopped at teardown (its whole process group),
every wait is bounded.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TLS_FIXTURES = ROOT / "tests" / "fixtures" / "tls"
PROGRAMS = ("imapd", "ipop3d", "smtpd")

# Known test credentials (printed in failure output on purpose: test-only).
ALICE_PASSWORD = "wonderland-7"
BOB_PASSWORD = "builder-42"
# When the suite runs as root the mail files belong to this uid/gid, so the
# server's privilege drop is exercised for real.
TEST_UID = 5000
TEST_GID = 5000

START_TIMEOUT = 10.0  # seconds to wait for a listener
STOP_TIMEOUT = 5.0


# --------------------------------------------------------------------------
# binaries


def bin_dir() -> Path:
    env = os.environ.get("POSTERN_BIN_DIR")
    return Path(env) if env else ROOT / "target" / "debug"


def find_bin(name: str) -> Path:
    path = bin_dir() / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} not built: run `cargo build` (or set POSTERN_BIN_DIR)")
    return path


@pytest.fixture(scope="session")
def postern_bin():
    """``postern_bin("ipop3d")`` -> Path of the built binary."""
    return find_bin


def is_stub(path: Path) -> bool:
    """True while the binary is still the skeleton's empty ``main``: it
    prints nothing for ``-V``. Used by smoke tests to xfail, not skip."""
    try:
        out = subprocess.run([str(path), "-V"], capture_output=True, timeout=10,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip()


# --------------------------------------------------------------------------
# ports and waiting


def free_port(host: str = "127.0.0.1") -> int:
    """A currently unused high TCP port on host (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_listening(host: str, port: int, proc: subprocess.Popen | None = None,
                   timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"listener exited with {proc.returncode} before {host}:{port} was up")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout}s")


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM then SIGKILL the process group we created for proc."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)
    # forked per-connection children may outlive the listener briefly
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# --------------------------------------------------------------------------
# mbox helpers


def make_message(subject: str = "test", body: str = "hello\r\n",
                 sender: str = "sender@example.org", to: str = "alice@postern.test",
                 extra_headers: dict | None = None) -> bytes:
    """An RFC 5322 message with CRLF line ends (as it travels on the wire)."""
    headers = {
        "From": sender,
        "To": to,
        "Subject": subject,
        "Date": formatdate(localtime=False),
        "Message-ID": f"<{time.time_ns()}.{os.getpid()}@test.postern>",
    }
    headers.update(extra_headers or {})
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if not body.endswith("\r\n"):
        body += "\r\n"
    return (head + "\r\n" + body).encode()


def from_line(sender: str = "sender@example.org", when: float | None = None) -> bytes:
    """``From sender ctime-date`` as UW and Dovecot write it (UTC)."""
    t = time.gmtime(when if when is not None else time.time())
    return f"From {sender} {time.asctime(t)}\n".encode()  # ctime(3): day space-padded


def mbox_entry(message: bytes, sender: str = "sender@example.org",
               when: float | None = None) -> bytes:
    """One mbox entry: From_ line, LF line ends, mboxrd ``>From`` quoting,
    blank separator line at the end."""
    text = message.replace(b"\r\n", b"\n")
    out = [from_line(sender, when)]
    for line in text.split(b"\n")[:-1] if text.endswith(b"\n") else text.split(b"\n"):
        if line.lstrip(b">").startswith(b"From "):
            line = b">" + line
        out.append(line + b"\n")
    out.append(b"\n")
    return b"".join(out)


@contextlib.contextmanager
def dotlock(mbox: Path, timeout: float = 10.0):
    """``<mbox>.lock`` (O_EXCL) plus an fcntl lock, as an MDA takes them."""
    lock = Path(str(mbox) + ".lock")
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{lock} held for more than {timeout}s")
            time.sleep(0.02)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


# --------------------------------------------------------------------------
# the sandbox


@dataclass
class Sandbox:
    root: Path
    uid: int
    gid: int
    users: dict = field(default_factory=dict)   # name -> password
    overrides: dict = field(default_factory=dict)

    # layout -----------------------------------------------------------
    @property
    def conf(self) -> Path: return self.root / "postern.conf"
    @property
    def log(self) -> Path: return self.root / "log"
    @property
    def passwd_file(self) -> Path: return self.root / "passwd"
    @property
    def spool(self) -> Path: return self.root / "spool"
    @property
    def cert_dir(self) -> Path: return self.root / "certs"
    @property
    def tls(self) -> Path:
        """Copy of tests/fixtures/tls (ca.pem, ca-crl.pem, client/, bad/ ...)."""
        return self.root / "tls"
    @property
    def ca(self) -> Path: return self.tls / "ca.pem"

    def client_tls(self, client_cert: str | None = None) -> ssl.SSLContext:
        """Client TLS context trusting the test CA; client_cert = "valid",
        "revoked", "expired" or "foreign" presents that client certificate.
        Server certificates name localhost and 127.0.0.1 (127.0.0.2 per-IP)."""
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if client_cert:
            d = self.tls / "client"
            ctx.load_cert_chain(str(d / f"{client_cert}.crt"), str(d / f"{client_cert}.key"))
        return ctx

    def home(self, user: str = "alice") -> Path: return self.root / "home" / user
    def inbox(self, user: str = "alice") -> Path: return self.spool / user
    def mail_dir(self, user: str = "alice") -> Path: return self.home(user) / "mail"

    @property
    def env(self) -> dict:
        """Environment for a server process started by a test."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTERN_")}
        env["POSTERN_LOG_FILE"] = str(self.log)
        env["POSTERN_LOG_LEVEL"] = os.environ.get("POSTERN_LOG_LEVEL", "debug")
        return env

    # configuration ----------------------------------------------------
    def settings(self) -> dict:
        s = {
            "auth": f"passwd-file:{self.passwd_file}",
            "inbox": f"{self.spool}/%u",
            "mail_dir": f"{self.root}/home/%u/mail",
            "cert_dir": str(self.cert_dir),
            "login_delay": "0",
            "hostname": "postern.test",
            "local_domains": "postern.test,localhost",
        }
        s.update(self.overrides)
        return {k: v for k, v in s.items() if v is not None}

    def write_conf(self, **overrides) -> Path:
        """Rewrite postern.conf; ``key=None`` removes a key (back to default)."""
        self.overrides.update(overrides)
        lines = ["# written by tests/integration/conftest.py"]
        lines += [f"{k} = {v}" for k, v in self.settings().items()]
        self.conf.write_text("\n".join(lines) + "\n")
        self.conf.chmod(0o644)
        return self.conf

    def use_certs(self, subdir: str) -> None:
        """Point cert_dir at another fixture set, e.g. "ecdsa" or "bad/mismatch"."""
        self.write_conf(cert_dir=str(self.tls / subdir))

    # accounts and mail --------------------------------------------------
    def add_user(self, name: str, password: str, scheme: str = "PLAIN") -> None:
        if scheme == "PLAIN":
            secret = password
        elif scheme == "SHA512-CRYPT":
            secret = subprocess.run(["openssl", "passwd", "-6", "-salt", "posternsalt", password],
                                    capture_output=True, text=True, check=True).stdout.strip()
        else:
            raise ValueError(f"add_user: scheme {scheme} not supported here")
        home = self.home(name)
        for d in (home, home / "mail"):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
            self.chown(d)
        with self.passwd_file.open("a") as f:
            f.write(f"{name}:{{{scheme}}}{secret}:{self.uid}:{self.gid}::{home}:/bin/sh\n")
        self.users[name] = password

    def chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid)

    def deliver(self, message: bytes, user: str = "alice", sender: str = "sender@example.org",
                when: float | None = None, mbox: Path | None = None) -> Path:
        """Append one message to user's INBOX (or mbox) under a dot-lock + fcntl lock."""
        path = mbox or self.inbox(user)
        with dotlock(path):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
                os.write(fd, mbox_entry(message, sender, when))
                os.fsync(fd)
            finally:
                os.close(fd)
        self.chown(path)
        return path

    def deliver_many(self, n: int, user: str = "alice") -> list[bytes]:
        msgs = [make_message(subject=f"message {i + 1}", body=f"body of message {i + 1}\r\n")
                for i in range(n)]
        for m in msgs:
            self.deliver(m, user)
        return msgs

    def run(self, program: str, *args: str, input: bytes = b"", env: dict | None = None,
            timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Run a server on pipes (fd 0 not a socket: imapd greets PREAUTH as
        the invoking user when not root) with this sandbox's config and log."""
        return subprocess.run([str(find_bin(program)), "-c", str(self.conf), *args],
                              input=input, capture_output=True, timeout=timeout,
                              env=self.env | (env or {}))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _make_sandbox(root: Path) -> Sandbox:
    root.chmod(0o755)  # the server may run as TEST_UID and must reach its files
    if os.geteuid() == 0:
        uid, gid = TEST_UID, TEST_GID
    else:
        uid, gid = os.getuid(), os.getgid()
    sb = Sandbox(root=root, uid=uid, gid=gid)
    shutil.copytree(TLS_FIXTURES, sb.tls)
    shutil.copytree(TLS_FIXTURES / "rsa", sb.cert_dir)
    (root / "home").mkdir(mode=0o755)
    # like a world-writable /var/mail: dot-locks work for every uid
    sb.spool.mkdir()
    sb.spool.chmod(0o1777)
    sb.passwd_file.write_text("# user:{SCHEME}secret:uid:gid:gecos:home:shell\n")
    sb.passwd_file.chmod(0o600)
    sb.add_user("alice", ALICE_PASSWORD, "PLAIN")
    sb.add_user("bob", BOB_PASSWORD, "SHA512-CRYPT")
    sb.write_conf()
    return sb


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def sandbox(request):
    # only safe characters: a parameter id may hold "/", and socat's
    # address parser chokes on an unbalanced "[" left by truncation
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:40]
    root = Path(tempfile.mkdtemp(prefix=f"postern-test-{name}-"))
    sb = _make_sandbox(root)
    yield sb
    failed = any(getattr(request.node, f"rep_{w}", None) is not None
                 and getattr(request.node, f"rep_{w}").failed for w in ("setup", "call"))
    if failed or os.environ.get("POSTERN_KEEP_SANDBOX"):
        print(f"\nsandbox kept: {root}\n--- server log ---\n{sb.log_text()[-4000:]}")
    else:
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------
# servers, started the way inetd does


@dataclass
class Listener:
    """A running socat or xinetd in front of one program."""
    host: str
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def address(self) -> tuple:
        return (self.host, self.port)

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection(self.address, timeout=timeout)

    def stop(self) -> None:
        stop_group(self.proc)


def _wrapper(sb: Sandbox, name: str, argv: list, env: dict) -> Path:
    """A tiny sh script that execs argv with env: socat EXEC: splits on
    spaces and treats ',' ':' '!' specially, so arbitrary arguments
    (``-o local_domains=a,b``) and LD_PRELOAD lists go through a file."""
    path = sb.root / f"run-{name}-{time.time_ns()}.sh"
    lines = ["#!/bin/sh", "# generated by conftest.py", "exec env -i \\"]
    lines += [f"  {shlex.quote(f'{k}={v}')} \\" for k, v in sorted(env.items())]
    lines.append("  " + " ".join(shlex.quote(str(a)) for a in argv))
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


class Inetd:
    """``inetd.start("ipop3d", "-s")`` -> Listener on 127.0.0.1:<free port>."""

    def __init__(self, sb: Sandbox):
        self.sb = sb
        self.listeners: list[Listener] = []

    def start(self, program: str, *args: str, host: str = "127.0.0.1", port: int | None = None,
              env: dict | None = None, conf: Path | None = None, command: list | None = None) -> Listener:
        """Serve program (a name in PROGRAMS or a path) behind socat.

        ``command`` replaces the whole argv (for stand-ins in harness tests)."""
        exe = find_bin(program) if program in PROGRAMS else Path(program)
        argv = command or [str(exe), "-c", str(conf or self.sb.conf), *args]
        full_env = self.sb.env | (env or {})
        wrapper = _wrapper(self.sb, Path(program).name, argv, full_env)
        port = port or free_port(host)
        log = self.sb.root / f"socat-{Path(program).name}-{port}.log"
        proc = subprocess.Popen(
            ["socat", f"TCP-LISTEN:{port},bind={host},reuseaddr,fork",
             f"EXEC:{wrapper},nofork"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
            start_new_session=True)
        lst = Listener(host, port, proc, log)
        self.listeners.append(lst)
        try:
            wait_listening(host, port, proc)
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{log.read_text(errors='replace')}") from None
        return lst

    def stop_all(self) -> None:
        for lst in self.listeners:
            lst.stop()


@pytest.fixture
def inetd(sandbox):
    d = Inetd(sandbox)
    yield d
    d.stop_all()


class Xinetd:
    """A private xinetd (``-dontfork -f conf``) with one UNLISTED service per
    ``start()``; each start runs its own xinetd so services are independent."""

    def __init__(self, sb: Sandbox):
        self.sb = sb
        self.listeners: list[Listener] = []

    def start(self, program: str, *args: str, host: str = "127.0.0.1", port: int | None = None,
              env: dict | None = None, conf: Path | None = None,
              server: str | None = None, server_args: str | None = None) -> Listener:
        exe = server or str(find_bin(program) if program in PROGRAMS else program)
        if server_args is None:
            server_args = " ".join(["-c", str(conf or self.sb.conf), *args])
        port = port or free_port(host)
        name = f"postern-test-{Path(program).name}-{port}"
        envs = {"POSTERN_LOG_FILE": str(self.sb.log),
                "POSTERN_LOG_LEVEL": self.sb.env["POSTERN_LOG_LEVEL"]} | (env or {})
        for k, v in envs.items():
            if any(c.isspace() for c in v):
                raise ValueError(f"xinetd env values cannot hold spaces: {k}={v!r}")
        d = self.sb.root / f"xinetd-{port}"
        d.mkdir()
        user = f"\tuser = {pwd.getpwuid(os.geteuid()).pw_name}\n" if os.geteuid() == 0 else ""
        (d / "xinetd.conf").write_text(
            "defaults\n{\n\tinstances = 60\n\tper_source = UNLIMITED\n\tcps = 10000 1\n}\n"
            f"service {name}\n{{\n"
            "\ttype = UNLISTED\n"
            f"\tport = {port}\n\tbind = {host}\n"
            "\tsocket_type = stream\n\tprotocol = tcp\n\twait = no\n"
            f"{user}"
            f"\tserver = {exe}\n"
            + (f"\tserver_args = {server_args}\n" if server_args else "")
            + "\tenv = " + " ".join(f"{k}={v}" for k, v in envs.items()) + "\n"
            "\tflags = NODELAY\n}\n")
        log = d / "xinetd.log"
        proc = subprocess.Popen(
            ["xinetd", "-dontfork", "-f", str(d / "xinetd.conf"), "-pidfile", str(d / "pid"),
             "-filelog", str(log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=(d / "stderr").open("wb"), start_new_session=True)
        lst = Listener(host, port, proc, log)
        self.listeners.append(lst)
        try:
            wait_listening(host, port, proc)
        except RuntimeError as e:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{e}\n{text}{(d / 'stderr').read_text(errors='replace')}") from None
        return lst

    def stop_all(self) -> None:
        for lst in self.listeners:
            lst.stop()


@pytest.fixture
def xinetd(sandbox):
    d = Xinetd(sandbox)
    yield d
    d.stop_all()


# --------------------------------------------------------------------------
# cwrap: PAM and "root" without real users (shared/NOTES.md)

CWRAP_LIBDIR = Path("/usr/lib/x86_64-linux-gnu")
PAM_MATRIX = CWRAP_LIBDIR / "pam_wrapper" / "pam_matrix.so"


@pytest.fixture
def cwrap(sandbox):
    """Environment (dict) for a server under uid/nss/pam_wrapper: the process
    believes it is root, getpwnam("alice") answers from sandbox files, and PAM
    services imap/pop/smtp check passwords with pam_matrix against
    ``<sandbox>/cwrap/passdb-<service>`` (alice's password is ALICE_PASSWORD). Use
    ``sandbox.write_conf(auth="pam")`` with it. Never put this around cargo."""
    t = sandbox.root / "cwrap"
    (t / "pam.d").mkdir(parents=True)
    home = sandbox.home("alice")
    (t / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        f"alice:x:{TEST_UID}:{TEST_GID}:Alice:{home}:/bin/sh\n"
        f"locked:x:{TEST_UID + 1}:{TEST_GID}:Locked:{home}:/bin/sh\n")
    (t / "group").write_text(f"root:x:0:\nmail:x:8:\nalice:x:{TEST_GID}:\n")
    # One passdb per service: pam_matrix's acct_mgmt looks at the user's
    # first line only and refuses when its service is another one.
    for s in ("imap", "pop", "smtp"):
        (t / f"passdb-{s}").write_text(f"alice:{ALICE_PASSWORD}:{s}\n")
        (t / "pam.d" / s).write_text("".join(
            f"{kind} required {PAM_MATRIX} passdb={t / f'passdb-{s}'}\n"
            for kind in ("auth", "account", "password", "session")))
    return {
        "LD_PRELOAD": ":".join(str(CWRAP_LIBDIR / lib) for lib in
                               ("libuid_wrapper.so", "libnss_wrapper.so", "libpam_wrapper.so")),
        "UID_WRAPPER": "1",
        "UID_WRAPPER_ROOT": "1",
        "NSS_WRAPPER_PASSWD": str(t / "passwd"),
        "NSS_WRAPPER_GROUP": str(t / "group"),
        "PAM_WRAPPER": "1",
        "PAM_WRAPPER_SERVICE_DIR": str(t / "pam.d"),
    }


# --------------------------------------------------------------------------
# small protocol helper


def read_until(sock: socket.socket, marker: bytes, limit: int = 1 << 20,
               timeout: float = 10.0) -> bytes:
    """Read from sock until marker is seen (bounded in bytes and time)."""
    sock.settimeout(timeout)
    buf = b""
    while marker not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        if len(buf) > limit:
            raise AssertionError(f"more than {limit} bytes without {marker!r}")
    return buf


__all__ = [
    "ALICE_PASSWORD", "BOB_PASSWORD", "Sandbox", "Listener", "make_message", "mbox_entry",
    "from_line", "free_port", "read_until", "find_bin", "is_stub", "TLS_FIXTURES",
]
