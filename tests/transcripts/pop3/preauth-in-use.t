# PREAUTH with the maildrop held by another POP3 session: greeting, then
# -ERR [IN-USE] and close.
set: preauth=alice
set: peer=none
set: in_use
S: +OK test.example POP3 server ready, preauthenticated
S: -ERR [IN-USE] Mailbox is locked by another POP3 session
C: STAT
outcome: MailboxUnavailable
commit: none
