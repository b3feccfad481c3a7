"""playbooks/diagnose.yml on the running lab: the report's contract, its top finding per scenario,
unreachable hosts reported and not fatal, no secret in any report file.

Each scenario is applied with the `lab` fixture (it holds the lab's lock), then the playbook runs
through `ansible-playbook` as an operator would run it, and `report.json` is checked against the
classify JSON contract (issue 4) and the scenario's `expected` findings. The lab goes back to
healthy at the end of the module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import runtime
from lab import scenario as scenarios

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = str(REPO / "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.rules import CATEGORIES  # noqa: E402

PY = REPO / ".venv" / "bin" / "python"
PLAYBOOK_BIN = str((PY.parent if PY.exists() else Path(sys.executable).parent) / "ansible-playbook")
# The lab's infra (NTP, CRL) and NAT router run no IKE daemon; the IKE hosts are these groups.
IKE_HOSTS = "gateways:clients"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="applying scenarios needs root"),
]

FINDING_KEYS = {"rank", "category", "rule", "confidence", "hosts", "phase", "summary", "evidence", "remediation"}


@pytest.fixture(scope="module")
def diagnose_lab(lab):
    """The lab for this module; healthy again when the module is done, whatever it did."""
    yield lab
    lab.apply(None)


def run_diagnose(report_dir: Path, *extra: str, hosts: str = IKE_HOSTS) -> subprocess.CompletedProcess:
    cmd = [PLAYBOOK_BIN, "playbooks/diagnose.yml", "-e", f"ikev2_report_dir={report_dir}",
           "-e", f"ikev2_diagnose_hosts={hosts}", *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def check_contract(report: dict) -> None:
    """report.json is exactly the classify JSON contract of issue 4."""
    assert {"schema", "findings", "hosts"} <= set(report) <= {"schema", "findings", "hosts", "acknowledged", "resolved"}
    # resolved failures (docs/architecture.md, Classification): the finding shape plus their times,
    # ranked after every active finding
    for r in report.get("resolved", ()):
        assert set(r) == FINDING_KEYS | {"status", "last_failure", "recovered"}, r
        assert r["status"] == "resolved" and r["rank"] > len(report["findings"]), r
    assert report["schema"] == 1
    assert [f["rank"] for f in report["findings"]] == list(range(1, len(report["findings"]) + 1))
    for f in report["findings"]:
        assert set(f) == FINDING_KEYS, f
        assert f["category"] in CATEGORIES
        assert 0.0 <= f["confidence"] <= 1.0
        assert f["hosts"] and all(isinstance(h, str) for h in f["hosts"])
        assert isinstance(f["summary"], str) and f["summary"]
        for ev in f["evidence"]:
            assert set(ev) == {"host", "source", "line"}, ev
        assert set(f["remediation"]) >= {"role", "auto_remediable"}
        assert isinstance(f["remediation"]["auto_remediable"], bool)
    for name, h in report["hosts"].items():
        assert set(h) == {"status", "reason"}, (name, h)


def check_files(report_dir: Path, report: dict, proc: subprocess.CompletedProcess) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    md = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    for f in report["findings"]:
        assert f["category"] in md and f["category"] in html
        # the console summary: one ranked line per finding
        assert f"{f['rank']}. {f['category']} {', '.join(f['hosts'])}:" in proc.stdout
    assert str(report_dir / "report.html") in proc.stdout
    # secrets: the lab's PSKs (and a scenario's injected key) never reach a report file
    secrets = [v for v in (runtime.load_state() or {}).get("psk", {}).values() if v]
    assert secrets, "the lab state names no PSK to look for"
    for name in ("report.json", "report.md", "report.html"):
        text = (report_dir / name).read_text(encoding="utf-8")
        for s in secrets:
            assert s not in text, f"a PSK appears in {name}"


def diagnose(lab, tmp_path: Path, name: str | None):
    scen = scenarios.load(name, lab.topo) if name else None
    lab.apply(scen)
    proc = run_diagnose(tmp_path)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    check_contract(report)
    check_files(tmp_path, report, proc)
    return scen, report


def _pairs(report):
    return [(f["category"], f["hosts"][0]) for f in report["findings"]]


def test_healthy_lab_has_no_finding(diagnose_lab, tmp_path):
    _, report = diagnose(diagnose_lab, tmp_path, None)
    assert report["findings"] == [], _pairs(report)
    # pluto's refused CHILD_SA is real, and the lab inventory acknowledges it for gw3 with a reason.
    assert [(f["rule"], f["hosts"]) for f in report.get("acknowledged", [])] == [("IKE-RES-004", ["gw3"])]
    assert all(h["status"] == "ok" for h in report["hosts"].values()), report["hosts"]


def test_clock_skew_top_finding(diagnose_lab, tmp_path):
    scen, report = diagnose(diagnose_lab, tmp_path, "clock_skew")
    assert report["findings"], "no finding for clock_skew"
    top = report["findings"][0]
    want = scen["expected"][0]
    assert (top["category"], top["hosts"][0]) == (want["category"], want["host"]), _pairs(report)
    # the timeline lines both ends up on the controller's clock: cl1 is a day behind
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "cl1 \u2194 gw1" in html and "-1 d 0 h" in html


def test_compound_clock_udp4500(diagnose_lab, tmp_path):
    scen, report = diagnose(diagnose_lab, tmp_path, "compound_clock_udp4500")
    expected = [(e["category"], e["host"]) for e in scen["expected"]]
    pairs = _pairs(report)
    assert pairs and pairs[0] in expected, pairs
    for want in expected:
        assert want in pairs, f"{want} missing from {pairs}"


def test_unreachable_host_is_reported_not_fatal(diagnose_lab, tmp_path):
    inv = tmp_path / "ghost.yml"
    # nothing listens on port 1 of the loopback: ssh fails at once
    inv.write_text("all:\n  children:\n    gateways:\n      hosts:\n"
                   "        ghost: {ansible_host: 127.0.0.1, ansible_port: 1}\n")
    proc = run_diagnose(tmp_path / "report", "-i", "inventories/lab", "-i", str(inv))
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    check_contract(report)
    assert report["hosts"]["ghost"]["status"] == "unreachable"
    assert "host ghost: unreachable" in proc.stdout
    assert {"gw1", "cl1"} <= set(report["hosts"])
