# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evaluate a firewall ruleset for the three packets IKE needs inbound: UDP 500, UDP 4500, ESP.

The packets are a new IPv4 flow (conntrack state ``new``) arriving on a non-loopback interface
from an unknown peer. nftables: every filter base chain the packet meets (``netdev``/``inet``
ingress, then ``ip``/``inet`` prerouting, then input), each hook's chains in priority order (an accept ends one chain, the next base chain still sees
the packet; drop/reject end everything), rules in order, jumps, gotos, returns, chain policy,
sets, verdict maps. iptables: the ``filter`` table's INPUT chain the same way. Matches the
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
# Where an inbound packet meets base chains, in order: netdev ingress, then prerouting, then input.
_HOOK_ORDER = {('netdev', 'ingress'): 0, ('inet', 'ingress'): 0, ('ip', 'prerouting'): 1, ('inet', 'prerouting'): 1,
               ('ip', 'input'): 2, ('inet', 'input'): 2}
_PRIO_NAMES = {'raw': -300, 'mangle': -150, 'dstnat': -100, 'filter': 0, 'security': 50, 'srcnat': 100}


class Unknown(Exception):
    """A match the evaluator cannot decide."""


# --------------------------------------------------------------------------- nftables

class NftRuleset(object):
    def __init__(self, doc):
        if isinstance(doc, str):
            doc = json.loads(doc)
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
                hook_order = _HOOK_ORDER.get((c['family'], c.get('hook')))
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
            if proto == 'ip' and field == 'protocol':
                return pkt['l4proto']
            if proto == 'ip6':
                return _NoMatch
            if proto == 'ether' or proto in ('vlan', 'arp'):
                raise Unknown('%s %s' % (proto, field))
            raise Unknown('%s %s' % (proto, field))
        if 'meta' in left:
            key = left['meta'].get('key')
            if key == 'l4proto':
                return pkt['l4proto']
            if key == 'nfproto':
                return 'ipv4'
            if key == 'protocol':
                return 'ip'
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


def evaluate_nft(doc):
    rs = NftRuleset(doc)
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
            if val in ('0.0.0.0/0', '0/0'):
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


def evaluate_iptables(text):
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
        why[name] = w
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

def parse_firewalld_list_all(text):
    """``firewall-cmd --list-all`` (the default zone) to a dict of lists."""
    out = {}
    zone = None
    for line in text.splitlines():
        if not line.startswith(' ') and line.strip():
            zone = line.split()[0]
            out['zone'] = zone
            continue
        m = re.match(r'^\s+([\w-]+):\s*(.*)$', line)
        if m:
            out[m.group(1)] = m.group(2).split() if m.group(1) not in ('target',) else m.group(2).strip()
    return out


def firewalld_verdicts(info):
    """What firewalld's zone allows: the ipsec service opens 500/udp, 4500/udp and ESP."""
    services = info.get('services', [])
    ports = info.get('ports', [])
    protocols = info.get('protocols', [])
    target = info.get('target', 'default')
    opened = 'accept' if target.upper() == 'ACCEPT' else None
    closed = 'reject' if target in ('default', '%%REJECT%%', 'REJECT') else 'drop'
    v = {
        'udp500': opened or ('accept' if 'ipsec' in services or '500/udp' in ports else closed),
        'udp4500': opened or ('accept' if 'ipsec' in services or '4500/udp' in ports else closed),
        'esp': opened or ('accept' if 'ipsec' in services or 'esp' in protocols or '50' in protocols else closed),
    }
    return v
