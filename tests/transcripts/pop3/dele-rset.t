# DELE marks, RSET unmarks; deleted messages vanish from STAT/LIST/UIDL and
# cannot be read; deleting twice is a clean -ERR; QUIT applies (RFC 1939 §6).
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
C: DELE 1
S: +OK Message 1 deleted
C: DELE 1
S: -ERR Message is deleted
C: LIST 1
S: -ERR Message is deleted
C: RETR 1
S: -ERR Message is deleted
C: TOP 1 0
S: -ERR Message is deleted
C: UIDL 1
S: -ERR Message is deleted
C: STAT
S: +OK 1 50
C: LIST
S: +OK 1 messages (50 octets)
S: 2 50
S: .
C: UIDL
S: +OK
S: 2 5f3e000100000002
S: .
C: RSET
S: +OK maildrop has 2 messages (95 octets)
C: RETR 1
S: +OK 45 octets
S: From: a@example.org
S: Subject: one
S:
S: Hello.
S: .
C: DELE 2
S: +OK Message 2 deleted
C: QUIT
S: +OK test.example POP3 server signing off (1 messages left)
L: Update user=alice host=[192.0.2.7] nmsgs=1 ndele=1
outcome: Quit
commit: dele=2 seen=1
