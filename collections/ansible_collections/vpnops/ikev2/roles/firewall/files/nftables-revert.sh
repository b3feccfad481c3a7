#!/bin/sh
# vpnops.ikev2.firewall: the host's own safety net for a ruleset change.
# Usage: nftables-revert.sh MARKER BACKUP CONF DELAY
# Sleeps DELAY seconds; if MARKER still exists (the controller did not confirm a fresh SSH login),
# restores BACKUP over CONF, loads it and records the revert in MARKER.reverted.
marker=$1 backup=$2 conf=$3 delay=$4
sleep "$delay"
[ -e "$marker" ] || exit 0
cp -p "$backup" "$conf" && /usr/sbin/nft -f "$conf"
rc=$?
echo "reverted $conf from $backup at $(date -u +%FT%TZ), nft exit $rc" > "$marker.reverted"
rm -f "$marker"
exit $rc
