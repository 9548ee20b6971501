"""Whole TLS sessions, a new server process per connection (issues 2, 4, 5):

  POP3S: connect, TLS handshake, greeting, USER/PASS, STAT on a small
         mailbox, QUIT (until the QUIT reply)
  IMAPS: connect, TLS handshake, greeting, LOGIN, SELECT a small INBOX,
         LOGOUT (until the tagged OK)

postern runs as `ipop3d -s` / `imapd -s` under a private xinetd on
127.0.0.1:<high port> as an unprivileged uid, with a passwd-file account
({PLAIN}, so the hash is not what is measured). The peer is a private
Dovecot daemon (its default one login process per connection, then an
imap/pop3 process) with the same certificate, passwd-file and mailbox.
N sequential sessions, then the same N from 2 concurrent clients; median and
p99 per session, and sessions per second. TLS 1.3, certificate verified
against the test CA, no session resumption.
"""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

from benchlib import (BENCH_PASSWORD, BENCH_USERS, Imap, Pop3, Stream, Xinetd, account, fresh_dir, free_port, log,
                      median, pct, postern_env, wait_port, write_postern_conf)

CORPUS_ARGS = ["--profile", "small", "--count", "20", "--seed", "7", "--big-size", "30000"]


def small_mailbox(work):
    """A 20-message mbox (one of them 30 KB), generated once per run."""
    path = os.path.join(work, "sessions-inbox.mbox")
    if not os.path.exists(path):
        gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_mbox.py")
        subprocess.check_call(["python3", gen] + CORPUS_ARGS + ["--out", path], stderr=subprocess.DEVNULL)
    return path


def pop3_session(port, ctx, user):
    t0 = time.perf_counter()
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        c = Pop3(Stream(sock=s), timeout=30)
        if not c.greeting.startswith(b"+OK"):
            raise RuntimeError("greeting %r" % c.greeting[:80])
        for cmd in (b"USER " + user.encode(), b"PASS " + BENCH_PASSWORD.encode(), b"STAT", b"QUIT"):
            _, reply, _ = c.cmd(cmd)
            if not reply.startswith("+OK"):
                raise RuntimeError("%s: %s" % (cmd.split()[0].decode(), reply[:100]))
        dt = time.perf_counter() - t0
        c.s.drain(5)
        return dt
    finally:
        raw.close()


def imap_session(port, ctx, user):
    t0 = time.perf_counter()
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        c = Imap(Stream(sock=s), timeout=30)
        if not c.greeting.startswith(b"* OK"):
            raise RuntimeError("greeting %r" % c.greeting[:80])
        for cmd in (b'LOGIN %s "%s"' % (user.encode(), BENCH_PASSWORD.encode()), b"SELECT INBOX", b"LOGOUT"):
            x = c.command(cmd)
            if x["status"] != "OK":
                raise RuntimeError("%s: %s" % (cmd.split()[0].decode(), x["tagged"][:100]))
        dt = time.perf_counter() - t0
        c.s.drain(5)
        return dt
    finally:
        raw.close()


def floor_session(port, ctx, user):
    """connect, xinetd forks and execs a trivial program that writes one line, EOF:
    the process-spawn floor of a per-connection server on this machine, now."""
    t0 = time.perf_counter()
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s = Stream(sock=raw)
        if not s.readline(30).startswith(b"+OK"):
            raise RuntimeError("floor: no +OK")
        dt = time.perf_counter() - t0
        s.drain(5)
        return dt
    finally:
        raw.close()


def measure(fn, port, ctx, n, clients):
    """n sessions split over `clients` threads -> (latencies, wall seconds, errors)."""
    lat, errors = [], []
    lock = threading.Lock()

    def worker(k, user):
        for _ in range(k):
            try:
                dt = fn(port, ctx, user)
                with lock:
                    lat.append(dt)
            except Exception as e:
                with lock:
                    errors.append(str(e)[:120])
                if len(errors) > 5:
                    return

    for _ in range(3):  # warm-up: binaries and certificates into the page cache
        try:
            fn(port, ctx, BENCH_USERS[0])
        except Exception as e:
            errors.append(str(e)[:120])
            return lat, 0.0, errors
    errors.clear()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n // clients, BENCH_USERS[i]))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, time.perf_counter() - t0, errors


class DovecotDaemon:
    """A private Dovecot master (never /etc/dovecot) with imaps and pop3s
    listeners on 127.0.0.1 high ports; mail as the bench account."""

    def __init__(self, work, certs, spool, maildir):
        a = account()
        self.dir = d = fresh_dir(os.path.join(work, "dovecot-daemon"))
        self.imaps, self.pop3s = free_port(), free_port()
        pw = os.path.join(d, "passwd")
        with open(pw, "w") as f:
            for user in BENCH_USERS:
                f.write("%s:{PLAIN}%s:%d:%d::%s\n" % (user, BENCH_PASSWORD, a.uid, a.gid, os.path.join(work, "home")))
        os.chmod(pw, 0o644)
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("""# written by bench/bench_sessions.py
base_dir = %(d)s/run
state_dir = %(d)s/state
log_path = %(d)s/log
instance_name = postern-bench
protocols = imap pop3
listen = 127.0.0.1
ssl = required
ssl_cert = <%(cert)s
ssl_key = <%(cert)s
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN %(pw)s
}
userdb {
  driver = passwd-file
  args = %(pw)s
}
mail_location = mbox:%(maildir)s:INBOX=%(spool)s
first_valid_uid = 1
first_valid_gid = 1
login_trusted_networks =
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = %(imaps)d
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = %(pop3s)d
    ssl = yes
  }
}
service anvil {
  client_limit = 1000
}
""" % {"d": d, "cert": os.path.join(certs, "imapd.pem"), "pw": pw, "maildir": maildir, "spool": spool,
                "imaps": self.imaps, "pop3s": self.pop3s})
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "wb"),
                                     start_new_session=True)
        try:
            wait_port(self.imaps, self.proc)
            wait_port(self.pop3s, self.proc)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError("%s: %s" % (e, open(os.path.join(d, "stderr")).read()[-300:]))

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)


def run(results, work, n, ours=True, status=None, peer=True):
    status = status or {}
    a = account()
    base = fresh_dir(os.path.join(work, "sessions"))
    spool = os.path.join(base, "spool")
    maildir = os.path.join(base, "mail")
    os.makedirs(spool)
    os.makedirs(maildir)
    os.chmod(spool, 0o1777)
    for user in BENCH_USERS:
        shutil.copyfile(small_mailbox(work), os.path.join(spool, user))
        a.chown(os.path.join(spool, user))
    a.chown(maildir)
    conf = write_postern_conf(os.path.join(base, "postern.conf"), work, os.path.join(spool, "%u"), maildir)
    ctx = ssl.create_default_context(cafile=os.path.join(work, "ca.pem"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    section = "Whole TLS sessions, new process per connection, %d sessions (issues 2, 4, 5)" % n
    env = postern_env(work)
    servers = {}
    listeners = []
    try:
        if ours:
            for proto, prog in (("pop3s", "ipop3d"), ("imaps", "imapd")):
                if status.get(prog):
                    servers[("postern", proto)] = "n/a: " + status[prog]
                    continue
                x = Xinetd(work, prog, os.path.join(work, "bin", prog), "-s -c %s" % conf, env=env)
                listeners.append(x)
                servers[("postern", proto)] = x.port
        if peer:
            if os.access("/usr/sbin/dovecot", os.X_OK) and os.geteuid() == 0:
                try:
                    dd = DovecotDaemon(work, os.path.join(work, "certs"), os.path.join(spool, "%u"), maildir)
                    listeners.append(dd)
                    servers[("dovecot", "pop3s")] = dd.pop3s
                    servers[("dovecot", "imaps")] = dd.imaps
                except Exception as e:
                    results.note("Dovecot daemon for the TLS sessions did not start: %s" % e)
            else:
                results.note("TLS-session peer needs /usr/sbin/dovecot and root")
        try:
            fl = Xinetd(work, "floor", "/bin/echo", "+OK floor")
            listeners.append(fl)
            lat, wall, errors = measure(floor_session, fl.port, None, n, 1)
            results.add(section, "floor: connect + xinetd fork/exec of /bin/echo + one line (no TLS)",
                        median(lat), None, note="p99 %.2f ms; the machine's spawn cost during this run" % (
                            pct(lat, 99) * 1e3) if lat else (errors[:1] or [""])[0])
        except Exception as e:
            results.note("spawn floor not measured: %s" % e)
        for proto, fn, target in (("pop3s", pop3_session, 0.004), ("imaps", imap_session, 0.004)):
            figs = {}
            for who in ("postern", "dovecot"):
                port = servers.get((who, proto))
                if port is None:
                    continue
                if isinstance(port, str):
                    figs[who] = {"error": port}
                    continue
                figs[who] = {}
                for clients in (1, 2):
                    lat, wall, errors = measure(fn, port, ctx, n, clients)
                    if errors and not lat:
                        figs[who]["error"] = errors[0]
                        log("  %s %s: %s" % (who, proto, errors[0]))
                        break
                    figs[who][clients] = {"p50": median(lat), "p99": pct(lat, 99), "rate": len(lat) / wall,
                                          "n": len(lat), "errors": len(errors),
                                          "first_error": errors[0] if errors else ""}
                    log("  %s %s x%d: %s" % (who, proto, clients, figs[who][clients]))
            what = {"pop3s": "POP3S session (TLS, USER/PASS, STAT, QUIT)",
                    "imaps": "IMAPS session (TLS, LOGIN, SELECT, LOGOUT)"}[proto]
            o, p = figs.get("postern", {}), figs.get("dovecot", {})
            for clients in (1, 2):
                oc, pc = o.get(clients, {}), p.get(clients, {})
                label = "%s, %s" % (what, "sequential" if clients == 1 else "2 concurrent clients")
                note = ""
                if "error" in o:
                    note = "postern: " + o["error"]
                elif oc.get("errors") or pc.get("errors"):
                    note = "errors %s/%s: %s" % (oc.get("errors", 0), pc.get("errors", 0),
                                                 oc.get("first_error") or pc.get("first_error"))
                results.add(section, label + ": median", oc.get("p50", "n/a" if "error" in o else None),
                            pc.get("p50"), target=target, note=note)
                results.add(section, label + ": p99", oc.get("p99"), pc.get("p99"))
                results.add(section, label + ": sessions/s", oc.get("rate"), pc.get("rate"), unit="sess/s",
                            better="higher")
            if "error" in p:
                results.note("Dovecot %s: %s" % (proto, p["error"]))
    finally:
        for x in listeners:
            x.stop()
