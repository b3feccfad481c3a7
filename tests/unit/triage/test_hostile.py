"""Hostile input never crashes the parsers, the engine, the command or the plugin's input path:
arbitrary bytes, invalid UTF-8, lines over 1 MB, truncated files, empty files, mixed formats."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _triage_helpers import GATHER_LOGS, peer_cases

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import EVENT_KEYS, detect_format, parse_line, parse_lines
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import engine
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.prefilter import Prefilter

REAL_LINES = []
for _c in peer_cases():
    for _k in ("log", "log_gateway", "log_client"):
        if _k in _c:
            REAL_LINES.extend(_c[_k].split("\n"))
REAL_LINES.extend((GATHER_LOGS / "cl-charon.log").read_text().splitlines()[::50])
PREFIXES = ["Nov 26 23:00:09 13[IKE] <a|1> ", "Nov 26 23:00:09 gw charon: 13[IKE] ", '"c"[1] 1.2.3.4 #1: ',
            "<30>1 2026-11-26T22:54:01Z gw charon 1 - - 13[CFG] ", "{\"MESSAGE\": ", "CoId={x}: ", ""]

real_line = st.sampled_from(REAL_LINES)
mutated = st.builds(lambda p, s, cut: (p + s)[:cut], st.sampled_from(PREFIXES),
                    st.one_of(real_line, st.text()), st.integers(0, 400))
line_strategy = st.one_of(st.text(), st.binary(), real_line, mutated)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_event(ev):
    assert set(ev) == set(EVENT_KEYS)
    assert ev["ts"] is None or (isinstance(ev["ts"], str) and ev["ts"].endswith("Z"))
    assert isinstance(ev["notifies"], list)
    json.dumps(ev)


@SETTINGS
@given(line_strategy)
def test_parse_line_never_crashes(line):
    ev = parse_line(line)
    if ev is not None:
        _check_event(ev)


@SETTINGS
@given(st.lists(line_strategy, max_size=30))
def test_parse_lines_and_detect_never_crash(lines):
    assert detect_format(lines) in ("charon-file", "syslog", "journald", "pluto", "windows", "charon-status", "unknown")
    for ev in parse_lines(lines):
        _check_event(ev)


@SETTINGS
@given(st.lists(line_strategy, max_size=30), st.lists(line_strategy, max_size=10))
def test_engine_never_crashes_on_garbage_events(a, b):
    hosts = {"a": engine.HostInput("a", parse_lines(a)), "b": engine.HostInput("b", parse_lines(b))}
    rep = engine.classify(hosts)
    json.dumps(rep)
    for i, f in enumerate(rep["findings"], 1):
        assert f["rank"] == i and 0.0 <= f["confidence"] <= 1.0


@SETTINGS
@given(st.dictionaries(st.sampled_from(["time", "firewall", "certs", "conns", "sas", "network", "resources",
                                        "daemon", "logs", "status", "hostname"]),
                       st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(),
                                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c,
                                                                                        max_size=4), max_leaves=20)))
def test_engine_never_crashes_on_garbage_facts(facts):
    rep = engine.classify({"h": engine.HostInput("h", facts=facts)})
    json.dumps(rep)


@SETTINGS
@given(st.binary(max_size=5000))
def test_prefilter_scan_on_arbitrary_bytes(data):
    p = engine.default_prefilter()
    fallback = Prefilter(p.signatures, backend="re")
    assert p.scan(data) == fallback.scan(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=300), real_line.map(lambda s: s.encode())), max_size=40),
       st.sampled_from(["text", "json", "md"]))
def test_cli_on_arbitrary_files(tmp_path_factory, run_cli, chunks, fmt):
    p = tmp_path_factory.mktemp("h") / "host.log"
    p.write_bytes(b"\n".join(chunks))
    res = run_cli("classify", "--log", str(p), "--format", fmt)
    assert res.rc in (0, 1), res.err
    assert "Traceback" not in res.err and res.err == ""
    if fmt == "json":
        json.loads(res.out)


def test_huge_line_truncated_empty_and_mixed(tmp_path, run_cli):
    huge = tmp_path / "huge.log"
    with open(huge, "wb") as f:
        f.write(b"Nov 26 23:00:09 13[IKE] <a|1> " + b"A" * (3 * 1024 * 1024) + b" received AUTHENTICATION_FAILED\n")
        f.write(b"\xff\xfe\x00garbage \xc3\x28 invalid utf-8\n" * 3)
        f.write(b"Nov 26 23:00:09 13[IKE] <a|1> tried 1 shared key for 'a' - 'b', but MAC mismatched")  # truncated
    res = run_cli("classify", "--log", str(huge), "--format", "json")
    assert res.rc == 1 and res.json()["findings"][0]["category"] == "psk_mismatch"
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    res = run_cli("classify", "--log", str(empty))
    assert res.rc == 0 and res.err == ""
    mixed = tmp_path / "mixed.log"
    mixed.write_text("\n".join([
        "Nov 26 23:00:09 13[IKE] <a|1> received AUTHENTICATION_FAILED notify error",
        '{"MESSAGE": "13[IKE] no private key found for \'gw\'", "_HOSTNAME": "mixed"}',
        '"west" #1: IKE SA authentication request rejected by peer: AUTHENTICATION_FAILED',
        "CoId={x}: The user y dialed a connection named z which has failed. The error code returned on failure is 13806.",
        "\x00\x01\x02 binary junk", ""]))
    res = run_cli("classify", "--log", "mixed=%s" % mixed, "--format", "json")
    assert res.rc == 1
    cats = [f["category"] for f in res.json()["findings"]]
    assert cats[0] == "cert_missing"


def test_big_file_takes_the_prefilter_path(tmp_path, run_cli):
    """Above the full-parse threshold only signature lines are parsed; the answer is the same."""
    base = (GATHER_LOGS / "cl-charon.log").read_bytes()
    big = tmp_path / "cl.log"
    with open(big, "wb") as f:
        while f.tell() < 6 * 1024 * 1024:
            f.write(base)
        f.write(b"Nov 26 23:59:00 13[IKE] <x|9> no trusted RSA public key found for 'gw.scratch'\n")
    res = run_cli("classify", "--log", str(big), "--format", "json")
    cats = [f["category"] for f in res.json()["findings"]]
    assert res.rc == 1 and ("cert_chain_incomplete" in cats or "cert_identity_mismatch" in cats)


def test_garbage_events_in_facts():
    facts = {"logs": {"events": [None, 3, "text", {"msg": 5}, {"raw": "tried 1 shared key for 'a' - 'b', but MAC mismatched"},
                                 {"msg": "received AUTHENTICATION_FAILED notify error", "ts": 12, "peer": ["x"]}]}}
    hi = engine.HostInput("h", events=facts["logs"]["events"], facts=facts)
    rep = engine.classify({"h": hi})
    assert rep["findings"][0]["category"] == "psk_mismatch"


def test_big_log_path_agrees_with_the_full_parse(tmp_path, run_cli):
    """The same lines read whole (small file) and through the prefilter with sampled context (the
    file repeated past the full-parse threshold) give the same categories."""
    lab = GATHER_LOGS.parent / "lab"
    parts = [(GATHER_LOGS / "cl-charon.log").read_bytes()]
    for name in ("psk_mismatch/gw1.log", "udp4500_blocked/cl3.log", "clock_skew/cl1.log"):
        if (lab / name).exists():
            parts.append((lab / name).read_bytes())
    block = b"".join(p if p.endswith(b"\n") else p + b"\n" for p in parts)
    small = tmp_path / "h.log"
    small.write_bytes(block)
    big = tmp_path / "big" / "h.log"
    big.parent.mkdir()
    big.write_bytes(block * (5 * 1024 * 1024 // len(block) + 1))
    cats = []
    for p in (small, big):
        res = run_cli("classify", "--log", str(p), "--format", "json", "--year", "2026")
        assert res.rc == 1, res.err
        cats.append(sorted(set(f["category"] for f in res.json()["findings"])))
    assert cats[0] == cats[1]
    assert "signature lines only" in run_cli("classify", "--log", str(big), "--format", "json").json()["hosts"]["h"]["reason"]
