# RFC 5321 §4.5.2: leading dots are removed; ">From " quoting is the store's.
mode: mx
users: alice
S: 220 *
C: HELO c
S: 250 *
C: MAIL FROM:<a@b.example>
S: 250 *
C: RCPT TO:<alice@mx.example>
S: 250 *
C: DATA
S: 354 *
C: Subject: dots
C: 
C: ..
C: ...leading
C: . 
C: From here
C: .
S: 250 2.0.0 OK *
H: \n\n.\n..leading\n \nFrom here\n
