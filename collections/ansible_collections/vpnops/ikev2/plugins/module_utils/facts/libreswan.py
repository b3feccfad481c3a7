# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libreswan: the NSS certificate database through ``certutil`` and pluto's status.

>>> parse_certutil_list('Certificate Nickname  Trust Attributes\\n  SSL,S/MIME,JAR/XPI\\n\\ngw  P,,\\n')
[{'nickname': 'gw', 'trust': 'P,,'}]
"""
from __future__ import annotations

import re

NSS_DIRS = ('/var/lib/ipsec/nss', '/etc/ipsec.d')


def parse_certutil_list(text):
    """``certutil -L -d sql:DIR``: nicknames and trust flags."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith('Certificate Nickname') or 'SSL,S/MIME' in line:
            continue
        m = re.match(r'^(.*?)\s+([CcTtPpuwkKsSIi]*,[CcTtPpuwkKsSIi]*,[CcTtPpuwkKsSIi]*)\s*$', line)
        if m:
            out.append({'nickname': m.group(1).strip(), 'trust': m.group(2)})
    return out


def parse_certutil_keys(text):
    """``certutil -K -d sql:DIR``: the nickname, or the certificate subject when the key has no
    nickname, of every private key (certutil prints no key material here)."""
    names = []
    for line in text.splitlines():
        m = re.match(r'^<\s*\d+>\s+\w+\s+[0-9a-f]+\s+(.*)$', line.strip())
        if m:
            nick = m.group(1).strip()
            if ':' in nick and nick.startswith('NSS'):
                nick = nick.split(':', 1)[1]
            names.append(nick)
    return names


def dn_key(dn):
    """Order-insensitive form of a DN ('CN=a,O=b' == 'O=b, CN=a') for matching certutil's names."""
    return tuple(sorted(p.strip() for p in re.split(r',(?=\s*[A-Za-z.0-9]+=)', dn or '') if p.strip()))


# 000 "rw-cert": 10.3.0.0/24===198.19.0.15[@gw3.lab,MS+S=C]...%any[%fromcert,+MC+S=C]; unrouted; eroute owner: #0
_CONN_HEAD = re.compile(r'^"(?P<name>[^"]+)"(?P<inst>\[\d+\])?: (?P<left>\S*?\[[^\]]*\]|\S+?)(?:===\S+)?'
                        r'\.\.\.(?P<right>.+?); (?P<routing>[\w ]+); eroute owner')
_CONN_ATTR = re.compile(r'^"(?P<name>[^"]+)"(?P<inst>\[\d+\])?:\s+(?P<body>.*)$')
# 000 #1: "rw-cert"[1] 198.19.0.21:4500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); REKEY in 14123s; ...
_STATE = re.compile(r'^#(?P<serial>\d+): "(?P<name>[^"]+)"(?P<inst>\[\d+\])? (?P<peer>\S+?)(?::(?P<port>\d+))? '
                    r'(?P<state>STATE_\w+) \((?P<desc>[^)]*)\)(?P<rest>.*)$')
_TRAFFIC = re.compile(r'^#(?P<serial>\d+): "(?P<name>[^"]+)"(?:\[\d+\])? \S+ (?P<spis>(?:\S+@\S+ )+).*?Traffic: ESPin=(?P<in>\S+) ESPout=(?P<out>\S+?)!?')
_SUMMARY = re.compile(r'^IKE SAs: total\((\d+)\), half-open\((\d+)\), open\((\d+)\), authenticated\((\d+)\), anonymous\((\d+)\)')


def _algs(text):
    return [x.strip() for x in text.split(',') if x.strip()]


def _set_auth(c, m):
    c['local'][0]['auth'], c['remote'][0]['auth'] = m.group(1), m.group(2)


def _set_esp(c, m):
    for ch in c['children'] or [{}]:
        ch['esp_proposals'] = _algs(m.group(1))


def _set_life(c, m):
    c['rekey_time'], c['ipsec_life'] = int(m.group(1)), int(m.group(2))


def _set_policy(c, m):
    c['policy'] = m.group(1).strip().rstrip(';')
    c['version'] = 'IKEv2' if 'IKEv2' in c['policy'] else 'IKEv1'
    c['fragmentation'] = 'yes' if 'IKE_FRAG_ALLOW' in c['policy'] else 'no'


# One row per connection attribute pluto prints under ``"name":   ...`` (whack --status); a new
# attribute is a new row.
CONN_ATTRS = [
    {'name': 'auth', 'getval': re.compile(r'^our auth:(\w+), their auth:(\w+)'), 'result': _set_auth},
    {'name': 'ike_proposals', 'getval': re.compile(r'^IKE algorithms: (.*)$'),
     'result': lambda c, m: c.__setitem__('ike_proposals', _algs(m.group(1)))},
    {'name': 'esp_proposals', 'getval': re.compile(r'^ESP algorithms: (.*)$'), 'result': _set_esp},
    {'name': 'dpd_delay', 'getval': re.compile(r'dpddelay:(\d+)s'),
     'result': lambda c, m: c.__setitem__('dpd_delay', int(m.group(1)))},
    {'name': 'lifetimes', 'getval': re.compile(r'ike_life: (\d+)s; ipsec_life: (\d+)s'), 'result': _set_life},
    {'name': 'policy', 'getval': re.compile(r'^policy: (.*)$'), 'result': _set_policy},
    {'name': 'encap', 'getval': re.compile(r'nat-traversal: encaps:(\w+)'),
     'result': lambda c, m: c.__setitem__('encap', m.group(1) == 'yes')},
    {'name': 'ids', 'getval': re.compile(r'our id=(\S+); their idtype: \S+; their id=(.*)$'),
     'result': lambda c, m: c.__setitem__('ids', {'local': m.group(1), 'remote': m.group(2)})},
]


def _strip(line):
    return line[4:] if line.startswith('000 ') else line


def _end(text):
    """'198.19.0.15[@gw3.lab,MS+S=C]' -> ('198.19.0.15', '@gw3.lab'); '10.3.0.0/24===198...' handled by caller."""
    m = re.match(r'^(?P<addr>[^\[=]+)(?:\[(?P<id>[^\]]*)\])?', text)
    if not m:
        return text, None
    ident = m.group('id')
    if ident:
        ident = ident.split(',+')[0].split(',MS')[0].split(',S=')[0]
    return m.group('addr'), ident


def parse_whack_status(text):
    """``ipsec whack --status`` (pluto 4.x) to (connections, states, summary).

    Connections carry their ends, identities, auth methods, IKE and ESP algorithms, DPD and
    lifetimes; instances (``"name"[1]``) are folded into their template.
    """
    conns = {}
    states = {}
    summary = {}
    for raw in text.splitlines():
        line = _strip(raw).rstrip()
        m = _CONN_HEAD.match(line)
        if m:
            name = m.group('name')
            c = conns.setdefault(name, {'name': name, 'loaded': True, 'instances': 0, 'local_addrs': [],
                                        'remote_addrs': [], 'local': [{}], 'remote': [{}], 'children': []})
            if m.group('inst'):
                c['instances'] += 1
                continue
            left = m.group('left')
            if '===' in line.split('...')[0]:
                lts, rest = line.split(': ', 1)[1].split('===', 1)
                left = rest
                c['children'] = [{'name': name, 'local_ts': [lts], 'remote_ts': []}]
            laddr, lid = _end(left)
            right = m.group('right')
            raddr, rid = _end(right)
            if '===' in right:
                c['children'][0]['remote_ts'] = [right.split('===')[-1]] if c['children'] else []
            c['local_addrs'] = [laddr]
            c['remote_addrs'] = [raddr]
            c['local'][0]['id'] = lid
            c['remote'][0]['id'] = rid
            c['routing'] = m.group('routing')
            continue
        m = _CONN_ATTR.match(line)
        if m and m.group('name') in conns and not m.group('inst'):
            c = conns[m.group('name')]
            body = m.group('body')
            for row in CONN_ATTRS:
                am = row['getval'].search(body)
                if am:
                    row['result'](c, am)
            continue
        m = _STATE.match(line)
        if m:
            serial = int(m.group('serial'))
            st = m.group('state')
            states[serial] = {
                'serial': serial, 'name': m.group('name'), 'instance': (m.group('inst') or '').strip('[]') or None,
                'remote_host': m.group('peer'), 'remote_port': int(m.group('port')) if m.group('port') else None,
                'state': st, 'description': m.group('desc'),
                'kind': 'child' if ('CHILD' in st or 'IPSEC' in st or 'QUICK' in st) else 'ike',
                'established': 'ESTABLISHED' in st,
            }
            continue
        m = _TRAFFIC.match(line)
        if m and int(m.group('serial')) in states:
            states[int(m.group('serial'))].update(bytes_in=m.group('in'), bytes_out=m.group('out'))
            continue
        m = _SUMMARY.match(line)
        if m:
            summary = {'ike_sas': int(m.group(1)), 'half_open': int(m.group(2)), 'open': int(m.group(3)),
                       'authenticated': int(m.group(4)), 'anonymous': int(m.group(5))}
    return list(conns.values()), [states[k] for k in sorted(states)], summary


def sas_from_states(states):
    """IKE SAs in the shared shape, with their CHILD SAs attached by connection instance."""
    ike = []
    for st in states:
        if st['kind'] != 'ike':
            continue
        ike.append({'name': st['name'], 'uniqueid': st['serial'], 'state': st['state'],
                    'established': st['established'], 'remote_host': st['remote_host'],
                    'remote_port': st['remote_port'], 'children': []})
    for st in states:
        if st['kind'] == 'child':
            for sa in ike:
                if sa['name'] == st['name']:
                    sa['children'].append({'name': st['name'], 'uniqueid': st['serial'], 'state': st['state'],
                                           'bytes_in': st.get('bytes_in'), 'bytes_out': st.get('bytes_out')})
                    break
    return ike


def parse_globalstatus(text):
    """``ipsec globalstatus`` key=value counters to the resources' stats and limits."""
    kv = {}
    for line in text.splitlines():
        k, sep, v = line.partition('=')
        if sep:
            try:
                kv[k.strip()] = int(v.strip())
            except ValueError:
                kv[k.strip()] = v.strip()
    stats = {'ike_sas': kv.get('current.states.ike'), 'ipsec_sas': kv.get('current.states.ipsec'),
             'half_open': kv.get('current.states.iketype.halfopen'),
             'ikev2_established_total': kv.get('total.ike.ikev2.established'),
             'ikev2_failed_total': kv.get('total.ike.ikev2.failed')}
    limits = {'ddos_threshold': kv.get('config.setup.ike.ddos_threshold'),
              'max_halfopen': kv.get('config.setup.ike.max_halfopen')}
    return stats, limits, kv
