"""playbooks/remediate.yml rejects bad input on the controller before any host is contacted.

The inventory's hosts point at a closed port on loopback: any attempt to reach one would show as
UNREACHABLE in the output (and the play would carry on), so a clean failure in the first task with
no UNREACHABLE proves no host was touched.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "remediate.yml"

GOOD_REPORT = {"schema": 1, "hosts": {"gw1": {"status": "ok", "reason": None}}, "findings": [
    {"rank": 1, "category": "cert_chain_incomplete", "rule": "IKE-CHAIN-001", "confidence": 0.8, "hosts": ["gw1"],
     "phase": "IKE_AUTH", "summary": "gw1 cannot build a chain", "evidence": [],
     "remediation": {"role": "ca_chain", "auto_remediable": True}}]}


def inventory(tmp_path, policy):
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(
        "all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_port: 9\n    ansible_user: nobody\n"
        "    ansible_ssh_common_args: -o ConnectTimeout=2 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n"
        "  hosts:\n    gw1: {}\n    cl1: {}\n")
    (inv / "group_vars" / "all.yml").write_text("ikev2_auto_remediate: %s\n" % json.dumps(policy))
    return inv


def run(tmp_path, policy, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(PLAYBOOK),
           "-i", str(inventory(tmp_path, policy))] + list(extra)
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def assert_failed_before_touching(rc, out, message):
    assert rc != 0, out
    assert message in out, out
    assert "UNREACHABLE" not in out and "unreachable=1" not in out, out
    assert "Validate the approval policy" in out
    assert "Gather the evidence" not in out, out


def test_unknown_category_in_policy(tmp_path):
    rc, out = run(tmp_path, ["cert_chain_incomplete", "clock_drift"])
    assert_failed_before_touching(rc, out, "ikev2_auto_remediate names unknown category 'clock_drift' (on cl1, gw1)")


def test_missing_report(tmp_path):
    rc, out = run(tmp_path, ["clock_skew"], "-e", "ikev2_report=%s" % (tmp_path / "none" / "report.json"))
    assert_failed_before_touching(rc, out, "no such report; run playbooks/diagnose.yml first")


def test_malformed_report(tmp_path):
    bad = tmp_path / "reports"
    bad.mkdir()
    (bad / "report.json").write_text('{"schema": 1, "findings": [')
    rc, out = run(tmp_path, ["clock_skew"], "-e", "ikev2_report_dir=%s" % bad)
    assert_failed_before_touching(rc, out, "the report is not valid JSON")


def test_unknown_finding_id(tmp_path):
    rep = tmp_path / "reports"
    rep.mkdir()
    (rep / "report.json").write_text(json.dumps(GOOD_REPORT))
    rc, out = run(tmp_path, ["clock_skew"], "-e", "ikev2_report_dir=%s" % rep,
                  "-e", '{"ikev2_approve": ["HOST-FW-4500@gw1"]}')
    assert_failed_before_touching(rc, out, "ikev2_approve names finding id not in the report: HOST-FW-4500@gw1")
    assert "IKE-CHAIN-001@gw1" in out


@pytest.mark.parametrize("policy", [["clock_skew"]])
def test_good_input_passes_validation_and_then_contacts_hosts(tmp_path, policy):
    """The counter-test: with good input the play goes on to the hosts (here unreachable on purpose)."""
    rep = tmp_path / "reports"
    rep.mkdir()
    (rep / "report.json").write_text(json.dumps(GOOD_REPORT))
    rc, out = run(tmp_path, policy, "-e", "ikev2_report_dir=%s" % rep)
    assert "Diagnosis read from" in out, out
    assert "UNREACHABLE" in out, out
