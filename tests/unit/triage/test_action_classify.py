"""vpnops.ikev2.classify: inputs from hostvars (missing and unreachable hosts) and a real playbook run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from _triage_helpers import COLLECTIONS

from ansible_collections.vpnops.ikev2.plugins.action.classify import host_inputs
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.engine import classify

EVENTS_GW = [{"ts": "2026-11-26T23:00:15Z", "host": None, "daemon": "charon", "source": "charon-file", "thread": 9,
              "subsystem": "IKE", "level": None, "ike_name": "rw", "ike_id": "3", "peer": None, "peer_port": None,
              "exchange": None, "direction": None, "notifies": [],
              "msg": "tried 1 shared key for 'gw' - 'cl', but MAC mismatched",
              "raw": "Nov 26 23:00:15 09[IKE] <rw|3> tried 1 shared key for 'gw' - 'cl', but MAC mismatched"}]


def test_host_inputs_from_hostvars():
    hostvars = {
        "gw1": {"ansible_facts": {"ikev2": {"schema": 1, "hostname": "gw1", "status": "ok",
                                            "logs": {"status": "ok", "events": EVENTS_GW}}}},
        "cl1": {"ansible_facts": {}},
        "cl2": {"ansible_facts": {"ikev2": {"status": "no_daemon", "reason": "no IKE daemon installed"}}},
    }
    inputs = host_inputs(["gw1", "cl1", "cl2", "cl3"], hostvars, unreachable=["cl3"])
    rep = classify(inputs)
    assert rep["hosts"]["cl1"]["status"] == "missing"
    assert rep["hosts"]["cl2"] == {"status": "no_daemon", "reason": "no IKE daemon installed"}
    assert rep["hosts"]["cl3"]["status"] == "unreachable"
    assert rep["findings"][0]["category"] == "psk_mismatch" and rep["findings"][0]["hosts"][0] == "gw1"
    assert EVENTS_GW[0]["host"] is None  # inputs are copied, facts not mutated
    # a host that dropped out of the play without facts was unreachable
    inputs = host_inputs(["gw1", "cl1"], hostvars, active={"gw1"})
    assert inputs["cl1"].status == "unreachable" and inputs["gw1"].status == "ok"


@pytest.mark.slow
def test_playbook_run_once_over_facts(tmp_path):
    facts = tmp_path / "gw9.json"
    facts.write_text(json.dumps({"schema": 1, "hostname": "gw9", "status": "ok",
                                 "time": {"status": "ok", "offset_s": -86400.0},
                                 "firewall": {"status": "ok", "provider": "nftables",
                                              "verdicts": {"udp500": "accept", "udp4500": "drop", "esp": "accept"},
                                              "why": {"udp4500": "inet filter input rule 3"}}}))
    pb = tmp_path / "pb.yml"
    pb.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: classify saved facts
      vpnops.ikev2.classify:
        facts:
          gw9: "{{ lookup('ansible.builtin.file', '%s') | from_json }}"
      run_once: true
      register: r
    - name: show
      ansible.builtin.copy:
        content: "{{ r | to_json }}"
        dest: "%s"
    - name: fail on findings
      vpnops.ikev2.classify:
        facts: {gw9: {time: {offset_s: 9000}}}
        fail_on_findings: true
      register: f
      ignore_errors: true
    - name: bad argument
      vpnops.ikev2.classify:
        nonsense: 1
      register: b
      ignore_errors: true
    - ansible.builtin.assert:
        that: [f is failed, "'clock_skew' in f.msg", b is failed]
""" % (facts, tmp_path / "out.json"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=COLLECTIONS,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    p = subprocess.run([exe, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable, str(pb)], env=env, cwd=str(tmp_path),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert p.returncode == 0, p.stdout.decode()[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["schema"] == 1 and out["changed"] is False
    assert [f["category"] for f in out["findings"]] == ["clock_skew", "udp4500_blocked"]
    assert out["hosts"] == {"gw9": {"status": "ok", "reason": None}}
