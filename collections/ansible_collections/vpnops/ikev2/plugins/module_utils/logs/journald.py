# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``journalctl -o json`` objects (one per line) carrying charon, charon-systemd or pluto messages.

charon-systemd writes its thread, group and IKE SA into journal fields (THREAD, GROUP, LEVEL,
IKE_SA_NAME, IKE_SA_UNIQUE_ID) instead of the message text; charon logging through syslog(3)
keeps them in the text (``11[ENC] <rw|1> ...``); both shapes are read. Checked against real
journald 252 output (tests/fixtures/journald/, captured from charon and charon-systemd).

The event time is ``_SOURCE_REALTIME_TIMESTAMP`` (when the message was sent; the time ``journalctl``
itself prints in its text formats), else ``__REALTIME_TIMESTAMP`` (when journald stored it), so a
JSON export and a pasted ``journalctl -o short-precise`` of the same entry give the same ``ts``.
"""

from __future__ import annotations

import datetime
import json

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import syslog
from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import iso, new_event

# Field name -> event key (kept as data: a new journal field is a table row).
FIELDS = (
    ('_HOSTNAME', 'host'),
    ('GROUP', 'subsystem'),
    ('IKE_SA_NAME', 'ike_name'),
    ('IKE_SA_UNIQUE_ID', 'ike_id'),
)
# Preference order of the entry's time (see the module docstring).
TIME_FIELDS = ('_SOURCE_REALTIME_TIMESTAMP', '__REALTIME_TIMESTAMP')
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _text(value):
    if isinstance(value, list):  # journald exports non-UTF-8 messages as byte arrays
        try:
            return bytes(v & 0xff for v in value if isinstance(v, int)).decode('utf-8', 'replace')
        except Exception:
            return None
    if isinstance(value, str):
        return value
    if value is None:
        return None
    return str(value)


def parse(line, stamps, host=None):
    s = line.strip()
    if not s.startswith('{'):
        return None
    try:
        obj = json.loads(s)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    msg = _text(obj.get('MESSAGE'))
    if msg is None:
        return None
    prog = _text(obj.get('SYSLOG_IDENTIFIER')) or _text(obj.get('_COMM')) or ''
    ev = new_event('journald', None, msg, line)
    if not syslog.parse_rest(ev, prog, msg):
        return None
    for field, key in FIELDS:
        v = obj.get(field)
        if v is not None and ev.get(key) is None:
            ev[key] = _text(v)
    if ev['thread'] is None and obj.get('THREAD') is not None:
        try:
            ev['thread'] = int(obj['THREAD'])
        except (TypeError, ValueError):
            pass
    if ev['level'] is None and obj.get('LEVEL') is not None:
        try:
            ev['level'] = int(obj['LEVEL'])
        except (TypeError, ValueError):
            pass
    ev['host'] = ev['host'] or host
    for field in TIME_FIELDS:
        ts = _timestamp(obj.get(field))
        if ts is not None:
            ev['ts'] = ts
            break
    return ev


def _timestamp(value):
    """Microseconds since the epoch (journald's decimal string) as ISO UTC, or None."""
    if value is None:
        return None
    try:
        return iso(_EPOCH + datetime.timedelta(microseconds=int(value)))
    except (TypeError, ValueError, OverflowError):
        return None
