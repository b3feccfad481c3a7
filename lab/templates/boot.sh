#!/bin/sh
# PID 1's first minutes on a lab host: runs inside the host's fresh network, mount, PID and UTS
# namespaces, builds the host's root (an overlay of the machine's / with the host's own upper
# layer), then becomes the host's init. Called by lab/runtime.py as: boot.sh HOSTDIR NAME
set -eu
D=$1
NAME=$2
R=$D/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$D/upper,workdir=$D/work" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
# A private /dev/shm: what the host leaves in shared memory goes with the host.
mount -t tmpfs -o mode=1777,size=64m tmpfs "$R/dev/shm"
mount -t tmpfs -o mode=755,size=64m tmpfs "$R/run"
mount -t tmpfs -o mode=1777,size=256m tmpfs "$R/tmp"
[ -d "$D/libreswan" ] && mount --bind "$D/libreswan/usr/libexec/ipsec" "$R/usr/libexec/ipsec"
ln -s /run "$R/run/../var/run" 2>/dev/null || true
mkdir -p "$R/run/sshd" "$R/run/pluto" "$R/run/lock"
mkdir -p -m 0750 "$R/run/chrony"
hostname "$NAME"
cd "$R"
# Nothing on the host may set the machine's real clock: CAP_SYS_TIME leaves the bounding set here.
exec chroot "$R" /usr/bin/setpriv --bounding-set=-sys_time --inh-caps=-sys_time -- /usr/local/lib/labclock/labinit
