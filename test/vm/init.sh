#!/bin/busybox sh
# PID 1 of the test VM (generated from test/vm/init.sh): mount, load the
# modules, make the SR-IOV VFs, export the test environment, run the
# payload, print its exit code as a marker line and power off.
/bin/busybox --install -s
export PATH=/opt/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
ln -s /run /var/run
mkdir -p /var/lib/cni /run/netns /etc
hostname bondtest
echo "127.0.0.1 localhost bondtest" >/etc/hosts

finish() {
	echo "@@BONDTEST-EXIT $1"
	sync
	poweroff -f
	sleep 5
}
die() {
	echo "testbed: FATAL: $*"
	finish 99
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }
echo "testbed: kernel $(uname -r)"
t_boot=$(uptime_s)
{{range .Modules}}insmod {{.Path}}{{range .Params}} {{.}}{{end}} || die "insmod {{.Path}}{{range .Params}} {{.}}{{end}} failed"
{{end}}t_mods=$(uptime_s)
# netdev_by_mac waits for the NIC QEMU created with that MAC: names (ethN)
# depend on probe order, the MACs are ours.
netdev_by_mac() {
	for _ in $(seq 100); do
		for d in /sys/class/net/*; do
			[ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { echo "${d##*/}"; return 0; }
		done
		sleep 0.1
	done
	return 1
}
pci_of() { basename "$(readlink "/sys/class/net/$1/device")"; }
vf_netdevs() {
	for v in /sys/class/net/$1/device/virtfn*; do ls "$v/net" 2>/dev/null; done
}
make_vfs() {
	echo {{.VFs}} >"/sys/class/net/$1/device/sriov_numvfs" || die "cannot create {{.VFs}} VFs on $1"
	for _ in $(seq 200); do
		[ "$(vf_netdevs "$1" | wc -l)" -ge {{.VFs}} ] && return 0
		sleep 0.1
	done
	die "VF netdevs of $1 did not appear"
}
describe_pf() {
	line="testbed: PF $1 ($2) pci $(pci_of "$1") VFs:"
	for v in /sys/class/net/$1/device/virtfn*; do
		line="$line $(ls "$v/net" 2>/dev/null)@$(basename "$(readlink "$v")")"
	done
	echo "$line"
}

PFS=""
{{range .PFs}}pf=$(netdev_by_mac {{.MAC}}) || die "no NIC with MAC {{.MAC}} (QEMU netdev {{.ID}})"
ip link set "$pf" up || die "cannot bring $pf up"
make_vfs "$pf"
describe_pf "$pf" {{.ID}}
PFS="$PFS $pf"
{{end}}
PEER=$(netdev_by_mac {{.Peer.MAC}}) || die "no peer NIC with MAC {{.Peer.MAC}}"
echo "testbed: peer $PEER ({{.Peer.ID}}) pci $(pci_of "$PEER")"
ip link set lo up
echo "testbed: guest uptime: init at ${t_boot}s, modules loaded ${t_mods}s, VFs ready $(uptime_s)s"

export BOND_TEST_VM=1
export BOND_TEST_PFS="${PFS# }"
export BOND_TEST_PF_NETDEVS="{{.PFNetdevs}}"
export BOND_TEST_PEER="$PEER"
export BOND_TEST_CTL=/dev/ttyS1
export CNI_PATH=/opt/cni/bin
{{range .ExtraEnv}}export {{.}}
{{end}}
echo "@@BONDTEST-READY"
rc=0
{{.Payload}}
finish $rc
