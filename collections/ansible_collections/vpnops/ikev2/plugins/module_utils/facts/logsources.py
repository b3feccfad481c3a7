# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the IKE daemons' logs are, reading their time window, and turning lines into events.

Line parsing belongs to ``module_utils/logs`` (``parse_lines``); this module finds the files,
reads the window (``logwindow``), asks journald, and hands the lines over.
"""
from __future__ import annotations

import json
import re

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import logwindow

try:
    from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import parse_lines
    HAS_LOG_PARSERS = True
except ImportError:  # the parsers land separately; the window is still read and reported
    parse_lines = None
    HAS_LOG_PARSERS = False

SYSLOG_FILES = ('/var/log/syslog', '/var/log/messages', '/var/log/daemon.log', '/var/log/auth.log',
                '/var/log/secure')
DEFAULT_CHARON_LOGS = ('/var/log/charon.log',)
DEFAULT_PLUTO_LOGS = ('/var/log/pluto.log',)
JOURNAL_MATCHES = ('_COMM=charon', '_COMM=charon-systemd', '_COMM=pluto', '_SYSTEMD_UNIT=strongswan.service',
                   '_SYSTEMD_UNIT=strongswan-starter.service', '_SYSTEMD_UNIT=strongswan-swanctl.service',
                   '_SYSTEMD_UNIT=ipsec.service')
_IKE_SYSLOG = re.compile(r'\b(?:charon|charon-systemd|pluto|ipsec|swanctl|ipsec_starter)(?:\[\d+\])?:')

_SECRET_FALLBACK = re.compile(r'(?i)((?:secret|psk|password)\s*[=:]\s*)\S+')


def _fallback_events(lines, source, host):
    """Event shape without the parsers (they are a separate package): raw lines only, redacted."""
    out = []
    for line in lines:
        raw = _SECRET_FALLBACK.sub(r'\1<redacted>', line)
        out.append({'ts': None, 'host': host, 'daemon': None, 'source': source, 'thread': None,
                    'subsystem': None, 'level': None, 'ike_name': None, 'ike_id': None, 'peer': None,
                    'peer_port': None, 'exchange': None, 'direction': None, 'notifies': [], 'msg': raw,
                    'raw': raw})
    return out


def to_events(lines, source, year=None, tz=None, host=None):
    if not lines:
        return []
    if not HAS_LOG_PARSERS:
        return _fallback_events(lines, source, host)
    try:
        return parse_lines(lines, fmt=source, year=year, tz=tz, host=host)
    except (ValueError, KeyError, TypeError):
        return parse_lines(lines, fmt=None, year=year, tz=tz, host=host)


def discover_files(host, strongswan_log_paths, pluto_log_paths, extra):
    """[(path, source)] for the files that exist, the daemon's own files first."""
    seen = set()
    out = []
    for paths, source in ((list(extra), None), (list(strongswan_log_paths) + list(DEFAULT_CHARON_LOGS), 'charon-file'),
                          (list(pluto_log_paths) + list(DEFAULT_PLUTO_LOGS), 'pluto'),
                          (list(SYSLOG_FILES), 'syslog')):
        for p in paths:
            if p in seen:
                continue
            seen.add(p)
            if host.exists(p):
                out.append((p, source))
    return out


def read_file_window(path, source, since, until, max_lines, year=None):
    """Read one file's window; syslog files are filtered to IKE daemon lines first."""
    res = logwindow.read_window(path, since, until, max_lines=max_lines * (4 if source == 'syslog' else 1), year=year)
    lines = res.pop('lines')
    if source == 'syslog':
        lines = [ln for ln in lines if _IKE_SYSLOG.search(ln)]
        if len(lines) > max_lines:
            lines = lines[-max_lines:]
            res['truncated'] = True
    return res, lines


def journal_lines(host, since, until, max_lines):
    """journald's IKE daemon entries as JSON lines (``journalctl -o json``)."""
    argv = ['journalctl', '-o', 'json', '--no-pager', '-q', '--since', '@%d' % int(since), '-n', str(max_lines)]
    if until is not None:
        argv += ['--until', '@%d' % int(until + 1)]
    for i, m in enumerate(JOURNAL_MATCHES):
        if i:
            argv.append('+')
        argv.append(m)
    res = host.run(argv)
    if res.missing:
        return {'path': 'journald', 'status': 'missing', 'reason': res.reason()}, []
    if not res.ok:
        return {'path': 'journald', 'status': 'error', 'reason': res.reason()}, []
    lines = [ln for ln in res.out.splitlines() if ln.strip()]
    good = []
    bad = 0
    for ln in lines:
        try:
            json.loads(ln)
            good.append(ln)
        except ValueError:
            bad += 1
    info = {'path': 'journald', 'status': 'ok', 'bytes_read': len(res.out), 'truncated': len(lines) >= max_lines,
            'rotated': []}
    if bad:
        info['reason'] = '%d journal lines were not JSON' % bad
    return info, good
