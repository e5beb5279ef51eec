# kvsync: `make demo` runs the seed tutorial against the embedded Konnect
# emulator; `make test` runs every test. Both need only Go.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 10s

.PHONY: all build test test-slow compile test-compat test-watch watch-tools soak-watch vet fuzz bench bench-e2e demo emulator emulator-tutorial clean \
	ci-tools test-ci-kit release-check release-snapshot

# The CI kit's tools, pinned, in a project-local directory (never on the
# main module's go.mod): the real CI runners and the release tool.
TOOLS                   ?= $(CURDIR)/bin/tools
ACT_VERSION             ?= v0.2.89
GITLAB_CI_LOCAL_VERSION ?= 4.60.1
GORELEASER_VERSION      ?= v2.17.0

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
# (nothing is listed when the build cache is warm); packages of tests
# alone (examples/ci) have nothing to build.
compile:
	@echo "make test: compiling (a cold build lists each package; the OpenAPI validator takes minutes)"
	@$(GO) build -v $$($(GO) list -deps -test -f '{{if .GoFiles}}{{.ImportPath}}{{end}}' ./... | grep -v -e ' ' -e '\.test$$')

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

# Short fuzz runs: the loader, its fast parser against yaml.v3, and the
# client against arbitrary answers. A failing input lands in
# testdata/fuzz; keep it there as a regression case.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzLoad$$' -fuzztime=$(FUZZTIME) ./pkg/state
	$(GO) test -run='^$$' -fuzz='^FuzzFastParse$$' -fuzztime=$(FUZZTIME) ./pkg/state
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

# The CI kit (examples/ci, action.yml) run end to end by the real runners:
# the GitHub workflow by nektos/act, the GitLab file by gitlab-ci-local,
# against the Konnect emulator and a fake GitHub API. .ci/run runs it.
test-ci-kit: ci-tools
	@mkdir -p $(abspath $(BIN))/ci-kit-logs
	KVSYNC_CI_KIT=1 KVSYNC_TOOLS=$(TOOLS) KVSYNC_CI_KIT_LOGS=$(abspath $(BIN))/ci-kit-logs \
		$(GO) test -count=1 -v -run 'UnderAct|UnderGitLabCILocal' ./examples/ci/

ci-tools: $(TOOLS)/act $(TOOLS)/gitlab-ci-local
	@command -v rsync >/dev/null || { apt-get update -qq && apt-get install -y -qq rsync; } || \
		{ echo "ci-tools: rsync (a Debian package) could not be installed: gitlab-ci-local needs it" >&2; exit 1; }

# act: a Go module, built with GOBIN so that kvsync's go.mod stays lean.
$(TOOLS)/act: $(TOOLS)/.act-$(ACT_VERSION)
$(TOOLS)/.act-$(ACT_VERSION):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/nektos/act@$(ACT_VERSION)
	@touch $@

# gitlab-ci-local: an npm package (4.60.1 runs on Node 20; 4.7x needs 22).
$(TOOLS)/gitlab-ci-local: $(TOOLS)/.gitlab-ci-local-$(GITLAB_CI_LOCAL_VERSION)
$(TOOLS)/.gitlab-ci-local-$(GITLAB_CI_LOCAL_VERSION):
	@mkdir -p $(TOOLS)
	@command -v npm >/dev/null || { echo "ci-tools: npm is not installed: gitlab-ci-local is an npm package" >&2; exit 1; }
	npm install --no-audit --no-fund --prefix $(TOOLS)/npm gitlab-ci-local@$(GITLAB_CI_LOCAL_VERSION)
	ln -sf npm/node_modules/.bin/gitlab-ci-local $(TOOLS)/gitlab-ci-local
	@touch $@

$(TOOLS)/goreleaser: $(TOOLS)/.goreleaser-$(GORELEASER_VERSION)
$(TOOLS)/.goreleaser-$(GORELEASER_VERSION):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)
	@touch $@

# The release configuration (.goreleaser.yaml): checked, and every archive
# built as a snapshot into dist/, the host's binary asked for its version.
release-check: $(TOOLS)/goreleaser
	$(TOOLS)/goreleaser check

release-snapshot: release-check
	$(TOOLS)/goreleaser release --snapshot --clean --skip=publish
	./dist/kvsync_$$($(GO) env GOOS)_$$($(GO) env GOARCH)*/kvsync version

clean:
	rm -rf $(BIN) dist
