"""ikev2-triage: commands, formats, host naming, exit codes (0 / 1 / 2 with a one-line reason)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from _triage_helpers import COLLECTIONS, GATHER_LOGS, REPO

FAIL = "Nov 26 23:00:15 09[IKE] <rw|3> tried 1 shared key for 'gw' - 'cl', but MAC mismatched\n"
HEALTHY = ("Nov 26 23:00:15 09[IKE] <home|2> IKE_SA home[2] established between 192.0.2.2[cl]...192.0.2.1[gw]\n"
           "Nov 26 23:01:03 14[IKE] <home|2> sending DPD request\n")


@pytest.fixture
def logs(tmp_path):
    f = tmp_path / "gw1.log"
    f.write_text(FAIL)
    h = tmp_path / "cl1.log"
    h.write_text(HEALTHY)
    return f, h


def test_faults_exit_1_json_contract(logs, run_cli):
    res = run_cli("classify", "--log", str(logs[0]), "--format", "json")
    assert res.rc == 1 and res.err == ""
    rep = res.json()
    assert rep["schema"] == 1 and rep["findings"][0]["category"] == "psk_mismatch"
    assert rep["findings"][0]["hosts"] == ["gw1"]  # named after the file
    assert rep["hosts"]["gw1"]["status"] == "ok"


def test_no_fault_exit_0(logs, run_cli):
    res = run_cli("classify", "--log", str(logs[1]))
    assert res.rc == 0 and "no fault found" in res.out


def test_host_equals_file_names_the_host(logs, run_cli):
    res = run_cli("classify", "--log", "gateway-a=%s" % logs[0], "--format", "json")
    assert res.rc == 1 and res.json()["findings"][0]["hosts"] == ["gateway-a"]


def test_syslog_host_field_names_the_host(tmp_path, run_cli):
    f = tmp_path / "messages"
    f.write_text("Nov 26 23:00:15 vpn-gw charon: " + FAIL.split(" ", 3)[3]
                 + "Nov 26 23:00:15 other-box sshd[1]: Accepted publickey\n")
    rep = run_cli("classify", "--log", str(f), "--format", "json").json()
    assert rep["findings"][0]["hosts"] == ["vpn-gw"] and list(rep["hosts"]) == ["vpn-gw"]


def test_stdin(run_cli):
    res = run_cli("classify", "--log", "-", "--format", "json", stdin=FAIL)
    assert res.rc == 1 and res.json()["findings"][0]["hosts"] == ["stdin"]


def test_markdown_and_text(logs, run_cli):
    md = run_cli("classify", "--log", str(logs[0]), "--format", "md")
    assert md.rc == 1 and md.out.startswith("# IKEv2 triage report") and "| host | source | line |" in md.out
    assert "psk_mismatch" in md.out and "vpnops.ikev2.psk" in md.out
    txt = run_cli("classify", "--log", str(logs[0]), "--format", "text")
    assert txt.out.startswith("1. psk_mismatch")


def test_facts_file_shapes(tmp_path, run_cli):
    facts = {"hostname": "gw7", "status": "ok", "time": {"status": "ok", "offset_s": 4000.0}}
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(facts))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"ansible_facts": {"ikev2": dict(facts, hostname="gw8")}}))
    rep = run_cli("classify", "--facts", str(bare), "--facts", str(wrapped), "--format", "json").json()
    assert sorted((f["category"], f["hosts"][0]) for f in rep["findings"]) == [("clock_skew", "gw7"),
                                                                               ("clock_skew", "gw8")]


def test_facts_and_logs_of_one_host_merge(tmp_path, logs, run_cli):
    facts = tmp_path / "gw1.json"
    facts.write_text(json.dumps({"hostname": "gw1", "firewall": {"status": "ok", "verdicts": {"esp": "drop"}}}))
    rep = run_cli("classify", "--log", str(logs[0]), "--facts", str(facts), "--format", "json").json()
    assert list(rep["hosts"]) == ["gw1"]
    assert sorted(f["category"] for f in rep["findings"]) == ["esp_blocked", "psk_mismatch"]


def test_rules_and_explain(run_cli):
    res = run_cli("rules")
    assert res.rc == 0 and "IKE-PSK-001" in res.out and "psk_mismatch" in res.out
    assert len(res.out.splitlines()) > 40
    res = run_cli("explain", "IKE-CERT-001")
    assert res.rc == 0 and "category: cert_expired" in res.out and "remediation: role ca_chain" in res.out
    assert "signatures:" in res.out


@pytest.mark.parametrize("argv,needle", [
    ((), "a command is required"),
    (("classify",), "needs at least one --log or --facts"),
    (("classify", "--log", "/nonexistent/x.log"), "cannot read log /nonexistent/x.log"),
    (("classify", "--facts", "/nonexistent/f.json"), "cannot read facts"),
    (("classify", "--log", "x", "--format", "xml"), "invalid choice"),
    (("explain", "NOPE-123"), "no rule NOPE-123"),
    (("frobnicate",), "invalid choice"),
    (("classify", "--log", "-", "--log", "-"), "stdin"),
    (("classify", "--log", str(GATHER_LOGS / "gw-charon.log"), "--tz", "Mars/Olympus"), "time zone"),
])
def test_bad_usage_exit_2_one_line(argv, needle, run_cli):
    res = run_cli(*argv)
    assert res.rc == 2
    assert res.out == ""
    assert res.err.count("\n") == 1 and res.err.startswith("ikev2-triage: ")
    assert needle in res.err
    assert "Traceback" not in res.err


def test_unreadable_file_and_directory(tmp_path, run_cli):
    d = tmp_path / "adir"
    d.mkdir()
    res = run_cli("classify", "--log", str(d))
    assert res.rc == 2 and "cannot read log" in res.err
    f = tmp_path / "facts.json"
    f.write_text("{not json: [")
    res = run_cli("classify", "--facts", str(f))
    assert res.rc == 2 and "neither JSON nor YAML" in res.err


def test_bad_rule_file_exit_2_names_file_rule_field(tmp_path, logs, run_cli):
    bad = tmp_path / "mine.yml"
    bad.write_text("schema: 1\nrules:\n  - id: MY-RULE-001\n    title: x\n    category: nope\n")
    res = run_cli("classify", "--log", str(logs[0]), "--rules", str(bad))
    assert res.rc == 2 and res.err.startswith("ikev2-triage: mine.yml: rule MY-RULE-001: field ")


def test_installed_entry_point_runs_as_a_process(logs):
    """The command as the set-up installs it (a launcher calling cli.main)."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    code = ("import sys; from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.cli import main; "
            "sys.exit(main())")
    p = subprocess.run([sys.executable, "-c", code, "classify", "--log", str(logs[0])], env=env, cwd=str(REPO),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 1 and b"psk_mismatch" in p.stdout
    p = subprocess.run([sys.executable, "-c", code, "classify"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 2 and p.stderr.count(b"\n") == 1


def test_gzip_rotated_log_and_truncated_gzip(tmp_path, run_cli):
    import gzip
    p = tmp_path / "gw1.log.1.gz"
    with gzip.open(str(p), "wb") as f:
        f.write((HEALTHY * 50 + FAIL).encode())
    res = run_cli("classify", "--log", str(p), "--format", "json")
    rep = res.json()
    assert res.rc == 1 and rep["findings"][0]["category"] == "psk_mismatch" and list(rep["hosts"]) == ["gw1"]
    data = p.read_bytes()
    t = tmp_path / "cut.gz"
    t.write_bytes(data[:len(data) // 2])
    res = run_cli("classify", "--log", str(t))
    assert res.rc in (0, 1) and res.err == ""


def test_journalctl_json_pretty(tmp_path, run_cli):
    obj = {"__REALTIME_TIMESTAMP": "1795733641000000", "_HOSTNAME": "gw5", "SYSLOG_IDENTIFIER": "charon",
           "MESSAGE": "13[IKE] <rw|3> tried 1 shared key for 'gw' - 'cl', but MAC mismatched"}
    p = tmp_path / "journal.json"
    p.write_text(json.dumps(obj, indent=8) + "\n" + json.dumps(dict(obj, MESSAGE="13[IKE] hello"), indent=8) + "\n")
    rep = run_cli("classify", "--log", str(p), "--format", "json").json()
    assert rep["findings"][0]["category"] == "psk_mismatch" and rep["findings"][0]["hosts"][0] == "gw5"
