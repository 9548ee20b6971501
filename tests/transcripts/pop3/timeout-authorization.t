# Idle timeout before login.
S: +OK test.example POP3 server ready
T:
S: -ERR Autologout; idle for too long
L: Autologout host=[192.0.2.7]
outcome: Timeout
commit: none
