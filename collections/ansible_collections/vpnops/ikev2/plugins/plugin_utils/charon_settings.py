# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings in strongswan.conf-format files: where a setting is, and the text with it changed.

Importable without Ansible; the filters ``vpnops.ikev2.charon_settings`` and
``vpnops.ikev2.charon_set_setting`` wrap it and the ``vpnops.ikev2.resources`` role drives them.

strongswan.conf(5): sections ``name {`` ... ``}``, settings ``key = value``, ``#`` comments,
``include`` lines. A setting's name is its section path joined with dots (``charon.ikesa_limit``).
When several files (or lines) set the same name, the one read last wins; this module reports every
place, and :func:`set_setting` changes every place in a text, so they all agree.

>>> text = 'charon {\\n\\tretransmit_tries = 3\\n\\tikesa_limit = 1\\n\\tplugins {\\n\\t\\tikesa_limit = 7\\n\\t}\\n}\\n'
>>> [(s['name'], s['value'], s['line']) for s in find_settings(text, ['charon.ikesa_limit'])]
[('charon.ikesa_limit', '1', 2)]
>>> set_setting(text, 'charon.ikesa_limit', 0).splitlines()[2]
'\\tikesa_limit = 0'
"""

from __future__ import annotations

import re

__all__ = ['find_settings', 'set_setting', 'limit_rank', 'plan_limits']

_OPEN = re.compile(r'^\s*([^\s{}=#]+)\s*\{\s*(?:#.*)?$')
_CLOSE = re.compile(r'^\s*\}\s*(?:#.*)?$')
_SET = re.compile(r'^(\s*)([^\s{}=#]+)(\s*=\s*)(.*?)(\s*(?:#.*)?)$')


def _walk(text):
    """Yield (index, line without its end, section path, match of a setting or None)."""
    stack = []
    for n, line in enumerate((text or '').splitlines()):
        body = line
        if not body.strip() or body.lstrip().startswith('#'):
            continue
        m = _OPEN.match(body)
        if m:
            stack.append(m.group(1))
            continue
        if _CLOSE.match(body):
            if stack:
                stack.pop()
            continue
        s = _SET.match(body)
        if s:
            yield n, body, tuple(stack), s


def find_settings(text, names, path=None):
    """Every line of ``text`` that sets one of ``names`` (dotted), as ``{name, value, line, path}``."""
    wanted = set(names)
    out = []
    for n, _body, stack, s in _walk(text):
        name = '.'.join(stack + (s.group(2),))
        if name in wanted:
            out.append({'name': name, 'value': s.group(4).strip(), 'line': n, 'path': path})
    return out


def set_setting(text, name, value):
    """``text`` with every line that sets ``name`` set to ``value``; every other byte stays."""
    lines = (text or '').splitlines(True)
    targets = set(n for n, _b, stack, s in _walk(text) if '.'.join(stack + (s.group(2),)) == name)
    out = []
    for n, line in enumerate(lines):
        if n in targets:
            body = line.rstrip('\r\n')
            s = _SET.match(body)
            line = '%s%s%s%s%s%s' % (s.group(1), s.group(2), s.group(3), value, s.group(5), line[len(body):])
        out.append(line)
    return ''.join(out)


def limit_rank(value):
    """A charon limit as a number to compare; 0 (or unset) means no limit and ranks highest.

    >>> sorted([0, 5, 2000], key=limit_rank)
    [5, 2000, 0]
    """
    if value is None or value == '':
        return float('inf')
    n = int(str(value).strip())
    if n < 0:
        raise ValueError('a limit cannot be negative: %r' % (value,))
    return float('inf') if n == 0 else n


def plan_limits(files, targets, section='charon'):
    """Which limit lines to raise: ``files`` maps path -> text, ``targets`` maps a limit's name in
    ``section`` (``ikesa_limit``) -> the wanted value (``None``: leave it).

    A line is raised when its value ranks below the target (0 = no limit ranks highest); a limit
    that no file sets is charon's default, no limit, and is left alone. Returns ``{'raise': [{name,
    path, line, value, target}], 'current': {name: [values]}, 'errors': [...]}``.

    >>> p = plan_limits({'/etc/strongswan.d/lab.conf': 'charon {\\n\\tikesa_limit = 1\\n}\\n'},
    ...                 {'ikesa_limit': 0, 'init_limit_half_open': 2000})
    >>> [(r['name'], r['value'], r['target']) for r in p['raise']], p['errors']
    ([('ikesa_limit', '1', 0)], [])
    """
    out = {'raise': [], 'current': {}, 'errors': []}
    wanted = {}
    for key, target in sorted((targets or {}).items()):
        if target is None:
            continue
        try:
            limit_rank(target)
        except (TypeError, ValueError):
            out['errors'].append('%s: the target %r is not a whole number >= 0 (0 means no limit)' % (key, target))
            continue
        wanted['%s.%s' % (section, key)] = (key, int(target))
    for path in sorted(files or {}):
        for s in find_settings(files[path], list(wanted), path):
            key, target = wanted[s['name']]
            out['current'].setdefault(key, []).append(s['value'])
            try:
                low = limit_rank(s['value']) < limit_rank(target)
            except ValueError:
                out['errors'].append('%s line %d: %s = %r is not a whole number; fix it by hand'
                                     % (path, s['line'] + 1, s['name'], s['value']))
                continue
            if low:
                out['raise'].append(dict(s, name=key, target=target))
    return out
