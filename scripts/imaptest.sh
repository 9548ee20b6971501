#!/bin/bash
# Run Dovecot's imaptest against the built imapd (not part of `make test`:
# imaptest is not packaged and CI cannot fetch it).
#
#   scripts/imaptest.sh                 scripted tests (every group in $IMAPTEST_TESTS)
#   scripts/imaptest.sh select          one group
#   STRESS=20 scripts/imaptest.sh       stress mode: 10 clients for 20 s instead
#
# Environment: IMAPTEST (binary, default /tmp/postern-tools/imaptest or
# `imaptest` on PATH), IMAPTEST_TESTS (scripted tests directory, default
# /tmp/postern-tools/imaptest-tests), IMAPD (default target/debug/imapd),
# PORT (default 14393), CLIENTS (stress, default 10), MBOX (stress: the
# messages to APPEND, default 100 generated ones).
#
# A throw-away sandbox (passwd-file user alice/secret, an mbox spool and
# mail_dir) is served on 127.0.0.1:$PORT by socat as inetd would, and
# removed afterwards. As root the user is uid 5000 (privileges drop as in
# production); otherwise it is the caller's uid.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
IMAPTEST=${IMAPTEST:-/tmp/postern-tools/imaptest}
[ -x "$IMAPTEST" ] || IMAPTEST=$(command -v imaptest || true)
IMAPTEST_TESTS=${IMAPTEST_TESTS:-/tmp/postern-tools/imaptest-tests}
IMAPD=${IMAPD:-$top/target/debug/imapd}
PORT=${PORT:-14393}
CLIENTS=${CLIENTS:-10}
GROUP=${1:-}

if [ -z "$IMAPTEST" ] || [ ! -x "$IMAPTEST" ]; then
    echo "imaptest not found: build it from https://github.com/dovecot/imaptest and set IMAPTEST" >&2
    exit 2
fi
command -v socat >/dev/null || { echo "socat is needed" >&2; exit 2; }
[ -x "$IMAPD" ] || (cd "$top" && cargo build --bin imapd)

sb=$(mktemp -d /tmp/postern-imaptest.XXXXXX)
socat_pid=
cleanup() {
    [ -n "$socat_pid" ] && kill "$socat_pid" 2>/dev/null || true
    rm -rf "$sb"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" = 0 ]; then uid=5000; gid=5000; else uid=$(id -u); gid=$(id -g); fi
mkdir -p "$sb/home/alice/mail" "$sb/spool"
: > "$sb/spool/alice"
chmod 600 "$sb/spool/alice"
cat > "$sb/passwd" <<EOF
alice:{PLAIN}secret:$uid:$gid::$sb/home/alice:/bin/sh
EOF
cat > "$sb/postern.conf" <<EOF
auth = passwd-file:$sb/passwd
inbox = $sb/spool/%u
mail_dir = %h/mail
cert_dir = $top/tests/fixtures/tls/rsa
plaintext_auth = yes
login_delay = 0
max_auth_failures = 100
mail_group =
EOF
if [ "$(id -u)" = 0 ]; then
    chmod 755 "$sb"
    chown -R "$uid:$gid" "$sb/home" "$sb/spool"
fi

socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" \
    EXEC:"$IMAPD -c $sb/postern.conf",nofork &
socat_pid=$!
i=0
while ! (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 50 ] || { echo "imapd did not start on port $PORT" >&2; exit 1; }
    sleep 0.1
done

set -- host=127.0.0.1 port="$PORT" user=alice pass=secret
if [ -n "${STRESS:-}" ]; then
    # Stress mode APPENDs messages taken from an mbox (MBOX=, else a
    # generated one of 100 small messages).
    if [ -z "${MBOX:-}" ]; then
        MBOX=$sb/source.mbox
        for n in $(seq 1 100); do
            printf 'From sender%d@example.org Mon Nov 23 10:%02d:00 2026\n' "$n" $((n % 60))
            printf 'From: Sender %d <sender%d@example.org>\nTo: alice@example.org\n' "$n" "$n"
            printf 'Subject: message %d\nMessage-ID: <%d@example.org>\n' "$n" "$n"
            printf 'Date: Mon, 23 Nov 2026 10:%02d:00 +0000\n\n' $((n % 60))
            for l in $(seq 1 $((n % 17 + 1))); do printf 'line %d of body %d\n' "$l" "$n"; done
            printf '\n'
        done > "$MBOX"
    fi
    "$IMAPTEST" "$@" mbox="$MBOX" clients="$CLIENTS" secs="$STRESS"
else
    "$IMAPTEST" "$@" test="$IMAPTEST_TESTS${GROUP:+/$GROUP}" 2>&1 | tee "$sb/out" | tail -n 40
    grep -a 'test groups:' "$sb/out" | grep -q ' 0 failed' || exit 1
fi
