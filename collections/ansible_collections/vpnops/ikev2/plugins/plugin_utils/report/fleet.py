# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet overview: one row per host from its ``ikev2`` facts and its status in the report.

A tunnel counts as up when its IKE SA is established and at least one CHILD_SA is installed,
as "IKE only" when the IKE SA is established without an installed CHILD_SA, and as down when a
loaded connection has no IKE SA at all (``sas.conns_without_sa``).
"""

from __future__ import annotations


def _d(value):
    return value if isinstance(value, dict) else {}


def _l(value):
    return value if isinstance(value, list) else []


def _num(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def clock_offset(facts):
    """The host's measured clock offset in seconds (host minus controller), or None.

    >>> clock_offset({'time': {'offset_s': -86400.2}})
    -86400.2
    >>> clock_offset({'time': {'status': 'error'}}) is None
    True
    """
    return _num(_d(_d(facts).get('time')).get('offset_s'))


def _established(state):
    return isinstance(state, str) and 'ESTABLISHED' in state.upper()


def _installed(state):
    return isinstance(state, str) and state.upper() in ('INSTALLED', 'ESTABLISHED', 'STATE_V2_ESTABLISHED_CHILD_SA')


def tunnel_counts(facts):
    """(up, ike_only, down) for one host's facts, or None when its SAs were not gathered.

    >>> tunnel_counts({'sas': {'status': 'ok', 'ike': [
    ...     {'state': 'ESTABLISHED', 'children': [{'state': 'INSTALLED'}]},
    ...     {'state': 'STATE_V2_ESTABLISHED_IKE_SA', 'children': []}],
    ...     'conns_without_sa': ['rw']}})
    (1, 1, 1)
    """
    sas = _d(_d(facts).get('sas'))
    if sas.get('status') not in ('ok', 'partial'):
        return None
    up = ike_only = 0
    for sa in _l(sas.get('ike')):
        sa = _d(sa)
        if not _established(sa.get('state')):
            continue
        if any(_installed(_d(c).get('state')) for c in _l(sa.get('children'))):
            up += 1
        else:
            ike_only += 1
    down = len(_l(sas.get('conns_without_sa')))
    return up, ike_only, down


def fleet_rows(report, facts_by_host):
    """One dict per host, sorted by name: name, status, reason, daemon, offset_s, up, ike_only, down."""
    hosts = _d(report.get('hosts'))
    names = sorted(set(hosts) | set(facts_by_host or {}))
    rows = []
    for name in names:
        facts = _d((facts_by_host or {}).get(name))
        entry = _d(hosts.get(name))
        daemon = _d(facts.get('daemon'))
        dname = daemon.get('name') if isinstance(daemon.get('name'), str) else None
        if dname and daemon.get('version'):
            dname = '%s %s' % (dname, daemon['version'])
        if dname and daemon.get('running') is False:
            dname += ' (not running)'
        counts = tunnel_counts(facts) if facts else None
        rows.append({
            'name': name,
            'status': entry.get('status') or facts.get('status') or 'missing',
            'reason': entry.get('reason') or facts.get('reason'),
            'daemon': dname,
            'offset_s': clock_offset(facts),
            'up': counts[0] if counts else None,
            'ike_only': counts[1] if counts else None,
            'down': counts[2] if counts else None,
        })
    return rows
