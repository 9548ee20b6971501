"""imapd against real clients, started as inetd starts it (socat nofork):
Python imaplib over imaps and STARTTLS, curl imaps://, openssl s_client
-starttls imap, the STARTTLS injection check, two sessions on one mailbox,
IDLE woken by a delivery, and the failed-login limit (issue 5)."""

import imaplib
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import ALICE_PASSWORD, find_bin, make_message, read_until

HOST = "127.0.0.1"


def imaps(sandbox, lst) -> imaplib.IMAP4_SSL:
    return imaplib.IMAP4_SSL(HOST, lst.port, ssl_context=sandbox.client_tls(), timeout=10)


def login(sandbox, lst) -> imaplib.IMAP4_SSL:
    c = imaps(sandbox, lst)
    typ, _ = c.login("alice", ALICE_PASSWORD)
    assert typ == "OK"
    return c


def test_imaps_session_with_imaplib(sandbox, inetd):
    sandbox.deliver_many(3)
    lst = inetd.start("imapd", "-s")
    c = imaps(sandbox, lst)
    caps = c.capabilities
    for cap in ("IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "AUTH=PLAIN", "LITERAL+", "NAMESPACE"):
        assert cap in caps, caps
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps
    assert c.login("alice", ALICE_PASSWORD)[0] == "OK"
    typ, data = c.select("INBOX")
    assert (typ, data) == ("OK", [b"3"])
    typ, data = c.fetch("2", "(RFC822)")
    assert typ == "OK" and b"Subject: message 2" in data[0][1]
    typ, data = c.uid("SEARCH", None, "ALL")
    assert data == [b"1 2 3"]
    assert c.create("Archive")[0] == "OK"
    typ, data = c.uid("COPY", "1:2", "Archive")
    assert typ == "OK"
    assert c.response("COPYUID")[1][0].split()[1:] == [b"1:2", b"1:2"]
    assert c.store("1", "+FLAGS", "(\\Deleted)")[0] == "OK"
    typ, data = c.expunge()
    assert data == [b"1"], data
    msg = make_message(subject="appended")
    typ, data = c.append("Archive", "(\\Seen)", imaplib.Time2Internaldate(time.time()), msg)
    assert typ == "OK"
    assert c.response("APPENDUID")[1][0].split()[1] == b"3"
    typ, data = c.status("Archive", "(MESSAGES UNSEEN)")
    assert data == [b"Archive (MESSAGES 3 UNSEEN 1)"], data  # message 2 was read (\\Seen) before COPY
    typ, data = c.list()
    assert b'(\\NoInferiors \\Archive) "/" Archive' in data, data
    assert c.logout()[0] == "BYE"
    log = sandbox.log_text()
    assert "Login user=alice" in log and "Logout user=alice" in log, log
    assert ALICE_PASSWORD not in log


def test_starttls_with_imaplib(sandbox, inetd):
    sandbox.deliver_many(1)
    lst = inetd.start("imapd")
    c = imaplib.IMAP4(HOST, lst.port, timeout=10)
    assert "STARTTLS" in c.capabilities and "LOGINDISABLED" in c.capabilities
    assert not any(cap.startswith("AUTH=") for cap in c.capabilities)
    with pytest.raises(imaplib.IMAP4.error):
        c.login("alice", ALICE_PASSWORD)
    assert c.starttls(ssl_context=sandbox.client_tls())[0] == "OK"
    assert "AUTH=PLAIN" in c.capabilities and "STARTTLS" not in c.capabilities
    assert c.login("alice", ALICE_PASSWORD)[0] == "OK"
    assert c.select("INBOX") == ("OK", [b"1"])
    c.logout()


def test_starttls_injection_is_not_executed(sandbox, inetd):
    lst = inetd.start("imapd")
    with lst.connect() as raw:
        assert b"STARTTLS" in read_until(raw, b"\r\n")
        raw.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
        assert read_until(raw, b"\r\n") == b"a OK Begin TLS negotiation now\r\n"
        with sandbox.client_tls().wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"c NOOP\r\n")
            got = read_until(s, b"c OK")
    assert b"b " not in got and b"CAPABILITY" not in got, got


def test_curl_imaps_list_and_fetch(sandbox, inetd):
    sandbox.deliver(make_message(subject="for curl", body="curl body text\r\n"))
    lst = inetd.start("imapd", "-s")
    base = f"imaps://127.0.0.1:{lst.port}"
    common = ["curl", "-sS", "--max-time", "20", "--cacert", str(sandbox.ca),
              "-u", f"alice:{ALICE_PASSWORD}"]
    out = subprocess.run(common + [f"{base}/"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert '"/" INBOX' in out.stdout, out.stdout
    out = subprocess.run(common + [f"{base}/INBOX;MAILINDEX=1"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert "Subject: for curl" in out.stdout and "curl body text" in out.stdout, out.stdout


def test_openssl_s_client_starttls(sandbox, inetd):
    lst = inetd.start("imapd")
    script = f"a LOGIN alice {ALICE_PASSWORD}\r\nb SELECT INBOX\r\nc LOGOUT\r\n"
    out = subprocess.run(
        ["openssl", "s_client", "-starttls", "imap", "-connect", f"127.0.0.1:{lst.port}",
         "-CAfile", str(sandbox.ca), "-verify_return_error", "-quiet", "-crlf"],
        input=script.replace("\r\n", "\n"), capture_output=True, text=True, timeout=30)
    assert "a OK [CAPABILITY" in out.stdout, out
    assert "b OK [READ-WRITE]" in out.stdout and "c OK LOGOUT" in out.stdout, out.stdout


def test_two_sessions_on_one_mailbox(sandbox, inetd):
    sandbox.deliver_many(3)
    lst = inetd.start("imapd", "-s")
    a, b = login(sandbox, lst), login(sandbox, lst)
    a.select("INBOX")
    b.select("INBOX")
    a.store("2", "+FLAGS", "(\\Deleted)")
    assert a.expunge()[1] == [b"2"]
    typ, _ = b.noop()
    assert typ == "OK"
    assert b.untagged_responses.get("EXPUNGE") == [b"2"], b.untagged_responses
    typ, data = b.fetch("1:*", "(UID)")
    assert [d for d in data] == [b"1 (UID 1)", b"2 (UID 3)"], data
    a.logout()
    b.logout()


def test_idle_woken_by_a_delivery(sandbox, inetd):
    sandbox.deliver_many(1)
    lst = inetd.start("imapd", "-s")
    with sandbox.client_tls().wrap_socket(socket.create_connection(lst.address, timeout=10),
                                          server_hostname="localhost") as s:
        read_until(s, b"\r\n")
        s.sendall(f"a LOGIN alice {ALICE_PASSWORD}\r\nb SELECT INBOX\r\nc IDLE\r\n".encode())
        assert b"+ idling\r\n" in read_until(s, b"+ idling\r\n")
        t = time.monotonic()
        sandbox.deliver(make_message(subject="wake up"))
        got = read_until(s, b"EXISTS\r\n", timeout=5)
        assert b"* 2 EXISTS\r\n" in got and time.monotonic() - t < 2.0, got
        s.sendall(b"DONE\r\nd LOGOUT\r\n")
        got = read_until(s, b"d OK")
        assert b"c OK IDLE terminated\r\n" in got, got


def test_failed_logins_end_the_session(sandbox, inetd):
    sandbox.write_conf(max_auth_failures="2")
    lst = inetd.start("imapd", "-s")
    with sandbox.client_tls().wrap_socket(socket.create_connection(lst.address, timeout=10),
                                          server_hostname="localhost") as s:
        read_until(s, b"\r\n")
        s.sendall(b"a LOGIN alice wrong\r\nb LOGIN alice wrong-again\r\n")
        got = read_until(s, b"* BYE")
        got += read_until(s, b"\r\n")
    assert b"a NO [AUTHENTICATIONFAILED]" in got and b"b NO [AUTHENTICATIONFAILED]" in got, got
    assert re.search(r"Login failed user=alice host=\[127\.0\.0\.1\]", sandbox.log_text())
    assert "wrong-again" not in sandbox.log_text()


def test_authenticate_external_with_client_certificate(sandbox, inetd):
    # client/valid.crt has CN valid@postern.test; postern.test is a local domain.
    sandbox.add_user("valid", "not-used-for-external")
    sandbox.write_conf(client_ca=str(sandbox.tls / "ca-crl.pem"), client_cert="optional")
    lst = inetd.start("imapd", "-s")
    ctx = sandbox.client_tls("valid")
    with ctx.wrap_socket(socket.create_connection(lst.address, timeout=10),
                         server_hostname="localhost") as s:
        greeting = read_until(s, b"\r\n")
        assert b"AUTH=EXTERNAL" in greeting, greeting
        s.sendall(b"a AUTHENTICATE EXTERNAL dmFsaWQ=\r\nb SELECT INBOX\r\nc LOGOUT\r\n")
        got = read_until(s, b"c OK")
    assert b"a OK [CAPABILITY" in got and b"b OK [READ-WRITE]" in got, got
    assert "Login user=valid" in sandbox.log_text() and "method=EXTERNAL" in sandbox.log_text()
    # Without a certificate EXTERNAL is neither offered nor accepted.
    with sandbox.client_tls().wrap_socket(socket.create_connection(lst.address, timeout=10),
                                          server_hostname="localhost") as s:
        assert b"AUTH=EXTERNAL" not in read_until(s, b"\r\n")
        s.sendall(b"a AUTHENTICATE EXTERNAL =\r\n")
        assert read_until(s, b"\r\n").startswith(b"a NO ")


def test_preauth_on_a_pipe_as_the_invoking_user(sandbox):
    """fd 0 not a socket and not root: `* PREAUTH` as the invoking user
    (IMAP over ssh). As root the test becomes uid 5000 with setpriv, and
    nss_wrapper names that uid alice."""
    sandbox.deliver_many(2)
    script = b"a SELECT INBOX\r\nb UID FETCH 1:* (FLAGS)\r\nc LOGOUT\r\n"
    if os.geteuid() == 0:
        nss = sandbox.root / "nss"
        nss.mkdir()
        (nss / "passwd").write_text(f"alice:x:{sandbox.uid}:{sandbox.gid}:Alice:{sandbox.home()}:/bin/sh\n")
        (nss / "group").write_text(f"alice:x:{sandbox.gid}:\n")
        env = sandbox.env | {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so",
                             "NSS_WRAPPER_PASSWD": str(nss / "passwd"),
                             "NSS_WRAPPER_GROUP": str(nss / "group")}
        out = subprocess.run(["setpriv", f"--reuid={sandbox.uid}", f"--regid={sandbox.gid}",
                              "--clear-groups", str(find_bin("imapd")), "-c", str(sandbox.conf)],
                             input=script, capture_output=True, timeout=30, env=env)
    else:
        out = sandbox.run("imapd", input=script)
    text = out.stdout.decode(errors="replace")
    assert text.startswith("* PREAUTH [CAPABILITY IMAP4rev1 "), text
    assert "Logged in as alice" in text.splitlines()[0]
    assert "* 2 EXISTS\r\n" in text and "a OK [READ-WRITE]" in text, text
    assert "* 2 FETCH (UID 2 FLAGS (\\Recent))" in text, text
    assert "c OK LOGOUT completed" in text and out.stderr == b"", out


MBSYNC_RC = """\
IMAPAccount postern
Host localhost
Port {port}
User alice
Pass {password}
SSLType IMAPS
CertificateFile {ca}
AuthMechs LOGIN

IMAPStore remote
Account postern

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX Archive
Create Both
Expunge Both
SyncState *
"""


def maildir_files(d):
    return sorted(p for sub in ("cur", "new") for p in (d / sub).iterdir())


def test_mbsync_both_directions(sandbox, inetd):
    sandbox.deliver_many(2)
    lst = inetd.start("imapd", "-s")
    local = sandbox.root / "maildir"
    local.mkdir()
    rc = sandbox.root / "mbsyncrc"
    rc.write_text(MBSYNC_RC.format(port=lst.port, password=ALICE_PASSWORD, ca=sandbox.ca,
                                   local=local))
    c = login(sandbox, lst)
    c.create("Archive")
    c.append("Archive", "(\\Flagged)", None, make_message(subject="archived"))

    def mbsync():
        out = subprocess.run(["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True,
                             timeout=60, env={"HOME": str(sandbox.root), "PATH": "/usr/bin:/bin"})
        assert out.returncode == 0, out.stdout + out.stderr

    mbsync()
    inbox = maildir_files(local / "INBOX")
    assert len(inbox) == 2 and len(maildir_files(local / "Archive")) == 1
    flagged = maildir_files(local / "Archive")[0]
    assert flagged.name.split(":2,")[1] == "F", flagged
    # Local changes: a new message, a message marked seen, one deleted.
    (local / "INBOX" / "new" / "1700000000.1.local").write_bytes(make_message(subject="pushed"))
    first, second = inbox
    first.rename(first.parent.parent / "cur" / (first.name.split(":2,")[0] + ":2,S"))
    second.rename(second.parent.parent / "cur" / (second.name.split(":2,")[0] + ":2,T"))
    mbsync()
    c.select("INBOX")
    typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = b" ".join(d[1] for d in data if isinstance(d, tuple))
    flags = b" ".join(d[0] for d in data if isinstance(d, tuple))
    assert b"pushed" in subjects and b"message 2" not in subjects, data
    assert b"\\Seen" in flags, data
    # A server-side change comes back.
    c.store("1", "+FLAGS", "(\\Answered)")
    c.logout()
    mbsync()
    assert any(p.name.endswith("RS") or ":2,RS" in p.name for p in maildir_files(local / "INBOX")), \
        maildir_files(local / "INBOX")


def test_fetchmail_over_imaps(sandbox, inetd):
    sandbox.deliver_many(2)
    lst = inetd.start("imapd", "-s")
    out_dir = sandbox.root / "fetched"
    out_dir.mkdir()
    rc = sandbox.root / "fetchmailrc"
    rc.write_text(
        f"poll localhost service {lst.port} protocol IMAP user alice password {ALICE_PASSWORD}"
        f" ssl sslcertfile {sandbox.ca} sslcertck keep"
        f" mda \"/bin/sh -c 'cat > {out_dir}/$$.msg'\"\n")
    rc.chmod(0o600)
    out = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--nosyslog", "-v"],
                         capture_output=True, text=True, timeout=60,
                         env={"HOME": str(sandbox.root), "PATH": "/usr/bin:/bin",
                              "FETCHMAILHOME": str(sandbox.root)})
    assert out.returncode == 0, out.stdout + out.stderr
    got = sorted(p.read_bytes() for p in out_dir.iterdir())
    assert len(got) == 2 and all(b"Subject: message" in m for m in got), got


def test_deliveries_racing_an_open_session_lose_nothing(sandbox, inetd):
    """Four writers deliver while a session keeps changing flags (in-place
    write-backs) and expunging: every delivered message ends up visible,
    with distinct UIDs."""
    import threading
    sandbox.deliver_many(4)
    lst = inetd.start("imapd", "-s")
    c = login(sandbox, lst)
    c.select("INBOX")
    per_writer = 5

    def writer(w):
        for i in range(per_writer):
            sandbox.deliver(make_message(subject=f"race {w}-{i}"))
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for n in range(30):
        c.store("1:*", "+FLAGS.SILENT", "(\\Seen)" if n % 2 else "($Busy)")
        c.noop()
    c.store("1", "+FLAGS", "(\\Deleted)")
    c.expunge()
    for t in threads:
        t.join()
    c.noop()
    typ, data = c.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = [d[1] for d in data if isinstance(d, tuple)]
    uids = [int(re.search(rb"UID (\d+)", d[0]).group(1)) for d in data if isinstance(d, tuple)]
    races = sorted(s.strip().decode() for s in subjects if b"race" in s)
    assert races == sorted(f"Subject: race {w}-{i}" for w in range(4) for i in range(per_writer))
    assert len(subjects) == 3 + 4 * per_writer and len(set(uids)) == len(uids), data
    c.logout()


DOVECOT_IMAP = "/usr/lib/dovecot/imap"


def run_preauth(sandbox, argv, script: bytes, env=None) -> str:
    """A stdin/stdout IMAP server as uid TEST_UID (or us, when not root)."""
    if os.geteuid() == 0:
        argv = ["setpriv", f"--reuid={sandbox.uid}", f"--regid={sandbox.gid}", "--clear-groups"] + argv
    out = subprocess.run(argv, input=script, capture_output=True, timeout=30, env=env)
    return out.stdout.decode(errors="replace")


def imap_view(text: str):
    """(uidvalidity, uidnext, {uid: flags}) from SELECT + UID FETCH output."""
    v = int(re.search(r"\[UIDVALIDITY (\d+)\]", text).group(1))
    n = int(re.findall(r"\[UIDNEXT (\d+)\]", text)[-1])
    msgs = {}
    for m in re.finditer(r"\* \d+ FETCH \((?:UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+))\)", text):
        uid = int(m.group(1) or m.group(4))
        flags = (m.group(2) if m.group(2) is not None else m.group(3)).split()
        msgs[uid] = sorted(f for f in flags if f != "\\Recent")
    return v, n, msgs


@pytest.mark.skipif(not os.path.exists(DOVECOT_IMAP), reason="dovecot-imapd not installed")
def test_dovecot_reads_what_imapd_wrote_and_back(sandbox, inetd):
    sandbox.deliver_many(4)
    conf = sandbox.root / "dovecot.conf"
    for d in ("dv-run", "dv-state"):
        (sandbox.root / d).mkdir()
        sandbox.chown(sandbox.root / d)
    conf.write_text(f"mail_location = mbox:{sandbox.mail_dir()}:INBOX={sandbox.inbox()}\n"
                    f"log_path = /dev/null\nssl = no\nlisten =\n"
                    f"base_dir = {sandbox.root}/dv-run\nstate_dir = {sandbox.root}/dv-state\n")
    dv_env = {"USER": "alice", "HOME": str(sandbox.home()), "PATH": "/usr/bin:/bin"}

    def dovecot(script: bytes) -> str:
        return run_preauth(sandbox, [DOVECOT_IMAP, "-c", str(conf)], script, dv_env)

    lst = inetd.start("imapd", "-s")
    c = login(sandbox, lst)
    c.select("INBOX")
    c.store("1", "+FLAGS", "(\\Seen $Work)")
    c.store("2", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.store("2", "+FLAGS", "(\\Flagged \\Answered)")
    c.select("INBOX")
    ours = imap_view("\r\n".join(
        [f"* OK [UIDVALIDITY {c.response('UIDVALIDITY')[1][0].decode()}]",
         f"* OK [UIDNEXT {c.response('UIDNEXT')[1][0].decode()}]"]
        + ["* " + d.decode().replace(" (", " FETCH (", 1) for d in c.fetch("1:*", "(UID FLAGS)")[1]]))
    c.logout()
    assert ours[2] == {1: ["$Work", "\\Seen"], 3: ["\\Answered", "\\Flagged"], 4: []}, ours
    theirs = imap_view(dovecot(b"a SELECT INBOX\r\nb UID FETCH 1:* (FLAGS)\r\nc LOGOUT\r\n"))
    assert theirs == ours
    # Dovecot changes flags and appends; imapd sees the same.
    dovecot(b"a SELECT INBOX\r\nb UID STORE 4 +FLAGS (\\Draft $Later)\r\n"
            b"c APPEND INBOX (\\Seen) {8}\r\nSubj: x\r\n\r\nd LOGOUT\r\n")
    theirs = imap_view(dovecot(b"a SELECT INBOX\r\nb UID FETCH 1:* (FLAGS)\r\nc LOGOUT\r\n"))
    c = login(sandbox, lst)
    typ, _ = c.select("INBOX")
    text = "\r\n".join(
        [f"* OK [UIDVALIDITY {c.response('UIDVALIDITY')[1][0].decode()}]",
         f"* OK [UIDNEXT {c.response('UIDNEXT')[1][0].decode()}]"]
        + ["* " + d.decode().replace(" (", " FETCH (", 1) for d in c.fetch("1:*", "(UID FLAGS)")[1]])
    c.logout()
    assert theirs[2][4] == ["$Later", "\\Draft"] and theirs[2][5] == ["\\Seen"], theirs
    assert imap_view(text) == theirs


def test_imaps_under_xinetd(sandbox, xinetd):
    sandbox.deliver_many(1)
    lst = xinetd.start("imapd", "-s")
    c = login(sandbox, lst)
    assert c.select("INBOX") == ("OK", [b"1"])
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"Subject: message 1" in data[0][1]
    assert c.logout()[0] == "BYE"
