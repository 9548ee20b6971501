#!/bin/sh
# bench/store.sh — time the mbox store (issue 3) on generated corpora:
# open + full scan, expunge of message 1 (first write, then again), a flag
# change in place, append of a ~1 MB message with fsync, sync after it,
# and peak RSS. Release build; page cache warmed first.
#
# Env: GEN (path of gen_mbox.py, default: the side-by-side kit's copy),
#      WORKDIR (corpora and scratch space, default /tmp/postern-bench),
#      CORPUS (directory with ready-made big10k.mbox, small100k.mbox and
#      append-1m.eml, read only, e.g. /tmp/corpus; default WORKDIR).
# Each expunge also prints its phases [write, fsync, rename+dirsync]:
# "without the final fsync" is the total minus the fsync phase.
set -eu
cd "$(dirname "$0")/.."
GEN=${GEN:-/work/shared/bench/gen_mbox.py}
W=${WORKDIR:-/tmp/postern-bench}
mkdir -p "$W"
C=${CORPUS:-$W}
if [ "$C" != "$W" ]; then
  for f in big10k.mbox small100k.mbox append-1m.eml; do
    [ -f "$C/$f" ] || { echo "missing $C/$f" >&2; exit 2; }
  done
elif [ ! -f "$W/big10k.mbox" ] || [ ! -f "$W/small100k.mbox" ] || [ ! -f "$W/append-1m.eml" ]; then
  [ -f "$GEN" ] || { echo "need gen_mbox.py (set GEN=...)" >&2; exit 2; }
  [ -f "$W/big10k.mbox" ] || python3 "$GEN" --count 10000 --seed 1 --out "$W/big10k.mbox" >/dev/null
  [ -f "$W/small100k.mbox" ] || python3 "$GEN" --count 100000 --seed 2 --profile small --out "$W/small100k.mbox" >/dev/null
  [ -f "$W/append-1m.eml" ] || python3 "$GEN" --one-message 1048576 --seed 3 --out "$W/append-1m.eml" >/dev/null
fi
cargo build --quiet --release --example mbox_bench
for f in big10k small100k; do
  echo "== $f ($(du -hL "$C/$f.mbox" | cut -f1))"
  cat "$C/$f.mbox" > /dev/null
  target/release/examples/mbox_bench "$C/$f.mbox" "$C/append-1m.eml" "$W/work"
done
