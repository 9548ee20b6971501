# AUTH LOGIN: user name and password prompts; user name as initial response.
set: plaintext=yes
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
C: AUTH LOGIN
S: + VXNlcm5hbWU6
C: YWxpY2U=
S: + UGFzc3dvcmQ6
C: czNjcjN0LWFsaWNl
S: +OK Mailbox open, 2 messages (95 octets)
C: QUIT
S: +OK test.example POP3 server signing off (2 messages left)
outcome: Quit
