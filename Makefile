# postern — build, test, try and install.
#
#   make build      release binaries (cargo build --release)
#   make test       install missing test packages (root), cargo test, pytest suite
#   make try        run the three servers on 127.0.0.1 high ports in ./try/
#   make install    PREFIX=/usr/local DESTDIR= : sbin, man pages, examples
#   make install-etc  copy sample config to $(DESTDIR)$(SYSCONFDIR) where absent
#   make bench      scripts/bench.sh, when present
#   make clean      remove build products and the try sandbox
#
# Distribution packages use PREFIX=/usr (binaries in /usr/sbin, as UW imapd
# and Debian's uw-imapd). `install` never writes to /etc; `install-etc` only
# adds files that do not exist yet.

CARGO      ?= cargo
PYTHON     ?= python3
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/postern
SYSCONFDIR ?= /etc
DESTDIR    ?=
INSTALL    ?= install
CARGO_FLAGS ?=
PYTEST_FLAGS ?= -ra

BINS  = imapd ipop3d smtpd
MAN5  = man/postern.conf.5
MAN8  = man/imapd.8 man/ipop3d.8 man/smtpd.8
XINETD = imap imaps pop3 pop3s smtp submission smtps
PAMD  = imap pop smtp
UNITS = $(wildcard etc/contrib/systemd/*.socket etc/contrib/systemd/*.service)

.PHONY: all build debug test test-deps test-unit test-integration try install \
        install-etc uninstall bench clean man-check

all: build

build:
	$(CARGO) build --release $(CARGO_FLAGS)

debug:
	$(CARGO) build $(CARGO_FLAGS)

test-deps:
	scripts/install-test-deps.sh

test-unit: test-deps
	$(CARGO) test $(CARGO_FLAGS)

# cargo test has built target/debug/{imapd,ipop3d,smtpd}; the pytest
# harness runs those (or $$POSTERN_BIN_DIR) with real clients.
test-integration: test-deps
	$(CARGO) build $(CARGO_FLAGS)
	$(PYTHON) -m pytest $(PYTEST_FLAGS) tests/integration

# Both suites print their own summary lines last (cargo's "test result:",
# pytest's "N passed").
test: test-deps
	$(CARGO) test $(CARGO_FLAGS)
	$(PYTHON) -m pytest $(PYTEST_FLAGS) tests/integration

try:
	scripts/try.sh

man-check:
	@for m in $(MAN5) $(MAN8); do \
	    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l $$m >/dev/null || exit 1; done

install:
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	for b in $(BINS); do \
	    test -x target/release/$$b || { echo "run 'make build' first" >&2; exit 1; }; \
	    $(INSTALL) -m 0755 target/release/$$b $(DESTDIR)$(SBINDIR)/$$b; done
	$(INSTALL) -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/examples/xinetd.d $(DESTDIR)$(DOCDIR)/examples/pam.d \
	    $(DESTDIR)$(DOCDIR)/examples/systemd
	for f in $(XINETD); do sed 's|/usr/local/sbin|$(SBINDIR)|g' etc/xinetd.d/$$f \
	    > $(DESTDIR)$(DOCDIR)/examples/xinetd.d/$$f; done
	for f in $(PAMD); do $(INSTALL) -m 0644 etc/pam.d/$$f $(DESTDIR)$(DOCDIR)/examples/pam.d/$$f; done
	sed 's|/usr/local/sbin|$(SBINDIR)|g' etc/inetd.conf.sample > $(DESTDIR)$(DOCDIR)/examples/inetd.conf.sample
	$(INSTALL) -m 0644 etc/postern.conf.sample $(DESTDIR)$(DOCDIR)/examples/postern.conf.sample
	for f in $(UNITS); do sed 's|/usr/local/sbin|$(SBINDIR)|g' $$f \
	    > $(DESTDIR)$(DOCDIR)/examples/systemd/$$(basename $$f); done
	$(INSTALL) -m 0644 README.md BUILD.md $(DESTDIR)$(DOCDIR)/

# Adds the PAM services and postern.conf only where no file exists; xinetd
# services are installed disabled (disable = yes) for the same reason.
install-etc:
	$(INSTALL) -d $(DESTDIR)$(SYSCONFDIR)/pam.d $(DESTDIR)$(SYSCONFDIR)/xinetd.d
	for f in $(PAMD); do t=$(DESTDIR)$(SYSCONFDIR)/pam.d/$$f; \
	    [ -e $$t ] || $(INSTALL) -m 0644 etc/pam.d/$$f $$t; done
	t=$(DESTDIR)$(SYSCONFDIR)/postern.conf; \
	    [ -e $$t ] || $(INSTALL) -m 0644 etc/postern.conf.sample $$t
	for f in $(XINETD); do t=$(DESTDIR)$(SYSCONFDIR)/xinetd.d/postern-$$f; \
	    [ -e $$t ] || sed -e 's|/usr/local/sbin|$(SBINDIR)|g' \
	        -e 's|^\([[:space:]]*disable[[:space:]]*=\).*|\1 yes|' etc/xinetd.d/$$f > $$t; done

uninstall:
	for b in $(BINS); do rm -f $(DESTDIR)$(SBINDIR)/$$b; done
	rm -f $(DESTDIR)$(MANDIR)/man5/postern.conf.5
	for m in $(MAN8); do rm -f $(DESTDIR)$(MANDIR)/man8/$$(basename $$m); done
	rm -rf $(DESTDIR)$(DOCDIR)

bench:
	@if [ -x scripts/bench.sh ]; then scripts/bench.sh; \
	 else echo "bench: scripts/bench.sh not written yet"; fi

clean:
	$(CARGO) clean
	rm -rf try .pytest_cache tests/integration/__pycache__
