# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalized connection settings, mapped to swanctl.conf and libreswan ipsec.conf keys.

The normalized settings (:data:`SETTINGS`) are the same for both daemons; :func:`plan` compares them
with a file's connections and edits only the lines that differ. Durations compare by their value
(``1h`` equals ``3600`` and ``60m``), lists of traffic selectors as sets, proposals in order.

========================  ==================================  ==========================
normalized                swanctl.conf                        libreswan ipsec.conf
========================  ==================================  ==========================
ike_proposals             connections.C.proposals             ike= (translated)
esp_proposals             ...children.X.esp_proposals         esp= (translated)
rekey_time                connections.C.rekey_time            ikelifetime
life_time                 connections.C.over_time (*)         (not expressible)
child_rekey_time          ...children.X.rekey_time            salifetime
child_life_time           ...children.X.life_time             (not expressible)
dpd_delay                 connections.C.dpd_delay             dpddelay
fragmentation             connections.C.fragmentation         fragmentation
local_ts / remote_ts      ...children.X.local_ts/remote_ts    leftsubnet / rightsubnet
========================  ==================================  ==========================

(*) strongSwan has no IKE life time of its own: it is rekey_time + over_time, so a requested life_time
sets ``over_time`` to the difference. libreswan's ``left`` is taken as the local end.

>>> r = plan(SwanctlDoc('connections {\\n\\tgw1 {\\n\\t\\trekey_time = 240m\\n\\t\\tchildren {\\n\\t\\t\\tnet {\\n'
...                     '\\t\\t\\t\\tremote_ts = 10.1.0.0/24\\n\\t\\t\\t}\\n\\t\\t}\\n\\t}\\n}\\n'),
...          {'rekey_time': '4h', 'dpd_delay': '30s'}, {'gw1': {'remote_ts': ['10.9.0.0/24']}})
>>> [(d['where'], d['key'], d['have'], d['want']) for d in r['drift']]
[('gw1', 'dpd_delay', '(unset, default 0s)', '30s'), ('gw1/net', 'remote_ts', '10.1.0.0/24', '10.9.0.0/24')]
"""
from __future__ import annotations

import os
import re

from ansible_collections.vpnops.ikev2.plugins.module_utils.conf.conf_text import ConfError, IpsecDoc, SwanctlDoc
from ansible_collections.vpnops.ikev2.plugins.module_utils.conf.libreswan_proposals import (
    TranslationError, to_libreswan)

SETTINGS = ('ike_proposals', 'esp_proposals', 'rekey_time', 'life_time', 'child_rekey_time', 'child_life_time',
            'dpd_delay', 'fragmentation', 'local_ts', 'remote_ts')
TS_KEYS = ('local_ts', 'remote_ts')
FRAGMENTATION = ('yes', 'no', 'accept', 'force')

# normalized -> (level, key, kind, default when unset); level 'conn' or 'child'.
SWANCTL = {
    'ike_proposals': ('conn', 'proposals', 'proposals', 'default'),
    'esp_proposals': ('child', 'esp_proposals', 'proposals', 'default'),
    'rekey_time': ('conn', 'rekey_time', 'duration', '4h'),
    'child_rekey_time': ('child', 'rekey_time', 'duration', '1h'),
    'child_life_time': ('child', 'life_time', 'duration', None),   # default: rekey_time + 10%
    'dpd_delay': ('conn', 'dpd_delay', 'duration', '0s'),
    'fragmentation': ('conn', 'fragmentation', 'word', 'yes'),
    'local_ts': ('child', 'local_ts', 'ts', 'dynamic'),
    'remote_ts': ('child', 'remote_ts', 'ts', 'dynamic'),
}
LIBRESWAN = {
    'ike_proposals': ('conn', 'ike', 'lsw_ike', None),
    'esp_proposals': ('conn', 'esp', 'lsw_esp', None),
    'rekey_time': ('conn', 'ikelifetime', 'duration', '8h'),
    'child_rekey_time': ('conn', 'salifetime', 'duration', '8h'),
    'dpd_delay': ('conn', 'dpddelay', 'duration', '0s'),
    'fragmentation': ('conn', 'fragmentation', 'word', 'yes'),
    'local_ts': ('conn', 'leftsubnet', 'ts', None),
    'remote_ts': ('conn', 'rightsubnet', 'ts', None),
}
_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400}


class SettingsError(ValueError):
    """Bad requested settings or a connection that does not exist; the message says which."""


def seconds(text):
    """A strongSwan/libreswan duration (``30``, ``30s``, ``4h``, ``1.5h``) in seconds, or None.

    >>> seconds('4h'), seconds('240m'), seconds('30'), seconds('x')
    (14400, 14400, 30, None)
    """
    m = re.match(r'^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$', str(text))
    if not m:
        return None
    return int(round(float(m.group(1)) * _UNITS[m.group(2)]))


def duration_text(secs):
    """Seconds as the shortest exact duration text.

    >>> duration_text(14400), duration_text(90), duration_text(45)
    ('4h', '90s', '45s')
    """
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if secs and secs % size == 0:
            return '%d%s' % (secs // size, unit)
    return '%ds' % secs


def _as_list(value, name):
    if isinstance(value, str):
        value = [v for v in re.split(r'[,\s]+', value) if v]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingsError('%s must be a non-empty list of strings, got %r' % (name, value))
    return [v.strip() for v in value]


def validate(settings, traffic_selectors=None):
    """Check and normalize the requested settings; returns ``(settings, traffic_selectors)``."""
    settings = dict((k, v) for k, v in (settings or {}).items() if v is not None)
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise SettingsError('unknown setting%s %s; the settings are: %s'
                            % ('' if len(unknown) == 1 else 's', ', '.join(unknown), ', '.join(SETTINGS)))
    out = {}
    for key, value in settings.items():
        if key in ('ike_proposals', 'esp_proposals', 'local_ts', 'remote_ts'):
            out[key] = _as_list(value, key)
        elif key == 'fragmentation':
            word = {True: 'yes', False: 'no'}.get(value, str(value).strip().lower())
            if word not in FRAGMENTATION:
                raise SettingsError('fragmentation must be one of %s, got %r' % (', '.join(FRAGMENTATION), value))
            out[key] = word
        else:
            if seconds(value) is None:
                raise SettingsError('%s must be a duration such as 30s, 60m, 4h or 1d, got %r' % (key, value))
            out[key] = str(value).strip()
    ts = {}
    for conn, sel in (traffic_selectors or {}).items():
        if not isinstance(sel, dict) or set(sel) - set(TS_KEYS):
            raise SettingsError('traffic_selectors.%s must be a mapping with local_ts and/or remote_ts, got %r'
                                % (conn, sel))
        ts[conn] = dict((k, _as_list(v, 'traffic_selectors.%s.%s' % (conn, k))) for k, v in sel.items()
                        if v is not None)
    return out, ts


def _norm(kind, value):
    """Comparable form of a value."""
    if value is None:
        return None
    if kind == 'duration':
        s = seconds(value)
        return s if s is not None else str(value)
    if kind == 'ts':
        return tuple(sorted(v.strip() for v in re.split(r'[,\s]+', value.strip('{} ')) if v.strip()))
    if kind in ('proposals', 'lsw_ike', 'lsw_esp'):
        return tuple(v.strip().lower() for v in value.split(',') if v.strip())
    return str(value).strip().lower()


def _want_text(kind, value):
    if kind == 'ts':
        return ','.join(value)
    if kind == 'proposals':
        return ','.join(value)
    if kind == 'lsw_ike':
        return to_libreswan(value, 'ike')
    if kind == 'lsw_esp':
        return to_libreswan(value, 'esp')
    return value


def _have_text(value, default, kind):
    if value is not None:
        return value
    if default is None:
        return '(unset)'
    return '(unset, default %s)' % default


def _pick(doc, connections, traffic_selectors, missing):
    have = [c.name for c in doc.conns()]
    wanted = list(connections or [])
    ts_names = list(traffic_selectors)
    absent = [c for c in wanted + ts_names if c not in have]
    if absent and missing == 'fail':
        raise SettingsError('%s %s has no connection %s (it has: %s)'
                            % (doc.kind, doc.path, ', '.join(repr(a) for a in dict.fromkeys(absent)),
                               ', '.join(have) or 'none'))
    chosen = [c for c in doc.conns() if not wanted or c.name in wanted]
    return chosen, sorted(set(absent))


def plan(doc, settings, traffic_selectors=None, connections=None, missing='fail'):
    """Compare ``doc``'s connections with the requested settings and edit ``doc`` where they differ.

    ``settings`` apply to every chosen connection (all when ``connections`` is empty) and to each of
    their CHILD sections; ``traffic_selectors`` (``{conn: {local_ts: [...], remote_ts: [...]}}``) to the
    named connections. Returns ``{'drift': [...], 'connections': [...], 'missing': [...], 'unsupported': [...]}``
    where each drift item is ``{connection, child, where, key, have, want}``; ``doc.text()`` is the new text.
    """
    settings, traffic_selectors = validate(settings, traffic_selectors)
    chosen, absent = _pick(doc, connections, traffic_selectors, missing)
    if isinstance(doc, SwanctlDoc):
        drift, unsupported = _plan_swanctl(doc, chosen, settings, traffic_selectors)
    else:
        drift, unsupported = _plan_libreswan(doc, chosen, settings, traffic_selectors)
    return {'drift': drift, 'connections': [c.name for c in chosen], 'missing': absent, 'unsupported': unsupported}


def _compare(doc, section, key, kind, default, want, where, conn, child, norm_key, drift):
    cur = section.get(key)
    have_n = _norm(kind, cur if cur is not None else default)
    want_t = _want_text(kind, want)
    if have_n == _norm(kind, want_t):
        return
    drift.append({'connection': conn, 'child': child, 'where': where, 'key': norm_key,
                  'have': _have_text(cur, default, kind), 'want': want_t})
    doc.set(section, key, want_t)


def _plan_swanctl(doc, chosen, settings, traffic_selectors):
    drift = []
    for conn in chosen:
        wanted = dict(settings)
        wanted.update(traffic_selectors.get(conn.name, {}))
        children = doc.children(conn.name)
        for norm_key in SETTINGS:
            if norm_key not in wanted or norm_key == 'life_time':
                continue
            level, key, kind, default = SWANCTL[norm_key]
            if level == 'conn':
                targets = [(conn, conn.name, None)]
            else:
                targets = [(c, '%s/%s' % (conn.name, c.name), c.name) for c in children]
            for section, where, child in targets:
                dflt = default
                if norm_key == 'child_life_time':
                    rk = seconds(section.get('rekey_time') or '1h') or 3600
                    dflt = duration_text(int(rk * 1.1))
                _compare(doc, section, key, kind, dflt, wanted[norm_key], where, conn.name, child, norm_key, drift)
        if 'life_time' in wanted:
            rekey = seconds(conn.get('rekey_time') or '4h')
            cur_over = conn.get('over_time')
            have_life = rekey + (seconds(cur_over) if cur_over is not None and seconds(cur_over) is not None
                                 else rekey // 10)
            want_life = seconds(wanted['life_time'])
            if want_life != have_life:
                if want_life <= rekey:
                    raise SettingsError('%s: life_time %s must be longer than rekey_time %s (strongSwan closes the '
                                        'IKE_SA at rekey_time + over_time)'
                                        % (conn.name, wanted['life_time'], duration_text(rekey)))
                drift.append({'connection': conn.name, 'child': None, 'where': conn.name, 'key': 'life_time',
                              'have': duration_text(have_life) + ('' if cur_over is not None else ' (default)'),
                              'want': wanted['life_time']})
                doc.set(conn, 'over_time', duration_text(want_life - rekey))
    return drift, []


def _plan_libreswan(doc, chosen, settings, traffic_selectors):
    drift = []
    unsupported = sorted(k for k in settings if k not in LIBRESWAN)
    for conn in chosen:
        wanted = dict(settings)
        wanted.update(traffic_selectors.get(conn.name, {}))
        for norm_key in SETTINGS:
            if norm_key not in wanted or norm_key not in LIBRESWAN:
                continue
            _level, key, kind, default = LIBRESWAN[norm_key]
            value = wanted[norm_key]
            if kind == 'ts':
                plural = key + 's'
                if len(value) > 1 or conn.get(plural) is not None:
                    raise SettingsError('%s %s conn %s: several %s (or %s=) are not edited by this module; set '
                                        'one subnet' % (doc.kind, doc.path, conn.name, norm_key, plural))
            try:
                _compare(doc, conn, key, kind, default, value, conn.name, conn.name, None, norm_key, drift)
            except TranslationError as e:
                raise SettingsError('%s for libreswan: %s' % (norm_key, e))
    return drift, unsupported


def parse(text, path=None, daemon='auto'):
    """The document for ``text``: swanctl.conf or libreswan ipsec.conf (``daemon`` auto: by content).

    >>> type(parse('conn a\\n\\tleft=1.2.3.4\\n')).__name__, type(parse('connections {\\n}\\n')).__name__
    ('IpsecDoc', 'SwanctlDoc')
    """
    if daemon == 'auto':
        by_name = bool(path and re.search(r'ipsec(\.d/.*)?\.conf$', path) and '{' not in text)
        if by_name or re.search(r'(?m)^(conn|config)\s+\S+\s*$', text):
            daemon = 'libreswan'
        else:
            daemon = 'strongswan'
    if daemon == 'libreswan':
        return IpsecDoc(text, path)
    if daemon == 'strongswan':
        return SwanctlDoc(text, path)
    raise SettingsError('daemon must be auto, strongswan or libreswan, got %r' % daemon)


__all__ = ['ConfError', 'SettingsError', 'SETTINGS', 'parse', 'plan', 'validate', 'seconds', 'duration_text', 'edit_file']


def _redact(text):
    """Secret values (swanctl ``secret = ...``, ``psk``, ``pin``...) replaced, for diffs."""
    from ansible_collections.vpnops.ikev2.plugins.module_utils.facts.swan_conf import redact_text
    return redact_text(text)


def edit_file(path, settings, traffic_selectors=None, connections=None, missing='fail', daemon='auto',
              check_mode=False, backup_dir=None, now=None):
    """Read ``path``, plan the settings, and (unless ``check_mode``) back it up and write it atomically.

    The file keeps its mode and owner. Returns the plan (see :func:`plan`) plus ``changed``, ``path``,
    ``daemon``, ``diff`` (before/after text, secrets redacted) and ``backup_file`` (or None).
    """
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except (IOError, OSError) as e:
        raise SettingsError('cannot read %s: %s' % (path, e.strerror or e))
    try:
        before = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise SettingsError('%s is not UTF-8 text (%s)' % (path, e))
    doc = parse(before, path, daemon)
    result = plan(doc, settings, traffic_selectors, connections, missing)
    after = doc.text()
    changed = after != before
    red_before, red_after = _redact(before), _redact(after)
    result.update(changed=changed, path=path, daemon='strongswan' if isinstance(doc, SwanctlDoc) else 'libreswan',
                  backup_file=None, changes=changed_lines(red_before, red_after),
                  diff={'before': red_before, 'after': red_after, 'before_header': path, 'after_header': path})
    if changed and not check_mode:
        if backup_dir:
            result['backup_file'] = backup(path, backup_dir, now)
        write_atomic(path, after.encode('utf-8'))
    return result


def changed_lines(before, after):
    """The removed (``-``) and added (``+``) lines between two texts, without context (for audit records)."""
    import difflib
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm='', n=0)
            if line[:1] in '+-' and not line.startswith(('+++', '---'))]


def backup(path, backup_dir, now=None):
    """Copy ``path`` (bytes, mode, owner) into ``backup_dir`` (created 0700); returns the copy's path."""
    import shutil
    import time
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
    try:
        if not os.path.isdir(backup_dir):
            os.makedirs(backup_dir, 0o700)
        dest = os.path.join(backup_dir, '%s.%s' % (os.path.basename(path), stamp))
        n = 1
        while os.path.exists(dest):
            n += 1
            dest = os.path.join(backup_dir, '%s.%s.%d' % (os.path.basename(path), stamp, n))
        shutil.copy2(path, dest)
        st = os.stat(path)
        os.chown(dest, st.st_uid, st.st_gid)
    except (IOError, OSError) as e:
        raise SettingsError('cannot back up %s into %s: %s' % (path, backup_dir, e.strerror or e))
    return dest


def write_atomic(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same directory, keeping mode and owner."""
    import tempfile
    st = os.stat(path)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path) or '.')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, st.st_mode & 0o7777)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.rename(tmp, path)
    except (IOError, OSError) as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise SettingsError('cannot write %s: %s' % (path, e.strerror or e))
