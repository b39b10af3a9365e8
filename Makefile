# Postern: thin wrapper over meson. `make run` and `make check` work on a
# fresh Debian 12 machine as root: they install what is missing first.
# SPDX-License-Identifier: Apache-2.0

BUILD ?= build
CONFIG ?= conf/gateway-config.xml

# Every Debian package the build, the tests and their peers need: one list.
DEBS := meson ninja-build pkg-config gcc libc6-dev gettext \
	libglib2.0-dev libglib2.0-bin glib-networking libsoup-3.0-dev libxml2-dev \
	libgnutls28-dev gnutls-bin libtasn1-6-dev libgtk-4-dev libadwaita-1-dev \
	desktop-file-utils appstream xvfb xauth dbus-daemon imagemagick \
	python3 python3-websockets node-ws nodejs openssl curl \
	openjdk-17-jre-headless libnss3-tools haproxy chromium procps websockify

# `make fuzz` only: clang with libFuzzer and the sanitizer runtimes (Debian 12: clang 14).
FUZZ_DEBS := clang libclang-rt-14-dev llvm
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(shell cat tests/fuzz/targets.txt)

.PHONY: all deps build run check check-asan clean screenshots bench fuzz

all: build

deps:
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEBS) 2>/dev/null | \
	  awk '$$NF == "installed" { print $$1 }' | sort > .deps-ok; \
	  for p in $(DEBS); do grep -qx "$$p" .deps-ok || echo $$p; done); \
	rm -f .deps-ok; \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing Debian packages:" $$missing; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "make: run as root (or install: $$missing)"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

run: build
	$(BUILD)/gateway/postern run --config $(CONFIG)

check: build
	@meson test -C $(BUILD) --print-errorlogs --num-processes 2 > $(BUILD)/check.log 2>&1; \
	  status=$$?; tail -n 40 $(BUILD)/check.log; \
	  /usr/bin/python3 tests/summary.py $(BUILD)/meson-logs/testlog.json || status=1; \
	  exit $$status

# The same tests on an ASan+UBSan build (CI runs this before `make check`).
# Sanitizers write every report to ASAN_LOGS through log_path, whatever
# process made it (the `postern run` children of the Python tests inherit
# this environment), and summary.py counts each report as a failure: a
# gateway killed after a report, or a leak in a passing test, still fails.
# fast_unwind_on_malloc=0: GLib has no frame pointers, and the suppressions
# in lsan.supp only match full stacks.  POSTERN_SANITIZED=1 lets RSS
# assertions (inflated by ASan's shadow and quarantine) skip, saying why.
# A suite not in this tree yet (conformance) is left out with a note.
ASAN_BUILD ?= build-asan
ASAN_SUITES := config stores net http certcli trust e2e conformance
ASAN_LOGS = $(CURDIR)/$(ASAN_BUILD)/sanitizer-reports
ASAN_ENV = ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1:fast_unwind_on_malloc=0:log_path=$(ASAN_LOGS)/asan \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$(ASAN_LOGS)/ubsan \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/config/lsan.supp:print_suppressions=0 \
	G_SLICE=always-malloc POSTERN_SANITIZED=1

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Deditor=false -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dc_args=-fno-omit-frame-pointer

check-asan: deps $(ASAN_BUILD)/build.ninja
	meson compile -C $(ASAN_BUILD)
	@rm -rf $(ASAN_LOGS); mkdir -p $(ASAN_LOGS); \
	  known=" $$(meson introspect --tests $(ASAN_BUILD) | /usr/bin/python3 -c 'import json, sys; \
	    print(" ".join({s.split(":")[-1] for t in json.load(sys.stdin) for s in t["suite"]}))') "; \
	  suites=; for s in $(ASAN_SUITES); do \
	    case "$$known" in *" $$s "*) suites="$$suites --suite $$s" ;; \
	      *) echo "check-asan: no suite '$$s' in this tree, left out" ;; esac; done; \
	  env $(ASAN_ENV) meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 \
	    --timeout-multiplier 4 $$suites > $(ASAN_BUILD)/check.log 2>&1; \
	  status=$$?; tail -n 40 $(ASAN_BUILD)/check.log; \
	  /usr/bin/python3 tests/summary.py $(ASAN_BUILD)/meson-logs/testlog.json \
	    --sanitizer-logs $(ASAN_LOGS) || status=1; \
	  exit $$status

# Postern against websockify, same machine, same back-end: ratios, not timings
# in tests (see tests/bench/README.md). BENCH_ARGS=--quick for a smoke run.
bench: build
	/usr/bin/python3 tests/bench/bench.py --build $(BUILD) $(BENCH_ARGS)

# libFuzzer targets (tests/fuzz) with ASan and UBSan, FUZZ_SECONDS each on a
# scratch copy of their corpus, two at a time; any finding fails.  make check
# replays the same corpora without libFuzzer.
fuzz:
	@$(MAKE) --no-print-directory deps DEBS="$(DEBS) $(FUZZ_DEBS)"
	@[ -f $(FUZZ_BUILD)/build.ninja ] || \
	  CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true -Deditor=false
	meson compile -C $(FUZZ_BUILD) $(patsubst %,tests/fuzz/fuzz-%,$(FUZZ_TARGETS))
	tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

screenshots: build
	tests/editor/screenshots.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD)
