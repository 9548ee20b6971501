# idle_timeout inside DATA: 421, nothing delivered.
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
TIMEOUT
S: 421 4.4.2 Idle timeout, closing connection
count: 0
