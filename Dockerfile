# syntax=docker/dockerfile:1
#
# Image for the bond CNI plugin: /bond is the plugin, /bond-installer copies
# it into the node's CNI bin dir, /bond-agent serves the bonds' metrics
# (see deploy/daemonset.yaml).
#
# Two ways to build it; both end in the same last stage, so they give the
# same layout, entrypoint, labels and user:
#
#   docker build --build-arg VERSION="$(git describe --always --dirty)" -t bond-cni .
#       compiles the binaries in a Go build stage (needs the golang image);
#   make image
#       packs the static binaries "make build" made in bin/, with buildah,
#       without a registry or a daemon. It runs
#       buildah bud --build-arg BINARIES=prebuilt --build-arg VERSION=... -f Dockerfile bin/
#       (the build context is the folder holding bond, bond-installer and
#       bond-agent).
#
# With podman build or buildah bud (1.28), spell out --build-arg
# BINARIES=build for the Go build: they decide which stages to skip from the
# build args given, not from the ARG's default, and would skip "build".
#
# The Go build runs on the builder's own platform and cross-compiles, so a
# multi-platform build (--platform linux/amd64,linux/arm64) needs no emulation.

# Which stage provides /out/bond, /out/bond-installer and /out/bond-agent:
# "build" or "prebuilt".
ARG BINARIES=build

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
WORKDIR /src
# Modules first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# "make build" is the one recipe for the release binaries (static, since
# the final stage has no libc and the plugin is exec'd on hosts whose libc
# we do not know); GOOS and GOARCH reach go build through the environment.
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH make build VERSION="${VERSION}" BIN=/out

# The binaries as "make build" left them; the build context is that folder.
FROM scratch AS prebuilt
COPY bond bond-installer bond-agent /out/

FROM ${BINARIES} AS binaries
# A stage with no instruction of its own is left behind by buildah 1.28 (its
# working container and the image of the stage it starts from); with one,
# the build cleans up after itself.
WORKDIR /out

# Nothing but the three binaries: no shell, no package manager, nothing to patch.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="bond-cni" \
      org.opencontainers.image.description="CNI plugin that bonds interfaces inside a pod's network namespace" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=binaries /out/bond /bond
COPY --from=binaries /out/bond-installer /bond-installer
COPY --from=binaries /out/bond-agent /bond-agent
# Root, because the host's CNI bin dir is owned by root.
USER 0:0
ENTRYPOINT ["/bond-installer", "-sleep"]
