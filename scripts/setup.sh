#!/usr/bin/env bash
# Installs what the project needs on a Debian 12 machine, run as root from the repo root.
# Idempotent: every step checks first and does nothing when its work is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DEB_PACKAGES=(
  # strongSwan: charon with kernel-libipsec (ESP in userspace), swanctl, pki, curl/revocation.
  strongswan-charon strongswan-swanctl strongswan-pki libcharon-extra-plugins
  libstrongswan-extra-plugins libstrongswan-standard-plugins
  # libreswan's runtime libraries (its own package conflicts with charon; unpacked below).
  libnss3-tools libnss3 libnspr4 libunbound8 libldns3 libevent-core-2.1-7 libevent-pthreads-2.1-7
  libcap-ng0 libaudit1 libcurl3-nss dns-root-data
  # per-host services and tools of the lab
  chrony nftables iptables openssh-server openssh-client iproute2 procps psmisc
  util-linux busybox curl iputils-ping conntrack
  # build and run the project
  python3-venv python3-dev gcc make libc6-dev git shellcheck locales
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The lab's services are started by the lab itself, inside its hosts; the packages' own
# instances on this machine stay stopped where a service manager started them.
for svc in strongswan-starter strongswan chrony ssh; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

# libreswan, unpacked beside charon (its package would remove charon).
LS_DIR=lab/.cache/libreswan
if [ ! -x "$LS_DIR/usr/libexec/ipsec/pluto" ]; then
  echo "setup: fetching and unpacking libreswan into $LS_DIR"
  tmp=$(mktemp -d) && chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -qq libreswan >/dev/null)
  mkdir -p "$LS_DIR"
  dpkg -x "$tmp"/libreswan_*.deb "$LS_DIR"
  rm -rf "$tmp"
fi

# Real clients that only the capture scripts run (tests/fixtures/journald, tests/fixtures/timeclients):
# charon-systemd (logs to journald with its own fields), systemd-timesyncd and ntpsec (ntpd, ntpq).
# Unpacked, never installed: timesyncd and ntpsec conflict with chrony, and an NTP client may only
# run inside a lab host, whose clock is emulated (lab/clock/README.md).
EXTRA_DIR=lab/.cache/timeclients
if [ ! -x "$EXTRA_DIR/usr/sbin/ntpd" ] || [ ! -x "$EXTRA_DIR/lib/systemd/systemd-timesyncd" ] || [ ! -x "$EXTRA_DIR/usr/sbin/charon-systemd" ] \
   || [ ! -e "$EXTRA_DIR/usr/lib/python3/dist-packages/ntp/libntpc.so" ]; then
  echo "setup: fetching and unpacking charon-systemd, systemd-timesyncd and ntpsec into $EXTRA_DIR"
  tmp=$(mktemp -d) && chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -qq charon-systemd systemd-timesyncd ntpsec python3-ntp >/dev/null)
  mkdir -p "$EXTRA_DIR"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$EXTRA_DIR"; done
  # ntpq (Python) looks for libntpc beside its module first
  ln -sf ../../../x86_64-linux-gnu/ntp/libntpc.so.1 "$EXTRA_DIR/usr/lib/python3/dist-packages/ntp/libntpc.so"
  rm -rf "$tmp"
fi

# The lab's clock shim and host init.
make -s -C lab/clock

# Python virtualenv with pinned dependencies.
if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt .venv/.requirements.txt; then
  echo "setup: installing Python dependencies into .venv"
  [ -x .venv/bin/python ] || /usr/bin/python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  cp requirements.txt .venv/.requirements.txt
fi

# The collection is importable from the virtualenv (ikev2-triage, tests) straight from the repo.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ROOT/collections" > "$site/vpnops-collections.pth"
echo "$ROOT" > "$site/vpnops-repo.pth"
cat > .venv/bin/ikev2-triage <<LAUNCH
#!$ROOT/.venv/bin/python
import sys
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.cli import main
sys.exit(main())
LAUNCH
chmod +x .venv/bin/ikev2-triage
