"""vpnops.ikev2.proposals on libreswan (gw3, pluto 4.10), through playbooks/remediate.yml.

One application of proposal_mismatch_libreswan (gw3 accepts only aes256-sha2_256;modp2048, cl6 offers
aes256gcm16-prfsha384-ecp384) carries the whole sequence: diagnose names the fault; check mode changes
nothing; a run whose verification is forced to fail is rolled back byte-for-byte (pluto keeps the old
conn); the approved run fixes it (the golden set in ike=/esp=, IKE_AUTH completes, no more
NO_PROPOSAL_CHOSEN); a second run changes nothing. In this lab the kernel cannot install pluto's
CHILD_SA (lab notes), so the tunnel is verified up to IKE_AUTH, and the verification record says so.
"""

from __future__ import annotations

import json
import re
import time

from ansible_collections.vpnops.ikev2.plugins.module_utils.conf import libreswan_proposals as lp
from _playbooks import audit_records, diagnose, recap, remediate
from lab import scenario as lab_scenario

FILES = "find /etc/ipsec.conf /etc/ipsec.d /etc/ipsec.secrets -type f | sort | xargs -r sha256sum"
GOLDEN_IKE = "ike=aes_gcm256-sha2_384;dh20,aes256-sha2_256;dh19"
GOLDEN_ESP = "esp=aes_gcm256,aes256-sha2_256"


def test_proposal_mismatch_libreswan_fixed_through_remediate(lab, tmp_path):
    audit_log = str(tmp_path / "audit.jsonl")
    try:
        lab.apply(lab_scenario.load("proposal_mismatch_libreswan", lab.topo))
        assert "ike=aes256-sha2_256;modp2048" in lab.sh("gw3", "cat /etc/ipsec.d/rw.conf")
        before = diagnose(str(tmp_path / "before"))
        ids = [f["rule"] + "@" + f["hosts"][0] for f in before["findings"]
               if f["category"] == "proposal_mismatch" and "gw3" in f["hosts"]]
        assert ids, before["findings"]
        approve = ["-e", json.dumps({"ikev2_auto_remediate": [], "ikev2_approve": ids[:1]})]
        files = lab.sh("gw3", FILES)
        pluto_pid = lab.sh("gw3", "cat /run/pluto/pluto.pid").strip()

        # Check mode: the plan and the diff of the ike=/esp= lines, nothing written, pluto untouched.
        rc, out = remediate(str(tmp_path / "before"), audit_log, "--check", "--diff", *approve)
        assert rc == 0, out[-6000:]
        assert "APPLY %s [proposal_mismatch]" % ids[0] in out, out[-6000:]
        assert "-\tike=aes256-sha2_256;modp2048" in out and "+\t" + GOLDEN_IKE in out, out[-6000:]
        assert lab.sh("gw3", FILES) == files
        assert all(r["check_mode"] for r in audit_records(audit_log))

        # A failed verification: rc != 0, every file byte-for-byte as before, pluto still running the old conn.
        rc, out = remediate(str(tmp_path / "before"), audit_log, "-e", "__proposals_test_fail_verification=true", *approve)
        assert rc != 0
        assert "restored from /var/backups/vpnops-ikev2/proposals/" in out, out[-6000:]
        assert lab.sh("gw3", FILES) == files
        status = lab.sh("gw3", "ipsec whack --status")
        assert lab.sh("gw3", "cat /run/pluto/pluto.pid").strip() == pluto_pid
        assert '"rw-cert":   IKE algorithms: AES_CBC_256-HMAC_SHA2_256-MODP2048' in status, status[-3000:]
        rec = [r for r in audit_records(audit_log) if r["host"] == "gw3" and not r["check_mode"]][-1]
        assert rec["verification"]["passed"] is False and rec["verification"]["rolled_back"] is True

        # The approved run: only ike=/esp= of rw-cert change; IKE_AUTH completes, no NO_PROPOSAL_CHOSEN since.
        log_size = int(lab.sh("gw3", "stat -c %s /var/log/pluto.log"))
        rc, out = remediate(str(tmp_path / "before"), audit_log, *approve)
        fixed_at = time.monotonic()
        assert rc == 0, out[-6000:]
        assert recap(out)["gw3"]["changed"] > 0
        conf = lab.sh("gw3", "cat /etc/ipsec.d/rw.conf")
        assert "\t%s\n" % GOLDEN_IKE in conf and "\t%s\n" % GOLDEN_ESP in conf
        backup = [r for r in audit_records(audit_log) if r["host"] == "gw3" and not r["check_mode"]][-1]["backup"]
        diff = lab.sh("gw3", "diff %s/etc/ipsec.d/rw.conf /etc/ipsec.d/rw.conf" % backup, check=False)
        assert sorted(line[2:].strip()[:4] for line in diff.splitlines() if line[:1] in "<>") == ["esp=", "esp=", "ike=", "ike="], diff
        log = lab.sh("gw3", "tail -c +%d /var/log/pluto.log" % (log_size + 1))
        # No more NO_PROPOSAL_CHOSEN for IKE_SA_INIT (the fault) or IKE_AUTH. pluto may still refuse cl6's later
        # CREATE_CHILD_SA (after this kernel failed the first CHILD_SA): that is recorded apart.
        assert lp.no_proposal_chosen(log)["ike"] == [], log[-3000:]
        assert not re.search(r"responding to IKE_(?:SA_INIT|AUTH) .*NO_PROPOSAL_CHOSEN", log), log[-3000:]
        assert re.search(r'"rw-cert"\[\d+\] \S+ #\d+: responder established IKE SA', log), log[-3000:]
        assert "ESTABLISHED" in lab.sh("cl6", "swanctl --list-sas --ike gw3")
        rec = [r for r in audit_records(audit_log) if r["host"] == "gw3" and not r["check_mode"]][-1]
        assert rec["role"] == "vpnops.ikev2.proposals" and rec["changed"] is True
        ver = rec["verification"]
        assert ver["passed"] is True and ver["daemon"] == "libreswan" and ver["no_proposal_chosen_since_reload"] == []
        assert ver["conns"][0]["loaded_golden"] is True and ver["conns"][0]["established_ike_sas"] >= 1
        assert [(c["host"], c["ike_established"]) for c in ver["connections"]] == [("cl6", True)]
        # This kernel cannot install pluto's CHILD_SA: recorded, not hidden.
        assert "errno 38" in (ver["child_not_installable"] or "")
        # A fresh diagnosis no longer sees the IKE proposals refused. (pluto's refusal of cl6's later
        # CREATE_CHILD_SA - ESP, "1:ESP:" - may still be reported as proposal_mismatch; see the role's README.)
        after = diagnose(str(tmp_path / "after"), since=int(time.monotonic() - fixed_at) + 2)
        ike_refused = [e["line"] for f in after["findings"] if f["category"] == "proposal_mismatch"
                       for e in f.get("evidence", []) if re.search(r"IKE_SA_INIT|remote proposals 1:IKE:", e.get("line", ""))]
        assert ike_refused == [], after["findings"]
        # A second run, even from the stale report that still names the finding, re-checks gw3, finds no
        # drift and changes nothing anywhere.
        conf = lab.sh("gw3", FILES)
        rc, out = remediate(str(tmp_path / "before"), audit_log, *approve)
        assert rc == 0, out[-6000:]
        assert "APPLY %s [proposal_mismatch]" % ids[0] in out
        assert all(r.get("changed", 0) == 0 for r in recap(out).values()), out[-3000:]
        assert lab.sh("gw3", FILES) == conf
    finally:
        lab.apply(None)
