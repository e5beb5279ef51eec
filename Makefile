# kvsync: `make demo` runs the seed tutorial against the embedded Konnect
# emulator; `make test` runs every test. Both need only Go.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 10s

.PHONY: all build test test-compat test-watch watch-tools soak-watch vet fuzz bench bench-e2e demo emulator emulator-tutorial clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/kvsync ./cmd/kvsync
	$(GO) build -o $(BIN)/konnect-emulator ./cmd/konnect-emulator

vet:
	$(GO) vet ./...

# The unit, conformance and end-to-end tests (the fuzz targets' seed
# corpora included), then the go-kong compatibility test (its own module,
# compat/gokong). Fuzzing itself explores at random, so it is `make fuzz`
# (which CI runs too): a test run must give the same answer every time.
test: vet
	$(GO) test -count=1 ./...
	$(MAKE) test-compat

# Kong's Go client (go-kong) against the emulator, in its own Go module so
# that kvsync's dependencies stay lean.
test-compat:
	cd compat/gokong && $(GO) vet ./... && $(GO) test -count=1 ./...

# kvsync watch with the real tools its users run it with, from Debian's
# packages: promtool (metrics, example alert rules), a Prometheus server
# scraping the kvsync binary, headless Chromium rendering the status page
# into artifacts/watch/*.png. CI runs it (.ci/run).
test-watch: watch-tools
	$(GO) test -count=1 -tags watchtools -run 'WithRealTools' -v ./cmd/kvsync

# Debian's prometheus (server and promtool) and chromium, when missing.
SUDO ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)
watch-tools:
	@if command -v promtool >/dev/null && command -v prometheus >/dev/null && command -v chromium >/dev/null; then \
		echo "watch-tools: promtool, prometheus and chromium are installed"; \
	else \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus chromium; \
	fi

# A bounded soak of kvsync watch (not part of make test): 200 cycles at a
# short interval under injected 5xx, 429s and a 30 s outage; goroutines
# and heap must stay flat; prints the RSS at cycles 10 and 200.
soak-watch:
	$(GO) test -count=1 -tags soak -run '^TestSoak$$' -v -timeout 30m ./pkg/watch

# Short fuzz runs: the loader, and the client against arbitrary answers. A
# failing input lands in testdata/fuzz; keep it there as a regression case.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzLoad$$' -fuzztime=$(FUZZTIME) ./pkg/state
	$(GO) test -run='^$$' -fuzz='^FuzzServerAnswers$$' -fuzztime=$(FUZZTIME) ./pkg/konnect

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# End to end: the kvsync binary against the emulator binary (rate limits,
# latency, no-op diffs, a diff at scale), one table of wall time against the
# ideal, requests against the minimum, 429s and failed operations. A few
# minutes; not part of `make test`. BENCH_ARGS=--markdown for README tables.
bench-e2e: build
	$(GO) run ./cmd/kvsync-bench --bin $(BIN) $(BENCH_ARGS)

emulator: build
	$(BIN)/konnect-emulator --listen 127.0.0.1:8123 --token kpat_emulator_fake_token

# The emulator with the tutorial's control plane, example-service and
# example-route already there (the README's quick start).
emulator-tutorial: build
	$(BIN)/konnect-emulator --listen 127.0.0.1:8123 --token kpat_emulator_fake_token --preload tutorial

demo: build
	./examples/demo.sh

clean:
	rm -rf $(BIN)
