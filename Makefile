# releve — build, test, demo.  `make help` lists the targets.
#
# Plain `make` builds ./releve (optimised).  `make SANITIZE=address,undefined`
# builds under build/asan/ and never touches ./releve.  Nothing is fetched at
# build time; `make deps` installs Debian's packages (make check and make
# demo call it when something is missing).

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := 0.1
comma := ,

SRCDIRS := common metering billing reports
SRCS := $(sort $(wildcard $(addsuffix /*.c,$(SRCDIRS))))
MAIN := common/main.c
LIBSRCS := $(filter-out $(MAIN),$(SRCS))
SQL := $(sort $(wildcard sql/[0-9][0-9][0-9]_*.sql))
TESTS := $(sort $(wildcard tests/test_*.c))
TESTLIB := $(filter-out $(TESTS),$(sort $(wildcard tests/*.c)))
FUZZ := $(sort $(wildcard tests/fuzz/fuzz_*.c))

PKGS := libpq jansson zlib libmicrohttpd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lcsv -lhpdf -lm -pthread
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# The warnings of the house style, as errors.
WARN := -std=c11 -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes \
	-Wvla -Wwrite-strings -Wformat=2 -Werror
HARDEN := -fstack-protector-strong -fPIE -fstack-clash-protection
HARDEN_LD := -pie -Wl,-z,relro,-z,now

ifeq ($(SANITIZE),)
B := build/release
BIN := releve
OPT := -O2 -g -D_FORTIFY_SOURCE=3
else
ifneq ($(findstring address,$(SANITIZE)),)
B := build/asan
else
B := build/san-$(subst $(comma),-,$(SANITIZE))
endif
BIN := $(B)/releve
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
	-fno-sanitize-recover=all
endif
ALL_CFLAGS = $(WARN) $(OPT) $(HARDEN) -D_GNU_SOURCE \
	-DRELEVE_VERSION='"$(VERSION)"' -I. $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(OPT) $(HARDEN_LD) $(LDFLAGS)

OBJS := $(patsubst %.c,$(B)/obj/%.o,$(LIBSRCS)) $(B)/obj/gen/migrations.o
MAINOBJ := $(B)/obj/$(MAIN:.c=.o)
TESTLIBOBJS := $(patsubst %.c,$(B)/obj/%.o,$(TESTLIB))
TESTBINS := $(patsubst tests/%.c,$(B)/tests/%,$(TESTS))

.PHONY: all tests benchtools check demo deps install uninstall lint fuzz fuzz-run \
	bench clean distclean help format
.DELETE_ON_ERROR:

all: $(BIN)

$(BIN): $(MAINOBJ) $(B)/libreleve.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/libreleve.a: $(OBJS)
	rm -f $@
	ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(if $(findstring tests/,$<),$(CMOCKA_CFLAGS)) \
		-MMD -MP -c -o $@ $<

$(B)/gen/migrations.c: $(SQL) scripts/embed-sql
	@mkdir -p $(dir $@)
	scripts/embed-sql $@ $(SQL)

$(B)/obj/gen/migrations.o: $(B)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests: $(BIN) $(TESTBINS) benchtools

# Data generators and benchmark tools (bench/*.c): standalone programs.
BENCHSRCS := $(sort $(wildcard bench/*.c))
BENCHBINS := $(patsubst bench/%.c,$(B)/bench/%,$(BENCHSRCS))
benchtools: $(BENCHBINS)

$(B)/bench/%: bench/%.c $(B)/libreleve.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libreleve.a $(PKG_LIBS)

$(B)/tests/%: $(B)/obj/tests/%.o $(TESTLIBOBJS) $(B)/libreleve.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

# libFuzzer targets: clang, ASan+UBSan, their own objects in build/fuzz.
FUZZ_B := build/fuzz
FUZZ_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -DRELEVE_VERSION='"$(VERSION)"' \
	-I. $(PKG_CFLAGS) \
	-fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIBSRCS := $(LIBSRCS)
FUZZ_OBJS := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(FUZZ_LIBSRCS))
FUZZBINS := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(FUZZ))

fuzz: $(FUZZBINS)

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

# An archive, so that each target pulls in only the objects it uses (the
# parsers), not the commands and their database code.
$(FUZZ_B)/libfuzz.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_B)/%: $(FUZZ_B)/obj/tests/fuzz/%.o $(FUZZ_B)/libfuzz.a
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

# Run each fuzz target for FUZZ_SECONDS on its seed corpus.
FUZZ_SECONDS ?= 10
fuzz-run: fuzz
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZBINS)

deps:
	@scripts/install-deps --check || scripts/install-deps

# The whole test suite: the normal build and ASan+UBSan, one throwaway
# PostgreSQL cluster for the run, then a short fuzzing of each parser.
check: deps
	$(MAKE) tests
	$(MAKE) SANITIZE=address,undefined tests
	$(if $(FUZZ),$(MAKE) fuzz)
	tests/run.sh build/release build/asan
	$(if $(FUZZ),tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZBINS))

demo: deps
	$(MAKE) all benchtools
	scripts/demo

bench: deps
	$(MAKE) all benchtools
	bench/run.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/releve/examples \
		$(DESTDIR)$(PREFIX)/share/releve/sql $(DESTDIR)$(PREFIX)/share/doc/releve
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/releve
	install -m 0644 $(SQL) $(DESTDIR)$(PREFIX)/share/releve/sql/
	install -m 0644 examples/* $(DESTDIR)$(PREFIX)/share/releve/examples/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/releve/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/releve
	rm -rf $(DESTDIR)$(PREFIX)/share/releve $(DESTDIR)$(PREFIX)/share/doc/releve

# Static analysis, and the layering rules of the house style.
lint: $(B)/gen/migrations.c
	scripts/check-layers
	clang-tidy --quiet $(LIBSRCS) $(MAIN) -- $(WARN) -D_GNU_SOURCE \
		-DRELEVE_VERSION='"$(VERSION)"' -I. $(PKG_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE -I. \
		--suppress=missingIncludeSystem $(SRCDIRS)

format:
	clang-format -i $(SRCS) $(wildcard $(addsuffix /*.h,$(SRCDIRS)))

clean:
	rm -rf build releve

distclean: clean
	-./releve local destroy 2>/dev/null
	rm -rf var out

help:
	@echo "make          build ./releve (-O2, hardened)"
	@echo "make check    install what is missing, run every test (normal + ASan/UBSan + fuzz)"
	@echo "make demo     install what is missing, run the monthly job on an embedded PostgreSQL"
	@echo "make bench    benchmarks"
	@echo "make SANITIZE=address,undefined   sanitized build in build/asan/"
	@echo "make fuzz     libFuzzer targets in build/fuzz/"
	@echo "make lint     clang-tidy, cppcheck, layering rules"
	@echo "make install PREFIX=/usr/local DESTDIR="

-include $(shell find build -name '*.d' 2>/dev/null)
