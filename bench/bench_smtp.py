"""SMTP (issue 6): postern's smtpd and Exim, both as a new process per
connection under a private xinetd on 127.0.0.1:<high port>, delivering
locally into an mbox.

  - sequential deliveries of a ~4 KB message, one connection each
    (greeting, EHLO, MAIL, RCPT, DATA, QUIT): messages per second;
  - one 10 MB message over STARTTLS: DATA to final 250, as MB/s.

postern: `smtpd -c conf` with smtp_mode = mx, recipient bench@bench.test from
the passwd-file, running as the unprivileged bench account (so it delivers
without switching users). Exim: `exim4 -C <private config> -bs -odi` (Exim
drops to its own user because of -C, and delivers with appendfile to an mbox
as that user). Each server writes and syncs the mbox its own way (postern
fsyncs before its 250; Exim fsyncs its spool files, then appends).
"""
import os
import pwd
import shutil
import socket
import ssl
import time

from benchlib import (QUICK, Stream, Xinetd, corpus, fresh_dir, log, median, pct, postern_env,
                      write_postern_conf)

RCPT = b"bench@bench.test"


def dot_stuff(msg):
    lines = msg.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines)


def expect(s, code, what):
    line = s.readline(60)
    while len(line) >= 4 and line[3:4] == b"-":
        line = s.readline(60)
    if not line.startswith(code):
        raise RuntimeError("%s: %r" % (what, line[:120]))
    return line


def deliver(port, body, tls_ctx=None):
    """One SMTP session delivering body (already dot-stuffed, CRLF).
    -> (session seconds, DATA..250 seconds)"""
    t0 = time.perf_counter()
    raw = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = Stream(sock=raw)
        expect(s, b"220", "greeting")
        s.write(b"EHLO client.bench.test\r\n")
        expect(s, b"250", "EHLO")
        if tls_ctx is not None:
            s.write(b"STARTTLS\r\n")
            expect(s, b"220", "STARTTLS")
            tls = tls_ctx.wrap_socket(raw, server_hostname="localhost")
            s = Stream(sock=tls)
            s.write(b"EHLO client.bench.test\r\n")
            expect(s, b"250", "EHLO after STARTTLS")
        s.write(b"MAIL FROM:<sender@example.org> SIZE=%d\r\n" % len(body))
        expect(s, b"250", "MAIL")
        s.write(b"RCPT TO:<" + RCPT + b">\r\n")
        expect(s, b"250", "RCPT")
        t1 = time.perf_counter()
        s.write(b"DATA\r\n")
        expect(s, b"354", "DATA")
        s.write(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        expect(s, b"250", "end of DATA")
        t2 = time.perf_counter()
        s.write(b"QUIT\r\n")
        expect(s, b"221", "QUIT")
        t3 = time.perf_counter()
        s.drain(5)
        return t3 - t0, t2 - t1
    finally:
        raw.close()


def count_messages(path):
    n = 0
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"From "):
                n += 1
    return n


def exim_conf(d, mbox, certs):
    """A private Exim configuration: local delivery of bench@bench.test into one mbox file."""
    ex = pwd.getpwnam("Debian-exim")
    for sub in ("spool", "log"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chown(os.path.join(d, sub), ex.pw_uid, ex.pw_gid)
    key = os.path.join(d, "smtpd.pem")
    shutil.copyfile(os.path.join(certs, "smtpd.pem"), key)
    os.chown(key, ex.pw_uid, ex.pw_gid)
    os.chmod(key, 0o600)
    path = os.path.join(d, "exim.conf")
    with open(path, "w") as f:
        f.write("""# written by bench/bench_smtp.py
primary_hostname = bench.test
domainlist local_domains = bench.test
acl_smtp_rcpt = acl_check_rcpt
spool_directory = %(d)s/spool
log_file_path = %(d)s/log/%%slog
never_users = root
host_lookup =
rfc1413_hosts =
keep_environment =
tls_advertise_hosts = *
tls_certificate = %(key)s
tls_privatekey = %(key)s
message_size_limit = 50M
begin acl
acl_check_rcpt:
  accept domains = +local_domains
  deny
begin routers
local:
  driver = accept
  domains = +local_domains
  local_parts = bench
  transport = mbox
begin transports
mbox:
  driver = appendfile
  file = %(mbox)s
  user = Debian-exim
  group = Debian-exim
  mode = 0600
  delivery_date_add
  envelope_to_add
  return_path_add
""" % {"d": d, "key": key, "mbox": mbox})
    return path


def run(results, work, ours=True, peer=True):
    base = fresh_dir(os.path.join(work, "smtp"))
    n_max = int(os.environ.get("BENCH_SMTP_MSGS", "50" if QUICK else "400"))
    t_max = float(os.environ.get("BENCH_SMTP_SECONDS", "10" if QUICK else "30"))
    small = dot_stuff(open(corpus("smtp-4k")[0], "rb").read())
    big = dot_stuff(open(corpus("smtp-10m")[0], "rb").read())
    ctx = ssl.create_default_context(cafile=os.path.join(work, "ca.pem"))
    section = "SMTP, new process per connection under xinetd, local delivery to mbox (issue 6)"
    listeners, figs = [], {}
    try:
        if ours:
            spool = os.path.join(base, "postern-spool")
            os.makedirs(spool)
            os.chmod(spool, 0o1777)
            conf = write_postern_conf(os.path.join(base, "postern.conf"), work, os.path.join(spool, "%u"),
                                      os.path.join(work, "home", "mail"), smtp_mode="mx")
            try:
                x = Xinetd(work, "smtpd", os.path.join(work, "bin", "smtpd"), "-c %s" % conf, env=postern_env(work))
                listeners.append(x)
                figs["postern"] = {"port": x.port, "mbox": os.path.join(spool, "bench")}
            except Exception as e:
                figs["postern"] = {"error": str(e)[:200]}
        if peer:
            if os.path.exists("/usr/sbin/exim4") and os.geteuid() == 0:
                d = fresh_dir(os.path.join(base, "exim"))
                ex_spool = os.path.join(d, "mail")
                os.makedirs(ex_spool)
                os.chmod(ex_spool, 0o1777)
                mbox = os.path.join(ex_spool, "bench")
                conf = exim_conf(d, mbox, os.path.join(work, "certs"))
                try:
                    x = Xinetd(work, "exim", "/usr/sbin/exim4", "-C %s -bs -odi" % conf, user="root")
                    listeners.append(x)
                    figs["exim"] = {"port": x.port, "mbox": mbox}
                except Exception as e:
                    figs["exim"] = {"error": str(e)[:200]}
            else:
                results.note("SMTP peer needs /usr/sbin/exim4 and root")
        for who, f in figs.items():
            if "error" in f:
                continue
            try:
                deliver(f["port"], small)  # warm-up
                lat = []
                t0 = time.perf_counter()
                while len(lat) < n_max and time.perf_counter() - t0 < t_max:
                    lat.append(deliver(f["port"], small)[0])
                wall = time.perf_counter() - t0
                f["rate"], f["p50"], f["p99"], f["n"] = len(lat) / wall, median(lat), pct(lat, 99), len(lat)
                f["delivered"] = count_messages(f["mbox"])
                f["expected"] = len(lat) + 1
                log("  smtp %s: %d msgs in %.1f s = %.1f msg/s, p50 %.1f ms, delivered %d/%d" % (
                    who, len(lat), wall, f["rate"], f["p50"] * 1e3, f["delivered"], f["expected"]))
                big_runs = []
                for _ in range(1 if QUICK else 3):
                    total, data = deliver(f["port"], big, tls_ctx=ctx)
                    big_runs.append((total, data))
                f["big_total"] = median([b[0] for b in big_runs])
                f["big_data"] = median([b[1] for b in big_runs])
                f["big_mbps"] = len(big) / 1e6 / f["big_data"]
                log("  smtp %s: 10 MB over STARTTLS: DATA→250 %.3f s (%.1f MB/s), session %.3f s" % (
                    who, f["big_data"], f["big_mbps"], f["big_total"]))
            except Exception as e:
                log("  smtp %s failed: %s" % (who, e))
                f["error"] = str(e)[:200]
        o, p = figs.get("postern", {}), figs.get("exim", {})
        note = "postern: " + o["error"] if "error" in o else ""
        dn = "delivered %s/%s, %s/%s" % (o.get("delivered", "–"), o.get("expected", "–"),
                                         p.get("delivered", "–"), p.get("expected", "–"))
        results.add(section, "4 KB messages, sequential, one connection each: msg/s", o.get("rate"),
                    p.get("rate"), unit="msg/s", target=200, better="higher", note=note or dn)
        results.add(section, "  per session: median", o.get("p50"), p.get("p50"))
        results.add(section, "  per session: p99", o.get("p99"), p.get("p99"))
        results.add(section, "10 MB message over STARTTLS: DATA → 250, MB/s", o.get("big_mbps"), p.get("big_mbps"),
                    unit="MB/s", target=100, better="higher", note="%.1f MB" % (len(big) / 1e6))
        results.add(section, "10 MB message over STARTTLS: whole session", o.get("big_total"), p.get("big_total"))
        if "error" in p:
            results.note("Exim: %s" % p["error"])
    finally:
        for x in listeners:
            x.stop()
