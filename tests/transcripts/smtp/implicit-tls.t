# Port 465: TLS from the start; no STARTTLS, AUTH offered.
mode: submission
tls: active
users: alice
S: 220 *
C: EHLO c
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-AUTH PLAIN LOGIN
S: 250-SMTPUTF8
S: 250 CHUNKING
C: STARTTLS
S: 503 5.5.1 TLS already active
