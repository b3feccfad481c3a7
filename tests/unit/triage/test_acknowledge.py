"""Acknowledged findings: an operator's accepted condition leaves the findings, with its reason,
and only when it covers every host the finding names."""

from __future__ import annotations

import doctest
import json
import os
import subprocess

import pytest

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import acknowledge as ack_mod
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.acknowledge import AcknowledgementError, acknowledge

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HEALTHY = os.path.join(REPO, "tests", "fixtures", "lab", "healthy")
TRIAGE = os.path.join(REPO, ".venv", "bin", "ikev2-triage")


def _report():
    return {"schema": 1, "hosts": {}, "findings": [
        {"rank": 1, "rule": "IKE-PSK-001", "category": "psk_mismatch", "hosts": ["cl2", "gw1"]},
        {"rank": 2, "rule": "IKE-RES-004", "category": "resource_limit", "hosts": ["gw3"]}]}


def test_acknowledged_finding_moves_out_and_the_rest_are_ranked_again():
    report = _report()
    acknowledge(report, [{"rule": "IKE-RES-004", "host": "gw3", "reason": "no XFRM"}])
    assert [f["rule"] for f in report["findings"]] == ["IKE-PSK-001"]
    assert report["acknowledged"][0]["acknowledged"] == "no XFRM"
    report = _report()
    acknowledge(report, [{"category": "psk_mismatch", "host": "cl2", "reason": "rotating keys"},
                         {"category": "psk_mismatch", "host": "gw1", "reason": "rotating keys"}])
    assert [(f["rank"], f["rule"]) for f in report["findings"]] == [(1, "IKE-RES-004")]


def test_acknowledgement_must_cover_every_host_of_the_finding():
    report = _report()
    acknowledge(report, [{"category": "psk_mismatch", "host": "cl2", "reason": "rotating keys"}])
    assert [f["rule"] for f in report["findings"]] == ["IKE-PSK-001", "IKE-RES-004"]
    assert report["acknowledged"] == []


@pytest.mark.parametrize("ack, message", [
    ({"host": "gw3", "reason": "x"}, "names neither a rule nor a category"),
    ({"rule": "IKE-RES-004", "reason": "x"}, "needs the host"),
    ({"rule": "IKE-RES-004", "host": "gw3"}, "needs a reason"),
    ({"rule": "IKE-RES-004", "host": "gw3", "reason": "x", "until": "x"}, "unknown field(s) until"),
    ("IKE-RES-004", "expected a mapping"),
])
def test_bad_acknowledgements_are_named(ack, message):
    with pytest.raises(AcknowledgementError, match=message.replace("(", r"\(").replace(")", r"\)")):
        acknowledge(_report(), [ack])


def test_docstring_example():
    assert doctest.testmod(ack_mod).failed == 0


def test_cli_acknowledges_the_lab_kernel_limit_on_the_healthy_capture():
    logs = []
    for name in sorted(os.listdir(HEALTHY)):
        if name.endswith(".log"):
            logs += ["--log", f"{name[:-4]}={os.path.join(HEALTHY, name)}"]
    plain = subprocess.run([TRIAGE, "classify", *logs, "--format", "json"], capture_output=True, text=True, check=False)
    acked = subprocess.run([TRIAGE, "classify", *logs, "--format", "json",
                            "--acknowledge", "IKE-RES-004@gw3=this kernel cannot install pluto's SAs"],
                           capture_output=True, text=True, check=False)
    assert plain.returncode == 1 and [f["rule"] for f in json.loads(plain.stdout)["findings"]] == ["IKE-RES-004"]
    assert acked.returncode == 0, acked.stdout
    assert json.loads(acked.stdout)["acknowledged"][0]["hosts"] == ["gw3"]
    bad = subprocess.run([TRIAGE, "classify", *logs, "--acknowledge", "IKE-RES-004"], capture_output=True,
                         text=True, check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
