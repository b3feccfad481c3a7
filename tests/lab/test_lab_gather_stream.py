"""vpnops.ikev2.ike_facts on the running lab, through real Ansible: the firewall verdicts per
address family on a real nftables host, and a log window big enough to be streamed into the
module's result (logsources.exit_json through AnsibleModule's own output hook).

The lab's /etc/nftables.conf (table inet filter, policy drop) admits ESP with
"ip protocol esp accept", which IPv4 packets match and IPv6 packets do not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories" / "lab" / "hosts.yml"
PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
ANSIBLE = str(Path(PY).parent / "ansible")

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not INVENTORY.exists(), reason="no lab (inventories/lab/hosts.yml is made by make lab-up)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root"),
]

BIG = "/tmp/vpnops-stream-test.log"


def ansible(host, module, args):
    proc = subprocess.run([ANSIBLE, host, "-m", module, "-a", args if isinstance(args, str) else json.dumps(args),
                           "-o"], cwd=REPO, capture_output=True, text=True, timeout=600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(host + " | ")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    head, sep, body = line.partition(" => ")
    if sep:
        return head.split(" | ")[1].strip(), json.loads(body)
    # shell/command in one-line output: "host | CHANGED | rc=0 | (stdout) text"
    parts = line.split(" | ", 3)
    return parts[1].strip(), {"rc": int(parts[2][3:]), "stdout": parts[3].partition("(stdout) ")[2]}


def test_gw1_firewall_per_family(lab):
    status, res = ansible("gw1", "vpnops.ikev2.ike_facts", {"gather_subset": ["firewall", "sas"],
                                                            "include_ruleset": False})
    assert status == "SUCCESS", res
    fw = res["ansible_facts"]["ikev2"]["firewall"]
    assert fw["provider"] == "nftables" and fw["family"] == "ipv4"
    assert fw["verdicts"] == {"udp500": "accept", "udp4500": "accept", "esp": "accept"}, fw["why"]
    assert fw["families"]["ipv4"]["verdicts"] == fw["verdicts"]
    assert fw["families"]["ipv6"]["verdicts"] == {"udp500": "accept", "udp4500": "accept", "esp": "drop"}
    assert fw["families"]["ipv6"]["why"]["esp"] == "inet filter/input policy drop"


def test_big_window_is_streamed_into_the_result(lab):
    # gw1's own charon log, repeated to over 8 MB in a temporary file (removed afterwards)
    script = ("set -e; : > %s; while [ $(stat -c %%s %s) -lt 9000000 ]; do cat /var/log/charon.log >> %s; done; "
              "wc -l < %s" % (BIG, BIG, BIG, BIG))
    try:
        status, res = ansible("gw1", "ansible.builtin.shell", script)
        assert status == "CHANGED", res
        nlines = int(res["stdout"].strip())
        status, res = ansible("gw1", "vpnops.ikev2.ike_facts", {
            "gather_subset": ["logs"], "log_files": [BIG], "since": "3650d", "max_lines": 10 ** 7,
            "journal": False})
        assert status == "SUCCESS", res
        logs = res["ansible_facts"]["ikev2"]["logs"]
        mine = [f for f in logs["files"] if f["path"] == BIG]
        assert mine and mine[0]["status"] == "ok" and mine[0]["window_bytes"] > 8 << 20, mine
        evs = [e for e in logs["events"] if e["raw"] and e["source"] == "charon-file"]
        assert len(evs) >= nlines * 0.99, (len(evs), nlines)
        assert all(set(e) >= {"ts", "thread", "subsystem", "ike_name", "peer", "notifies", "msg", "raw"} for e in evs[:50])
        assert [e["ts"] or "" for e in logs["events"]] == sorted(e["ts"] or "" for e in logs["events"])
    finally:
        ansible("gw1", "ansible.builtin.file", "path=%s state=absent" % BIG)
