"""ipop3d against Python's poplib and raw sockets, started as inetd does
(socat ``EXEC:...,nofork``): pop3s and STLS logins, byte-identical
retrieval (``From `` body lines, NUL, 8-bit), DELE applied only by QUIT,
stable UIDL, Status: R after RETR, the [IN-USE] session lock, STLS
injection, plaintext refused before TLS, and bad input (issue 4)."""

import hashlib
import os
import poplib
import pwd
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import ALICE_PASSWORD, make_message, mbox_entry, read_until


def tls_context(sandbox):
    ctx = ssl.create_default_context(cafile=str(sandbox.ca))
    ctx.check_hostname = False  # the certificate names localhost / 127.0.0.1
    return ctx


def pop3s(sandbox, lst):
    return poplib.POP3_SSL(lst.host, lst.port, context=tls_context(sandbox), timeout=20)


def login(sandbox, lst):
    p = pop3s(sandbox, lst)
    p.user("alice")
    p.pass_(ALICE_PASSWORD)
    return p


def login_when_free(sandbox, lst, timeout=10.0):
    """Log in, retrying while the previous (just dropped) session still
    holds the maildrop: its process may not have seen EOF yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return login(sandbox, lst)
        except poplib.error_proto as e:
            if b"[IN-USE]" not in e.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def retr_bytes(p, n):
    """RETR n as the exact bytes of the message (poplib undoes dot-stuffing
    and strips CRLF)."""
    _, lines, octets = p.retr(n)
    data = b"".join(line + b"\r\n" for line in lines)
    return data, octets


TRICKY = [
    make_message(subject="from lines", body="From here on\r\n>From quoted\r\n>>From twice\r\nend\r\n"),
    make_message(subject="dots", body=".\r\n..\r\n.leading\r\n"),
    make_message(subject="binary", body="nul\x00byte\r\n8bit \u00e9\u00fc\r\n"),
]


def deliver_tricky(sandbox):
    msgs = sandbox.deliver_many(2)
    for m in TRICKY:
        sandbox.deliver(m)
    return msgs + TRICKY


def test_pop3s_retrieves_byte_identical(sandbox, inetd):
    msgs = deliver_tricky(sandbox)
    lst = inetd.start("ipop3d", "-s")
    p = login(sandbox, lst)
    count, size = p.stat()
    assert count == len(msgs)
    _, listing, _ = p.list()
    sizes = [int(l.split()[1]) for l in listing]
    assert sum(sizes) == size
    for i, want in enumerate(msgs, 1):
        got, _ = retr_bytes(p, i)
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(want).hexdigest(), (i, got, want)
        assert len(got) == sizes[i - 1]
    assert p.quit().startswith(b"+OK")
    assert re.search(r"Login user=alice host=\[127\.0\.0\.1\] nmsgs=5", sandbox.log_text())
    assert ALICE_PASSWORD not in sandbox.log_text()


def test_dele_applied_only_by_quit(sandbox, inetd):
    sandbox.deliver_many(3)
    lst = inetd.start("ipop3d", "-s")
    p = login(sandbox, lst)
    p.dele(1)
    p.close()  # connection dropped without QUIT: nothing deleted
    p = login_when_free(sandbox, lst)
    assert p.stat()[0] == 3
    p.dele(2)
    p.quit()
    p = login_when_free(sandbox, lst)
    assert p.stat()[0] == 2
    subjects = [retr_bytes(p, i)[0] for i in (1, 2)]
    assert b"Subject: message 1" in subjects[0] and b"Subject: message 3" in subjects[1]
    p.quit()
    assert re.search(r"Update user=alice .*nmsgs=2 ndele=1", sandbox.log_text())


def test_uidl_stable_and_seen_written(sandbox, inetd):
    sandbox.deliver_many(3)
    lst = inetd.start("ipop3d", "-s")
    p = login(sandbox, lst)
    first = p.uidl()[1]
    retr_bytes(p, 2)
    p.quit()
    p = login_when_free(sandbox, lst)
    assert p.uidl()[1] == first
    p.quit()
    uids = [l.split()[1] for l in first]
    assert len(set(uids)) == 3 and all(re.fullmatch(rb"[0-9a-f]{16}", u) for u in uids)
    entries = sandbox.inbox().read_bytes().split(b"\n\nFrom ")
    status = {}
    for e in entries:
        m = re.search(rb"^Subject: message (\d)", e, re.M)
        if m:
            st = re.search(rb"^Status: (\w*)", e, re.M)
            status[int(m.group(1))] = st.group(1) if st else b""
    assert b"R" in status[2], status
    assert b"R" not in status[1] and b"R" not in status[3], status


def test_stls_then_login(sandbox, inetd):
    sandbox.deliver_many(1)
    lst = inetd.start("ipop3d")
    p = poplib.POP3(lst.host, lst.port, timeout=20)
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.user("alice")
    p.stls(context=tls_context(sandbox))
    caps = p.capa()
    assert "USER" in caps and "STLS" not in caps
    assert caps["SASL"] == ["PLAIN", "LOGIN"]
    p.user("alice")
    p.pass_(ALICE_PASSWORD)
    assert p.stat()[0] == 1
    p.quit()


def test_stls_injection_not_answered_inside_tls(sandbox, inetd):
    lst = inetd.start("ipop3d")
    with lst.connect() as s:
        assert read_until(s, b"\r\n").startswith(b"+OK")
        s.sendall(b"STLS\r\nCAPA\r\n")
        assert read_until(s, b"\r\n").startswith(b"+OK")
        t = tls_context(sandbox).wrap_socket(s)
        t.sendall(b"QUIT\r\n")
        reply = read_until(t, b"\r\n")
        assert reply.startswith(b"+OK") and b"signing off" in reply, reply


def test_second_session_in_use(sandbox, inetd):
    sandbox.deliver_many(1)
    lst = inetd.start("ipop3d", "-s")
    p = login(sandbox, lst)
    q = pop3s(sandbox, lst)
    q.user("alice")
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        q.pass_(ALICE_PASSWORD)
    p.quit()


def test_wrong_password_and_bad_input(sandbox, inetd):
    lst = inetd.start("ipop3d", "-s")
    p = pop3s(sandbox, lst)
    p.user("alice")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_("not-the-password")
    t = p.sock
    t.sendall(b"x" * (10 * 1024 * 1024) + b"\r\n")
    assert read_until(t, b"\r\n") == b"-ERR Line too long\r\n"
    for cmd, want in [(b"LIST 0", b"-ERR"), (b"\x00\xff garbage", b"-ERR Unknown command"),
                      (b"QUIT", b"+OK")]:
        t.sendall(cmd + b"\r\n")
        assert read_until(t, b"\r\n").startswith(want)
    assert "not-the-password" not in sandbox.log_text()


def test_curl_pop3s_list_and_retrieve(sandbox, inetd):
    msgs = deliver_tricky(sandbox)
    lst = inetd.start("ipop3d", "-s")
    base = [ "curl", "-sS", "--max-time", "20", "--cacert", str(sandbox.ca),
             "-u", f"alice:{ALICE_PASSWORD}"]
    url = f"pop3s://127.0.0.1:{lst.port}/"
    out = subprocess.run(base + [url], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    sizes = [int(l.split()[1]) for l in out.stdout.decode().splitlines()]
    assert sizes == [len(m) for m in msgs]
    out = subprocess.run(base + [url + "3"], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == msgs[2]


def test_openssl_starttls_pop3(sandbox, inetd):
    sandbox.deliver_many(2)
    lst = inetd.start("ipop3d")
    script = f"USER alice\nPASS {ALICE_PASSWORD}\nSTAT\nQUIT\n"
    out = subprocess.run(
        ["openssl", "s_client", "-quiet", "-crlf", "-ign_eof", "-starttls", "pop3",
         "-CAfile", str(sandbox.ca), "-verify_return_error",
         "-connect", f"127.0.0.1:{lst.port}"],
        input=script.encode(), capture_output=True, timeout=30)
    text = out.stdout.decode(errors="replace")
    assert "+OK Mailbox open, 2 messages" in text, (text, out.stderr)
    assert "+OK 2 " in text and "signing off (2 messages left)" in text, text


def test_preauth_over_a_pipe(sandbox, postern_bin):
    """fd 0 a pipe and not root: the invoking user (here: nobody, or the
    test runner when not root) is in TRANSACTION after the greeting, and a
    USER/PASS for that name is accepted without a password check."""
    if os.geteuid() == 0:
        user = pwd.getpwnam("nobody")
        prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    else:
        user = pwd.getpwuid(os.getuid())
        prefix = []
    inbox = sandbox.spool / user.pw_name
    sandbox.deliver(make_message(subject="preauth"), mbox=inbox)
    if os.geteuid() == 0:
        os.chown(inbox, user.pw_uid, user.pw_gid)
        sandbox.log.touch()
        sandbox.log.chmod(0o666)  # the server runs as nobody
    script = f"STAT\r\nUSER {user.pw_name}\r\nPASS x\r\nSTAT\r\nQUIT\r\n".encode()
    out = subprocess.run(prefix + [str(postern_bin("ipop3d")), "-c", str(sandbox.conf)],
                         input=script, capture_output=True, timeout=30, env=sandbox.env)
    lines = out.stdout.split(b"\r\n")
    assert lines[0].endswith(b"preauthenticated"), out
    assert lines[1].startswith(b"+OK 1 "), out  # STAT at once, as benchmarks do
    assert lines[3].startswith(b"+OK Mailbox open, 1 messages"), out
    assert lines[4] == lines[1], out
    assert re.search(rf"Login user={user.pw_name} host=\[local\] nmsgs=1", sandbox.log_text())


def parse_spool(data: bytes) -> list:
    """(subject number, whole entry) for each message of an mbox we wrote."""
    out = []
    for entry in re.split(rb"(?m)^(?=From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n)", data):
        if not entry:
            continue
        m = re.search(rb"^Subject: message (\d+)$", entry, re.M)
        assert m, entry[:300]
        n = int(m.group(1))
        assert f"\nbody of message {n}\n".encode() in entry, entry[:500]
        out.append(n)
    return out


def test_kill_during_quit_loses_nothing(sandbox, inetd):
    """kill -9 while QUIT's update runs on a 2,000-message spool, several
    times: every message not marked deleted survives intact, and a marked
    one is either gone or intact (issue 4)."""
    n = 2000
    entries = [mbox_entry(make_message(subject=f"message {i}", body=f"body of message {i}\r\n"))
               for i in range(1, n + 1)]
    sandbox.inbox().write_bytes(b"".join(entries))
    sandbox.chown(sandbox.inbox())
    lst = inetd.start("ipop3d", "-s")
    alive = list(range(1, n + 1))
    for round_ in range(4):
        p = login_when_free(sandbox, lst)
        pid = int(re.findall(r"ipop3d\[(\d+)\]: info Login user=alice", sandbox.log_text())[-1])
        doomed = set(alive[round_ % 2::2][:200])
        cmds = b"".join(f"DELE {alive.index(d) + 1}\r\n".encode() for d in sorted(doomed))
        p.sock.sendall(cmds)
        for _ in doomed:
            assert p._getresp().startswith(b"+OK")
        p.sock.sendall(b"QUIT\r\n")
        time.sleep(0.001 * (round_ * 3))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.close()
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.01)
        got = parse_spool(sandbox.inbox().read_bytes())
        assert len(got) == len(set(got)), "a message appears twice"
        kept = [m for m in alive if m not in doomed]
        assert set(kept) <= set(got), f"lost: {sorted(set(kept) - set(got))[:10]}"
        assert set(got) <= set(alive)
        assert got == sorted(got), "order changed"
        alive = got


def test_pop3s_under_private_xinetd(sandbox, xinetd):
    msgs = sandbox.deliver_many(2)
    lst = xinetd.start("ipop3d", "-s")
    p = login(sandbox, lst)
    assert p.stat() == (2, sum(len(m) for m in msgs))
    assert retr_bytes(p, 2)[0] == msgs[1]
    assert p.quit().startswith(b"+OK")


def run_fetchmail(sandbox, lst, cert: str | None, out_name: str):
    out = sandbox.root / out_name
    rc = sandbox.root / f"fetchmailrc-{out_name}"
    lines = [
        f'poll localhost protocol pop3 port {lst.port}',
        f'  user "alice" password "{ALICE_PASSWORD}"',
        f'  ssl sslcertck sslcertfile "{sandbox.ca}"',
    ]
    if cert:
        lines.append(f'  sslcert "{sandbox.tls / "client" / (cert + ".crt")}"'
                     f' sslkey "{sandbox.tls / "client" / (cert + ".key")}"')
    lines.append(f'  fetchall mda "cat >> {out}"')
    rc.write_text("\n".join(lines) + "\n")
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(sandbox.root))
    res = subprocess.run(["fetchmail", "-f", str(rc), "-N", "--nosyslog", "-v"],
                         capture_output=True, timeout=60, env=env)
    return res, (out.read_bytes() if out.exists() else b"")


def test_fetchmail_pop3s_delivers_through_mda(sandbox, inetd):
    msgs = deliver_tricky(sandbox)
    lst = inetd.start("ipop3d", "-s")
    res, got = run_fetchmail(sandbox, lst, None, "plain")
    assert res.returncode == 0, res
    for m in msgs:
        subject = re.search(rb"Subject: [^\r]*", m).group(0)
        assert subject in got, subject
    # Without "keep" fetchmail deletes what it fetched: QUIT applied it.
    assert b"Subject: message" not in sandbox.inbox().read_bytes()


def test_fetchmail_pop3s_with_client_certificate(sandbox, inetd):
    sandbox.write_conf(client_ca=str(sandbox.tls / "ca-crl.pem"), client_cert="required")
    sandbox.deliver_many(2)
    lst = inetd.start("ipop3d", "-s")
    for bad in (None, "revoked", "foreign"):
        res, got = run_fetchmail(sandbox, lst, bad, f"bad-{bad}")
        assert res.returncode not in (0,), (bad, res)
        assert got == b""
    res, got = run_fetchmail(sandbox, lst, "valid", "good")
    assert res.returncode == 0, res
    assert b"Subject: message 1" in got and b"Subject: message 2" in got
