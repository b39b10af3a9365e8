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
	openjdk-17-jre-headless libnss3-tools haproxy chromium procps websockify \
	python3-prometheus-client ca-certificates util-linux strace \
	systemd mount

# `make bench` only: nginx's stream module, the comparator on the wss -> ssl path.
BENCH_DEBS := nginx-light libnginx-mod-stream

# `make fuzz` only: clang with libFuzzer and the sanitizer runtimes (Debian 12: clang 14).
FUZZ_DEBS := clang libclang-rt-14-dev llvm
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(shell cat tests/fuzz/targets.txt)

# The manual pages (data/man) are scdoc sources; tests/man renders them with man.
DEBS += scdoc man-db groff-base

# Keyring passwords (libsecret) and their tests: a real Secret Service.
DEBS += libsecret-1-dev gnome-keyring libsecret-tools

.PHONY: all deps build run check check-asan clean screenshots bench fuzz soak

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

# The same tests on an ASan+UBSan build (CI runs this before `make check`):
# tests/check-sanitized.py runs the compiled tests and the script tests in
# two passes (slow and fast unwinding) and counts every sanitizer report,
# whichever process made it, as a failure (see its header).
ASAN_BUILD ?= build-asan

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Deditor=false -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dc_args=-fno-omit-frame-pointer

check-asan: deps $(ASAN_BUILD)/build.ninja
	meson compile -C $(ASAN_BUILD)
	/usr/bin/python3 tests/check-sanitized.py $(ASAN_BUILD) $(ASAN_BUILD)/sanitizer-reports

# Postern against websockify, same machine, same back-end: ratios, not timings
# in tests (see tests/bench/README.md). BENCH_ARGS=--quick for a smoke run.
bench: build
	@$(MAKE) --no-print-directory deps DEBS="$(DEBS) $(BENCH_DEBS)"
	/usr/bin/python3 tests/bench/bench.py --build $(BUILD) $(BENCH_ARGS)

# libFuzzer targets (tests/fuzz) with ASan and UBSan, FUZZ_SECONDS each on a
# scratch copy of their corpus, two at a time; any finding fails.  make check
# replays the same corpora without libFuzzer.
fuzz:
	@$(MAKE) --no-print-directory deps DEBS="$(DEBS) $(FUZZ_DEBS)"
	@[ -f $(FUZZ_BUILD)/build.ninja ] || \
	  CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true -Deditor=false
	meson compile -C $(FUZZ_BUILD) $(patsubst %,tests/fuzz/fuzz-%,$(FUZZ_TARGETS))
	tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Ten minutes (SOAK_SECONDS=N to change) of mixed sessions, disconnects and
# reloads against one gateway, its RSS and descriptors sampled every 10 s;
# fails on growth beyond 5 % after the warm-up (tests/soak/soak.py).
soak: build
	/usr/bin/python3 tests/soak/soak.py --build $(BUILD)

screenshots: build
	tests/editor/screenshots.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD)
