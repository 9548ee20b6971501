"""Smoke tests: the binaries start, and the harness itself does what the
protocol tests rely on (sandbox layout, mbox delivery, the inetd contract of
socat ``nofork`` and of a private xinetd: the TCP socket itself on fd 0/1)."""

import os
import re
import socket
import subprocess
import sys
import tomllib

import pytest

from conftest import (ALICE_PASSWORD, PROGRAMS, ROOT, free_port, is_stub, make_message,
                      read_until, wait_listening)

VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]


@pytest.mark.parametrize("program", PROGRAMS)
def test_version_flag(postern_bin, program):
    path = postern_bin(program)
    if is_stub(path):
        pytest.xfail(f"{program} is still the skeleton's empty main")
    out = subprocess.run([str(path), "-V"], capture_output=True, text=True, timeout=10,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out
    assert VERSION in out.stdout, out.stdout


def test_sandbox_has_config_accounts_and_certs(sandbox):
    conf = sandbox.conf.read_text()
    for key in ("auth = passwd-file:", "inbox = ", "mail_dir = ", "cert_dir = ", "login_delay = 0"):
        assert key in conf
    lines = [l for l in sandbox.passwd_file.read_text().splitlines() if not l.startswith("#")]
    assert lines[0].startswith(f"alice:{{PLAIN}}{ALICE_PASSWORD}:{sandbox.uid}:{sandbox.gid}:")
    assert lines[1].startswith("bob:{SHA512-CRYPT}$6$")
    for p in ("imapd", "ipop3d", "smtpd", "ipop3d-127.0.0.2"):
        assert (sandbox.cert_dir / f"{p}.pem").is_file()
    assert (sandbox.tls / "ca-crl.pem").read_text().count("BEGIN X509 CRL") == 1
    assert sandbox.home("alice").stat().st_uid == sandbox.uid


def test_deliver_writes_valid_mbox(sandbox):
    sandbox.deliver_many(2)
    tricky = make_message(subject="quoting", body="From here\r\n>From there\r\nend\r\n")
    sandbox.deliver(tricky)
    data = sandbox.inbox().read_bytes()
    from_lines = re.findall(rb"^From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", data, re.M)
    assert len(from_lines) == 3
    assert b"\n>From here\n>>From there\nend\n\n" in data
    assert b"\r" not in data
    assert sandbox.inbox().stat().st_uid == sandbox.uid
    assert not os.path.exists(str(sandbox.inbox()) + ".lock")


# A stand-in for a server: reports what it got on fd 0, the way imapd and
# smtpd will look at it (getsockname -> local port), and its log variable.
PROBE = r"""
import os, socket, sys
s = socket.socket(fileno=os.dup(0))
host, port = s.getsockname()[:2]
os.write(1, f"port={port} host={host} args={' '.join(sys.argv[1:])} log={os.environ.get('POSTERN_LOG_FILE')}\r\n".encode())
"""


def probe(sandbox):
    path = sandbox.root / "probe.py"
    path.write_text(PROBE)
    return path


def test_inetd_fixture_hands_the_tcp_socket_to_the_child(sandbox, inetd):
    lst = inetd.start("probe", command=[sys.executable, str(probe(sandbox)), "-s", "-o", "a=b,c"])
    with lst.connect() as s:
        line = read_until(s, b"\r\n").decode()
    assert f"port={lst.port} host=127.0.0.1" in line
    assert "args=-s -o a=b,c" in line
    assert f"log={sandbox.log}" in line


def test_inetd_fixture_binds_127_0_0_2(sandbox, inetd):
    lst = inetd.start("probe", host="127.0.0.2", command=[sys.executable, str(probe(sandbox))])
    with lst.connect() as s:
        assert "host=127.0.0.2" in read_until(s, b"\r\n").decode()


def test_xinetd_fixture_passes_server_args(sandbox, xinetd):
    lst = xinetd.start("probe", server=sys.executable,
                       server_args=f"{probe(sandbox)} -c {sandbox.conf} -s")
    with lst.connect() as s:
        line = read_until(s, b"\r\n").decode()
    assert f"port={lst.port}" in line
    assert f"args=-c {sandbox.conf} -s" in line
    assert f"log={sandbox.log}" in line


def _openssl_verify(*args):
    return subprocess.run(["openssl", "verify", *args], capture_output=True, text=True)


@pytest.mark.parametrize("client, error", [
    ("valid", None),
    ("revoked", "certificate revoked"),
    ("expired", "certificate has expired"),
    ("foreign", "unable to get local issuer certificate"),
])
def test_client_certificates_are_what_the_readme_says(client, error):
    tls = ROOT / "tests" / "fixtures" / "tls"
    out = _openssl_verify("-crl_check", "-CAfile", str(tls / "ca-crl.pem"),
                          str(tls / "client" / f"{client}.crt"))
    if error is None:
        assert out.returncode == 0, out.stdout + out.stderr
    else:
        assert out.returncode != 0 and error in out.stdout + out.stderr


def test_server_certificates_chain_and_per_ip_names():
    tls = ROOT / "tests" / "fixtures" / "tls"
    for kind in ("rsa", "ecdsa", "ed25519"):
        for name in ("imapd", "ipop3d", "smtpd", "ipop3d-127.0.0.2"):
            pem = tls / kind / f"{name}.pem"
            assert _openssl_verify("-CAfile", str(tls / "ca.pem"), str(pem)).returncode == 0, pem
            subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", str(pem)],
                                     capture_output=True, text=True, check=True).stdout
            assert f"CN = {name}.postern.test" in subject, (pem, subject)
    assert _openssl_verify("-CAfile", str(tls / "ca.pem"), "-untrusted", str(tls / "intermediate.pem"),
                           str(tls / "chain" / "imapd.pem")).returncode == 0
    assert "ENCRYPTED PRIVATE KEY" in (tls / "bad" / "encrypted" / "imapd.pem").read_text()


def test_make_certs_regenerates_a_complete_set(tmp_path):
    script = ROOT / "tests" / "fixtures" / "tls" / "make-certs.sh"
    subprocess.run([str(script), str(tmp_path)], check=True, capture_output=True, timeout=120)
    checked_in = sorted(p.relative_to(script.parent) for p in script.parent.rglob("*.pem"))
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.pem"))
    assert fresh == checked_in


def test_try_script_builds_a_usable_sandbox(tmp_path):
    d = tmp_path / "try"
    out = subprocess.run([str(ROOT / "scripts" / "try.sh"), "--setup-only", "--no-build"],
                         env=os.environ | {"POSTERN_TRY_DIR": str(d)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    password = (d / "password").read_text().strip()
    assert f"password {password}" in out.stdout and len(password) >= 8
    assert (d / "passwd").read_text().splitlines()[1].startswith("alice:{SHA512-CRYPT}$6$")
    conf = (d / "postern.conf").read_text()
    assert f"auth = passwd-file:{d}/passwd" in conf and f"cert_dir = {d}/certs" in conf
    assert len(re.findall(rb"^From ", (d / "spool" / "alice").read_bytes(), re.M)) == 3
    assert (d / "certs" / "imapd.pem").is_file() and (d / "pki" / "ca.pem").is_file()
    # refuses to wipe a directory it did not make
    other = tmp_path / "precious"
    other.mkdir()
    (other / "keep").write_text("x")
    out = subprocess.run([str(ROOT / "scripts" / "try.sh"), "--setup-only", "--no-build"],
                         env=os.environ | {"POSTERN_TRY_DIR": str(other)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and (other / "keep").exists()


def test_cwrap_env_fakes_root_and_the_passwd_database(sandbox, cwrap):
    env = sandbox.env | cwrap
    out = subprocess.run(["id", "-u"], env=env, capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "0", out
    out = subprocess.run(["getent", "passwd", "alice"], env=env, capture_output=True, text=True,
                         timeout=10)
    assert out.stdout.startswith(f"alice:x:5000:5000:Alice:{sandbox.home('alice')}:"), out
    pam = (sandbox.root / "cwrap" / "pam.d" / "pop").read_text()
    assert "pam_matrix.so passdb=" in pam and os.path.exists(pam.split()[2])


def test_client_tls_context_trusts_the_test_ca(sandbox):
    # a stand-in TLS server (openssl s_server) with the sandbox's imapd certificate
    port_cmd = ["openssl", "s_server", "-quiet", "-cert",
                str(sandbox.cert_dir / "imapd.pem"), "-accept"]
    port = free_port()
    srv = subprocess.Popen(port_cmd + [f"127.0.0.1:{port}"], stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening("127.0.0.1", port, srv)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with sandbox.client_tls("valid").wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
                cn = dict(x[0] for x in tls.getpeercert()["subject"])["commonName"]
                assert cn == "imapd.postern.test"
    finally:
        srv.kill()
        srv.wait(5)
