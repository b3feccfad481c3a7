"""vpnops.ikev2.audit: record shape, redaction, appending, and the action plugin through a playbook."""

from __future__ import annotations

import datetime
import doctest
import json
import multiprocessing
import os
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.vpnops.ikev2.plugins.plugin_utils import audit

REPO = pathlib.Path(__file__).resolve().parents[3]
NOW = datetime.datetime(2026, 11, 27, 0, 5, 7, tzinfo=datetime.timezone.utc)


def test_doctests():
    assert doctest.testmod(audit).failed == 0


def test_record_has_every_field():
    finding = {"category": "cert_chain_incomplete", "rule": "HOST-CHAIN-001", "hosts": ["gw1"]}
    rec = audit.build_record(host="gw1", role="vpnops.ikev2.ca_chain", finding=finding,
                             diff={"before": "", "after": "x"}, backup="/etc/swanctl/x509ca/a.pem.1.bak",
                             verification={"passed": True}, operator="alice", check_mode=False, changed=True,
                             now=NOW)
    assert rec == {"schema": 1, "time": "2026-11-27T00:05:07Z", "operator": "alice", "host": "gw1",
                   "role": "vpnops.ikev2.ca_chain", "finding": finding, "check_mode": False, "changed": True,
                   "diff": {"before": "", "after": "x"}, "backup": "/etc/swanctl/x509ca/a.pem.1.bak",
                   "verification": {"passed": True}}


def test_time_is_utc_even_from_another_zone():
    tz = datetime.timezone(datetime.timedelta(hours=5))
    rec = audit.build_record(host="h", role="r", operator="o", now=datetime.datetime(2026, 11, 27, 5, 0, tzinfo=tz))
    assert rec["time"] == "2026-11-27T00:00:00Z"


@pytest.mark.parametrize("text, secret", [
    ('+    secret = "s3cr3t-value"', "s3cr3t-value"),
    ("-  secret = 0sFpZAZqEN6Ti9sqt4ZP5EWcqx", "0sFpZAZqEN6Ti9sqt4ZP5EWcqx"),
    ("@cl2.lab @gw1.lab : PSK \"lab-psk-cl2\"", "lab-psk-cl2"),
    ("password: hunter2", "hunter2"),
    ("pin = 1234", "1234"),
    ("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----", "MIGHAgEAMBMGByqGSM49"),
    ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nQUJD\n", "QUJD"),
    ("database = mysql://vpn:hunter2@db/ipsec", "hunter2"),
])
def test_secrets_in_text_are_redacted(text, secret):
    out = audit.redact_text(text)
    assert secret not in out
    assert audit.REDACTED in out


def test_certificates_and_plain_settings_stay():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    assert audit.redact_text(pem) == pem
    assert audit.redact_text("proposals = aes256-sha256-modp2048") == "proposals = aes256-sha256-modp2048"
    assert audit.redact_text("secrets {\n}") == "secrets {\n}"


def test_secret_keys_redacted_at_any_depth():
    data = {"finding": {"evidence": [{"line": "secret = abc"}]}, "vars": {"psk": "abc", "key_type": "ECDSA",
                                                                        "ca_chain_private_key": "k"},
            "verification": {"passed": True, "token": None}}
    out = audit.redact(data)
    assert out["finding"]["evidence"][0]["line"] == "secret = <redacted>"
    assert out["vars"] == {"psk": "<redacted>", "key_type": "ECDSA", "ca_chain_private_key": "<redacted>"}
    assert out["verification"] == {"passed": True, "token": None}
    assert "abc" not in json.dumps(out)


def test_operator(monkeypatch):
    assert audit.operator_name("bob") == "bob"
    monkeypatch.setattr(audit.getpass, "getuser", lambda: "root")
    assert audit.operator_name(environ={"SUDO_USER": "alice"}) == "root (sudo: alice)"
    assert audit.operator_name(environ={}) == "root"


def test_default_log_path():
    assert audit.default_log_path("/srv/repo/playbooks") == "/srv/repo/reports/audit.jsonl"
    assert audit.default_log_path(None, cwd="/x") == "/x/reports/audit.jsonl"


def test_append_creates_directory_and_private_file(tmp_path):
    path = tmp_path / "new" / "audit.jsonl"
    audit.append_record(str(path), {"a": 1})
    audit.append_record(str(path), {"a": 2})
    assert [r["a"] for r in audit.read_records(str(path))] == [1, 2]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_unwritable_log_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(audit.AuditError, match=r"cannot open the audit log .*file/audit.jsonl"):
        audit.append_record(str(blocker / "audit.jsonl"), {"a": 1})


def _writer(args):
    path, n = args
    for i in range(50):
        audit.append_record(path, {"writer": n, "i": i, "pad": "x" * 3000})


def test_concurrent_writers_never_interleave(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_writer, [(path, n) for n in range(4)])
    records = audit.read_records(path)
    assert len(records) == 200
    assert sorted((r["writer"], r["i"]) for r in records) == [(n, i) for n in range(4) for i in range(50)]


def _run_playbook(tmp_path, check, extra=(), subdir=""):
    play = tmp_path / subdir / "play.yml"
    play.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Record
      vpnops.ikev2.audit:
        role: vpnops.ikev2.ca_chain
        finding: HOST-CHAIN-001@gw1
        diff: {before: "", after: "  secret = abc\\n"}
        backup: /etc/swanctl/x509ca/intermediate.pem.bak
        verification: {passed: true}
        changed: true
      register: rec
    - name: Show
      ansible.builtin.debug:
        var: rec
""")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"), ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(play), "-i", "localhost,",
           "-c", "local", "-e", "ikev2_operator=tester"] + list(extra)
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, env=env, cwd=str(tmp_path), capture_output=True, text=True, check=False)
    return proc


@pytest.mark.parametrize("check", [False, True])
def test_action_plugin_through_a_playbook(tmp_path, check):
    log = tmp_path / "out" / "audit.jsonl"
    proc = _run_playbook(tmp_path, check, ["-e", "ikev2_audit_log=%s" % log])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "changed=0" in proc.stdout  # recording a change is not a change
    (rec,) = audit.read_records(str(log))
    assert rec["operator"] == "tester" and rec["host"] == "localhost" and rec["role"] == "vpnops.ikev2.ca_chain"
    assert rec["check_mode"] is check
    assert rec["changed"] is True
    assert rec["diff"]["after"] == "  secret = <redacted>\n"
    assert rec["finding"] == "HOST-CHAIN-001@gw1"


def test_action_plugin_default_path_is_beside_the_playbook_dir(tmp_path):
    (tmp_path / "playbooks").mkdir()
    proc = _run_playbook(tmp_path, False, subdir="playbooks")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert audit.read_records(str(tmp_path / "reports" / "audit.jsonl"))[-1]["host"] == "localhost"
