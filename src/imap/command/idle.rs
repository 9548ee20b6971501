//! IDLE (RFC 2177): after the `+` continuation the session polls the
//! selected mailbox at least once a second ([`POLL`]) and sends untagged
//! EXISTS/RECENT/EXPUNGE/FETCH as soon as another process changes it,
//! until the client sends `DONE`. Input other than `DONE` is `BAD`; no
//! input for `idle_timeout` ends the session with `* BYE Autologout`.

use crate::imap::error::{Completion, ImapError};
use crate::imap::session::{Session, State};
use crate::io::ReadLine;
use std::time::{Duration, Instant};

/// Longest wait between two looks at the mailbox.
pub(crate) const POLL: Duration = Duration::from_millis(500);

/// ```text
/// idle = "IDLE" CRLF "DONE"
/// ```
pub(crate) fn idle(s: &mut Session<'_>) -> Result<Completion, ImapError> {
    s.out.continuation("idling");
    s.flush()?;
    let limit = Duration::from_secs(s.ctx.cfg.idle_timeout);
    let start = Instant::now();
    loop {
        if s.ctx.conn.wait_input(POLL)? {
            let line = match s.ctx.conn.read_line(1024)? {
                ReadLine::Line(l) => l,
                ReadLine::TooLong => return Err(ImapError::bad("Expected DONE")),
                ReadLine::Eof => return Err(ImapError::Disconnected),
                ReadLine::Timeout => {
                    return Err(ImapError::Bye("Autologout; idle for too long".into()))
                }
            };
            return if line.eq_ignore_ascii_case(b"DONE") {
                Ok(Completion::ok("IDLE terminated"))
            } else {
                Err(ImapError::bad("Expected DONE"))
            };
        }
        if start.elapsed() >= limit {
            return Err(ImapError::Bye("Autologout; idle for too long".into()));
        }
        if let State::Selected(sel) = &mut s.state {
            sel.report_changes(&mut s.out)?;
            s.flush()?;
        }
    }
}
