# AUTH PLAIN (RFC 5034, RFC 4616): initial response, continuation, "=",
# cancel, bad base64, proxy authzid refused.
set: plaintext=yes
set: max_auth_failures=5
message: 1
M: From: a@example.org
M: Subject: one
M:
M: Hello.
message: 2
M: Subject: two
M:
M: .leading dot
M: ..two dots
M: .
M: end

S: +OK test.example POP3 server ready
C: AUTH PLAIN =
S: -ERR [AUTH] Authentication failed
L: Login failed user=- host=[192.0.2.7] reason="Malformed PLAIN response"
C: AUTH PLAIN
S: +\x20
C: *
S: -ERR Authentication cancelled
C: AUTH PLAIN !!!notbase64
S: -ERR Invalid base64 data
C: AUTH PLAIN Ym9iAGFsaWNlAHMzY3IzdC1hbGljZQ==
S: -ERR [AUTH] Authentication failed
L: Login failed user=- host=[192.0.2.7] reason="Authorization identity not allowed"
C: AUTH PLAIN AGFsaWNlAGJhZC1wYXNzLTI=
S: -ERR [AUTH] Authentication failed
L: Login failed user=alice host=[192.0.2.7] reason="bad credentials"
C: auth plain
S: +\x20
C: YWxpY2UAYWxpY2UAczNjcjN0LWFsaWNl
S: +OK Mailbox open, 2 messages (95 octets)
L: Login user=alice host=[192.0.2.7] nmsgs=2
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
