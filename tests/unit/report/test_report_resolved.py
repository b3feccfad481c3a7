"""The HTML page's "Resolved (recovered since)" section, from real "failed, then fixed" captures
(tests/fixtures/lab/resolved/NOTE.md says how they were made): each resolved failure shows after
the active findings with its last failure, recovery, host, category and evidence lines, escaped; the
fleet overview counts them apart from the faults; a report without ``resolved`` is unchanged."""

from __future__ import annotations

import copy
import html
import json
import pathlib
import re

import pytest

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import parse_lines
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.build import build_report
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.html_page import to_html
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import engine

RESOLVED = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "lab" / "resolved"
CAPTURED = sorted(p.name for p in RESOLVED.iterdir() if (p / "meta.json").exists()) if RESOLVED.exists() else []
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> \' " `|` </td></table>'

needs = pytest.mark.skipif(not CAPTURED, reason="no 'failed, then fixed' captures")


def _capture(name):
    """(classification, {host: ikev2 facts with the log's events}) of one capture, after the fix.

    The captured facts were saved without their ``logs`` section (the log files carry those
    lines); the events go back in as the gathering module makes them (``parse_lines``), so the
    page's timeline has the exchanges too."""
    d = RESOLVED / name
    year = int(json.loads((d / "meta.json").read_text())["captured"][:4])
    hosts, facts_by_host = {}, {}
    for f in sorted(d.glob("*.log")):
        events = parse_lines(f.read_text().splitlines(), year=year)
        facts = json.loads((d / ("%s.facts.json" % f.stem)).read_text())["ansible_facts"]["ikev2"]
        hosts[f.stem] = engine.HostInput(f.stem, events, facts=facts)
        facts_by_host[f.stem] = dict(facts, logs={"status": "ok", "events": events})
    return engine.classify(hosts), facts_by_host


@pytest.fixture(scope="module", params=CAPTURED)
def captured(request):
    report, facts = _capture(request.param)
    return request.param, report, facts


def _section(page, anchor):
    """The page's text from the <h2> with id ``anchor`` up to the next <h2>."""
    start = page.index('<h2 id="%s">' % anchor)
    end = page.find("<h2 ", start + 1)
    return page[start:end if end != -1 else len(page)]


@needs
def test_a_real_resolved_capture_renders_the_section(captured):
    name, report, facts = captured
    meta = json.loads((RESOLVED / name / "meta.json").read_text())
    resolved = report.get("resolved") or []
    assert set(meta["resolved_categories"]) <= set(r["category"] for r in resolved), resolved
    page = build_report(report, facts)["report.html"]
    # after the active findings, before the timeline, and linked from the top
    assert page.index('<h2 id="findings">') < page.index('<h2 id="resolved">') < page.index('<h2 id="timeline">')
    assert '<a href="#resolved">resolved</a>' in page
    section = _section(page, "resolved")
    assert section.startswith('<h2 id="resolved">Resolved (recovered since) (%d)</h2>' % len(resolved))
    for r in resolved:
        assert 'id="resolved-%d"' % r["rank"] in section
        assert "last failure <b>%s</b>" % html.escape(r["last_failure"]) in section
        assert "recovered <b>%s</b>" % html.escape(r["recovered"]) in section
        assert "%s on %s" % (r["category"], html.escape(", ".join(r["hosts"]))) in section
        assert html.escape(r["summary"], quote=True) in section
        for ev in r["evidence"]:
            assert "<code>%s</code>" % html.escape(ev["line"], quote=True) in section
        # the re-establishment is among the evidence shown
        assert "established with SPIs" in section
    # resolved failures are not findings: the findings section holds the active ones only
    findings = _section(page, "findings")
    assert "Findings (%d)" % len(report["findings"]) in findings
    assert not any('id="finding-%d"' % r["rank"] in page for r in resolved)
    assert "%d finding(s) &middot; %d resolved (recovered since)" % (len(report["findings"]), len(resolved)) in page


@needs
def test_the_fleet_overview_counts_resolved_apart(captured):
    _, report, facts = captured
    resolved = report["resolved"]
    page = build_report(report, facts)["report.html"]
    fleet = _section(page, "fleet")
    assert '<div class="card"><b>%d</b>resolved (recovered since, not faults)</div>' % len(resolved) in fleet
    assert "<th>resolved</th>" in fleet
    for host in set(h for r in resolved for h in r["hosts"]):
        want = sum(1 for r in resolved if host in r["hosts"])
        row = re.search(r"<tr><td>%s</td>.*?</tr>" % re.escape(host), fleet).group(0)
        cells = re.findall(r'<td class="n">([^<]*)</td>', row)
        assert cells[-1] == str(want), row       # up, IKE only, down, resolved
    # "hosts not ok" is the hosts' status, which a resolved failure does not change
    bad = sum(1 for h in report["hosts"].values() if h["status"] != "ok")
    assert '<div class="card"><b>%d</b>hosts not ok</div>' % bad in fleet


@needs
def test_a_report_without_resolved_renders_as_before(captured):
    """The same capture's classification without ``resolved`` (as a reader of the list-less report
    sees it): no section, no card, no column, no style for it; an empty list is the same as none."""
    _, report, facts = captured
    without = dict((k, v) for k, v in report.items() if k != "resolved")
    page = to_html(without, facts, generated="t")
    assert page == to_html(dict(without, resolved=[]), facts, generated="t")
    for text in ('id="resolved', "<th>resolved</th>", "recovered since", "Resolved", "#resolved",
                 ".finding.resolved", "finding resolved"):
        assert text not in page, text
    assert to_html(report, facts, generated="t") != page


def test_the_demo_report_has_no_resolved_section(demo_report, demo_facts):
    """The captured diagnose run (no resolved failures) renders without any of it."""
    assert "resolved" not in demo_report
    page = build_report(demo_report, demo_facts)["report.html"]
    assert 'id="resolved' not in page and "<th>resolved</th>" not in page and "recovered since" not in page


@needs
def test_resolved_evidence_is_escaped(captured):
    _, report, facts = captured
    rep = copy.deepcopy(report)
    r = rep["resolved"][0]
    r["evidence"].append({"host": HOSTILE, "source": HOSTILE, "line": HOSTILE})
    r["summary"] = HOSTILE
    r["hosts"] = [r["hosts"][0] + HOSTILE] + r["hosts"][1:]
    r["category"] = HOSTILE
    r["rule"] = HOSTILE
    r["last_failure"] = HOSTILE
    r["recovered"] = HOSTILE
    page = build_report(rep, facts)["report.html"]
    section = _section(page, "resolved")
    assert "<script" not in page and "<img" not in page and "</table> &" not in page
    assert "<code>%s</code>" % html.escape(HOSTILE, quote=True) in section
    assert "<td>%s</td>" % html.escape(HOSTILE, quote=True) in section
    assert "last failure <b>%s</b>" % html.escape(HOSTILE, quote=True) in section
    assert "recovered <b>%s</b>" % html.escape(HOSTILE, quote=True) in section
