# PREAUTH (fd 0 not a socket, not root): the invoking user is accepted with
# any password over the pipe; another name is refused.
set: preauth=alice
set: peer=none
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
C: USER bob
S: +OK User name accepted, password please
C: PASS s3cr3t bob
S: -ERR [AUTH] Authentication failed
L: Login failed user=bob host=[local] reason="not the invoking user"
C: USER alice
S: +OK User name accepted, password please
C: PASS anything
S: +OK Mailbox open, 2 messages (95 octets)
L: Login user=alice host=[local] nmsgs=2
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
