# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-tunnel timelines of the IKE exchanges, from the log events in the hosts' facts.

Each host's events that carry an IKE message (IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA,
INFORMATIONAL; request or response; sent or received) become timeline entries. Entries are
grouped into tunnels by the pair of hosts at both ends: the peer an event's IKE SA talks to is
resolved to an inventory host by identity first (through NAT the address is the router's) and
by address second; a peer that matches no host of the run stays an address. Times are corrected
by each host's measured clock offset (host minus controller), so both ends of a tunnel line up
on the controller's clock even when one host's clock is a day off.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.fleet import clock_offset

EXCHANGES = ('IKE_SA_INIT', 'IKE_AUTH', 'CREATE_CHILD_SA', 'INFORMATIONAL')
_EX = r'(?P<exchange>IKE_SA_INIT|IKE_AUTH|CREATE_CHILD_SA|INFORMATIONAL)'

# One row per daemon wording of "an IKE message went out / came in" (netcommon rm_templates style).
MESSAGE_TABLE = [
    {'name': 'charon_generating', 'way': 'sent',
     'getval': re.compile(r'^generating ' + _EX + r' (?P<kind>request|response) (?P<mid>\d+)(?: \[ ?(?P<payloads>.*?) ?\])?$')},
    {'name': 'charon_parsed', 'way': 'received',
     'getval': re.compile(r'^parsed ' + _EX + r' (?P<kind>request|response) (?P<mid>\d+)(?: \[ ?(?P<payloads>.*?) ?\])?$')},
    {'name': 'pluto_sent', 'way': 'sent',
     'getval': re.compile(r'^sent ' + _EX + r' (?P<kind>request|reply|response)\b(?: (?P<payloads>.*))?$')},
    {'name': 'pluto_processing', 'way': 'received',
     'getval': re.compile(r'^processing (?:decrypted )?' + _EX + r' (?P<kind>request|reply|response)\b:? ?(?P<payloads>.*)$')},
    {'name': 'pluto_responding', 'way': 'sent',
     'getval': re.compile(r'^responding to ' + _EX + r' message \(ID (?P<mid>\d+)\) from \S+ with (?P<payloads>.*)$'),
     'kind': 'response'},
]

_RE_DAEMON_START = re.compile(r'^(?:Starting IKE charon daemon|Starting Pluto)')
_RE_PEER_ID = re.compile(r'\.\.\.(?P<addr>[0-9A-Fa-f.:]+)\[(?P<id>[^\]]+)\]')
_RE_EE_CERT = re.compile(r'^received end entity cert "(?P<dn>[^"]*)"')
_RE_CN = re.compile(r'(?:^|,\s*)CN=(?P<cn>[^,]+)')


def _d(value):
    return value if isinstance(value, dict) else {}


def _l(value):
    return value if isinstance(value, list) else []


def parse_ts(ts):
    """An event's ISO 8601 UTC time as an aware datetime, or None.

    >>> parse_ts('2026-11-26T23:49:55.166715Z').isoformat()
    '2026-11-26T23:49:55.166715+00:00'
    >>> parse_ts('garbage') is None
    True
    """
    if not isinstance(ts, str) or not ts:
        return None
    text = ts.strip().replace('Z', '+00:00').replace('z', '+00:00')
    try:
        t = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(datetime.timezone.utc)


def match_message(event):
    """The IKE message an event records: dict(exchange, kind, way, mid, payloads) or None.

    >>> match_message({'msg': 'parsed IKE_AUTH response 1 [ IDr CERT AUTH N(TS_UNACCEPT) ]'})['payloads']
    'IDr CERT AUTH N(TS_UNACCEPT)'
    >>> match_message({'msg': 'sent IKE_SA_INIT reply {cipher=AES_GCM_16_256}'})['kind']
    'response'
    >>> match_message({'msg': 'selected proposal: IKE:AES_GCM_16_256'}) is None
    True
    """
    msg = event.get('msg')
    if not isinstance(msg, str) or not any(x in msg for x in EXCHANGES):
        return None
    for row in MESSAGE_TABLE:
        m = row['getval'].match(msg)
        if m is None:
            continue
        g = m.groupdict()
        kind = row.get('kind') or g.get('kind') or ''
        return {
            'exchange': g['exchange'],
            'kind': 'response' if kind in ('reply', 'response') else 'request',
            'way': row['way'],
            'mid': int(g['mid']) if g.get('mid') else None,
            'payloads': (g.get('payloads') or '').strip(),
        }
    return None


class _Directory(object):
    """Which inventory host an address or an identity belongs to."""

    def __init__(self, facts_by_host):
        self.by_addr = {}
        self.by_id = {}
        for name in sorted(facts_by_host):
            facts = _d(facts_by_host[name])
            self._add_id(facts.get('hostname'), name)
            self._add_id(name, name)
            net = _d(facts.get('network'))
            addrs = list(_l(net.get('addresses')))
            for itf in _l(net.get('interfaces')):
                addrs.extend(_l(_d(itf).get('addrs')))
            for a in addrs:
                if isinstance(a, str):
                    a = a.split('/')[0]
                    if not a.startswith('127.') and a != '::1':
                        self.by_addr.setdefault(a, name)
            for conn in _l(_d(facts.get('conns')).get('conns')):
                for auth in _l(_d(conn).get('local')):
                    self._add_id(_d(auth).get('id'), name)
            for sa in _l(_d(facts.get('sas')).get('ike')):
                self._add_id(_d(sa).get('local_id'), name)
            for cert in _l(_d(facts.get('certs')).get('certs')):
                cert = _d(cert)
                if cert.get('is_ca') is False and cert.get('has_private_key'):
                    m = _RE_CN.search(cert.get('subject') or '')
                    if m:
                        self._add_id(m.group('cn'), name)

    def _add_id(self, ident, name):
        if not isinstance(ident, str) or not ident or '*' in ident or ident.startswith('%'):
            return
        self.by_id.setdefault(ident.lstrip('@'), name)

    def host_of(self, ident=None, addr=None):
        if ident:
            host = self.by_id.get(ident.lstrip('@'))
            if host is None:
                m = _RE_CN.search(ident)
                host = self.by_id.get(m.group('cn')) if m else None
            if host:
                return host
        if addr:
            return self.by_addr.get(addr)
        return None


def _sa_groups(events):
    """Split a host's events into IKE SAs: (daemon run, connection-independent unique id).

    charon's and pluto's SA numbers restart with the daemon, so a daemon start opens a new run.
    """
    run = 0
    groups = {}
    for idx, ev in enumerate(events):
        msg = ev.get('msg') if isinstance(ev.get('msg'), str) else ''
        if _RE_DAEMON_START.match(msg):
            run += 1
            continue
        key = ev.get('ike_id')
        if key is None:
            continue
        groups.setdefault((run, str(key)), []).append(idx)
    return groups


def host_entries(name, facts, directory):
    """The timeline entries one host's events yield, each with the peer it talks to."""
    events = [e for e in _l(_d(_d(facts).get('logs')).get('events')) if isinstance(e, dict)]
    offset = clock_offset(facts) or 0.0
    peer_of = {}
    for idxs in _sa_groups(events).values():
        addr = ident = None
        for i in idxs:
            ev = events[i]
            msg = ev.get('msg') if isinstance(ev.get('msg'), str) else ''
            if addr is None and isinstance(ev.get('peer'), str):
                addr = ev['peer']
            m = _RE_PEER_ID.search(msg)
            if m and ident is None:
                ident = m.group('id')
                addr = addr or m.group('addr')
            m = _RE_EE_CERT.match(msg)
            if m and ident is None:  # the certificate a host receives is its peer's
                ident = m.group('dn')
        peer = directory.host_of(ident, addr)
        if peer == name:
            peer = None
        for i in idxs:
            peer_of[i] = (peer, addr)
    out = []
    for idx, ev in enumerate(events):
        msg = ev.get('msg') if isinstance(ev.get('msg'), str) else ''
        m = match_message(ev)
        if m is None:
            continue
        peer, addr = peer_of.get(idx, (None, ev.get('peer') if isinstance(ev.get('peer'), str) else None))
        host_t = parse_ts(ev.get('ts'))
        t = host_t - datetime.timedelta(seconds=offset) if host_t is not None else None
        entry = dict(m)
        entry.update({
            'host': name,
            'peer': peer or addr or '?',
            'peer_is_host': peer is not None,
            'ike_name': ev.get('ike_name'),
            'ike_id': ev.get('ike_id'),
            'host_ts': ev.get('ts'),
            'ts': t.isoformat().replace('+00:00', 'Z') if t is not None else None,
            'offset_s': offset,
            'notifies': [n for n in _l(ev.get('notifies')) if isinstance(n, str)],
            'raw': ev.get('raw') if isinstance(ev.get('raw'), str) else msg,
            'seq': idx,
        })
        out.append(entry)
    return out


def _same_message(a, b):
    """Same exchange and kind, and the same message id when both lines name one (pluto's often do not)."""
    if a.get('exchange') != b.get('exchange') or a.get('kind') != b.get('kind'):
        return False
    return a.get('mid') is None or b.get('mid') is None or a.get('mid') == b.get('mid')


def _pending_sender(received, entries, start, t, far, tolerance):
    """Index of the message in entries[start:] that must be shown before ``received``, or None: the
    sending of that same message, or for a response, the peer's receipt of its request."""
    for k in range(start, len(entries)):
        cand = entries[k]
        if t(cand) != far and t(received) != far and (t(cand) - t(received)).total_seconds() > tolerance:
            return None
        if cand.get('way') == 'sent' and _same_message(cand, received):
            return k
        # a response comes after the peer took in the request (pluto does not log every reply it sends)
        if (received.get('kind') == 'response' and cand.get('way') == 'received' and cand.get('kind') == 'request'
                and _same_message(cand, dict(received, kind='request'))):
            return k
    return None


def causal_merge(a, b, tolerance=3.0):
    """Merge two ends' entries (each in its log order) into one sequence, by corrected time, but
    never showing a message received before the other end sent it.

    Logs stamp whole seconds and offsets are measured to a fraction of a second, so corrected
    times of two ends can invert a request and its receipt. When the earlier head is a received
    message whose matching sent message (same exchange, kind and message id, within
    ``tolerance`` seconds) is still pending on the other side, the other side is emitted up to it.

    >>> s = lambda h, w, ex, k, t: {'host': h, 'way': w, 'exchange': ex, 'kind': k, 'mid': 0, 'ts': t}
    >>> a = [s('cl', 'sent', 'IKE_SA_INIT', 'request', '2026-01-01T00:00:01.9Z'),
    ...      s('cl', 'received', 'IKE_SA_INIT', 'response', '2026-01-01T00:00:01.9Z')]
    >>> b = [s('gw', 'received', 'IKE_SA_INIT', 'request', '2026-01-01T00:00:01.5Z'),
    ...      s('gw', 'sent', 'IKE_SA_INIT', 'response', '2026-01-01T00:00:01.5Z')]
    >>> [(e['host'], e['way']) for e in causal_merge(a, b)]
    [('cl', 'sent'), ('gw', 'received'), ('gw', 'sent'), ('cl', 'received')]
    """
    far = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)

    def t(e):
        return parse_ts(e.get('ts')) or far

    lists = [list(a), list(b)]
    heads = [0, 0]
    out = []
    while heads[0] < len(lists[0]) or heads[1] < len(lists[1]):
        if heads[0] >= len(lists[0]) or heads[1] >= len(lists[1]):
            side = 0 if heads[0] < len(lists[0]) else 1
            out.extend(lists[side][heads[side]:])
            heads[side] = len(lists[side])
            continue
        ea, eb = lists[0][heads[0]], lists[1][heads[1]]
        side = 0 if t(ea) <= t(eb) else 1
        first = lists[side][heads[side]]
        other = 1 - side
        if first.get('way') == 'received':
            k = _pending_sender(first, lists[other], heads[other], t, far, tolerance)
            if k is not None:
                out.extend(lists[other][heads[other]:k + 1])
                heads[other] = k + 1
                continue
        out.append(first)
        heads[side] += 1
    return out


def tunnels(facts_by_host, max_entries=80, tolerance=3.0):
    """Timelines keyed by tunnel, sorted by label.

    Returns a list of dicts: ``label``, ``ends`` (two names or addresses), ``entries`` (in
    corrected time, causally merged, the last ``max_entries``), ``total`` (entries before the cut).
    """
    directory = _Directory(facts_by_host)
    by_pair = {}
    for name in sorted(facts_by_host):
        for e in host_entries(name, facts_by_host[name], directory):
            ends = tuple(sorted((name, e['peer'])))
            by_pair.setdefault(ends, {}).setdefault(name, []).append(e)
    via = _join_nat_ends(by_pair, facts_by_host)
    out = []
    for ends in sorted(by_pair):
        sides = by_pair[ends]
        a = sides.get(ends[0], [])
        b = sides.get(ends[1], [])
        entries = causal_merge(a, b, tolerance)
        total = len(entries)
        if max_entries and total > max_entries:
            entries = entries[-max_entries:]
        out.append({'label': '%s \u2194 %s' % ends, 'ends': list(ends), 'entries': entries, 'total': total,
                    'via': via.get(ends)})
    return out


def _join_nat_ends(by_pair, facts_by_host):
    """Join a host's view of an unknown address to the one tunnel that lacks that host's side.

    Through NAT a gateway sees the router's address, and before IKE_AUTH it has no identity to
    tell which client that is. When exactly one tunnel to that gateway has entries from the other
    end only, that end is the one behind the address. Returns {ends: (host, address)} for the
    joined tunnels; with two candidates or more nothing is joined (a guess would mislead).
    """
    via = {}
    for ends in sorted(by_pair):
        if ends not in by_pair:
            continue
        hosts = [e for e in ends if e in facts_by_host]
        if len(hosts) != 1:
            continue
        host = hosts[0]
        addr = ends[1] if ends[0] == host else ends[0]
        cands = [other for other in by_pair
                 if host in other and other != ends and all(e in facts_by_host for e in other)
                 and host not in by_pair[other]]
        if len(cands) != 1:
            continue
        target = cands[0]
        for e in by_pair[ends][host]:
            e['peer'] = target[0] if target[1] == host else target[1]
        by_pair[target][host] = by_pair.pop(ends)[host]
        via[target] = (host, addr)
    return via
