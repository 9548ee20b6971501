# idle_timeout while waiting for a SASL response: 421 4.4.2.
mode: submission
plaintext_auth: yes
users: alice
S: 220 *
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-AUTH PLAIN LOGIN
S: 250-*
S: 250 *
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
TIMEOUT
S: 421 4.4.2 Idle timeout, closing connection
