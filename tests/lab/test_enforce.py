"""playbooks/enforce.yml on the lab: the golden configuration of inventories/lab/group_vars/all/golden.yml
(proposals, CA chain presence, firewall openings per group, NTP servers, and the connection settings
when vpnops.ikev2.connections is installed).

One lab pass: a healthy lab has no drift; then one hand-edited drift per aspect (an ESP proposal on gw1,
the NTP server line removed on cl1, the ESP opening removed on gw2, the intermediate CA removed on cl3,
a DPD delay on cl4 when the connections role is there) is reported by check mode with its diff while
no file changes, apply mode converges it canary first, a second apply changes nothing, and the tunnels
are up and carry traffic. Every test puts the lab back to healthy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
import time

import pytest
import yaml

from _playbooks import carries_traffic, recap
from lab import runtime

ANSIBLE_PLAYBOOK = os.path.join(runtime.REPO, ".venv", "bin", "ansible-playbook")
ROLES = os.path.join(runtime.REPO, "collections", "ansible_collections", "vpnops", "ikev2", "roles")
HAS_CONNECTIONS = os.path.isfile(os.path.join(ROLES, "connections", "tasks", "main.yml"))
ENDPOINTS = ["gw1", "gw2", "gw3", "cl1", "cl2", "cl3", "cl4", "cl5", "cl6"]
ASPECTS = ["proposals", "CA chain", "firewall", "NTP", "connections"]
# Every file the roles could touch on a host: IKE config and trust stores, firewall, NTP.
SNAPSHOT = ("find /etc/swanctl /etc/ipsec.d /etc/ipsec.conf /var/lib/ipsec/nss /etc/nftables.conf /etc/chrony "
            "-type f 2>/dev/null | sort | xargs -r sha256sum")
INJECT = {
    "gw1": "sed -i 's/esp_proposals = .*/esp_proposals = aes256-sha512/' /etc/swanctl/swanctl.conf && "
           "swanctl --load-conns >/dev/null",
    "cl1": "sed -i '/^server infra.lab/d' /etc/chrony/chrony.conf",
    "gw2": "sed -i '/ip protocol esp accept/d' /etc/nftables.conf && nft -f /etc/nftables.conf",
    "cl3": "rm /etc/swanctl/x509ca/intermediate.pem && swanctl --load-creds --clear --noprompt >/dev/null",
}
if HAS_CONNECTIONS:
    INJECT["cl4"] = "sed -i 's/dpd_delay = 30s/dpd_delay = 60s/' /etc/swanctl/swanctl.conf && swanctl --load-conns >/dev/null"
# host -> (aspect, text of its status line, lines its diff must have)
EXPECTED = {
    "gw1": ("proposals", "drift: aes256-sha512 -> aes256gcm16-prfsha384-ecp384,aes256-sha256-ecp256 / aes256gcm16,aes256-sha256",
            ["/etc/swanctl/swanctl.conf: - esp_proposals = aes256-sha512",
             "/etc/swanctl/swanctl.conf: + esp_proposals = aes256gcm16,aes256-sha256"]),
    "cl1": ("NTP", "drift: server lines differ from ikev2_golden.ntp_servers (infra.lab); restart chrony",
            ["/etc/chrony/chrony.conf (content): + server infra.lab iburst minpoll 4 maxpoll 6"]),
    "gw2": ("firewall", "drift: esp not admitted (esp: inet filter/input policy drop); nftables opens udp500, udp4500, esp",
            ['/etc/nftables.conf (content): + meta l4proto esp accept comment "vpnops.ikev2.firewall esp"']),
    "cl3": ("CA chain", "drift: missing from the trust store: C=CH,O=vpnops lab,OU=IKE,CN=vpnops lab Intermediate CA",
            ["trust store: + C=CH,O=vpnops lab,OU=IKE,CN=vpnops lab Intermediate CA"]),
    "cl4": ("connections", "drift: ", []),
}


def enforce(*args, audit_log):
    """Runs enforce.yml on the whole inventory; returns (rc, output, seconds)."""
    start = time.monotonic()
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "playbooks/enforce.yml", "-e", "ikev2_audit_log=%s" % audit_log] + list(args),
                          cwd=runtime.REPO, capture_output=True, text=True, timeout=900, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    seconds = time.monotonic() - start
    print("enforce.yml %s: %.0f s" % (" ".join(args) or "(apply)", seconds))
    return proc.returncode, proc.stdout + proc.stderr, seconds


def reports(out):
    """host -> the lines of its drift report, in the order the batches printed them."""
    found = {}
    for part in out.split("TASK [Drift report]")[1:]:
        part = part.split("\nPLAY ", 1)[0].split("\nTASK ", 1)[0]
        for m in re.finditer(r"^ok: \[(\S+)\] => \n((?:    .*\n?)+)", part, re.M):
            found[m.group(1)] = yaml.safe_load(textwrap.dedent(m.group(2)))["msg"]
    return found


def aspects(lines):
    """aspect -> (status line without the aspect name, [diff lines])."""
    out = {}
    current = None
    for line in lines:
        if line.startswith("    ") and current:
            out[current][1].append(line.strip())
            continue
        name, _, rest = line.partition(": ")
        if name in ASPECTS:
            current = name
            out[name] = (rest, [])
    return out


def snapshot(lab):
    return dict((h, lab.sh(h, SNAPSHOT, check=False)) for h in ENDPOINTS)


def test_enforce_healthy_lab_has_no_drift(lab, tmp_path):
    """Check mode on the healthy lab: every IKE host on golden or not applicable, nothing changed;
    the infra and NAT hosts are not IKE endpoints."""
    lab.apply(None)
    before = snapshot(lab)
    rc, out, _ = enforce("--check", "--diff", audit_log=str(tmp_path / "audit.jsonl"))
    assert rc == 0, out[-6000:]
    found = reports(out)
    assert sorted(found) == sorted(ENDPOINTS), out[-6000:]
    for host, lines in found.items():
        assert lines[-1] == "check mode: nothing was changed; no drift", (host, lines)
        status = aspects(lines)
        assert list(status) == ASPECTS, (host, lines)
        for aspect, (text, diff) in status.items():
            assert text.split(":")[0] in ("on golden", "not applicable", "not declared"), (host, aspect, text)
            assert diff == [], (host, aspect, diff)
    assert aspects(found["cl1"])["firewall"][0].startswith("not applicable: ikev2_golden.firewall_openings asks no inbound "
                                                           "opening of clients")
    assert aspects(found["gw1"])["firewall"][0].startswith("on golden: udp500, udp4500, esp admitted")
    assert aspects(found["gw1"])["NTP"][0].startswith("on golden: servers infra.lab, chrony running")
    assert aspects(found["gw1"])["connections"][0].split(":")[0] == ("on golden" if HAS_CONNECTIONS else "not checked")
    assert re.search(r"ok: \[infra\] => \n\s+msg: '?not an IKE endpoint", out), out[-6000:]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap(out).values()), out[-3000:]
    assert snapshot(lab) == before


def test_enforce_reports_and_converges_one_drift_per_aspect(lab, tmp_path):
    audit_log = str(tmp_path / "audit.jsonl")
    try:
        baseline = lab.apply(None)
        up_before = sorted(c for c, s in baseline.items() if s["up"])
        for host, script in INJECT.items():
            lab.sh(host, script)
        edited = snapshot(lab)

        # Check mode: each drift with its diff on its host, nothing else drifts, no file changes.
        rc, out, _ = enforce("--check", "--diff", audit_log=audit_log)
        assert rc == 0, out[-6000:]
        found = reports(out)
        assert sorted(found) == sorted(ENDPOINTS), out[-6000:]
        for host in ENDPOINTS:
            status = aspects(found[host])
            drifting = dict((a, v) for a, v in status.items() if v[0].startswith("drift"))
            if host not in INJECT:
                assert drifting == {}, (host, found[host])
                continue
            aspect, text, diff = EXPECTED[host]
            assert list(drifting) == [aspect], (host, found[host])
            assert drifting[aspect][0].startswith(text), (host, found[host])
            assert drifting[aspect][1], ("no diff", host, found[host])
            for line in diff:
                assert line in drifting[aspect][1], (host, line, found[host])
            assert found[host][-1] == "check mode: nothing was changed; 1 aspect(s) off the golden configuration"
        assert snapshot(lab) == edited, "check mode changed a file"
        assert all(r["changed"] == 0 for h, r in recap(out).items() if h not in INJECT), out[-3000:]

        # Apply: canary first (a batch of one), then batches; every injected aspect converged.
        rc, out, seconds = enforce(audit_log=audit_log)
        assert rc == 0, out[-8000:]
        first_batch = out.split("TASK [Proposals]", 1)[1].split("\n", 1)[1].split("\nTASK ", 1)[0]
        assert re.fullmatch(r"\s*included: vpnops\.ikev2\.proposals for \w+\s*", first_batch), first_batch
        found = reports(out)
        for host in INJECT:
            aspect = EXPECTED[host][0]
            assert aspects(found[host])[aspect][0].startswith("converged"), (host, found[host])
        assert "esp_proposals = aes256gcm16,aes256-sha256" in lab.sh("gw1", "grep esp_proposals /etc/swanctl/swanctl.conf")
        assert "server infra.lab iburst minpoll 4 maxpoll 6" in lab.sh("cl1", "cat /etc/chrony/chrony.conf")
        assert "esp accept" in lab.sh("gw2", "nft list chain inet filter input")
        assert "Intermediate" in lab.sh("cl3", "for f in /etc/swanctl/x509ca/*.pem; do openssl x509 -noout -subject -in $f; done")
        if HAS_CONNECTIONS:
            assert "dpd_delay = 30s" in lab.sh("cl4", "cat /etc/swanctl/swanctl.conf")
        records = [json.loads(line) for line in open(audit_log, encoding="utf-8") if line.strip()]
        applied = set((r["host"], r["role"]) for r in records if not r.get("check_mode"))
        assert {("gw1", "vpnops.ikev2.proposals"), ("cl1", "vpnops.ikev2.time_sync"), ("gw2", "vpnops.ikev2.firewall"),
                ("cl3", "vpnops.ikev2.ca_chain")} <= applied, applied

        # A second apply changes nothing.
        rc, out, _ = enforce(audit_log=audit_log)
        assert rc == 0, out[-6000:]
        assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap(out).values()), out[-3000:]
        assert all(lines[-1] == "on the golden configuration: nothing to change" for lines in reports(out).values())

        # The tunnels are up and carry traffic.
        states = lab.states()
        assert sorted(c for c, s in states.items() if s["up"]) == up_before, states
        for client in ("cl1", "cl2", "cl3", "cl5") + (("cl4",) if HAS_CONNECTIONS else ()):
            assert carries_traffic(lab, client), client
    finally:
        lab.apply(None)


@pytest.mark.parametrize("golden, message", [
    ({"ntp_server": ["infra.lab"]}, "ikev2_golden: unknown key 'ntp_server' (did you mean 'ntp_servers'?)"),
    ({"firewall_openings": {"gateways": ["udp500", "udp4501"]}},
     "ikev2_golden: firewall_openings.gateways: unknown opening 'udp4501'; the openings are: udp500, udp4500, esp"),
    ({"firewall_openings": {"gatways": ["udp500"]}},
     "firewall_openings names the group 'gatways', which is not in the inventory (did you mean 'gateways'?)"),
    ({"ike_proposals": ["aes256gcm16-prfsha384-ecp385"], "esp_proposals": ["aes256gcm16"]},
     "ikev2_golden: ike_proposals 'aes256gcm16-prfsha384-ecp385': unknown algorithm 'ecp385'"),
    ({"ntp_servers": ["infra.lab iburst"]},
     "ikev2_golden: ntp_servers: 'infra.lab iburst' has a space (server options go in ikev2_golden.ntp_server_options)"),
])
def test_enforce_stops_on_a_bad_golden_configuration_before_any_host(lab, tmp_path, golden, message):
    rc, out, _ = enforce("-e", json.dumps({"ikev2_golden": golden}), audit_log=str(tmp_path / "audit.jsonl"))
    flat = " ".join(out.split())
    assert rc != 0 and message in flat, out[-3000:]
    assert "Gather every host" not in out and "Traceback" not in out
