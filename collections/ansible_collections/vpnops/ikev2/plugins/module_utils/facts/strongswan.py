# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""strongSwan: loaded connections, SAs, counters and certificates through ``swanctl --pretty``,
and the connection definitions as written in swanctl.conf (proposals are not in ``list-conns``).
"""
from __future__ import annotations

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import swan_conf, vici_pretty

_AUTH_CLASS = {'public key': 'pubkey', 'pre-shared key': 'psk', 'EAP': 'eap', 'XAuth': 'xauth',
               'any': 'any'}


def _yes(v):
    return str(v).lower() in ('yes', 'true', '1')


def _int(v):
    try:
        return int(str(v).split()[0])
    except (ValueError, TypeError, IndexError):
        return None


def _duration(v):
    """strongSwan durations ('30s', '4h', '1d', '600') to seconds."""
    if v is None or v == '':
        return None
    s = str(v).strip()
    mult = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}.get(s[-1:], None)
    try:
        return int(float(s[:-1]) * mult) if mult else int(float(s))
    except ValueError:
        return None


def _rounds(section, prefix):
    """local-1, local-2 ... (list-conns) in order."""
    keys = sorted((k for k in section if k.startswith(prefix + '-') and isinstance(section[k], dict)),
                  key=lambda k: _int(k.split('-')[-1]) or 0)
    return [section[k] for k in keys]


def _file_rounds(conf, prefix):
    """local, local-1, local2 ... (swanctl.conf) in order."""
    keys = sorted(k for k in conf if isinstance(conf[k], dict) and (k == prefix or k.startswith(prefix)))
    return [conf[k] for k in keys if k != 'children']


def conns_from_pretty(text):
    """Loaded connections from ``swanctl --list-conns --pretty``."""
    out = []
    for name, body in vici_pretty.events(text, 'list-conn').items():
        conn = {
            'name': name, 'loaded': True,
            'local_addrs': body.get('local_addrs', []), 'remote_addrs': body.get('remote_addrs', []),
            'version': body.get('version'),
            'rekey_time': _int(body.get('rekey_time')), 'reauth_time': _int(body.get('reauth_time')),
            'unique': body.get('unique'), 'dpd_delay': _int(body.get('dpd_delay')),
            'ike_proposals': None, 'pools': [], 'fragmentation': None, 'encap': None,
            'local': [], 'remote': [], 'children': [],
        }
        for side in ('local', 'remote'):
            for rnd in _rounds(body, side):
                entry = {'auth': _AUTH_CLASS.get(rnd.get('class'), rnd.get('class')), 'id': rnd.get('id')}
                if side == 'local':
                    entry['certs'] = rnd.get('certs', [])
                entry['cacerts'] = rnd.get('cacerts', [])
                if rnd.get('eap_id') or rnd.get('eap-type'):
                    entry['eap_id'] = rnd.get('eap_id')
                conn[side].append(entry)
        for cname, child in (body.get('children') or {}).items():
            conn['children'].append({
                'name': cname, 'mode': child.get('mode'), 'esp_proposals': None,
                'local_ts': child.get('local-ts', []), 'remote_ts': child.get('remote-ts', []),
                'rekey_time': _int(child.get('rekey_time')), 'dpd_action': child.get('dpd_action'),
                'close_action': child.get('close_action'), 'start_action': None,
            })
        out.append(conn)
    return out


def conns_from_conf(settings):
    """Connections as written in swanctl.conf (parsed with swan_conf.parse_settings)."""
    out = []
    for name, c in (settings.get('connections') or {}).items():
        if not isinstance(c, dict):
            continue
        conn = {
            'name': name, 'loaded': False,
            'local_addrs': swan_conf.split_list(c.get('local_addrs', '%any')),
            'remote_addrs': swan_conf.split_list(c.get('remote_addrs', '%any')),
            'version': {'1': 'IKEv1', '2': 'IKEv2', '0': 'IKEv1/2'}.get(str(c.get('version', '0')), c.get('version')),
            'ike_proposals': swan_conf.split_list(c.get('proposals', 'default')),
            'pools': swan_conf.split_list(c.get('pools')),
            'fragmentation': c.get('fragmentation', 'yes'), 'encap': _yes(c.get('encap', 'no')),
            'dpd_delay': _duration(c.get('dpd_delay', '0')), 'rekey_time': _duration(c.get('rekey_time', '4h')),
            'reauth_time': _duration(c.get('reauth_time', '0')), 'vips': swan_conf.split_list(c.get('vips')),
            'local': [], 'remote': [], 'children': [],
        }
        for side in ('local', 'remote'):
            for rnd in _file_rounds(c, side):
                entry = {'auth': rnd.get('auth', 'pubkey'), 'id': rnd.get('id')}
                if side == 'local':
                    entry['certs'] = swan_conf.split_list(rnd.get('certs'))
                entry['cacerts'] = swan_conf.split_list(rnd.get('cacerts'))
                conn[side].append(entry)
        for cname, ch in (c.get('children') or {}).items():
            if not isinstance(ch, dict):
                continue
            conn['children'].append({
                'name': cname, 'mode': (ch.get('mode') or 'tunnel').upper(),
                'esp_proposals': swan_conf.split_list(ch.get('esp_proposals', 'default')),
                'local_ts': swan_conf.split_list(ch.get('local_ts', 'dynamic')),
                'remote_ts': swan_conf.split_list(ch.get('remote_ts', 'dynamic')),
                'start_action': ch.get('start_action', 'none'), 'dpd_action': ch.get('dpd_action', 'clear'),
                'close_action': ch.get('close_action', 'none'),
                'rekey_time': _duration(ch.get('rekey_time', '1h')),
            })
        out.append(conn)
    return out


def merge_conns(loaded, written):
    """The loaded view wins for what the daemon reports; the file adds what it does not report."""
    by_name = {c['name']: c for c in written}
    out = []
    for conn in loaded:
        f = by_name.pop(conn['name'], None)
        if f:
            for key in ('ike_proposals', 'pools', 'fragmentation', 'encap', 'vips'):
                if conn.get(key) in (None, []):
                    conn[key] = f.get(key)
            for side in ('local', 'remote'):
                for i, rnd in enumerate(conn[side]):
                    if i < len(f[side]) and rnd.get('auth') in (None, 'any'):
                        rnd['auth'] = f[side][i]['auth']
            fch = {ch['name']: ch for ch in f['children']}
            for ch in conn['children']:
                src = fch.get(ch['name'])
                if src:
                    for key in ('esp_proposals', 'start_action'):
                        if ch.get(key) is None:
                            ch[key] = src.get(key)
            conn['written'] = True
        else:
            conn['written'] = False
        out.append(conn)
    for f in by_name.values():
        f['written'] = True
        out.append(f)
    return out


def sas_from_pretty(text):
    """IKE and CHILD SAs from ``swanctl --list-sas --pretty``."""
    ike = []
    for body in vici_pretty.event_list(text, 'list-sa'):
        for name, sa in body.items():
            children = []
            for _key, ch in (sa.get('child-sas') or {}).items():
                children.append({
                    'name': ch.get('name'), 'uniqueid': _int(ch.get('uniqueid')), 'reqid': _int(ch.get('reqid')),
                    'state': ch.get('state'), 'mode': ch.get('mode'), 'protocol': ch.get('protocol'),
                    'encap': _yes(ch.get('encap')), 'spi_in': ch.get('spi-in'), 'spi_out': ch.get('spi-out'),
                    'encr_alg': ch.get('encr-alg'), 'encr_keysize': _int(ch.get('encr-keysize')),
                    'integ_alg': ch.get('integ-alg'), 'dh_group': ch.get('dh-group'),
                    'bytes_in': _int(ch.get('bytes-in')), 'bytes_out': _int(ch.get('bytes-out')),
                    'packets_in': _int(ch.get('packets-in')), 'packets_out': _int(ch.get('packets-out')),
                    'rekey_time': _int(ch.get('rekey-time')), 'life_time': _int(ch.get('life-time')),
                    'install_time': _int(ch.get('install-time')),
                    'local_ts': ch.get('local-ts', []), 'remote_ts': ch.get('remote-ts', []),
                })
            ike.append({
                'name': name, 'uniqueid': _int(sa.get('uniqueid')), 'version': _int(sa.get('version')),
                'state': sa.get('state'),
                'local_host': sa.get('local-host'), 'local_port': _int(sa.get('local-port')),
                'remote_host': sa.get('remote-host'), 'remote_port': _int(sa.get('remote-port')),
                'local_id': sa.get('local-id'), 'remote_id': sa.get('remote-id'),
                'initiator': _yes(sa.get('initiator')),
                'initiator_spi': sa.get('initiator-spi'), 'responder_spi': sa.get('responder-spi'),
                'encr_alg': sa.get('encr-alg'), 'encr_keysize': _int(sa.get('encr-keysize')),
                'integ_alg': sa.get('integ-alg'), 'prf_alg': sa.get('prf-alg'), 'dh_group': sa.get('dh-group'),
                'nat_local': _yes(sa.get('nat-local')), 'nat_remote': _yes(sa.get('nat-remote')),
                'nat_fake': _yes(sa.get('nat-fake')), 'nat_any': _yes(sa.get('nat-any')),
                'established': _int(sa.get('established')), 'rekey_time': _int(sa.get('rekey-time')),
                'local_vips': sa.get('local-vips', []), 'remote_vips': sa.get('remote-vips', []),
                'children': children,
            })
    return ike


def conns_without_sa(conns, ike_sas):
    """Loaded connections that have no IKE SA (any state), by name."""
    up = {sa['name'] for sa in ike_sas}
    return [c['name'] for c in conns if c.get('loaded') and c['name'] not in up]


def stats_from_pretty(text):
    """``swanctl --stats --pretty`` to the daemon's counters."""
    body = vici_pretty.reply(text, 'stats')
    workers = body.get('workers') or {}
    queues = body.get('queues') or {}
    ikesas = body.get('ikesas') or {}
    active = workers.get('active') or {}
    return {
        'uptime_s': _uptime((body.get('uptime') or {}).get('running')),
        'since': (body.get('uptime') or {}).get('since'),
        'ike_sas': _int(ikesas.get('total')), 'half_open': _int(ikesas.get('half-open')),
        'workers': _int(workers.get('total')), 'workers_idle': _int(workers.get('idle')),
        'workers_active': {k: _int(v) for k, v in active.items()},
        'queued_jobs': sum(_int(v) or 0 for v in queues.values()),
        'queues': {k: _int(v) for k, v in queues.items()},
        'scheduled_jobs': _int(body.get('scheduled')),
        'plugins': body.get('plugins', []),
        'mallinfo': {k: _int(v) for k, v in (body.get('mallinfo') or {}).items()},
    }


def _uptime(v):
    """'39 seconds', '6 minutes', '2 hours', '3 days' (charon rounds to one unit) to seconds."""
    if not v:
        return None
    parts = str(v).split()
    n = _int(parts[0])
    if n is None:
        return None
    unit = parts[1] if len(parts) > 1 else 'seconds'
    for prefix, mult in (('sec', 1), ('min', 60), ('hour', 3600), ('day', 86400)):
        if unit.startswith(prefix):
            return n * mult
    return n


def version_from_pretty(text):
    body = vici_pretty.reply(text, 'version')
    return body.get('version'), body.get('daemon')


def certs_from_pretty(text):
    """``swanctl --list-certs --pretty``: [{der: bytes, type, flag, has_privkey}], public certs only."""
    out = []
    for body in vici_pretty.event_list(text, 'list-cert'):
        data = body.get('data', '')
        if data.startswith('0x'):
            try:
                der = bytes.fromhex(data[2:])
            except ValueError:
                continue
        else:
            continue
        out.append({'der': der, 'type': body.get('type'), 'flag': body.get('flag'),
                    'has_privkey': _yes(body.get('has_privkey')) if 'has_privkey' in body else False})
    return out


LIMIT_KEYS = ('ikesa_limit', 'init_limit_half_open', 'init_limit_job_load', 'block_threshold',
              'cookie_threshold', 'half_open_timeout', 'ikesa_table_size', 'ikesa_table_segments',
              'threads', 'retransmit_tries', 'retransmit_timeout', 'retransmit_base', 'retransmit_limit',
              'max_ikev1_exchanges', 'make_before_break', 'reuse_ikesa', 'dos_protection')

DEFAULT_LIMITS = {'ikesa_limit': 0, 'init_limit_half_open': 0, 'init_limit_job_load': 0,
                  'block_threshold': 5, 'cookie_threshold': 10, 'half_open_timeout': 30, 'threads': 16,
                  'retransmit_tries': 5, 'retransmit_timeout': 4.0, 'retransmit_base': 1.8}


def limits_from_settings(settings):
    """charon's limits as configured (defaults for what is not set), from strongswan.conf."""
    charon = settings.get('charon') or {}
    out = {}
    for key in LIMIT_KEYS:
        val = charon.get(key)
        if val is None:
            if key in DEFAULT_LIMITS:
                out[key] = DEFAULT_LIMITS[key]
            continue
        try:
            out[key] = int(val)
        except ValueError:
            try:
                out[key] = float(val)
            except ValueError:
                out[key] = val
    return out


def log_paths_from_settings(settings):
    """File loggers configured in strongswan.conf (``charon.filelog`` and ``charon-systemd.filelog``)."""
    paths = []
    for daemon in ('charon', 'charon-systemd', 'charon-nm'):
        for name, cfg in ((settings.get(daemon) or {}).get('filelog') or {}).items():
            if not isinstance(cfg, dict):
                continue
            path = cfg.get('path') or (name if name.startswith('/') else None)
            if path and path not in ('stdout', 'stderr') and path not in paths:
                paths.append(path)
    return paths


def syslog_configured(settings):
    return bool((settings.get('charon') or {}).get('syslog'))
