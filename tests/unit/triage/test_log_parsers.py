"""Log line parsers: every format into the shared event shape (docs/architecture.md)."""

from __future__ import annotations

import doctest
import json

import pytest

from _triage_helpers import GATHER_LOGS

from ansible_collections.vpnops.ikev2.plugins.module_utils import logs
from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import (
    EVENT_KEYS,
    _common,
    detect_format,
    parse_line,
    parse_lines,
)

# (line, expected subset of the event, expected format)
CASES = [
    # charon file log, default time_format and ike_name (captured: tests/fixtures/gather/charon_log)
    ("Nov 26 23:00:09 13[IKE] <home|1> received AUTHENTICATION_FAILED notify error",
     {"ts": "2026-11-26T23:00:09Z", "daemon": "charon", "source": "charon-file", "thread": 13, "subsystem": "IKE",
      "ike_name": "home", "ike_id": "1", "notifies": ["AUTHENTICATION_FAILED"],
      "msg": "received AUTHENTICATION_FAILED notify error"}, "charon-file"),
    # no time_format, no ike_name
    ("13[IKE] received AUTHENTICATION_FAILED notify error",
     {"ts": None, "thread": 13, "ike_name": None, "ike_id": None}, "charon-file"),
    # unnamed SA: only the unique id
    ("Nov 26 23:00:09 16[NET] <1> received packet: from 192.0.2.2[500] to 192.0.2.1[500] (296 bytes)",
     {"ike_name": None, "ike_id": "1", "peer": "192.0.2.2", "peer_port": 500, "direction": "in"}, "charon-file"),
    ("Nov 26 23:00:09 10[NET] <1> sending packet: from 192.0.2.1[4500] to 192.0.2.2[4500] (65 bytes)",
     {"peer": "192.0.2.2", "peer_port": 4500, "direction": "out"}, "charon-file"),
    ("Nov 26 23:00:09 13[ENC] <home|1> parsed IKE_AUTH response 1 [ N(AUTH_FAILED) ]",
     {"exchange": "IKE_AUTH", "direction": "response", "notifies": ["AUTHENTICATION_FAILED"]}, "charon-file"),
    ("Nov 26 23:00:24 14[IKE] <never-up|3> initiating IKE_SA never-up[3] to 192.0.2.99",
     {"peer": "192.0.2.99", "exchange": "IKE_SA_INIT"}, "charon-file"),
    ("Nov 26 23:00:09 16[IKE] <1> 192.0.2.2 is initiating an IKE_SA", {"peer": "192.0.2.2"}, "charon-file"),
    # log level shown (log_level = yes), milliseconds, ISO time_format (Android app, custom time_format)
    ("2026-11-26 22:54:01.123 09[ENC2] <3> parsed IKE_SA_INIT response 0 [ N(NO_PROP) ]",
     {"ts": "2026-11-26T22:54:01.123Z", "level": 2, "notifies": ["NO_PROPOSAL_CHOSEN"]}, "charon-file"),
    ("Nov 26 22:54:01 13[IKE] <android|1> initiating IKE_SA android[1] to 203.0.113.5",
     {"ike_name": "android", "peer": "203.0.113.5"}, "charon-file"),
    # syslog RFC 3164, with host
    ("Nov 26 22:54:01 gw1 charon: 13[IKE] <gw-cl1|3> received AUTHENTICATION_FAILED notify error",
     {"host": "gw1", "source": "syslog", "daemon": "charon", "ike_name": "gw-cl1", "ike_id": "3"}, "syslog"),
    ("Nov 26 22:54:01 gw1 charon[812]: 07[CFG] received proposals: IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
     {"host": "gw1", "subsystem": "CFG"}, "syslog"),
    # with year
    ("2026 Nov 26 22:54:01 gw1 charon: 13[IKE] hello", {"ts": "2026-11-26T22:54:01Z"}, "syslog"),
    # rsyslog ISO stamps, converted to UTC
    ("2026-11-26T22:54:01.123456+01:00 gw1 charon[812]: 13[IKE] tried 1 shared key for 'a' - 'b', but MAC mismatched",
     {"ts": "2026-11-26T21:54:01.123456Z", "host": "gw1"}, "syslog"),
    # RFC 5424
    ("<30>1 2026-11-26T22:54:01.123Z gw1 charon 812 - - 13[IKE] received TS_UNACCEPTABLE notify, no CHILD_SA built",
     {"host": "gw1", "notifies": ["TS_UNACCEPTABLE"], "ts": "2026-11-26T22:54:01.123Z"}, "syslog"),
    # charon-systemd through the journal: no thread prefix
    ("Nov 26 22:54:01 gw1 charon-systemd[123]: received NO_PROPOSAL_CHOSEN notify error",
     {"daemon": "charon", "source": "journald", "thread": None, "notifies": ["NO_PROPOSAL_CHOSEN"]}, "syslog"),
    # pluto, both prefix styles
    ('"road-east-x509-ipv4"[1] 192.1.2.23 #1: sent IKE_AUTH request to 192.1.2.23:UDP/500',
     {"daemon": "pluto", "source": "pluto", "ike_name": "road-east-x509-ipv4", "ike_id": "1", "peer": "192.1.2.23",
      "peer_port": 500, "exchange": "IKE_AUTH", "direction": "request"}, "pluto"),
    ('"westnet-eastnet" #2: IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE',
     {"ike_name": "westnet-eastnet", "ike_id": "2", "notifies": ["TS_UNACCEPTABLE"]}, "pluto"),
    ('Nov 26 22:54:01 east pluto[123]: "conn" #1: STATE_PARENT_I1: sent v2I1, expected v2R1',
     {"host": "east", "daemon": "pluto", "source": "syslog", "exchange": "IKE_SA_INIT", "ike_id": "1"}, "syslog"),
    ("packet from 192.1.2.45:500: initial Main Mode message received on 192.1.2.23:500 but no connection has been authorized",
     {"daemon": "pluto", "peer": "192.1.2.45", "peer_port": 500}, "pluto"),
    ('ERROR: "west-east" #2: netlink response for Del SA esp.ESPSPIi@192.1.2.23: No such process (errno 3)',
     {"level": "error", "ike_name": "west-east"}, "pluto"),
    # journald JSON (charon-systemd fields)
    ('{"__REALTIME_TIMESTAMP":"1795733641000000","_HOSTNAME":"gw1","SYSLOG_IDENTIFIER":"charon-systemd",'
     '"MESSAGE":"received AUTHENTICATION_FAILED notify error","GROUP":"IKE","THREAD":"13",'
     '"IKE_SA_NAME":"gw","IKE_SA_UNIQUE_ID":"3"}',
     {"host": "gw1", "source": "journald", "subsystem": "IKE", "thread": 13, "ike_name": "gw", "ike_id": "3",
      "ts": "2026-11-26T22:54:01Z"}, "journald"),
    # Windows RasClient 20227 message text
    ("CoId={E3B1-42}: The user CORP\\bob dialed a connection named Office VPN which has failed. "
     "The error code returned on failure is 13801.",
     {"daemon": "windows", "source": "windows", "ike_name": "Office VPN"}, "windows"),
    # OpenWrt logread
    ("Thu Nov 26 22:54:01 2026 daemon.info charon: 13[IKE] <c|1> received AUTHENTICATION_FAILED notify error",
     {"ts": "2026-11-26T22:54:01Z", "source": "syslog", "ike_name": "c"}, "syslog"),
    # year after the time
    ("Nov 26 22:54:01 2025 gw1 charon: 13[IKE] hello", {"ts": "2025-11-26T22:54:01Z", "host": "gw1"}, "syslog"),
    # OPNsense and pfSense log views copied as text (tab separated)
    ("2026-11-26T22:54:01-05:00\tInformational\tcharon\t05[IKE] <con1|1> received AUTHENTICATION_FAILED notify error",
     {"ts": "2026-11-27T03:54:01Z", "ike_name": "con1", "notifies": ["AUTHENTICATION_FAILED"]}, "syslog"),
    ("Nov 26 22:54:01\tcharon\t51234\t13[IKE] <con1|5> received NO_PROPOSAL_CHOSEN notify error",
     {"ts": "2026-11-26T22:54:01Z", "ike_id": "5", "notifies": ["NO_PROPOSAL_CHOSEN"]}, "syslog"),
    # ipsec statusall
    ("  home[2]: ESTABLISHED 2 minutes ago, 192.0.2.2[cl.scratch]...192.0.2.1[gw.scratch]",
     {"source": "charon-status", "ike_name": "home", "ike_id": "2", "peer": "192.0.2.1"}, "charon-status"),
]


@pytest.mark.parametrize("line,expected,fmt", CASES, ids=[c[2] + ":" + c[0][:40] for c in CASES])
def test_parse_line_shape_and_fields(line, expected, fmt):
    ev = parse_line(line, year=2026)
    assert ev is not None, line
    assert set(ev) == set(EVENT_KEYS)
    for key, value in expected.items():
        assert ev[key] == value, (key, ev)
    assert ev["raw"] == line
    assert isinstance(ev["notifies"], list)
    assert detect_format([line]) == fmt


def test_detect_format_majority_and_unknown():
    sample = [c[0] for c in CASES if c[2] == "pluto"] + ["garbage"]
    assert detect_format(sample) == "pluto"
    assert detect_format(["hello world", "", "nothing here"]) == "unknown"
    assert detect_format([]) == "unknown"


def test_captured_charon_logs_parse_completely():
    for path in sorted(GATHER_LOGS.glob("*.log")):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert detect_format(lines[:200]) == "charon-file"
        events = parse_lines(lines, year=2026)
        assert len(events) == len([x for x in lines if x.strip()]), path
        assert all(e["ts"].startswith("2026-11-26T") for e in events)


def test_year_inference_rolls_over_december_to_january():
    lines = ["Dec 31 23:59:59 13[IKE] a", "Jan  1 00:00:01 13[IKE] b"]
    evs = parse_lines(lines, year=2025)
    assert [e["ts"] for e in evs] == ["2025-12-31T23:59:59Z", "2026-01-01T00:00:01Z"]
    evs = parse_lines(lines)  # inferred: never in the future
    y0, y1 = int(evs[0]["ts"][:4]), int(evs[1]["ts"][:4])
    assert y1 == y0 + 1
    assert evs[1]["ts"] <= _common.iso(_common.utc_now().replace(year=_common.utc_now().year + 1))


def test_guess_year_never_in_the_future():
    import datetime
    now = datetime.datetime(2026, 1, 5, tzinfo=datetime.timezone.utc)
    assert _common.guess_year(12, 30, now) == 2025
    assert _common.guess_year(1, 4, now) == 2026


def test_local_time_zone_converted_to_utc():
    ev = parse_line("Nov 26 22:54:01 gw1 charon: 13[IKE] x", year=2026, tz="+01:00")
    assert ev["ts"] == "2026-11-26T21:54:01Z"
    ev = parse_line("Jul 1 12:00:00 gw1 charon: 13[IKE] x", year=2026, tz="Europe/Berlin")
    assert ev["ts"] == "2026-07-01T10:00:00Z"
    with pytest.raises(ValueError):
        parse_line("x", tz="Mars/Olympus")


def test_host_argument_and_unknown_format():
    assert parse_line("13[IKE] x", host="gw9")["host"] == "gw9"
    assert parse_line("") is None
    assert parse_line("kernel: something unrelated") is None
    with pytest.raises(ValueError):
        parse_line("13[IKE] x", fmt="nonsense")
    # a named format falls back to detection for lines of another format
    assert parse_line('"c" #1: hello', fmt="charon-file")["daemon"] == "pluto"


def test_secrets_are_redacted_in_raw_and_msg():
    lines = [
        '13[CFG] secret = "hunter2"',
        "13[CFG] loaded IKE shared key with id 'psk-1' for: 'a', 'b' psk=0sSGVsbG8=",
        "13[IKE] shared Diffie Hellman secret => 32 bytes @ 0x7f00",
        "13[IKE]    0: 12 34 56 78 9A BC DE F0 12 34 56 78 9A BC DE F0  .4Vx.....4Vx....",
        "13[IKE]   16: 12 34 56 78 9A BC DE F0 12 34 56 78 9A BC DE F0  .4Vx.....4Vx....",
        "13[IKE] next line is fine",
    ]
    evs = parse_lines(lines)
    text = json.dumps(evs)
    for secret in ("hunter2", "SGVsbG8", "9A BC DE"):
        assert secret not in text
    assert evs[-1]["msg"] == "next line is fine"
    assert _common.redact("-----BEGIN RSA PRIVATE KEY-----MIIE...-----END RSA PRIVATE KEY-----").count("MIIE") == 0
    assert _common.redact(': PSK "topsecret"') == ': PSK <redacted>'


def test_journald_byte_array_message_and_plain_journalctl():
    obj = {"__REALTIME_TIMESTAMP": "1795733641000000", "SYSLOG_IDENTIFIER": "charon",
           "MESSAGE": list(b"13[IKE] received AUTHENTICATION_FAILED notify error \xff")}
    ev = parse_line(json.dumps(obj))
    assert ev["source"] == "journald" and ev["notifies"] == ["AUTHENTICATION_FAILED"]
    plain = ["-- Logs begin at Thu 2026-11-26 22:00:00 UTC. --",
             "Nov 26 22:54:01 gw1 charon-systemd[812]: received AUTHENTICATION_FAILED notify error"]
    evs = parse_lines(plain, fmt="journald", year=2026)
    assert len(evs) == 1 and evs[0]["host"] == "gw1" and evs[0]["source"] == "journald"


WINDOWS_TEXT = """Log Name:      Application
Source:        RasClient
Date:          11/26/2026 10:54:01 PM
Event ID:      20227
Task Category: None
Level:         Error
Computer:      LAPTOP-7
Description:
CoId={8F3C}: The user LAPTOP-7\\ann dialed a connection named Work which has failed. The error code returned on failure is 809.
"""

WINDOWS_XML = """<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="RasClient" />
    <EventID Qualifiers="0">20227</EventID>
    <TimeCreated SystemTime="2026-11-26T22:54:01.1234567Z" />
    <Computer>LAPTOP-7</Computer>
  </System>
  <EventData>
    <Data>{8F3C}</Data>
    <Data>LAPTOP-7\\ann</Data>
    <Data>Work</Data>
    <Data>13868</Data>
  </EventData>
</Event>"""

WINDOWS_CSV = ('Level,Date and Time,Source,Event ID,Task Category\n'
               'Error,11/26/2026 10:54:01 PM,RasClient,20227,None,"CoId={8F3C}: The user LAPTOP-7\\ann dialed a '
               'connection named Work which has failed. The error code returned on failure is 13806."\n')


@pytest.mark.parametrize("text,code,host", [
    (WINDOWS_TEXT, "809", "LAPTOP-7"), (WINDOWS_XML, "13868", "LAPTOP-7"), (WINDOWS_CSV, "13806", None)])
def test_windows_exports(text, code, host):
    lines = text.splitlines()
    assert detect_format(lines) == "windows"
    evs = parse_lines(lines)
    assert len(evs) == 1
    ev = evs[0]
    assert ev["daemon"] == "windows" and ev["ike_name"] == "Work"
    assert "error code returned on failure is %s" % code in ev["msg"]
    assert ev["ts"] == "2026-11-26T22:54:01Z" or ev["ts"].startswith("2026-11-26T22:54:01.")
    assert ev["host"] == host


def test_mixed_formats_in_one_input():
    lines = [CASES[0][0], CASES[9][0], CASES[15][0], CASES[21][0], "random noise", ""]
    evs = parse_lines(lines, year=2026)
    assert [e["daemon"] for e in evs] == ["charon", "charon", "pluto", "windows"]


def test_parse_lines_accepts_bytes_and_crlf():
    evs = parse_lines([b"13[IKE] a\r\n", b"13[IKE] b\xff\xfe\n"])
    assert [e["msg"] for e in evs] == ["a", "b\ufffd\ufffd"]


def test_doctests_of_parser_modules():
    for mod in (logs, _common):
        failed, _ = doctest.testmod(mod)
        assert failed == 0


def test_quoted_and_indented_paste_keeps_raw():
    for line in ("> Nov 26 22:54:01 13[IKE] <c|1> hello", "    Nov 26 22:54:01 13[IKE] <c|1> hello",
                 "> > \"c\" #1: hello"):
        ev = parse_lines([line], year=2026)[0]
        assert ev["raw"] == line and ev["msg"] == "hello"


def test_bare_messages_when_nothing_else_is_recognised():
    """``journalctl -o cat`` or text copied from a GUI: no prefix at all."""
    evs = parse_lines(["received AUTHENTICATION_FAILED notify error", "<home|3> no private key found for 'gw'", "x"])
    assert [(e["daemon"], e["ike_name"], e["msg"]) for e in evs] == [
        ("charon", None, "received AUTHENTICATION_FAILED notify error"), ("charon", "home", "no private key found for 'gw'")]
    assert parse_line("received AUTHENTICATION_FAILED notify error") is None  # a single line says too little
