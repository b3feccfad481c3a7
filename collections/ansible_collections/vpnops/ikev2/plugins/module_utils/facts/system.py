# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sockets, interfaces and host resources: ``ss -uapn``, ``ip -j``, /proc.

>>> parse_ss('UNCONN 0 0 0.0.0.0:500 0.0.0.0:* users:(("charon",pid=7,fd=16))')
[{'proto': 'udp', 'addr': '0.0.0.0', 'port': 500, 'process': 'charon', 'pid': 7}]
"""
from __future__ import annotations

import json
import re

_USERS = re.compile(r'users:\(\("([^"]+)",pid=(\d+)')


def _split_addr(s):
    if s.startswith('['):
        addr, port = s[1:].partition(']:')[::2]
    else:
        addr, port = s.rpartition(':')[::2]
    addr = addr.split('%', 1)[0]
    return addr, int(port) if port.isdigit() else None


def parse_ss(text, proto='udp'):
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 5 or f[0] == 'State' or f[0] == 'Netid':
            continue
        if f[0] in ('udp', 'tcp', 'raw'):   # with -A or without -u the Netid column comes first
            proto, f = f[0], f[1:]
        addr, port = _split_addr(f[3])
        m = _USERS.search(line)
        out.append({'proto': proto, 'addr': addr, 'port': port,
                    'process': m.group(1) if m else None, 'pid': int(m.group(2)) if m else None})
    return out


def parse_ip_addr(text):
    """``ip -j addr`` to [{name, mtu, state, addrs: ['a/len']}]."""
    out = []
    for link in json.loads(text or '[]'):
        out.append({'name': link.get('ifname'), 'mtu': link.get('mtu'), 'state': link.get('operstate'),
                    'addrs': ['%s/%s' % (a.get('local'), a.get('prefixlen')) for a in link.get('addr_info', [])
                              if a.get('local')]})
    return out


def parse_ip_link(text):
    return {link.get('ifname'): {'mtu': link.get('mtu'), 'state': link.get('operstate'),
                                 'kind': (link.get('linkinfo') or {}).get('info_kind')}
            for link in json.loads(text or '[]')}


def parse_loadavg(text):
    f = text.split()
    return {'1m': float(f[0]), '5m': float(f[1]), '15m': float(f[2]),
            'running': int(f[3].split('/')[0]), 'threads': int(f[3].split('/')[1])}


def parse_meminfo(text):
    keys = {'MemTotal': 'total_kb', 'MemAvailable': 'available_kb', 'MemFree': 'free_kb',
            'SwapTotal': 'swap_total_kb', 'SwapFree': 'swap_free_kb'}
    out = {}
    for line in text.splitlines():
        k, v = line.partition(':')[::2]
        if k in keys:
            out[keys[k]] = int(v.split()[0])
    return out
