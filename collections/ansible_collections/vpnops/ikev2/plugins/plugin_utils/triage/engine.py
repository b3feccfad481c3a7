# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The classification engine: rule matching over events and facts, correlation of the two ends of
each tunnel, ranking of causes above symptoms. Plain Python, importable without Ansible.

Input: ``{host: HostInput}``; output: the report dict of issue 4 (``{"schema": 1, "findings": [...],
"hosts": {...}}``).
"""

from __future__ import annotations

import bisect
import datetime
import gc
import re
import string

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.prefilter import Prefilter
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.rules import load_rules

WINDOW_S = 900          # cause and symptom on two hosts: same incident if within this (clock-corrected)
MAX_EVIDENCE = 8
_RULESET_CACHE = {}


class HostInput(object):
    """What the engine knows about one host: events (parsed log lines), facts, status."""

    def __init__(self, name, events=None, facts=None, status='ok', reason=None, sigs=None):
        self.name = name
        self.events = list(events or [])
        # optional, aligned with events: the prefilter's signature ids already found in each line
        # (a set), or None where unknown; saves scanning the same text twice
        self.sigs = sigs
        # context lines were sampled (big logs): context is judged per host, not per SA
        self.sampled = False
        self.facts = facts if isinstance(facts, dict) else None
        self.status = status
        self.reason = reason


def default_ruleset():
    rs = _RULESET_CACHE.get('default')
    if rs is None:
        rs = load_rules()
        _RULESET_CACHE['default'] = rs
        _RULESET_CACHE['prefilter'] = make_prefilter(rs)
    return rs


def make_prefilter(ruleset, backend=None):
    """The prefilter for a rule set: context-only signatures are sampled in big logs."""
    sigs = ruleset.signatures()
    rule_sigs = set(s for r in ruleset.log_rules for s in r.signatures)
    sampled = [i for i, s in enumerate(sigs) if s not in rule_sigs]
    return Prefilter(sigs, backend=backend, sampled=sampled)


def default_prefilter():
    default_ruleset()
    return _RULESET_CACHE['prefilter']


# ----------------------------------------------------------------------------------- helpers

class _SafeDict(dict):
    def __missing__(self, key):
        return '(unknown %s)' % key.replace('ctx_', '').replace('_', ' ')


_FMT = string.Formatter()


def render(template, values):
    try:
        return ' '.join(_FMT.vformat(template, (), _SafeDict(values)).split())
    except (ValueError, IndexError, KeyError, AttributeError):
        return ' '.join(template.split())


_ISO_CACHE = {}


def _parse_iso(ts):
    if not ts or not isinstance(ts, str):
        return None
    hit = _ISO_CACHE.get(ts)
    if hit is not None or ts in _ISO_CACHE:
        return hit
    if len(_ISO_CACHE) > 100000:
        _ISO_CACHE.clear()
    _ISO_CACHE[ts] = val = _parse_iso_uncached(ts)
    return val


def _parse_iso_uncached(ts):
    try:
        t = ts.rstrip('Z')
        if '.' in t:
            base, frac = t.split('.', 1)
            frac = (frac + '000000')[:6]
            t = base + '.' + frac
            dt = datetime.datetime.strptime(t, '%Y-%m-%dT%H:%M:%S.%f')
        else:
            dt = datetime.datetime.strptime(t[:19], '%Y-%m-%dT%H:%M:%S')
        return dt.replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


_CERT_TIME_FORMATS = ('%b %d %H:%M:%S %Y', '%b %d %H:%M:%S %Y %Z', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%SZ',
                      '%b %d %H:%M:%S %Y UTC', '%Y-%m-%dT%H:%M:%S')


def _parse_cert_time(text):
    if not text:
        return None
    t = ' '.join(str(text).replace(' UTC', '').replace(' GMT', '').split())
    for fmt in _CERT_TIME_FORMATS:
        try:
            return datetime.datetime.strptime(t, fmt).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
    return _parse_iso(t if t.endswith('Z') else t + 'Z')


def _get_path(obj, path):
    """Values at a dotted path; ``[*]`` fans out over lists. Returns a list of (value, item)."""
    cur = [(obj, None)]
    for part in path.split('.'):
        star = part.endswith('[*]')
        key = part[:-3] if star else part
        nxt = []
        for val, item in cur:
            if isinstance(val, dict) and key in val:
                v = val[key]
                if star:
                    if isinstance(v, list):
                        nxt.extend((x, x) for x in v)
                else:
                    nxt.append((v, item))
        cur = nxt
    return cur


def _num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _human_seconds(v):
    v = abs(float(v))
    if v >= 86400:
        return '%.1f days' % (v / 86400)
    if v >= 3600:
        return '%.1f hours' % (v / 3600)
    if v >= 60:
        return '%.0f minutes' % (v / 60)
    return '%.0f seconds' % v


# ----------------------------------------------------------------------------------- per host state

class _Hit(object):
    __slots__ = ('event', 'groups', 'idx')

    def __init__(self, event, groups, idx):
        self.event = event
        self.groups = groups
        self.idx = idx


class _HostState(object):
    def __init__(self, hi):
        self.input = hi
        self.name = hi.name
        self.hits = {}       # rule id -> [Hit]
        self.ctx = {}        # context id -> [Hit]
        self.self_addrs = set()
        self.peer_addrs = {}
        self.self_ids = set()
        self.peer_ids = set()
        self.links = set()
        self.weak_links = set()
        self.sa_peers = {}
        self.addr_ids = {}
        self.spis = set()
        self.ctx_key_cache = {}
        self.all_states = {}
        self.index = ({}, {})
        self.offset = None
        facts = hi.facts or {}
        t = facts.get('time') if isinstance(facts.get('time'), dict) else {}
        off = _num(t.get('offset_s')) if t else None
        if off is None and isinstance(t.get('ntp'), dict):
            off = None
        self.offset = off

    def ctx_value(self, cid, group='value'):
        hits = self.ctx.get(cid)
        if not hits:
            return None
        for h in reversed(hits):
            v = h.groups.get(group)
            if v:
                return v
        return hits[-1].event.get('msg')


def _match_events(state, events, sigs, ruleset, owners_by_sig):
    """Run the rules and context extractors whose signatures the prefilter found. Failing peers
    repeat the same message for hours: each distinct message is matched once."""
    seen_msgs = {}
    for idx in sorted(sigs):
        ev = events[idx]
        msg = ev.get('msg') or ''
        daemon = ev.get('daemon')
        key = (msg, daemon)
        done = seen_msgs.get(key)
        if done is not None:
            for is_ctx, oid, groups in done:
                bucket = state.ctx if is_ctx else state.hits
                bucket.setdefault(oid, []).append(_Hit(ev, groups, idx))
            continue
        done = seen_msgs[key] = []
        cands = []
        seen = set()
        for sid in sigs[idx]:
            for owner in owners_by_sig[sid]:
                if id(owner) not in seen:
                    seen.add(id(owner))
                    cands.append(owner)
        for owner in cands:
            if owner.daemons and daemon not in owner.daemons:
                continue
            if owner.regex is not None:
                m = owner.regex.search(msg)
                if m is None:
                    continue
                groups = dict((k, v) for k, v in m.groupdict().items() if v is not None)
            else:
                if not any(s in msg for s in owner.signatures):
                    continue
                groups = {}
            npat = owner.when.get('not_pattern') if not owner.is_context else None
            if npat is not None and npat.search(msg):
                continue
            bucket = state.ctx if owner.is_context else state.hits
            bucket.setdefault(owner.id, []).append(_Hit(ev, groups, idx))
            done.append((owner.is_context, owner.id, groups))


_RE_STATUS_SPIS = re.compile(r'IKEv[12] SPIs: ([0-9a-fA-F]+)_i\*? ([0-9a-fA-F]+)_r')
_RE_PKT_SELF = re.compile(r'^(?:sending|received) packet: from (\S+?)\[\d+\] to (\S+?)\[\d+\]')
_RE_PLUTO_IF = re.compile(r'^adding (?:UDP )?interface \S+ ([0-9a-fA-F.:]+?):\d+')


def _collect_addresses(state):
    """Self/peer addresses and identities from events, context and facts (for correlation)."""
    sa_peers = state.sa_peers
    for ev in state.input.events:
        msg = ev.get('msg') or ''
        if 'SPIs: ' in msg and ev.get('source') == 'charon-status':
            m = _RE_STATUS_SPIS.search(msg)
            if m:
                state.spis.update((m.group(1).lower(), m.group(2).lower()))
        if msg[:8] in ('sending ', 'received') and ' packet: from ' in msg:
            m = _RE_PKT_SELF.match(msg)
            if m:
                state.self_addrs.add(m.group(1) if msg[0] == 's' else m.group(2))
        elif msg.startswith('adding UDP interface ') or msg.startswith('adding interface '):
            m = _RE_PLUTO_IF.match(msg)
            if m and not m.group(1).startswith('127.') and m.group(1) != '::1':
                state.self_addrs.add(m.group(1))
        p = ev.get('peer')
        if p:
            state.peer_addrs[p] = state.peer_addrs.get(p, 0) + 1
            key = ev.get('ike_id')
            if key is not None:
                sa_peers[(ev.get('ike_name'), key)] = p
                sa_peers[(None, key)] = p
    for h in state.ctx.get('established', ()):
        v = h.groups.get('value')
        if v:
            m = re.match(r'(\S+?)\[([^\]]*)\]\.\.\.(\S+?)\[([^\]]*)\]', v)
            if m:
                state.self_addrs.add(m.group(1))
                state.self_ids.add(m.group(2))
                state.peer_addrs[m.group(3)] = state.peer_addrs.get(m.group(3), 0) + 1
                state.peer_ids.add(m.group(4))
                state.addr_ids.setdefault(m.group(3), set()).add(m.group(4))
    for h in state.ctx.get('peer_identity', ()):
        g = h.groups
        if g.get('local'):
            state.self_addrs.add(g['local'])
        if g.get('local_id') and g['local_id'] != '%any':
            state.self_ids.add(g['local_id'])
        if g.get('value'):
            state.peer_addrs[g['value']] = state.peer_addrs.get(g['value'], 0) + 1
        if g.get('peer_id') and g['peer_id'] != '%any':
            state.peer_ids.add(g['peer_id'])
            if g.get('value'):
                state.addr_ids.setdefault(g['value'], set()).add(g['peer_id'])
    for h in state.ctx.get('own_identity', ()):
        if h.groups.get('value'):
            state.self_ids.add(h.groups['value'])
    for cid in ('responder', 'initiator'):
        for h in state.ctx.get(cid, ()):
            v = h.groups.get('value')
            if v and re.match(r'^[0-9a-fA-F.:]+$', v):
                state.peer_addrs[v] = state.peer_addrs.get(v, 0) + 1
    facts = state.input.facts or {}
    state.self_ids.add(state.name)
    if isinstance(facts.get('hostname'), str):
        state.self_ids.add(facts['hostname'])
    net = facts.get('network') if isinstance(facts.get('network'), dict) else {}
    for a in net.get('addresses') or ():
        if isinstance(a, str):
            state.self_addrs.add(a.split('/')[0])
        elif isinstance(a, dict):
            v = a.get('addr') or a.get('address')
            if isinstance(v, str):
                state.self_addrs.add(v.split('/')[0])
    for itf in net.get('interfaces') or ():
        if isinstance(itf, dict):
            for a in itf.get('addrs') or ():
                if isinstance(a, str):
                    state.self_addrs.add(a.split('/')[0])
    conns = facts.get('conns') if isinstance(facts.get('conns'), dict) else {}
    for c in conns.get('conns') or ():
        if not isinstance(c, dict):
            continue
        for a in c.get('local_addrs') or ():
            if isinstance(a, str) and a not in ('%any', '0.0.0.0', '::'):
                state.self_addrs.add(a)
        for a in c.get('remote_addrs') or ():
            if isinstance(a, str) and a not in ('%any', '0.0.0.0', '::'):
                state.peer_addrs[a] = state.peer_addrs.get(a, 0) + 1
        for side, target in (('local', state.self_ids), ('remote', state.peer_ids)):
            for auth in c.get(side) or ():
                if isinstance(auth, dict) and isinstance(auth.get('id'), str) and '*' not in auth['id']:
                    target.add(auth['id'])
    sas = facts.get('sas') if isinstance(facts.get('sas'), dict) else {}
    for sa in sas.get('ike') or ():
        if isinstance(sa, dict):
            for k in ('initiator_spi', 'responder_spi'):
                v = sa.get(k)
                if isinstance(v, str) and v.strip('0'):
                    state.spis.add(v.lower().lstrip('0x') if v.lower().startswith('0x') else v.lower())
            if sa.get('local_host'):
                state.self_addrs.add(sa['local_host'])
            if sa.get('remote_host'):
                state.peer_addrs[sa['remote_host']] = state.peer_addrs.get(sa['remote_host'], 0) + 1
            if sa.get('local_id'):
                state.self_ids.add(sa['local_id'])
            if sa.get('remote_id'):
                state.peer_ids.add(sa['remote_id'])
    state.self_ids.discard('%any')
    state.peer_ids.discard('%any')


def _correlate(states):
    """Link hosts that are the two ends of a tunnel: one's peer address or identity is the other's
    own (NAT: the identity joins what the addresses cannot). Indexed, so a fleet is linear."""
    by_addr = {}
    by_id = {}
    for st in states.values():
        st.index = (by_addr, by_id)
    for name, st in states.items():
        by_addr.setdefault(name, set()).add(name)
        for a in st.self_addrs:
            by_addr.setdefault(a, set()).add(name)
        for i in st.self_ids:
            by_id.setdefault(i, set()).add(name)
    by_spi = {}
    for name, st in states.items():
        for spi in st.spis:
            by_spi.setdefault(spi, set()).add(name)
    for name, st in states.items():
        others = set()
        for spi in st.spis:  # the same IKE SA seen from both ends
            others.update(by_spi.get(spi, ()))
        for a in st.peer_addrs:
            others.update(by_addr.get(a, ()))
        for i in st.peer_ids:
            others.update(by_id.get(i, ()))
        others.discard(name)
        for o in others:
            st.links.add(o)
            states[o].links.add(name)
    names = list(states)
    active = [n for n in names if states[n].hits or states[n].input.events]
    if len(names) == 2:
        a, b = names
        if not states[a].links and not states[b].links:
            states[a].weak_links.add(b)
            states[b].weak_links.add(a)
    else:
        lonely = [n for n in active if not states[n].links]
        if len(lonely) == 2:
            a, b = lonely
            states[a].weak_links.add(b)
            states[b].weak_links.add(a)


def _sa_peer(state, ev):
    p = ev.get('peer')
    if p:
        return p
    key = ev.get('ike_id')
    if key is None:
        return None
    return state.sa_peers.get((ev.get('ike_name'), key)) or state.sa_peers.get((None, key))


def _host_of_addr(state, addr):
    by_addr, by_id = state.index
    cands = sorted(by_addr.get(addr, set()) - set((state.name,)))
    if cands:
        return cands[0]
    # through NAT the address is the router's: the identity seen at that address tells who it is
    for i in sorted(state.addr_ids.get(addr, ())):
        cands = sorted(by_id.get(i, set()) - set((state.name,)))
        if cands:
            return cands[0]
    return None


def _host_of_conn_name(state, ev):
    """Connections are often named after the peer (``<gw2|1>``, ``rw-psk-cl2``): a host of the run
    whose name is a whole token of the connection name."""
    name = ev.get('ike_name')
    if not name:
        return None
    tokens = set(t for t in re.split(r'[^A-Za-z0-9]+', name) if t)
    cands = [t for t in tokens if t != state.name and t in state.all_states]
    return cands[0] if len(cands) == 1 else None


def _peer_hosts(state, hits):
    """Who is on the other end of these hits: a host of the run when it can be told, else the
    peer's address; linked hosts when the lines name no peer."""
    for h in hits:
        p = _sa_peer(state, h.event)
        if p:
            return [_host_of_addr(state, p) or _host_of_conn_name(state, h.event) or p]
        byname = _host_of_conn_name(state, h.event)
        if byname:
            return [byname]
    peers = sorted(state.links) or sorted(state.weak_links)
    if peers:
        return peers
    if len(state.peer_addrs) == 1:
        return list(state.peer_addrs)
    return []


def _peer_label(state, hits):
    peers = _peer_hosts(state, hits)
    if peers:
        return ', '.join(peers)
    return 'the peer'


def _sa_key(ev):
    """The SA a line belongs to: charon's unique id; pluto's connection (its serials differ between
    the IKE SA and its Child SAs); None when the line names none."""
    if ev.get('daemon') == 'pluto':
        return ('c', ev.get('ike_name')) if ev.get('ike_name') else None
    iid = ev.get('ike_id')
    return ('i', iid) if iid is not None else None


def _ctx_keys(state, cid):
    """{SA key} of the context's lines, and whether some line named no SA (cached per host)."""
    cache = state.ctx_key_cache
    hit = cache.get(cid)
    if hit is None:
        keys = set()
        unkeyed = False
        for h in state.ctx.get(cid, ()):
            k = _sa_key(h.event)
            if k is None:
                unkeyed = True
            else:
                keys.add(k)
        hit = cache[cid] = (keys, unkeyed)
    return hit


def _has_ctx(state, cid, hit):
    """Is context ``cid`` present for ``hit``: in the same SA when the line names one (a busy host
    runs DPD on one SA while another fails), anywhere on the host otherwise."""
    if cid not in state.ctx:
        return False
    if hit is None or state.input.sampled:
        return True
    key = _sa_key(hit.event)
    if key is None:
        return True
    keys, unkeyed = _ctx_keys(state, cid)
    return key in keys or unkeyed


def _when_ok(when, state, msg, hit=None):
    for cid in when.get('context', ()):
        if not _has_ctx(state, cid, hit):
            return False
    anyof = when.get('context_any')
    if anyof and not any(_has_ctx(state, c, hit) for c in anyof):
        return False
    for cid in when.get('no_context', ()):
        if _has_ctx(state, cid, hit):
            return False
    pat = when.get('pattern')
    if pat is not None and not pat.search(msg or ''):
        return False
    npat = when.get('not_pattern')
    if npat is not None and npat.search(msg or ''):
        return False
    return True


# ----------------------------------------------------------------------------------- findings

class _Finding(object):
    def __init__(self, rule, host, category, confidence, kind, blame, phase, hits, values, evidence,
                 hosts, priority, ts=None):
        self.rule = rule
        self.host = host
        self.category = category
        self.confidence = confidence
        self.kind = kind
        self.blame = blame
        self.phase = phase
        self.hits = hits
        self.values = values
        self.evidence = evidence
        self.hosts = hosts
        self.priority = priority
        self.ts = ts
        self.absorbed = []
        self.summary = ''
        self._pos = 0


def _ctx_near(state, cid, hit):
    """The context hits that belong with ``hit``: same IKE SA, at or before it when possible."""
    chits = state.ctx.get(cid) or []
    if hit is None or not chits:
        return chits[-2:]
    ev = hit.event
    sa = (ev.get('ike_name'), ev.get('ike_id')) if ev.get('ike_id') is not None else None
    if sa is not None:
        same = [c for c in chits if c.event.get('ike_id') == sa[1]
                and (c.event.get('ike_name') in (sa[0], None) or sa[0] is None)]
        before = [c for c in same if c.idx <= hit.idx]
        if before or same:
            return (before or same)[-2:]
    before = [c for c in chits if c.idx <= hit.idx]
    return (before or chits)[-2:]


def _evidence_from_hits(state, hits, rule):
    ev = []
    seen = set()
    for h in hits[:3] + hits[-1:]:
        raw = h.event.get('raw') or h.event.get('msg') or ''
        if raw in seen:
            continue
        seen.add(raw)
        ev.append({'host': state.name, 'source': h.event.get('source') or 'log', 'line': raw[:2000]})
    spec = rule.get('evidence') or {}
    for cid in spec.get('context', ()):
        for h in _ctx_near(state, cid, hits[0] if hits else None):
            raw = h.event.get('raw') or ''
            if raw in seen:
                continue
            seen.add(raw)
            ev.append({'host': state.name, 'source': h.event.get('source') or 'log', 'line': raw[:2000]})
    return ev[:spec.get('max_lines', MAX_EVIDENCE)]


def _base_values(state, hits):
    first = hits[0] if hits else None
    values = {'host': state.name, 'peer': _peer_label(state, hits), 'count': len(hits)}
    if first is not None:
        values['msg'] = first.event.get('msg') or ''
        values['ts'] = first.event.get('ts') or 'an unknown time'
        values.update(first.groups)
    for cid in state.ctx:
        near = _ctx_near(state, cid, first)
        v = None
        for h in reversed(near):
            v = h.groups.get('value')
            if v:
                break
        if not v:
            v = state.ctx_value(cid)
        if v is not None:
            values['ctx_' + cid] = v
        for k, gv in near[-1].groups.items():
            if k != 'value':
                values['ctx_%s_%s' % (cid, k)] = ' (%s)' % gv if k == 'peer_id' else gv
    return values


def _apply_refine(rule, state, msg, cat, conf, kind, blame, phase, hit=None):
    prio = rule['priority']
    for r in rule.refine:
        if _when_ok(r['when'], state, msg, hit):
            cat = r.get('category', cat)
            conf = r.get('confidence', conf)
            kind = r.get('kind', kind)
            blame = r.get('blame', blame)
            phase = r.get('phase', phase)
            prio = r.get('priority', prio)
            break
    return cat, conf, kind, blame, phase, prio


_YEARLESS = re.compile(r'^\s*(?:<\d+>)?(?:[A-Z][a-z]{2} )?[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d')
_YEAR = re.compile(r'\b(?:19|20)\d\d\b')


def _cert_validity(state, hit, now):
    """Decide expired / not yet valid / clock skew from the dates charon printed."""
    g = hit.groups
    nb = _parse_cert_time(g.get('not_before'))
    na = _parse_cert_time(g.get('not_after'))
    ts = _parse_iso(hit.event.get('ts'))
    off = state.offset
    if nb is None or na is None:
        return 'cert_expired', 0.6, 'peer', 'validity dates not readable'
    if ts is not None and _YEARLESS.match(hit.event.get('raw') or '') and not _YEAR.search((hit.event.get('raw') or '')[:32]):
        # the log line had no year (it was guessed): read it in the certificate's own years
        for year, test in ((nb.year, lambda t: t < nb), (na.year, lambda t: t > na)):
            try:
                cand = ts.replace(year=year)
            except ValueError:
                continue
            if test(cand):
                ts = cand
                hit.groups['_effective_ts'] = cand.strftime('%Y-%m-%dT%H:%M:%SZ') + ' (the log has no year)'
                break
    if off is not None and abs(off) > 300:
        return 'clock_skew', 0.95, 'self', '%s clock is %s off' % (state.name, _human_seconds(off))
    if ts is not None:
        if ts < nb:
            # the verifying host's clock is before the start of validity: its clock is behind,
            # unless the real time (controller) says the certificate is not yet valid either
            if now < nb:
                return 'cert_expired', 0.8, 'peer', 'not yet valid'
            return 'clock_skew', 0.8, 'self', 'not yet valid by %s' % _human_seconds((nb - ts).total_seconds())
        if ts > na:
            if now <= na and off is None and (ts - now).total_seconds() > 3600:
                return 'clock_skew', 0.75, 'self', 'expired only by the host clock'
            return 'cert_expired', 0.9, 'peer', 'expired %s before' % _human_seconds((ts - na).total_seconds())
    else:
        if nb <= now <= na:
            return 'clock_skew', 0.7, 'self', 'valid by the real time'
        return 'cert_expired', 0.85, 'peer', 'outside validity'
    return 'cert_expired', 0.6, 'peer', ''


def _log_findings(state, ruleset, now):
    out = []
    for rule in ruleset.log_rules:
        hits = state.hits.get(rule.id)
        if not hits or len(hits) < rule.min_count:
            continue
        if rule.get('report') is False:
            continue  # documented, informational only (e.g. a road warrior that went away)
        if rule.when:
            hits = [h for h in hits if _when_ok(rule.when, state, h.event.get('msg'), h)]
            if len(hits) < rule.min_count:
                continue
        msg = hits[0].event.get('msg') or ''
        cat, conf, kind, blame, phase, prio = _apply_refine(
            rule, state, msg, rule['category'], rule['confidence'], rule['kind'], rule['blame'], rule['phase'],
            hits[0])
        values = _base_values(state, hits)
        if rule.get('special') == 'cert_validity':
            cat, conf, blame, why = _cert_validity(state, hits[0], now)
            values['validity_verdict'] = why
            if hits[0].groups.get('_effective_ts'):
                values['ts'] = hits[0].groups['_effective_ts']
        f = _make_finding(rule, state, cat, conf, kind, blame, phase, hits, values)
        if prio != rule['priority'] and f.category != 'clock_skew':
            f.priority = prio
        out.append(f)
    return out


_RE_EST = re.compile(r'\S+?\[[^\]]*\]\.\.\.(\S+?)\[')


def _established_peers(state):
    out = set()
    for h in state.ctx.get('established', ()):
        v = h.groups.get('value')
        m = _RE_EST.match(v) if v else None
        p = m.group(1) if m else _sa_peer(state, h.event)
        if p:
            out.add(p)
    return out


def _distinct_peers(state, hits):
    peers = set()
    for h in hits:
        p = _sa_peer(state, h.event)
        if p:
            peers.add(p)
    return peers


def _make_finding(rule, state, cat, conf, kind, blame, phase, hits, values, evidence=None):
    if blame in ('peer', 'both') and len(_distinct_peers(state, hits)) >= 3:
        # the same failure with many different peers: the common end is at fault
        blame = 'self'
        values['peer'] = '%d peers' % len(_distinct_peers(state, hits))
    peers = _peer_hosts(state, hits)
    if blame == 'self':
        hosts = [state.name]
    elif blame == 'peer':
        hosts = peers or [state.name]
    else:
        hosts = [state.name] + [p for p in peers if p != state.name]
        failing = _distinct_peers(state, hits)
        if len(failing) == 1 and peers and (_established_peers(state) - failing):
            # this end gets along with its other peers: the odd one out is the peer
            hosts = [p for p in peers if p != state.name] + [state.name]
    ts = None
    for h in hits:
        if h.event.get('ts'):
            ts = h.event['ts']
            break
    f = _Finding(rule, state.name, cat, float(conf), kind, blame, phase, hits, values,
                 evidence if evidence is not None else _evidence_from_hits(state, hits, rule),
                 hosts, rule['priority'], ts)
    if cat == 'clock_skew' and rule['category'] != 'clock_skew':
        f.priority = max(f.priority, 90)
        f.values['explain_override'] = (
            "{host}'s clock reads {ts}, before the certificate's validity starts ({not_before}): "
            "{host}'s clock is behind ({validity_verdict}); the certificate itself is fine.")
    return f


def _is_ike_endpoint(facts):
    """A host with no IKE daemon running and no connection configured (written or loaded) is not
    an IKE endpoint: strongSwan installed on a router or an NTP server is not a fault there."""
    if facts.get('status') != 'no_daemon':
        return True
    conns = facts.get('conns')
    return bool(conns.get('conns')) if isinstance(conns, dict) else False


def _fact_findings(state, ruleset, now):
    out = []
    facts = state.input.facts
    if not facts or not _is_ike_endpoint(facts):
        return out
    for rule in ruleset.fact_rules:
        conds = rule['facts']
        # every further condition must hold somewhere on the host (AND); the first one names the item
        if any(not any(True for _x in _eval_fact(c, facts, now)) for c in conds[1:]):
            continue
        for cond in conds[:1]:
            for value, item, label in _eval_fact(cond, facts, now):
                values = {'host': state.name, 'peer': _peer_label(state, []), 'value': value, 'path': cond['path'],
                          'now': now.strftime('%Y-%m-%dT%H:%M:%SZ')}
                if _num(value) is not None:
                    values['value_human'] = _human_seconds(_num(value))
                if isinstance(item, dict):
                    for k, v in item.items():
                        if isinstance(v, (str, int, float, bool)) or v is None:
                            values['item_' + k] = v
                        elif isinstance(v, list):
                            values['item_' + k] = ', '.join(str(x) for x in v)
                _flatten_into(values, facts, ('firewall', 'daemon'))
                ev = [{'host': state.name, 'source': 'facts', 'line': label}]
                out.append(_make_finding(rule, state, rule['category'], rule['confidence'], rule['kind'],
                                         rule['blame'], rule['phase'], [], values, ev))
                break
    return out


def _flatten_into(values, facts, sections):
    for sec in sections:
        d = facts.get(sec)
        if not isinstance(d, dict):
            continue
        for k, v in d.items():
            if isinstance(v, (str, int, float, bool)):
                values['fact_%s_%s' % (sec, k)] = v
            elif isinstance(v, dict):
                for k2, v2 in v.items():
                    if isinstance(v2, (str, int, float, bool)):
                        values['fact_%s_%s_%s' % (sec, k, k2)] = v2


def _section_ok(facts, path):
    sec = facts.get(path.split('.', 1)[0].replace('[*]', ''))
    if not isinstance(sec, dict):
        return False
    return sec.get('status', 'ok') in ('ok', 'partial')


def _eval_fact(cond, facts, now):
    """Yield (value, item, evidence label) for every place the condition holds."""
    path, op, want = cond['path'], cond['op'], cond.get('value')
    if not _section_ok(facts, path):
        return
    for value, item in _get_path(facts, path):
        where = cond.get('where')
        if where and isinstance(item, dict):
            if any(item.get(k) != v for k, v in where.items()):
                continue
        ok = False
        label = '%s = %r' % (path, value)
        if op == 'eq':
            ok = value == want
        elif op == 'ne':
            ok = value != want
        elif op == 'in':
            ok = value in (want or ())
        elif op == 'exists':
            ok = value is not None
        elif op in ('gt', 'lt', 'abs_gt'):
            n = _num(value)
            if n is not None:
                ok = (n > want) if op == 'gt' else (n < want) if op == 'lt' else abs(n) > want
        elif op == 'ge_path':
            n = _num(value)
            lim = [_num(v) for v, _item in _get_path(facts, want)]
            lim = [x for x in lim if x]
            ok = n is not None and bool(lim) and n >= lim[0]
            label = '%s = %r (limit %s = %r)' % (path, value, want, lim[0] if lim else None)
        elif op == 'field_is':
            if isinstance(value, dict):
                ok = value.get(cond.get('field')) == want
                label = '%s: %s' % (path, _short(value))
        elif op == 'validity_outside_now':
            if isinstance(value, dict):
                nb = _parse_cert_time(value.get('not_before'))
                na = _parse_cert_time(value.get('not_after'))
                ok = (nb is not None and now < nb) or (na is not None and now > na)
                label = 'certificate %s (%s): not_before %s, not_after %s' % (
                    value.get('subject'), value.get('path'), value.get('not_before'), value.get('not_after'))
        elif op == 'own_chain_incomplete':
            # a chain of a certificate this host holds the key for (not a peer's certificate lying in a store)
            if isinstance(value, dict) and value.get('complete') is False:
                fp = value.get('fingerprint_sha256')
                certs = _get_path(facts, 'certs.certs[*]')
                own = [c for c, _i in certs if isinstance(c, dict) and c.get('fingerprint_sha256') == fp]
                ok = not own or any(c.get('has_private_key') is not False for c in own)
                label = 'chain of %s: %s; missing %s' % (value.get('leaf'), ' -> '.join(
                    str(x) for x in (value.get('path') or [])), value.get('missing'))
        elif op == 'esp_one_way':
            if isinstance(value, dict):
                out_p = _num(value.get('packets_out')) or 0
                in_p = _num(value.get('packets_in'))
                ok = in_p == 0 and out_p >= (want or 1)
                label = 'child SA %s: packets_out %s, packets_in %s' % (value.get('name'), out_p, in_p)
        if ok:
            yield value, item if item is not None else value, label


def _short(d):
    return ', '.join('%s=%s' % (k, v) for k, v in list(d.items())[:6])


# ----------------------------------------------------------------------------------- pair checks

# Proposal keywords of charon (aes256gcm16-prfsha384-ecp384) and pluto (aes_gcm_16_256-sha2_384;dh20)
# reduced to comparable keys: the cipher (family, mode, key size) and the DH group number.
_ENC_FAMILIES = ('chacha20', 'camellia', 'aes', '3des', 'des', 'cast', 'blowfish', 'serpent', 'twofish')
_DH_NAMES = {
    'modp768': 1, 'modp1024': 2, 'modp1536': 5, 'modp2048': 14, 'modp3072': 15, 'modp4096': 16, 'modp6144': 17,
    'modp8192': 18, 'ecp256': 19, 'ecp384': 20, 'ecp521': 21, 'modp1024s160': 22, 'modp2048s224': 23,
    'modp2048s256': 24, 'ecp192': 25, 'ecp224': 26, 'ecp224bp': 27, 'ecp256bp': 28, 'ecp384bp': 29, 'ecp512bp': 30,
    'curve25519': 31, 'x25519': 31, 'curve448': 32, 'x448': 32,
}
_RE_DH = re.compile(r'^(?:dh|group|modp_?|ecp_?)?(\d+)$')


def _enc_key(tok):
    t = tok.replace('_', '').replace('.', '')
    for fam in _ENC_FAMILIES:
        if t.startswith(fam):
            if fam == 'chacha20':
                return 'chacha20poly1305'
            mode = 'gcm' if 'gcm' in t else 'ccm' if 'ccm' in t else 'ctr' if 'ctr' in t else 'cbc'
            sizes = [int(x) for x in re.findall(r'\d+', tok[len(fam):]) if int(x) in (128, 192, 256)]
            size = sizes[0] if sizes else (128 if fam in ('aes', 'camellia') else 0)
            return '%s-%s-%d' % (fam, mode, size)
    return None


def _dh_key(tok):
    t = tok.replace('_', '')
    if t in _DH_NAMES:
        return _DH_NAMES[t]
    if t.startswith('dh') and t[2:].isdigit():
        return int(t[2:])
    return None


def _prop_sets(conns):
    props = []
    for c in conns or ():
        if isinstance(c, dict):
            for p in c.get('ike_proposals') or ():
                if isinstance(p, str):
                    props.extend(x.strip().lower() for x in p.split(',') if x.strip())
    return props


def _prop_keys(prop):
    enc, dh = set(), set()
    for tok in re.split(r'[-;+:/ ]+', prop):
        if not tok:
            continue
        e = _enc_key(tok)
        if e:
            enc.add(e)
            continue
        d = _dh_key(tok)
        if d:
            dh.add(d)
    return enc, dh


def _compatible(pa, pb):
    ea, da = _prop_keys(pa)
    eb, db = _prop_keys(pb)
    if ea and eb and not ea & eb:
        return False
    if da and db and not da & db:
        return False
    return True


def _sa_between(A, B):
    """Does either end hold an established IKE SA with the other (facts)?"""
    for X, Y in ((A, B), (B, A)):
        sas = (X.input.facts or {}).get('sas')
        if not isinstance(sas, dict):
            continue
        for sa in sas.get('ike') or ():
            if not isinstance(sa, dict):
                continue
            remote = sa.get('remote_host')
            if (remote in Y.self_addrs or remote == Y.name or sa.get('remote_id') in Y.self_ids) and \
                    str(sa.get('state', 'ESTABLISHED')).upper().startswith('ESTABLISHED'):
                return True
    return False


def _pair_findings(states, ruleset):
    out = []
    for rule in ruleset.check_rules:
        if rule['check'] != 'ike_proposals_disjoint':
            continue
        done = set()
        with_conns = set(n for n, st in states.items()
                         if isinstance((st.input.facts or {}).get('conns'), dict)
                         and (st.input.facts or {})['conns'].get('conns'))
        for a in sorted(with_conns):
            A = states[a]
            for b in sorted(A.links & with_conns):
                key = tuple(sorted((a, b)))
                if key in done:
                    continue
                done.add(key)
                B = states[b]
                fa = (A.input.facts or {}).get('conns') or {}
                fb = (B.input.facts or {}).get('conns') or {}
                if not isinstance(fa, dict) or not isinstance(fb, dict):
                    continue
                pa, pb = _prop_sets(fa.get('conns')), _prop_sets(fb.get('conns'))
                if not pa or not pb or 'default' in pa or 'default' in pb or _sa_between(A, B):
                    continue
                if any(_compatible(x, y) for x in pa for y in pb):
                    continue
                values = {'host': a, 'peer': b, 'mine': ','.join(pa), 'theirs': ','.join(pb)}
                ev = [{'host': a, 'source': 'facts', 'line': 'conns ike_proposals: %s' % ','.join(pa)},
                      {'host': b, 'source': 'facts', 'line': 'conns ike_proposals: %s' % ','.join(pb)}]
                f = _make_finding(rule, A, rule['category'], rule['confidence'], rule['kind'], rule['blame'],
                                  rule['phase'], [], values, ev)
                f.hosts = [a, b]
                out.append(f)
    return out


# ----------------------------------------------------------------------------------- ranking

def _corrected(ts, offset):
    t = _parse_iso(ts)
    if t is None:
        return None
    if offset:
        t = t - datetime.timedelta(seconds=offset)
    return t


def _related(cause, other, states):
    if other.host == cause.host:
        return True
    s = states[cause.host]
    return other.host in s.links or other.host in s.weak_links or other.host in cause.hosts


def _in_window(cause, other, states):
    a, b = states[cause.host], states[other.host]
    if a is b or a.offset is None or b.offset is None:
        return True
    ta, tb = _corrected(cause.ts, a.offset), _corrected(other.ts, b.offset)
    if ta is None or tb is None:
        return True
    return abs((ta - tb).total_seconds()) <= WINDOW_S


def _explains(cause, other):
    return (other.category in cause.rule.explains or other.rule.id in cause.rule.explains
            or (other.category == 'cert_expired' and cause.category == 'clock_skew')
            or (other.category == cause.category and other.kind == 'symptom'))


def _rank(findings, states):
    order = sorted(findings, key=lambda f: (f.kind != 'cause', -f.priority, -f.confidence, f.rule.order, f.host))
    alive = []
    by_host = {}     # cause findings by the host that logged them
    by_named = {}    # ... and by the hosts they name
    by_same = {}     # (kind, category, hosts): the same fault seen from several hosts

    def candidates(f):
        st = states[f.host]
        out = list(by_host.get(f.host, ()))
        for other in st.links | st.weak_links:
            out.extend(by_host.get(other, ()))
        out.extend(by_named.get(f.host, ()))
        seen_ids = set()
        uniq = []
        for c in sorted(out, key=lambda c: c._pos):
            if id(c) not in seen_ids:
                seen_ids.add(id(c))
                uniq.append(c)
        return uniq

    for f in order:
        absorbed_by = None
        for c in candidates(f):
            if not _in_window(c, f, states):
                continue
            if f.kind == 'cause' and f.host != c.host and not set(f.hosts) & set(c.hosts + [c.host]):
                continue  # a fault attributed elsewhere is independent, whatever its category
            if _explains(c, f) or (c.category == f.category and set(f.hosts) <= set(c.hosts + [c.host])):
                absorbed_by = c
                break
        if absorbed_by is None and f.hosts != [f.host]:
            # the same fault seen from several hosts (clients of one blocked gateway): one finding
            absorbed_by = by_same.get((f.kind, f.category, tuple(f.hosts)))
        if absorbed_by is not None:
            absorbed_by.absorbed.append(f)
            if f.host != absorbed_by.host:
                absorbed_by.confidence = min(0.99, absorbed_by.confidence + 0.05)
                for h in f.hosts:
                    if absorbed_by.blame == 'both' and h not in absorbed_by.hosts:
                        absorbed_by.hosts.append(h)
                        by_named.setdefault(h, []).append(absorbed_by)
            seen = set(e['line'] for e in absorbed_by.evidence)
            for e in f.evidence:
                if e['line'] not in seen and len(absorbed_by.evidence) < MAX_EVIDENCE + 4:
                    absorbed_by.evidence.append(e)
                    seen.add(e['line'])
            continue
        f._pos = len(alive)
        alive.append(f)
        by_same.setdefault((f.kind, f.category, tuple(f.hosts)), f)
        if f.kind == 'cause':
            by_host.setdefault(f.host, []).append(f)
            for h in f.hosts:
                by_named.setdefault(h, []).append(f)
    # an unexplained symptom next to a real cause on the same incident is not a fault of its own
    out = []
    for f in alive:
        if f.kind != 'cause' and any(_in_window(c, f, states) for c in candidates(f)):
            continue
        out.append(f)
    return out


def _render_vars(v, values):
    if isinstance(v, str):
        return render(v, values) if '{' in v else v
    if isinstance(v, list):
        return [_render_vars(x, values) for x in v]
    if isinstance(v, dict):
        return dict((k, _render_vars(x, values)) for k, x in v.items())
    return v


def _remediation(f):
    """role and auto_remediable (the contract) plus the role variables the fix needs."""
    rem = (f.rule.get('remediation_by_category') or {}).get(f.category) or f.rule['remediation']
    return {'role': rem.get('role') or None, 'auto_remediable': bool(rem.get('auto_remediable')),
            'vars': _render_vars(rem.get('vars') or {}, f.values)}


def _summary(f):
    tmpl = f.values.get('explain_override') or f.rule['explanation']
    text = render(tmpl, f.values)
    if f.absorbed:
        extra = sorted(set('%s (%s)' % (a.rule.id, a.host) for a in f.absorbed))
        text += ' Explains: %s.' % ', '.join(extra)
    return text


def classify(hosts, ruleset=None, prefilter=None, now=None, sigs=None):
    """Classify ``hosts`` ({name: HostInput}); returns the report dict (issue 4's JSON contract)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _classify(hosts, ruleset, prefilter, now)
    finally:
        if gc_was_enabled:
            gc.enable()


_TEXT_KEYS = ('msg', 'raw', 'ts', 'peer', 'ike_name', 'ike_id', 'source', 'daemon', 'host')


def _sane_events(hi):
    """Events from facts files are data from elsewhere: keep dicts, make text fields text."""
    evs = hi.events
    ok = True
    for e in evs:
        if not isinstance(e, dict) or not isinstance(e.get('msg'), str):
            ok = False
            break
    if ok:
        return evs
    out = []
    sigs = [] if hi.sigs is not None and len(hi.sigs) == len(evs) else None
    for i, e in enumerate(evs):
        if not isinstance(e, dict):
            continue
        e = dict(e)
        for k in _TEXT_KEYS:
            v = e.get(k)
            if v is not None and not isinstance(v, str):
                e[k] = str(v)
        if e.get('msg') is None:
            e['msg'] = e.get('raw') or ''
        if not isinstance(e.get('notifies'), list):
            e['notifies'] = []
        out.append(e)
        if sigs is not None:
            sigs.append(hi.sigs[i])
    hi.sigs = sigs
    return out


def _classify(hosts, ruleset, prefilter, now):
    if ruleset is None:
        ruleset = default_ruleset()
        prefilter = prefilter or default_prefilter()
    elif prefilter is None:
        prefilter = make_prefilter(ruleset)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    sig_list = prefilter.signatures
    owners = ruleset.signature_owners()
    owners_by_sig = [[] for _sig in sig_list]
    pos = dict((s, i) for i, s in enumerate(sig_list))
    for s, owner in owners:
        owners_by_sig[pos[s]].append(owner)
    states = {}
    for name, hi in hosts.items():
        hi.events = _sane_events(hi)
        st = _HostState(hi)
        evs = hi.events
        if evs:
            known = hi.sigs if hi.sigs is not None and len(hi.sigs) == len(evs) else None
            if known is None:
                found = prefilter.scan_texts([e.get('msg') or '' for e in evs])
            else:
                found = dict((i, ids) for i, ids in enumerate(known) if ids)
                todo = [i for i, ids in enumerate(known) if ids is None]
                if todo:
                    more = prefilter.scan_texts([evs[i].get('msg') or '' for i in todo])
                    for j, ids in more.items():
                        found[todo[j]] = ids
            _match_events(st, evs, found, ruleset, owners_by_sig)
        st.all_states = states
        _collect_addresses(st)
        states[name] = st
    _correlate(states)
    findings = []
    for st in states.values():
        findings.extend(_log_findings(st, ruleset, now))
        findings.extend(_fact_findings(st, ruleset, now))
    findings.extend(_pair_findings(states, ruleset))
    ranked = _rank(findings, states)
    active, resolved = [], []
    for f in ranked:
        rec = _recovery(f, states)
        if rec is None:
            active.append(f)
        else:
            resolved.append((f, rec))
    out = []
    for i, f in enumerate(active, 1):
        out.append(_finding_dict(f, i))
    report = {'schema': 1, 'findings': out}
    if resolved:
        # historic failures, ranked below every active finding
        report['resolved'] = [_resolved_dict(f, rec, len(active) + i) for i, (f, rec) in enumerate(resolved, 1)]
    host_report = {}
    for name, hi in hosts.items():
        host_report[name] = {'status': hi.status or 'ok', 'reason': hi.reason}
    report['hosts'] = host_report
    return report


def _finding_dict(f, rank):
    return {
        'rank': rank,
        'category': f.category,
        'rule': f.rule.id,
        'confidence': round(max(0.0, min(1.0, f.confidence)), 2),
        'hosts': f.hosts,
        'phase': f.phase,
        'summary': _summary(f),
        'evidence': f.evidence[:MAX_EVIDENCE + 4],
        'remediation': _remediation(f),
    }


def _resolved_dict(f, rec, rank):
    d = _finding_dict(f, rank)
    d['status'] = 'resolved'
    d['last_failure'] = rec['last_failure']
    d['recovered'] = rec['recovered']
    d['summary'] = 'Resolved: last failed at %s, re-established at %s%s. Was: %s' % (
        rec['last_failure'] or 'an unknown time', rec['recovered'] or 'an unknown time',
        ' (CHILD_SA installed now)' if rec['installed_now'] else '', d['summary'])
    seen = set(e['line'] for e in d['evidence'])
    d['evidence'] = d['evidence'][:MAX_EVIDENCE] + [e for e in rec['evidence'] if e['line'] not in seen]
    return d


# ----------------------------------------------------------------------------------- resolved failures
#
# The logs cover a window (an hour by default): right after a fix they still hold the failure lines.
# A failure of a tunnel that the same host's log shows re-established afterwards (a CHILD_SA of the
# same peer established, later in that log), and that - when the host's SAs were gathered - has an
# installed CHILD_SA now, is historic: it is reported under ``resolved``, not as a fault. Anything a
# host fact shows (a clock still off, a chain still incomplete, a firewall still dropping) is the
# fault now, so a finding with fact evidence never resolves.

def _sa_peer_ids(state):
    """{SA key: the peer's identity} from the lines that name it (cached per host)."""
    cache = state.ctx_key_cache.get('__peer_ids')
    if cache is None:
        cache = {}
        for h in state.ctx.get('peer_identity', ()):
            pid = h.groups.get('peer_id')
            key = _sa_key(h.event)
            if key is not None and pid and pid != '%any':
                cache[key] = pid
        for h in state.ctx.get('established', ()):
            v = h.groups.get('value')
            m = re.match(r'\S+?\[[^\]]*\]\.\.\.\S+?\[([^\]]*)\]', v) if v else None
            key = _sa_key(h.event)
            if m and key is not None and m.group(1) != '%any':
                cache[key] = m.group(1)
        state.ctx_key_cache['__peer_ids'] = cache
    return cache


def _peer_at(state, hit):
    """The peer of the SA a line belongs to, from the nearest earlier line of that SA naming one: SA
    numbers start again when the daemon restarts, so the same number later may be another peer."""
    ev = hit.event
    if ev.get('peer'):
        return ev['peer']
    key = ev.get('ike_id')
    if key is None:
        return _sa_peer(state, ev)
    index = state.ctx_key_cache.get('__peer_by_sa')
    if index is None:
        index = {}
        for i, e in enumerate(state.input.events):
            if e.get('peer') and e.get('ike_id') is not None:
                slot = index.setdefault(e['ike_id'], ([], []))
                slot[0].append(i)
                slot[1].append(e['peer'])
        state.ctx_key_cache['__peer_by_sa'] = index
    slot = index.get(key)
    if slot:
        pos = bisect.bisect_right(slot[0], hit.idx) - 1
        if pos >= 0:
            return slot[1][pos]
    return _sa_peer(state, ev)


def _tunnel(state, hit):
    """(peer address, connection name, peer identity) of the SA a line belongs to."""
    ev = hit.event
    return _peer_at(state, hit), ev.get('ike_name'), _sa_peer_ids(state).get(_sa_key(ev))


def _same_tunnel(fail, ok):
    """Is ``ok`` (an establishment) the same tunnel as ``fail``? By the peer's address when the failure
    names one (the responder does not know the connection name yet), else by the connection name;
    identities, when both are known, must agree (several peers behind one NAT address)."""
    if fail[0]:
        same = ok[0] == fail[0]
    elif fail[1]:
        same = ok[1] == fail[1]
    else:
        return False
    if same and fail[2] and ok[2] and fail[2] != ok[2]:
        return False
    return same


def _installed_now(state, tunnel):
    """None when the host's SAs were not gathered; else whether an IKE SA with this peer has an
    installed CHILD_SA now."""
    facts = state.input.facts or {}
    sas = facts.get('sas')
    if not isinstance(sas, dict) or sas.get('status', 'ok') not in ('ok', 'partial') or not isinstance(sas.get('ike'), list):
        return None
    peer, name, pid = tunnel
    for sa in sas['ike']:
        if not isinstance(sa, dict):
            continue
        if peer:
            if sa.get('remote_host') != peer:
                continue
        elif name is None or sa.get('name') != name:
            continue
        if pid and sa.get('remote_id') and sa.get('remote_id') != pid:
            continue
        for ch in sa.get('children') or ():
            if isinstance(ch, dict) and str(ch.get('state', '')).upper() == 'INSTALLED':
                return True
    return False


def _recovery(f, states):
    """When every failure folded into ``f`` is followed by a re-establishment of its tunnel: the
    times of the last failure and of the recovery, and the line showing it; else None."""
    parts = [f] + list(f.absorbed)
    if any(not p.hits for p in parts):
        return None      # fact evidence (or a pair check on facts): the fault is there now
    last_fail, recovered, evidence, installed = None, None, [], True
    for p in parts:
        st = states[p.host]
        oks = st.ctx.get('child_established') or ()
        # the last failure of each tunnel the finding's lines belong to (log order: clock steps
        # on a skewed host make timestamps unreliable for ordering)
        tunnels = {}
        for h in p.hits:
            t = _tunnel(st, h)
            if not t[0] and not t[1]:
                return None  # a failure that names no peer or connection cannot be tied to a recovery
            if t not in tunnels or tunnels[t].idx < h.idx:
                tunnels[t] = h
        for t, fail in tunnels.items():
            ok = None
            for h in oks:
                if h.idx > fail.idx and _same_tunnel(t, _tunnel(st, h)):
                    ok = h
                    break
            if ok is None:
                return None
            now = _installed_now(st, t)
            if now is False:
                return None
            installed = installed and now is True
            fts, ots = fail.event.get('ts'), ok.event.get('ts')
            if fts and (last_fail is None or fts > last_fail[0]):
                last_fail = (fts, p.host)
            if ots and (recovered is None or ots > recovered[0]):
                recovered = (ots, p.host)
            line = ok.event.get('raw') or ok.event.get('msg') or ''
            evidence.append({'host': p.host, 'source': ok.event.get('source') or 'log', 'line': line[:2000]})
    return {'last_failure': last_fail[0] if last_fail else None, 'recovered': recovered[0] if recovered else None,
            'installed_now': installed, 'evidence': evidence}
