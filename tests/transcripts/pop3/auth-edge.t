# SASL continuation edge cases: over-long response, bad base64 user name,
# idle timeout at the password prompt (nothing logged in, nothing leaked).
set: plaintext=yes
S: +OK test.example POP3 server ready
C: AUTH PLAIN
S: +\x20
R: 2000 QUFB
C:
S: -ERR Line too long
C: AUTH LOGIN
S: + VXNlcm5hbWU6
C: %%%
S: -ERR Invalid base64 data
C: AUTH LOGIN AA==
S: -ERR [AUTH] Authentication failed
L: Login failed user=- host=[192.0.2.7] reason="Invalid user name"
C: AUTH LOGIN YWxpY2U=
S: + UGFzc3dvcmQ6
T:
S: -ERR Autologout; idle for too long
L: Autologout host=[192.0.2.7]
outcome: Timeout
commit: none
