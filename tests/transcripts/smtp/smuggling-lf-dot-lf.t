# SMTP smuggling: "\n.\n" is not an end of data; a bare LF refuses the
# message, and the MAIL FROM inside it is never a command.
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
R: Subject: one\r\n\r\nfirst\n.\nMAIL FROM:<admin@mx.example>\r\nRCPT TO:<bob@mx.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nsecond\r\n.\r\n
S: 550 5.6.0 Bare CR or LF in message; lines must end with CRLF
C: QUIT
S: 221 *
count: 0
