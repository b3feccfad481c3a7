# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Syslog lines carrying charon or pluto messages, and plain ``journalctl`` output (same shape).

RFC 3164 (with or without year, with or without host), rsyslog's ISO stamps, RFC 5424, and
``journalctl -o short|short-iso|short-precise``::

    Nov 26 22:54:01 gw charon: 13[IKE] <gw-cl1|3> received AUTHENTICATION_FAILED notify error
    2024-11-26T22:54:01.123456+01:00 gw charon[812]: 13[IKE] ...
    <30>1 2024-11-26T22:54:01.123Z gw charon 812 - - 13[IKE] ...
    Nov 26 22:54:01 gw charon-systemd[812]: received AUTHENTICATION_FAILED notify error
    Nov 26 22:54:01 gw pluto[123]: "conn" #1: STATE_PARENT_I1: sent v2I1, expected v2R1
"""

from __future__ import annotations

import re

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import charon_log, pluto_log
from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import new_event

_PROG = r'(?P<prog>[A-Za-z][\w./-]*)(?:\[(?P<pid>\d+)\])?:\s'
PARSERS = [
    {
        # OpenWrt logread: "Thu Nov 26 22:54:01 2026 daemon.info charon: 13[IKE] ..."
        'name': 'openwrt',
        'getval': re.compile(
            r'^(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d \d{4}) (?:[a-z]+\.[a-z]+ )'
            r'(?P<host>)' + _PROG + r'(?P<rest>.*)$', re.S),
    },
    {
        'name': 'rfc3164',
        'getval': re.compile(
            r'^(?:<\d{1,3}>)?(?P<ts>(?:\d{4} )?[A-Z][a-z]{2} [ \d]?\d(?: \d{4})? \d\d:\d\d:\d\d(?:[.,]\d+)?(?: \d{4}(?= ))?)'
            r'(?: (?P<host>[^\s\[\]:]+))? ' + _PROG + r'(?P<rest>.*)$', re.S),
    },
    {
        'name': 'iso',
        'getval': re.compile(
            r'^(?:<\d{1,3}>)?(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)'
            r'(?: (?P<host>[^\s\[\]:]+))? ' + _PROG + r'(?P<rest>.*)$', re.S),
    },
    {
        # firewall GUIs copied as text, tab separated: OPNsense "ISO<TAB>Level<TAB>charon<TAB>msg",
        # pfSense "Nov 26 22:54:01<TAB>charon<TAB>51234<TAB>msg"
        'name': 'gui_tabs',
        'getval': re.compile(
            r'^(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?'
            r'|[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d)\t(?:[A-Za-z]+\t)?(?P<host>)(?P<prog>[A-Za-z][\w./-]*)'
            r'(?:\[(?P<pid>\d+)\])?\t(?:\d+\t)?(?P<rest>.*)$', re.S),
    },
    {
        'name': 'rfc5424',
        'getval': re.compile(
            r'^(?:<\d{1,3}>)?1 (?P<ts>\S+) (?P<host>\S+) (?P<prog>\S+) (?P<pid>\S+) \S+ '
            r'(?:-|\[.*?\](?:\[.*?\])*) ?(?P<rest>.*)$', re.S),
    },
]

CHARON_PROGS = frozenset(('charon', 'charon-systemd', 'charon-nm', 'charon-cmd', 'ipsec', 'strongswan',
                          'ipsec_starter', 'starter', 'swanctl', 'charon-svc', 'strongswan-swanctl',
                          'NetworkManager-strongswan', 'nm-strongswan-service'))
PLUTO_PROGS = frozenset(('pluto', 'ipsec_pluto', 'libreswan', 'ipsec-pluto', 'addconn', 'whack'))


def parse_rest(ev, prog, rest):
    """Dispatch a carried message to the charon or pluto body parser; False if neither daemon's."""
    if charon_log.parse_body(ev, rest):
        ev['daemon'] = 'charon'
        return True
    base = prog.rsplit('/', 1)[-1] if prog else ''
    if base in PLUTO_PROGS or base.startswith('pluto') or (base == 'ipsec' and rest[:1] == '"'):
        ev['daemon'] = 'pluto'
        pluto_log.parse_body(ev, rest)
        return True
    if base in CHARON_PROGS or base.startswith('charon'):
        ev['daemon'] = 'charon'
        # charon-systemd and charon's syslog without thread info: optional <conn|id>
        if rest[:1] == '<':
            m = re.match(r'<(?:([^|<>]*)\|)?(\d+)> ', rest)
            if m:
                ev['ike_name'], ev['ike_id'] = m.group(1), m.group(2)
                rest = rest[m.end():]
        ev['msg'] = rest
        charon_log.enrich(ev, rest)
        return True
    return False


def parse(line, stamps, host=None, source='syslog'):
    for row in PARSERS:
        m = row['getval'].match(line)
        if m is None:
            continue
        prog = m.group('prog')
        rest = m.group('rest')
        ev = new_event(source, None, rest, line)
        if prog == 'charon-systemd' and source == 'syslog':
            ev['source'] = 'journald'
        if not parse_rest(ev, prog, rest):
            return None
        ev['ts'] = stamps.get(m.group('ts'))
        ev['host'] = m.group('host') or host
        return ev
    return None
