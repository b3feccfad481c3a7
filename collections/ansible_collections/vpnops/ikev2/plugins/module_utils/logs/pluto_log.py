# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libreswan pluto: its own log file (``logfile=``, with or without ``logtime``), the message body
syslog and journald carry, and whack/console output.

Examples (pluto's own output)::

    "westnet-eastnet"[1] 192.1.2.45 #1: sent IKE_AUTH request to 192.1.2.23:UDP/500
    "conn" #1: STATE_PARENT_I1: sent v2I1, expected v2R1
    Nov 26 22:54:01.123456: "conn" #2: IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE
    packet from 192.1.2.45:500: initial Main Mode message received on 192.1.2.23:500 but no connection has been authorized
"""

from __future__ import annotations

import re

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import (
    new_event,
    notifies_in,
)

_TS = (r'(?P<ts>(?:\d{4} )?[A-Z][a-z]{2} [ \d]?\d(?: \d{4})? \d\d:\d\d:\d\d(?:[.,]\d+)?'
       r'|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)')

# Pluto prefixes a message with the connection, instance, peer and state serial when it has them.
BODY = re.compile(
    r'(?:(?P<tag>ERROR|IMPAIR|WARNING|FATAL ERROR|EXPECTATION FAILED|\| ?[a-z ]*): ?)?'
    r'(?:\d{3} )?'
    r'(?:"(?P<name>[^"]+)"(?:\[(?P<inst>\d+)\])?(?: (?P<peer>[0-9a-fA-F.:]+[0-9a-fA-F]|%any|\S+@\S+))?'
    r'(?: #(?P<serial>\d+))?: '
    r'|packet from (?P<pkt_peer>[^\s:]+(?::[^\s:]+)*?):(?P<pkt_port>\d+): '
    r'|#(?P<serial2>\d+): (?="))?'
    r'(?P<msg>.*)', re.S)

PARSERS = [
    {
        'name': 'pluto_file',
        'getval': re.compile(r'^(?:' + _TS + r':?\s+)?(?P<body>.*)$', re.S),
        'result': {'source': 'pluto'},
    },
]

_RE_XCHG = re.compile(
    r'\b(?P<verb>sent|processed|processing|received|sending) (?:a )?(?P<x>IKE_SA_INIT|IKE_AUTH|CREATE_CHILD_SA|'
    r'INFORMATIONAL|IKE_INTERMEDIATE) (?P<dir>request|response)')
_RE_ADDR = re.compile(r'\b(?:to|from) (?P<a>[0-9a-fA-F.:]+[0-9a-fA-F]):(?:(?:UDP|TCP)/)?(?P<p>\d+)')
_RE_STATE = re.compile(r'^(?P<st>STATE_[A-Z0-9_]+|[A-Z][A-Z0-9]*_[IR]\d?|IKE_SA_INIT_[IR]|IKE_AUTH_[IR]):')

_STATE_X = (
    ('STATE_PARENT_I1', 'IKE_SA_INIT'), ('STATE_PARENT_R1', 'IKE_SA_INIT'), ('IKE_SA_INIT', 'IKE_SA_INIT'),
    ('STATE_PARENT_I2', 'IKE_AUTH'), ('STATE_PARENT_R2', 'IKE_AUTH'), ('IKE_AUTH', 'IKE_AUTH'),
    ('STATE_V2_CREATE', 'CREATE_CHILD_SA'), ('STATE_MAIN', 'IKEv1 Main Mode'), ('STATE_QUICK', 'IKEv1 Quick Mode'),
    ('MAIN_', 'IKEv1 Main Mode'), ('QUICK_', 'IKEv1 Quick Mode'), ('ESTABLISHED_IKE_SA', 'INFORMATIONAL'),
)


def parse_body(ev, text):
    """Parse a pluto message body (after any syslog/journald carrier) into ``ev``."""
    m = BODY.match(text)
    if m is None:  # pragma: no cover - the body regex matches everything
        return False
    msg = m.group('msg')
    ev['ike_name'] = m.group('name')
    serial = m.group('serial') or m.group('serial2')
    if serial is not None:
        ev['ike_id'] = serial
    peer = m.group('peer') or m.group('pkt_peer')
    if peer is not None and peer != '%any':
        ev['peer'] = peer
    if m.group('pkt_port'):
        ev['peer_port'] = int(m.group('pkt_port'))
    tag = m.group('tag')
    if tag is not None:
        if tag.startswith('|'):
            ev['level'] = 'debug'
        else:
            ev['level'] = tag.lower()
    ev['msg'] = msg
    enrich(ev, msg)
    return True


def enrich(ev, msg):
    m = _RE_XCHG.search(msg) if ('request' in msg or 'response' in msg) else None
    if m:
        ev['exchange'] = m.group('x')
        ev['direction'] = m.group('dir')
    else:
        s = _RE_STATE.match(msg)
        if s:
            st = s.group('st')
            for prefix, x in _STATE_X:
                if st.startswith(prefix):
                    ev['exchange'] = x
                    break
    if ev['peer'] is None or ev['peer_port'] is None:
        if ' to ' in msg or ' from ' in msg:
            a = _RE_ADDR.search(msg)
            if a:
                if ev['peer'] is None or ev['peer'] == a.group('a'):
                    ev['peer'] = a.group('a')
                    ev['peer_port'] = int(a.group('p'))
    if '_' in msg or 'N(' in msg:
        ev['notifies'] = notifies_in(msg)


def parse(line, stamps, host=None):
    m = PARSERS[0]['getval'].match(line)
    if m is None:  # pragma: no cover
        return None
    body = m.group('body')
    ev = new_event('pluto', 'pluto', body, line)
    ts = m.group('ts')
    if ts is not None:
        ev['ts'] = stamps.get(ts)
    ev['host'] = host
    parse_body(ev, body)
    return ev
