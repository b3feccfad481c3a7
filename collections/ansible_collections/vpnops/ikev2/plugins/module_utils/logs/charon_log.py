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

import json
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


def enrich_fields(msg, ike_name, ike_id):
    """What a charon message says beyond its prefix, or None when it says nothing more.

    Returns ``(ike_name, ike_id, peer, peer_port, exchange, direction, notifies)``; ``ike_name`` and
    ``ike_id`` are the ones given unless the message names the IKE SA and they were unset. The one
    place that reads these fields: the dict path (``enrich``) and the JSON path (``parse_json``)
    both call it, so both produce the same event.
    """
    peer = peer_port = exchange = direction = None
    hit = False
    c = msg[:1]
    if c == 'p' or c == 'g':
        m = _RE_XCHG.match(msg)
        if m:
            exchange = m.group('x')
            direction = m.group('dir')
            hit = True
    elif c == 's' or c == 'r':
        if msg.startswith('sending packet: ') or msg.startswith('received packet: '):
            m = _RE_PKT.match(msg)
            if m is None:
                return None
            if msg[0] == 's':
                peer, peer_port = m.group(3), int(m.group(4))
                direction = 'out'
            else:
                peer, peer_port = m.group(1), int(m.group(2))
                direction = 'in'
            return ike_name, ike_id, peer, peer_port, exchange, direction, []
    elif c == 'i':
        m = _RE_INIT_TO.match(msg)
        if m:
            if ike_name is None:
                ike_name, ike_id = m.group(1), m.group(2)
            peer = m.group(3)
            exchange = 'IKE_SA_INIT'
            hit = True
    elif c == 'I' and msg.startswith('IKE_SA ') and ' established between ' in msg:
        m = _RE_ESTAB.match(msg)
        if m:
            if ike_name is None:
                ike_name, ike_id = m.group(1), m.group(2)
            peer = m.group(4)
            hit = True
    if ' is initiating a' in msg:
        m = _RE_IS_INIT.match(msg)
        if m:
            peer = m.group(1)
            exchange = 'IKE_SA_INIT'
            hit = True
    notifies = []
    if '_' in msg or 'N(' in msg:
        notifies = notifies_in(msg)
        hit = hit or bool(notifies)
    if not hit:
        return None
    return ike_name, ike_id, peer, peer_port, exchange, direction, notifies


def enrich(ev, msg):
    """Fill peer/exchange/direction/notifies from a charon message."""
    f = enrich_fields(msg, ev['ike_name'], ev['ike_id'])
    if f is None:
        return
    ev['ike_name'], ev['ike_id'] = f[0], f[1]
    if f[2] is not None:
        ev['peer'] = f[2]
    if f[3] is not None:
        ev['peer_port'] = f[3]
    if f[4] is not None:
        ev['exchange'] = f[4]
    if f[5] is not None:
        ev['direction'] = f[5]
    if f[6]:
        ev['notifies'] = f[6]


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


_ENC = json.encoder.encode_basestring_ascii
_EVENT_JSON = ('{"ts": %s, "host": %s, "daemon": "charon", "source": "charon-file", "thread": %d, "subsystem": "%s", '
               '"level": %s, "ike_name": %s, "ike_id": %s, "peer": %s, "peer_port": %s, "exchange": %s, "direction": %s, '
               '"notifies": %s, "msg": %s, "raw": %s}')


def _jstr(v):
    return 'null' if v is None else _ENC(v)


def parse_json(line, stamps, host_json='null'):
    """One charon file-log line straight to the JSON text of its event (``json.loads`` of it equals
    ``parse(line, ...)``), or None; ``host_json`` is the host already JSON-encoded. The streaming
    gather's hot path: no dict, no generic encoder."""
    m = _FILE_MATCH(line)
    if m is None:
        return None
    ts, thread, sub, lvl, name, iid, msg = m.groups()
    if ts is not None:
        ts = stamps.get(ts)
    f = enrich_fields(msg, name, iid) if msg else None
    if f is None:
        return _PLAIN_JSON % (
            'null' if ts is None else '"%s"' % ts, host_json, _THREADS.get(thread) or int(thread), sub,
            'null' if lvl is None else int(lvl), _jstr(name), 'null' if iid is None else '"%s"' % iid,
            _ENC(msg), _ENC(line))
    name, iid, peer, port, xchg, direction, notifies = f
    return _EVENT_JSON % (
        'null' if ts is None else '"%s"' % ts, host_json, _THREADS.get(thread) or int(thread), sub,
        'null' if lvl is None else int(lvl), _jstr(name), _jstr(iid), _jstr(peer),
        'null' if port is None else port, _jstr(xchg), _jstr(direction),
        '[%s]' % ', '.join('"%s"' % n for n in notifies), _ENC(msg), _ENC(line))


_THREAD_JSON = dict((k, str(v)) for k, v in _THREADS.items())
_ENRICH_FIRST = frozenset('pgsriI')


def parse_json_lines(lines, stamps, host_json='null', skip=()):
    """``parse_json`` over many lines in one loop: ``(texts, misses)``, a list with each line's JSON
    text, or None where the line is not a charon file-log line or is in ``skip`` (the caller gives
    those the full step), and the indexes of those Nones."""
    out = []
    misses = []
    append = out.append
    match = _FILE_MATCH
    prefixes = {}
    enc = _ENC
    plain = _PLAIN_JSON_BODY
    full = _EVENT_JSON_BODY
    tj = _THREAD_JSON
    first = _ENRICH_FIRST
    for line in lines:
        if line in skip:
            misses.append(len(out))
            append(None)
            continue
        m = match(line)
        if m is None:
            misses.append(len(out))
            append(None)
            continue
        ts, thread, sub, lvl, name, iid, msg = m.groups()
        pre = prefixes.get(ts)
        if pre is None:
            iso = stamps.get(ts) if ts is not None else None
            pre = '{"ts": %s, "host": %s, "daemon": "charon", "source": "charon-file", "thread": ' % (
                'null' if iso is None else '"%s"' % iso, host_json)
            if len(prefixes) > 4096:
                prefixes.clear()
            prefixes[ts] = pre
        f = None
        if msg and (msg[0] in first or '_' in msg or 'N(' in msg or ' is initiating a' in msg):
            f = enrich_fields(msg, name, iid)
        if f is None:
            append(pre + plain % (
                tj.get(thread) or str(int(thread)), sub, 'null' if lvl is None else int(lvl),
                'null' if name is None else enc(name), 'null' if iid is None else '"%s"' % iid, enc(msg), enc(line)))
        else:
            name, iid, peer, port, xchg, direction, notifies = f
            append(pre + full % (
                tj.get(thread) or str(int(thread)), sub, 'null' if lvl is None else int(lvl), _jstr(name), _jstr(iid),
                _jstr(peer), 'null' if port is None else port, _jstr(xchg), _jstr(direction),
                '[%s]' % ', '.join('"%s"' % n for n in notifies), enc(msg), enc(line)))
    return out, misses


# The file-log line shape again, for a whole block at once (re.M: one line per match; no group may
# cross a line end): the line, its stamp, "13[IKE] " (thread, subsystem, level), "<name|3> " and
# the message. Each of the middle three is turned into its JSON once and looked up after that.
_BLOCK_REST = (r'(\d{1,3}\[[A-Z]{2,4}(?:-?\d)?\] )(<(?:[^|<>\n]*\|)?\d+> )?(.*))$')
_BLOCK_LINE = re.compile(r'^((?:' + _TS.replace('(?P<ts>', '(') + r':?[^\S\n]+)?' + _BLOCK_REST, re.M)
# The same for blocks whose stamps are charon's default "%b %e %T" (a line that it does not take
# makes the counts differ and the general pattern runs: the results cannot differ, since a line
# that starts with a month name has no other way to match the general pattern).
_BLOCK_LINE_BSD = re.compile(
    r'^((?:((?:\d{4} )?[A-Z][a-z]{2} [ \d]?\d(?: \d{4})? \d\d:\d\d:\d\d(?:[.,]\d+)?):?[^\S\n]+)?' + _BLOCK_REST,
    re.M)
_TSL = re.compile(r'(\d{1,3})\[([A-Z]{2,4})(-?\d)?\] ')
_NID = re.compile(r'<(?:([^|<>\n]*)\|)?(\d+)> ')
_TAIL_PLAIN = (', "peer": null, "peer_port": null, "exchange": null, "direction": null, "notifies": [], '
               '"msg": %s, "raw": %s}')
_TAIL_FULL = ('"ike_name": %s, "ike_id": %s, "peer": %s, "peer_port": %s, "exchange": %s, "direction": %s, '
              '"notifies": %s, "msg": %s, "raw": %s}')


def parse_json_block(block, lines, stamps, host_json='null', misses=()):
    """``parse_json_lines`` for a block of text (``lines`` is ``block`` split at line ends), with one
    regex scan for the whole block. ``misses`` are indexes of lines the caller handles itself (their
    texts are None in the result). Returns ``(texts, misses)`` as ``parse_json_lines`` does."""
    found = None
    if 'A' <= block[:1] <= 'Z':
        found = _BLOCK_LINE_BSD.findall(block)
    if found is None or len(found) != len(lines):
        found = _BLOCK_LINE.findall(block)
    if len(found) != len(lines):     # some line is not charon's: line by line
        return parse_json_lines(lines, stamps, host_json, set(lines[i] for i in misses))
    out = []
    append = out.append
    prefixes = {}
    tsls = {}
    nids = {'': ('"ike_name": null, "ike_id": null', None, None)}
    enc = _ENC
    first = _ENRICH_FIRST
    plain = _TAIL_PLAIN
    full = _TAIL_FULL
    for line, ts, tsl, nid, msg in found:
        pre = prefixes.get(ts)
        if pre is None:
            iso = stamps.get(ts) if ts else None
            pre = '{"ts": %s, "host": %s, "daemon": "charon", "source": "charon-file", "thread": ' % (
                'null' if iso is None else '"%s"' % iso, host_json)
            if len(prefixes) > 4096:
                prefixes.clear()
            prefixes[ts] = pre
        frag = tsls.get(tsl)
        if frag is None:
            m = _TSL.match(tsl)
            frag = '%d, "subsystem": "%s", "level": %s, ' % (
                int(m.group(1)), m.group(2), int(m.group(3)) if m.group(3) else 'null')
            tsls[tsl] = frag
        nf = nids.get(nid)
        if nf is None:
            m = _NID.match(nid)
            nf = ('"ike_name": %s, "ike_id": "%s"' % (_jstr(m.group(1)), m.group(2)), m.group(1), m.group(2))
            if len(nids) > 4096:
                nids.clear()
                nids[''] = ('"ike_name": null, "ike_id": null', None, None)
            nids[nid] = nf
        if msg and (msg[0] in first or '_' in msg or 'N(' in msg or ' is initiating a' in msg):
            f = enrich_fields(msg, nf[1], nf[2])
            if f is not None:
                name, iid, peer, port, xchg, direction, notifies = f
                append(pre + frag + full % (
                    _jstr(name), _jstr(iid), _jstr(peer), 'null' if port is None else port, _jstr(xchg),
                    _jstr(direction), '[%s]' % ', '.join('"%s"' % n for n in notifies), enc(msg), enc(line)))
                continue
        append(pre + frag + nf[0] + plain % (enc(msg), enc(line)))
    misses = list(misses)
    for i in misses:
        out[i] = None
    return out, misses


# the event of a message that enrich_fields finds nothing in: the same text with the fixed nulls
_PLAIN_JSON = _EVENT_JSON.replace(
    '%s, "peer_port": %s, "exchange": %s, "direction": %s, "notifies": %s,',
    'null, "peer_port": null, "exchange": null, "direction": null, "notifies": [],')
# after the per-second prefix (ts, host, daemon, source): from the thread number on
_EVENT_JSON_BODY = _EVENT_JSON[_EVENT_JSON.index('"thread": ') + len('"thread": '):].replace('%d', '%s', 1)
_PLAIN_JSON_BODY = _PLAIN_JSON[_PLAIN_JSON.index('"thread": ') + len('"thread": '):].replace('%d', '%s', 1)


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
