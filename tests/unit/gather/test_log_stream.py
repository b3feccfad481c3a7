"""The streamed log path (big windows) gives the same events as the in-memory one, holding one block.

Inputs are the real charon, pluto and syslog-carried logs captured from the lab
(tests/fixtures/lab/*/, see their NOTE.md) and the gather fixtures (tests/fixtures/gather/charon_log/)."""

from __future__ import annotations

import io
import json
import os
import time

import pytest

from _gather_helpers import FIXTURES, FakeHost

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import logsources, logwindow
from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import (
    charon_log, iter_event_json, iter_event_json_batches, parse_lines)

LAB = FIXTURES.parent / "lab"
CHARON_LOGS = sorted(LAB.glob("*/gw1.log")) + sorted(LAB.glob("*/cl1.log")) + [
    FIXTURES / "charon_log" / "gw-charon.log", FIXTURES / "charon_log" / "cl-charon.log"]
PLUTO_LOGS = sorted(LAB.glob("*/gw3.log"))


def _blocks(text, size):
    """Cut text into blocks of whole lines of about ``size`` characters, as Window.blocks does."""
    out = []
    while text:
        cut = text.rfind("\n", 0, size)
        if cut < 0:
            cut = text.find("\n")
            if cut < 0:
                cut = len(text) - 1
        out.append(text[:cut + 1])
        text = text[cut + 1:]
    return out


@pytest.mark.parametrize("path", CHARON_LOGS + PLUTO_LOGS, ids=lambda p: "%s/%s" % (p.parent.name, p.name))
@pytest.mark.parametrize("block", [200, 1 << 20])
def test_streamed_json_equals_parse_lines(path, block):
    text = path.read_text(encoding="utf-8", errors="replace")
    fmt = "pluto" if path.name == "gw3.log" else "charon-file"
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    want = parse_lines(lines, fmt=fmt, year=2026, tz="UTC", host="h1")
    got = [json.loads(t) for t in iter_event_json(_blocks(text, block), fmt, year=2026, tz="UTC", host="h1")]
    assert got == want
    assert len(got) > 10


def test_streamed_path_redacts_secrets_and_hex_dumps_across_blocks():
    # the lines of the parsers' redaction test, between real charon lines, cut into tiny blocks
    real = (FIXTURES / "charon_log" / "gw-charon.log").read_text().splitlines()[:40]
    secret = [
        '13[CFG] secret = "hunter2"',
        "13[CFG] loaded IKE shared key with id 'psk-1' for: 'a', 'b' psk=0sSGVsbG8=",
        "13[IKE] shared Diffie Hellman secret => 32 bytes @ 0x7f00",
        "13[IKE]    0: 12 34 56 78 9A BC DE F0 12 34 56 78 9A BC DE F0  .4Vx.....4Vx....",
        "13[IKE]   16: 12 34 56 78 9A BC DE F0 12 34 56 78 9A BC DE F0  .4Vx.....4Vx....",
        "13[IKE] next line is fine",
    ]
    lines = real[:20] + secret + real[20:]
    text = "\n".join(lines) + "\n"
    want = parse_lines(lines, fmt="charon-file", year=2026)
    for size in (60, 300, 1 << 20):
        texts = list(iter_event_json(_blocks(text, size), "charon-file", year=2026))
        assert [json.loads(t) for t in texts] == want
        joined = "".join(texts)
        for leak in ("hunter2", "SGVsbG8", "9A BC DE"):
            assert leak not in joined


def test_block_path_empty_ike_name_and_no_stamp():
    # "<|3>" (an empty name) and unstamped lines: the block regex cannot tell '' from absent by itself
    lines = ["13[IKE] <|3> received AUTHENTICATION_FAILED notify error",
             "13[IKE] <7> sending packet: from 192.0.2.1[500] to 192.0.2.2[500] (464 bytes)",
             "Nov 26 23:15:26 00[DMN] Starting IKE charon daemon (strongSwan 5.9.8, Linux 6.1, x86_64)"]
    want = parse_lines(lines, fmt="charon-file", year=2026)
    got = [json.loads(t) for t in iter_event_json(["\n".join(lines) + "\n"], "charon-file", year=2026)]
    assert got == want
    assert got[0]["ike_name"] == "" and got[1]["ike_name"] is None


def test_batches_need_a_line_format():
    with pytest.raises(ValueError):
        list(iter_event_json_batches(["x\n"], None))


def test_window_blocks_equal_read_window_lines_with_long_lines(tmp_path, monkeypatch):
    src = (FIXTURES / "charon_log" / "gw-charon.log").read_bytes()
    long_line = b"Nov 26 22:55:00 09[CFG] " + b"x" * 3000 + b"\n"
    data = src[:5000] + long_line + src[5000:]
    # a cut before the long line lands mid-line: put it at a line start
    p = tmp_path / "charon.log"
    p.write_bytes(data)
    os.utime(p, (time.time(), time.time()))
    res = logwindow.read_window(str(p), 0, max_lines=10 ** 6)
    for size in (512, 4096, 1 << 20):       # blocks smaller than the long line, and bigger
        win = logwindow.Window(str(p), 0, max_lines=10 ** 6)
        blocks = list(win.blocks(size))
        assert all(b.endswith("\n") for b in blocks)
        lines = "".join(blocks).split("\n")[:-1]
        assert lines == res["lines"] == data.decode().splitlines()
        if size == 512:
            assert len(blocks) > 10 and max(len(b) for b in blocks) > 3000


def test_cap_keeps_the_last_lines_and_says_so(tmp_path):
    src = (FIXTURES / "charon_log" / "gw-charon.log").read_bytes()
    p = tmp_path / "charon.log"
    p.write_bytes(src)
    all_lines = src.decode().splitlines()
    for cap in (1, 7, len(all_lines) - 1, len(all_lines), len(all_lines) + 5):
        res = logwindow.read_window(str(p), 0, max_lines=cap)
        assert res["lines"] == all_lines[-cap:]
        assert res["truncated"] == (cap < len(all_lines))


def _host_with(files):
    """A fake host that has exactly these log files (read from disk)."""
    host = FakeHost(commands={("journalctl",): None}, root_ok=tuple(str(f) for f in files))
    return host


@pytest.mark.parametrize("max_lines", [50, 10 ** 6])
def test_collect_streamed_equals_in_memory(tmp_path, monkeypatch, max_lines):
    # two sources: charon's own log and the same daemon's lines carried by syslog (a lab host's log
    # with a syslog prefix added, as rsyslog writes them), merged by time and capped together
    monkeypatch.setattr(logsources, "SYSLOG_FILES", (str(tmp_path / "syslog"),))
    monkeypatch.setattr(logsources, "DEFAULT_CHARON_LOGS", ())
    monkeypatch.setattr(logsources, "DEFAULT_PLUTO_LOGS", ())
    charon = tmp_path / "charon.log"
    charon.write_bytes((LAB / "clock_skew" / "gw1.log").read_bytes())
    sys_lines = []
    for line in (LAB / "clock_skew" / "cl1.log").read_text().splitlines():
        sys_lines.append("%s cl1 charon: %s" % (line[:15], line[16:]))
        sys_lines.append("%s cl1 kernel: [ 1.0] unrelated line" % line[:15])
    (tmp_path / "syslog").write_text("\n".join(sys_lines) + "\n")
    now = time.mktime((2026, 11, 27, 0, 0, 0, 0, 0, -1))
    for f in (charon, tmp_path / "syslog"):
        os.utime(f, (now, now))
    host = _host_with([charon, tmp_path / "syslog"])
    kw = dict(strongswan_log_paths=[str(charon)], journal=False, year_of=lambda p: 2026)
    ev_mem, files_mem, trunc_mem = logsources.collect(host, 0, None, max_lines, "UTC", "h1", **kw)
    ev_st, files_st, trunc_st = logsources.collect(host, 0, None, max_lines, "UTC", "h1", spool_bytes=0, **kw)
    assert isinstance(ev_mem, list) and isinstance(ev_st, logsources.SpooledEvents)
    assert list(ev_st) == ev_mem and len(ev_st) == len(ev_mem)
    assert trunc_st == trunc_mem == (max_lines == 50)
    assert [f["lines"] for f in files_st] == [f["lines"] for f in files_mem]
    out = io.StringIO()
    ev_st.write_json(out.write)
    assert json.loads(out.getvalue()) == ev_mem
    ev_st.close()


def test_out_of_order_source_is_sorted_like_the_in_memory_path():
    spool = logsources.EventSpool()
    evs = [{"ts": t, "n": i} for i, t in enumerate(["2026-01-01T00:00:02Z", None, "2026-01-01T00:00:01Z",
                                                    "2026-01-01T00:00:02Z"])]
    spool.add_batch([json.dumps(e) for e in evs])
    assert not spool.ordered
    got = list(logsources.SpooledEvents([spool], 0))
    assert got == sorted(evs, key=lambda e: e["ts"] or "")


class _Module(object):
    """What logsources.exit_json needs of AnsibleModule: exit_json printing through the hook."""

    def _record_module_result(self, o):
        print("\n%s" % json.dumps(o))

    def exit_json(self, **kw):
        self._record_module_result(dict(kw, invocation={"module_args": {}}))
        raise SystemExit(0)


def test_exit_json_streams_spooled_events_into_the_result(monkeypatch):
    spool = logsources.EventSpool()
    evs = parse_lines((FIXTURES / "charon_log" / "gw-charon.log").read_text().splitlines(), fmt="charon-file",
                      year=2026)
    spool.add_batch([json.dumps(e) for e in evs])
    events = logsources.SpooledEvents([spool], 3)
    mod = _Module()
    raw = io.BytesIO()
    real = io.TextIOWrapper(raw, encoding="utf-8")      # as sys.stdout: text over a byte buffer
    monkeypatch.setattr("sys.stdout", real)
    with pytest.raises(SystemExit):
        logsources.exit_json(mod, changed=False, ansible_facts={"ikev2": {"logs": {"events": events, "files": []},
                                                                          "time": {"x": 1}}})
    real.flush()
    res = json.loads(raw.getvalue().decode())
    assert res["ansible_facts"]["ikev2"]["logs"]["events"] == evs[3:]
    assert res["ansible_facts"]["ikev2"]["time"] == {"x": 1} and res["invocation"] == {"module_args": {}}


def test_exit_json_plain_list_is_untouched(monkeypatch):
    mod = _Module()
    real = io.StringIO()
    monkeypatch.setattr("sys.stdout", real)
    with pytest.raises(SystemExit):
        logsources.exit_json(mod, changed=False, ansible_facts={"ikev2": {"logs": {"events": [{"a": 1}]}}})
    assert json.loads(real.getvalue())["ansible_facts"]["ikev2"]["logs"]["events"] == [{"a": 1}]


def test_parse_json_equals_parse_on_every_fixture_line():
    from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import StampCache
    n = 0
    for path in CHARON_LOGS:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            a = charon_log.parse(line, StampCache(2026, None), "h1")
            b = charon_log.parse_json(line, StampCache(2026, None), '"h1"')
            assert (a is None) == (b is None)
            if a is not None:
                assert json.loads(b) == a
                n += 1
    assert n > 1000


def test_no_temporary_directory_falls_back_to_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(logsources, "SYSLOG_FILES", ())
    monkeypatch.setattr(logsources, "DEFAULT_CHARON_LOGS", ())
    monkeypatch.setattr(logsources, "DEFAULT_PLUTO_LOGS", ())
    charon = tmp_path / "charon.log"
    charon.write_bytes((LAB / "clock_skew" / "gw1.log").read_bytes())

    def no_tmp(*_a, **_k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(logsources.tempfile, "TemporaryFile", no_tmp)
    host = _host_with([charon])
    ev, files, _t = logsources.collect(host, 0, None, 10 ** 6, "UTC", "h1", strongswan_log_paths=[str(charon)],
                                       journal=False, year_of=lambda p: 2026, spool_bytes=0)
    assert isinstance(ev, list) and len(ev) == files[0]["lines"] > 10


@pytest.mark.parametrize("skip", [0, 1, 5, 39, 40])
def test_copy_from_spool_with_skips_across_small_reads(skip):
    evs = parse_lines((FIXTURES / "charon_log" / "gw-charon.log").read_text().splitlines()[:40], fmt="charon-file",
                      year=2026)
    spool = logsources.EventSpool()
    spool.add_batch([json.dumps(e) for e in evs])
    out = []
    logsources.SpooledEvents._copy_one(spool, skip, out.append, size=97)
    assert json.loads("[" + b"".join(out).decode() + "]") == evs[skip:]
