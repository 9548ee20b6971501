# Maildrop held by another POP3 session: [IN-USE] and close (RFC 2449 §8.1.1).
set: plaintext=yes
set: in_use
S: +OK test.example POP3 server ready
C: USER alice
S: +OK User name accepted, password please
C: PASS s3cr3t-alice
S: -ERR [IN-USE] Mailbox is locked by another POP3 session
C: STAT
L: Mailbox open failed user=alice host=[192.0.2.7]
outcome: MailboxUnavailable
commit: none
