# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""strongSwan's settings syntax (strongswan.conf, swanctl.conf) to nested dicts, and redaction.

>>> parse_settings('''charon {
...     filelog {
...         log { path = /var/log/charon.log  # trailing comment
...         }
...     }
...     ikesa_limit = 500
... }''')
{'charon': {'filelog': {'log': {'path': '/var/log/charon.log'}}, 'ikesa_limit': '500'}}
>>> redact_text('secrets {\\n  ike-1 {\\n    secret = "x y"\\n  }\\n}')
'secrets {\\n  ike-1 {\\n    secret = <redacted>\\n  }\\n}'
>>> redact_text('database = mysql://vpn:hunter2@db/ipsec')
'database = mysql://vpn:<redacted>@db/ipsec'
"""
from __future__ import annotations

import glob
import os
import re

REDACTED = '<redacted>'

# Keys whose values are secrets wherever they appear (swanctl.conf secrets, eap-radius, pkcs11 pins).
_SECRET_KEY = re.compile(r'^(?P<lead>\s*(?:secret|secret-?\w*|pin|password|passphrase|psk)\s*=\s*)(?P<val>.*)$',
                         re.IGNORECASE | re.MULTILINE)
# Values spread over several lines inside double quotes.
_SECRET_QUOTED_ML = re.compile(r'^(\s*(?:secret|pin|password|passphrase|psk)\s*=\s*)"[^"]*"',
                               re.IGNORECASE | re.MULTILINE)


# Credentials inside URIs (attr-sql/sql ``database = mysql://user:password@host/db``).
_URI_CRED = re.compile(r'(\w+://[^:/\s@]+:)[^@\s]+@')


def redact_text(text):
    """Replace the value of every secret-bearing key in strongSwan settings text."""
    text = _SECRET_QUOTED_ML.sub(lambda m: m.group(1) + REDACTED, text)
    text = _URI_CRED.sub(lambda m: m.group(1) + REDACTED + '@', text)
    return _SECRET_KEY.sub(lambda m: m.group('lead') + REDACTED, text)


def redact_ipsec_secrets(text):
    """ipsec.secrets: nothing of the content is kept except the structure of its selectors.

    ``<selectors> : TYPE <secret>`` becomes ``<selectors> : TYPE <redacted>``; anything that is
    not recognisable as such becomes ``<redacted>``.
    """
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            out.append(line)
            continue
        m = re.match(r'^(\s*(?:include\s+\S+))\s*$', line)
        if m:
            out.append(m.group(1))
            continue
        m = re.match(r'^([^:"]*:\s*(?:PSK|EAP|XAUTH|RSA|ECDSA|BLISS|PKCS8|PKCS12|PIN|NTLM|P12|ECDSA)\b)', line, re.IGNORECASE)
        out.append((m.group(1) + ' ' + REDACTED) if m else REDACTED)
    return '\n'.join(out) + ('\n' if text.endswith('\n') else '')


def _strip_comment(line):
    out = []
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == '#' and not quoted:
            break
        out.append(ch)
    return ''.join(out)


def _tokens(text):
    """Yield ('open', name) / ('close',) / ('set', key, value) / ('include', pattern)."""
    pending_quote = None
    for raw in text.splitlines():
        if pending_quote is not None:
            idx = raw.find('"')
            if idx < 0:
                pending_quote[1].append(raw)
                continue
            pending_quote[1].append(raw[:idx])
            yield ('set', pending_quote[0], '\n'.join(pending_quote[1]))
            pending_quote = None
            raw = raw[idx + 1:]
        line = _strip_comment(raw).strip()
        while line:
            if line.startswith('}'):
                yield ('close',)
                line = line[1:].strip()
                continue
            m = re.match(r'^include\s+(\S+)\s*$', line)
            if m:
                yield ('include', m.group(1))
                break
            m = re.match(r'^([^={}\s]+(?:\s*:\s*[^={}]+?)?)\s*\{(.*)$', line)
            if m:
                yield ('open', m.group(1).strip())
                line = m.group(2).strip()
                continue
            m = re.match(r'^([^=\s{}]+)\s*=\s*(.*)$', line)
            if m:
                key, value = m.group(1), m.group(2).strip()
                if value.startswith('"'):
                    end = value.find('"', 1)
                    if end < 0:
                        pending_quote = (key, [value[1:]])
                        break
                    rest = value[end + 1:].strip()
                    yield ('set', key, value[1:end])
                    line = rest
                    continue
                # an unquoted value ends at a closing brace on the same line
                if value.endswith('}'):
                    yield ('set', key, value[:-1].strip())
                    yield ('close',)
                else:
                    yield ('set', key, value)
                break
            break   # unrecognised text: ignored, like charon warns and skips


def parse_settings(text, base_dir=None, _depth=0, read=None):
    """Parse settings text; ``include`` globs are resolved relative to ``base_dir``."""
    root = {}
    stack = [root]
    for tok in _tokens(text):
        if tok[0] == 'open':
            name = tok[1]
            base = None
            if ':' in name:
                name, base = [p.strip() for p in name.split(':', 1)]
            sect = stack[-1].get(name)
            if not isinstance(sect, dict):
                sect = {}
                if base and isinstance(stack[-1].get(base), dict):
                    sect.update(_deepcopy(stack[-1][base]))
                stack[-1][name] = sect
            stack.append(sect)
        elif tok[0] == 'close':
            if len(stack) > 1:
                stack.pop()
        elif tok[0] == 'set':
            stack[-1][tok[1]] = tok[2]
        elif tok[0] == 'include' and base_dir is not None and _depth < 8:
            pattern = tok[1]
            if not os.path.isabs(pattern):
                pattern = os.path.join(base_dir, pattern)
            for path in sorted(glob.glob(pattern)):
                try:
                    sub = (read or _read_text)(path)
                except (IOError, OSError):
                    continue
                _merge(stack[-1], parse_settings(sub, os.path.dirname(path), _depth + 1, read))
    return root


def _read_text(path):
    with open(path, 'rb') as fh:
        return fh.read().decode('utf-8', errors='replace')


def _deepcopy(d):
    return {k: (_deepcopy(v) if isinstance(v, dict) else v) for k, v in d.items()}


def _merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


def included_files(text, base_dir, _depth=0):
    """Paths that ``include`` statements in ``text`` pull in (recursively)."""
    found = []
    for tok in _tokens(text):
        if tok[0] != 'include' or _depth >= 8:
            continue
        pattern = tok[1] if os.path.isabs(tok[1]) else os.path.join(base_dir, tok[1])
        for path in sorted(glob.glob(pattern)):
            found.append(path)
            try:
                found.extend(included_files(_read_text(path), os.path.dirname(path), _depth + 1))
            except (IOError, OSError):
                pass
    return found


def get(settings, dotted, default=None):
    """``get(s, 'charon.plugins.vici.socket')``."""
    cur = settings
    for part in dotted.split('.'):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def split_list(value):
    """Comma separated settings value to a list (``a, b,c`` -> ['a', 'b', 'c'])."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [v.strip() for v in str(value).split(',') if v.strip()]
