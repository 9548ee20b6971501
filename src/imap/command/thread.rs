//! THREAD and UID THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES over
//! the messages a search selects, rendered as `* THREAD (1 2)(3 (4)(5))`
//! (§4).
//!
//! ```text
//! thread = ["UID" SP] "THREAD" SP thread-alg SP search-charset 1*(SP search-key)
//! thread-list = "(" (thread-members / thread-nested) ")"
//! thread-members = nz-number *(SP nz-number) [SP thread-nested]
//! thread-nested = 2*thread-list
//! ```
//!
//! ORDEREDSUBJECT (§3): sort by base subject then sent date, one thread per
//! subject whose first message is the parent of all the others, threads
//! ordered by their first message's sent date.
//!
//! REFERENCES (§3, steps 1–6, after JWZ): containers linked by Message-ID,
//! References (or the first msg-id of In-Reply-To), loops refused; dummies
//! pruned; root threads with the same base subject merged; every sibling
//! list sorted by sent date. A Message-ID that is missing or already taken
//! by an earlier message gets a fresh unique id (§3 step 1). At most the
//! last [`MAX_REFERENCES`] references of a message are used so a hostile
//! header cannot make the linking quadratic in its length.
//!
//! Sent date as in SORT DATE (§2.2); ties, and everything else equal, go by
//! sequence number. Trees are walked with explicit stacks, never recursion,
//! so a 100,000-message reply chain cannot exhaust the stack.

use std::collections::HashMap;

use super::search::{Query, SearchError};
use super::sort::{sent_date, sort_subject};
use crate::imap::view::MailView;
use crate::imap::wire::command::{SearchKey, ThreadAlgorithm};
use crate::message::header;
use crate::message::subject::base_subject;

/// References of one message used for threading (the last ones).
pub const MAX_REFERENCES: usize = 256;

/// A thread tree node: a message (index into the mailbox) or a dummy.
#[derive(Clone, Debug, Default)]
struct Node {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The result: a forest over an arena; `roots` in thread order.
#[derive(Clone, Debug, Default)]
pub struct Threads {
    nodes: Vec<Node>,
    roots: Vec<usize>,
}

/// What threading needs of one selected message.
struct Info {
    index: usize,
    date: i64,
    /// Base subject mapped with i;ascii-casemap.
    subject: Vec<u8>,
    is_reply: bool,
    message_id: Option<Vec<u8>>,
    references: Vec<Vec<u8>>,
}

/// The msg-ids (`<...>`, brackets removed) in a field value, in order.
fn msg_ids(value: &[u8]) -> Vec<Vec<u8>> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(open) = memchr::memchr(b'<', rest) {
        rest = &rest[open + 1..];
        let Some(close) = memchr::memchr2(b'>', b'<', rest) else { break };
        if rest[close] == b'>' {
            let id: Vec<u8> = rest[..close].iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            if !id.is_empty() {
                ids.push(id);
            }
            rest = &rest[close + 1..];
        } else {
            rest = &rest[close..];
        }
    }
    ids
}

fn collect<V: MailView + ?Sized>(view: &mut V, search: &SearchKey, charset: &str, now: i64) -> Result<Vec<Info>, SearchError> {
    let mut query = Query::new(view, search, Some(charset), now)?;
    let mut infos = Vec::new();
    for i in 0..view.count() {
        if !query.matches(view, i)? {
            continue;
        }
        let hdr = query.header(view, i)?;
        let (subject, is_reply) = match header::find(hdr, "Subject") {
            Some(s) => (sort_subject(hdr), base_subject(s).1),
            None => (Vec::new(), false),
        };
        let message_id = header::find(hdr, "Message-ID").and_then(|v| msg_ids(v).into_iter().next());
        let mut references = header::find_all(hdr, "References").flat_map(msg_ids).collect::<Vec<_>>();
        if references.is_empty() {
            references = header::find(hdr, "In-Reply-To").map(msg_ids).unwrap_or_default();
            references.truncate(1);
        }
        if references.len() > MAX_REFERENCES {
            references.drain(..references.len() - MAX_REFERENCES);
        }
        let date = sent_date(&*view, i, hdr);
        infos.push(Info { index: i, date, subject, is_reply, message_id, references });
    }
    Ok(infos)
}

/// Runs the search, then threads the hits.
pub fn thread<V: MailView + ?Sized>(
    view: &mut V,
    algorithm: ThreadAlgorithm,
    charset: &str,
    search: &SearchKey,
    now: i64,
) -> Result<Threads, SearchError> {
    let infos = collect(view, search, charset, now)?;
    Ok(match algorithm {
        ThreadAlgorithm::OrderedSubject => ordered_subject(&infos),
        ThreadAlgorithm::References => references(&infos),
    })
}

fn ordered_subject(infos: &[Info]) -> Threads {
    let mut order: Vec<usize> = (0..infos.len()).collect();
    // Stable over ascending indexes: equal subject and date keep sequence order.
    order.sort_by(|&a, &b| (&infos[a].subject, infos[a].date).cmp(&(&infos[b].subject, infos[b].date)));
    let mut t = Threads::default();
    let mut first: Vec<(i64, usize, usize)> = Vec::new(); // (date, index, node) of each thread
    let mut k = 0;
    while k < order.len() {
        let head = &infos[order[k]];
        let root = t.push(Some(head.index));
        first.push((head.date, head.index, root));
        k += 1;
        while k < order.len() && infos[order[k]].subject == head.subject {
            let child = t.push(Some(infos[order[k]].index));
            t.nodes[root].children.push(child);
            k += 1;
        }
    }
    first.sort();
    t.roots = first.into_iter().map(|(_, _, n)| n).collect();
    t
}

impl Threads {
    fn push(&mut self, msg: Option<usize>) -> usize {
        self.nodes.push(Node { msg, parent: None, children: Vec::new() });
        self.nodes.len() - 1
    }

    /// Is `a` an ancestor of `b`, or `b` itself?
    fn is_ancestor_or_self(&self, a: usize, b: usize) -> bool {
        let mut cur = Some(b);
        while let Some(n) = cur {
            if n == a {
                return true;
            }
            cur = self.nodes[n].parent;
        }
        false
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    /// Makes `child` a child of `parent` unless that would close a loop.
    fn link(&mut self, parent: usize, child: usize) {
        if self.is_ancestor_or_self(child, parent) {
            return;
        }
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }

    /// Nodes reachable from `roots`, each after all its descendants.
    fn post_order(&self, roots: &[usize]) -> Vec<usize> {
        let mut pre = Vec::new();
        let mut stack: Vec<usize> = roots.to_vec();
        while let Some(n) = stack.pop() {
            pre.push(n);
            stack.extend_from_slice(&self.nodes[n].children);
        }
        pre.reverse();
        pre
    }

    /// True when no message was selected.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

fn references(infos: &[Info]) -> Threads {
    let mut t = Threads::default();
    let mut ids: HashMap<&[u8], usize> = HashMap::new();
    let mut msg_node: Vec<usize> = Vec::with_capacity(infos.len()); // node of infos[k]
    // Step 1.
    for info in infos {
        let node = match info.message_id.as_deref().and_then(|id| ids.get(id).map(|&n| (id, n))) {
            // A dummy made from an earlier message's references: fill it.
            Some((_, n)) if t.nodes[n].msg.is_none() => {
                t.nodes[n].msg = Some(info.index);
                n
            }
            // Taken by an earlier message: this one gets a unique id,
            // i.e. a container no id leads to.
            Some(_) => t.push(Some(info.index)),
            None => {
                let n = t.push(Some(info.index));
                if let Some(id) = info.message_id.as_deref() {
                    ids.insert(id, n);
                }
                n
            }
        };
        msg_node.push(node);
        // 1.B: link the references parent to child, never re-parenting.
        let mut prev: Option<usize> = None;
        for r in &info.references {
            let n = match ids.get(&r[..]) {
                Some(&n) => n,
                None => {
                    let n = t.push(None);
                    ids.insert(r, n);
                    n
                }
            };
            if let Some(p) = prev {
                if t.nodes[n].parent.is_none() {
                    t.link(p, n);
                }
            }
            prev = Some(n);
        }
        // 1.C: the last reference is the parent of this message.
        let new_parent = prev.filter(|&p| !t.is_ancestor_or_self(node, p));
        if t.nodes[node].parent != new_parent {
            t.unlink(node);
            if let Some(p) = new_parent {
                t.link(p, node);
            }
        }
    }
    // Step 2: the root set, in creation order.
    let roots: Vec<usize> = (0..t.nodes.len()).filter(|&n| t.nodes[n].parent.is_none()).collect();
    // Step 4: prune dummies below the root, children first.
    for n in t.post_order(&roots) {
        let children = std::mem::take(&mut t.nodes[n].children);
        let mut kept = Vec::with_capacity(children.len());
        for c in children {
            if t.nodes[c].msg.is_none() {
                kept.extend(std::mem::take(&mut t.nodes[c].children));
            } else {
                kept.push(c);
            }
        }
        for &c in &kept {
            t.nodes[c].parent = Some(n);
        }
        t.nodes[n].children = kept;
    }
    // ...and at the root: a dummy goes; its children move up only if
    // there is just one of them.
    let mut top = Vec::with_capacity(roots.len());
    for r in roots {
        if t.nodes[r].msg.is_some() {
            top.push(r);
            continue;
        }
        match t.nodes[r].children.len() {
            0 => {}
            1 => {
                let c = t.nodes[r].children[0];
                t.nodes[c].parent = None;
                top.push(c);
            }
            _ => top.push(r),
        }
    }
    // Step 5: merge root threads with the same base subject.
    let info_of: HashMap<usize, &Info> = infos.iter().map(|i| (i.index, i)).collect();
    let subject_of = |t: &Threads, n: usize| -> Option<(&[u8], bool)> {
        let m = t.nodes[n].msg.or_else(|| t.nodes[n].children.first().and_then(|&c| t.nodes[c].msg))?;
        let info = info_of.get(&m)?;
        let reply = t.nodes[n].msg.is_some() && info.is_reply;
        (!info.subject.is_empty()).then_some((&info.subject[..], reply))
    };
    let mut table: HashMap<&[u8], usize> = HashMap::new();
    for &r in &top {
        let Some((subj, reply)) = subject_of(&t, r) else { continue };
        match table.get(subj) {
            None => {
                table.insert(subj, r);
            }
            Some(&e) => {
                let e_dummy = t.nodes[e].msg.is_none();
                let e_reply = subject_of(&t, e).is_some_and(|(_, x)| x);
                if !e_dummy && (t.nodes[r].msg.is_none() || (e_reply && !reply)) {
                    table.insert(subj, r);
                }
            }
        }
    }
    let mut slots: Vec<Option<usize>> = top.iter().map(|&n| Some(n)).collect();
    let mut slot_of: HashMap<usize, usize> = top.iter().enumerate().map(|(k, &n)| (n, k)).collect();
    for &r in &top {
        let Some((subj, reply)) = subject_of(&t, r) else { continue };
        let Some(&e) = table.get(subj) else { continue };
        if e == r {
            continue;
        }
        let (r_dummy, e_dummy) = (t.nodes[r].msg.is_none(), t.nodes[e].msg.is_none());
        let e_reply = subject_of(&t, e).is_some_and(|(_, x)| x);
        if r_dummy && e_dummy {
            for c in std::mem::take(&mut t.nodes[r].children) {
                t.nodes[c].parent = Some(e);
                t.nodes[e].children.push(c);
            }
        } else if e_dummy || (reply && !e_reply) {
            t.nodes[r].parent = Some(e);
            t.nodes[e].children.push(r);
        } else {
            let d = t.push(None);
            t.nodes[d].children = vec![e, r];
            t.nodes[e].parent = Some(d);
            t.nodes[r].parent = Some(d);
            if let Some(&s) = slot_of.get(&e) {
                slots[s] = Some(d);
                slot_of.insert(d, s);
            }
            table.insert(subj, d);
        }
        if let Some(&s) = slot_of.get(&r) {
            slots[s] = None;
        }
    }
    t.roots = slots.into_iter().flatten().collect();
    // Step 6: sort every sibling list by sent date, children first; a
    // dummy sorts as its first child.
    let key = |t: &Threads, n: usize| -> (i64, usize) {
        let m = t.nodes[n].msg.or_else(|| t.nodes[n].children.first().and_then(|&c| t.nodes[c].msg));
        m.and_then(|m| info_of.get(&m)).map_or((i64::MIN, 0), |i| (i.date, i.index))
    };
    let roots = t.roots.clone();
    for n in t.post_order(&roots) {
        let mut children = std::mem::take(&mut t.nodes[n].children);
        children.sort_by_key(|&c| key(&t, c));
        t.nodes[n].children = children;
    }
    let mut roots = std::mem::take(&mut t.roots);
    roots.sort_by_key(|&r| key(&t, r));
    t.roots = roots;
    t
}

/// `* THREAD ...` (RFC 5256 §4) with sequence numbers or UIDs: a message
/// with one child is followed by it (`1 2`), one with several by a
/// parenthesised list per child (`1 (2)(3)`), a root dummy by its
/// children's lists only (`((2)(3))`).
///
/// ```text
/// thread-data = "THREAD" [SP 1*thread-list]
/// ```
pub fn render_thread<V: MailView + ?Sized>(view: &V, threads: &Threads, uid: bool, out: &mut Vec<u8>) {
    enum Op {
        Node(usize),
        Text(&'static [u8]),
    }
    out.extend_from_slice(b"* THREAD");
    if !threads.roots.is_empty() {
        out.push(b' ');
    }
    let mut stack: Vec<Op> = Vec::new();
    for &r in threads.roots.iter().rev() {
        stack.extend([Op::Text(b")"), Op::Node(r), Op::Text(b"(")]);
    }
    while let Some(op) = stack.pop() {
        let n = match op {
            Op::Text(s) => {
                out.extend_from_slice(s);
                continue;
            }
            Op::Node(n) => n,
        };
        let node = &threads.nodes[n];
        if let Some(i) = node.msg {
            let num = if uid { view.uid(i) } else { u32::try_from(i + 1).unwrap_or(u32::MAX) };
            out.extend_from_slice(num.to_string().as_bytes());
        }
        match (node.msg.is_some(), node.children.as_slice()) {
            (_, []) => {}
            // A chain: "1 2 3".
            (true, [only]) => {
                stack.push(Op::Node(*only));
                stack.push(Op::Text(b" "));
            }
            (real, children) => {
                for &c in children.iter().rev() {
                    stack.extend([Op::Text(b")"), Op::Node(c), Op::Text(b"(")]);
                }
                if real {
                    stack.push(Op::Text(b" "));
                }
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::view::mem::MemView;

    fn msg(id: &str, subject: &str, date: &str, refs: &str) -> Vec<u8> {
        let mut m = String::new();
        if !id.is_empty() {
            m.push_str(&format!("Message-ID: <{id}>\n"));
        }
        m.push_str(&format!("Subject: {subject}\n"));
        if !date.is_empty() {
            m.push_str(&format!("Date: {date}\n"));
        }
        if let Some(irt) = refs.strip_prefix("irt:") {
            m.push_str(&format!("In-Reply-To: {irt}\n"));
        } else if !refs.is_empty() {
            m.push_str(&format!("References: {refs}\n"));
        }
        m.push_str("\nbody\n");
        m.into_bytes()
    }

    fn run(msgs: &[Vec<u8>], alg: ThreadAlgorithm) -> String {
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let mut v = MemView::new(&refs);
        let t = thread(&mut v, alg, "UTF-8", &SearchKey::All, 0).expect("thread");
        let mut out = Vec::new();
        render_thread(&v, &t, false, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    fn day(d: u32) -> String {
        format!("{d} Nov 2026 10:00:00 +0000")
    }

    #[test]
    fn msg_id_extraction() {
        let cases: &[(&str, &[&str])] = &[
            ("<a@b>", &["a@b"]),
            (" <a@b>\r\n <c@d> <e@f>", &["a@b", "c@d", "e@f"]),
            ("Your message of Monday <x@y> (comment)", &["x@y"]),
            ("<broken <ok@x>", &["ok@x"]),
            ("<>", &[]),
            ("<a@b", &[]),
            ("<a\r\n @b>", &["a@b"]),
        ];
        for (input, want) in cases {
            let got = msg_ids(input.as_bytes());
            let want: Vec<Vec<u8>> = want.iter().map(|s| s.as_bytes().to_vec()).collect();
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn ordered_subject_as_rfc5256() {
        // Subjects A, B, A, C, B, A, D with dates so that A's thread starts
        // first: (1 (3)(6))(2 5)(4)(7).
        let msgs = vec![
            msg("1@x", "A", &day(1), ""),
            msg("2@x", "B", &day(2), ""),
            msg("3@x", "Re: A", &day(3), ""),
            msg("4@x", "C", &day(4), ""),
            msg("5@x", "re: b", &day(5), ""),
            msg("6@x", "Fwd: A", &day(6), ""),
            msg("7@x", "D", &day(7), ""),
        ];
        assert_eq!(run(&msgs, ThreadAlgorithm::OrderedSubject), "* THREAD (1 (3)(6))(2 5)(4)(7)\r\n");
        // Within a subject, sent date orders; threads by their first date.
        let msgs = vec![
            msg("1@x", "Re: late", &day(9), ""),
            msg("2@x", "late", &day(8), ""),
            msg("3@x", "early", &day(1), ""),
        ];
        assert_eq!(run(&msgs, ThreadAlgorithm::OrderedSubject), "* THREAD (3)(2 1)\r\n");
        assert_eq!(run(&[], ThreadAlgorithm::OrderedSubject), "* THREAD\r\n");
    }

    #[test]
    fn references_table() {
        use ThreadAlgorithm::References as R;
        let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
            (
                "chain and branches",
                vec![
                    msg("1@x", "root", &day(1), ""),
                    msg("2@x", "Re: root", &day(2), "<1@x>"),
                    msg("3@x", "Re: root", &day(3), "<1@x> <2@x>"),
                    msg("4@x", "Re: root", &day(4), "<1@x>"),
                    msg("5@x", "other", &day(5), ""),
                ],
                "* THREAD (1 (2 3)(4))(5)\r\n",
            ),
            (
                // The parent never arrived: a dummy with two children stays
                // at the root.
                "missing parent",
                vec![
                    msg("2@x", "Re: lost", &day(2), "<1@x>"),
                    msg("3@x", "Re: other", &day(3), "<1@x>"),
                ],
                "* THREAD ((1)(2))\r\n",
            ),
            (
                "missing parent, one child",
                vec![msg("2@x", "Re: lost", &day(2), "<gone@x>"), msg("9@x", "new", &day(1), "")],
                "* THREAD (2)(1)\r\n",
            ),
            (
                "missing middle is pruned",
                vec![
                    msg("1@x", "top", &day(1), ""),
                    msg("3@x", "Re: top", &day(3), "<1@x> <2@x>"),
                ],
                "* THREAD (1 2)\r\n",
            ),
            (
                "in-reply-to when no references",
                vec![msg("1@x", "q", &day(1), ""), msg("2@x", "Re: q", &day(2), "irt:<1@x> <junk@x>")],
                "* THREAD (1 2)\r\n",
            ),
            (
                "subject merge: reply under the original",
                vec![msg("1@x", "Lunch", &day(1), ""), msg("2@x", "Re: lunch", &day(2), "")],
                "* THREAD (1 2)\r\n",
            ),
            (
                "subject merge: two originals under a dummy",
                vec![msg("1@x", "Lunch", &day(1), ""), msg("2@x", "lunch", &day(2), "")],
                "* THREAD ((1)(2))\r\n",
            ),
            (
                "empty subjects are not merged",
                vec![msg("1@x", "", &day(1), ""), msg("2@x", "", &day(2), "")],
                "* THREAD (1)(2)\r\n",
            ),
            (
                "duplicate message-id: second gets a unique id",
                vec![
                    msg("d@x", "one", &day(1), ""),
                    msg("d@x", "two", &day(2), ""),
                    msg("3@x", "Re: one", &day(3), "<d@x>"),
                ],
                "* THREAD (1 3)(2)\r\n",
            ),
            (
                "loops are refused",
                vec![
                    msg("1@x", "a", &day(1), "<2@x>"),
                    msg("2@x", "b", &day(2), "<1@x>"),
                ],
                "* THREAD (2 1)\r\n",
            ),
            (
                "self reference",
                vec![msg("1@x", "a", &day(1), "<1@x>")],
                "* THREAD (1)\r\n",
            ),
            (
                "siblings sorted by date, dummy by its first child",
                vec![
                    msg("1@x", "p", &day(2), ""),
                    msg("2@x", "Re: p", &day(6), "<1@x>"),
                    msg("3@x", "Re: p", &day(3), "<1@x>"),
                    msg("4@x", "Re: zz", &day(9), "<nope@x>"),
                    msg("5@x", "Re: yy", &day(1), "<nope@x>"),
                ],
                "* THREAD ((5)(4))(1 (3)(2))\r\n",
            ),
            (
                "no message-id at all",
                vec![msg("", "x", &day(2), ""), msg("", "y", &day(1), "")],
                "* THREAD (2)(1)\r\n",
            ),
        ];
        for (name, msgs, want) in cases {
            assert_eq!(run(&msgs, R), want, "{name}");
        }
    }

    #[test]
    fn rfc5256_section4_shape_and_uids() {
        // The §4 example "(2)(3 6 (4 23)(44 7 96))" built by References, with
        // UIDs equal to the numbers in the example.
        let msgs = [
            msg("2@x", "two", &day(1), ""),
            msg("3@x", "three", &day(2), ""),
            msg("6@x", "Re: three", &day(3), "<3@x>"),
            msg("4@x", "Re: three", &day(4), "<3@x> <6@x>"),
            msg("23@x", "Re: three", &day(5), "<3@x> <6@x> <4@x>"),
            msg("44@x", "Re: three", &day(6), "<3@x> <6@x>"),
            msg("7@x", "Re: three", &day(7), "<3@x> <6@x> <44@x>"),
            msg("96@x", "Re: three", &day(8), "<3@x> <6@x> <44@x> <7@x>"),
        ];
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let mut v = MemView::new(&refs);
        for (m, uid) in v.messages.iter_mut().zip([2, 3, 6, 4, 23, 44, 7, 96]) {
            m.uid = uid;
        }
        let t = thread(&mut v, ThreadAlgorithm::References, "UTF-8", &SearchKey::All, 0).expect("thread");
        let mut out = Vec::new();
        render_thread(&v, &t, true, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n");
        // A search narrows the set; the rest of the thread is then missing.
        let key = SearchKey::Uid(crate::imap::sequence::SequenceSet::parse(b"44:*").expect("set"));
        let t = thread(&mut v, ThreadAlgorithm::References, "UTF-8", &key, 0).expect("thread");
        let mut out = Vec::new();
        render_thread(&v, &t, true, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "* THREAD (44 96)\r\n");
    }

    /// Messages with junk, cyclic and self-referencing References and
    /// Message-IDs, threaded both ways: every selected message appears
    /// exactly once in the output.
    #[test]
    fn hostile_headers_keep_every_message_once() {
        let ids = ["a@x", "b@x", "c@x", "a@x", "", "<>", "d@x"];
        let mut msgs = Vec::new();
        for k in 0..60usize {
            let id = ids[k % ids.len()];
            let refs: String = (0..(k % 5)).map(|j| format!("<{}> ", ids[(k * 3 + j) % ids.len()])).collect();
            let subject = ["x", "Re: x", "", "Fwd: [y] x", "z"][k % 5];
            msgs.push(msg(id, subject, &day((k % 9) as u32 + 1), refs.trim()));
        }
        for alg in [ThreadAlgorithm::References, ThreadAlgorithm::OrderedSubject] {
            let out = run(&msgs, alg);
            let body = out.strip_prefix("* THREAD ").and_then(|s| s.strip_suffix("\r\n")).expect("shape");
            let mut nums: Vec<u32> = body
                .split(|c: char| !c.is_ascii_digit())
                .filter(|t| !t.is_empty())
                .map(|t| t.parse().expect("number"))
                .collect();
            nums.sort_unstable();
            assert_eq!(nums, (1..=60).collect::<Vec<u32>>(), "{alg:?}: {out}");
            let depth = body.chars().try_fold(0i32, |d, c| {
                let d = d + match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                (d >= 0).then_some(d)
            });
            assert_eq!(depth, Some(0), "{alg:?}: {out}");
        }
    }

    #[test]
    fn long_chain_does_not_recurse() {
        let n = 5_000;
        let msgs: Vec<Vec<u8>> = (0..n)
            .map(|k| {
                let refs = if k == 0 { String::new() } else { format!("<{}@x>", k - 1) };
                msg(&format!("{k}@x"), "chain", &day(1), &refs)
            })
            .collect();
        let out = run(&msgs, ThreadAlgorithm::References);
        assert!(out.starts_with("* THREAD (1 2 3 "), "{}", &out[..40]);
        assert!(out.ends_with(" 5000)\r\n"));
        let out = run(&msgs, ThreadAlgorithm::OrderedSubject);
        assert!(out.starts_with("* THREAD (1 (2)(3)"));
    }
}
