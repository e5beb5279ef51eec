# kvsync: `make demo` runs the seed tutorial against the embedded Konnect
# emulator; `make test` runs every test. Both need only Go.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 10s

.PHONY: all build test test-slow compile test-compat vet fuzz bench bench-e2e demo emulator emulator-tutorial clean

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
# -short leaves out the slow tests (the pacer's convergence against a
# rate-limited emulator, building the emulator binary): make test-slow.
# First the packages compile, each listed as it does (a cold build spends
# minutes on the OpenAPI validator and prints nothing otherwise), and the
# conformance test's specs are looked for, so that a skip is visible.
KONNECT_API_DIR ?= $(or $(KVSYNC_KONNECT_API_DIR),$(abspath ../shared/konnect-api))

test: compile vet
	@if [ -f "$(KONNECT_API_DIR)/control-planes/v2/openapi.yaml" ]; then \
		echo "make test: conformance against the Konnect OpenAPI specs in $(KONNECT_API_DIR)"; \
	else \
		echo "make test: NOTE: no Konnect OpenAPI specs in $(KONNECT_API_DIR): the conformance test is SKIPPED (set KVSYNC_KONNECT_API_DIR)"; \
	fi
	@echo "make test: go test -short (make test-slow runs the rest)"
	KVSYNC_KONNECT_API_DIR=$(KONNECT_API_DIR) $(GO) test -count=1 -short ./...
	$(MAKE) test-compat

# The tests -short leaves out (about 30 s).
test-slow:
	$(GO) test -count=1 -run '^(TestPacerConverges|TestBinary)$$' -v ./pkg/konnect/...

# Compiles every package and test dependency, naming each as it compiles
# (nothing is listed when the build cache is warm).
compile:
	@echo "make test: compiling (a cold build lists each package; the OpenAPI validator takes minutes)"
	@$(GO) build -v $$($(GO) list -deps -test ./... | grep -v -e ' ' -e '\.test$$')

# Kong's Go client (go-kong) against the emulator, in its own Go module so
# that kvsync's dependencies stay lean.
test-compat:
	cd compat/gokong && $(GO) vet ./... && $(GO) test -count=1 ./...

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
