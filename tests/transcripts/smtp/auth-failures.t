# Failed logins: 535, cancel with "*", bad SASL data (501, not counted as
# a login failure), then 421 after max_auth_failures.
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
C: AUTH PLAIN
S: 334 
C: *
S: 501 5.0.0 Authentication cancelled
C: AUTH PLAIN !!!notbase64
S: 501 5.5.2 Invalid base64 data
C: AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==
S: 501 5.5.2 Authorization identity not allowed
C: AUTH PLAIN AGFsaWNlAHdyb25n
S: 535 5.7.8 Authentication credentials invalid
C: AUTH LOGIN bm9ib2R5
S: 334 UGFzc3dvcmQ6
C: c2VjcmV0
S: 535 5.7.8 Authentication credentials invalid
C: AUTH PLAIN AGFsaWNlAHdyb25n
S: 421 4.7.0 Too many authentication failures
C: NOOP
