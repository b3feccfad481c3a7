"""The report files rendered from a real diagnose run (tests/fixtures/report/demo) and from
hostile input: the JSON is the contract, the Markdown is the triage renderer's, the HTML is
self-contained, escapes everything taken from hosts and shows every finding and evidence line."""

from __future__ import annotations

import copy
import doctest
import html
import html.parser
import json

import pytest

from ansible_collections.vpnops.ikev2.plugins.plugin_utils import report as report_pkg
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report import build, fleet, html_page, timeline
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.build import build_report, contract, summary_lines
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.report import to_markdown

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> \' " `|` </td></table>'


class _Tags(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.styles = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def _tags(page):
    p = _Tags()
    p.feed(page)
    p.close()
    return p


def _render(report, facts):
    return build_report(report, facts)


@pytest.mark.parametrize("module", [report_pkg, build, fleet, html_page, timeline])
def test_docstring_examples(module):
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0


def test_json_is_exactly_the_contract(demo_report, demo_facts):
    registered = dict(demo_report, changed=False, failed=False, invocation={"module_args": {}})
    files = _render(registered, demo_facts)
    assert json.loads(files["report.json"]) == demo_report
    assert list(json.loads(files["report.json"])) == ["schema", "findings", "hosts"]


def test_markdown_is_the_triage_renderer(demo_report, demo_facts):
    assert _render(demo_report, demo_facts)["report.md"] == to_markdown(demo_report) + "\n"


def test_not_a_classification_is_refused():
    with pytest.raises(ValueError, match="lacks findings"):
        contract({"schema": 1, "hosts": {}})
    with pytest.raises(ValueError, match="unknown report format"):
        build_report({"schema": 1, "findings": [], "hosts": {}}, {}, formats=["pdf"])


def test_every_finding_and_evidence_line_appears(demo_report, demo_facts):
    files = _render(demo_report, demo_facts)
    page, md = files["report.html"], files["report.md"]
    assert demo_report["findings"], "the fixture has findings"
    for f in demo_report["findings"]:
        assert html.escape(f["summary"], quote=True) in page
        assert 'id="finding-%d"' % f["rank"] in page
        assert f["summary"] in md
        for ev in f["evidence"]:
            assert "<code>%s</code>" % html.escape(ev["line"], quote=True) in page
            md_line = ev["line"].replace("|", "\\|").replace("\n", " ").replace("`", "'")
            assert md_line in md


def test_fleet_overview_and_timeline_from_the_run(demo_report, demo_facts):
    page = _render(demo_report, demo_facts)["report.html"]
    for name in demo_report["hosts"]:
        assert "<tr><td>%s</td>" % name in page
    # cl1 is a day behind: the overview says so, and its tunnel's timeline is on the controller's clock
    assert "-1 d 0 h" in page
    assert "cl1 \u2194 gw1" in page
    assert "host clock: " in page


def test_html_is_self_contained(demo_report, demo_facts):
    page = _render(demo_report, demo_facts)["report.html"]
    parsed = _tags(page)
    names = {t for t, _ in parsed.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "frame", "audio", "video", "source",
                        "base", "form"}
    for tag, attrs in parsed.tags:
        for attr, value in attrs.items():
            assert not attr.startswith("on"), (tag, attr)
            assert attr not in ("src", "srcset", "action", "background"), (tag, attr)
            if attr == "href":
                assert value.startswith("#"), (tag, value)
    assert parsed.styles and all("url(" not in s and "@import" not in s for s in parsed.styles)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def _hostile(demo_report, demo_facts):
    rep = copy.deepcopy(demo_report)
    rep["findings"][0]["summary"] = HOSTILE
    rep["findings"][0]["hosts"] = ["cl1" + HOSTILE]
    rep["findings"][0]["evidence"].append({"host": HOSTILE, "source": HOSTILE, "line": HOSTILE})
    rep["hosts"]["cl1"]["reason"] = HOSTILE
    facts = copy.deepcopy(demo_facts)
    ev = dict(facts["gw1"]["logs"]["events"][-1])
    ev.update({"msg": "parsed IKE_AUTH request 7 [ %s ]" % HOSTILE, "raw": HOSTILE, "ike_id": "99",
               "peer": "198.19.0.16", "notifies": [HOSTILE, "AUTHENTICATION_FAILED"]})
    facts["gw1"]["logs"]["events"].append(ev)
    facts["gw1"]["daemon"]["version"] = HOSTILE
    return rep, facts


def test_html_escapes_everything_from_hosts(demo_report, demo_facts):
    rep, facts = _hostile(demo_report, demo_facts)
    page = _render(rep, facts)["report.html"]
    assert "<script" not in page and "<img" not in page and "</table> &" not in page
    assert html.escape(HOSTILE, quote=True) in page
    # the hostile message made it into the timeline, escaped, with its error notify flagged
    assert "IKE_AUTH request 7" in page and '<span class="nt">AUTHENTICATION_FAILED</span>' in page
    parsed = _tags(page)
    assert not {t for t, _ in parsed.tags} & {"script", "img"}
    assert all(not a.startswith("on") for _, attrs in parsed.tags for a in attrs)


def test_markdown_keeps_hostile_lines_in_their_cells(demo_report, demo_facts):
    rep, facts = _hostile(demo_report, demo_facts)
    md = _render(rep, facts)["report.md"]
    row = [line for line in md.splitlines() if line.startswith("| ") and "onerror" in line and "`" in line]
    assert row, "the hostile evidence line is in an evidence table row"
    # an escaped pipe does not open a new column; a backtick does not close the code span
    assert all(line.replace("\\|", "").count("|") == 4 for line in row)


def test_secrets_in_facts_never_reach_a_report(demo_report, demo_facts):
    secret = "psk-Sup3r-Secret-0xC0FFEE"
    facts = copy.deepcopy(demo_facts)
    for host in facts.values():
        files = host.setdefault("conns", {}).setdefault("files", {})
        files["/etc/swanctl/swanctl.conf"] = {"sha256": "0" * 64, "content": "secrets { ike { secret = %s } }" % secret}
        host.setdefault("firewall", {})["ruleset"] = "# %s" % secret
        host.setdefault("certs", {}).setdefault("certs", []).append({"subject": "CN=x", "private_key": secret})
    for name, text in _render(demo_report, facts).items():
        assert secret not in text, name
    # the real run's files are redacted at the source: the redaction marker is all that shows of a secret
    assert "<redacted>" in json.dumps(demo_facts)


def test_summary_lines_are_ranked_one_per_finding(demo_report):
    lines = summary_lines(demo_report)
    assert len(lines) == len(demo_report["findings"])
    for line, f in zip(lines, demo_report["findings"]):
        assert line.startswith("%d. %s %s: " % (f["rank"], f["category"], ", ".join(f["hosts"])))
        assert "\n" not in line and len(line) <= 160


def test_empty_report_says_no_fault():
    files = build_report({"schema": 1, "findings": [], "hosts": {"gw1": {"status": "ok", "reason": None}}}, {})
    assert "no fault found" in files["report.html"]
    assert "No fault found." in files["report.md"]
    assert summary_lines({"findings": [], "hosts": {}}) == ["no fault found"]
