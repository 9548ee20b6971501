"""Shared pieces of postern's benchmark drivers: paths, the unprivileged
account servers run as, corpora, fast protocol clients over pipes and
sockets, process peak RSS, private Dovecot/xinetd configurations and the
results table.

Every server here runs as an unprivileged uid (default: the system account
`nobody`) because postern greets PREAUTH on pipes only when not root and
Dovecot refuses uid 0; files it touches are chowned to that uid.
"""
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.environ.get("BENCH_OUT") or os.path.join(HERE, "out")
DATA = os.path.join(OUT, "data")
WORK = os.environ.get("BENCH_WORK") or os.path.join(OUT, "work")
QUICK = os.environ.get("QUICK", "") not in ("", "0")
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))  # one response, seconds
DOVECOT_DIR = "/usr/lib/dovecot"
TLS_FIXTURES = os.path.join(ROOT, "tests", "fixtures", "tls")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# statistics

def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, p):
    """p-th percentile, nearest rank (p99 of 500 = the 495th)."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


# --------------------------------------------------------------------------
# the account servers run as

class Account:
    """Unprivileged uid/gid the servers run as, and a name for it."""

    def __init__(self):
        name = os.environ.get("BENCH_USER", "nobody")
        if os.geteuid() == 0:
            pw = pwd.getpwnam(name)
            self.name, self.uid, self.gid = pw.pw_name, pw.pw_uid, pw.pw_gid
        else:
            pw = pwd.getpwuid(os.getuid())
            self.name, self.uid, self.gid = pw.pw_name, os.getuid(), os.getgid()
        self.root = os.geteuid() == 0

    def priv(self):
        """argv prefix that drops to the account before exec (pid stays the server's)."""
        if not self.root:
            return []
        return ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid, "--clear-groups"]

    def chown(self, *paths):
        if not self.root:
            return
        for p in paths:
            if os.path.isdir(p) and not os.path.islink(p):
                for d, dirs, files in os.walk(p):
                    os.chown(d, self.uid, self.gid)
                    for f in files:
                        os.lchown(os.path.join(d, f), self.uid, self.gid)
            elif os.path.lexists(p):
                os.lchown(p, self.uid, self.gid)


ACCOUNT = None


def account():
    global ACCOUNT
    if ACCOUNT is None:
        ACCOUNT = Account()
    return ACCOUNT


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    os.chmod(path, 0o755)
    return path


def ensure_traversable(path):
    """Let the unprivileged account reach files below path."""
    p = os.path.abspath(path)
    while p != "/":
        st = os.stat(p)
        if not st.st_mode & 0o001:
            os.chmod(p, st.st_mode | 0o011)
        p = os.path.dirname(p)


# --------------------------------------------------------------------------
# corpora

CORPORA = {
    # name: (gen args, quick gen args)
    "big": (["--profile", "big", "--count", "10000", "--seed", "1"],
            ["--profile", "big", "--count", "1000", "--seed", "1"]),
    "small": (["--profile", "small", "--count", "100000", "--seed", "2"],
              ["--profile", "small", "--count", "10000", "--seed", "2"]),
    "append-1m": (["--one-message", "1048576", "--seed", "3"],) * 2,
    "smtp-4k": (["--one-message", "4096", "--seed", "4"],) * 2,
    "smtp-10m": (["--one-message", "10485760", "--seed", "5"],) * 2,
}


def corpus(name):
    """Path and meta of a generated corpus, generated once and cached in
    bench/out/data (regenerated when the generator version or arguments change)."""
    args = CORPORA[name][1 if QUICK else 0]
    ext = ".eml" if "--one-message" in args else ".mbox"
    path = os.path.join(DATA, ("quick-" if QUICK and ext == ".mbox" else "") + name + ext)
    gen = os.path.join(HERE, "gen_mbox.py")
    stamp = path + ".args.json"
    want = {"args": args, "gen_mtime": int(os.path.getmtime(gen))}
    ok = os.path.exists(path) and os.path.exists(path + ".meta.json") and os.path.exists(stamp)
    if ok:
        try:
            ok = json.load(open(stamp)) == want
        except ValueError:
            ok = False
    if not ok:
        os.makedirs(DATA, exist_ok=True)
        log("generating %s (%s)" % (path, " ".join(args)))
        subprocess.check_call([sys.executable, gen] + args + ["--out", path])
        json.dump(want, open(stamp, "w"))
    return path, json.load(open(path + ".meta.json"))


def copy_file(src, dst):
    """A fresh copy; it stays in the page cache (warm), but no server index
    or cache of any kind exists for it (cold)."""
    shutil.copyfile(src, dst)


# --------------------------------------------------------------------------
# streams: one buffered reader for pipes and sockets, with timeouts

class Closed(Exception):
    pass


class Stream:
    def __init__(self, rfd=None, wfd=None, sock=None):
        self.sock = sock
        self.rfd, self.wfd = rfd, wfd
        self.buf = bytearray()
        self.nread = 0

    def _fill(self, timeout=TIMEOUT):
        if self.sock is not None:
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                raise TimeoutError("no answer within %.0f s" % timeout)
        else:
            r, _, _ = select.select([self.rfd], [], [], timeout)
            if not r:
                raise TimeoutError("no answer within %.0f s" % timeout)
            data = os.read(self.rfd, 1 << 20)
        if not data:
            raise Closed("connection closed by server")
        self.buf += data
        self.nread += len(data)

    def write(self, data):
        if self.sock is not None:
            self.sock.sendall(data)
            return
        view = memoryview(data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]

    def readline(self, timeout=TIMEOUT):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            self._fill(timeout)

    def read_until(self, marker, start=0, timeout=TIMEOUT):
        """Consume and return everything up to and including marker (searched from start)."""
        pos = start
        while True:
            i = self.buf.find(marker, pos)
            if i >= 0:
                out = bytes(self.buf[:i + len(marker)])
                del self.buf[:i + len(marker)]
                return out
            pos = max(start, len(self.buf) - len(marker) + 1)
            self._fill(timeout)

    def drain(self, timeout=10):
        try:
            while True:
                self._fill(timeout)
                self.buf.clear()
        except (Closed, OSError, TimeoutError):
            pass


LIT_RE = re.compile(rb"\{(\d+)\+?\}\r\n")


class Imap:
    """Minimal, fast IMAP client: responses are scanned with regexes in C, literals skipped
    by count, so the client is never what a FETCH 1:* measures."""

    def __init__(self, stream, timeout=TIMEOUT):
        self.s = stream
        self.n = 0
        self.timeout = timeout
        self.greeting = stream.readline(timeout)
        self.caps = b""

    def command(self, cmd, literal=None, keep=1 << 16):
        """-> dict(s=seconds, status, tagged, head=first `keep` bytes of the response,
        bytes=response size, lits=[literal sizes])"""
        self.n += 1
        tag = b"Q%04dz" % self.n
        s = self.s
        t0 = time.perf_counter()
        if literal is not None:
            s.write(tag + b" " + cmd + b" {%d}\r\n" % len(literal))
            line = s.readline(self.timeout)
            while not line.startswith(b"+"):
                if line.startswith(tag + b" "):
                    return {"s": time.perf_counter() - t0, "status": line.split()[1].decode(),
                            "tagged": line.decode(errors="replace").strip(), "head": b"", "bytes": 0, "lits": []}
                line = s.readline(self.timeout)
            s.write(literal + b"\r\n")
        else:
            s.write(tag + b" " + cmd + b"\r\n")
        tagre = re.compile(rb"\r\n" + re.escape(tag) + rb" ")
        head = bytearray()
        lits = []
        total = 0      # bytes consumed and dropped from s.buf so far
        pos = 0        # scan position in s.buf, never inside a literal
        buf = s.buf
        while len(buf) < len(tag) + 1:
            s._fill(self.timeout)
        if buf.startswith(tag + b" "):
            end_at = 0
        else:
            while True:
                m_tag = tagre.search(buf, max(0, pos - 2))
                m_lit = LIT_RE.search(buf, pos)
                if m_lit and (not m_tag or m_lit.start() < m_tag.start()):
                    n = int(m_lit.group(1))
                    lits.append(n)
                    need = m_lit.end() + n
                    while len(buf) < need:
                        # drop what is scanned and read on: a literal is skipped, not kept
                        if len(head) < keep:
                            head += buf[:keep - len(head)]
                        need -= len(buf)
                        total += len(buf)
                        buf.clear()
                        s._fill(self.timeout)
                    pos = need
                    continue
                if m_tag:
                    end_at = m_tag.start() + 2
                    break
                pos = max(pos, len(buf) - 32)
                if pos > (1 << 20):
                    cut = pos - 2
                    if len(head) < keep:
                        head += buf[:min(cut, keep - len(head))]
                    del buf[:cut]
                    total += cut
                    pos -= cut
                s._fill(self.timeout)
        if len(head) < keep:
            head += buf[:min(end_at, keep - len(head))]
        total += end_at
        del buf[:end_at]
        line = s.readline(self.timeout)
        total += len(line)
        dt = time.perf_counter() - t0
        parts = line.split(b" ", 2)
        return {"s": dt, "status": parts[1].decode(errors="replace") if len(parts) > 1 else "?",
                "tagged": line.decode(errors="replace").strip(), "head": bytes(head),
                "bytes": total, "lits": lits}


class Pop3:
    def __init__(self, stream, greeting=True, timeout=TIMEOUT):
        self.s = stream
        self.timeout = timeout
        self.greeting = stream.readline(timeout) if greeting else b""

    def cmd(self, c, multi=False):
        t0 = time.perf_counter()
        self.s.write(c + b"\r\n")
        first = self.s.readline(self.timeout)
        n = len(first)
        if multi and first.startswith(b"+OK"):
            if self.s.buf.startswith(b".\r\n"):
                del self.s.buf[:3]
                n += 3
            else:
                body = self.s.read_until(b"\r\n.\r\n", 0, self.timeout)
                n += len(body)
        return time.perf_counter() - t0, first.decode(errors="replace").strip(), n


# --------------------------------------------------------------------------
# processes on pipes

class PipeServer:
    """A server with its stdin/stdout on pipes (fd 0 is not a socket: postern
    greets PREAUTH as the invoking user when not root). argv must exec the
    server itself (env, setpriv do), so self.p.pid is the server's pid."""

    def __init__(self, argv, env=None, stderr_path=None, cwd=None):
        self.t0 = time.perf_counter()
        self.errf = open(stderr_path or os.devnull, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errf,
                                  bufsize=0, env=env, cwd=cwd or "/", start_new_session=True)
        self.stream = Stream(rfd=self.p.stdout.fileno(), wfd=self.p.stdin.fileno())

    def vmhwm_kb(self):
        try:
            with open("/proc/%d/status" % self.p.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def close(self, timeout=30):
        """Close stdin, wait for exit. -> (cpu seconds, ru_maxrss KB, exit status)."""
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.stream.drain(timeout)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.kill()
                pid, status, ru = os.wait4(self.p.pid, 0)
                break
            time.sleep(0.005)
        self.p.returncode = os.waitstatus_to_exitcode(status)
        self.p.stdout.close()
        self.errf.close()
        return ru.ru_utime + ru.ru_stime, ru.ru_maxrss, self.p.returncode

    def kill(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# --------------------------------------------------------------------------
# the programs under test

def postern_bin_dir():
    return os.environ.get("POSTERN_BIN_DIR") or os.path.join(ROOT, "target", "release")


def postern_status(prog):
    """None when the binary looks usable, else why not."""
    path = os.path.join(postern_bin_dir(), prog)
    if not os.access(path, os.X_OK):
        return "not built (%s)" % path
    try:
        out = subprocess.run([path, "-V"], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "does not run: %s" % e
    if not (out.stdout.strip() or out.stderr.strip()):
        return "still the skeleton's empty main (no -V output)"
    return None


def install_bins(work):
    """Copy the binaries where the unprivileged account can run them."""
    d = os.path.join(work, "bin")
    os.makedirs(d, exist_ok=True)
    for prog in ("imapd", "ipop3d", "smtpd"):
        src = os.path.join(postern_bin_dir(), prog)
        if os.path.exists(src):
            shutil.copy2(src, os.path.join(d, prog))
            os.chmod(os.path.join(d, prog), 0o755)
    return d


def install_certs(work):
    d = os.path.join(work, "certs")
    if not os.path.isdir(d):
        shutil.copytree(os.path.join(TLS_FIXTURES, "rsa"), d)
        shutil.copy2(os.path.join(TLS_FIXTURES, "ca.pem"), os.path.join(work, "ca.pem"))
    account().chown(d)
    return d


def write_postern_conf(path, work, inbox, mail_dir, **extra):
    """A postern.conf for one benchmark run (DESIGN.md keys only)."""
    keys = {
        "auth": "passwd-file:" + os.path.join(work, "passwd"),
        "inbox": inbox,
        "mail_dir": mail_dir,
        "cert_dir": os.path.join(work, "certs"),
        "hostname": "bench.test",
        "local_domains": "bench.test",
        "login_delay": "0",
    }
    keys.update(extra)
    with open(path, "w") as f:
        f.write("# written by bench/benchlib.py\n")
        for k, v in keys.items():
            if v is not None:
                f.write("%s = %s\n" % (k, v))
    os.chmod(path, 0o644)
    return path


BENCH_PASSWORD = "bench-pass-1"
BENCH_USERS = ("bench", "bench2")


def write_passwd(work, home):
    """passwd-file with users `bench` and `bench2` ({PLAIN}: the cheapest
    scheme, so a session benchmark measures the server, not the hash) at the
    account's uid; two users so two concurrent POP3 clients do not contend
    for one maildrop lock."""
    a = account()
    path = os.path.join(work, "passwd")
    with open(path, "w") as f:
        for user in BENCH_USERS:
            f.write("%s:{PLAIN}%s:%d:%d::%s:/bin/sh\n" % (user, BENCH_PASSWORD, a.uid, a.gid, home))
    os.chmod(path, 0o600)
    a.chown(path)
    return path


def postern_env(work):
    env = {"PATH": "/usr/bin:/bin"}
    logf = os.path.join(work, "postern.log")
    if not os.path.exists(logf):
        open(logf, "a").close()
        account().chown(logf)
    env["POSTERN_LOG_FILE"] = logf
    env["POSTERN_LOG_LEVEL"] = os.environ.get("POSTERN_LOG_LEVEL", "info")
    return env


def postern_pipe_argv(work, prog, conf):
    return account().priv() + [os.path.join(work, "bin", prog), "-c", conf]


def dovecot_available(prog):
    return os.access(os.path.join(DOVECOT_DIR, prog), os.X_OK)


def dovecot_standalone_conf(work):
    """Private config for /usr/lib/dovecot/{imap,pop3} on stdin/stdout
    (no daemon, never /etc/dovecot)."""
    path = os.path.join(work, "dovecot-standalone.conf")
    run = os.path.join(work, "dovecot-run")
    os.makedirs(run, exist_ok=True)
    account().chown(run)
    with open(path, "w") as f:
        f.write("""# written by bench/benchlib.py
base_dir = %(run)s
state_dir = %(run)s
log_path = /dev/stderr
protocols = imap pop3
ssl = no
first_valid_uid = 1
first_valid_gid = 1
mbox_read_locks = fcntl
mbox_write_locks = fcntl dotlock
mail_fsync = optimized
pop3_uidl_format = %%08Xu%%08Xv
""" % {"run": run})
    os.chmod(path, 0o644)
    return path


def dovecot_pipe_argv(work, prog, maildir, inbox):
    a = account()
    return (["env", "-i", "PATH=/usr/bin:/bin", "HOME=" + maildir, "USER=" + a.name] + a.priv() +
            [os.path.join(DOVECOT_DIR, prog), "-c", dovecot_standalone_conf(work),
             "-o", "mail_location=mbox:%s:INBOX=%s" % (maildir, inbox),
             "-o", "mail_uid=%d" % a.uid, "-o", "mail_gid=%d" % a.gid])


# --------------------------------------------------------------------------
# TCP listeners: a private xinetd per service

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("listener exited with %s" % proc.returncode)
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nothing listening on 127.0.0.1:%d" % port)


class Xinetd:
    """`xinetd -dontfork` with one UNLISTED service on 127.0.0.1:<free port>."""

    def __init__(self, work, name, server, server_args, env=None, user=None):
        self.port = free_port()
        d = os.path.join(work, "xinetd-%s-%d" % (name, self.port))
        os.makedirs(d, exist_ok=True)
        a = account()
        if user is None and a.root:
            user = str(a.uid)
        conf = os.path.join(d, "xinetd.conf")
        envline = " ".join("%s=%s" % kv for kv in (env or {}).items())
        with open(conf, "w") as f:
            f.write("defaults\n{\n\tinstances = 100\n\tper_source = UNLIMITED\n\tcps = 100000 1\n}\n"
                    "service bench-%s-%d\n{\n\ttype = UNLISTED\n\tport = %d\n\tbind = 127.0.0.1\n"
                    "\tsocket_type = stream\n\tprotocol = tcp\n\twait = no\n%s"
                    "\tserver = %s\n\tserver_args = %s\n%s\tflags = NODELAY\n}\n"
                    % (name, self.port, self.port, ("\tuser = %s\n\tgroup = %d\n" % (user, a.gid)) if user else "",
                       server, server_args, ("\tenv = %s\n" % envline) if envline else ""))
        self.log = os.path.join(d, "xinetd.log")
        self.proc = subprocess.Popen(["xinetd", "-dontfork", "-f", conf, "-pidfile", os.path.join(d, "pid"),
                                      "-filelog", self.log], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "wb"),
                                     start_new_session=True)
        try:
            wait_port(self.port, self.proc)
        except RuntimeError:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)


# --------------------------------------------------------------------------
# results

class Results:
    """Rows of (section, metric, postern, peer, unit, target, note); rendered
    as markdown with the ratio postern/peer."""

    def __init__(self):
        self.rows = []
        self.notes = []

    def add(self, section, metric, ours=None, peer=None, unit="s", target=None, note="", better="lower"):
        self.rows.append(dict(section=section, metric=metric, ours=ours, peer=peer, unit=unit,
                              target=target, note=note, better=better))

    def note(self, text):
        self.notes.append(text)

    @staticmethod
    def fmt(v, unit):
        if v is None:
            return "–"
        if isinstance(v, str):
            return v
        if unit == "s":
            return "%.2f ms" % (v * 1e3) if v < 0.1 else "%.3f s" % v
        if unit == "MB":
            return "%.1f MB" % v
        if unit in ("msg/s", "MB/s", "sess/s"):
            return "%.2f %s" % (v, unit) if v < 1000 else "%.0f %s" % (v, unit)
        return "%s %s" % (v, unit)

    def markdown(self, title, header_lines):
        out = ["# " + title, ""] + header_lines + [""]
        section = None
        for r in self.rows:
            if r["section"] != section:
                section = r["section"]
                out += ["", "## " + section, "",
                        "| metric | postern | peer | postern ÷ peer | target | note |",
                        "|---|---|---|---|---|---|"]
            ratio = "–"
            if isinstance(r["ours"], (int, float)) and isinstance(r["peer"], (int, float)) and r["peer"]:
                ratio = "%.2f" % (r["ours"] / r["peer"])
            verdict = ""
            if isinstance(r["ours"], (int, float)) and isinstance(r["target"], (int, float)):
                ok = r["ours"] <= r["target"] if r["better"] == "lower" else r["ours"] >= r["target"]
                verdict = " ✓" if ok else " ✗"
            tgt = ("%s %s" % ("≤" if r["better"] == "lower" else "≥", self.fmt(r["target"], r["unit"]))
                   if r["target"] is not None else "")
            out.append("| %s | %s | %s | %s | %s%s | %s |" % (
                r["metric"], self.fmt(r["ours"], r["unit"]), self.fmt(r["peer"], r["unit"]), ratio,
                tgt, verdict, r["note"]))
        if self.notes:
            out += ["", "## Notes", ""] + ["- " + n for n in self.notes]
        return "\n".join(out) + "\n"
