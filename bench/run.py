#!/usr/bin/env python3
"""postern's benchmark suite: runs every benchmark against postern's release
binaries and, in the same run and on the same files, against the peer
(Dovecot for IMAP/POP3, Exim for SMTP) when it is installed; writes
bench/out/results-<date>.md and prints it.

  bench/run.py                 # everything (~10 min; corpora cached in bench/out/data)
  QUICK=1 bench/run.py         # smoke run: small corpora, 1 repetition, 50 sessions
  bench/run.py --only imap,pop3 --servers postern

Environment: POSTERN_BIN_DIR (default target/release), BENCH_REPS, BENCH_SESSIONS,
BENCH_USER (unprivileged account servers run as when started by root; default
nobody), BENCH_WORK, BENCH_OUT.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
from benchlib import OUT, QUICK, ROOT, WORK, Results, account, ensure_traversable, log  # noqa: E402

ALL = ["pop3", "imap", "store", "sessions", "smtp"]


def git_rev():
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(ALL), help="comma list of: " + ", ".join(ALL))
    ap.add_argument("--servers", default="postern,peer", help="postern, peer or both")
    ap.add_argument("--corpora", default="big,small")
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", "1" if QUICK else "3")))
    ap.add_argument("--sessions", type=int, default=int(os.environ.get("BENCH_SESSIONS", "50" if QUICK else "500")))
    a = ap.parse_args()
    only = [x for x in a.only.split(",") if x]
    servers = [x for x in a.servers.split(",") if x]
    corpora = [x for x in a.corpora.split(",") if x]
    os.makedirs(OUT, exist_ok=True)
    work = benchlib.fresh_dir(WORK)
    ensure_traversable(work)
    acct = account()
    benchlib.install_bins(work)
    benchlib.install_certs(work)
    home = os.path.join(work, "home")
    os.makedirs(home, exist_ok=True)
    acct.chown(home)
    benchlib.write_passwd(work, home)
    acct.chown(work)

    res = Results()
    status = {p: benchlib.postern_status(p) for p in ("imapd", "ipop3d", "smtpd")}
    for p, why in status.items():
        if why:
            res.note("postern %s: %s" % (p, why))
    t_start = time.time()
    load_start = os.getloadavg()[0]
    want_peer = "peer" in servers
    want_ours = "postern" in servers
    peer_imap = {}
    for name in only:
        log("== %s" % name)
        t = time.time()
        if name == "imap":
            import bench_imap
            kinds = (["postern"] if want_ours and not status["imapd"] else []) + (["dovecot"] if want_peer else [])
            peer_imap = bench_imap.run(res, work, a.reps, kinds, corpora)
        elif name == "store":
            import bench_store
            bench_store.run(res, work, a.reps, corpora, peer_imap)
        elif name == "pop3":
            import bench_pop3
            kinds = (["postern"] if want_ours and not status["ipop3d"] else []) + (["dovecot"] if want_peer else [])
            bench_pop3.run(res, work, a.reps, kinds)
        elif name == "sessions":
            import bench_sessions
            bench_sessions.run(res, work, a.sessions, ours=want_ours, status=status, peer=want_peer)
        elif name == "smtp":
            import bench_smtp
            bench_smtp.run(res, work, ours=want_ours and not status["smtpd"], peer=want_peer)
        else:
            log("unknown benchmark %s" % name)
        log("== %s done in %.0f s" % (name, time.time() - t))

    date = time.strftime("%Y-%m-%d", time.gmtime())
    header = [
        "Run %s UTC, commit %s, %s; %s CPUs, load average %.2f at start, %.2f at end; %s." % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime()), git_rev(), platform.platform(terse=True),
            os.cpu_count(), load_start, os.getloadavg()[0], "QUICK smoke run" if QUICK else "full run"),
        "Medians of %d repetitions on fresh copies (page cache warm, no server index or cache); "
        "sessions: %d sequential. Servers run as uid %d (%s). Binaries: %s. Total %.0f s." % (
            a.reps, a.sessions, acct.uid, acct.name, benchlib.postern_bin_dir(), time.time() - t_start),
        "Command: `%s`" % ("make bench" if os.environ.get("BENCH_VIA_MAKE") else " ".join(["bench/run.py"] + sys.argv[1:])),
        "Binaries built from: %s." % os.environ.get("BENCH_BUILD_NOTE", "this tree"),
        "\"postern ÷ peer\" below 1 means postern is faster/smaller (above 1 for msg/s and MB/s).",
    ]
    md = res.markdown("postern benchmarks %s" % date, header)
    path = os.path.join(OUT, "results-%s%s.md" % (date, "-quick" if QUICK else ""))
    with open(path, "w") as f:
        f.write(md)
    with open(path[:-3] + ".json", "w") as f:
        json.dump({"header": header, "rows": res.rows, "notes": res.notes}, f, indent=1)
    print(md)
    log("written to %s" % path)
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(work, ignore_errors=True)  # copies of the corpora, several hundred MB


if __name__ == "__main__":
    main()
