# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse ``swanctl --<command> --pretty`` output (VICI messages printed as nested text).

``--pretty`` is used rather than ``--raw`` because raw output joins list items and values
with single spaces, and values such as distinguished names contain spaces themselves.

>>> msgs = parse_pretty('''list-sa event {
...   gw {
...     state = ESTABLISHED
...     remote-vips = [
...       10.101.0.1
...     ]
...   }
... }
... list-sas reply {
... }''')
>>> msgs[0]
('list-sa event', {'gw': {'state': 'ESTABLISHED', 'remote-vips': ['10.101.0.1']}})
>>> msgs[1]
('list-sas reply', {})
"""
from __future__ import annotations


class ViciParseError(ValueError):
    """The text is not swanctl --pretty output."""


def parse_pretty(text):
    """Return ``[(message_name, dict), ...]`` for every top-level message in ``text``."""
    messages = []
    stack = []          # list of dicts (sections) or lists (list values)
    name = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if not stack:
            if line.endswith('{'):
                name = line[:-1].strip()
                stack.append({})
                continue
            # swanctl prints status lines (e.g. "no IKE_SAs") outside messages: ignore them.
            continue
        top = stack[-1]
        if isinstance(top, list):
            if line == ']':
                stack.pop()
            else:
                top.append(line)
            continue
        if line == '}':
            done = stack.pop()
            if not stack:
                messages.append((name, done))
            continue
        if line.endswith('{') and '=' not in line:
            child = {}
            top[line[:-1].strip()] = child
            stack.append(child)
            continue
        key, sep, value = line.partition(' = ')
        if not sep:
            if line.endswith(' ='):   # empty value
                top[line[:-2].strip()] = ''
                continue
            raise ViciParseError('line %d: cannot parse %r' % (lineno, raw))
        if value == '[':
            lst = []
            top[key.strip()] = lst
            stack.append(lst)
        else:
            top[key.strip()] = value
    if stack:
        raise ViciParseError('unterminated message %r' % name)
    return messages


def events(text, event_name):
    """Merge the bodies of every ``<event_name> event`` message into one ordered dict."""
    merged = {}
    for name, body in parse_pretty(text):
        if name == event_name + ' event':
            merged.update(body)
    return merged


def reply(text, reply_name):
    """Return the body of the ``<reply_name> reply`` message (``{}`` when absent)."""
    for name, body in parse_pretty(text):
        if name == reply_name + ' reply':
            return body
    return {}


def event_list(text, event_name):
    """Return the bodies of every ``<event_name> event`` message as a list."""
    return [body for name, body in parse_pretty(text) if name == event_name + ' event']
