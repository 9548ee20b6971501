#!/bin/sh
# try.sh — run postern's three servers on 127.0.0.1 high ports, inetd style,
# from a throw-away sandbox in ./try/ (make try). Ctrl-C stops what it started.
#
#   scripts/try.sh [--setup-only] [--no-build] [--release]
#
# Sandbox: try/pki (test CA and certificates from tests/fixtures/tls/make-certs.sh),
# try/certs (cert_dir), try/passwd (user alice, random password, printed),
# try/spool/alice (INBOX with a few messages), try/home/alice/mail,
# try/postern.conf, try/log (server log through POSTERN_LOG_FILE).
# POSTERN_TRY_DIR=DIR puts the sandbox elsewhere (the tests use that);
# POSTERN_TRY_PORT_BASE=N moves the ports to N..N+6.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRY=${POSTERN_TRY_DIR:-$ROOT/try}
SETUP_ONLY=no BUILD=yes PROFILE=debug
for a in "$@"; do
    case $a in
        --setup-only) SETUP_ONLY=yes ;;
        --no-build) BUILD=no ;;
        --release) PROFILE=release ;;
        *) echo "usage: $0 [--setup-only] [--no-build] [--release]" >&2; exit 2 ;;
    esac
done
for tool in openssl socat; do
    command -v $tool >/dev/null || { echo "try: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done

if [ $BUILD = yes ]; then
    echo "== building ($PROFILE)"
    if [ $PROFILE = release ]; then (cd "$ROOT" && cargo build --release -q); else (cd "$ROOT" && cargo build -q); fi
fi
BIN=${POSTERN_BIN_DIR:-$ROOT/target/$PROFILE}

# ---------------------------------------------------------------- sandbox
echo "== sandbox in $TRY"
# only ever delete a directory this script made
if [ -e "$TRY" ] && [ ! -e "$TRY/.postern-try" ] && [ -n "$(ls -A "$TRY" 2>/dev/null)" ]; then
    echo "try: $TRY exists and was not made by try.sh; not touching it" >&2; exit 1
fi
rm -rf "$TRY"
mkdir -p "$TRY/spool" "$TRY/home/alice/mail" "$TRY/certs" "$TRY/run"
chmod 0755 "$TRY"
: >"$TRY/.postern-try"
chmod 1777 "$TRY/spool"   # dot-locks for every uid, like a shared /var/mail
"$ROOT/tests/fixtures/tls/make-certs.sh" "$TRY/pki" >/dev/null
cp "$TRY"/pki/rsa/*.pem "$TRY/certs/"

if [ "$(id -u)" = 0 ]; then UID_=5000 GID_=5000; else UID_=$(id -u) GID_=$(id -g); fi
PASS=$(openssl rand -base64 12 | tr -dc 'A-Za-z0-9' | cut -c1-12)
HASH=$(openssl passwd -6 "$PASS")
printf '# user:{SCHEME}secret:uid:gid:gecos:home:shell\nalice:{SHA512-CRYPT}%s:%s:%s:Alice:%s:/bin/sh\n' \
    "$HASH" "$UID_" "$GID_" "$TRY/home/alice" >"$TRY/passwd"
chmod 0600 "$TRY/passwd"
echo "$PASS" >"$TRY/password"; chmod 0600 "$TRY/password"

cat >"$TRY/postern.conf" <<CONF
# make try: everything inside $TRY
auth = passwd-file:$TRY/passwd
inbox = $TRY/spool/%u
mail_dir = $TRY/home/%u/mail
cert_dir = $TRY/certs
hostname = localhost
local_domains = localhost
login_delay = 1
CONF

msg() { # n subject body
    printf 'From sender@example.org %s\n' "$(LC_ALL=C date -u '+%a %b %e %H:%M:%S %Y')"
    printf 'From: Sender <sender@example.org>\nTo: alice@localhost\nSubject: %s\n' "$2"
    printf 'Date: %s\nMessage-ID: <try-%s@localhost>\n\n%s\n\n' "$(LC_ALL=C date -u -R)" "$1" "$3"
}
{
    msg 1 "Welcome to postern" "This INBOX is $TRY/spool/alice, a plain mbox file."
    msg 2 "A line that starts with From" ">From the server's point of view this is body text."
    msg 3 "Third message" "Delete me with POP3 DELE or IMAP STORE +FLAGS (\\Deleted) + EXPUNGE."
} >"$TRY/spool/alice"
chmod 0600 "$TRY/spool/alice"
if [ "$(id -u)" = 0 ]; then
    chown -R "$UID_:$GID_" "$TRY/home/alice" "$TRY/spool/alice"
    # as root the servers switch to uid $UID_, which must reach the sandbox
    if command -v setpriv >/dev/null &&
       ! setpriv --reuid "$UID_" --regid "$GID_" --clear-groups test -r "$TRY/spool/alice"; then
        echo "try: warning: uid $UID_ cannot reach $TRY (a parent directory is not searchable);" >&2
        echo "try: set POSTERN_TRY_DIR=/tmp/postern-try or chmod o+x the parents" >&2
    fi
fi

if [ $SETUP_ONLY = yes ]; then
    echo "sandbox ready (setup only); user alice, password $PASS"
    exit 0
fi

# ---------------------------------------------------------------- servers
# POSTERN_TRY_PORT_BASE=N: ports N..N+6 instead of the fixed ones below
# (imap, imaps, pop3, pop3s, smtp, submission, smtps), so parallel runs
# (the tests) do not clash.
if [ -n "${POSTERN_TRY_PORT_BASE:-}" ]; then
    B=$POSTERN_TRY_PORT_BASE
    P_IMAP=$B P_IMAPS=$((B + 1)) P_POP3=$((B + 2)) P_POP3S=$((B + 3))
    P_SMTP=$((B + 4)) P_SUB=$((B + 5)) P_SMTPS=$((B + 6))
else
    P_IMAP=10143 P_IMAPS=10993 P_POP3=10110 P_POP3S=10995
    P_SMTP=10025 P_SUB=10587 P_SMTPS=10465
fi
for b in imapd ipop3d smtpd; do
    [ -x "$BIN/$b" ] || { echo "try: $BIN/$b missing (build failed?)" >&2; exit 1; }
    if [ -z "$("$BIN/$b" -V 2>&1 </dev/null || true)" ]; then
        echo "try: warning: $b -V prints nothing; it may still be a stub" >&2
    fi
done

PIDS=""
stop() {
    trap - INT TERM EXIT
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    echo; echo "== stopped; the sandbox stays in $TRY (rm -rf try/ to remove)"
}
trap stop EXIT
trap 'exit 130' INT TERM

serve() { # port name program args...
    port=$1 name=$2 prog=$3; shift 3
    w="$TRY/run/$name.sh"
    # a wrapper: socat's EXEC: splits on spaces and treats ',' and ':' specially
    { echo '#!/bin/sh'; printf 'POSTERN_LOG_FILE=%s; export POSTERN_LOG_FILE\n' "'$TRY/log'"
      printf "exec '%s' -c '%s'" "$BIN/$prog" "$TRY/postern.conf"; printf ' %s' "$@"; echo; } >"$w"
    chmod 0755 "$w"
    # nofork: the server gets the TCP socket itself on fd 0/1, as under inetd
    socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "EXEC:$w,nofork" 2>>"$TRY/run/socat.log" &
    PIDS="$PIDS $!"
}
serve $P_IMAP imap       imapd
serve $P_IMAPS imaps      imapd  -s
serve $P_POP3 pop3       ipop3d
serve $P_POP3S pop3s      ipop3d -s
serve $P_SMTP smtp       smtpd  -o smtp_mode=mx
serve $P_SUB submission smtpd  -o smtp_mode=submission
serve $P_SMTPS smtps      smtpd  -s -o smtp_mode=submission
sleep 0.3
for p in $PIDS; do kill -0 "$p" 2>/dev/null || { echo "try: a listener failed to start, see $TRY/run/socat.log" >&2; exit 1; }; done

CA=$TRY/pki/ca.pem
cat <<EOF

postern is listening on 127.0.0.1 (user alice, password $PASS)

  port   service                   server
  $P_IMAP  IMAP + STARTTLS           imapd
  $P_IMAPS  IMAPS (implicit TLS)      imapd -s
  $P_POP3  POP3 + STLS               ipop3d
  $P_POP3S  POP3S (implicit TLS)      ipop3d -s
  $P_SMTP  SMTP, MX mode             smtpd -o smtp_mode=mx
  $P_SUB  submission + STARTTLS     smtpd -o smtp_mode=submission
  $P_SMTPS  submissions (implicit)    smtpd -s -o smtp_mode=submission

Try:
  openssl s_client -quiet -connect 127.0.0.1:$P_IMAPS -CAfile $CA
      a LOGIN alice $PASS
      b SELECT INBOX
      c FETCH 1:* (FLAGS ENVELOPE)
      d LOGOUT
  openssl s_client -quiet -starttls imap -connect 127.0.0.1:$P_IMAP -CAfile $CA
  openssl s_client -quiet -starttls pop3 -connect 127.0.0.1:$P_POP3 -CAfile $CA
  curl --cacert $CA 'imaps://127.0.0.1:$P_IMAPS/INBOX' -u alice:$PASS
  curl --cacert $CA 'imaps://127.0.0.1:$P_IMAPS/INBOX;UID=1' -u alice:$PASS
  curl --cacert $CA 'pop3s://127.0.0.1:$P_POP3S/1' -u alice:$PASS
  swaks --server 127.0.0.1:$P_SMTP --to alice@localhost
  swaks --server 127.0.0.1:$P_SUB --tls --tls-ca-path $CA --auth PLAIN \\
        --auth-user alice --auth-password $PASS --to alice@localhost
  (curl -k … also works; the certificates are for localhost and 127.0.0.1)

Mail client (Thunderbird, mutt, …): server 127.0.0.1, user alice, the password
above, IMAP port $P_IMAPS SSL/TLS or $P_IMAP STARTTLS, SMTP $P_SUB STARTTLS; accept
or import the test CA $CA.
mutt: mutt -f 'imaps://alice@127.0.0.1:$P_IMAPS/INBOX'
      -e 'set ssl_ca_certificates_file=$CA'

Files: INBOX $TRY/spool/alice   log $TRY/log   config $TRY/postern.conf
Ctrl-C stops the servers.
EOF
wait
