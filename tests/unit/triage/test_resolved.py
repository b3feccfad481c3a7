"""Resolved failures: a failure whose tunnel the same host's log shows re-established afterwards (and,
when the host's SAs were gathered, with a CHILD_SA installed now) is listed under ``resolved``, not
as a finding; a host fact that still shows the fault keeps it active.

The captures in tests/fixtures/lab/resolved/ are real: each scenario applied on the lab, fixed with
playbooks/remediate.yml, then every host's daemon log and its facts before and after the fix
(tests/fixtures/lab/resolved/NOTE.md says how).
"""

from __future__ import annotations

import json

import pytest

from _triage_helpers import FIXTURES, engine, parse_lines

RESOLVED = FIXTURES / "lab" / "resolved"
BEFORE = FIXTURES / "lab"          # the same scenarios captured until their tunnels had failed


def _meta(name):
    return json.loads((RESOLVED / name / "meta.json").read_text())


def _facts(name, host, before=False):
    path = RESOLVED / name / ("%s%s.facts.json" % (host, ".before" if before else ""))
    return json.loads(path.read_text())["ansible_facts"]["ikev2"]


def _classify(name, facts=None, cut=None, root=RESOLVED):
    """The scenario's logs (and ``facts``: 'after', 'before' or None) through the engine. ``cut``:
    host -> a function picking the lines to keep."""
    d = root / name
    year = int(json.loads((d / "meta.json").read_text())["captured"][:4])
    hosts = {}
    for f in sorted(d.glob("*.log")):
        lines = f.read_text().splitlines()
        if cut and f.stem in cut:
            lines = cut[f.stem](lines)
        hf = None
        if facts is not None and (d / ("%s.facts.json" % f.stem)).exists():
            hf = _facts(name, f.stem, before=facts == "before")
        hosts[f.stem] = engine.HostInput(f.stem, parse_lines(lines, year=year), facts=hf)
    return engine.classify(hosts)


def _keys(findings):
    return set((f["category"], f["hosts"][0]) for f in findings)


def _all_keys(findings):
    return set((f["category"], h) for f in findings for h in f["hosts"])


needs = pytest.mark.skipif(not RESOLVED.exists(), reason="no 'failed, then fixed' captures")
CAPTURED = sorted(p.name for p in RESOLVED.iterdir() if (p / "meta.json").exists()) if RESOLVED.exists() else []


@needs
@pytest.mark.parametrize("name", CAPTURED)
@pytest.mark.parametrize("facts", [None, "after"])
def test_a_fixed_fault_is_resolved_not_active(name, facts):
    """Logs that hold the failure and the recovery, with or without the hosts' facts after the fix:
    the fault is listed as resolved, ranked after every active finding, and nothing is active but
    the lab's own libreswan kernel limit (acknowledged in the inventory)."""
    meta = _meta(name)
    rep = _classify(name, facts=facts)
    expected = set((e["category"], e["host"]) for e in meta["expected_resolved"])
    assert not _all_keys(rep["findings"]) & expected, rep["findings"]
    assert [f for f in rep["findings"] if f["rule"] != "IKE-RES-004"] == [], rep["findings"]
    log_seen = set(meta["resolved_categories"])
    resolved = rep.get("resolved") or []
    assert log_seen <= set(r["category"] for r in resolved), resolved
    for r in resolved:
        assert r["status"] == "resolved" and r["rank"] > len(rep["findings"])
        assert r["last_failure"] and r["recovered"]
        assert r["summary"].startswith("Resolved: last failed at %s, re-established at %s" % (r["last_failure"], r["recovered"]))
        # the re-establishment is part of the evidence
        assert any("established with SPIs" in e["line"] for e in r["evidence"]), r["evidence"]
    if facts:
        assert all("(CHILD_SA installed now)" in r["summary"] for r in resolved)


@needs
@pytest.mark.parametrize("name", CAPTURED)
def test_the_same_scenario_before_the_fix_is_active(name):
    """The capture of the same scenario until its tunnels failed (tests/fixtures/lab/NAME): active,
    nothing resolved (the failures were never followed by a recovery)."""
    if not (BEFORE / name / "meta.json").exists() or name in ("esp_blocked",):
        pytest.skip("no log-only capture of %s" % name)
    meta = _meta(name)
    rep = _classify(name, root=BEFORE)
    expected = set((e["category"], e["host"]) for e in meta["expected_resolved"])
    assert expected <= _keys(rep["findings"]), rep["findings"]
    assert not rep.get("resolved")


def _until_fix(lines):
    """The log as it was before the fix: up to the last line of the failure, before any recovery."""
    fail = [i for i, line in enumerate(lines) if any(s in line for s in FAILURE_LINES)]
    assert fail, "no failure line in the capture"
    return lines[:fail[-1] + 1]


FAILURE_LINES = ("no acceptable proposal found", "received proposals unacceptable", "NO_PROPOSAL_CHOSEN",
                 "giving up after", "subject certificate invalid", "N(AUTH_FAILED)")


@needs
@pytest.mark.parametrize("name", CAPTURED)
def test_logs_cut_before_the_recovery_stay_active(name):
    """The very same captured logs, each cut after its last failing line: no recovery follows, so the
    fault is active again (resolution comes from the recovery lines, not from anything else)."""
    meta = _meta(name)
    if not meta["resolved_categories"]:
        pytest.skip("the fault shows only in facts")
    cut = dict((h, _until_fix) for h in meta["failing_logs"])
    rep = _classify(name, cut=cut)
    assert set(meta["resolved_categories"]) <= set(f["category"] for f in rep["findings"]), rep["findings"]
    assert not set(meta["resolved_categories"]) & set(r["category"] for r in rep.get("resolved") or [])


@needs
@pytest.mark.parametrize("name", CAPTURED)
def test_facts_from_before_the_fix_keep_it_active(name):
    """Recovered logs, but the facts gathered while the fault held: a fact still showing the fault
    (clock a day off, firewall dropping) keeps it active; with no installed CHILD_SA of that peer in
    the SA facts, a log recovery alone does not resolve it either."""
    meta = _meta(name)
    rep = _classify(name, facts="before")
    expected = set((e["category"], e["host"]) for e in meta["expected_resolved"])
    assert expected <= _all_keys(rep["findings"]), (rep["findings"], rep.get("resolved"))


@needs
@pytest.mark.skipif(not (RESOLVED / "proposal_mismatch_esp").exists(), reason="no capture")
def test_the_offline_command_reports_resolved(run_cli, tmp_path):
    """``ikev2-triage classify`` on the captured logs and facts: exit 0 (no fault), the resolved
    finding in JSON, Markdown and text."""
    d = RESOLVED / "proposal_mismatch_esp"
    logs = []
    for f in sorted(d.glob("*.log")):
        logs += ["--log", "%s=%s" % (f.stem, f)]
    args = list(logs)
    for f in sorted(d.glob("*.facts.json")):
        if ".before." not in f.name:
            args += ["--facts", str(f)]
    year = _meta("proposal_mismatch_esp")["captured"][:4]
    res = run_cli("classify", *args, "--format", "json", "--year", year,
                  "--acknowledge", "IKE-RES-004@gw3=lab kernel without XFRM")
    assert res.rc == 0, (res.err, res.out[-3000:])
    rep = res.json()
    assert rep["findings"] == []
    assert "proposal_mismatch" in [r["category"] for r in rep["resolved"]]
    md = run_cli("classify", *args, "--format", "md", "--year", year,
                 "--acknowledge", "IKE-RES-004@gw3=lab kernel without XFRM")
    assert md.rc == 0 and "## Resolved" in md.out and "No fault found." in md.out
    text = run_cli("classify", *args, "--format", "text", "--year", year,
                   "--acknowledge", "IKE-RES-004@gw3=lab kernel without XFRM")
    assert text.rc == 0 and "\nresolved: proposal_mismatch " in text.out
    # the same logs with the facts from before the fix: a fault again, exit 1
    before = list(logs)
    for f in sorted(d.glob("*.before.facts.json")):
        before += ["--facts", str(f)]
    res = run_cli("classify", *before, "--format", "json", "--year", year)
    assert res.rc == 1 and "proposal_mismatch" in [f["category"] for f in res.json()["findings"]]


def test_same_tunnel_needs_the_same_peer_and_agreeing_identities():
    same = engine._same_tunnel
    assert same(("198.19.0.12", None, "cl4.lab"), ("198.19.0.12", "rw-cert", "cl4.lab"))
    # two clients behind one NAT address: the other client's recovery is not this one's
    assert not same(("198.19.0.12", None, "cl4.lab"), ("198.19.0.12", "rw-cert", "cl5.lab"))
    assert not same(("198.19.0.13", "gw1", None), ("198.19.0.14", "gw1", None))
    # no peer address on the failing line: the connection name decides
    assert same((None, "gw1", None), ("198.19.0.13", "gw1", None))
    assert not same((None, None, None), ("198.19.0.13", "gw1", None))


def test_a_failure_followed_by_a_new_sa_is_resolved():
    """libreswan's own test ikev2-mobike-08 (peer-suites corpus): the liveness probe times out after a
    NAT mapping change, and road sets up a new SA: reported as resolved, not as a fault."""
    case = next(json.loads(line) for line in (FIXTURES / "peer-suites" / "cases.jsonl").read_text().splitlines()
                if '"ls-ikev2-mobike-08-nat-expire-liveness-road-mobike-no"' in line)
    rep = engine.classify({"road": engine.HostInput("road", parse_lines(case["log"].split("\n"), year=2026))})
    assert rep["findings"] == []
    assert [r["category"] for r in rep["resolved"]] == ["udp4500_blocked"]
    assert any("initiator established Child SA using #3" in e["line"] for e in rep["resolved"][0]["evidence"])


def test_a_restarted_daemon_reusing_sa_numbers_is_not_a_recovery():
    """Two real runs of gw1's charon appended to one log, as a restart leaves it: in the first
    (proposal_mismatch_ike) IKE_SA <1> is cl1, whose proposals gw1 refuses; in the second
    (cert_chain_incomplete) IKE_SA <1> is cl2, which comes up, while cl1 fails again. cl2's CHILD_SA
    is no recovery of cl1: the SA number is read against the nearest earlier line naming its peer."""
    lab = FIXTURES / "lab"
    lines = (lab / "proposal_mismatch_ike" / "gw1.log").read_text().splitlines()
    lines += (lab / "cert_chain_incomplete" / "gw1.log").read_text().splitlines()
    rep = engine.classify({"gw1": engine.HostInput("gw1", parse_lines(lines, year=2026))})
    assert "proposal_mismatch" in [f["category"] for f in rep["findings"]], rep
    assert "proposal_mismatch" not in [r["category"] for r in rep.get("resolved") or []]
