#!/usr/bin/env python3
"""gen_mbox.py - postern's deterministic, realistic mbox corpus generator.

  gen_mbox.py --profile big   --count 10000  --seed 1 --out big.mbox    # ~430 MB
  gen_mbox.py --profile small --count 100000 --seed 2 --out small.mbox  # ~220 MB
  gen_mbox.py --one-message 1048576 --seed 3 --out append-1m.eml        # one CRLF message

Writes OUT and OUT.meta.json: the rare search word and the sequence numbers of
the three messages that hold it (one 7bit text part, one quoted-printable part
where a soft line break splits the word, one base64 text part, so only a
server that decodes transfer encodings finds all three), the sequence number
and size of the forced ~5 MB message, message and byte counts.

Why each ingredient is there (what it makes a server do):
 * MIME mixes - text/plain, multipart/alternative (text + html),
   multipart/mixed with base64 attachments (RFC 2231 file names on some),
   alternative nested in mixed, message/rfc822 forwards: BODYSTRUCTURE walks.
 * RFC 2047 encoded words (UTF-8 B and Q, ISO-8859-1 Q) in From/To/Subject,
   folded headers, threads (In-Reply-To/References): ENVELOPE decoding.
 * body lines starting "From " and ">From " (some shaped exactly like a
   separator line), written mboxrd-quoted: the scanner must not split there.
 * sizes - "big": ~60 % 1-8 KB, ~22 % 8-60 KB, ~18 % 60-165 KB, ~0.3 % 2-4 MB
   (mean ~43 KB); "small": 0.6-3 KB mostly-text messages (mean ~2.2 KB). Both
   have one forced ~5 MB message in the middle.
The mbox uses LF line ends, "From sender asctime-UTC" separators (as UW and
Dovecot write them) and a blank line after each message. Output depends only
on (profile, count, seed, options): the same arguments give the same bytes.
"""
import argparse
import base64
import binascii
import hashlib
import json
import os
import random
import sys
import time

VERSION = "postern-gen-mbox/1"
RARE_WORD = "quokkafjord"

VOCAB = """able about above account across action active actual added address admin after again agenda
agree ahead alarm allow almost along already also always amount answer anyone appear apply april
archive around arrive asked attach august author available average backup balance based before
begin behind below better between billing board branch budget build button called campaign cannot
capacity careful change charge check choose client closed cluster coffee column coming comment
common company compare complete concern config confirm contact contract copy corner correct cost
could country course create credit current customer daily damage data deadline decide default
delay deliver demand deploy design detail device differ dinner direct disk document domain draft
during early easy edit effort either email enough entire error estimate event every exact example
expect expense export failed family feature figure final finance first floor folder follow forward
friday future garden general given global going good group guess happen hardware having header
health help holiday hotel however idea image import include index inside install invoice issue
item january july june keep kernel label large later launch layer leave legal letter level limit
line link list little local login long look machine mailbox maintain major manager march market
matter maybe meeting member memory message method middle minute mobile monday month morning move
network never next night notice number october office online open option order other output owner
package page paper parent partner password patch payment people period person phone picture plan
please point policy power prepare present price print priority problem process product project
proposal provide public quarter question quick quota rather reach ready reason receive record
release remote report request review right room route running sales saturday schedule screen
second section secure select send server service session share shipment short should signal
simple since single small software some soon sorry source space staff start state status still
storage store street subject summer supply support sure system table team thanks thing think
thursday ticket today together tomorrow total track train travel tuesday update upgrade usage
user value vendor version video visit volume want weekend welcome while window winter within
without wonder work would write year yesterday""".split()

ACCENTED = ["café", "naïve", "résumé", "Zürich", "München", "crème brûlée", "São Paulo", "Ørsted",
            "Kraków", "señor", "façade", "Bogotá", "déjà vu", "jalapeño", "smörgåsbord", "Ålesund"]

PEOPLE = [("Alice Archer", "alice"), ("Bruno Castell", "bruno"), ("Chen Wei", "chen.wei"),
          ("Dana Ortiz", "dana"), ("Emeka Obi", "emeka"), ("Farah Haddad", "farah"),
          ("Greta Lind", "greta"), ("Hiro Sato", "hiro"), ("Ines Duarte", "ines"),
          ("Jonas Weber", "jonas"), ("Kavya Rao", "kavya"), ("Liam Byrne", "liam"),
          ("Mona Berg", "mona"), ("Nils Holm", "nils"), ("Olga Petrova", "olga"),
          ("Pablo Ruiz", "pablo"), ("Quinn Avery", "quinn"), ("Rosa Lopez", "rosa")]
INTL_PEOPLE = [("Jürgen Größe", "juergen"), ("Zoë Lefèvre", "zoe"), ("Søren Ødegård", "soren"),
               ("Łucja Wiśniewska", "lucja"), ("Ελένη Παππά", "eleni"), ("Иван Петров", "ivan"),
               ("山田 花子", "hanako"), ("王 芳", "wang.fang"), ("Ana María Núñez", "anamaria"),
               ("Þóra Jónsdóttir", "thora")]
DOMAINS = ["example.com", "example.org", "example.net", "corp.example.com", "mail.example.org",
           "lists.example.net", "research.example.edu", "shop.example.com"]
SUBJECTS = ["Quarterly numbers", "Meeting on {day}", "Invoice {n}", "Server migration plan",
            "Lunch {day}?", "Build {n} failed", "Your order {n} has shipped", "Notes from the review",
            "Updated budget", "Contract question", "Weekly status {n}", "Trip photos",
            "Backup report {n}", "Password policy change", "Welcome to the team", "Holiday schedule",
            "Draft proposal v{n}", "Ticket #{n}: disk quota", "Release {n} checklist", "Agenda"]
INTL_SUBJECTS = ["Réunion de {day} à Zürich", "Grüße aus München", "Привет, отчёт №{n}",
                 "会議の議事録 {n}", "Ταξίδι στην Αθήνα", "Café con leche y señales {n}",
                 "Smörgåsbord på fredag", "Übersicht Q{n} – Entwurf"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
ZONES = ["+0000", "-0500", "+0100", "+0200", "-0800", "+0530", "+0900", "-0300", "+1000"]
MAILERS = ["Mozilla Thunderbird 115.4", "Apple Mail (2.3731)", "Microsoft Outlook 16.0",
           "Mutt/2.2.9 (2022-11-12)", "Roundcube Webmail/1.6.5", "Evolution 3.46.4", "alpine 2.26"]
ATTACH_TYPES = [("application/pdf", "pdf"), ("image/jpeg", "jpg"), ("image/png", "png"),
                ("application/zip", "zip"), ("application/vnd.openxmlformats-officedocument."
                                             "spreadsheetml.sheet", "xlsx"),
                ("application/octet-stream", "bin")]
ATTACH_NAMES = ["report", "scan", "photo", "invoice", "diagram", "export", "slides", "minutes"]
INTL_ATTACH_NAMES = ["Übersicht", "résumé", "фото", "報告書"]
FROM_LINES = ["From the desk of the director: please read before Friday.",
              "From what I can tell, the backup finished late.",
              "From here on, every release gets a checklist.",
              ">From the archive of last year's notes.",
              "From bounce@example.net Mon Jan  1 00:00:00 2024",   # looks exactly like a separator
              ">>From nested quote in a forwarded reply."]


class Gen:
    def __init__(self, seed, profile):
        self.r = random.Random(seed)
        self.profile = profile
        self.seed = seed
        self.when = 1704067200  # 2024-01-01 00:00:00 UTC
        self.msgid = 0
        self.recent_ids = []
        # a pool of paragraphs keeps generation fast while bodies still vary
        self.paras = [self._paragraph(self.r.randint(25, 110)) for _ in range(1500)]
        self.intl_paras = [self._paragraph(self.r.randint(25, 90), intl=True) for _ in range(300)]
        self.blobs = self.r.randbytes(1 << 20)

    # -- text ---------------------------------------------------------------
    def _paragraph(self, nwords, intl=False):
        r = self.r
        words = []
        for i in range(nwords):
            w = r.choice(ACCENTED) if intl and r.random() < 0.12 else r.choice(VOCAB)
            if i == 0:
                w = w.capitalize()
            words.append(w)
            if r.random() < 0.08 and i < nwords - 1:
                words[-1] += r.choice([",", ".", ";"])
        text = " ".join(words) + "."
        return wrap(text, r.randint(64, 76))

    def text(self, size, intl=False):
        out, n = [], 0
        pool = self.intl_paras if intl else self.paras
        while n < size:
            p = self.r.choice(pool)
            out.append(p)
            n += len(p) + 1
            if self.r.random() < 0.025:
                out.append(self.r.choice(FROM_LINES))
        return "\n\n".join(out) + "\n"

    def binary(self, size):
        """size bytes of incompressible data, cheap: slices of one random pool
        xor-free but at random offsets, plus a fresh random tail."""
        r = self.r
        chunks, n = [], 0
        while n < size:
            take = min(size - n, r.randint(4096, 65536))
            off = r.randrange(0, len(self.blobs) - take)
            chunks.append(self.blobs[off:off + take])
            n += take
        return b"".join(chunks)

    # -- headers ------------------------------------------------------------
    def person(self):
        r = self.r
        if r.random() < 0.22:
            name, local = r.choice(INTL_PEOPLE)
            disp = encode_word(name, r)
        else:
            name, local = r.choice(PEOPLE)
            disp = '"%s"' % name if r.random() < 0.3 else name
        addr = "%s@%s" % (local, r.choice(DOMAINS))
        if r.random() < 0.08:
            return addr, addr
        return "%s <%s>" % (disp, addr), addr

    def subject(self):
        r = self.r
        n = r.randint(1, 9999)
        day = r.choice(DAYS)
        if r.random() < 0.2:
            s = encode_word(r.choice(INTL_SUBJECTS).format(n=n, day=day), r)
        else:
            s = r.choice(SUBJECTS).format(n=n, day=day)
        if r.random() < 0.25:
            s = r.choice(["Re: ", "RE: ", "Fwd: ", "Re: Re: ", "AW: "]) + s
        return s

    def headers(self, content_headers):
        r = self.r
        self.when += r.randint(5, 2400)
        self.msgid += 1
        frm, fromaddr = self.person()
        to = ", ".join(self.person()[0] for _ in range(r.choice([1, 1, 1, 2, 3])))
        zone = r.choice(ZONES)
        off = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60)
        date = time.strftime("%a, %d %b %Y %H:%M:%S ", time.gmtime(self.when + off)) + zone
        mid = "<%d.%08x.%d@%s>" % (self.when, r.getrandbits(32), self.msgid, r.choice(DOMAINS))
        relay = r.randint(1, 254)
        h = ["Return-Path: <%s>" % fromaddr,
             "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n\tby mail.example.org with ESMTPS id %08X\n"
             "\tfor <user@example.org>; %s" % (relay % 9, r.choice(DOMAINS), relay % 9, r.choice(DOMAINS),
                                               relay, r.getrandbits(32), date),
             "Received: from [198.51.100.%d] by mx.%s with ESMTPSA; %s" % (relay, r.choice(DOMAINS), date),
             "Date: " + date,
             "From: " + frm,
             "To: " + to]
        if r.random() < 0.3:
            h.append("Cc: " + ", ".join(self.person()[0] for _ in range(r.randint(1, 4))))
        h.append(fold("Subject: " + self.subject()))
        h.append("Message-ID: " + mid)
        if self.recent_ids and r.random() < 0.35:
            refs = self.recent_ids[-r.randint(1, min(5, len(self.recent_ids))):]
            h.append("In-Reply-To: " + refs[-1])
            h.append(fold("References: " + " ".join(refs)))
        self.recent_ids = (self.recent_ids + [mid])[-8:]
        if r.random() < 0.15:
            h.append("List-Id: Team discussion <team.lists.example.net>")
        h.append("X-Mailer: " + r.choice(MAILERS))
        h.append("MIME-Version: 1.0")
        h.extend(content_headers)
        return "\n".join(h) + "\n", fromaddr

    # -- MIME parts (each returns (content headers list, body str)) --------
    def boundary(self):
        return "----=_Part_%d_%010d" % (self.msgid, self.r.getrandbits(32))

    def part_plain(self, size, cte=None, intl=None):
        r = self.r
        intl = r.random() < 0.2 if intl is None else intl
        cte = cte or ("quoted-printable" if intl and r.random() < 0.7 else
                      "base64" if intl else "7bit")
        body = self.text(size, intl=intl)
        return text_part("plain", body, cte, "utf-8" if intl else "us-ascii")

    def part_html(self, size):
        paras = self.text(size).split("\n\n")
        html = "<html><body>\n" + "\n".join("<p>%s</p>" % p.replace("\n", " ") for p in paras) + \
            "\n</body></html>\n"
        return text_part("html", html, "quoted-printable", "utf-8")

    def part_alternative(self, size):
        b = self.boundary()
        return multipart("alternative", b, [self.part_plain(size // 2), self.part_html(size // 2)])

    def part_attachment(self, size):
        r = self.r
        ctype, ext = r.choice(ATTACH_TYPES)
        raw = self.binary(max(64, size * 3 // 4))
        if r.random() < 0.15:
            name = r.choice(INTL_ATTACH_NAMES) + "." + ext
            disp = ["Content-Disposition: attachment;\n filename*=UTF-8''%s" % pct(name)]
            hdr = ["Content-Type: %s;\n name*=UTF-8''%s" % (ctype, pct(name))]
        else:
            name = "%s-%d.%s" % (r.choice(ATTACH_NAMES), r.randint(1, 999), ext)
            disp = ['Content-Disposition: attachment; filename="%s"' % name]
            hdr = ['Content-Type: %s; name="%s"' % (ctype, name)]
        return hdr + ["Content-Transfer-Encoding: base64"] + disp, b64_lines(raw)

    def part_forward(self, size):
        inner_h, _ = self.headers(["Content-Type: text/plain; charset=us-ascii"])
        return (["Content-Type: message/rfc822", 'Content-Disposition: inline; filename="forwarded.eml"'],
                inner_h + "\n" + self.text(size))

    def part_mixed(self, size):
        r = self.r
        parts = []
        text_size = min(size // 5 + 200, 6000)
        parts.append(self.part_alternative(text_size) if r.random() < 0.4 else self.part_plain(text_size))
        rest = max(0, size - text_size)
        if r.random() < 0.12:
            fw = min(rest // 2, 8000) + 300
            parts.append(self.part_forward(fw))
            rest -= fw
        n = 1 if rest < 30000 else r.choice([1, 2, 3])
        for i in range(n):
            parts.append(self.part_attachment(max(200, rest // n)))
        return multipart("mixed", self.boundary(), parts)

    # -- messages -----------------------------------------------------------
    def message(self, kind=None, size=None):
        """-> (sender, message text with LF ends, no From_ line)"""
        r = self.r
        if self.profile == "small":
            size = size or r.randint(300, 1560)
            kind = kind or r.choices(["plain", "alt", "qp", "b64"], [78, 12, 6, 4])[0]
        else:
            x = r.random()
            size = size or (r.randint(600, 7500) if x < 0.60 else r.randint(7500, 58000) if x < 0.82
                            else r.randint(58000, 165000) if x < 0.997 else r.randint(2000000, 4000000))
            if kind is None:
                if size < 7500:
                    kind = r.choices(["plain", "alt", "qp", "b64", "fwd"], [55, 30, 8, 3, 4])[0]
                elif size < 58000:
                    kind = r.choices(["plain", "alt", "mixed"], [20, 15, 65])[0]
                else:
                    kind = "mixed"
        if kind == "plain":
            ch, body = self.part_plain(size, intl=False)
        elif kind == "qp":
            ch, body = self.part_plain(size, cte="quoted-printable", intl=True)
        elif kind == "b64":
            ch, body = self.part_plain(size, cte="base64", intl=True)
        elif kind == "alt":
            ch, body = self.part_alternative(size)
        elif kind == "fwd":
            ch, body = multipart("mixed", self.boundary(), [self.part_plain(300), self.part_forward(size)])
        else:
            ch, body = self.part_mixed(size)
        head, sender = self.headers(ch)
        return sender, head + "\n" + body

    def rare_message(self, where):
        """A message whose only occurrence of RARE_WORD is inside a text part
        encoded as `where` (7bit, quoted-printable, base64)."""
        r = self.r
        pre = self.text(800)
        if where == "quoted-printable":
            # one long line: the word starts at column 71, so the encoder's
            # soft break at column 76 splits it ("quokk=\\nafjord")
            line = ("note " * 14)[:69] + " " + RARE_WORD + " stays in the quoted-printable part, déjà vu."
            body = pre + "\n" + line + "\n\n" + self.text(600, intl=True)
            part = text_part("plain", body, "quoted-printable", "utf-8")
            assert RARE_WORD.encode() not in part[1].encode(), "QP rare word must be split"
        else:
            body = pre + "\nThe code word is " + RARE_WORD + " for this quarter.\n\n" + self.text(600)
            part = text_part("plain", body, where, "utf-8" if where == "base64" else "us-ascii")
            if where == "base64":
                assert RARE_WORD.encode() not in part[1].encode()
        ch, body = multipart("mixed", self.boundary(), [part, self.part_attachment(3000)])
        head, sender = self.headers(ch)
        return sender, head + "\n" + body

    def big_message(self, size):
        parts = [self.part_plain(4000, intl=False), self.part_attachment(size - 6000)]
        ch, body = multipart("mixed", self.boundary(), parts)
        head, sender = self.headers(ch)
        return sender, head + "\n" + body


# -- encoding helpers ---------------------------------------------------------
def wrap(text, width):
    lines, cur = [], ""
    for w in text.split(" "):
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = cur + " " + w if cur else w
    lines.append(cur)
    return "\n".join(lines)


def fold(h):
    if len(h) <= 78:
        return h
    out, cur = [], ""
    for tok in h.split(" "):
        if cur and len(cur) + 1 + len(tok) > 76:
            out.append(cur)
            cur = " " + tok
        else:
            cur = cur + " " + tok if cur else tok
    out.append(cur)
    return "\n".join(out)


def encode_word(s, r):
    """RFC 2047: UTF-8 B, UTF-8 Q, or ISO-8859-1 Q when the text fits Latin-1."""
    try:
        latin = s.encode("iso-8859-1")
    except UnicodeEncodeError:
        latin = None
    choice = r.random()
    if latin is not None and choice < 0.3:
        return "=?ISO-8859-1?Q?%s?=" % qword(latin)
    if choice < 0.65:
        return "=?UTF-8?B?%s?=" % base64.b64encode(s.encode()).decode()
    return "=?UTF-8?Q?%s?=" % qword(s.encode())


def qword(b):
    out = []
    for c in b:
        if c == 0x20:
            out.append("_")
        elif (0x30 <= c <= 0x39) or (0x41 <= c <= 0x5A) or (0x61 <= c <= 0x7A) or c in b"!*+-/":
            out.append(chr(c))
        else:
            out.append("=%02X" % c)
    return "".join(out)


def pct(name):
    return "".join(chr(c) if chr(c).isalnum() and c < 128 or c in b".-_" else "%%%02X" % c
                   for c in name.encode())


def b64(raw):
    return binascii.b2a_base64(raw, newline=False).decode()


def b64_lines(raw):
    s = b64(raw)
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def text_part(sub, body, cte, charset):
    hdr = ["Content-Type: text/%s; charset=%s" % (sub, '"%s"' % charset if sub == "html" else charset),
           "Content-Transfer-Encoding: %s" % cte]
    data = body.encode("utf-8")
    if cte == "quoted-printable":
        enc = binascii.b2a_qp(data, istext=True).decode("ascii")
    elif cte == "base64":
        enc = b64_lines(data)
    else:
        enc = body
    return hdr, enc


def multipart(sub, boundary, parts):
    out = ["This is a multi-part message in MIME format.\n"]
    for hdrs, body in parts:
        out.append("--%s\n%s\n\n%s" % (boundary, "\n".join(hdrs), body if body.endswith("\n") else body + "\n"))
    out.append("--%s--\n" % boundary)
    return ['Content-Type: multipart/%s;\n boundary="%s"' % (sub, boundary)], "\n".join(out)


def mboxrd_quote(text):
    """Add one '>' to every line matching ^>*From  (mboxrd)."""
    if "From " not in text:
        return text
    lines = text.split("\n")
    for i, ln in enumerate(lines):
        if ln.lstrip(">").startswith("From "):
            lines[i] = ">" + ln
    return "\n".join(lines)


def from_line(sender, when):
    return "From %s %s\n" % (sender, time.asctime(time.gmtime(when)))


# -- main -----------------------------------------------------------------------
def gen_mbox(a):
    g = Gen(a.seed, a.profile)
    n = a.count
    big_at = a.big_at or n // 2 + 1
    rare = {max(1, n * 17 // 100): "7bit", max(2, n * 53 // 100): "quoted-printable",
            max(3, n * 88 // 100): "base64"}
    if big_at in rare:
        big_at += 1
    total = 0
    from_body = 0
    tmp = a.out + ".tmp"
    with open(tmp, "wb", buffering=1 << 22) as f:
        for seq in range(1, n + 1):
            if seq == big_at:
                sender, msg = g.big_message(a.big_size)
                big_bytes = len(msg.encode())
            elif seq in rare:
                sender, msg = g.rare_message(rare[seq])
            else:
                sender, msg = g.message()
            assert RARE_WORD not in msg or seq in rare
            q = mboxrd_quote(msg)
            if q is not msg:
                from_body += sum(1 for ln in msg.split("\n") if ln.lstrip(">").startswith("From "))
            data = (from_line(sender, g.when) + q + ("" if q.endswith("\n") else "\n") + "\n").encode()
            f.write(data)
            total += len(data)
    os.replace(tmp, a.out)
    meta = {"generator": VERSION, "profile": a.profile, "count": n, "seed": a.seed, "bytes": total,
            "rare_word": RARE_WORD, "rare_seqs": sorted(rare),
            "rare_parts": {v: k for k, v in rare.items()},
            "big_message": {"seq": big_at, "bytes": big_bytes},
            "from_body_lines": from_body}
    with open(a.out + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def gen_one(a):
    """One RFC 5322 message with CRLF line ends, about a.one_message bytes."""
    g = Gen(a.seed, "big")
    target = a.one_message
    if target <= 16384:
        _, msg = g.message(kind="plain", size=max(100, target - 900))
    else:
        _, msg = g.message(kind="mixed", size=target - 1500)
    data = msg.replace("\n", "\r\n").encode()
    with open(a.out, "wb") as f:
        f.write(data)
    meta = {"generator": VERSION, "one_message": True, "bytes": len(data), "seed": a.seed}
    with open(a.out + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=["big", "small"], default="big")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--big-at", type=int, default=None, help="sequence number of the ~5 MB message")
    ap.add_argument("--big-size", type=int, default=4950000)
    ap.add_argument("--one-message", type=int, default=None, metavar="BYTES")
    a = ap.parse_args()
    if a.count < 4:
        ap.error("--count must be at least 4")
    t = time.time()
    meta = gen_one(a) if a.one_message else gen_mbox(a)
    meta = dict(meta)
    meta["seconds"] = round(time.time() - t, 1)
    meta["sha256_16"] = sha(a.out)
    print(json.dumps(meta), file=sys.stderr)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


if __name__ == "__main__":
    main()
