# AUTH LOGIN with the user name as initial response; EOF at the password
# prompt ends the session quietly.
set: plaintext=yes
S: +OK test.example POP3 server ready
C: AUTH LOGIN YWxpY2U=
S: + UGFzc3dvcmQ6
outcome: Eof
commit: none
