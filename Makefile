# streamkit: one Makefile over every Go module in the tree.
#
# Every module is a folder with a go.mod. Targets run per module through
# pattern rules (test/<dir>, lint/<dir>, ...) and `go -C <dir>`, so a new module
# is picked up by creating it. tools/devtools is the untagged dev-tools module
# (staticcheck) and is not tested or released.
#
#   make test              every module, -race, real peers included
#   make test MOD=sse      one module (and the modules nested under it)
#   make lint              gofmt, go vet, staticcheck
#   make tidy-check        go mod tidy -diff everywhere
#   make fuzz FUZZTIME=30s every fuzz target
#   make bench             peer benchmarks (tools/bench)
#   make demo              the demo server on http://127.0.0.1:8080
#   make release-plan      last tag, changes, API diff, next version per module
#   make release MOD=sse VERSION=v0.3.0
#   make release-check     every module consumed alone through a local proxy

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ROOT := $(abspath .)
DEVTOOLS := $(ROOT)/tools/devtools/go.mod

ALL_MODULES := $(shell find . -name go.mod -not -path '*/node_modules/*' -not -path './tools/devtools/*' -not -path '*/testdata/*' -printf '%h\n' | sed 's|^\./||; s|^\.$$||' | sort)
ifneq ($(filter release release-plan release-check,$(MAKECMDGOALS)),)
MODULES := $(ALL_MODULES)
else ifdef MOD
MODULES := $(filter $(MOD) $(MOD)/%,$(ALL_MODULES))
ifeq ($(MODULES),)
$(error MOD=$(MOD) is not a module; modules: $(ALL_MODULES))
endif
else
MODULES := $(ALL_MODULES)
endif

FUZZTIME ?= 30s
GOTEST_FLAGS ?=
# Each module is tested on its own (GOWORK=off): that proves its go.mod and
# replace directives are complete, exactly as a fresh clone of one module sees it.
TEST_ENV := GOWORK=off

.PHONY: all test lint tidy-check tidy fuzz bench deps vet fmt-check staticcheck
all: lint test

test: deps $(addprefix test/,$(MODULES))
	@echo "make test: $(words $(MODULES)) modules passed"

test/%:
	@echo "=== test $*"
	@if [ -f $*/.needs ]; then cd $* && $(ROOT)/scripts/need $$(grep -v '^#' .needs); fi
	$(TEST_ENV) go -C $* test -race -count=1 -timeout 10m $(GOTEST_FLAGS) ./...

# Components that tests need (redis-server, chromium, node packages) are
# installed by scripts/need; CI fails with its message when it cannot.
deps:
	@$(ROOT)/scripts/need go

lint: fmt-check $(addprefix vet/,$(MODULES)) $(addprefix staticcheck/,$(MODULES))
	@echo "make lint: ok"

fmt-check:
	@out=$$(gofmt -l $(or $(MODULES),.) 2>&1 | grep -v '/node_modules/' || true); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Libraries (tests included) must also build where users run them, so they
# are vetted for Windows and macOS too; tools/ is this repo's Linux tooling.
CROSS_GOOS := windows darwin
vet/%:
	$(TEST_ENV) go -C $* vet ./...
	@case "$*" in tools|tools/*) ;; *) for os in $(CROSS_GOOS); do \
		$(TEST_ENV) GOOS=$$os go -C $* vet ./... || { echo "vet failed for GOOS=$$os in $*"; exit 1; }; done;; esac

staticcheck/%:
	cd $* && GOWORK=off go tool -modfile=$(DEVTOOLS) staticcheck ./...

tidy-check: $(addprefix tidy-check/,$(MODULES)) tidy-check/tools/devtools
tidy-check/%:
	$(TEST_ENV) go -C $* mod tidy -diff

tidy: $(addprefix tidy/,$(MODULES)) tidy/tools/devtools
tidy/%:
	$(TEST_ENV) go -C $* mod tidy

fuzz: $(addprefix fuzz/,$(MODULES))
fuzz/%:
	@$(ROOT)/scripts/fuzz $* $(FUZZTIME)

bench:
	go -C tools/bench run . $(BENCH_FLAGS)

# The demo server: a real page on 127.0.0.1:8080 (DEMO_FLAGS="-addr :9000 -store file:/tmp/sk").
.PHONY: demo
demo:
	@mkdir -p $(ROOT)/bin
	go -C tools build -o $(ROOT)/bin/streamkit-demo ./cmd/streamkit-demo
	@exec $(ROOT)/bin/streamkit-demo $(DEMO_FLAGS)

# Releases: every module is versioned on its own and tagged <dir>/vX.Y.Z.
RELEASE := GOWORK=off go -C tools run ./cmd/streamkit-release
.PHONY: release-plan release release-check
release-plan:
	@$(RELEASE) plan

release:
	@test -n "$(MOD)" || { echo "usage: make release MOD=dir VERSION=vX.Y.Z (or MOD='a@v1.2.3 b@v0.4.0')"; exit 2; }
	@$(RELEASE) release -version "$(VERSION)" $(MOD)

release-check:
	@$(RELEASE) check
