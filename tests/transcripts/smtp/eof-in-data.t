# Connection lost inside DATA: nothing delivered, no reply.
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
C: partial
count: 0
