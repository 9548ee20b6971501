"""smtpd against real clients, started as inetd starts it (socat nofork, and
one test under a private xinetd): swaks in MX, submission and SMTPS modes,
Python smtplib, ``openssl s_client -starttls smtp``, raw sockets for BDAT,
STARTTLS injection and SMTP smuggling; messages read back through ipop3d
(poplib) and imapd (imaplib); concurrent deliveries while IMAP and POP3
sessions are open; bad input with a bound on the server's memory; the
relay command; close_notify at the end of TLS sessions (issue 6)."""

import hashlib
import imaplib
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import ALICE_PASSWORD, find_bin, make_message, read_until

HOST = "127.0.0.1"
ALICE = "alice@postern.test"


# --------------------------------------------------------------------------
# helpers


def mx(inetd, *args):
    return inetd.start("smtpd", "-o", "smtp_mode=mx", *args)


def submission(inetd, *args):
    return inetd.start("smtpd", "-o", "smtp_mode=submission", *args)


def tls_context(sandbox):
    ctx = ssl.create_default_context(cafile=str(sandbox.ca))
    ctx.check_hostname = False  # the certificate names localhost / 127.0.0.1
    return ctx


def swaks(lst, *args, timeout=30):
    """Run swaks against lst; returns (exit code, transcript)."""
    r = subprocess.run(["swaks", "--server", lst.host, "--port", str(lst.port),
                        "--helo", "client.example", "--timeout", "20", *args],
                       capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout + r.stderr


def mbox_messages(path: Path) -> list[bytes]:
    """Messages of an mbox file split at From_ lines (mboxrd quoting keeps
    body lines from matching); tolerant enough for counting."""
    if not path.exists():
        return []
    data = path.read_bytes()
    parts = re.split(rb"(?:^|\n\n)From [^\n]*\n", data)
    return [p for p in parts if p.strip()]


class Raw:
    """A raw SMTP client over a socket (plain or wrapped later) that keeps
    bytes received past one reply for the next."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def reply(self, timeout=20.0) -> list[str]:
        self.sock.settimeout(timeout)
        while True:
            while b"\r\n" in self.buf:
                end = 0
                lines = []
                while True:
                    i = self.buf.find(b"\r\n", end)
                    if i < 0:
                        break
                    line = self.buf[end:i]
                    lines.append(line.decode(errors="replace"))
                    end = i + 2
                    if len(line) < 4 or line[3:4] != b"-":
                        self.buf = self.buf[end:]
                        return lines
                break
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                rest = [x.decode(errors="replace") for x in self.buf.split(b"\r\n") if x]
                self.buf = b""
                return rest + ["<EOF>"]
            self.buf += chunk

    def cmd(self, line: str) -> list[str]:
        self.send(line.encode() + b"\r\n")
        return self.reply()


def raw_session(lst, ehlo=True) -> Raw:
    r = Raw(lst.connect(timeout=20))
    assert r.reply()[0].startswith("220 ")
    if ehlo:
        assert r.cmd("EHLO client.example")[-1].startswith("250 ")
    return r


def smtpd_pids(exe: Path) -> list[int]:
    """Running smtpd processes started from exe (for VmHWM)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if os.readlink(d / "exe") == str(exe):
                out.append(int(d.name))
        except OSError:
            pass
    return out


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def strip_trace(message: bytes, added=rb"return-path|received") -> bytes:
    """Remove the headers smtpd prepends (Return-Path, Received with its
    continuation lines; ``added`` names them), leaving what the client sent."""
    lines = message.split(b"\r\n")
    i = 0
    while i < len(lines) and re.match(rb"(?i)(" + added + rb"):", lines[i]):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\r\n".join(lines[i:])


# --------------------------------------------------------------------------
# swaks in the three modes


def test_swaks_mx_opportunistic_starttls_and_pipelining(sandbox, inetd):
    lst = mx(inetd)
    rc, out = swaks(lst, "--to", ALICE, "--from", "sender@example.org", "-tlsos",
                    "--header", "Subject: swaks mx tls")
    assert rc == 0, out
    assert "220 2.0.0 Ready to start TLS" in out and "TLS started" in out, out
    assert re.search(r"<~ {1,2}250 2\.0\.0 OK", out), out
    # Opportunistic means optional: plain works too, and pipelined.
    rc, out = swaks(lst, "--to", ALICE, "--from", "sender@example.org", "--pipeline",
                    "--header", "Subject: swaks mx plain pipelined")
    assert rc == 0, out
    assert "250-PIPELINING" in out, out
    # No AUTH in MX mode, even under TLS.
    assert not re.search(r"250[- ]AUTH", out), out
    msgs = mbox_messages(sandbox.inbox())
    assert len(msgs) == 2
    assert b"Subject: swaks mx tls" in msgs[0] and b"with ESMTPS" in msgs[0]
    assert b"Subject: swaks mx plain pipelined" in msgs[1] and b"with ESMTP " in msgs[1]
    # Relay refused, unknown user refused.
    rc, out = swaks(lst, "--to", "someone@far.example", "--from", "x@example.org")
    assert rc != 0 and "550 5.7.1" in out, out
    rc, out = swaks(lst, "--to", "nobody@postern.test", "--from", "x@example.org")
    assert rc != 0 and "550 5.1.1" in out, out
    assert len(mbox_messages(sandbox.inbox())) == 2


def test_swaks_submission_starttls_auth(sandbox, inetd):
    # Loops, not parametrize: socat's EXEC cannot take the '[' of a
    # parametrized test's sandbox path.
    lst = submission(inetd)
    for n, mech in enumerate(["PLAIN", "LOGIN"], 1):
        swaks_submission(sandbox, lst, mech, n)


def swaks_submission(sandbox, lst, mech, n):
    rc, out = swaks(lst, "--to", ALICE, "--from", ALICE, "--tls",
                    "--auth", mech, "--auth-user", "alice", "--auth-password", ALICE_PASSWORD,
                    "--header", f"Subject: swaks submission {mech}", "--pipeline")
    assert rc == 0, out
    assert "235 2.7.0" in out, out
    msgs = mbox_messages(sandbox.inbox())
    assert len(msgs) == n
    assert b"with ESMTPSA" in msgs[-1] and b"(authenticated user=alice)" in msgs[-1], msgs[-1][:600]
    # submission adds a Message-ID and a Date only when missing: swaks sends both.
    assert msgs[-1].lower().count(b"\nmessage-id:") == 1
    # the password never reaches the log
    assert ALICE_PASSWORD not in sandbox.log_text()


def test_swaks_smtps_implicit_tls_auth(sandbox, inetd):
    lst = inetd.start("smtpd", "-s")  # -s alone: submission mode with implicit TLS
    rc, out = swaks(lst, "--to", ALICE, "--from", ALICE, "-tlsc",
                    "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", ALICE_PASSWORD,
                    "--header", "Subject: swaks smtps")
    assert rc == 0, out
    assert "250-AUTH PLAIN LOGIN" in out and "STARTTLS" not in out.split("TLS started")[-1], out
    msgs = mbox_messages(sandbox.inbox())
    assert len(msgs) == 1 and b"Subject: swaks smtps" in msgs[0]


def test_swaks_smtps_under_xinetd(sandbox, xinetd):
    lst = xinetd.start("smtpd", "-s", "-o", "smtp_mode=submission")
    rc, out = swaks(lst, "--to", ALICE, "--from", ALICE, "-tlsc",
                    "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", ALICE_PASSWORD,
                    "--header", "Subject: via xinetd")
    assert rc == 0, out
    msgs = mbox_messages(sandbox.inbox())
    assert len(msgs) == 1 and b"Subject: via xinetd" in msgs[0]


# --------------------------------------------------------------------------
# submission policy over a raw socket


def test_submission_auth_only_after_tls_and_required(sandbox, inetd):
    lst = submission(inetd)
    r = Raw(lst.connect(timeout=20))
    assert r.reply()[0].startswith("220 ")
    ehlo = r.cmd("EHLO client.example")
    assert "250-STARTTLS" in ehlo, ehlo
    assert not any("AUTH" in line for line in ehlo), ehlo
    auth = r.cmd("AUTH PLAIN AGFsaWNlAHg=")
    assert auth[0].startswith("538 5.7.11") or auth[0].startswith("530") or auth[0].startswith("503"), auth
    assert r.cmd("MAIL FROM:<alice@postern.test>")[0].startswith("530 5.7.0"), "AUTH required"
    assert r.cmd("STARTTLS")[0].startswith("220 ")
    r.sock = tls_context(sandbox).wrap_socket(r.sock)
    ehlo = r.cmd("EHLO client.example")
    assert "250-AUTH PLAIN LOGIN" in ehlo or "250 AUTH PLAIN LOGIN" in ehlo, ehlo
    assert not any("STARTTLS" in line for line in ehlo), ehlo
    assert r.cmd("MAIL FROM:<alice@postern.test>")[0].startswith("530 5.7.0")
    assert r.cmd("QUIT")[0].startswith("221 ")


# --------------------------------------------------------------------------
# BDAT, 8BITMIME, SMTPUTF8


def test_bdat_chunks_raw(sandbox, inetd):
    lst = mx(inetd)
    r = raw_session(lst)
    body = b"Subject: bdat\r\n\r\nline one\r\n.\r\nFrom me\r\nlast\r\n"
    part1, part2 = body[:20], body[20:]
    assert r.cmd("MAIL FROM:<s@example.org>")[0].startswith("250 ")
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0].startswith("250 ")
    # pipelined: both chunks in one write
    r.send(b"BDAT %d\r\n" % len(part1) + part1 + b"BDAT %d LAST\r\n" % len(part2) + part2)
    assert r.reply()[0].startswith("250 "), "first chunk"
    last = r.reply()
    assert last[0].startswith("250 2.0.0 OK"), last
    assert r.cmd("QUIT")[0].startswith("221 ")
    msgs = mbox_messages(sandbox.inbox())
    assert len(msgs) == 1
    assert b"\nSubject: bdat\n" in msgs[0], msgs[0]
    assert msgs[0].endswith(b"\n\nline one\n.\n>From me\nlast\n\n"), msgs[0]


def test_8bitmime_and_smtputf8_with_smtplib(sandbox, inetd):
    lst = mx(inetd)
    body8 = "Subject: 8bit\r\n\r\nGr\u00fc\u00dfe aus K\u00f6ln\r\n".encode()
    with smtplib.SMTP(HOST, lst.port, timeout=20) as s:
        s.ehlo("client.example")
        assert s.has_extn("8bitmime") and s.has_extn("smtputf8") and s.has_extn("chunking")
        assert s.sendmail("s@example.org", [ALICE], body8, mail_options=["BODY=8BITMIME"]) == {}
        utf = "Subject: =?utf-8?q?utf8?=\r\nFrom: j\u00f6rg@b\u00fccher.example\r\n\r\nhi\r\n".encode()
        assert s.sendmail("j\u00f6rg@b\u00fccher.example", [ALICE], utf,
                          mail_options=["SMTPUTF8", "BODY=8BITMIME"]) == {}
        # without SMTPUTF8 a non-ASCII address is refused
        code, text = s.docmd("MAIL", "FROM:<j\u00f6rg@b\u00fccher.example>".encode().decode("latin-1"))
        assert code == 553, (code, text)
    msgs = mbox_messages(sandbox.inbox())
    assert len(msgs) == 2
    assert "Gr\u00fc\u00dfe aus K\u00f6ln".encode() in msgs[0]
    assert "Return-Path: <j\u00f6rg@b\u00fccher.example>".encode() in msgs[1], msgs[1]


# --------------------------------------------------------------------------
# end to end: smtplib in, poplib and imaplib out


E2E_BODY = ("From the start of a line\r\n>From quoted\r\n.\r\n..two dots\r\n"
            "8bit \u00e9\u00e8\r\nlast line\r\n")


def test_smtplib_to_pop3_and_imap_byte_identical(sandbox, inetd):
    sub = submission(inetd)
    msg = make_message(subject="end to end", body=E2E_BODY, sender=ALICE, to=ALICE)
    with smtplib.SMTP(HOST, sub.port, timeout=20) as s:
        s.ehlo("client.example")
        assert not s.has_extn("auth")
        s.starttls(context=tls_context(sandbox))
        s.ehlo("client.example")
        assert "PLAIN" in s.esmtp_features["auth"]
        s.login("alice", ALICE_PASSWORD)
        assert s.sendmail(ALICE, [ALICE], msg, mail_options=["BODY=8BITMIME"]) == {}
        # submission adds Message-ID and Date when they are missing, as trace headers
        bare = b"From: alice@postern.test\r\nSubject: no id\r\n\r\nbody\r\n"
        assert s.sendmail(ALICE, [ALICE], bare) == {}
    pop = inetd.start("ipop3d", "-s")
    p = poplib.POP3_SSL(HOST, pop.port, context=tls_context(sandbox), timeout=20)
    p.user("alice")
    p.pass_(ALICE_PASSWORD)
    assert p.stat()[0] == 2
    _, lines, _ = p.retr(1)
    popped = b"".join(line + b"\r\n" for line in lines)
    _, lines, _ = p.retr(2)
    popped2 = b"".join(line + b"\r\n" for line in lines)
    p.quit()
    assert re.search(rb"\r\nMessage-ID: <[^>]+@postern.test>\r\nDate: ", popped2), popped2
    assert strip_trace(popped2, rb"return-path|received|message-id|date") == bare, popped2
    assert popped.startswith(b"Return-Path: <alice@postern.test>\r\nReceived: from client.example"), popped[:300]
    assert strip_trace(popped) == msg, (strip_trace(popped)[:400], msg[:400])
    imap = inetd.start("imapd", "-s")
    c = imaplib.IMAP4_SSL(HOST, imap.port, ssl_context=sandbox.client_tls(), timeout=20)
    c.login("alice", ALICE_PASSWORD)
    assert c.select("INBOX") == ("OK", [b"2"])
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][1] == popped
    c.logout()


# --------------------------------------------------------------------------
# openssl s_client, and close_notify for all three servers


def s_client(args, stdin: bytes, timeout=20):
    r = subprocess.run(["openssl", "s_client", "-connect", *args, "-ign_eof", "-crlf"],
                       input=stdin, capture_output=True, timeout=timeout)
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def test_openssl_starttls_smtp(sandbox, inetd):
    lst = mx(inetd)
    out = s_client([f"{HOST}:{lst.port}", "-starttls", "smtp", "-CAfile", str(sandbox.ca)],
                   b"EHLO c\nMAIL FROM:<s@example.org>\nRCPT TO:<alice@postern.test>\n"
                   b"DATA\nSubject: s_client\n\nhi\n.\nQUIT\n")
    assert "Verify return code: 0 (ok)" in out, out
    assert "250 2.0.0 OK" in out and "221 2.0.0" in out, out
    assert "unexpected eof" not in out.lower(), out
    assert b"Subject: s_client" in sandbox.inbox().read_bytes()


CLOSE_NOTIFY_CASES = [
    ("smtpd", ["-o", "smtp_mode=mx"], ["-starttls", "smtp"], b"EHLO c\nQUIT\n", "221 "),
    ("smtpd", ["-s"], [], b"EHLO c\nQUIT\n", "221 "),
    ("ipop3d", ["-s"], [], b"QUIT\n", "+OK"),
    ("imapd", ["-s"], [], b"a LOGOUT\n", "* BYE"),
]


def test_tls_session_ends_with_close_notify(sandbox, inetd):
    """openssl reports "unexpected eof while reading" when the server closes
    TCP without a TLS close_notify."""
    for program, args, extra, stdin, bye in CLOSE_NOTIFY_CASES:
        lst = inetd.start(program, *args)
        out = s_client([f"{HOST}:{lst.port}", *extra, "-CAfile", str(sandbox.ca)], stdin)
        assert "Verify return code: 0 (ok)" in out, out
        assert re.search(r"^" + re.escape(bye), out, re.M), (program, out)
        assert "unexpected eof" not in out.lower(), (program, out)


# --------------------------------------------------------------------------
# attacks


def test_starttls_injection_never_executed_inside_tls(sandbox, inetd):
    lst = mx(inetd)
    r = raw_session(lst)
    r.send(b"STARTTLS\r\nMAIL FROM:<a@b.example>\r\n")
    assert r.reply()[0].startswith("220 ")
    assert r.buf == b"", "nothing may follow the 220 in plaintext"
    r.sock = tls_context(sandbox).wrap_socket(r.sock)
    assert r.cmd("EHLO client.example")[-1].startswith("250 ")
    # had the injected MAIL run, this RCPT would be accepted
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0].startswith("503 5.5.1"), "MAIL ran inside TLS"
    assert r.cmd("QUIT")[0].startswith("221 ")
    assert "STARTTLS pipelined plaintext discarded" in sandbox.log_text()


def test_smtp_smuggling_at_most_one_message(sandbox, inetd):
    lst = mx(inetd)
    for ending in [b"\n.\n", b"\r\n.\n", b"\n.\r\n"]:
        smuggle(sandbox, lst, ending)
        sandbox.inbox().unlink(missing_ok=True)


def smuggle(sandbox, lst, ending):
    r = raw_session(lst)
    r.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@postern.test>\r\nDATA\r\n")
    assert [r.reply()[0][:3] for _ in range(3)] == ["250", "250", "354"]
    r.send(b"Subject: outer\r\n\r\nhello" + ending
           + b"MAIL FROM:<admin@bank.example>\r\nRCPT TO:<alice@postern.test>\r\nDATA\r\n"
           + b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")
    first = r.reply()
    rest = []
    r.send(b"QUIT\r\n")
    for _ in range(6):
        line = r.reply(timeout=5)
        rest.append(line[0])
        if line[0].startswith("221") or line[0] == "<EOF>":
            break
    msgs = mbox_messages(sandbox.inbox())
    assert len(msgs) <= 1, (first, rest, msgs)
    # never a separate message whose header is the smuggled one
    assert not any(m.startswith(b"Return-Path: <admin@bank.example>") for m in msgs), msgs
    assert all(b"Subject: smuggled" not in m.split(b"\n\n", 1)[0] for m in msgs), msgs


# --------------------------------------------------------------------------
# concurrency


def test_four_clients_200_messages_with_imap_and_pop3_open(sandbox, inetd):
    lst = mx(inetd)
    sandbox.deliver(make_message(subject="seed"))  # so POP3 and IMAP have something open
    imap_l = inetd.start("imapd", "-s")
    pop_l = inetd.start("ipop3d", "-s")
    c = imaplib.IMAP4_SSL(HOST, imap_l.port, ssl_context=sandbox.client_tls(), timeout=30)
    c.login("alice", ALICE_PASSWORD)
    assert c.select("INBOX")[0] == "OK"
    p = poplib.POP3_SSL(HOST, pop_l.port, context=tls_context(sandbox), timeout=30)
    p.user("alice")
    p.pass_(ALICE_PASSWORD)
    errors = []

    def client(k):
        try:
            with smtplib.SMTP(HOST, lst.port, timeout=60) as s:
                for i in range(50):
                    body = f"client {k} message {i}\r\n" + "x" * (i * 37) + "\r\n"
                    digest = hashlib.sha256(body.encode()).hexdigest()
                    m = make_message(subject=f"c{k}m{i}", body=body,
                                     extra_headers={"X-Checksum": digest})
                    s.sendmail("s@example.org", [ALICE], m)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"client {k}: {e!r}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        assert c.noop()[0] == "OK"
        p.noop()
        time.sleep(0.2)
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert c.noop()[0] == "OK"
    c.logout()
    p.quit()
    c = imaplib.IMAP4_SSL(HOST, imap_l.port, ssl_context=sandbox.client_tls(), timeout=30)
    c.login("alice", ALICE_PASSWORD)
    typ, data = c.select("INBOX", readonly=True)
    assert data == [b"201"], data
    typ, data = c.fetch("2:201", "(BODY.PEEK[])")
    seen = set()
    for item in data:
        if not isinstance(item, tuple):
            continue
        m = item[1]
        head, body = m.split(b"\r\n\r\n", 1)
        subj = re.search(rb"\nSubject: (c\dm\d+)\r", head)
        digest = re.search(rb"\nX-Checksum: ([0-9a-f]+)", head)
        assert subj and digest, head
        subj, digest = subj.group(1), digest.group(1).decode()
        assert hashlib.sha256(body).hexdigest() == digest, subj
        seen.add(subj)
    assert len(seen) == 200
    c.logout()


# --------------------------------------------------------------------------
# bad input and bounds


def test_bad_input_clean_replies_bounded_memory(sandbox, inetd):
    lst = mx(inetd, "-o", "max_size=200000")
    exe = find_bin("smtpd")
    # Let the readiness probe's smtpd exit, so only this session's is new.
    time.sleep(0.5)
    before = set(smtpd_pids(exe))
    r = raw_session(lst)
    mine = [pid for pid in smtpd_pids(exe) if pid not in before]
    # 10 MB without a line end, then the end
    chunk = b"A" * (1 << 20)
    for _ in range(10):
        r.send(chunk)
    r.send(b"\r\n")
    assert r.reply()[0].startswith("500 5.5.2"), "line too long"
    assert r.cmd("NOOP")[0].startswith("250 ")
    # garbage
    r.send(b"\x00\xff\x01garbage \x80\x81\r\n")
    assert r.reply()[0][:1] == "5"
    assert r.cmd("RSET")[0].startswith("250 ")
    # oversize: SIZE parameter, then actual bytes
    assert r.cmd("MAIL FROM:<s@example.org> SIZE=300000")[0].startswith("552 5.3.4")
    assert r.cmd("MAIL FROM:<s@example.org>")[0].startswith("250 ")
    assert r.cmd(f"RCPT TO:<{ALICE}>")[0].startswith("250 ")
    assert r.cmd("DATA")[0].startswith("354 ")
    line = b"y" * 998 + b"\r\n"
    r.send(b"Subject: big\r\n\r\n" + line * 300 + b".\r\n")
    assert r.reply()[0].startswith("552 5.3.4")
    # 101 recipients
    assert r.cmd("MAIL FROM:<s@example.org>")[0].startswith("250 ")
    r.send(f"RCPT TO:<{ALICE}>\r\n".encode() * 101)
    replies = [r.reply()[0] for _ in range(101)]
    assert all(x.startswith("250 ") for x in replies[:100]), replies[:3]
    assert replies[100].startswith("452 4.5.3"), replies[100]
    r.send(b"DATA\r\n")
    assert r.reply()[0].startswith("354 ")
    r.send(b"Subject: hundred\r\n\r\nok\r\n.\r\n")
    assert r.reply()[0].startswith("250 2.0.0 OK")
    # the same mailbox 100 times over is one copy
    assert len(mbox_messages(sandbox.inbox())) == 1
    assert len(mine) == 1, mine
    hwm = vm_hwm_kb(mine[0])
    print(f"smtpd VmHWM after 10 MB line, garbage, oversize, 101 RCPT: {hwm} kB")
    # the 10 MB line and 300 KB message were never held whole
    assert 0 < hwm < 16 * 1024, f"smtpd VmHWM {hwm} kB"
    assert r.cmd("QUIT")[0].startswith("221 ")
    # past the error bound the session is closed with 421
    r = raw_session(lst)
    got = []
    for _ in range(30):
        rep = r.cmd("BOGUS")
        got.append(rep[0])
        if rep[0].startswith("421") or rep[0] == "<EOF>":
            break
    assert got[-1].startswith("421 4.7.0"), got


# --------------------------------------------------------------------------
# relay command and virtual users without home


def test_relay_command_gets_argv_and_message(sandbox, inetd):
    out_dir = sandbox.root / "relay"
    out_dir.mkdir()
    out_dir.chmod(0o777)
    script = sandbox.root / "relay.sh"
    script.write_text("#!/bin/sh\n"
                      f"printf '%s\\n' \"$@\" > {out_dir}/argv\n"
                      f"cat > {out_dir}/stdin\n")
    script.chmod(0o755)
    lst = submission(inetd, "-o", f"relay_command={script} -oi -f %f --")
    msg = make_message(subject="relayed", sender=ALICE, to="bob@far.example")
    with smtplib.SMTP(HOST, lst.port, timeout=20) as s:
        s.starttls(context=tls_context(sandbox))
        s.login("alice", ALICE_PASSWORD)
        assert s.sendmail(ALICE, ["bob@far.example", ALICE], msg) == {}
    argv = (out_dir / "argv").read_text().splitlines()
    assert argv == ["-oi", "-f", ALICE, "--", "bob@far.example"], argv
    relayed = (out_dir / "stdin").read_bytes()
    assert b"Subject: relayed" in relayed and b"Received: " in relayed
    assert len(mbox_messages(sandbox.inbox())) == 1  # the local copy


def test_delivery_to_virtual_user_without_home_does_not_warn(sandbox, inetd):
    with sandbox.passwd_file.open("a") as f:
        f.write(f"carol:{{PLAIN}}x:{sandbox.uid}:{sandbox.gid}::{sandbox.root}/no-such-home:/bin/sh\n")
    lst = mx(inetd)
    with smtplib.SMTP(HOST, lst.port, timeout=20) as s:
        assert s.sendmail("s@example.org", ["carol@postern.test"], make_message(to="carol@postern.test")) == {}
    assert len(mbox_messages(sandbox.inbox("carol"))) == 1
    log = sandbox.log_text()
    assert "Delivered" in log and "Home not usable" not in log, log[-2000:]
