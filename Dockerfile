# syntax=docker/dockerfile:1
#
# Image for the bond CNI plugin: /bond is the plugin, /bond-installer copies
# it into the node's CNI bin dir, /bond-agent serves the bonds' metrics
# (see deploy/daemonset.yaml).
#
#   docker build --build-arg VERSION="$(git describe --always --dirty)" -t bond-cni .
#
# The build runs on the builder's own platform and cross-compiles, so a
# multi-platform build (--platform linux/amd64,linux/arm64) needs no emulation.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
WORKDIR /src
# Modules first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binaries: the final stage has no libc, and the plugin is exec'd on
# hosts whose libc we do not know.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
        -ldflags "-s -w -X github.com/bond-cni/bond-cni/pkg/buildinfo.Version=${VERSION}" \
        -o /out/ ./cmd/bond ./cmd/installer ./cmd/agent

# Nothing but the three binaries: no shell, no package manager, nothing to patch.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="bond-cni" \
      org.opencontainers.image.description="CNI plugin that bonds interfaces inside a pod's network namespace" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/bond /bond
COPY --from=build /out/installer /bond-installer
COPY --from=build /out/agent /bond-agent
# Root, because the host's CNI bin dir is owned by root.
USER 0:0
ENTRYPOINT ["/bond-installer", "-sleep"]
