#!/usr/bin/env python3
"""smtpd delivery benchmark (issue 6, "Performance"), side by side with Exim.

Sequential deliveries over plain SMTP, one new server process per
connection (socat ... fork EXEC, as inetd does), 4 KB messages, fsync on,
into an mbox spool; then one 10 MB message over STARTTLS. Prints msgs/s per
run and the median of RUNS runs.

    scripts/smtpbench.py [--smtpd target/release/smtpd] [-n 300] [--runs 3]
                         [--exim] [--big] [--strace]

Run as root (as inetd would: smtpd forks/drops to the recipient). The
sandbox lives in a fresh /tmp directory and is removed afterwards; the
listener binds 127.0.0.1 on a free high port and is stopped at the end.
"""

import argparse
import os
import shutil
import smtplib
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UID = GID = 5000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listen(argv: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    exe = " ".join(argv)
    p = subprocess.Popen(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                          f"EXEC:{exe}"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    time.sleep(0.2)  # the probe connection's server exits
    return p, port


def message(size: int, i: int) -> bytes:
    head = (f"From: bench@client.test\r\nTo: alice@bench.test\r\n"
            f"Subject: bench {i}\r\nMessage-ID: <bench.{i}.{time.time_ns()}@client.test>\r\n\r\n")
    line = "The quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
    body = (line * (size // len(line) + 1))[: max(0, size - len(head) - 2)] + "\r\n"
    return (head + body).encode()


def run_seq(port: int, n: int, rcpt: str) -> float:
    msg = message(4096, 0)
    t0 = time.perf_counter()
    for _ in range(n):
        with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30) as s:
            s.sendmail("bench@client.test", [rcpt], msg)
    return n / (time.perf_counter() - t0)


def run_big(port: int, rcpt: str, ca: Path, mb: int = 10) -> float:
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False
    msg = message(mb * 1024 * 1024, 0)
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=120) as s:
        s.starttls(context=ctx)
        s.sendmail("bench@client.test", [rcpt], msg)
    return len(msg) / (time.perf_counter() - t0) / 1e6


def postern_sandbox(d: Path, extra: dict) -> Path:
    os.chmod(d, 0o755)
    spool = d / "spool"
    spool.mkdir()
    spool.chmod(0o1777)
    home = d / "home" / "alice"
    home.mkdir(parents=True)
    os.chown(home, UID, GID)
    certs = d / "certs"
    shutil.copytree(ROOT / "tests" / "fixtures" / "tls" / "rsa", certs)
    pw = d / "passwd"
    pw.write_text(f"alice:{{PLAIN}}x:{UID}:{GID}::{home}:/bin/sh\n")
    pw.chmod(0o600)
    conf = d / "postern.conf"
    s = {"auth": f"passwd-file:{pw}", "inbox": f"{spool}/%u", "mail_dir": f"{home}/mail",
         "cert_dir": str(certs), "hostname": "bench.test", "local_domains": "bench.test",
         "max_size": str(64 * 1024 * 1024)}
    s.update(extra)
    conf.write_text("".join(f"{k} = {v}\n" for k, v in s.items()))
    return conf


EXIM_CONF = """\
primary_hostname = bench.test
domainlist local_domains = bench.test
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
spool_directory = {d}/exim-spool
log_file_path = {d}/exim-%s.log
exim_user = root
exim_group = root
never_users =
trusted_users = root
host_lookup =
keep_environment =
rfc1413_hosts =
begin acl
acl_rcpt:
  accept domains = +local_domains
  deny
acl_data:
  accept
begin routers
local:
  driver = accept
  domains = +local_domains
  local_parts = alice
  transport = mbox
begin transports
mbox:
  driver = appendfile
  file = {d}/exim-mail/$local_part_data
  user = {uid}
  group = {gid}
  mode = 0600
  delivery_date_add
  envelope_to_add
  return_path_add
  use_fcntl_lock
  use_lockfile
begin retry
* * F,1h,10m
"""


def exim_setup(d: Path) -> Path:
    (d / "exim-spool").mkdir()
    (d / "exim-mail").mkdir()
    os.chmod(d / "exim-mail", 0o1777)
    conf = d / "exim.conf"
    conf.write_text(EXIM_CONF.format(d=d, uid=UID, gid=GID))
    return conf


def count(mbox: Path) -> int:
    if not mbox.exists():
        return 0
    return sum(1 for l in mbox.read_bytes().split(b"\n") if l.startswith(b"From "))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smtpd", default=str(ROOT / "target" / "release" / "smtpd"))
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--exim", action="store_true")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--strace", help="strace -f -c output file for one extra run")
    ap.add_argument("-o", action="append", default=[], help="extra postern.conf key=value")
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="smtpbench-"))
    procs = []
    try:
        conf = postern_sandbox(d, dict(kv.split("=", 1) for kv in a.o))
        p, port = listen([a.smtpd, "-c", str(conf), "-o", "smtp_mode=mx"])
        procs.append(p)
        rates = []
        for r in range(a.runs):
            rates.append(run_seq(port, a.n, "alice@bench.test"))
            print(f"postern run {r + 1}: {rates[-1]:.1f} msgs/s", flush=True)
        got = count(d / "spool" / "alice")
        print(f"postern median: {statistics.median(rates):.1f} msgs/s "
              f"({a.runs}x{a.n} messages, {got} in the mbox)")
        if a.big:
            big = [run_big(port, "alice@bench.test", ROOT / "tests" / "fixtures" / "tls" / "ca.pem") for _ in range(3)]
            print(f"postern 10 MB STARTTLS: {statistics.median(big):.1f} MB/s (runs {', '.join(f'{x:.1f}' for x in big)})")
        p.terminate()
        p.wait()
        procs.remove(p)
        if a.strace:
            p, port = listen(["strace", "-f", "-c", "-o", a.strace, a.smtpd, "-c", str(conf),
                              "-o", "smtp_mode=mx"])
            procs.append(p)
            run_seq(port, 50, "alice@bench.test")
        if a.exim:
            ec = exim_setup(d)
            p, port = listen(["/usr/sbin/exim4", "-C", str(ec), "-bs", "-odi"])
            procs.append(p)
            n = min(a.n, 300)
            er = []
            for r in range(a.runs):
                er.append(run_seq(port, n, "alice@bench.test"))
                print(f"exim run {r + 1}: {er[-1]:.1f} msgs/s", flush=True)
            print(f"exim median: {statistics.median(er):.1f} msgs/s "
                  f"({count(d / 'exim-mail' / 'alice')} in the mbox); "
                  f"postern/exim = {statistics.median(rates) / statistics.median(er):.1f}x")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
