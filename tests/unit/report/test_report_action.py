"""vpnops.ikev2.report: helpers, and the action plugin through a real playbook on localhost fed
with the captured demo run (facts set as host facts, classification from report.json)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.vpnops.ikev2.plugins.action.report import facts_from_hostvars, write_atomic

REPO = pathlib.Path(__file__).resolve().parents[3]
COLLECTIONS = str(REPO / "collections")
DEMO = REPO / "tests" / "fixtures" / "report" / "demo"


def test_write_atomic_reports_change(tmp_path):
    path = tmp_path / "report.md"
    assert write_atomic(str(path), "a\n") is True
    assert write_atomic(str(path), "a\n") is False
    assert write_atomic(str(path), "b\n") is True
    assert path.read_text() == "b\n" and [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_facts_from_hostvars():
    hv = {"gw1": {"ansible_facts": {"ikev2": {"status": "ok"}}}, "cl1": {"ansible_facts": {}}, "cl2": {"ikev2": {"x": 1}}}
    assert facts_from_hostvars(["gw1", "cl1", "cl2", "cl9"], hv) == {"gw1": {"status": "ok"}, "cl2": {"x": 1}}


def _run(tmp_path, playbook):
    pb = tmp_path / "pb.yml"
    pb.write_text(playbook)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=COLLECTIONS,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return subprocess.run([exe, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                           str(pb)], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=300, text=True, check=False)


@pytest.mark.slow
def test_playbook_writes_the_report(tmp_path):
    p = _run(tmp_path, """
- hosts: localhost
  gather_facts: false
  vars:
    demo_report: "{{ lookup('ansible.builtin.file', '%(demo)s/report.json') | from_json }}"
    demo_facts: "{{ lookup('ansible.builtin.file', '%(demo)s/facts.json') | from_json }}"
  tasks:
    - name: classification as classify registers it, with its extra keys
      ansible.builtin.set_fact:
        triage: "{{ demo_report | combine({'changed': false, 'failed': false}) }}"
        ikev2: "{{ demo_facts.cl1 }}"
    - name: write the report
      vpnops.ikev2.report:
        classification: "{{ triage }}"
        hosts: [localhost]
        dest: out/latest
      register: r
    - name: save the result
      ansible.builtin.copy:
        content: "{{ r | to_json }}"
        dest: result.json
        mode: "0644"
    - name: not a classification
      vpnops.ikev2.report:
        classification: {findings: []}
        dest: out/bad
      register: bad
      ignore_errors: true
    - name: bad format
      vpnops.ikev2.report:
        classification: "{{ triage }}"
        dest: out/bad
        formats: [pdf]
      register: fmt
      ignore_errors: true
    - ansible.builtin.assert:
        that:
          - bad is failed and 'lacks schema, hosts' in bad.msg
          - fmt is failed and 'pdf' in fmt.msg
""" % {"demo": DEMO})
    assert p.returncode == 0, p.stdout[-3000:]
    res = json.loads((tmp_path / "result.json").read_text())
    dest = tmp_path / "out" / "latest"
    assert res["changed"] is True and res["dest"] == str(dest)
    assert set(res["files"]) == {"json", "md", "html"}
    assert json.loads((dest / "report.json").read_text()) == json.loads((DEMO / "report.json").read_text())
    assert res["summary"][0].startswith("1. clock_skew cl1: ")
    assert res["findings"] == len(json.loads((DEMO / "report.json").read_text())["findings"])
    page = (dest / "report.html").read_text()
    # localhost carried cl1's facts: its row shows the day of skew
    assert "<tr><td>localhost</td>" in page and "-1 d 0 h" in page
