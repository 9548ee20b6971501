# Failed logins: same answer for wrong password and unknown user; after
# max_auth_failures the connection closes (DESIGN.md).
set: plaintext=yes
S: +OK test.example POP3 server ready
C: USER alice
S: +OK User name accepted, password please
C: PASS bad-pass-1
S: -ERR [AUTH] Authentication failed
L: Login failed user=alice host=[192.0.2.7] reason="bad credentials"
C: PASS bad-pass-1b
S: -ERR No user name given; send USER first
C: USER nosuchuser
S: +OK User name accepted, password please
C: PASS bad-pass-2
S: -ERR [AUTH] Authentication failed
L: Login failed user=nosuchuser host=[192.0.2.7] reason="bad credentials"
C: USER alice
S: +OK User name accepted, password please
C: PASS bad-pass-3
S: -ERR [AUTH] Authentication failed; too many failures, closing connection
C: USER alice
C: PASS s3cr3t-alice
outcome: TooManyAuthFailures
commit: none
