# SMTP smuggling with "\r\n.\n" and "\n.\r\n": still one data stream.
mode: mx
users: alice bob
C: EHLO c
C: MAIL FROM:<a@b.example>
C: RCPT TO:<alice@mx.example>
C: DATA
S: 220 *
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 CHUNKING
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 *
R: Subject: one\r\n\r\nfirst\r\n.\nMAIL FROM:<admin@mx.example>\r\nRCPT TO:<bob@mx.example>\r\nDATA\r\nsecond\n.\r\nMAIL FROM:<x@y.example>\r\n.\r\n
S: 550 5.6.0 *
C: MAIL FROM:<a@b.example>
C: RCPT TO:<alice@mx.example>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 *
C: clean
C: .
S: 250 2.0.0 OK *
count: 1
D: from=<a@b.example> local=alice remote=
!H: admin
