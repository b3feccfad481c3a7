"""vpnops.ikev2.connections on the lab: ts_mismatch fixed end to end through playbooks/remediate.yml (approval by
id), an unloaded connection loaded, the golden drift report on the healthy lab, check mode with diff, and a
failed verification rolled back byte for byte.

Every test puts the lab back to healthy afterwards (the `lab` fixture holds the lab lock for the session).
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import sys

import pytest

from _playbooks import HOSTS, audit_records, carries_traffic, playbook, recap
from _role_runner import RoleRunner
from lab import runtime
from lab import scenario as lab_scenario

ANSIBLE_PLAYBOOK = os.path.join(runtime.REPO, ".venv", "bin", "ansible-playbook")
CONF = "/etc/swanctl/swanctl.conf"
PLAYBOOK = """
- name: Run vpnops.ikev2.connections
  hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - name: The role
      ansible.builtin.include_role:
        name: vpnops.ikev2.connections
    - name: Show the drift
      ansible.builtin.debug:
        msg: "DRIFT {{ inventory_hostname }} {{ __connections_drift | to_json }}"
"""


def sha(lab, host, path=CONF):
    return lab.sh(host, "sha256sum %s; stat -c '%%a %%U %%G' %s" % (path, path))


@pytest.fixture
def runner(tmp_path):
    return RoleRunner(tmp_path, "connections", PLAYBOOK, "cl3")


def test_ts_mismatch_is_fixed_end_to_end_through_remediate(lab, healthy_after, runner, tmp_path):
    if os.path.join(runtime.REPO, "collections") not in sys.path:
        sys.path.insert(0, os.path.join(runtime.REPO, "collections"))
    from ansible_collections.vpnops.ikev2.plugins.plugin_utils.approval import finding_ids

    lab.apply(lab_scenario.load("ts_mismatch", lab.topo))
    assert not lab.states()["cl3"]["up"]
    broken = sha(lab, "cl3")

    # Diagnose names it.
    report_dir = str(tmp_path / "before")
    rc, out = playbook("diagnose.yml", "-e", "ikev2_diagnose_hosts=%s" % HOSTS, "-e", "ikev2_report_dir=%s" % report_dir)
    assert rc == 0, out[-4000:]
    with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    ids = [i for i, f in zip(finding_ids(report["findings"]), report["findings"])
           if f["category"] == "ts_mismatch" and f["hosts"][0] == "cl3"]
    assert ids, report["findings"]

    # Check mode shows the diff and changes nothing.
    res = runner(check=True, connections_action="ts_mismatch")
    assert res["rc"] == 0 and res["changed"] > 0, res["out"][-4000:]
    assert "-\t\t\t\tremote_ts = 10.99.0.0/24" in res["out"] and "+\t\t\t\tremote_ts = 10.2.0.0/24" in res["out"]
    assert "gw2/gw2-net: remote_ts have 10.99.0.0/24, golden 10.2.0.0/24" in res["out"]
    assert sha(lab, "cl3") == broken and not lab.states()["cl3"]["up"]

    # Outside the policy it is only planned; approved by id it is applied.
    audit_log = str(tmp_path / "audit.jsonl")
    rc, out = playbook("remediate.yml", "-e", "ikev2_remediate_hosts=%s" % HOSTS, "-e", "ikev2_report_dir=%s" % report_dir,
                       "-e", "ikev2_audit_log=%s" % audit_log, "-e", json.dumps({"ikev2_approve": ids[:1]}))
    assert rc == 0, out[-6000:]
    assert re.search(r"APPLY %s \[ts_mismatch\] vpnops.ikev2.connections on cl3" % re.escape(ids[0]), out), out[-6000:]
    assert recap(out)["cl3"]["changed"] > 0

    assert "remote_ts = 10.2.0.0/24" in lab.sh("cl3", "cat %s" % CONF)
    assert lab.states()["cl3"]["up"] and carries_traffic(lab, "cl3")
    recs = [r for r in audit_records(audit_log) if r["host"] == "cl3" and not r["check_mode"]]
    assert recs and recs[-1]["role"] == "vpnops.ikev2.connections" and recs[-1]["changed"] is True, recs
    assert recs[-1]["verification"]["passed"] is True
    assert recs[-1]["verification"]["connections"][0]["traffic"] is True
    assert recs[-1]["backup"].startswith("/var/backups/vpnops-ikev2/connections/")
    assert lab.sh("cl3", "sha256sum < %s" % recs[-1]["backup"]).split()[0] == broken.split()[0]
    assert recs[-1]["finding"]["category"] == "ts_mismatch"
    assert any("remote_ts = 10.2.0.0/24" in line for c in recs[-1]["diff"]["changes"] for line in c)
    tail = out[out.rindex("Print before and after"):]
    assert re.search(r"fixed: .*ts_mismatch@cl3", tail), tail

    # A second remediation of the same (now stale) report changes nothing: the role re-checks first.
    fixed = sha(lab, "cl3")
    rc, out = playbook("remediate.yml", "-e", "ikev2_remediate_hosts=%s" % HOSTS, "-e", "ikev2_report_dir=%s" % report_dir,
                       "-e", "ikev2_audit_log=%s" % audit_log, "-e", json.dumps({"ikev2_approve": ids[:1]}),
                       "-e", "ikev2_after_settle=0")
    assert rc == 0, out[-6000:]
    assert all(r.get("changed", 0) == 0 for r in recap(out).values()), out[-3000:]
    assert "the traffic-selector finding no longer holds" in out
    assert sha(lab, "cl3") == fixed


def test_healthy_lab_has_no_drift_and_an_unloaded_connection_is_loaded(lab, healthy_after, runner):
    lab.apply(None)
    # enforce's drift report on the healthy lab: the golden connection settings find nothing on any host.
    proc = subprocess.run([ANSIBLE_PLAYBOOK, str(runner.playbook), "--check", "--diff", "-e",
                           json.dumps({"target": HOSTS, "ikev2_audit_log": str(runner.audit)})], cwd=runtime.REPO,
                          capture_output=True, text=True, timeout=600, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    drift = dict(re.findall(r"DRIFT (\S+) (\[[^\]]*\])", out))
    assert set(drift) == {"gw1", "gw2", "gw3", "cl1", "cl2", "cl3", "cl4", "cl5", "cl6"}, out[-3000:]
    assert all(json.loads(v) == [] for v in drift.values()), drift
    assert all(v["changed"] == 0 and v["failed"] == 0 for v in recap(out).values()), out[-3000:]

    # gw2's connection unloaded by hand: the role loads it and the clients come back through it.
    before = sha(lab, "gw2")
    # swanctl 5.9 has no unload command: loading a file without the connection unloads it.
    lab.sh("gw2", "printf 'connections {\\n}\\n' > /tmp/no-conns.conf && swanctl --load-conns --file /tmp/no-conns.conf")
    assert "rw-cert" not in lab.sh("gw2", "swanctl --list-conns")
    res = runner(check=True, host="gw2", connections_action="load")
    assert res["changed"] > 0 and "would load rw-cert" in res["out"], res["out"][-3000:]
    assert "rw-cert" not in lab.sh("gw2", "swanctl --list-conns")
    res = runner(host="gw2", connections_action="load", connections_verify_peers=["cl3"])
    assert res["rc"] == 0 and res["changed"] > 0, res["out"][-4000:]
    assert "rw-cert" in lab.sh("gw2", "swanctl --list-conns")
    rec = [r for r in runner.records() if r["host"] == "gw2" and not r["check_mode"]][-1]
    assert rec["verification"]["passed"] is True and rec["diff"]["loaded"] == ["rw-cert"], rec
    assert [c["host"] for c in rec["verification"]["connections"]] == ["cl3"]
    assert carries_traffic(lab, "cl3")
    assert sha(lab, "gw2") == before
    res = runner(host="gw2", connections_action="load")
    assert res["rc"] == 0 and res["changed"] == 0, res["out"][-3000:]

    # A stale SA (invalid_spi): cl1's tunnel does not carry traffic (its SA is gone); the role re-initiates it.
    # While the tunnel carries traffic it changes nothing.
    res = runner(host="cl1", connections_action="reinitiate")
    assert res["rc"] == 0 and res["changed"] == 0 and "no longer holds" in res["out"], res["out"][-3000:]
    lab.sh("cl1", "swanctl --terminate --ike gw1 --timeout 10")
    assert not carries_traffic(lab, "cl1")
    res = runner(host="cl1", connections_action="reinitiate")
    assert res["rc"] == 0 and res["changed"] > 0, res["out"][-4000:]
    rec = [r for r in runner.records() if r["host"] == "cl1" and not r["check_mode"]][-1]
    assert rec["verification"]["passed"] is True and rec["diff"]["reinitiated"] == ["gw1"], rec
    assert carries_traffic(lab, "cl1")


def test_failed_verification_is_rolled_back_byte_for_byte(lab, healthy_after, runner):
    lab.apply(None)
    before = sha(lab, "cl3")
    # Golden traffic selectors that gw2 rejects (it has no route for 10.98.0.0/24): TS_UNACCEPTABLE.
    golden = {"connections_golden": {"dpd_delay": "30s", "traffic_selectors": {"gw2": {"remote_ts": ["10.98.0.0/24"]}}}}
    res = runner(check=True, **golden)
    assert res["rc"] == 0 and res["changed"] > 0 and "+\t\t\t\tremote_ts = 10.98.0.0/24" in res["out"], res["out"][-3000:]
    assert sha(lab, "cl3") == before
    res = runner(**golden)
    assert res["rc"] != 0 and res["failed"] > 0, res["out"][-4000:]
    assert "restored from /var/backups/vpnops-ikev2/connections/" in " ".join(res["out"].split())
    assert sha(lab, "cl3") == before
    # The daemon runs the old configuration again.
    assert "remote-ts=[10.2.0.0/24]" in lab.sh("cl3", "swanctl --list-conns --raw")
    rec = [r for r in runner.records() if r["host"] == "cl3" and not r["check_mode"]][-1]
    assert rec["verification"]["passed"] is False and rec["verification"]["rolled_back"] is True, rec


def test_libreswan_gateway_drift_is_converged_and_verified_from_its_client(lab, healthy_after, runner):
    lab.apply(None)
    conf = "/etc/ipsec.d/rw.conf"
    res = runner(host="gw3", connections_golden={"dpd_delay": "20s"}, connections_verify_peers=["cl6"])
    assert res["rc"] == 0 and res["changed"] > 0, res["out"][-4000:]
    assert "rw-cert: dpd_delay have 30, golden 20s" in res["out"]
    assert "\tdpddelay=20s\n" in lab.sh("gw3", "cat %s" % conf)
    rec = [r for r in runner.records() if r["host"] == "gw3" and not r["check_mode"]][-1]
    # The lab's kernel cannot install pluto's CHILD_SA: the IKE_SA from cl6 is what gw3 can show.
    assert rec["verification"]["passed"] is True and rec["verification"]["child_required"] is False, rec
    assert [(c["host"], c["ike_established"]) for c in rec["verification"]["connections"]] == [("cl6", True)]
    # The inventory's golden settings bring it back; a second run changes nothing.
    res = runner(host="gw3", connections_verify_peers=["cl6"])
    assert res["rc"] == 0 and res["changed"] > 0 and "\tdpddelay=30s\n" in lab.sh("gw3", "cat %s" % conf), res["out"][-3000:]
    res = runner(host="gw3")
    assert res["rc"] == 0 and res["changed"] == 0, res["out"][-3000:]
