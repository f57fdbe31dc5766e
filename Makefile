# bond-cni: the two commands a newcomer needs are `make demo` and `make test`
# (see README.md). Both do their own set-up on a fresh Debian 12 machine.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Release binaries: no symbol table or DWARF (panics still name functions).
LDFLAGS := -s -w -X github.com/bond-cni/bond-cni/pkg/buildinfo.Version=$(VERSION)
# BIN: where "make build" puts bond and bond-installer (the Dockerfile's
# build stage passes BIN=/out).
BIN ?= bin
# The image "make image" builds. A name with a domain ("localhost/") is
# what podman load and ctr import keep as is, so a node finds the image
# under exactly this name.
IMAGE_NAME ?= localhost/bond-cni
IMAGE ?= $(IMAGE_NAME):$(VERSION)
# IMAGE_ARCHIVE=file.tar: also write the image there as an OCI archive,
# for "podman load -i" or "ctr -n k8s.io images import" on a node.
IMAGE_ARCHIVE ?=
# The image's timestamps: the last commit's time, so the same binaries give
# the same image digest.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# BUILDAH: the buildah command make image runs; image-test gives it a store
# of its own, so the test images never touch the machine's.
BUILDAH ?= buildah
IMAGE_TEST_DIR := .cache/image
IMAGE_TEST_BUILDAH := buildah --root $(CURDIR)/$(IMAGE_TEST_DIR)/store/root --runroot $(CURDIR)/$(IMAGE_TEST_DIR)/store/run
FUZZTIME ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: demo test unit fuzz kernel-test image-test lint bench build image go clean

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

## test: every test: lint, unit tests, bounded fuzzing, kernel tests in the VM, the image
test: go lint unit fuzz kernel-test image-test

unit: go
	go test -count=1 ./...

# fuzz: each target for FUZZTIME, with its invariants beside it: the config
# loaders (pkg/config/fuzz_test.go), the state record loader, the host link
# policy parser, and the netlink encode/decode round trip of every option.
FUZZ_TARGETS := FuzzLoad:./pkg/config/ FuzzLoadLenient:./pkg/config/ FuzzCNIArgs:./pkg/config/ \
	FuzzDecode:./pkg/state/ FuzzParsePolicy:./pkg/hostlink/ FuzzOptionRoundTrip:./pkg/bond/
fuzz: go
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "go test -run '^$$' -fuzz '^$${t%%:*}$$' -fuzztime $(FUZZTIME) $${t#*:}"; \
		go test -run '^$$' -fuzz "^$${t%%:*}\$$" -fuzztime $(FUZZTIME) "$${t#*:}"; \
	done

kernel-test: go
	go run ./test/vm test

lint: go
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	go vet -tags kernel ./...
	go vet -tags image ./test/image/...
	go vet -tags failpoints ./cmd/bond/
	go run $(STATICCHECK) ./...
	go run $(STATICCHECK) -tags kernel ./...
	go run $(STATICCHECK) -tags image ./test/image/...

## bench: ADD/CHECK/DEL latency, scale, failover gap, memory (not pass/fail); the log
## and the failover charts go to $(OUT)/bench; COMPARE=/path/to/other/bond runs it side by side
bench: go
	@mkdir -p $(OUT)/bench
	set -o pipefail; go run ./test/vm exec -timeout 60m -out $(abspath $(OUT))/bench \
		$(if $(COMPARE),-plugin bond-compare=$(abspath $(COMPARE))) ./test/bench -- \
		$(if $(COMPARE),-compare bond-compare) $(BENCH_FLAGS) | tee $(OUT)/bench/bench.log

build: go
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/bond ./cmd/bond
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/bond-installer ./cmd/installer
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/bond-agent ./cmd/agent

## image: the release image from make build's binaries, with buildah: no registry, no daemon
# The Dockerfile's "prebuilt" stage copies bin/ (the build context) where
# docker build compiles; both end in the same last stage. buildah's own
# identity label is left out so the labels are the Dockerfile's alone.
image: build
	@bash test/image/setup.sh build
	$(BUILDAH) bud --identity-label=false --timestamp $(SOURCE_DATE_EPOCH) \
		--build-arg BINARIES=prebuilt --build-arg VERSION=$(VERSION) -f Dockerfile -t $(IMAGE) $(BIN)
	@if [ -n "$(IMAGE_ARCHIVE)" ]; then \
		mkdir -p "$$(dirname "$(IMAGE_ARCHIVE)")" && rm -f "$(IMAGE_ARCHIVE)" && \
		$(BUILDAH) push --quiet --digestfile "$(IMAGE_ARCHIVE).digest" $(IMAGE) "oci-archive:$(IMAGE_ARCHIVE):$(IMAGE)" && \
		echo "image archive: $(IMAGE_ARCHIVE), $$(du -k "$(IMAGE_ARCHIVE)" | cut -f1) KiB, manifest digest $$(cat "$(IMAGE_ARCHIVE).digest")"; \
	fi
	@echo "image: $(IMAGE), ID $$($(BUILDAH) images --noheading --no-trunc --format '{{.ID}}' $(IMAGE)), $$($(BUILDAH) images --noheading --format '{{.Size}}' $(IMAGE))"

## image-test: runs the image as deploy/daemonset.yaml does; the seed scenario on its plugin in the VM
# A second image, the same code under a later version, is the upgrade. Both
# are built in a store of the test's own and kept only as archives.
image-test: go
	$(MAKE) --no-print-directory image BUILDAH="$(IMAGE_TEST_BUILDAH)" IMAGE_ARCHIVE=$(IMAGE_TEST_DIR)/release.oci.tar
	$(MAKE) --no-print-directory image BUILDAH="$(IMAGE_TEST_BUILDAH)" IMAGE_ARCHIVE=$(IMAGE_TEST_DIR)/next.oci.tar \
		BIN=$(IMAGE_TEST_DIR)/next-bin VERSION=$(VERSION)-next
	$(IMAGE_TEST_BUILDAH) rmi --all --force >/dev/null
	@bash test/image/setup.sh run $(IMAGE_TEST_DIR)
	rm -rf $(IMAGE_TEST_DIR)/installed
	go test -count=1 -v -tags image ./test/image -args \
		-release $(CURDIR)/$(IMAGE_TEST_DIR)/release.oci.tar -next $(CURDIR)/$(IMAGE_TEST_DIR)/next.oci.tar \
		-containerd $(CURDIR)/$(IMAGE_TEST_DIR)/containerd/usr/bin \
		-installed-plugin-out $(CURDIR)/$(IMAGE_TEST_DIR)/installed/bond
	go run ./test/vm test -bond $(IMAGE_TEST_DIR)/installed/bond -run '^TestSeedConfigOverTwoLinks$$' ./test/e2e

# go: a Go toolchain. A fresh Debian 12 has none; backports' golang-go then
# fetches the toolchain go.mod asks for through the Go module proxy.
go:
	@command -v go >/dev/null || { \
		bash test/vm/setup.sh --backports-only && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports golang-go ca-certificates git >/dev/null; }
	@go version

clean:
	rm -rf bin $(OUT) .cache/vm/initramfs* test/vm/out $(IMAGE_TEST_DIR)/*.oci.tar* $(IMAGE_TEST_DIR)/next-bin $(IMAGE_TEST_DIR)/installed $(IMAGE_TEST_DIR)/store
