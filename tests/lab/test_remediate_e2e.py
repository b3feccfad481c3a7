"""Every remediable scenario whose fix role exists, end to end on the lab, with one scenario
application each (issue 5, "End to end on the lab, for every remediable scenario"):

1. the scenario is applied and its tunnels are down (or, for esp_blocked, its gateway admits no ESP);
2. a plain `playbooks/diagnose.yml` names every expected fault (category and host at fault);
3. `playbooks/remediate.yml`, with the scenario's categories approved through the policy override
   (`-e ikev2_auto_remediate=[...]`), fixes it: APPLY lines, an audit record with a passed verification;
4. every tunnel of the affected clients is up again and carries traffic (the CHILD_SA's byte counters
   grow with pings sent through it);
5. a plain diagnose right after the fix (default log window, no special `since`) no longer reports the
   fault as active: the failure lines still in the window are listed under `resolved` instead, and
   nothing beyond the healthy lab's own findings is left;
6. a second remediate from the same (now stale) report changes nothing: every fix role re-checks its
   finding on the host, finds it gone, reports changed=0 and writes no new audit record.

cert_chain_incomplete is covered end to end in test_remediate.py. The durations of each step are
printed (`pytest -s`) so a slow case shows where its time goes.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from _playbooks import HOSTS, audit_records, playbook
from lab import scenario as lab_scenario


# scenario -> (the clients whose tunnels must carry traffic after the fix: the tunnels the scenario
# breaks, or for esp_blocked, which breaks none in this lab whose ESP is UDP-encapsulated, the
# gateway's clients; the categories a plain diagnose right after the fix lists as resolved: the
# faults seen in the logs, except clock_skew, whose failure lines the skewed client stamped a day
# earlier, outside the log window).
CASES = {
    "clock_skew": (["cl1"], []),
    "udp4500_blocked": (["cl3", "cl4"], ["udp4500_blocked"]),
    "esp_blocked": (["cl1", "cl5"], []),
    "proposal_mismatch_ike": (["cl1"], ["proposal_mismatch"]),
    "proposal_mismatch_esp": (["cl3", "cl4"], ["proposal_mismatch"]),
    "compound_clock_udp4500": (["cl1", "cl3", "cl4"], ["udp4500_blocked"]),
}


def diagnose(report_dir):
    """A plain diagnose, as an operator runs it: default log window (1h)."""
    rc, out = playbook("diagnose.yml", "-e", "ikev2_diagnose_hosts=%s" % HOSTS, "-e", "ikev2_report_dir=%s" % report_dir)
    assert rc == 0, out[-4000:]
    with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
        return json.load(handle)


def remediate(report_dir, audit_log, categories):
    """remediate.yml from the saved report, with ``categories`` as every host's approval policy.

    No NTP servers are passed: vpnops.ikev2.time_sync takes the lab's golden ones
    (``ikev2_golden.ntp_servers``, ``ntp_server_options``: infra.lab, polled often)."""
    extra = {"ikev2_auto_remediate": categories}
    return playbook("remediate.yml", "-e", "ikev2_remediate_hosts=%s" % HOSTS, "-e", "ikev2_report_dir=%s" % report_dir,
                    "-e", "ikev2_audit_log=%s" % audit_log, "-e", json.dumps(extra))


def recap(out):
    """host -> {ok, changed, failed, ...}, summed over every PLAY RECAP of the run."""
    out = out.split("\n--- flat ---\n")[0]
    total = {}
    for block in out.split("PLAY RECAP")[1:]:
        for m in re.finditer(r"^(\S+)\s+:\s+(.*)$", block, re.M):
            counts = total.setdefault(m.group(1), {})
            for k, v in re.findall(r"(\w+)=(\d+)", m.group(2)):
                counts[k] = counts.get(k, 0) + int(v)
    return total


def keys(findings):
    return set((f["category"], f["hosts"][0]) for f in findings)


def carries_traffic(lab, client):
    """Pings through the tunnel: the client's CHILD_SA counts more bytes in and out than before."""
    gw = lab.topo.hosts[lab.topo.hosts[client].gateway]
    before = lab.child_bytes(client)
    out = lab.sh(client, "ping -c 3 -i 0.2 -W 2 %s" % gw.protected_addr, check=False)
    after = lab.child_bytes(client)
    return " 0% packet loss" in out and after[0] > before[0] and after[1] > before[1], (out, before, after)


@pytest.fixture(scope="module")
def baseline(lab, tmp_path_factory):
    """The healthy lab's own findings (the lab has known noise, e.g. the libreswan pair)."""
    lab.apply(None)
    return keys(diagnose(str(tmp_path_factory.mktemp("baseline")))["findings"])


class Timer:
    def __init__(self, name):
        self.name, self.t0, self.steps = name, time.monotonic(), []

    def step(self, label):
        now = time.monotonic()
        self.steps.append((label, now - self.t0))
        self.t0 = now

    def __str__(self):
        return "%s: %s (total %.0f s)" % (self.name, ", ".join("%s %.0f s" % s for s in self.steps),
                                          sum(s[1] for s in self.steps))


@pytest.mark.parametrize("name", sorted(CASES))
def test_remediable_scenario_fixed_end_to_end(lab, baseline, name, tmp_path):
    scen = lab_scenario.load(name, lab.topo)
    expected = set((e["category"], e["host"]) for e in scen["expected"])
    categories = sorted(set(c for c, _h in expected))
    audit_log = str(tmp_path / "audit.jsonl")
    timer = Timer(name)
    try:
        states = lab.apply(scen)
        assert not any(states[c]["up"] for c in scen.get("tunnels_down", ())), states
        timer.step("apply")

        # 1. A plain diagnose names every fault, category and host at fault, as active.
        before = diagnose(str(tmp_path / "before"))
        timer.step("diagnose")
        assert expected <= keys(before["findings"]), (expected, before["findings"])

        # 2. Remediate with the scenario's categories approved by the policy override.
        rc, out = remediate(str(tmp_path / "before"), audit_log, categories)
        timer.step("remediate")
        assert rc == 0, out[-6000:]
        for cat, host in expected:
            assert re.search(r"APPLY \S+@%s \[%s\]" % (host, cat), out), (cat, host, out[-6000:])
        tail = out[out.rindex("Print before and after"):]
        for cat, host in expected:
            assert re.search(r"fixed: .*%s@%s" % (cat, host), tail), tail

        # The audit log holds each fix, changed and verified.
        applied = [r for r in audit_records(audit_log) if not r["check_mode"]]
        for cat, host in expected:
            recs = [r for r in applied if r["host"] == host and (r["finding"] or {}).get("category") == cat]
            assert recs and recs[-1]["changed"] is True, (cat, host, applied)
            verification = recs[-1]["verification"]
            # every fix role records verification.passed
            assert verification.get("passed") is True, recs[-1]

        # 3. The tunnels are back and carry traffic.
        states = lab.states()
        for client in CASES[name][0]:
            assert states[client]["up"], (client, states)
            ok, why = carries_traffic(lab, client)
            assert ok, (client, why)
        timer.step("traffic")

        # 4. A plain diagnose right after the fix: the fault is no longer active. Its failure lines
        # are still in the log window, so it is listed as resolved (when it was seen in the logs).
        after = diagnose(str(tmp_path / "after"))
        timer.step("diagnose")
        active = keys(after["findings"])
        assert not expected & active, (expected & active, after["findings"])
        assert active <= baseline, (active - baseline, after["findings"])
        resolved = after.get("resolved", [])
        for r in resolved:
            assert r["status"] == "resolved" and r["summary"].startswith("Resolved: last failed at "), r
            assert r["rank"] > len(after["findings"]), r
        assert set(CASES[name][1]) <= set(r["category"] for r in resolved), (CASES[name][1], resolved)

        # 5. A second remediate from the same, now stale, report changes nothing: the roles re-check
        # their finding on the host and leave it alone; no new audit record.
        records = len(audit_records(audit_log))
        rc, out = remediate(str(tmp_path / "before"), audit_log, categories)
        timer.step("remediate again")
        assert rc == 0, out[-6000:]
        assert all(r.get("changed", 0) == 0 for r in recap(out).values()), (recap(out), out[-4000:])
        assert len(audit_records(audit_log)) == records, audit_records(audit_log)[records:]
    finally:
        print(timer)
        lab.apply(None)
