#!/usr/bin/env bash
# Idempotent host set-up for the VM test bed on Debian 12 (run as root).
# Installs QEMU (bookworm-backports: bookworm's 7.2 has no igb device),
# busybox-static and cpio, then unpacks the current Debian kernel package
# into the cache folder given as $1 (default: .cache/vm). A second run
# downloads nothing when everything is already present.
set -euo pipefail

# add_backports adds bookworm-backports with the same mirror and key as the
# machine's own bookworm entry.
add_backports() {
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	local uri key
	uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	key=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	: "${uri:=http://deb.debian.org/debian}"
	: "${key:=/usr/share/keyrings/debian-archive-keyring.gpg}"
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$uri" "$key" \
		>/etc/apt/sources.list.d/bookworm-backports.sources
}

if [ "${1:-}" = --backports-only ]; then
	add_backports
	apt-get update -qq
	exit 0
fi

cache=${1:-.cache/vm}
mkdir -p "$cache"

need_pkgs=()
qemu_has_igb() {
	command -v qemu-system-x86_64 >/dev/null &&
		qemu-system-x86_64 -device help 2>/dev/null | grep -q '"igb"'
}
qemu_has_igb || need_pkgs+=(qemu)
command -v busybox >/dev/null && busybox --list 2>/dev/null | grep -qx ip || need_pkgs+=(busybox-static)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need_pkgs+=(busybox-static)
command -v cpio >/dev/null || need_pkgs+=(cpio)

if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: need root to install ${need_pkgs[*]}" >&2
		exit 1
	fi
	add_backports
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-t bookworm-backports qemu-system-x86 busybox-static cpio file >/dev/null
	qemu_has_igb || { echo "setup: installed QEMU has no igb device" >&2; exit 1; }
fi

# The kernel: resolve the current ABI package behind linux-image-amd64
# (Debian moves it with every security update) unless one is unpacked.
if ! ls "$cache"/kernel/boot/vmlinuz-* >/dev/null 2>&1; then
	[ -n "$(find /var/lib/apt/lists -name '*_dists_bookworm_*Packages*' -print -quit 2>/dev/null)" ] || apt-get update -qq
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	[ -n "$pkg" ] || { echo "setup: cannot resolve linux-image-amd64" >&2; exit 1; }
	rm -rf "$cache/kernel" "$cache/deb"
	mkdir -p "$cache/deb"
	(cd "$cache/deb" && apt-get download -qq "$pkg")
	dpkg-deb -x "$cache"/deb/*.deb "$cache/kernel"
	rm -rf "$cache/deb"
fi
echo "setup: ready (QEMU $(qemu-system-x86_64 --version | awk 'NR==1{print $4}'), kernel $(basename "$cache"/kernel/lib/modules/*))"
