#!/bin/sh
# install-test-deps.sh — make sure this Debian machine has what `make test` needs.
#
# Checks with dpkg-query; installs what is missing with apt-get when run as root,
# otherwise names the missing packages and fails. Quick and silent when all is
# present (no apt-get update then). Daemons that package scripts would start
# (dovecot, exim) are kept from starting with a temporary policy-rc.d, so the
# tests' loopback ports and the machine stay free.
set -eu

PKGS="libpam0g-dev socat xinetd openssl curl fetchmail isync swaks python3
libpam-wrapper libnss-wrapper libuid-wrapper dovecot-imapd dovecot-pop3d procps"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done

# pytest for the python3 on PATH (which may not be Debian's /usr/bin/python3)
need_pytest=no
if ! python3 -m pytest --version >/dev/null 2>&1; then
    need_pytest=yes
    if [ "$(command -v python3 || true)" = /usr/bin/python3 ]; then
        missing="$missing python3-pytest"; need_pytest=apt
    fi
fi

if [ -z "$missing" ] && [ "$need_pytest" = no ]; then
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    [ -n "$missing" ] && echo "install-test-deps: missing Debian packages:$missing" >&2
    [ "$need_pytest" = yes ] && echo "install-test-deps: missing pytest for $(command -v python3): python3 -m pip install pytest" >&2
    echo "install-test-deps: run as root (or: sudo apt-get install$missing) and try again" >&2
    exit 1
fi

if [ -n "$missing" ]; then
    echo "install-test-deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # Keep maintainer scripts from starting dovecot/exim (invoke-rc.d and
    # deb-systemd-invoke both honour policy-rc.d exit code 101).
    prc=/usr/sbin/policy-rc.d
    own_prc=no
    if [ ! -e "$prc" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod 0755 "$prc"; own_prc=yes
    fi
    cleanup() { [ "$own_prc" = yes ] && rm -f "$prc"; return 0; }
    trap cleanup EXIT INT TERM
    # daemons already running before we started are not ours to stop
    before=$(pgrep -x 'dovecot|exim4' || true)
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    for pid in $(pgrep -x 'dovecot|exim4' || true); do
        case " $(echo $before) " in *" $pid "*) ;; *)
            echo "install-test-deps: stopping daemon pid $pid started by the package install"
            kill "$pid" 2>/dev/null || true ;;
        esac
    done
fi

if [ "$need_pytest" = yes ]; then
    echo "install-test-deps: installing pytest for $(command -v python3)"
    python3 -m pip install -q pytest
fi
python3 -m pytest --version >/dev/null 2>&1 || { echo "install-test-deps: pytest still missing" >&2; exit 1; }
