# bond-cni: the two commands a newcomer needs are `make demo` and `make test`
# (see README.md). Both do their own set-up on a fresh Debian 12 machine.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/bond-cni/bond-cni/pkg/buildinfo.Version=$(VERSION)
FUZZTIME ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: demo test unit fuzz kernel-test lint bench build go clean

# OUT: where demo and bench keep their logs and charts.
OUT ?= out
# COMPARE: another bond plugin binary (static) for make bench to run
# interleaved with ours, e.g. make bench COMPARE=/path/to/other/bond.
COMPARE ?=
BENCH_FLAGS ?=

## demo: the source document's scenario end to end (SR-IOV VFs, bond, failover) in the VM;
## its log and the charts of its failovers go to $(OUT)/demo
demo: go
	@mkdir -p $(OUT)/demo
	set -o pipefail; go run ./test/vm exec -out $(abspath $(OUT))/demo ./test/scenario | tee $(OUT)/demo/demo.log

## test: every test: lint, unit tests, bounded fuzzing, kernel tests in the VM
test: go lint unit fuzz kernel-test

unit: go
	go test -count=1 ./...

fuzz: go
	go test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./pkg/config/
	go test -run '^$$' -fuzz '^FuzzParseArgs$$' -fuzztime $(FUZZTIME) ./pkg/config/

kernel-test: go
	go run ./test/vm test

lint: go
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	go vet -tags kernel ./...
	go vet -tags failpoints ./cmd/bond/
	go run $(STATICCHECK) ./...
	go run $(STATICCHECK) -tags kernel ./...

## bench: ADD/CHECK/DEL latency, scale, failover gap, memory (not pass/fail); the log
## and the failover charts go to $(OUT)/bench; COMPARE=/path/to/other/bond runs it side by side
bench: go
	@mkdir -p $(OUT)/bench
	set -o pipefail; go run ./test/vm exec -timeout 60m -out $(abspath $(OUT))/bench \
		$(if $(COMPARE),-plugin bond-compare=$(abspath $(COMPARE))) ./test/bench -- \
		$(if $(COMPARE),-compare bond-compare) $(BENCH_FLAGS) | tee $(OUT)/bench/bench.log

build: go
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/bond ./cmd/bond
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/bond-installer ./cmd/installer

# go: a Go toolchain. A fresh Debian 12 has none; backports' golang-go then
# fetches the toolchain go.mod asks for through the Go module proxy.
go:
	@command -v go >/dev/null || { \
		bash test/vm/setup.sh --backports-only && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports golang-go ca-certificates git >/dev/null; }
	@go version

clean:
	rm -rf bin $(OUT) .cache/vm/initramfs* test/vm/out
