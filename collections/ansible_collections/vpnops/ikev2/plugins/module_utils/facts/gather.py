# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather ``ansible_facts.ikev2`` on the target in one pass (the shape in docs/architecture.md).

Every section is gathered by its own function that returns a section dict with ``status``; an
exception inside one section becomes that section's ``error`` status, never the host's failure.
"""
from __future__ import annotations

import base64
import calendar
import glob
import hashlib
import json
import os
import re
import socket
import time
import traceback

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import (
    certinfo, firewall, libreswan, logsources, strongswan, swan_conf, system, timefacts)
from ansible_collections.vpnops.ikev2.plugins.module_utils.facts.host import Host, section

try:
    import zoneinfo  # noqa: F401  pylint: disable=unused-import
    HAS_ZONEINFO = True
except ImportError:  # Python 3.8
    HAS_ZONEINFO = False

SCHEMA = 1
SUBSETS = ('logs', 'time', 'certs', 'conns', 'sas', 'firewall', 'network', 'resources')

DEFAULT_PATHS = {
    'strongswan_conf': '/etc/strongswan.conf',
    'swanctl_dir': '/etc/swanctl',
    'ipsec_dir': '/etc/ipsec.d',
    'ipsec_conf': '/etc/ipsec.conf',
    'ipsec_secrets': '/etc/ipsec.secrets',
    'nss_dir': '/var/lib/ipsec/nss',
    'chrony_conf': '/etc/chrony/chrony.conf',
}

SWANCTL_CERT_DIRS = (('x509', 'x509'), ('x509ca', 'x509ca'), ('x509im', 'x509im'), ('x509aa', 'x509aa'),
                     ('x509ocsp', 'x509ocsp'))
SWANCTL_KEY_DIRS = ('private', 'rsa', 'ecdsa', 'pkcs8', 'bliss')
IPSECD_CERT_DIRS = (('certs', 'ipsec.d/certs'), ('cacerts', 'ipsec.d/cacerts'), ('aacerts', 'ipsec.d/aacerts'),
                    ('ocspcerts', 'ipsec.d/ocspcerts'))


class GatherError(Exception):
    """A parameter the module cannot work with (bad ``since``, unknown subset)."""


def resolve_subset(requested):
    """``setup``-like: ``all``, names, ``!name`` exclusions; order of the result is fixed."""
    requested = list(requested or ['all'])
    include = set()
    exclude = set()
    for item in requested:
        item = str(item).strip()
        neg = item.startswith('!')
        name = item[1:] if neg else item
        if name not in SUBSETS and name != 'all':
            raise GatherError('unknown gather_subset %r; valid: all, %s (prefix ! to exclude)' % (item, ', '.join(SUBSETS)))
        names = set(SUBSETS) if name == 'all' else {name}
        (exclude if neg else include).update(names)
    if not include:
        include = set(SUBSETS)
    return [s for s in SUBSETS if s in include and s not in exclude]


_DUR = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$')


def parse_since(value, now):
    """``1h``, ``90m``, ``2d``, seconds, or an ISO 8601 UTC time -> epoch seconds."""
    if value is None or value == '':
        return None
    if isinstance(value, (int, float)):
        return now - float(value)
    m = _DUR.match(str(value))
    if m:
        mult = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[m.group(2)]
        return now - float(m.group(1)) * mult
    s = str(value).strip().replace(' ', 'T')
    m = re.match(r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?$', s)
    if not m:
        raise GatherError('cannot read time %r: use a duration (1h, 30m, 2d) or ISO 8601 (2026-11-26T22:00:00Z)' % value)
    y, mo, d, hh, mi = (int(m.group(i)) for i in range(1, 6))
    ss = int(m.group(6) or 0)
    t = calendar.timegm((y, mo, d, hh, mi, ss, 0, 0, 0))
    tz = m.group(7)
    if tz and tz != 'Z':
        sign = -1 if tz[0] == '-' else 1
        digits = tz[1:].replace(':', '')
        t -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return float(t)


def _iso(epoch):
    if epoch is None:
        return None
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def _nft_table(item):
    for kind in ('table', 'chain', 'rule', 'set', 'map', 'flowtable', 'counter', 'ct helper'):
        if kind in item and isinstance(item[kind], dict):
            return item[kind].get('table', item[kind].get('name') if kind == 'table' else None)
    return None


def _combine(decided, family, result, label):
    """Layer ``result`` (verdicts, why, uncertain) under what ``decided`` holds for ``family``: a
    packet must pass every layer, so the first layer that does not accept decides."""
    v, why, unc = result
    if family not in decided:
        decided[family] = (dict(v), dict(why), dict((k, list(x)) for k, x in unc.items()))
        return
    dv, dwhy, dunc = decided[family]
    for name in v:
        if dv.get(name) == 'accept' and v[name] != 'accept':
            dv[name] = v[name]
            dwhy[name] = label + why.get(name, '')
        if unc.get(name):
            dunc.setdefault(name, []).extend(unc[name])


def _mtime_year(path):
    try:
        return time.localtime(os.stat(path).st_mtime).tm_year
    except OSError:
        return None


def _guard(name, func, *args):
    try:
        return func(*args)
    except Exception as exc:  # one section's bug or surprise must not fail the host
        return section('error', '%s: %s: %s' % (name, type(exc).__name__, exc),
                       trace=traceback.format_exc().splitlines()[-3:])


class Gatherer(object):
    def __init__(self, params, host=None):
        self.p = dict(params)
        self.paths = dict(DEFAULT_PATHS)
        self.paths.update({k: v for k, v in (self.p.get('paths') or {}).items() if v})
        env = {}
        if self.paths['strongswan_conf'] != DEFAULT_PATHS['strongswan_conf']:
            env['STRONGSWAN_CONF'] = self.paths['strongswan_conf']
        self.host = host or Host(env=env or None)
        self.now = time.time()
        self._settings = None
        self._conns_loaded = None
        self._sas = None

    # ---------------------------------------------------------------- shared inputs
    def settings(self):
        if self._settings is None:
            path = self.paths['strongswan_conf']
            text, err = self.host.read(path)
            self._settings = swan_conf.parse_settings(text, os.path.dirname(path)) if text is not None else {}
            self._settings_err = err
        return self._settings

    def swanctl(self, *args):
        return self.host.run(['swanctl'] + list(args) + ['--pretty'])

    # ---------------------------------------------------------------- daemon
    def daemon(self):
        procs = {}
        for pid in self.host.listdir('/proc'):
            if not pid.isdigit():
                continue
            text, _err = self.host.read('/proc/%s/comm' % pid, 64)
            if text:
                comm = text.strip()
                if comm in ('charon', 'charon-systemd', 'pluto', 'starter', 'charon-nm'):
                    procs.setdefault(comm, int(pid))
        has_swanctl = self.host.which('swanctl') is not None
        has_pluto = self.host.which('pluto') is not None or self.host.exists('/usr/libexec/ipsec/pluto')
        name, pid = 'none', None
        if 'charon' in procs or 'charon-systemd' in procs:
            name, pid = 'strongswan', procs.get('charon') or procs.get('charon-systemd')
        elif 'pluto' in procs:
            name, pid = 'libreswan', procs['pluto']
        elif has_swanctl or self.host.exists('/usr/lib/ipsec/charon'):
            name = 'strongswan'
        elif has_pluto:
            name = 'libreswan'
        info = {'name': name, 'running': pid is not None, 'pid': pid, 'version': None}
        if name == 'strongswan' and pid is not None and has_swanctl:
            res = self.host.run(['swanctl', '--version', '--daemon', '--pretty'])
            if res.ok:
                info['version'] = strongswan.version_from_pretty(res.out)[0]
        elif name == 'libreswan':
            res = self.host.run(['ipsec', '--version'])
            if res.ok:
                m = re.search(r'[Ll]ibreswan\s+(\S+)', res.out)
                info['version'] = m.group(1) if m else res.out.strip()[:80]
        return info

    # ---------------------------------------------------------------- logs
    def logs(self, daemon):
        since = parse_since(self.p.get('since', '1h'), self.now)
        until = parse_since(self.p.get('until'), self.now) if self.p.get('until') else None
        max_lines = int(self.p.get('max_lines') or 20000)
        hostname = socket.gethostname()
        tz = timefacts.timezone_info(self.host)
        # a zone name follows DST across the window; without zoneinfo (Python 3.8) the parsers cannot
        # resolve names, so give them the host's current UTC offset instead
        tzarg = tz['name'] if (tz['name'] and HAS_ZONEINFO) else tz['utc_offset_s']
        sw_paths = strongswan.log_paths_from_settings(self.settings())
        pluto_paths = []
        text, _err = self.host.read(self.paths['ipsec_conf'])
        if text:
            m = re.search(r'^\s*logfile\s*=\s*(\S+)', text, re.M)
            if m:
                pluto_paths.append(m.group(1).strip('"'))
        journal = bool(self.p.get('journal', True)) and (
            self.host.exists('/run/systemd/journal') or self.host.isdir('/var/log/journal'))
        events, files, truncated = logsources.collect(
            self.host, since, until, max_lines, tzarg, hostname, sw_paths, pluto_paths, self.p.get('log_files') or [],
            journal=journal, year_of=_mtime_year)
        status, reason = 'ok', None
        if not files:
            status, reason = 'missing', 'no IKE daemon log found (strongswan.conf filelog, %s, syslog files, journald)' % (
                ', '.join(logsources.DEFAULT_CHARON_LOGS))
        elif all(f['status'] != 'ok' for f in files):
            status, reason = 'unreadable', '; '.join(f.get('reason', '') for f in files)
        elif not logsources.HAS_LOG_PARSERS:
            reason = 'log line parsers (module_utils/logs) not installed: events carry raw lines only'
        return section(status, reason, events=events, files=files, since=_iso(since), until=_iso(until or self.now),
                       max_lines=max_lines, truncated=truncated, parser=logsources.HAS_LOG_PARSERS)

    # ---------------------------------------------------------------- time
    def time(self):
        status, reason, fields = timefacts.gather_time(self.host, self.paths['chrony_conf'])
        # offset_s/rtt_s are the controller's measurement (plugins/action/ike_facts.py)
        return section(status, reason, host_utc=_iso(self.now), host_epoch=self.now, offset_s=None, rtt_s=None,
                       **fields)

    # ---------------------------------------------------------------- certs
    def certs(self, daemon):
        blobs = []      # (der, path, store, has_privkey or None)
        reasons = []
        if daemon['name'] == 'strongswan' and daemon['running']:
            res = self.swanctl('--list-certs')
            if res.ok:
                for c in strongswan.certs_from_pretty(res.out):
                    if c['type'] == 'X509':
                        blobs.append((c['der'], None, 'loaded' + ('-ca' if c['flag'] == 'CA' else ''),
                                      c['has_privkey']))
            else:
                reasons.append(res.reason())
        crl_blobs = []
        sw = self.paths['swanctl_dir']
        for sub, store in SWANCTL_CERT_DIRS:
            self._cert_dir(os.path.join(sw, sub), 'swanctl/' + store, blobs, reasons)
        self._crl_dir(os.path.join(sw, 'x509crl'), 'swanctl/x509crl', crl_blobs)
        ipd = self.paths['ipsec_dir']
        for sub, store in IPSECD_CERT_DIRS:
            self._cert_dir(os.path.join(ipd, sub), store, blobs, reasons)
        self._crl_dir(os.path.join(ipd, 'crls'), 'ipsec.d/crls', crl_blobs)
        nss = self._nss(blobs, reasons)
        if not certinfo.HAS_CRYPTOGRAPHY:
            # no cryptography here: ship public certificates for the controller to parse
            key_hashes = None
            raw = [{'der_b64': base64.b64encode(der).decode('ascii'), 'path': path, 'store': store,
                    'has_private_key': hp} for der, path, store, hp in blobs]
            crls = [{'der_b64': base64.b64encode(d).decode('ascii'), 'path': p, 'store': s} for d, p, s in crl_blobs]
            return section('deferred', 'cryptography is not importable on the target: certificates are parsed on the controller',
                           certs=[], chains=[], crls=[], raw=raw, raw_crls=crls, nss=nss, errors=reasons)
        key_hashes = self._private_key_hashes()
        certs = merge_cert_facts(blobs, key_hashes, reasons)
        crls = []
        for data, path, store in crl_blobs:
            try:
                crls.append(certinfo.crl_facts(data, path, store))
            except Exception as exc:
                reasons.append('%s: not a CRL (%s)' % (path, exc))
        return section('ok' if not reasons else 'partial', '; '.join(reasons[:10]) or None, certs=certs,
                       chains=certinfo.build_chains(certs), crls=crls, nss=nss)

    def _cert_dir(self, d, store, blobs, reasons):
        for name in self.host.listdir(d):
            path = os.path.join(d, name)
            data, err = self.host.read_bytes(path)
            if data is None:
                reasons.append(err[1])
                continue
            ders = certinfo.certs_from_blob(data)
            if not ders:
                reasons.append('%s: no certificate found in the file' % path)
            for der in ders:
                blobs.append((der, path, store, None))

    def _crl_dir(self, d, store, out):
        for name in self.host.listdir(d):
            path = os.path.join(d, name)
            data, _err = self.host.read_bytes(path)
            if data:
                out.append((data, path, store))

    def _private_key_hashes(self):
        """SPKI hashes of the public halves of the private keys on disk (never the keys)."""
        hashes = set()
        dirs = [os.path.join(self.paths['swanctl_dir'], d) for d in SWANCTL_KEY_DIRS]
        dirs.append(os.path.join(self.paths['ipsec_dir'], 'private'))
        for d in dirs:
            for name in self.host.listdir(d):
                data, _err = self.host.read_bytes(os.path.join(d, name), 64 << 10)
                if data:
                    h = certinfo.private_key_spki(data)
                    del data
                    if h:
                        hashes.add(h)
        return hashes

    def _nss(self, blobs, reasons):
        nssdir = None
        for d in (self.paths['nss_dir'], self.paths['ipsec_dir']):
            if self.host.exists(os.path.join(d, 'cert9.db')) or self.host.exists(os.path.join(d, 'cert8.db')):
                nssdir = d
                break
        if not nssdir:
            return {'status': 'missing', 'reason': 'no NSS database in %s or %s' % (self.paths['nss_dir'], self.paths['ipsec_dir'])}
        db = 'sql:' + nssdir
        res = self.host.run(['certutil', '-L', '-d', db])
        if not res.ok:
            return {'status': 'missing' if res.missing else 'error', 'reason': res.reason(), 'path': nssdir}
        listed = libreswan.parse_certutil_list(res.out)
        keys = self.host.run(['certutil', '-K', '-d', db])
        with_keys = set(libreswan.parse_certutil_keys(keys.out)) if keys.ok or keys.rc == 255 else set()
        key_dns = {libreswan.dn_key(k) for k in with_keys if '=' in k}
        for entry in listed:
            pem = self.host.run(['certutil', '-L', '-d', db, '-n', entry['nickname'], '-a'])
            if not pem.ok:
                reasons.append(pem.reason())
                continue
            for der in certinfo.certs_from_blob(pem.out.encode('ascii', 'replace')):
                has_key = entry['nickname'] in with_keys
                if not has_key and key_dns and certinfo.HAS_CRYPTOGRAPHY:
                    has_key = libreswan.dn_key(certinfo.cert_facts(der)['subject']) in key_dns
                elif not has_key and key_dns:
                    has_key = None   # decided on the controller from the subject
                entry_store = 'nss' if 'u' not in entry['trust'] else 'nss-user'
                blobs.append((der, 'nss:%s' % entry['nickname'], entry_store, has_key))
        return {'status': 'ok', 'path': nssdir, 'certs': listed, 'keys': sorted(with_keys)}

    # ---------------------------------------------------------------- conns, sas
    def _config_files(self):
        files = {}
        sw = os.path.join(self.paths['swanctl_dir'], 'swanctl.conf')
        cands = [(self.paths['strongswan_conf'], swan_conf.redact_text), (sw, swan_conf.redact_text),
                 (self.paths['ipsec_conf'], swan_conf.redact_text), (self.paths['ipsec_secrets'], swan_conf.redact_ipsec_secrets)]
        for path, redact in list(cands):
            text, _err = self.host.read(path)
            if text is None:
                continue
            if path.endswith(('.conf', '.secrets')):
                for inc in swan_conf.included_files(text, os.path.dirname(path)) if 'strongswan' not in path else []:
                    cands.append((inc, redact))
                for inc in re.findall(r'^\s*include\s+(\S+)', text, re.M) if path in (
                        self.paths['ipsec_conf'], self.paths['ipsec_secrets']) else []:
                    for p in sorted(glob.glob(inc)):
                        cands.append((p, swan_conf.redact_ipsec_secrets if p.endswith('.secrets') else swan_conf.redact_text))
        for path, redact in cands:
            text, err = self.host.read(path)
            if text is None:
                continue
            red = redact(text)
            files[path] = {'sha256': hashlib.sha256(red.encode('utf-8')).hexdigest(), 'content': red}
        return files

    def conns(self, daemon):
        files = self._config_files()
        reasons = []
        sw = os.path.join(self.paths['swanctl_dir'], 'swanctl.conf')
        written = []
        text, _err = self.host.read(sw)
        if text:
            written = strongswan.conns_from_conf(swan_conf.parse_settings(text, os.path.dirname(sw)))
        loaded = []
        if daemon['name'] == 'strongswan':
            if daemon['running']:
                res = self.swanctl('--list-conns')
                if res.ok:
                    loaded = strongswan.conns_from_pretty(res.out)
                else:
                    reasons.append(res.reason())
            conns = strongswan.merge_conns(loaded, written)
        elif daemon['name'] == 'libreswan':
            conns = []
            if daemon['running']:
                res = self._whack_status()
                if res.ok:
                    conns = libreswan.parse_whack_status(res.out)[0]
                else:
                    reasons.append(res.reason())
        else:
            conns = strongswan.merge_conns([], written)
        self._conns_loaded = [c for c in conns if c.get('loaded')]
        status = 'ok' if not reasons else 'partial'
        if not conns and not files:
            status = 'missing'
            reasons.append('no connection loaded and no configuration file found')
        return section(status, '; '.join(reasons) or None, conns=conns, files=files)

    def sas(self, daemon):
        if daemon['name'] == 'none' or not daemon['running']:
            return section('skipped', 'no IKE daemon running', ike=[], conns_without_sa=[])
        if daemon['name'] == 'strongswan':
            res = self.swanctl('--list-sas')
            if not res.ok:
                return section('missing' if res.missing else 'error', res.reason(), ike=[], conns_without_sa=[])
            ike = strongswan.sas_from_pretty(res.out)
            self._sas = ike
            if self._conns_loaded is None:
                lc = self.swanctl('--list-conns')
                self._conns_loaded = strongswan.conns_from_pretty(lc.out) if lc.ok else []
            return section('ok', ike=ike, conns_without_sa=strongswan.conns_without_sa(self._conns_loaded, ike))
        res = self._whack_status()
        if not res.ok:
            return section('missing' if res.missing else 'error', res.reason(), ike=[], conns_without_sa=[])
        conns, states, _summary = libreswan.parse_whack_status(res.out)
        ike = libreswan.sas_from_states(states)
        self._sas = ike
        up = {sa['name'] for sa in ike}
        return section('ok', ike=ike, conns_without_sa=[c['name'] for c in conns if c['name'] not in up])

    def _whack_status(self):
        if getattr(self, '_whack', None) is None:
            self._whack = self.host.run(['ipsec', 'whack', '--status'])
        return self._whack

    # ---------------------------------------------------------------- firewall
    def tunnel_family(self):
        """The address family the tunnels use: ipv6 when every IKE SA's peer is an IPv6 address."""
        peers = [sa.get('remote_host') or '' for sa in (self._sas or [])]
        return 'ipv6' if peers and all(':' in p for p in peers) else 'ipv4'

    def firewall(self):
        """Verdicts per address family (``families``); ``verdicts``/``why``/``uncertain`` are the
        family the tunnels use (``family``: IPv4 unless every IKE SA runs over IPv6)."""
        fam = self.tunnel_family()
        out = {'provider': 'none', 'ruleset': None, 'verdicts': {k: 'unknown' for k in firewall.PACKETS},
               'why': {}, 'uncertain': {}, 'family': fam,
               'families': dict((f, {'verdicts': {k: 'unknown' for k in firewall.PACKETS}, 'why': {}, 'uncertain': {}})
                                for f in firewall.FAMILIES)}
        reasons = []
        decided = {}        # family -> (verdicts, why, uncertain), the first layer first
        fwd = self.host.run(['firewall-cmd', '--state'])
        if fwd.ok and 'running' in fwd.out:
            self._firewalld(out, decided, reasons)
        status = None
        nft = self.host.run(['nft', '-j', 'list', 'ruleset'])
        if nft.ok:
            try:
                doc = json.loads(nft.out)
                out['ruleset'] = doc
                if out['provider'] == 'none':
                    out['provider'] = 'nftables'
                if out['provider'] == 'firewalld':      # firewalld's own tables were evaluated from its zones
                    doc = {'nftables': [i for i in doc.get('nftables', []) if _nft_table(i) != 'firewalld']}
                for f in firewall.FAMILIES:
                    _combine(decided, f, firewall.evaluate_nft(doc, f), 'nftables ')
                self._legacy_iptables(decided)
                status = 'ok'
            except ValueError as exc:
                reasons.append('nft -j output is not JSON: %s' % exc)
        elif not nft.missing:
            reasons.append(nft.reason())
        ipt = None
        if status is None:
            ipt = self.host.run(['iptables-save'])
            if ipt.ok:
                _combine(decided, 'ipv4', firewall.evaluate_iptables(ipt.out, 'ipv4'), 'iptables ')
                out['ruleset'] = ipt.out
                if out['provider'] == 'none':
                    out['provider'] = 'iptables'
                ip6 = self.host.run(['ip6tables-save'])
                if ip6.ok:
                    _combine(decided, 'ipv6', firewall.evaluate_iptables(ip6.out, 'ipv6'), 'ip6tables ')
                    out['ruleset6'] = ip6.out
                elif not ip6.missing:
                    reasons.append(ip6.reason())
                status = 'ok'
            elif not ipt.missing:
                reasons.append(ipt.reason())
        if status is None and out.get('firewalld'):
            status = 'ok'
        for f in firewall.FAMILIES:
            if f in decided:
                v, why, unc = decided[f]
                out['families'][f] = {'verdicts': v, 'why': why, 'uncertain': unc}
        cur = out['families'][fam]
        out.update(verdicts=dict(cur['verdicts']), why=dict(cur['why']), uncertain=dict(cur['uncertain']))
        if status == 'ok':
            return section('ok', '; '.join(reasons) or None, **out)
        if nft.missing and (ipt is None or ipt.missing):
            return section('missing', 'neither nft nor iptables-save is installed', **out)
        return section('error', '; '.join(reasons), **out)

    def _firewalld(self, out, decided, reasons):
        """firewalld's zones (``--list-all-zones``), default zone and the services they name."""
        la = self.host.run(['firewall-cmd', '--list-all-zones'])
        if not la.ok:
            reasons.append(la.reason())
            return
        zones = firewall.parse_firewalld_zones(la.out)
        dz = self.host.run(['firewall-cmd', '--get-default-zone'])
        default = dz.out.strip() if dz.ok and dz.out.strip() else None
        names = set()
        for z in zones.values():
            names.update(z.get('services', []))
            for text in z.get('rich_rules', []):
                m = re.search(r'service name="([^"]+)"', text)
                if m:
                    names.add(m.group(1))
        services = {}
        for name in sorted(names):
            for d in ('/etc/firewalld/services', '/usr/lib/firewalld/services'):
                text, _err = self.host.read('%s/%s.xml' % (d, name))
                if text:
                    try:
                        services[name] = firewall.parse_firewalld_service_xml(text)
                        break
                    except ValueError as exc:
                        reasons.append('%s/%s.xml: %s' % (d, name, exc))
        res, per_zone, used, default = firewall.evaluate_firewalld(zones, default, services)
        for f in firewall.FAMILIES:
            _combine(decided, f, res[f], '')
        out['provider'] = 'firewalld'
        out['firewalld'] = {'zones': zones, 'default_zone': default, 'zones_used': used, 'per_zone': per_zone,
                            'services': services}

    def _legacy_iptables(self, decided):
        """Rules loaded through iptables-legacy are invisible to nft but still filter: a packet
        must pass both, so the first non-accept verdict wins."""
        for fam, tool in (('ipv4', 'iptables-legacy-save'), ('ipv6', 'ip6tables-legacy-save')):
            res = self.host.run([tool])
            if not res.ok or not res.out.strip():
                continue
            filt = firewall.parse_iptables_save(res.out).get('filter', {})
            inp = filt.get('INPUT')
            if not inp or (not inp['rules'] and inp['policy'] == 'ACCEPT'):
                continue
            _combine(decided, fam, firewall.evaluate_iptables(res.out, fam), tool.replace('-save', '') + ' ')

    # ---------------------------------------------------------------- network
    def network(self):
        reasons = []
        listening = []
        res = self.host.run(['ss', '-uapn'])
        if res.ok:
            listening = [s for s in system.parse_ss(res.out) if s['port'] in (500, 4500)]
        else:
            reasons.append(res.reason())
        interfaces = []
        res = self.host.run(['ip', '-j', 'addr'])
        if res.ok:
            try:
                interfaces = system.parse_ip_addr(res.out)
            except ValueError as exc:
                reasons.append('ip -j addr: %s' % exc)
        else:
            reasons.append(res.reason())
        addresses = [a for i in interfaces for a in i['addrs']]
        nat = None
        if self._sas is not None:
            nat = any(sa.get('nat_local') or sa.get('nat_remote') for sa in self._sas)
        status = 'ok' if not reasons else ('error' if not interfaces and not listening else 'partial')
        return section(status, '; '.join(reasons) or None, addresses=addresses, listening=listening,
                       interfaces=interfaces, nat_detected=nat,
                       nat_sas=[sa['name'] for sa in (self._sas or []) if sa.get('nat_local') or sa.get('nat_remote')])

    # ---------------------------------------------------------------- resources
    def resources(self, daemon):
        reasons = []
        load = mem = None
        text, err = self.host.read('/proc/loadavg')
        if text:
            load = system.parse_loadavg(text)
        else:
            reasons.append(err[1])
        text, err = self.host.read('/proc/meminfo')
        if text:
            mem = system.parse_meminfo(text)
        else:
            reasons.append(err[1])
        stats = None
        if daemon['name'] == 'strongswan' and daemon['running']:
            res = self.swanctl('--stats')
            if res.ok:
                stats = strongswan.stats_from_pretty(res.out)
            else:
                reasons.append(res.reason())
        limits = strongswan.limits_from_settings(self.settings()) if daemon['name'] == 'strongswan' else {}
        if daemon['name'] == 'libreswan' and daemon['running']:
            res = self.host.run(['ipsec', 'globalstatus'])
            if res.ok:
                stats, limits, _all = libreswan.parse_globalstatus(res.out)
            else:
                reasons.append(res.reason())
        return section('ok' if not reasons else 'partial', '; '.join(reasons) or None, load=load, mem=mem,
                       stats=stats, limits=limits)

    # ---------------------------------------------------------------- all
    def run(self):
        subset = resolve_subset(self.p.get('gather_subset'))
        t0 = time.monotonic()
        daemon = _guard('daemon', self.daemon)
        if 'status' in daemon:     # guard caught an error
            daemon = {'name': 'none', 'running': False, 'pid': None, 'version': None, 'error': daemon.get('reason')}
        facts = {'schema': SCHEMA, 'hostname': socket.gethostname(), 'daemon': daemon, 'gather_subset': subset}
        for name in SUBSETS:
            if name not in subset:
                facts[name] = section('skipped', 'not in gather_subset')
                continue
            if name in ('logs', 'certs', 'conns', 'sas', 'resources'):
                facts[name] = _guard(name, getattr(self, name), daemon)
            else:
                facts[name] = _guard(name, getattr(self, name))
        # network's NAT view needs the SAs: recompute when network ran before sas had data
        if 'network' in subset and 'sas' in subset and facts['network'].get('nat_detected') is None and self._sas is not None:
            facts['network'] = _guard('network', self.network)
        if daemon['name'] == 'none':
            facts['status'] = 'no_daemon'
            facts['reason'] = 'no IKE daemon (strongSwan charon or libreswan pluto) is installed'
        elif not daemon['running']:
            facts['status'] = 'no_daemon'
            facts['reason'] = '%s is installed but its daemon is not running' % daemon['name']
        else:
            bad = [n for n in subset if facts[n].get('status') not in ('ok', 'skipped', 'deferred')]
            facts['status'] = 'partial' if bad else 'ok'
            if bad:
                facts['reason'] = 'sections not fully gathered: ' + ', '.join(bad)
        facts['gather_seconds'] = round(time.monotonic() - t0, 3)
        facts['commands'] = [' '.join(c) for c in self.host.commands]
        return facts


def merge_cert_facts(blobs, key_hashes, reasons):
    """Parse every (der, path, store, has_privkey) once per fingerprint; stores and paths are merged."""
    by_fp = {}
    order = []
    for der, path, store, hp in blobs:
        fp = hashlib.sha256(der).hexdigest()
        if fp not in by_fp:
            try:
                facts = certinfo.cert_facts(der, path, store)
            except Exception as exc:
                reasons.append('%s: unparsable certificate (%s)' % (path or store, exc))
                continue
            facts['stores'] = []
            facts['paths'] = []
            by_fp[fp] = facts
            order.append(fp)
        f = by_fp[fp]
        if store and store not in f['stores']:
            f['stores'].append(store)
        if path and path not in f['paths']:
            f['paths'].append(path)
        if f['path'] is None and path:
            f['path'] = path
        if hp is not None:
            f['has_private_key'] = bool(hp) or bool(f['has_private_key'])
    for fp in order:
        f = by_fp[fp]
        if key_hashes is not None and f['spki_sha256'] in key_hashes:
            f['has_private_key'] = True
        if f['has_private_key'] is None and not f['is_ca'] and key_hashes is not None:
            f['has_private_key'] = False    # on the controller (no key hashes) unknown stays None
        f['store'] = f['stores'][0] if f['stores'] else None
    return [by_fp[fp] for fp in order]


def gather(params, host=None):
    return Gatherer(params, host).run()
