# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Line-preserving readers of swanctl.conf and libreswan's ipsec.conf, for minimal edits.

Both readers return :class:`Section` objects that know, for every setting, the lines it spans, its
indentation and its trailing comment, so that a change rewrites only the lines of the settings that
change (and inserts the missing ones after the section's last setting). Comments, blank lines,
``include`` lines and everything outside the sections edited are left byte for byte.

>>> doc = SwanctlDoc('connections {\\n  gw1 {  # the gateway\\n    proposals = aes256-sha256-ecp256  # golden\\n'
...                  '    children {\\n      net {\\n        remote_ts = 10.1.0.0/24\\n      }\\n    }\\n  }\\n}\\n')
>>> [c.name for c in doc.conns()], doc.conns()[0].get('proposals'), doc.children('gw1')[0].get('remote_ts')
(['gw1'], 'aes256-sha256-ecp256', '10.1.0.0/24')
>>> doc.set(doc.conns()[0], 'proposals', 'aes256gcm16-prfsha384-ecp384')
>>> doc.set(doc.children('gw1')[0], 'local_ts', 'dynamic')
>>> print(doc.text(), end='')
connections {
  gw1 {  # the gateway
    proposals = aes256gcm16-prfsha384-ecp384  # golden
    children {
      net {
        remote_ts = 10.1.0.0/24
        local_ts = dynamic
      }
    }
  }
}
"""
from __future__ import annotations

import re


class ConfError(ValueError):
    """A configuration file this module cannot read or edit safely; the message names file and line."""


class Setting(object):
    """One ``key = value`` (swanctl) or ``key=value`` (libreswan) setting and the lines it spans."""

    def __init__(self, key, value, start, end, indent, sep, comment, quoted):
        self.key, self.value, self.start, self.end = key, value, start, end
        self.indent, self.sep, self.comment, self.quoted = indent, sep, comment, quoted


class Section(object):
    """A section: its name, path of names from the top, the line that opens it and its settings."""

    def __init__(self, name, path, open_line, indent):
        self.name, self.path, self.open_line, self.indent = name, path, open_line, indent
        self.close_line = None
        self.settings = {}
        self.last_line = open_line      # the line after which a new setting goes

    def get(self, key, default=None):
        s = self.settings.get(key)
        return s.value if s is not None else default


def _split_comment(text):
    """``(value part, comment)``: a ``#`` outside double quotes starts a comment."""
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != '\\'):
            quoted = not quoted
        elif ch == '#' and not quoted:
            return text[:i], text[i:]
    return text, ''


def _unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"'), True
    return value, False


def _quote_if_needed(value, quoted):
    if quoted or re.search(r'[\s#{}"]', value):
        return '"%s"' % value.replace('"', '\\"')
    return value


class _Doc(object):
    """Common part: the lines, edits by line, the text after the edits."""

    kind = 'configuration'

    def __init__(self, text, path=None):
        self.path = path or '(text)'
        self.lines = text.splitlines(True)
        if self.lines and not self.lines[-1].endswith('\n'):
            self.lines[-1] += '\n'
            self._no_final_newline = True
        else:
            self._no_final_newline = False
        self.sections = []
        self._replace = {}      # line index -> new text (None removes the line)
        self._insert = {}       # line index -> lines inserted after it
        self._parse()

    def _error(self, lineno, msg):
        return ConfError('%s line %d: %s' % (self.path, lineno + 1, msg))

    def _indent_unit(self):
        for line in self.lines:
            m = re.match(r'^([ \t]+)\S', line)
            if m:
                return '\t' if m.group(1).startswith('\t') else ' ' * min(len(m.group(1)), 4)
        return '\t'

    def text(self):
        out = []
        for i, line in enumerate(self.lines):
            new = self._replace.get(i, line)
            if new is not None:
                out.append(new)
            out.extend(self._insert.get(i, []))
        text = ''.join(out)
        if self._no_final_newline and text.endswith('\n') and not self._insert.get(len(self.lines) - 1):
            text = text[:-1]
        return text

    def _format(self, section, key, value, quoted):
        raise NotImplementedError

    def set(self, section, key, value):
        """Set ``key`` to ``value`` (text) in ``section``: rewrite its line(s), or insert it."""
        old = section.settings.get(key)
        if old is not None:
            line = self._format(old.indent, key, old.sep, _quote_if_needed(value, old.quoted), old.comment)
            self._replace[old.start] = line
            for i in range(old.start + 1, old.end + 1):
                self._replace[i] = None
            old.value = value
            return
        indent = self._child_indent(section)
        line = self._format(indent, key, None, _quote_if_needed(value, False), '')
        self._insert.setdefault(section.last_line, []).append(line)
        section.settings[key] = Setting(key, value, section.last_line, section.last_line, indent, None, '', False)

    def remove(self, section, key):
        old = section.settings.pop(key, None)
        if old is not None:
            for i in range(old.start, old.end + 1):
                self._replace[i] = None

    def _child_indent(self, section):
        for s in section.settings.values():
            return s.indent
        return section.indent + self._indent_unit()


class SwanctlDoc(_Doc):
    """swanctl.conf (strongSwan's settings syntax): nested ``name {`` sections and ``key = value``."""

    kind = 'swanctl.conf'
    _OPEN = re.compile(r'^([^\s={}#"]+)\s*\{$')
    _KEY = re.compile(r'^(\s*)([^\s={}#"]+)(\s*=\s*)(.*)$')

    def _parse(self):
        stack = []
        i = 0
        n = len(self.lines)
        while i < n:
            raw = self.lines[i].rstrip('\n')
            body, comment = _split_comment(raw)
            stripped = body.strip()
            if not stripped or re.match(r'^include\s', stripped):
                i += 1
                continue
            m = self._OPEN.match(stripped)
            if m:
                indent = re.match(r'^(\s*)', raw).group(1)
                path = tuple(s.name for s in stack) + (m.group(1),)
                sec = Section(m.group(1), path, i, indent)
                stack.append(sec)
                self.sections.append(sec)
                i += 1
                continue
            if stripped == '}':
                if not stack:
                    raise self._error(i, 'a "}" closes no section')
                sec = stack.pop()
                sec.close_line = i
                i += 1
                continue
            km = self._KEY.match(body)
            if km and '{' not in km.group(2):
                start = i
                value = km.group(4)
                if value.strip().startswith('"') and not _closed_quote(value.strip()):
                    # A quoted value over several lines: the comment split above was wrong; rejoin.
                    value = raw[len(km.group(1)) + len(km.group(2)) + len(km.group(3)):]
                    while not _closed_quote(value.strip()):
                        i += 1
                        if i >= n:
                            raise self._error(start, 'a quoted value of %s is never closed' % km.group(2))
                        value += '\n' + self.lines[i].rstrip('\n')
                    value, comment = _split_comment(value)
                val, quoted = _unquote(value)
                if stack:
                    sec = stack[-1]
                    sec.settings[km.group(2)] = Setting(km.group(2), val, start, i, km.group(1), km.group(3),
                                                        comment, quoted)
                    sec.last_line = i
                i += 1
                continue
            if stripped.count('{') and stripped.count('{') == stripped.count('}'):
                i += 1              # a whole section on one line: left as it is
                continue
            raise self._error(i, 'cannot read %r; put each section and each setting on a line of its own' % stripped)
        if stack:
            raise self._error(stack[-1].open_line, 'section %s is never closed' % '.'.join(stack[-1].path))

    def _format(self, indent, key, sep, value, comment):
        return '%s%s%s%s%s\n' % (indent, key, sep or ' = ', value, ('  ' + comment.lstrip()) if comment else '')

    def conns(self):
        """The connections (``connections { NAME { ... } }``), in file order."""
        return [s for s in self.sections if len(s.path) == 2 and s.path[0] == 'connections']

    def children(self, conn):
        """The CHILD sections of connection ``conn``."""
        return [s for s in self.sections if len(s.path) == 4 and s.path[0] == 'connections'
                and s.path[1] == conn and s.path[2] == 'children']


def _closed_quote(value):
    if not value.startswith('"'):
        return True
    body = value[1:]
    j = 0
    while j < len(body):
        if body[j] == '\\':
            j += 2
            continue
        if body[j] == '"':
            return True
        j += 1
    return False


class IpsecDoc(_Doc):
    """libreswan's ipsec.conf: ``conn NAME`` at the left margin, then indented ``key=value`` lines."""

    kind = 'ipsec.conf'
    _SECTION = re.compile(r'^(conn|config|ca)\s+(\S+)\s*$')
    _KEY = re.compile(r'^(\s+)([A-Za-z0-9_-]+)(\s*=\s*)(.*)$')

    def _parse(self):
        current = None
        for i, line in enumerate(self.lines):
            raw = line.rstrip('\n')
            body, comment = _split_comment(raw)
            if not body.strip():
                continue
            if not raw[:1].isspace():
                current = None
                m = self._SECTION.match(body.strip())
                if m:
                    current = Section(m.group(2), (m.group(1), m.group(2)), i, '')
                    self.sections.append(current)
                elif not re.match(r'^(include|version)\s', body.strip()):
                    raise self._error(i, 'cannot read %r at the left margin (expected conn NAME, config setup '
                                         'or include)' % body.strip())
                continue
            km = self._KEY.match(body)
            if not km:
                raise self._error(i, 'cannot read %r (expected key=value)' % body.strip())
            if current is None:
                raise self._error(i, 'setting %s outside any conn section' % km.group(2))
            val, quoted = _unquote(km.group(4))
            current.settings[km.group(2)] = Setting(km.group(2), val, i, i, km.group(1), km.group(3), comment, quoted)
            current.last_line = i

    def _format(self, indent, key, sep, value, comment):
        return '%s%s%s%s%s\n' % (indent, key, sep or '=', value, (' ' + comment.lstrip()) if comment else '')

    def _child_indent(self, section):
        for s in section.settings.values():
            return s.indent
        return '\t'

    def conns(self):
        """The ``conn`` sections, without ``conn %default``."""
        return [s for s in self.sections if s.path[0] == 'conn' and not s.name.startswith('%')]
