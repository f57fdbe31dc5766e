#!/usr/bin/env bash
# Idempotent set-up for building and testing the image on Debian 12 (as
# root), from Debian's own packages; a no-op when everything is present.
#
#   setup.sh build          buildah, which "make image" uses
#   setup.sh run CACHE      also podman and runc, which the image test runs
#                           containers with, and containerd's ctr and
#                           containerd unpacked into CACHE/containerd (not
#                           installed: the test starts its own containerd
#                           and no system service is added)
set -euo pipefail

mode=${1:-}
case $mode in
build) tools=(buildah) ;;
run)
	cache=${2:?usage: setup.sh run CACHE}
	# runc, not Debian's default crun: the test runs podman with runc and
	# the cgroupfs manager, which work on cgroup v1, hybrid and v2 hosts.
	tools=(buildah podman runc)
	;;
*)
	echo "usage: setup.sh build | setup.sh run CACHE" >&2
	exit 2
	;;
esac

need=()
for t in "${tools[@]}"; do
	command -v "$t" >/dev/null || need+=("$t")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: need root to install ${need[*]}" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# unpack_containerd puts the containerd package's binaries under $1 without
# installing the package, which would also enable a system service.
unpack_containerd() {
	local dir=$1
	[ -x "$dir/usr/bin/ctr" ] && [ -x "$dir/usr/bin/containerd" ] && return 0
	[ -n "$(find /var/lib/apt/lists -name '*_dists_bookworm_*Packages*' -print -quit 2>/dev/null)" ] || apt-get update -qq
	rm -rf "$dir" "$dir.deb"
	mkdir -p "$dir.deb"
	# apt warns that it downloads as root, not as _apt; that is intended here.
	(cd "$dir.deb" && apt-get download -qq containerd 2>&1 | { grep -v "unsandboxed as root" >&2 || true; })
	dpkg-deb -x "$dir".deb/*.deb "$dir"
	rm -rf "$dir.deb"
}

if [ "$mode" = run ]; then
	unpack_containerd "$cache/containerd"
fi
