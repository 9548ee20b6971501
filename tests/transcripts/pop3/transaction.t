# Every TRANSACTION command on a two-message maildrop (RFC 1939 §5–§7):
# sizes are the octets RETR sends before dot-stuffing; RETR marks seen.
set: plaintext=yes
message: 1
M: From: a@example.org
M: Subject: one
M:
M: Hello.
message: 2
M: Subject: two
M:
M: .leading dot
M: ..two dots
M: .
M: end

S: +OK test.example POP3 server ready
C: USER alice
S: +OK User name accepted, password please
C: PASS s3cr3t-alice
S: +OK Mailbox open, 2 messages (95 octets)
L: Login user=alice host=[192.0.2.7] nmsgs=2
C: STAT
S: +OK 2 95
C: LIST
S: +OK 2 messages (95 octets)
S: 1 45
S: 2 50
S: .
C: LIST 2
S: +OK 2 50
C: UIDL
S: +OK
S: 1 5f3e000100000001
S: 2 5f3e000100000002
S: .
C: UIDL 1
S: +OK 1 5f3e000100000001
C: RETR 2
S: +OK 50 octets
S: Subject: two
S:
S: ..leading dot
S: ...two dots
S: ..
S: end
S: .
C: TOP 1 0
S: +OK
S: From: a@example.org
S: Subject: one
S:
S: .
C: TOP 2 2
S: +OK
S: Subject: two
S:
S: ..leading dot
S: ...two dots
S: .
C: TOP 2 4294967295999
S: +OK
S: Subject: two
S:
S: ..leading dot
S: ...two dots
S: ..
S: end
S: .
C: NOOP
S: +OK
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
L: Update user=alice host=[192.0.2.7] nmsgs=2 ndele=0
L: Logout user=alice host=[192.0.2.7]
outcome: Quit
commit: dele= seen=2
