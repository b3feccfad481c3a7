"""vpnops.ikev2.resources on the lab, through playbooks/remediate.yml.

One application of resource_limit (gw1's charon.ikesa_limit is 1, so only one of its three clients gets
in) carries the whole sequence: diagnose names the fault; check mode changes nothing; a run whose
verification is forced to fail is rolled back byte-for-byte (charon restarted with the old limit); the
approved run raises the limit, restarts charon, and all three clients come up and carry traffic; a
second run (from the same, now stale, report) changes nothing.
"""

from __future__ import annotations

import json
import re
import time

from _playbooks import audit_records, carries_traffic, diagnose, recap, remediate
from lab import scenario as lab_scenario

FILES = "find /etc/strongswan.conf /etc/strongswan.d /etc/swanctl -type f | sort | xargs -r sha256sum"
LIMIT_FILE = "/etc/strongswan.d/charon-lab.conf"
CLIENTS = ("cl1", "cl2", "cl5")


def test_resource_limit_fixed_through_remediate(lab, tmp_path):
    audit_log = str(tmp_path / "audit.jsonl")
    try:
        states = lab.apply(lab_scenario.load("resource_limit", lab.topo))
        assert sum(states[c]["up"] for c in CLIENTS) == 1, dict((c, states[c]["up"]) for c in CLIENTS)
        before = diagnose(str(tmp_path / "before"))
        ids = [f["rule"] + "@" + f["hosts"][0] for f in before["findings"]
               if f["category"] == "resource_limit" and f["hosts"][0] == "gw1"]
        assert ids, before["findings"]
        finding = [f for f in before["findings"] if f["category"] == "resource_limit" and f["hosts"][0] == "gw1"][0]
        assert finding["remediation"]["role"] == "resources" and finding["remediation"]["auto_remediable"] is True
        approve = ["-e", json.dumps({"ikev2_auto_remediate": [], "ikev2_approve": ids[:1]})]
        files = lab.sh("gw1", FILES)

        # Check mode: the plan and the diff of the limit line, nothing written, charon untouched.
        pid = lab.sh("gw1", "pidof charon").strip()
        rc, out = remediate(str(tmp_path / "before"), audit_log, "--check", "--diff", *approve)
        assert rc == 0, out[-6000:]
        assert "APPLY %s [resource_limit] vpnops.ikev2.resources on gw1: raise the charon limits" % ids[0] in out, out[-6000:]
        assert "-\tikesa_limit = 1" in out and "+\tikesa_limit = 0" in out, out[-6000:]
        assert lab.sh("gw1", FILES) == files and lab.sh("gw1", "pidof charon").strip() == pid
        assert all(r["check_mode"] for r in audit_records(audit_log))

        # A failed verification: every file byte-for-byte as before, charon running with the old limit.
        rc, out = remediate(str(tmp_path / "before"), audit_log, "-e", "__resources_test_fail_verification=true", *approve)
        assert rc != 0
        assert "restored from /var/backups/vpnops-ikev2/resources/" in out, out[-6000:]
        assert lab.sh("gw1", FILES) == files
        assert lab.sh("gw1", "pidof charon").strip()
        rec = [r for r in audit_records(audit_log) if r["host"] == "gw1" and not r["check_mode"]][-1]
        assert rec["verification"]["passed"] is False and rec["verification"]["rolled_back"] is True
        # charon was restarted with the old file: the old limit holds again (one IKE_SA, whoever asks).
        for client in CLIENTS:
            lab.sh(client, "swanctl --initiate --ike gw1 --child gw1-net --timeout 8", check=False, timeout=30)
        assert re.search(r"IKE_SAs: 1 total", lab.sh("gw1", "swanctl --stats")), lab.sh("gw1", "swanctl --stats")

        # The approved run: only the limit line changes; charon restarted; every client up, carrying traffic.
        rc, out = remediate(str(tmp_path / "before"), audit_log, *approve)
        assert rc == 0, out[-6000:]
        assert recap(out)["gw1"]["changed"] > 0
        assert re.search(r"^\tikesa_limit = 0$", lab.sh("gw1", "cat " + LIMIT_FILE), re.M)
        rec = [r for r in audit_records(audit_log) if r["host"] == "gw1" and not r["check_mode"]][-1]
        assert rec["role"] == "vpnops.ikev2.resources" and rec["changed"] is True
        assert rec["verification"]["passed"] is True and rec["verification"]["limit_hits_since_restart"] == []
        assert rec["verification"]["ike_sas"] >= 3
        assert sorted(c["host"] for c in rec["verification"]["connections"] if c["child_installed"]) == sorted(CLIENTS)
        diff = lab.sh("gw1", "diff %s%s %s" % (rec["backup"], LIMIT_FILE, LIMIT_FILE), check=False)
        assert [line for line in diff.splitlines() if line[:1] in "<>"] == ["< \tikesa_limit = 1", "> \tikesa_limit = 0"]
        states = lab.states()
        assert all(states[c]["up"] for c in CLIENTS), dict((c, states[c]["up"]) for c in CLIENTS)
        assert all(carries_traffic(lab, c) for c in CLIENTS)
        fixed_at = time.monotonic()
        tail = out[out.rindex("Print before and after"):]
        # A fresh diagnosis (logs since the fix) has no resource limit on gw1.
        after = diagnose(str(tmp_path / "after"), since=int(time.monotonic() - fixed_at) + 2)
        assert not [f for f in after["findings"] if f["category"] == "resource_limit" and f["hosts"][0] == "gw1"], \
            (after["findings"], tail)

        # A second run from the same (now stale) report re-checks gw1 and changes nothing.
        files = lab.sh("gw1", FILES)
        rc, out = remediate(str(tmp_path / "before"), audit_log, *approve)
        assert rc == 0, out[-6000:]
        assert all(r.get("changed", 0) == 0 for r in recap(out).values()), out[-3000:]
        assert "gw1: nothing to raise" in out
        assert lab.sh("gw1", FILES) == files
    finally:
        lab.apply(None)
