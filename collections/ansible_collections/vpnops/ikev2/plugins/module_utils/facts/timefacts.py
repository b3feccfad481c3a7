# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's clock as its NTP client sees it: chrony, systemd-timesyncd, ntpd; and the timezone.

>>> t = parse_chrony_tracking('C0000201,192.0.2.1,9,1795734070.555257713,-0.000002826,0.000000280,'
...                           '0.000001146,0.057,0.026,0.566,0.000010058,0.000002282,1.0,Normal')
>>> t['reference'], t['stratum'], t['synchronized'], t['offset_s']
('192.0.2.1', 9, True, 2.826e-06)
"""
from __future__ import annotations

import os
import re

_SRC_MODE = {'^': 'server', '=': 'peer', '#': 'refclock'}
_SRC_STATE = {'*': 'selected', '+': 'combined', '-': 'not_combined', '?': 'unreachable',
              'x': 'falseticker', '~': 'too_variable'}


def _f(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def parse_chrony_tracking(text):
    """``chronyc -c tracking``. ``offset_s`` is the host clock minus NTP time (chrony prints the
    correction it still has to apply: negative when the clock is fast)."""
    line = text.strip().splitlines()[-1] if text.strip() else ''
    f = line.split(',')
    if len(f) < 14:
        raise ValueError('not chronyc -c tracking output: %r' % line[:120])
    correction = _f(f[4])
    leap = f[13]
    stratum = int(f[2]) if f[2].isdigit() else None
    refid = f[0]
    synced = leap != 'Not synchronised' and refid not in ('00000000',) and (stratum or 16) < 16
    return {
        'refid': refid, 'reference': f[1] or ('LOCAL' if refid == '7F7F0101' else refid),
        'stratum': stratum, 'ref_time': _f(f[3]),
        'offset_s': (-correction if correction else 0.0) if correction is not None else None,
        'last_offset_s': _f(f[5]), 'rms_offset_s': _f(f[6]), 'frequency_ppm': _f(f[7]),
        'residual_freq_ppm': _f(f[8]), 'skew_ppm': _f(f[9]), 'root_delay_s': _f(f[10]),
        'root_dispersion_s': _f(f[11]), 'update_interval_s': _f(f[12]), 'leap_status': leap,
        'synchronized': synced, 'local_reference': refid == '7F7F0101',
    }


def parse_chrony_sources(text):
    """``chronyc -c sources``."""
    out = []
    for line in text.strip().splitlines():
        f = line.split(',')
        if len(f) < 10:
            continue
        out.append({
            'mode': _SRC_MODE.get(f[0], f[0]), 'state': _SRC_STATE.get(f[1], f[1]), 'name': f[2],
            'stratum': int(f[3]) if f[3].isdigit() else None, 'poll': int(f[4]) if f[4].lstrip('-').isdigit() else None,
            'reach': int(f[5], 8) if f[5].isdigit() else None,
            'last_rx_s': None if f[6] == '4294967295' else _f(f[6]),
            'offset_s': _f(f[7]), 'measured_offset_s': _f(f[8]), 'error_s': _f(f[9]),
        })
    return out


def parse_chrony_conf_servers(text):
    """server/pool/peer lines of chrony.conf (``sourcedir``/``confdir`` are listed separately)."""
    servers = []
    dirs = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        m = re.match(r'^(server|pool|peer)\s+(\S+)(.*)$', line)
        if m:
            servers.append({'type': m.group(1), 'host': m.group(2), 'options': m.group(3).split()})
            continue
        m = re.match(r'^(sourcedir|confdir|include)\s+(.+)$', line)
        if m:
            dirs.append(m.group(2).strip())
    return servers, dirs


def parse_timedatectl_show(text):
    """``timedatectl show`` / ``timedatectl show-timesync --all`` key=value lines."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition('=')
        if sep:
            out[k.strip()] = v.strip()
    return out


def parse_ntpq_peers(text):
    """``ntpq -pn``: peers with their tally code; offset in seconds (ntpq prints milliseconds)."""
    peers = []
    for line in text.splitlines():
        if not line or line.startswith(('     remote', '====')):
            continue
        tally = line[0] if line[0] in ' x.-+#*o' else ' '
        f = line[1:].split()
        if len(f) < 10:
            continue
        peers.append({'name': f[0], 'refid': f[1], 'stratum': int(f[2]) if f[2].isdigit() else None,
                      'state': {'*': 'selected', '+': 'combined', '-': 'outlier', 'x': 'falseticker',
                                'o': 'pps', '#': 'backup', '.': 'excess', ' ': 'rejected'}[tally],
                      'reach': int(f[6], 8) if f[6].isdigit() else None,
                      'offset_s': (_f(f[8]) or 0.0) / 1000.0})
    return peers


def timezone_info(host):
    """Timezone name (from /etc/timezone or the /etc/localtime link) and current UTC offset."""
    import time
    name = None
    text, _err = host.read('/etc/timezone')
    if text and text.strip():
        name = text.strip().splitlines()[0]
    if not name:
        try:
            link = os.readlink('/etc/localtime')
            if 'zoneinfo/' in link:
                name = link.split('zoneinfo/', 1)[1]
        except OSError:
            pass
    lt = time.localtime()
    offset = lt.tm_gmtoff if hasattr(lt, 'tm_gmtoff') else -time.timezone
    return {'name': name or ('UTC' if offset == 0 else None), 'abbrev': time.strftime('%Z', lt),
            'utc_offset_s': int(offset)}
