"""playbooks/remediate.yml and vpnops.ikev2.ca_chain on the lab: cert_chain_incomplete end to end,
the approval policy, and the rollback of a fix whose verification fails.

Every test applies its scenario to the whole lab (the `lab` fixture holds the lab lock for the session)
and puts the lab back to healthy afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from _playbooks import HOSTS, audit_records, carries_traffic, diagnose, playbook, recap, remediate
from lab import runtime
from lab import scenario as lab_scenario

ANSIBLE_PLAYBOOK = os.path.join(runtime.REPO, ".venv", "bin", "ansible-playbook")
# Files a fix could touch on any host: trust stores, IKE config, NSS database, firewall, NTP.
SNAPSHOT = ("find /etc/swanctl /etc/ipsec.d /etc/ipsec.conf /etc/ipsec.secrets /var/lib/ipsec/nss /etc/nftables.conf "
            "/etc/chrony /etc/strongswan.conf -type f 2>/dev/null | sort | xargs -r sha256sum")


def keys(report):
    return set((f["category"], f["hosts"][0]) for f in report["findings"])


def snapshot(lab):
    hosts = [h for h in lab.topo.hosts if lab.topo.hosts[h].role in ("gateway", "client")]
    return dict((h, lab.sh(h, SNAPSHOT, check=False)) for h in hosts)


@pytest.fixture(scope="module")
def baseline(lab, tmp_path_factory):
    """The healthy lab's own findings (the lab has known noise, e.g. the libreswan pair)."""
    lab.apply(None)
    return keys(diagnose(str(tmp_path_factory.mktemp("baseline"))))


@pytest.fixture
def chain_incomplete(lab):
    scen = lab_scenario.load("cert_chain_incomplete", lab.topo)
    states = lab.apply(scen)
    assert not states["cl1"]["up"] and not states["cl5"]["up"]
    yield scen
    lab.apply(None)


def test_cert_chain_incomplete_is_fixed_end_to_end(lab, baseline, chain_incomplete, tmp_path):
    report_dir = str(tmp_path / "before")
    audit_log = str(tmp_path / "audit.jsonl")
    before = diagnose(report_dir)
    assert ("cert_chain_incomplete", "gw1") in keys(before), before["findings"]

    rc, out = remediate(report_dir, audit_log)
    fixed_at = time.monotonic()
    assert rc == 0, out[-6000:]
    assert re.search(r"APPLY \S+@gw1 \[cert_chain_incomplete\]", out), out[-6000:]
    assert recap(out)["gw1"]["changed"] > 0

    # gw1's trust store has the intermediate CA; its tunnels are back and carry traffic.
    assert "Intermediate CA" in lab.sh("gw1", "swanctl --list-certs --type x509ca")
    states = lab.states()
    assert states["cl1"]["up"] and states["cl5"]["up"]
    assert carries_traffic(lab, "cl1") and carries_traffic(lab, "cl5")

    # The audit log has the change with its backup and a passed verification.
    recs = [r for r in audit_records(audit_log) if r["host"] == "gw1" and not r["check_mode"]]
    assert recs and recs[-1]["role"] == "vpnops.ikev2.ca_chain" and recs[-1]["changed"] is True
    assert recs[-1]["verification"]["passed"] is True
    assert recs[-1]["backup"].startswith("/var/backups/vpnops-ikev2/ca_chain/")
    assert recs[-1]["finding"]["category"] == "cert_chain_incomplete"

    # The playbook's own new diagnosis no longer has the chain finding.
    tail = out[out.rindex("Print before and after"):]  # in the flat copy
    assert re.search(r"fixed: .*cert_chain_incomplete@gw1", tail) and "new: none" in tail, tail

    # A fresh diagnosis (logs since the fix) is clean: no chain finding, nothing beyond the healthy
    # lab's own findings.
    after = diagnose(str(tmp_path / "after"), since=int(time.monotonic() - fixed_at) + 2)
    assert not [k for k in keys(after) if k[0] == "cert_chain_incomplete"], after["findings"]
    assert keys(after) <= baseline, (keys(after) - baseline, after["findings"])

    # A second remediation changes nothing anywhere.
    rc, out = remediate(str(tmp_path / "after"), audit_log)
    assert rc == 0, out[-6000:]
    assert all(r.get("changed", 0) == 0 for r in recap(out).values()), out[-3000:]


def test_finding_outside_the_policy_changes_nothing_and_is_planned(lab, chain_incomplete, tmp_path):
    report_dir = str(tmp_path / "before")
    audit_log = str(tmp_path / "audit.jsonl")
    report = diagnose(report_dir)
    assert ("cert_chain_incomplete", "gw1") in keys(report)
    files_before = snapshot(lab)

    rc, out = remediate(report_dir, audit_log, "-e", '{"ikev2_auto_remediate": []}')
    assert rc == 0, out[-6000:]
    assert re.search(r"PLAN  \S+@gw1 \[cert_chain_incomplete\] vpnops.ikev2.ca_chain on gw1: install", out), out[-6000:]
    assert "not in the approval policy of gw1" in out
    assert "APPLY " not in out
    # The preview ran the role in check mode: it shows the file it would write, and writes nothing.
    assert "/etc/swanctl/x509ca/ikev2-vpnops-lab-intermediate-ca.pem" in out
    assert snapshot(lab) == files_before
    assert all(r["check_mode"] for r in audit_records(audit_log))
    states = lab.states()
    assert not states["cl1"]["up"] and not states["cl5"]["up"]


def test_failed_verification_rolls_back_byte_for_byte(lab, chain_incomplete, tmp_path):
    report_dir = str(tmp_path / "before")
    audit_log = str(tmp_path / "audit.jsonl")
    diagnose(report_dir)
    files_before = snapshot(lab)
    pid_before = lab.sh("gw1", "pidof charon", check=False).strip()

    rc, out = remediate(report_dir, audit_log, "-e", "__ca_chain_test_fail_verification=true")
    assert rc != 0
    assert "the trust store was restored from /var/backups/vpnops-ikev2/ca_chain/" in out, out[-6000:]
    # The canary failed, so the batches after it never ran.
    assert recap(out)["gw1"]["failed"] == 1
    assert "ikev2-vpnops-lab-intermediate-ca.pem" not in lab.sh("gw1", "ls /etc/swanctl/x509ca")
    assert snapshot(lab) == files_before
    # The daemon kept running, with the old credentials (no intermediate CA loaded).
    assert lab.sh("gw1", "pidof charon", check=False).strip() == pid_before
    assert "Intermediate CA" not in lab.sh("gw1", "swanctl --list-certs --type x509ca", check=False)
    rec = [r for r in audit_records(audit_log) if r["host"] == "gw1"][-1]
    assert rec["verification"]["passed"] is False and rec["verification"]["rolled_back"] is True


def test_ca_chain_libreswan_nss(lab, tmp_path):
    """libreswan: the intermediate goes into pluto's NSS database; check mode changes nothing, a real
    run adds it with trust CT,, and pluto keeps running, a second run changes nothing."""
    scen = lab_scenario.validate({"description": "gw3 without the intermediate CA",
                                  "faults": [{"fault": "remove_ca", "host": "gw3", "ca": "intermediate"}],
                                  "expected": [{"category": "cert_chain_incomplete", "host": "gw3"}]},
                                 "inline", lab.topo)
    play = tmp_path / "play.yml"
    play.write_text("- name: ca_chain on gw3\n  hosts: gw3\n  gather_facts: false\n  tasks:\n"
                    "    - name: Run the role\n      ansible.builtin.include_role:\n        name: vpnops.ikev2.ca_chain\n")
    audit_log = str(tmp_path / "audit.jsonl")
    nss = "certutil -L -d sql:/var/lib/ipsec/nss"
    try:
        lab.apply(scen)
        # The PKCS#12 import also brought the intermediate, untrusted: take it out too.
        lab.sh("gw3", nss + " | grep -q 'Intermediate CA' && certutil -D -d sql:/var/lib/ipsec/nss "
                      "-n 'vpnops lab Intermediate CA - vpnops lab' || true")
        before = lab.sh("gw3", nss)
        assert "Intermediate" not in before

        def run(*extra):
            proc = subprocess.run([ANSIBLE_PLAYBOOK, str(play), "-e", "ikev2_audit_log=%s" % audit_log,
                                   "-e", "ca_chain_verify_child=false"] + list(extra), cwd=runtime.REPO,
                                  capture_output=True, text=True, timeout=600, check=False)
            return proc.returncode, proc.stdout + proc.stderr

        rc, out = run("--check", "--diff")
        assert rc == 0, out[-4000:]
        assert "Would add to sql:/var/lib/ipsec/nss: ikev2-vpnops-lab-intermediate-ca" in out
        assert lab.sh("gw3", nss) == before

        rc, out = run()
        assert rc == 0, out[-4000:]
        assert re.search(r"ikev2-vpnops-lab-intermediate-ca\s+CT,,", lab.sh("gw3", nss))
        assert lab.sh("gw3", "pidof pluto", check=False).strip()

        rc, out = run()
        assert rc == 0, out[-4000:]
        assert recap(out)["gw3"]["changed"] == 0
    finally:
        lab.apply(None)


def test_fresh_diagnosis_and_approval_by_id(lab, chain_incomplete, tmp_path):
    """No saved report: remediate diagnoses afresh; with an empty policy, only the finding approved by
    id on the command line is applied (on gw1), the others stay planned."""
    audit_log = str(tmp_path / "audit.jsonl")
    cl_files = dict((h, lab.sh(h, SNAPSHOT, check=False)) for h in ("cl1", "cl5"))
    rc, out = playbook("remediate.yml", "-e", "ikev2_remediate_hosts=%s" % HOSTS, "-e", "ikev2_audit_log=%s" % audit_log,
                       "-e", '{"ikev2_auto_remediate": [], "ikev2_approve": ["IKE-CHAIN-001@gw1"]}')
    assert rc == 0, out[-6000:]
    assert "No saved diagnosis: diagnosing afresh" in out
    assert "APPLY IKE-CHAIN-001@gw1 [cert_chain_incomplete]" in out and "approved by command line" in out
    assert re.search(r"PLAN  HOST-CHAIN-001@cl1 \[cert_chain_incomplete\]", out) or "HOST-CHAIN-001@cl1" not in out
    assert "Intermediate CA" in lab.sh("gw1", "swanctl --list-certs --type x509ca")
    # The clients' files are untouched (their findings were not approved).
    assert dict((h, lab.sh(h, SNAPSHOT, check=False)) for h in ("cl1", "cl5")) == cl_files
    applied = [r for r in audit_records(audit_log) if not r["check_mode"]]
    assert [r["host"] for r in applied] == ["gw1"]


def test_approving_an_id_not_in_the_fresh_report_fails_before_any_change(lab, chain_incomplete, tmp_path):
    files_before = snapshot(lab)
    rc, out = playbook("remediate.yml", "-e", "ikev2_remediate_hosts=%s" % HOSTS,
                       "-e", "ikev2_audit_log=%s" % (tmp_path / "audit.jsonl"),
                       "-e", '{"ikev2_approve": ["HOST-FW-4500@gw9"]}')
    assert rc != 0
    assert "ikev2_approve names finding id not in the report: HOST-FW-4500@gw9" in out
    assert "Apply the approved fixes" not in out
    assert snapshot(lab) == files_before
