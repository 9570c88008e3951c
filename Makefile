# ingressd - see README.
#
#   make                 ./ingressd (glibc, BearSSL linked statically)
#   make TLS=mbedtls     the same with the mbedTLS port (TLS=none: no TLS)
#   make static          build/x86_64/ingressd, fully static (musl)
#   make cross TOOLCHAIN=port/toolchain/aarch64-linux-gnu.mk   (or arm-linux-gnueabihf.mk)
#   make test            every suite; last line "N passed, M failed"
#   make test-arm        unit tests built for aarch64 and armhf, run under qemu
#   make fuzz            libFuzzer builds (clang); FUZZ_SECONDS=60 runs each
#   make deps            install the Debian packages the build and tests need
#   make install         PREFIX=/usr/local DESTDIR=
#
# CC, CFLAGS, LDFLAGS, PREFIX and DESTDIR are honoured.

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
PREFIX  ?= /usr/local
DESTDIR ?=
TLS     ?= bearssl
EV      ?= epoll

WARN = -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Wformat=2 -Wno-format-nonliteral
HARDEN = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDHARDEN = -pie -Wl,-z,relro,-z,now

TLS_LIBS_bearssl = -l:libbearssl.a
TLS_LIBS_mbedtls = -lmbedtls -lmbedx509 -lmbedcrypto
TLS_LIBS_none    =
TLS_LIBS = $(TLS_LIBS_$(TLS))

SRC  = ingressd.c port/posix.c port/ev_$(EV).c port/tls_$(TLS).c
# The dashboard page, gzip'd into a C array with its CSP (gzip, sed, od and
# coreutils only, so every build, cross builds too, can make it).
DASH = build/dashboard.h
DEPS = $(SRC) port/tls_common.c port/fmt.c ingressd.h Makefile $(DASH)

all: ingressd

$(DASH): dashboard/index.html dashboard/gen.sh
	mkdir -p build
	sh dashboard/gen.sh dashboard/index.html $@

ingressd: $(DEPS)
	$(CC) $(WARN) $(HARDEN) $(CFLAGS) $(CPPFLAGS) -o $@ $(SRC) $(LDHARDEN) $(LDFLAGS) $(TLS_LIBS)

# The mbedTLS build beside the default one (make test runs the TLS suite on both).
build/mbedtls/ingressd: ingressd.c port/posix.c port/ev_$(EV).c port/tls_mbedtls.c port/tls_common.c port/fmt.c ingressd.h Makefile $(DASH)
	mkdir -p build/mbedtls
	$(CC) $(WARN) $(HARDEN) $(CFLAGS) $(CPPFLAGS) -o $@ ingressd.c port/posix.c port/ev_$(EV).c port/tls_mbedtls.c \
		$(LDHARDEN) $(LDFLAGS) $(TLS_LIBS_mbedtls)

# The poll() backend as a release build (make bench measures it beside epoll).
build/ev-poll/ingressd: ingressd.c port/posix.c port/ev_poll.c port/tls_$(TLS).c port/tls_common.c port/fmt.c ingressd.h Makefile $(DASH)
	mkdir -p build/ev-poll
	$(CC) $(WARN) $(HARDEN) $(CFLAGS) $(CPPFLAGS) -o $@ ingressd.c port/posix.c port/ev_poll.c port/tls_$(TLS).c \
		$(LDHARDEN) $(LDFLAGS) $(TLS_LIBS)

# The poll() backend beside the default epoll one (make test runs the
# end-to-end suites on both), built with ING_EV_CHECK: every turn checks
# that each connection's registration and deadline are what it wants now.
build/poll/ingressd: ingressd.c port/posix.c port/ev_poll.c port/tls_$(TLS).c port/tls_common.c port/fmt.c ingressd.h Makefile $(DASH)
	mkdir -p build/poll
	$(CC) $(WARN) $(HARDEN) $(CFLAGS) $(CPPFLAGS) -DING_EV_CHECK -o $@ ingressd.c port/posix.c port/ev_poll.c \
		port/tls_$(TLS).c $(LDHARDEN) $(LDFLAGS) $(TLS_LIBS)

# ---------------------------------------------------------------- static and cross
# A toolchain file sets ARCH, TRIPLET, XCC, XSTRIP, XOBJCOPY, XSIZE, QEMU. Only the
# BearSSL and jsmn headers are put on the include path (build/inc), so no
# glibc header leaks into a musl build.
ifdef TOOLCHAIN
include $(TOOLCHAIN)
endif
# No unwind tables: C without exceptions never unwinds (saves ~12 KB).
# -z norelro: static musl never applies PT_GNU_RELRO (only its dynamic linker
# does), and with 64 KB pages the aligned RELRO end can cost a whole page.
# -fno-pie: a -static link is a fixed-address executable (ET_EXEC) anyway, so
# Debian's default position-independent code only added GOT loads and
# relocated pointer tables (3.7 KB on aarch64).
# -flto: the three files as one program (1.6 KB on aarch64; LTO= for none).
# -fno-optimize-sibling-calls: at -Os a tail call repeats the function's
# epilogue before its branch, where a call shares the one epilogue (1.8 KB
# on aarch64); no loop of ingressd's relies on a tail call to bound its stack.
# -fno-tree-switch-conversion: switches stay compares and jump tables rather
# than becoming value tables with their range checks (0.6 KB).
# -fomit-frame-pointer: aarch64's gcc keeps a frame record in every
# function (2.6 KB); without them and without unwind tables a stack walk
# of this binary needs a -g build (perf --call-graph dwarf, gdb with it).
LTO ?= -flto
XCFLAGS = $(WARN) -Os $(LTO) -fno-pie -ffunction-sections -fdata-sections -fstack-protector-strong \
          -fno-optimize-sibling-calls -fno-tree-switch-conversion -fomit-frame-pointer \
          -fno-asynchronous-unwind-tables -fno-unwind-tables -Ibuild/inc $(EXTRA_CFLAGS)
# -z common-page-size=64: ld may start the data segment on the next 4 KB
# boundary (to share no page with the text at run time), padding the file
# with up to 4 KB of zeros; so it starts where the text ends, as the 64 KB
# max-page-size (kept: 64 KB-page kernels) allows, for one page of memory.
XLDFLAGS = -static -no-pie -Wl,--gc-sections -Wl,-z,norelro -Wl,-z,common-page-size=64
XSRC = ingressd.c port/posix.c port/ev_$(EV).c port/tls_bearssl.c port/fortify.c

build/inc/.stamp:
	mkdir -p build/inc
	ln -sf /usr/include/bearssl/*.h build/inc/
	ln -sf /usr/include/jsmn.h build/inc/jsmn.h
	touch $@

static:
	$(MAKE) cross TOOLCHAIN=port/toolchain/x86_64-linux-musl.mk

# Debian builds BearSSL with unwind tables, which C never reads (12 KB on
# aarch64): the static build links a copy of the library without them.
cross: build/inc/.stamp $(DASH)
	@test -n "$(ARCH)" || { echo "make cross needs TOOLCHAIN=port/toolchain/<triplet>.mk" >&2; exit 2; }
	mkdir -p build/$(ARCH)
	$(XOBJCOPY) --remove-section=.eh_frame /usr/lib/$(TRIPLET)/libbearssl.a build/$(ARCH)/libbearssl.a
	$(XCC) $(XCFLAGS) -o build/$(ARCH)/ingressd.debug $(XSRC) $(XLDFLAGS) build/$(ARCH)/libbearssl.a
	$(XSTRIP) -o build/$(ARCH)/ingressd build/$(ARCH)/ingressd.debug
	@$(XSIZE) build/$(ARCH)/ingressd.debug
	@ls -l build/$(ARCH)/ingressd | awk '{print "stripped: " $$5 " bytes  " $$9}'

# ---------------------------------------------------------------- tests
# The unit build includes ingressd.c with main compiled out, links the mock
# port, and shrinks the limits so every limit path runs (Lua's ltests.h).
TEST_LIMITS = -DING_MAX_CONNS=4 -DING_MAX_UPSTREAMS=3 -DING_MAX_WATCHES=8 -DING_MAX_BUFS=24 \
              -DING_MAX_HEADERS=12 -DING_MAX_ENTRYPOINTS=3 -DING_MAX_NAMESPACES=2 \
              -DING_MAX_CONF_ERRORS=16 -DING_MAX_CIDRS=16 -DING_MAX_TLS_CONNS=2 \
              -DING_MAX_HOSTS=16 -DING_MAX_INGRESSES=48 -DING_MAX_INGRESS_PATHS=96 \
              -DING_MAX_EXTERNAL_NAMES=2 -DING_MAX_STATUS_QUEUE=4 -DING_MAX_NOTES=6
export TEST_LIMITS
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNITS = unit_core unit_kube unit_auth unit_snap
UNIT_DEPS = ingressd.c ingressd.h test/unit.h port/mock.c port/mock.h port/ev_poll.c port/fmt.c port/tls_bearssl.c \
            port/tls_common.c Makefile $(DASH)

build/test/unit%: test/unit%.c $(UNIT_DEPS)
	mkdir -p build/test
	$(CC) $(WARN) -Wno-unused-function -O1 -g $(SAN) -DING_TEST $(TEST_LIMITS) -o $@ $< port/mock.c port/ev_poll.c \
		port/tls_bearssl.c -l:libbearssl.a

# Fuzz targets: libFuzzer with clang (make fuzz), and the same sources in
# replay mode (gcc + ASan) so `make test` replays every corpus.
# Targets that include ingressd.c link the mock port; fuzz_pem the real
# BearSSL port; fuzz_dns includes port/posix.c (the resolver's parsers).
FUZZ_TARGETS = conf pem http watch cb access proxy hdr pp yaml regex dns snap
FUZZ_DEPS = ingressd.c ingressd.h test/fuzz/replay.c port/mock.c port/mock.h port/ev_poll.c port/fmt.c port/tls_none.c port/tls_bearssl.c \
            port/tls_common.c port/posix.c Makefile $(DASH)
FUZZ_PORT_conf = port/mock.c port/ev_poll.c port/tls_none.c
FUZZ_PORT_dns =
FUZZ_PORT_pem = port/posix.c port/tls_bearssl.c -l:libbearssl.a
FUZZ_PORT_http = $(FUZZ_PORT_conf)
FUZZ_PORT_watch = $(FUZZ_PORT_conf)
FUZZ_PORT_cb = $(FUZZ_PORT_conf)
FUZZ_PORT_hdr = $(FUZZ_PORT_conf)
FUZZ_PORT_pp = $(FUZZ_PORT_conf)
FUZZ_PORT_yaml = $(FUZZ_PORT_conf)
FUZZ_PORT_regex = $(FUZZ_PORT_conf)
FUZZ_PORT_access = port/mock.c port/ev_poll.c port/tls_bearssl.c -l:libbearssl.a
FUZZ_PORT_proxy = $(FUZZ_PORT_access)
FUZZ_PORT_snap = $(FUZZ_PORT_access)

build/test/replay_%: test/fuzz/fuzz_%.c $(FUZZ_DEPS)
	mkdir -p build/test
	$(CC) $(WARN) -Wno-missing-prototypes -Wno-unused-function -O1 -g $(SAN) -DING_TEST -o $@ $< \
		test/fuzz/replay.c $(FUZZ_PORT_$*)

build/fuzz/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_DEPS)
	mkdir -p build/fuzz
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -DING_TEST -o $@ $< $(FUZZ_PORT_$*)

fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@if [ -n "$(FUZZ_SECONDS)" ]; then for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/new_$$t; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) build/fuzz/new_$$t test/fuzz/corpus/$$t || exit 1; \
	done; fi

# The YAML subset reader and the regex engine as filters, for
# test/yaml_diff.py (against PyYAML) and test/regex_diff.py (against re).
build/test/ymcat build/test/rxcat: build/test/%: test/%.c $(FUZZ_DEPS)
	mkdir -p build/test
	$(CC) $(WARN) -Wno-unused-function -O1 -g $(SAN) -DING_TEST -o $@ $< port/mock.c port/ev_poll.c port/tls_none.c

# port/posix.c's resolver as a command, for test/e2e_resolver.sh.
build/test/resolve: test/resolve.c port/posix.c port/fmt.c ingressd.h Makefile
	mkdir -p build/test
	$(CC) $(WARN) -Wno-unused-function -O1 -g $(SAN) -o $@ test/resolve.c

test: ingressd build/mbedtls/ingressd build/poll/ingressd build/inc/.stamp $(UNITS:%=build/test/%) $(FUZZ_TARGETS:%=build/test/replay_%) \
      build/test/ymcat build/test/rxcat build/test/resolve
	@sh test/run.sh

# Unit tests for both ARM targets under qemu-user (static musl builds).
test-arm: build/inc/.stamp $(DASH)
	@sh test/arm.sh

check: test
	$(MAKE) -B ingressd TLS=mbedtls
	$(MAKE) -B ingressd TLS=bearssl

deps:
	sh .ci/deps.sh

# Container image: build/image/ingressd-oci and build/image/ingressd-<arch>.tar
# (root: the binary gets a file capability, see deploy/k8s/daemonset.yaml).
image: build/inc/.stamp
	$(MAKE) static
	$(MAKE) cross TOOLCHAIN=port/toolchain/aarch64-linux-gnu.mk
	$(MAKE) cross TOOLCHAIN=port/toolchain/arm-linux-gnueabihf.mk
	sh deploy/image.sh

test-image: build/inc/.stamp
	@sh test/image.sh

# A real kube-apiserver (v1.20, from Debian's source package) for the
# end-to-end suites; built once into /var/tmp/kube-apiserver-build.
KUBE_APISERVER = /var/tmp/kube-apiserver-build/bin/kube-apiserver
kube-apiserver: $(KUBE_APISERVER)
$(KUBE_APISERVER):
	bash test/kube-apiserver/setup.sh
	bash test/kube-apiserver/build.sh

# The end-to-end suites only (those needing the real kube-apiserver build it
# first: test/kube-apiserver/).
e2e: ingressd build/mbedtls/ingressd build/poll/ingressd
	@sh test/run.sh e2e

# Benchmarks against nginx and HAProxy on loopback (bash; about 5 minutes):
# build/bench/results.md.
bench: ingressd build/mbedtls/ingressd
	bash test/bench/run.sh

# The cheese example routed on this machine (stand-in API server, local
# backends, unprivileged ports); Ctrl-C stops it.
demo: ingressd
	@sh deploy/demo/demo.sh

# ---------------------------------------------------------------- install
install: ingressd
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/ingressd
	install -m 755 ingressd $(DESTDIR)$(PREFIX)/sbin/ingressd
	install -m 644 ingressd.conf $(DESTDIR)$(PREFIX)/share/ingressd/ingressd.conf.sample

clean:
	rm -rf ingressd build

.PHONY: all static cross test test-arm check deps install clean fuzz demo image test-image e2e kube-apiserver bench
