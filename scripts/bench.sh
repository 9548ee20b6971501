#!/bin/sh
# scripts/bench.sh — `make bench`: postern's benchmark suite (bench/run.py).
#
# Builds the release binaries (cargo is a no-op when they are current; set
# BENCH_NO_BUILD=1 to skip, POSTERN_BIN_DIR to use other binaries), then runs
# every benchmark against postern and, in the same run on the same files,
# against Dovecot (IMAP/POP3) and Exim (SMTP) when they are installed.
# Corpora are generated once into bench/out/data (~650 MB); results go to
# bench/out/results-<date>.md and stdout.
#
#   make bench                 full run, about 10 minutes
#   QUICK=1 make bench         smoke run: small corpora, 1 repetition, 50 sessions
#   scripts/bench.sh --only imap,pop3 --servers postern
#
# Needs: python3, xinetd (private instances on 127.0.0.1 high ports), setpriv.
# Run as root for the peers and for running servers as an unprivileged uid
# (BENCH_USER, default nobody); as another user the servers run as that user.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${BENCH_NO_BUILD:-}" ] && [ -z "${POSTERN_BIN_DIR:-}" ]; then
    # the store's own benchmark program, when the tree has it (issue 3)
    ex=""; [ -f examples/mbox_bench.rs ] && ex="--example mbox_bench"
    # shellcheck disable=SC2086
    ${CARGO:-cargo} build --release --quiet --bins $ex
fi
BENCH_VIA_MAKE=1 exec ${PYTHON:-python3} bench/run.py "$@"
