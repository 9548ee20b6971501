# A bare CR in DATA refuses the message too (RFC 5321 §2.3.8).
mode: mx
users: alice
S: 220 *
C: HELO c
S: 250 *
C: MAIL FROM:<a@b.example>
S: 250 *
C: RCPT TO:<alice@mx.example>
S: 250 *
C: DATA
S: 354 *
R: a\rb\r\n.\r\n
S: 550 5.6.0 *
count: 0
