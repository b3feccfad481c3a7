"""Fleet rows and per-tunnel timelines from the facts of a real diagnose run."""

from __future__ import annotations

import copy

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.fleet import fleet_rows
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.timeline import (
    match_message,
    parse_ts,
    tunnels,
)


def _by_label(tl):
    return {t["label"]: t for t in tl}


def test_fleet_rows(demo_report, demo_facts):
    rows = {r["name"]: r for r in fleet_rows(demo_report, demo_facts)}
    assert set(rows) == set(demo_report["hosts"])
    assert rows["cl1"]["offset_s"] < -86000
    assert rows["cl2"]["up"] == 1 and rows["gw1"]["up"] >= 1
    assert all(r["daemon"] for r in rows.values())


def test_tunnels_pair_both_ends_through_nat(demo_facts):
    tl = _by_label(tunnels(demo_facts))
    # cl4 and cl5 sit behind nat1: the gateways see nat1's address, the identity names the client
    for label in ("cl1 \u2194 gw1", "cl2 \u2194 gw1", "cl3 \u2194 gw2", "cl4 \u2194 gw2", "cl5 \u2194 gw1", "cl6 \u2194 gw3"):
        assert label in tl, sorted(tl)
        hosts = {e["host"] for e in tl[label]["entries"]}
        assert hosts == set(tl[label]["ends"]), (label, hosts)


def test_clock_skew_is_corrected(demo_facts):
    t = _by_label(tunnels(demo_facts))["cl1 \u2194 gw1"]
    cl1 = [e for e in t["entries"] if e["host"] == "cl1"]
    gw1 = [e for e in t["entries"] if e["host"] == "gw1"]
    assert cl1 and gw1
    # cl1 logs a day behind; corrected, its first message is within seconds of gw1's
    assert abs((parse_ts(cl1[0]["host_ts"]) - parse_ts(gw1[0]["host_ts"])).total_seconds()) > 86000
    assert abs((parse_ts(cl1[0]["ts"]) - parse_ts(gw1[0]["ts"])).total_seconds()) < 5


def _same(a, b):
    return (a["exchange"], a["kind"]) == (b["exchange"], b["kind"]) and (
        a["mid"] is None or b["mid"] is None or a["mid"] == b["mid"])


def test_every_receipt_follows_its_sending(demo_facts):
    checked = 0
    for t in tunnels(demo_facts, max_entries=0):
        entries = t["entries"]
        for i, e in enumerate(entries):
            if e["way"] != "received":
                continue
            sends = [j for j, s in enumerate(entries) if s["host"] != e["host"] and s["way"] == "sent" and _same(s, e)]
            if sends:  # the sender logged it (pluto does not log every reply): it shows first
                assert min(sends) < i, (t["label"], e["host"], e["exchange"], e["kind"])
                checked += 1
    assert checked > 10


def test_the_failure_shows_in_the_timeline(demo_facts):
    t = _by_label(tunnels(demo_facts))["cl1 \u2194 gw1"]
    assert any("AUTH_FAILED" in e["payloads"] for e in t["entries"])


def test_timeline_cut_keeps_the_most_recent(demo_facts):
    full = _by_label(tunnels(demo_facts, max_entries=0))["cl1 \u2194 gw1"]
    cut = _by_label(tunnels(demo_facts, max_entries=3))["cl1 \u2194 gw1"]
    assert cut["total"] == full["total"] and cut["entries"] == full["entries"][-3:]


def test_pluto_wordings():
    assert match_message({"msg": "processing decrypted IKE_AUTH request: SK{IDi,CERT}"})["way"] == "received"
    m = match_message({"msg": "responding to IKE_SA_INIT message (ID 0) from 198.19.0.21:500 with unencrypted "
                              "notification NO_PROPOSAL_CHOSEN"})
    assert (m["exchange"], m["kind"], m["way"], m["mid"]) == ("IKE_SA_INIT", "response", "sent", 0)


def test_garbled_facts_do_not_crash():
    facts = {"h1": {"logs": {"events": [None, 3, {"msg": None}, {"msg": "generating IKE_AUTH request 1 [ x ]",
                                                                "ts": "not a time", "ike_id": 5}]},
                    "time": {"offset_s": "bogus"}, "network": "nope", "sas": {"status": "ok", "ike": [None]}},
             "h2": None}
    tl = tunnels(copy.deepcopy(facts))
    assert tl and tl[0]["entries"][0]["ts"] is None
    rows = fleet_rows({"hosts": {"h3": {"status": "unreachable", "reason": "x"}}}, facts)
    assert {r["name"] for r in rows} == {"h1", "h2", "h3"}
