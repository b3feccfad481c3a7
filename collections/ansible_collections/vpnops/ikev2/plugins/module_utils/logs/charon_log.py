# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""strongSwan charon: the file log (with or without time_format, ike_name, log_level), the message
body other carriers wrap (syslog, journald, the Android app's log), and ``ipsec statusall`` lines.

Examples (charon's own output)::

    13[IKE] <gw-cl1|3> received AUTHENTICATION_FAILED notify error
    Nov 26 22:54:01 13[IKE] <gw-cl1|3> received AUTHENTICATION_FAILED notify error
    2024-11-26 22:54:01.123 13[NET] <3> sending packet: from 198.19.0.1[4500] to 198.19.0.2[4500] (80 bytes)
"""

from __future__ import annotations

import re

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import (
    new_event,
    notifies_in,
)

_TS = (r'(?P<ts>(?:\d{4} )?[A-Z][a-z]{2} [ \d]?\d(?: \d{4})? \d\d:\d\d:\d\d(?:[.,]\d+)?'
       r'|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?'
       r'|\d{1,2}[./]\d{1,2}[./]\d{4},? \d{1,2}:\d\d:\d\d(?:[.,]\d+)?(?: ?[AP]M)?)')

# The body charon prints after any carrier prefix: thread, subsystem, optional level, optional
# IKE SA name and unique id.
BODY = re.compile(
    r'(?P<thread>\d{1,3})\[(?P<sub>[A-Z]{2,4})(?P<level>-?\d)?\] '
    r'(?:<(?:(?P<name>[^|<>]*)\|)?(?P<id>\d+)> )?(?P<msg>.*)', re.S)

# The file log: optional stamp (any time_format the users commonly pick) then the body.
# netcommon rm_templates style: one table row per line shape.
PARSERS = [
    {
        'name': 'charon_file',
        'getval': re.compile(
            r'^(?:' + _TS + r':?\s+)?' + BODY.pattern, re.S),
        'result': {'source': 'charon-file'},
    },
]

# `ipsec statusall` / `swanctl --list-sas` style lines.
STATUS_PARSERS = [
    {
        'name': 'ike_sa',
        'getval': re.compile(
            r'^\s*(?P<name>[^\s\[\]{}]+)\[(?P<id>\d+)\]: (?P<state>[A-Z_]+)\b[^,]*,\s*'
            r'(?P<local>[^\s\[]+)\[(?P<lid>[^\]]*)\]\.\.\.(?P<peer>[^\s\[]+)\[(?P<rid>[^\]]*)\]'),
    },
    {
        'name': 'ike_sa_line',
        'getval': re.compile(r'^\s*(?P<name>[^\s\[\]{}]+)\[(?P<id>\d+)\]: (?P<msg>.*)$'),
    },
    {
        'name': 'child_sa_line',
        'getval': re.compile(r'^\s*(?P<name>[^\s\[\]{}]+)\{(?P<id>\d+)\}: (?P<msg>.*)$'),
    },
    {
        'name': 'conn_line',
        'getval': re.compile(r'^\s+(?P<name>[^\s\[\]{}:]+): (?P<msg>\s*\S.*)$'),
    },
    {
        'name': 'header',
        'getval': re.compile(
            r'^(?P<msg>(?:Status of IKE charon daemon|Security Associations|Connections:|'
            r'Listening IP addresses:|Virtual IP pools|Loaded plugins:|  uptime:|  worker threads:|'
            r'  malloc:|  loaded plugins:).*)$'),
    },
]

_FILE_MATCH = PARSERS[0]['getval'].match
_RE_XCHG = re.compile(r'^(?:parsed|generating) (?P<x>[A-Z_0-9]+) (?P<dir>request|response) (?P<mid>\d+) \[')
_RE_PKT = re.compile(r'^(?:sending|received) packet: from (\S+?)\[(\d+)\] to (\S+?)\[(\d+)\]')
_RE_INIT_TO = re.compile(r'^initiating (?:IKE_SA|Main Mode IKE_SA|Aggressive Mode IKE_SA) (\S+?)\[(\d+)\] to (\S+)')
_RE_IS_INIT = re.compile(r'^(\S+) is initiating an? ')
_RE_ESTAB = re.compile(
    r'^IKE_SA (\S+?)\[(\d+)\] established between (\S+?)\[[^\]]*\]\.\.\.(\S+?)\[')
_RE_RETRANS = re.compile(r'^(?:sending )?retransmit \d+ of (request|response)(?: with)? message ID (\d+)')


def enrich(ev, msg):
    """Fill peer/exchange/direction/notifies from a charon message."""
    c = msg[:1]
    if c == 'p' or c == 'g':
        m = _RE_XCHG.match(msg)
        if m:
            ev['exchange'] = m.group('x')
            ev['direction'] = m.group('dir')
    elif c == 's' or c == 'r':
        if msg.startswith('sending packet: ') or msg.startswith('received packet: '):
            m = _RE_PKT.match(msg)
            if m:
                if msg[0] == 's':
                    ev['peer'], ev['peer_port'] = m.group(3), int(m.group(4))
                    ev['direction'] = 'out'
                else:
                    ev['peer'], ev['peer_port'] = m.group(1), int(m.group(2))
                    ev['direction'] = 'in'
            return
    elif c == 'i':
        m = _RE_INIT_TO.match(msg)
        if m:
            if ev['ike_name'] is None:
                ev['ike_name'], ev['ike_id'] = m.group(1), m.group(2)
            ev['peer'] = m.group(3)
            ev['exchange'] = 'IKE_SA_INIT'
    elif c == 'I' and msg.startswith('IKE_SA ') and ' established between ' in msg:
        m = _RE_ESTAB.match(msg)
        if m:
            if ev['ike_name'] is None:
                ev['ike_name'], ev['ike_id'] = m.group(1), m.group(2)
            ev['peer'] = m.group(4)
    if ' is initiating a' in msg:
        m = _RE_IS_INIT.match(msg)
        if m:
            ev['peer'] = m.group(1)
            ev['exchange'] = 'IKE_SA_INIT'
    if '_' in msg or 'N(' in msg:
        ev['notifies'] = notifies_in(msg)


def parse_body(ev, text):
    """Parse charon's ``13[IKE] <conn|1> msg`` body into ``ev``; False when ``text`` is not one."""
    m = BODY.match(text)
    if m is None:
        return False
    msg = m.group('msg')
    ev['thread'] = int(m.group('thread'))
    ev['subsystem'] = m.group('sub')
    lvl = m.group('level')
    if lvl is not None:
        ev['level'] = int(lvl)
    ev['ike_name'] = m.group('name')
    i = m.group('id')
    if i is not None:
        ev['ike_id'] = i
    ev['msg'] = msg
    enrich(ev, msg)
    return True


_THREADS = dict((str(i), i) for i in range(1000))
_THREADS.update(('%02d' % i, i) for i in range(100))


def parse(line, stamps, host=None):
    """One charon file-log line to an event, or None (the hot path: one regex, one dict)."""
    m = _FILE_MATCH(line)
    if m is None:
        return None
    ts, thread, sub, lvl, name, iid, msg = m.groups()
    ev = {
        'ts': stamps.get(ts) if ts is not None else None, 'host': host, 'daemon': 'charon',
        'source': 'charon-file', 'thread': _THREADS.get(thread) or int(thread), 'subsystem': sub,
        'level': int(lvl) if lvl is not None else None, 'ike_name': name, 'ike_id': iid, 'peer': None,
        'peer_port': None, 'exchange': None, 'direction': None, 'notifies': [], 'msg': msg, 'raw': line,
    }
    enrich(ev, msg)
    return ev


def parse_status(line, host=None):
    """One ``ipsec statusall`` line to an event, or None."""
    for row in STATUS_PARSERS:
        m = row['getval'].match(line)
        if m is None:
            continue
        gd = m.groupdict()
        ev = new_event('charon-status', 'charon', gd.get('msg') or line.strip(), line)
        ev['host'] = host
        ev['ike_name'] = gd.get('name')
        ev['ike_id'] = gd.get('id')
        if gd.get('peer'):
            ev['peer'] = gd['peer']
            ev['msg'] = line.strip().split(': ', 1)[-1]
        if row['name'] == 'header':
            ev['ike_name'] = None
        if '_' in ev['msg']:
            ev['notifies'] = notifies_in(ev['msg'])
        return ev
    return None
