# Idle timeout: -ERR then close; marked deletions are not applied.
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
T:
S: -ERR Autologout; idle for too long
L: Autologout user=alice host=[192.0.2.7]
L: Logout user=alice host=[192.0.2.7]
outcome: Timeout
commit: none
