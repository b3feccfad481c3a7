"""journald parsing on real journald 252 output (tests/fixtures/journald/, see its NOTE.md).

gw: charon logging through syslog(3) into journald (thread, group and IKE SA in the text).
cl: charon-systemd logging natively (THREAD, GROUP, LEVEL, IKE_SA_NAME, IKE_SA_UNIQUE_ID fields).
Both as ``journalctl -o json`` / ``json-pretty`` and the text forms people paste.
"""

from __future__ import annotations

import json

import pytest
from _gather_helpers import REPO, FakeHost

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import logsources
from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import detect_format, journald, parse_line, parse_lines

JOURNALD = REPO / "tests" / "fixtures" / "journald"


def lines(name):
    return (JOURNALD / name).read_text(encoding="utf-8").splitlines()


def events(name, **kw):
    return parse_lines(lines(name), year=2026, tz="UTC", **kw)


def ike_entries(name):
    """The JSON entries an IKE daemon wrote (the rest is journald's own messages)."""
    return [json.loads(ln) for ln in lines(name) if json.loads(ln).get("_COMM", "").startswith("charon")]


def by_msg(evs, text):
    found = [e for e in evs if text in e["msg"]]
    assert found, "no event with %r" % text
    return found


@pytest.mark.parametrize("name,fmt", [
    ("gw-json.jsonl", "journald"), ("cl-json.jsonl", "journald"),
    ("gw-short.txt", "syslog"), ("cl-short-iso.txt", "syslog"), ("cl-short-precise.txt", "syslog"),
])
def test_detect_format(name, fmt):
    assert detect_format(lines(name)) == fmt


@pytest.mark.parametrize("host", ["gw", "cl"])
def test_every_ike_entry_becomes_one_event(host):
    evs = events("%s-json.jsonl" % host)
    assert len(evs) == len(ike_entries("%s-json.jsonl" % host)) > 90
    assert {e["daemon"] for e in evs} == {"charon"} and {e["source"] for e in evs} == {"journald"}
    assert {e["host"] for e in evs} == {"vm"}          # _HOSTNAME of the capture machine
    assert not any("systemd-journald" in e["raw"] for e in evs)


def test_syslog_transport_keeps_thread_and_sa_in_the_text():
    evs = events("gw-json.jsonl")
    (ev,) = by_msg(evs, "generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]")
    assert (ev["thread"], ev["subsystem"], ev["ike_id"], ev["exchange"], ev["direction"]) == (
        10, "ENC", "2", "IKE_AUTH", "response")
    assert ev["notifies"] == ["AUTHENTICATION_FAILED"]
    (est,) = by_msg(evs, "IKE_SA rw-cert[1] established")
    assert (est["ike_name"], est["ike_id"], est["peer"]) == ("rw-cert", "1", "192.0.2.2")
    (pkt,) = [e for e in by_msg(evs, "received packet: from 192.0.2.2[4500]") if e["ike_id"] == "2"]
    assert (pkt["peer"], pkt["peer_port"]) == ("192.0.2.2", 4500)


def test_charon_systemd_fields_become_event_keys():
    evs = events("cl-json.jsonl")
    (ev,) = by_msg(evs, "received AUTHENTICATION_FAILED notify error")
    assert (ev["thread"], ev["subsystem"], ev["level"], ev["ike_name"], ev["ike_id"]) == (13, "IKE", 1, "wrong-id", "2")
    assert ev["notifies"] == ["AUTHENTICATION_FAILED"]
    (gave_up,) = by_msg(evs, "giving up after 3 retransmits")
    assert (gave_up["ike_name"], gave_up["ike_id"]) == ("never-up", "3")
    (init,) = by_msg(evs, "initiating IKE_SA never-up[3] to 192.0.2.99")
    assert init["peer"] == "192.0.2.99" and init["level"] == 0


@pytest.mark.parametrize("host", ["gw", "cl"])
def test_json_time_is_the_time_journalctl_prints(host):
    """_SOURCE_REALTIME_TIMESTAMP first: a JSON export and a pasted short-precise agree to the µs."""
    js = events("%s-json.jsonl" % host)
    precise = events("%s-short-precise.txt" % host)
    assert [e["msg"] for e in js] == [e["msg"] for e in precise]
    assert [e["ts"] for e in js] == [e["ts"] for e in precise]
    # and the entries where journald stored the line later than it was sent exist in the capture
    assert any(o["_SOURCE_REALTIME_TIMESTAMP"] != o["__REALTIME_TIMESTAMP"] for o in ike_entries("%s-json.jsonl" % host))


def test_json_time_falls_back_to_the_receive_time():
    obj = ike_entries("cl-json.jsonl")[0]
    del obj["_SOURCE_REALTIME_TIMESTAMP"]
    ev = journald.parse(json.dumps(obj), None)
    assert ev["ts"].startswith("2026-12-05T14:22:") and ev["ts"] == journald._timestamp(obj["__REALTIME_TIMESTAMP"])
    obj["__REALTIME_TIMESTAMP"] = "not a number"
    assert journald.parse(json.dumps(obj), None)["ts"] is None


@pytest.mark.parametrize("host", ["gw", "cl"])
@pytest.mark.parametrize("form", ["short", "short-iso"])
def test_text_forms_to_the_second(host, form):
    js = events("%s-json.jsonl" % host)
    txt = events("%s-%s.txt" % (host, form))
    assert [e["msg"] for e in txt] == [e["msg"] for e in js]
    assert [e["ts"] for e in txt] == [e["ts"][:19] + "Z" for e in js]
    assert {e["host"] for e in txt} == {"vm"}


def test_text_forms_name_the_source():
    """charon-systemd's own identifier says journald; charon via syslog reads as syslog."""
    assert {e["source"] for e in events("cl-short.txt")} == {"journald"}
    assert {e["source"] for e in events("gw-short.txt")} == {"syslog"}
    # a pasted short output of the gateway keeps charon's thread and SA (they are in the text)
    (ev,) = by_msg(events("gw-short-iso.txt"), "no matching peer config found")
    assert (ev["thread"], ev["subsystem"], ev["ike_id"]) == (10, "CFG", "2")


@pytest.mark.parametrize("host", ["gw", "cl"])
def test_json_pretty_paste(host):
    pretty = events("%s-json-pretty.txt" % host)
    js = events("%s-json.jsonl" % host)
    assert [(e["ts"], e["msg"], e["ike_id"]) for e in pretty] == [(e["ts"], e["msg"], e["ike_id"]) for e in js]


def test_journalctl_markers_are_not_events():
    for marker in ("-- No entries --", "-- Boot 08dc79727baf4065b9754d5c1a3c6a27 --"):
        assert parse_line(marker, fmt="syslog") is None
    evs = parse_lines(["-- No entries --"] + lines("gw-short.txt"), year=2026, tz="UTC")
    assert len(evs) == len(events("gw-short.txt"))


def test_gather_journal_source_on_the_real_export():
    """logsources.journal_lines over the real export: every line kept, events parsed, bad lines counted."""
    out = "\n".join(lines("cl-json.jsonl") + ["garbage that is not JSON"]) + "\n"
    host = FakeHost(commands={("journalctl",): (0, out)})
    info, good = logsources.journal_lines(host, 1796480500, None, 20000)
    argv = host.ran[0]
    assert argv[:2] == ["journalctl", "-o"] and "--since" in argv and "_COMM=charon-systemd" in argv
    assert info["status"] == "ok" and "1 journal lines were not JSON" in info["reason"]
    assert len(good) == len(lines("cl-json.jsonl"))
    evs = logsources.to_events(good, "journald", tz="UTC", host="cl")
    assert len(evs) == len(ike_entries("cl-json.jsonl"))
