# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remediation audit log: one JSON object per line, appended on the controller.

Importable without Ansible; the action plugin vpnops.ikev2.audit is a thin wrapper.

>>> rec = build_record(host='gw1', role='vpnops.ikev2.ca_chain', finding='HOST-CHAIN-001@gw1',
...                    diff={'after': 'secret = "hunter2"\\n'}, operator='alice',
...                    now=datetime.datetime(2026, 11, 27, 0, 0, tzinfo=datetime.timezone.utc))
>>> rec['time'], rec['operator'], rec['diff']['after']
('2026-11-27T00:00:00Z', 'alice', 'secret = <redacted>\\n')
>>> redact({'psk': 'abc', 'nested': [{'password': 'x', 'key_type': 'ECDSA'}]})
{'psk': '<redacted>', 'nested': [{'password': '<redacted>', 'key_type': 'ECDSA'}]}
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import getpass
import json
import os
import re

REDACTED = '<redacted>'
SCHEMA = 1

# Mapping keys whose values are secrets, whatever they hold.
_SECRET_KEY_NAME = re.compile(
    r'(?i)^(?:.*[_-])?(?:secret|secrets|password|passwd|passphrase|psk|pin|token|private[_-]?key|privkey|'
    r'credential|credentials|api[_-]?key|shared[_-]?key|pkcs12[_-]?password)$')

# Text: `key = value` / `key: value` lines whose key names a secret, also inside unified diffs
# (a leading `+`, `-` or space) and YAML/INI-ish settings.
_SECRET_LINE = re.compile(
    r'(?im)^(?P<lead>[+\- ]?\s*["\']?(?:secret(?:-?\w*)?|password|passwd|passphrase|psk|pin|token|'
    r'private[_-]?key|api[_-]?key)["\']?\s*[=:]\s*)(?P<val>\S.*)$')
# ipsec.secrets: `selectors : PSK "value"` (also RSA/ECDSA key passphrases, EAP, XAUTH, PIN).
_IPSEC_SECRETS = re.compile(
    r'(?im)^(?P<lead>[+\- ]?[^\n:"#]*:\s*(?:PSK|EAP|XAUTH|PIN|NTLM|P12|PKCS12|RSA|ECDSA|PKCS8)\b)(?P<val>[ \t]+\S.*)$')
# PEM private keys (any flavour), whole block.
_PEM_PRIVATE = re.compile(
    r'-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END (?P=kind)-----|\Z)', re.DOTALL)
# user:password@ in URIs.
_URI_CRED = re.compile(r'(\b[a-zA-Z][\w+.-]*://[^:/\s@]+:)[^@\s]+@')


def redact_text(text):
    """Remove secret-looking values from free text (config files, diffs, messages).

    >>> redact_text('+  secret = 0sFpZAZqEN6Ti9sqt4ZP5EWcqx')
    '+  secret = <redacted>'
    >>> redact_text('@cl2.lab : PSK "lab-psk"')
    '@cl2.lab : PSK <redacted>'
    >>> redact_text('x\\n-----BEGIN EC PRIVATE KEY-----\\nMHc\\n-----END EC PRIVATE KEY-----\\ny')
    'x\\n<redacted>\\ny'
    >>> redact_text('db = mysql://vpn:hunter2@db/ipsec')
    'db = mysql://vpn:<redacted>@db/ipsec'
    """
    if not text:
        return text
    text = _PEM_PRIVATE.sub(REDACTED, text)
    text = _URI_CRED.sub(lambda m: m.group(1) + REDACTED + '@', text)
    text = _IPSEC_SECRETS.sub(lambda m: m.group('lead') + ' ' + REDACTED, text)
    return _SECRET_LINE.sub(lambda m: m.group('lead') + REDACTED, text)


def redact(value):
    """A copy of ``value`` (JSON-like data) with secrets replaced by ``<redacted>``."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = str(k)
            if _SECRET_KEY_NAME.match(key) and v not in (None, '', [], {}) and not isinstance(v, bool):
                out[key] = REDACTED
            else:
                out[key] = redact(v)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact_text(str(value))


def operator_name(explicit=None, environ=None):
    """Who runs the change: ``explicit`` (ikev2_operator) or the controller's login user.

    Under sudo the invoking user is kept as well: ``root (sudo: alice)``.
    """
    if explicit:
        return str(explicit)
    environ = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    sudo_user = environ.get('SUDO_USER')
    if sudo_user and sudo_user != user:
        return '%s (sudo: %s)' % (user, sudo_user)
    return user


def default_log_path(playbook_dir=None, cwd=None):
    """``reports/audit.jsonl`` beside the playbooks directory (the repository root), else under cwd."""
    if playbook_dir:
        return os.path.join(os.path.dirname(os.path.abspath(playbook_dir)), 'reports', 'audit.jsonl')
    return os.path.join(cwd or os.getcwd(), 'reports', 'audit.jsonl')


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(ts):
    return ts.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S') + (
        '.%03dZ' % (ts.microsecond // 1000) if ts.microsecond else 'Z')


def build_record(host, role, finding=None, diff=None, backup=None, verification=None, operator=None,
                 check_mode=False, changed=None, now=None):
    """The audit record (a dict, secrets redacted) for one change or planned change on one host."""
    return redact({
        'schema': SCHEMA,
        'time': _iso(now or utc_now()),
        'operator': operator or operator_name(),
        'host': host,
        'role': role,
        'finding': finding,
        'check_mode': bool(check_mode),
        'changed': changed,
        'diff': diff,
        'backup': backup,
        'verification': verification,
    })


class AuditError(Exception):
    """The audit log cannot be written; the message names the file and the reason."""


def append_record(path, record):
    """Append ``record`` as one JSON line to ``path`` (created with its directory, mode 0600).

    Concurrent writers (forks, several playbooks) are serialised with an exclusive lock, and the
    line is written with one write() call, so lines never interleave.
    """
    line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + '\n'
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as e:
        raise AuditError('cannot open the audit log %s: %s' % (path, os.strerror(e.errno) if e.errno else e))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = line.encode('utf-8')
        written = os.write(fd, data)
        if written != len(data):
            raise AuditError('short write to the audit log %s (%d of %d bytes)' % (path, written, len(data)))
        os.fsync(fd)
    except OSError as e:
        raise AuditError('cannot write the audit log %s: %s' % (path, os.strerror(e.errno or errno.EIO)))
    finally:
        os.close(fd)
    return line


def read_records(path):
    """All records of an audit log, oldest first (skips blank lines)."""
    with open(path, encoding='utf-8') as handle:
        return [json.loads(line) for line in handle if line.strip()]
