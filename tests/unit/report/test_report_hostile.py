"""Property tests: whatever text hosts put in logs, names and reasons, the HTML page gains no
markup from it, and the renderers never crash."""

from __future__ import annotations

import html
import html.parser
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.build import build_report

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80) | st.sampled_from(
    ["<script>alert(1)</script>", "\"'><svg onload=x>", "</code></td></tr></table>", "&amp;&lt;", "`|`\n|"])


class _Collect(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = set()
        self.attrs = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(a for a, _ in attrs)


def _markup(page):
    p = _Collect()
    p.feed(page)
    p.close()
    return p.tags, p.attrs


def _case(t):
    report = {"schema": 1,
              "findings": [{"rank": 1, "category": "clock_skew", "rule": t, "confidence": 0.9, "hosts": ["cl1", t],
                            "phase": t, "summary": t, "evidence": [{"host": t, "source": t, "line": t}],
                            "remediation": {"role": t, "auto_remediable": True}}],
              "hosts": {"cl1": {"status": t, "reason": t}, "gw1": {"status": "ok", "reason": None}}}
    facts = {"cl1": {"daemon": {"name": t, "version": t}, "time": {"offset_s": -86400.0},
                     "logs": {"events": [{"ts": "2026-11-25T23:00:00Z", "ike_id": "1", "peer": "198.19.0.13",
                                          "msg": "generating IKE_AUTH request 1 [ %s ]" % t, "notifies": [t]},
                                         {"ts": t, "ike_id": "1", "msg": "parsed IKE_AUTH response 1 [ %s ]" % t,
                                          "notifies": [t]}]}},
             "gw1": {"network": {"addresses": ["198.19.0.13/16"]}, "time": {"offset_s": 0.2},
                     "logs": {"events": [{"ts": "2026-11-26T23:00:00Z", "ike_id": "4", "peer": "198.19.0.16",
                                          "msg": "parsed IKE_AUTH request 1 [ %s ]" % t}]}}}
    return report, facts


# The page's own markup for a tunnel that works and for one that failed (its timeline opens).
_OK, _FAILED = (_markup(build_report(*_case(t))["report.html"]) for t in ("plain", "AUTH_FAILED"))
BASELINE = (_OK[0] | _FAILED[0], _OK[1] | _FAILED[1])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_host_text_adds_no_markup(t):
    files = build_report(*_case(t))
    page = files["report.html"]
    tags, attrs = _markup(page)
    # a line that is not an IKE message leaves the timeline out: fewer tags, never others
    assert tags <= BASELINE[0] and attrs <= BASELINE[1]
    assert html.escape(t, quote=True) in page
    assert json.loads(files["report.json"])["findings"][0]["summary"] == t
