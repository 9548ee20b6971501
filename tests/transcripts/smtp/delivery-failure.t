# All or nothing: one recipient's failure is a 451 for the message.
mode: mx
users: alice bob
fail: bob
S: 220 *
C: HELO c
S: 250 *
C: MAIL FROM:<a@b.example>
S: 250 *
C: RCPT TO:<alice@mx.example>
S: 250 *
C: RCPT TO:<bob@mx.example>
S: 250 *
C: DATA
S: 354 *
C: x
C: .
S: 451 4.3.0 Local error in processing; try again later
C: RCPT TO:<alice@mx.example>
S: 503 5.5.1 Need MAIL before RCPT
count: 0
