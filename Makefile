# The team's vocabulary: build, test, demo, bench, lint, fuzz.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/crawler
FUZZTIME  ?= 30s
BENCHTIME ?= 3x

export CGO_ENABLED = 0

.PHONY: all build test lint demo bench bench-quick fuzz deps postgres clean

all: build

deps:
	$(GO) mod download
	cd deploy && $(GO) mod download

postgres:
	@./scripts/ensure-postgres.sh

## build: the static binary, the same command the Dockerfile runs.
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/crawler

## lint: gofmt and go vet.
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

## test: everything CI runs; sets itself up on a fresh Debian machine.
test: deps postgres lint build
	$(GO) test -count=1 -timeout 15m ./...
	@if [ -f deploy/go.mod ]; then cd deploy && $(GO) test -count=1 ./...; fi

## demo: emulator + embedded PostgreSQL + crawl + summary.
demo: deps postgres build
	./$(BIN) demo

## bench: the scale scenarios (full sizes) and the micro-benchmarks.
bench: deps postgres build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./pkg/...
	./$(BIN) bench --out bench/results.json

## bench-quick: the scenarios at development sizes.
bench-quick: deps postgres build
	./$(BIN) bench --quick --out bench/results.json

## fuzz: every fuzz target for FUZZTIME each.
fuzz: deps
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x $$pkg; \
	  done; done

clean:
	rm -rf bin
