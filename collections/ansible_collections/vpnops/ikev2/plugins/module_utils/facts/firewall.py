# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evaluate a firewall ruleset for the three packets IKE needs inbound: UDP 500, UDP 4500, ESP.

The packets are a new flow (conntrack state ``new``) arriving on a non-loopback interface from an
unknown peer, once as IPv4 and once as IPv6 (``FAMILIES``): a host can admit IKE over IPv4 and drop
ESP over IPv6, and says so per family. nftables (``ip``, ``ip6``, ``inet`` and ``netdev`` tables): every filter base chain the packet meets (``netdev``/``inet``
ingress, then ``ip``/``inet`` prerouting, then input), each hook's chains in priority order (an accept ends one chain, the next base chain still sees
the packet; drop/reject end everything), rules in order, jumps, gotos, returns, chain policy,
sets, verdict maps. iptables: the ``filter`` table's INPUT chain the same way, ``iptables-save`` for
IPv4 and ``ip6tables-save`` for IPv6. firewalld: the zones that take inbound packets (bound to an
interface, else the default zone) with their services, ports, protocols and rich rules, in
firewalld's order (rich rules with a negative priority, then deny rules, then allow rules, then
positive priorities, then the zone's target). Matches the
evaluator cannot decide for an unknown peer (addresses, input interface names other than ``lo``,
marks) are assumed not to match and listed in ``uncertain``.
"""
from __future__ import annotations

import json
import re

PACKETS = {
    'udp500': {'l4proto': 'udp', 'proto_num': 17, 'dport': 500},
    'udp4500': {'l4proto': 'udp', 'proto_num': 17, 'dport': 4500},
    'esp': {'l4proto': 'esp', 'proto_num': 50, 'dport': None},
}
_PROTO_NUM = {'tcp': 6, 'udp': 17, 'icmp': 1, 'esp': 50, 'ah': 51, 'sctp': 132, 'icmpv6': 58,
              'gre': 47, 'udplite': 136, 'dccp': 33, 'ipv6-icmp': 58, 'all': None}
_SERVICE_PORT = {'isakmp': 500, 'ipsec-nat-t': 4500}
FAMILIES = ('ipv4', 'ipv6')
# Where an inbound packet meets base chains, in order: netdev ingress, then prerouting, then input;
# an IPv4 packet meets the ip and inet tables, an IPv6 packet the ip6 and inet tables.
_HOOK_ORDERS = {
    'ipv4': {('netdev', 'ingress'): 0, ('inet', 'ingress'): 0, ('ip', 'prerouting'): 1, ('inet', 'prerouting'): 1,
             ('ip', 'input'): 2, ('inet', 'input'): 2},
    'ipv6': {('netdev', 'ingress'): 0, ('inet', 'ingress'): 0, ('ip6', 'prerouting'): 1, ('inet', 'prerouting'): 1,
             ('ip6', 'input'): 2, ('inet', 'input'): 2},
}
_HOOK_ORDER = _HOOK_ORDERS['ipv4']
_PRIO_NAMES = {'raw': -300, 'mangle': -150, 'dstnat': -100, 'filter': 0, 'security': 50, 'srcnat': 100}


class Unknown(Exception):
    """A match the evaluator cannot decide."""


# --------------------------------------------------------------------------- nftables

class NftRuleset(object):
    def __init__(self, doc, family='ipv4'):
        if isinstance(doc, str):
            doc = json.loads(doc)
        if family not in FAMILIES:
            raise ValueError('unknown address family %r (ipv4 or ipv6)' % (family,))
        self.family = family
        hook_orders = _HOOK_ORDERS[family]
        self.chains = {}
        self.rules = {}
        self.sets = {}
        self.base = []
        for item in doc.get('nftables', []):
            if 'chain' in item:
                c = item['chain']
                key = (c['family'], c['table'], c['name'])
                self.chains[key] = c
                self.rules.setdefault(key, [])
                hook_order = hook_orders.get((c['family'], c.get('hook')))
                if hook_order is not None and c.get('type', 'filter') == 'filter':
                    prio = c.get('prio', 0)
                    if isinstance(prio, str):
                        prio = _PRIO_NAMES.get(prio, 0)
                    self.base.append(((hook_order, prio), key))
            elif 'rule' in item:
                r = item['rule']
                self.rules.setdefault((r['family'], r['table'], r['chain']), []).append(r)
            elif 'set' in item or 'map' in item:
                s = item.get('set') or item.get('map')
                self.sets[(s['family'], s['table'], s['name'])] = s.get('elem', [])
        self.base.sort(key=lambda x: x[0])

    # -- values
    def _field(self, left, pkt):
        if 'payload' in left:
            p = left['payload']
            proto, field = p.get('protocol'), p.get('field')
            if field == 'dport' and proto in ('udp', 'tcp', 'th', 'sctp', 'dccp', 'udplite'):
                if proto != 'th' and proto != pkt['l4proto']:
                    return _NoMatch
                if pkt['dport'] is None:
                    return _NoMatch
                return pkt['dport']
            if proto in ('tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 'esp', 'ah', 'th', 'udplite', 'dccp'):
                if proto == pkt['l4proto'] or (proto == 'th' and pkt['l4proto'] in ('udp', 'tcp')):
                    raise Unknown('%s %s' % (proto, field))
                return _NoMatch
            v6 = self.family == 'ipv6'
            if proto == 'ip' and field == 'protocol':
                return _NoMatch if v6 else pkt['l4proto']
            if proto == 'ip6' and field == 'nexthdr':
                # the first extension header would be the next header; a plain IKE/ESP packet has none
                return pkt['l4proto'] if v6 else _NoMatch
            if proto == 'ip6' and not v6 or proto == 'ip' and v6:
                return _NoMatch

            if proto == 'ether' or proto in ('vlan', 'arp'):
                raise Unknown('%s %s' % (proto, field))
            raise Unknown('%s %s' % (proto, field))
        if 'meta' in left:
            key = left['meta'].get('key')
            if key == 'l4proto':
                return pkt['l4proto']
            if key == 'nfproto':
                return self.family
            if key == 'protocol':
                return 'ip6' if self.family == 'ipv6' else 'ip'
            if key in ('iif', 'iifname'):
                return _Iface()
            if key == 'pkttype':
                return 'host'
            raise Unknown('meta %s' % key)
        if 'ct' in left:
            key = left['ct'].get('key')
            if key == 'state':
                return ['new']
            if key == 'status':
                return []
            raise Unknown('ct %s' % key)
        if 'fib' in left:
            raise Unknown('fib')
        raise Unknown(json.dumps(left, sort_keys=True)[:80])

    def _set_elems(self, right, family, table):
        if isinstance(right, str) and right.startswith('@'):
            return self.sets.get((family, table, right[1:]), [])
        if isinstance(right, dict) and 'set' in right:
            return right['set']
        return None

    def _eq(self, value, right, family, table):
        if isinstance(value, _Iface):
            names = self._set_elems(right, family, table) or [right]
            if all(n == 'lo' for n in names if isinstance(n, str)):
                return False
            raise Unknown('input interface %s' % right)
        elems = self._set_elems(right, family, table)
        if elems is None:
            elems = [right]
        for el in elems:
            if isinstance(el, list) and len(el) == 2:   # map element [key, verdict]
                el = el[0]
            if isinstance(el, dict) and 'elem' in el:
                el = el['elem'].get('val')
            if isinstance(el, dict) and 'range' in el:
                lo, hi = el['range']
                if isinstance(value, int) and _num(lo) <= value <= _num(hi):
                    return True
                continue
            if isinstance(el, dict) and 'prefix' in el:
                raise Unknown('prefix match')
            if isinstance(value, list):        # flags (ct state)
                wanted = el if isinstance(el, list) else [el]
                if any(v in wanted for v in value):
                    return True
                continue
            cmp = _pnorm if isinstance(value, str) else _norm
            if cmp(el) == cmp(value):
                return True
        return False

    def _match(self, m, pkt, family, table):
        value = self._field(m['left'], pkt)
        if value is _NoMatch:
            return m.get('op') == '!='
        op = m.get('op', '==')
        right = m['right']
        if op in ('==', 'in'):
            return self._eq(value, right, family, table)
        if op == '!=':
            return not self._eq(value, right, family, table)
        if op in ('<', '>', '<=', '>=') and isinstance(value, int):
            r = _num(right)
            return {'<': value < r, '>': value > r, '<=': value <= r, '>=': value >= r}[op]
        raise Unknown('op %s' % op)

    def _vmap(self, vm, pkt, family, table):
        value = self._field(vm['key'], pkt)
        if value is _NoMatch:
            return None
        elems = self._set_elems(vm['data'], family, table) or []
        for el in elems:
            key, verdict = el[0], el[1]
            if self._eq(value, {'set': [key]} if not isinstance(key, list) else {'set': key}, family, table):
                return verdict
        return None

    def evaluate(self, name):
        pkt = PACKETS[name]
        uncertain = []
        if not self.base:
            return 'accept', 'no ingress, prerouting or input filter chain: nothing filters inbound packets', uncertain
        for _prio, key in self.base:
            verdict, why = self._run_chain(key, pkt, uncertain, 0)
            if verdict in ('drop', 'reject'):
                dev = self.chains[key].get('dev')
                if dev:
                    why += ' (only for packets arriving on %s)' % (dev if isinstance(dev, str) else ', '.join(dev))
                elif self.chains[key].get('hook') == 'ingress':
                    why += " (ingress chain: only for packets arriving on its device)"
                return verdict, why, uncertain
        return 'accept', why, uncertain

    def _run_chain(self, key, pkt, uncertain, depth):
        family, table, chain = key
        if depth > 16:
            return 'unknown', 'jump depth exceeded at %s' % chain
        for rule in self.rules.get(key, []):
            where = '%s %s/%s rule %s' % (family, table, chain, rule.get('handle'))
            verdict = None
            try:
                matched = True
                for expr in rule.get('expr', []):
                    if 'match' in expr:
                        if not self._match(expr['match'], pkt, family, table):
                            matched = False
                            break
                    elif 'vmap' in expr:
                        verdict = self._vmap(expr['vmap'], pkt, family, table)
                        if verdict is None:
                            matched = False
                            break
                    elif any(k in expr for k in ('accept', 'drop', 'reject', 'jump', 'goto', 'return', 'continue')):
                        verdict = expr
                        break
                    # counter, log, limit, meta set ... do not decide
                if not matched or verdict is None:
                    continue
            except Unknown as exc:
                uncertain.append('%s: %s' % (where, exc))
                continue
            kind = list(verdict)[0]
            if kind in ('accept', 'drop', 'reject'):
                return kind, where + ': ' + kind
            if kind == 'return':
                return None, where + ': return'
            if kind in ('jump', 'goto'):
                target = (family, table, verdict[kind]['target'])
                v, why = self._run_chain(target, pkt, uncertain, depth + 1)
                if v is not None:
                    return v, why
                if kind == 'goto':
                    return None, why
        if key in self.base_keys():
            policy = self.chains[key].get('policy', 'accept')
            return policy, '%s %s/%s policy %s' % (family, table, chain, policy)
        return None, '%s %s/%s end (return)' % (family, table, chain)

    def base_keys(self):
        return {k for _p, k in self.base}


class _NoMatchType(object):
    pass


_NoMatch = _NoMatchType()


class _Iface(object):
    pass


def _num(v):
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v in _SERVICE_PORT:
        return _SERVICE_PORT[v]
    return int(v)


def _norm(v):
    if isinstance(v, str):
        if v in _PROTO_NUM:
            return ('p', _PROTO_NUM[v])
        if v in _SERVICE_PORT:
            return _SERVICE_PORT[v]
        if v.isdigit():
            return int(v)
    if isinstance(v, int):
        return v
    return v


def _pnorm(v):
    """Protocol value (name or number) to a comparable ('p', number)."""
    if isinstance(v, int):
        return ('p', v)
    return _norm(v)


def evaluate_nft(doc, family='ipv4'):
    """(verdicts, why, uncertain) for one address family."""
    rs = NftRuleset(doc, family)
    out = {}
    why = {}
    unc = {}
    for name in PACKETS:
        v, w, u = rs.evaluate(name)
        out[name] = v
        why[name] = w
        if u:
            unc[name] = u
    return out, why, unc


# --------------------------------------------------------------------------- iptables

def parse_iptables_save(text):
    """iptables-save text to {table: {chain: {'policy': x, 'rules': [argv...]}}}."""
    tables = {}
    cur = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('*'):
            cur = tables.setdefault(line[1:], {})
        elif line.startswith(':') and cur is not None:
            parts = line[1:].split()
            cur[parts[0]] = {'policy': parts[1] if len(parts) > 1 else '-', 'rules': []}
        elif line.startswith('-A') and cur is not None:
            argv = _shlex(line)
            chain = argv[1]
            cur.setdefault(chain, {'policy': '-', 'rules': []})['rules'].append(argv[2:])
        elif line == 'COMMIT':
            cur = None
    return tables


def _shlex(line):
    import shlex
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def _ipt_match(argv, pkt):
    """True/False for one rule's matches, Unknown when undecidable; returns (matched, target, goto)."""
    i = 0
    neg = False
    target = None
    goto = False
    proto = None
    while i < len(argv):
        a = argv[i]
        if a == '!':
            neg = True
            i += 1
            continue
        val = argv[i + 1] if i + 1 < len(argv) else None
        res = None
        if a in ('-p', '--protocol'):
            proto = val.lower()
            num = _PROTO_NUM.get(proto, int(proto) if proto.isdigit() else -1)
            res = proto == 'all' or num == pkt['proto_num']
            i += 2
        elif a in ('--dport', '--destination-port'):
            res = _port_in(pkt['dport'], val)
            i += 2
        elif a in ('--dports', '--destination-ports'):
            res = any(_port_in(pkt['dport'], p) for p in val.split(','))
            i += 2
        elif a in ('--ports',):
            res = any(_port_in(pkt['dport'], p) for p in val.split(','))
            i += 2
        elif a in ('--sport', '--source-port', '--sports', '--source-ports'):
            raise Unknown('source port %s' % val)
        elif a in ('--ctstate', '--state'):
            res = 'NEW' in val.upper().split(',')
            i += 2
        elif a in ('-i', '--in-interface'):
            if val == 'lo':
                res = False
            else:
                raise Unknown('input interface %s' % val)
            i += 2
        elif a in ('-s', '--source', '-d', '--destination'):
            if val in ('0.0.0.0/0', '0/0', '::/0'):
                res = True
            else:
                raise Unknown('address %s' % val)
            i += 2
        elif a in ('-m', '--match'):
            i += 2
            continue
        elif a in ('-j', '--jump', '-g', '--goto'):
            target = val
            goto = a in ('-g', '--goto')
            i += 2
            # target options follow; ignore them
            while i < len(argv) and argv[i].startswith('--'):
                i += 2
            continue
        elif a in ('-o', '--out-interface'):
            i += 2
            continue
        elif a in ('--comment', '--log-prefix', '--log-level', '--limit', '--limit-burst', '--reject-with',
                   '--set-mark', '--set-xmark'):
            i += 2
            continue
        elif a == '-c':
            i += 3
            continue
        else:
            raise Unknown('match %s %s' % (a, val or ''))
        if neg:
            res = not res
            neg = False
        if res is False:
            return False, target, goto
    return True, target, goto


def _port_in(port, spec):
    if port is None:
        return False
    spec = str(spec)
    if ':' in spec:
        lo, hi = spec.split(':', 1)
        return int(lo or 0) <= port <= int(hi or 65535)
    if spec.isdigit():
        return port == int(spec)
    return _SERVICE_PORT.get(spec) == port


def evaluate_iptables(text, family='ipv4'):
    """(verdicts, why, uncertain) of ``iptables-save`` (IPv4) or ``ip6tables-save`` (IPv6) output;
    the rule language is the same, ``family`` only names the tool in ``why``."""
    tables = parse_iptables_save(text)
    filt = tables.get('filter', {})
    out, why, unc = {}, {}, {}
    for name, pkt in PACKETS.items():
        u = []
        if 'INPUT' not in filt:
            v, w = 'accept', 'no filter INPUT chain'
        else:
            v, w = _ipt_chain(filt, 'INPUT', pkt, u, 0)
            if v is None:
                pol = filt['INPUT']['policy'].lower()
                v, w = pol, 'filter/INPUT policy %s' % filt['INPUT']['policy']
        out[name] = v
        why[name] = ('ip6tables ' + w) if family == 'ipv6' else w
        if u:
            unc[name] = u
    return out, why, unc


def _ipt_chain(filt, chain, pkt, unc, depth):
    if depth > 16 or chain not in filt:
        return 'unknown', 'chain %s missing or too deep' % chain
    for idx, argv in enumerate(filt[chain]['rules'], 1):
        where = 'filter/%s rule %d (%s)' % (chain, idx, ' '.join(argv))
        try:
            matched, target, goto = _ipt_match(argv, pkt)
        except Unknown as exc:
            unc.append('%s: %s' % (where, exc))
            continue
        if not matched or not target:
            continue
        t = target.upper()
        if t in ('ACCEPT', 'DROP', 'REJECT'):
            return t.lower(), where
        if t == 'RETURN':
            return None, where
        if t in ('LOG', 'NFLOG', 'MARK', 'CONNMARK', 'TRACE', 'ULOG', 'CT', 'NOTRACK'):
            continue
        if target in filt:
            v, w = _ipt_chain(filt, target, pkt, unc, depth + 1)
            if v is not None:
                return v, w
            if goto:
                return None, w
            continue
        unc.append('%s: unknown target %s' % (where, target))
    return None, 'filter/%s end' % chain


# --------------------------------------------------------------------------- firewalld

# Services firewalld ships whose ports IKE needs (usr/lib/firewalld/services/*.xml of firewalld
# 1.3.3, Debian 12): used when a service's XML cannot be read on the host.
FIREWALLD_SERVICES = {
    'ipsec': {'ports': ['500/udp', '4500/udp', '4500/tcp'], 'protocols': ['ah', 'esp']},
    'isakmp': {'ports': ['500/udp'], 'protocols': []},
}
_ZONE_HEAD = re.compile(r'^(\S+)(?:\s+\(([^)]*)\))?\s*$')
_ZONE_KEY = re.compile(r'^\s+([\w-]+)(?: rules)?:\s*(.*)$')
_LIST_KEYS = ('interfaces', 'sources', 'services', 'ports', 'protocols', 'forward-ports', 'source-ports',
              'icmp-blocks')


def parse_firewalld_zones(text):
    """``firewall-cmd --list-all-zones`` (or ``--list-all``, one zone) to ``{zone: {...}}``.

    Each zone: ``target``, the lists (``interfaces``, ``sources``, ``services``, ``ports``,
    ``protocols``, ...), ``rich_rules`` (the rules' text), ``active`` and ``default`` (from the
    ``(default, active)`` marks firewall-cmd prints after the name).

    >>> z = parse_firewalld_zones('public (default, active)\\n  target: default\\n  services: ssh ipsec\\n'
    ...                           '  rich rules: \\n\\trule family="ipv6" protocol value="esp" drop\\n')
    >>> z['public']['default'], z['public']['services'], z['public']['rich_rules']
    (True, ['ssh', 'ipsec'], ['rule family="ipv6" protocol value="esp" drop'])
    """
    zones = {}
    cur = None
    in_rich = False
    for line in text.splitlines():
        if not line.strip():
            in_rich = False
            continue
        if not line[:1].isspace():
            m = _ZONE_HEAD.match(line)
            if m is None:
                cur = None
                continue
            marks = [x.strip() for x in (m.group(2) or '').split(',') if x.strip()]
            cur = zones.setdefault(m.group(1), {'target': 'default', 'rich_rules': [], 'active': 'active' in marks,
                                                'default': 'default' in marks})
            for k in _LIST_KEYS:
                cur.setdefault(k, [])
            in_rich = False
            continue
        if cur is None:
            continue
        if in_rich and line.strip().startswith('rule'):
            cur['rich_rules'].append(line.strip())
            continue
        m = _ZONE_KEY.match(line)
        if not m:
            continue
        key, val = m.group(1), m.group(2).strip()
        in_rich = False
        if key == 'rich':       # "rich rules:"
            in_rich = True
            continue
        if key in ('target', 'icmp-block-inversion', 'forward', 'masquerade', 'ingress-priority', 'egress-priority'):
            cur[key] = val
        else:
            cur[key] = val.split()
    return zones


def parse_firewalld_list_all(text):
    """``firewall-cmd --list-all`` (the default zone) to a dict of lists (the zone's name in ``zone``)."""
    zones = parse_firewalld_zones(text)
    if not zones:
        return {}
    name, zone = list(zones.items())[0]
    out = dict(zone)
    out['zone'] = name
    return out


def _xml_root(text):
    import xml.etree.ElementTree as ET
    try:
        return ET.fromstring(text.encode('utf-8') if isinstance(text, str) else text)
    except ET.ParseError as exc:
        raise ValueError('not firewalld XML: %s' % exc)


def parse_firewalld_service_xml(text):
    """A firewalld service file (``services/NAME.xml``) to ``{ports: ['500/udp', ...], protocols: [...]}``.

    A ``<port protocol="esp" port=""/>`` (as ipsec.xml writes ESP) is a protocol."""
    root = _xml_root(text)
    ports, protos = [], []
    for el in root.findall('port'):
        port, proto = el.get('port') or '', (el.get('protocol') or '').lower()
        if port:
            ports.append('%s/%s' % (port, proto))
        elif proto:
            protos.append(proto)
    for el in root.findall('protocol'):
        if el.get('value'):
            protos.append(el.get('value').lower())
    return {'ports': ports, 'protocols': protos}


def parse_firewalld_zone_xml(text):
    """A firewalld zone file (``zones/NAME.xml``) to the shape of ``parse_firewalld_zones``' zones."""
    root = _xml_root(text)
    zone = {'target': root.get('target') or 'default', 'rich_rules': [], 'active': False, 'default': False}
    for k in _LIST_KEYS:
        zone[k] = []
    zone['interfaces'] = [e.get('name') for e in root.findall('interface') if e.get('name')]
    zone['sources'] = [e.get('address') or e.get('ipset') or e.get('mac') for e in root.findall('source')]
    zone['services'] = [e.get('name') for e in root.findall('service') if e.get('name')]
    zone['ports'] = ['%s/%s' % (e.get('port'), e.get('protocol')) for e in root.findall('port')]
    zone['protocols'] = [e.get('value') for e in root.findall('protocol') if e.get('value')]
    zone['rich_rules'] = [_rule_xml_to_text(r) for r in root.findall('rule')]
    return zone


def _rule_xml_to_text(r):
    parts = ['rule']
    for attr in ('family', 'priority'):
        if r.get(attr) is not None:
            parts.append('%s="%s"' % (attr, r.get(attr)))
    for el in r:
        tag = el.tag
        if tag in ('source', 'destination'):
            inv = ' NOT' if el.get('invert') in ('true', 'True', '1', 'yes') else ''
            for k in ('address', 'ipset', 'mac'):
                if el.get(k):
                    parts.append('%s%s %s="%s"' % (tag, inv, k, el.get(k)))
        elif tag == 'service':
            parts.append('service name="%s"' % el.get('name'))
        elif tag in ('port', 'source-port'):
            parts.append('%s port="%s" protocol="%s"' % (tag, el.get('port'), el.get('protocol')))
        elif tag == 'protocol':
            parts.append('protocol value="%s"' % el.get('value'))
        elif tag in ('accept', 'drop', 'mark'):
            parts.append(tag)
        elif tag == 'reject':
            parts.append('reject type="%s"' % el.get('type') if el.get('type') else 'reject')
        else:
            parts.append(tag)
    return ' '.join(parts)


_RICH_TOKEN = re.compile(r"""([\w-]+)(?:="([^"]*)"|='([^']*)'|=(\S+))?""")
_RICH_ELEMENTS = ('source', 'destination', 'service', 'port', 'protocol', 'source-port', 'icmp-block', 'icmp-type',
                  'masquerade', 'forward-port', 'log', 'nflog', 'audit', 'accept', 'reject', 'drop', 'mark')


def parse_rich_rule(text):
    """One rich rule (firewall-cmd's text) to a dict: ``family``, ``priority``, ``source``,
    ``destination``, ``service``, ``port`` (``N/proto``), ``protocol``, ``action`` (accept, reject,
    drop, mark or None), ``other`` (elements that make it no inbound accept/deny: masquerade, ...).

    >>> parse_rich_rule('rule family="ipv6" port port="4500" protocol="udp" reject')['port']
    '4500/udp'
    """
    rule = {'family': None, 'priority': 0, 'source': None, 'destination': None, 'service': None, 'port': None,
            'protocol': None, 'action': None, 'other': [], 'text': text}
    toks = [(m.group(1), next((g for g in m.group(2, 3, 4) if g is not None), None))
            for m in _RICH_TOKEN.finditer(text)]
    if not toks or toks[0][0] != 'rule':
        raise ValueError('not a rich rule: %r' % text)
    elem = None
    invert = False
    port = proto = None
    for key, val in toks[1:]:
        if key == 'family' and elem is None:
            rule['family'] = val
        elif key == 'priority' and elem is None:
            try:
                rule['priority'] = int(val)
            except (TypeError, ValueError):
                raise ValueError('rich rule priority %r is not a number: %s' % (val, text))
        elif key in _RICH_ELEMENTS and val is None:
            elem = key
            invert = False
            if key in ('accept', 'reject', 'drop', 'mark'):
                rule['action'] = key
            elif key in ('source-port', 'icmp-block', 'icmp-type', 'masquerade', 'forward-port'):
                rule['other'].append(key)
        elif key == 'NOT':
            invert = True
        elif elem in ('source', 'destination') and key in ('address', 'ipset', 'mac'):
            rule[elem] = {'kind': key, 'value': val, 'invert': invert}
        elif elem == 'service' and key == 'name':
            rule['service'] = val
        elif elem == 'port' and key == 'port':
            port = val
        elif elem == 'port' and key == 'protocol':
            proto = val
        elif elem == 'protocol' and key == 'value':
            rule['protocol'] = val.lower()
    if port is not None or proto is not None:
        rule['port'] = '%s/%s' % (port or '', (proto or '').lower())
    return rule


def _port_match(spec, pkt):
    """'500/udp', '4500-4501/udp', 'isakmp/udp' against a packet."""
    if pkt['dport'] is None or '/' not in spec:
        return False
    port, proto = spec.rsplit('/', 1)
    if proto.lower() != pkt['l4proto']:
        return False
    try:
        if '-' in port:
            lo, hi = port.split('-', 1)
            return int(lo) <= pkt['dport'] <= int(hi)
        return _port_in(pkt['dport'], port)
    except ValueError:
        return False


def _proto_match(proto, pkt):
    proto = str(proto).lower()
    if proto.isdigit():
        return int(proto) == pkt['proto_num']
    return _PROTO_NUM.get(proto, -1) == pkt['proto_num']


def _service_match(name, pkt, services):
    svc = services.get(name) or FIREWALLD_SERVICES.get(name)
    if svc is None:
        raise Unknown('service %s: its definition was not read' % name)
    return any(_port_match(p, pkt) for p in svc.get('ports', [])) or \
        any(_proto_match(p, pkt) for p in svc.get('protocols', []))


def _rich_match(rule, pkt, family, services):
    """True/False for a packet from an unknown peer; Unknown when it depends on the peer."""
    if rule['family'] and rule['family'] != family:
        return False
    if rule['other']:
        return False
    for side in ('source', 'destination'):
        if rule[side]:
            raise Unknown('%s %s %s' % (side, rule[side]['kind'], rule[side]['value']))
    if rule['service'] is not None:
        return _service_match(rule['service'], pkt, services)
    if rule['port'] is not None:
        return _port_match(rule['port'], pkt)
    if rule['protocol'] is not None:
        return _proto_match(rule['protocol'], pkt)
    return True           # family (or nothing) alone: every packet


def _target_verdict(target):
    t = (target or 'default').upper()
    if t == 'ACCEPT':
        return 'accept'
    if t == 'DROP':
        return 'drop'
    return 'reject'       # default, %%REJECT%%, REJECT


def evaluate_firewalld_zone(zone, name, packet, family, services=None):
    """(verdict, why, uncertain) of one zone for one packet and family, in firewalld's order:
    rich rules with a negative priority (lowest first), deny rich rules (drop, reject), then allow
    (services, ports, protocols, accept rich rules), rich rules with a positive priority, the target."""
    services = services or {}
    pkt = PACKETS[packet]
    unc = []
    rules = []
    for text in zone.get('rich_rules', []):
        try:
            rules.append(parse_rich_rule(text))
        except ValueError as exc:
            unc.append('zone %s: %s' % (name, exc))
    where = 'firewalld zone %s' % name

    def run(batch):
        for r in batch:
            if r['action'] not in ('accept', 'reject', 'drop'):
                continue
            try:
                if _rich_match(r, pkt, family, services):
                    return r['action'], '%s rich rule: %s' % (where, r['text'])
            except Unknown as exc:
                unc.append('%s rich rule %s: %s' % (where, r['text'], exc))
        return None

    neg = sorted((r for r in rules if r['priority'] < 0), key=lambda r: r['priority'])
    pos = sorted((r for r in rules if r['priority'] > 0), key=lambda r: r['priority'])
    zero = [r for r in rules if r['priority'] == 0]
    res = run(neg) or run([r for r in zero if r['action'] in ('drop', 'reject')])
    if res:
        return res[0], res[1], unc
    for svc in zone.get('services', []):
        try:
            if _service_match(svc, pkt, services):
                return 'accept', '%s service %s' % (where, svc), unc
        except Unknown as exc:
            unc.append('%s: %s' % (where, exc))
    for port in zone.get('ports', []):
        if _port_match(port, pkt):
            return 'accept', '%s port %s' % (where, port), unc
    for proto in zone.get('protocols', []):
        if _proto_match(proto, pkt):
            return 'accept', '%s protocol %s' % (where, proto), unc
    res = run([r for r in zero if r['action'] == 'accept']) or run(pos)
    if res:
        return res[0], res[1], unc
    return _target_verdict(zone.get('target')), '%s target %s' % (where, zone.get('target') or 'default'), unc


def firewalld_zones_for_inbound(zones, default_zone=None):
    """The zones an inbound packet from an unknown peer can land in: the zones bound to interfaces,
    else the default zone. Zones bound only to sources are listed apart (they depend on the peer)."""
    default_zone = default_zone or next((n for n, z in zones.items() if z.get('default')), None)
    by_iface = [n for n, z in sorted(zones.items()) if z.get('interfaces')]
    by_source = [n for n, z in sorted(zones.items()) if z.get('sources') and not z.get('interfaces')]
    picked = by_iface or ([default_zone] if default_zone in zones else [])
    return picked, by_source, default_zone


def evaluate_firewalld(zones, default_zone=None, services=None):
    """``({family: (verdicts, why, uncertain)}, per_zone, zones_used, default_zone)`` for firewalld.

    The zones that take inbound packets (``firewalld_zones_for_inbound``) must agree; when they do
    not, the verdict is ``unknown`` and ``why`` names each zone's verdict."""
    picked, by_source, default_zone = firewalld_zones_for_inbound(zones, default_zone)
    per_zone = {}
    out = {}
    for family in FAMILIES:
        verdicts, why, unc = {}, {}, {}
        for packet in PACKETS:
            u = ['firewalld zone %s is bound to sources %s: it decides for those peers only' % (
                n, ' '.join(str(x) for x in zones[n]['sources'])) for n in by_source]
            if not picked:
                verdicts[packet] = 'unknown'
                why[packet] = 'firewalld: no default zone and no zone bound to an interface'
            else:
                res = []
                for n in picked:
                    v, w, uz = evaluate_firewalld_zone(zones[n], n, packet, family, services)
                    res.append((v, w))
                    u.extend(uz)
                    per_zone.setdefault(n, {}).setdefault(family, {})[packet] = v
                kinds = set(v for v, _w in res)
                if len(kinds) == 1:
                    verdicts[packet] = kinds.pop()
                    why[packet] = '; '.join(w for _v, w in res)
                else:
                    verdicts[packet] = 'unknown'
                    why[packet] = "firewalld zones disagree (the packet's interface decides): " + '; '.join(
                        '%s (%s)' % (v, w) for v, w in res)
            if u:
                unc[packet] = u
        out[family] = (verdicts, why, unc)
    return out, per_zone, picked, default_zone


def firewalld_verdicts(info, services=None):
    """What one firewalld zone (``parse_firewalld_list_all``) does with IPv4 IKE packets."""
    name = info.get('zone', 'zone')
    return dict((p, evaluate_firewalld_zone(info, name, p, 'ipv4', services)[0]) for p in PACKETS)
