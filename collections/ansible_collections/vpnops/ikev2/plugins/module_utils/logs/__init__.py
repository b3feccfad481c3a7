# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log line parsers: every supported format turns a line into the shared event dict
(docs/architecture.md, "Log events").

Public API (other modules call these names)::

    parse_line(line, fmt=None, year=None, tz=None, host=None) -> dict | None
    parse_lines(lines, fmt=None, year=None, tz=None, host=None) -> list
    detect_format(sample_lines) -> str

Formats: ``charon-file``, ``syslog``, ``journald`` (JSON objects; plain ``journalctl`` output is
read as ``syslog``-shaped lines), ``pluto``, ``windows``, ``charon-status`` (``ipsec statusall``).

>>> ev = parse_line('Nov 26 22:54:01 gw charon: 13[IKE] <gw|3> received AUTHENTICATION_FAILED notify error', year=2026)
>>> ev['ts'], ev['host'], ev['daemon'], ev['source'], ev['ike_name'], ev['notifies']
('2026-11-26T22:54:01Z', 'gw', 'charon', 'syslog', 'gw', ['AUTHENTICATION_FAILED'])
"""

from __future__ import annotations

import gc
import json
import re

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import (
    charon_log,
    journald,
    pluto_log,
    syslog,
    windows_events,
)
from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import (
    _HINT_WORDS,
    EVENT_KEYS,
    StampCache,
    is_hexdump,
    redact,
    secret_hint,
)

FORMATS = ('charon-file', 'syslog', 'journald', 'pluto', 'windows', 'charon-status')

__all__ = ['parse_line', 'parse_lines', 'iter_event_json', 'iter_event_json_batches', 'detect_format', 'FORMATS', 'EVENT_KEYS', 'redact']

_RE_PLUTO_HINT = re.compile(
    r'^(?:\S.{0,40}?:\s+)?(?:(?:ERROR|IMPAIR|WARNING): )?(?:\d{3} )?(?:"[^"]+"(?:\[\d+\])?(?: \S+)?(?: #\d+)?: '
    r'|packet from \S+: |#\d+: "|\| )')
_RE_PLUTO_WORDS = re.compile(r'STATE_(?:PARENT|MAIN|QUICK|V2)|pluto|IKEv2 connection|Pluto is|NSS:|whack')
_RE_SECRET_DUMP = re.compile(r'(?i)(?:secret|SKEYSEED|Sk_[a-z]+|PSK|key)\s*=>\s*\d+ bytes')
_FMT_ALIASES = {
    'charon': 'charon-file', 'charon_file': 'charon-file', 'file': 'charon-file', 'android': 'charon-file',
    'journal': 'journald', 'journald-json': 'journald', 'json': 'journald', 'journalctl': 'syslog',
    'libreswan': 'pluto', 'rasclient': 'windows', 'statusall': 'charon-status', 'status': 'charon-status',
    'auto': None,
}


def _text(line):
    if isinstance(line, bytes):
        line = line.decode('utf-8', 'replace')
    elif not isinstance(line, str):
        line = str(line)
    if line.endswith('\n'):
        line = line[:-1]
    if line.endswith('\r'):
        line = line[:-1]
    if '\x00' in line:
        line = line.replace('\x00', '')
    return line


def _norm_fmt(fmt):
    if fmt is None:
        return None
    fmt = _FMT_ALIASES.get(fmt, fmt)
    if fmt is not None and fmt not in FORMATS:
        raise ValueError('unknown log format %r (known: %s)' % (fmt, ', '.join(FORMATS)))
    return fmt


def _classify(line):
    """Format of one line, or None."""
    s = line.lstrip()
    if not s:
        return None
    if s[0] == '{':
        return 'journald'
    if charon_log.PARSERS[0]['getval'].match(line):
        return 'charon-file'
    for row in syslog.PARSERS:
        m = row['getval'].match(line)
        if m:
            return 'syslog'
    if windows_events.looks_like(line):
        return 'windows'
    if _RE_PLUTO_HINT.match(line) or _RE_PLUTO_WORDS.search(line):
        return 'pluto'
    for row in charon_log.STATUS_PARSERS:
        if row['getval'].match(line):
            return 'charon-status'
    return None


def detect_format(sample_lines):
    """The format most lines of a sample are in; ``unknown`` when none is recognised.

    >>> detect_format(['13[IKE] <a|1> initiating IKE_SA a[1] to 192.0.2.1'])
    'charon-file'
    >>> detect_format(['"west" #1: initiating IKEv2 connection to 192.1.2.23 using UDP'])
    'pluto'
    """
    counts = {}
    n = 0
    for line in sample_lines:
        line = _text(line)
        if not line.strip():
            continue
        n += 1
        if n > 400:
            break
        fmt = _classify(line)
        if fmt is not None:
            counts[fmt] = counts.get(fmt, 0) + 1
    if not counts:
        return 'unknown'
    # Windows exports are mostly non-event lines around a few event lines: any hit decides
    if 'windows' in counts and counts.get('charon-file', 0) + counts.get('syslog', 0) + counts.get('pluto', 0) == 0:
        return 'windows'
    return max(sorted(counts), key=lambda k: counts[k])


def _parse_one(line, fmt, stamps, host):
    if fmt == 'charon-file':
        return charon_log.parse(line, stamps, host)
    if fmt == 'syslog':
        return syslog.parse(line, stamps, host)
    if fmt == 'journald':
        ev = journald.parse(line, stamps, host)
        if ev is None:  # plain journalctl output
            ev = syslog.parse(line, stamps, host, source='journald')
        return ev
    if fmt == 'pluto':
        if not line.strip() or line.startswith('-- '):
            return None
        return pluto_log.parse(line, stamps, host)
    if fmt == 'windows':
        return windows_events.parse(line, stamps, host)
    if fmt == 'charon-status':
        return charon_log.parse_status(line, host)
    return None


_QUOTE_PREFIX = re.compile(r'^(?:\s*>)+\s?|^[ \t]+')


def _auto(line, stamps, host):
    fmt = _classify(line)
    if fmt is None:
        # pasted into a mail or forum: quoted ("> ") or indented lines
        m = _QUOTE_PREFIX.match(line)
        if m is None:
            return None
        fmt = _classify(line[m.end():])
        if fmt is None:
            return None
        ev = _parse_one(line[m.end():], fmt, stamps, host)
        if ev is not None:
            ev['raw'] = line
        return ev
    return _parse_one(line, fmt, stamps, host)


def _bare(line, stamps, host):
    """A message without any prefix (``journalctl -o cat``, copied from a GUI): charon's unless it
    has pluto's connection prefix."""
    text = line.strip()
    if not text or len(text) < 8:
        return None
    if text[:1] == '"' or text.startswith('packet from '):
        return pluto_log.parse(text, stamps, host)
    from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import new_event
    ev = new_event('charon-file', 'charon', text, line)
    ev['host'] = host
    if text[:1] == '<':
        m = re.match(r'<(?:([^|<>]*)\|)?(\d+)> ', text)
        if m:
            ev['ike_name'], ev['ike_id'] = m.group(1), m.group(2)
            text = text[m.end():]
            ev['msg'] = text
    charon_log.enrich(ev, text)
    return ev


def _finish(ev, line):
    if secret_hint(line):
        ev['raw'] = redact(ev['raw'])
        ev['msg'] = redact(ev['msg'])
    return ev


def parse_line(line, fmt=None, year=None, tz=None, host=None):
    """One line to an event dict (docs/architecture.md shape), or None when it is not a log line of a
    supported daemon. Never raises on bad input (only on a bad ``fmt`` or ``tz`` argument)."""
    fmt = _norm_fmt(fmt)
    stamps = StampCache(year, tz)
    line = _text(line)
    try:
        ev = _parse_one(line, fmt, stamps, host) if fmt else _auto(line, stamps, host)
        if ev is None and fmt:
            ev = _auto(line, stamps, host)
    except (ValueError, OverflowError, RecursionError, MemoryError):
        return None
    if ev is None:
        return None
    return _finish(ev, line)


def parse_lines(lines, fmt=None, year=None, tz=None, host=None):
    """Many lines (an iterable of str or bytes) to a list of events; lines that are not log lines
    of a supported daemon are skipped. Year-less stamps get ``year`` or the inferred year, rolled
    over from December to January."""
    # Millions of small dicts kept alive: the cyclic GC would rescan them over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_lines(lines, fmt, year, tz, host)
    finally:
        if gc_was_enabled:
            gc.enable()


def _join_pretty_json(lines):
    """``journalctl -o json-pretty``: objects spread over lines, ``{`` and ``}`` alone on theirs."""
    head = [x for x in lines[:50] if (x if isinstance(x, str) else str(x)).strip()]
    if not head or _text(head[0]).strip() != '{':
        return lines
    out = []
    buf = None
    for line in lines:
        t = _text(line)
        st = t.strip()
        if buf is None:
            if st == '{':
                buf = ['{']
            else:
                out.append(t)
        else:
            buf.append(st)
            if st == '}' and not t.startswith((' ', '\t')):
                out.append(' '.join(buf))
                buf = None
    if buf:
        out.append(' '.join(buf))
    return out


class _LineParser(object):
    """The per-line step of ``parse_lines`` with its state (the format, the year roll-over, a secret
    hex dump in progress, Windows events spread over lines), fed one line at a time."""

    def __init__(self, fmt, stamps, host, bare=False):
        self.fmt = fmt
        self.stamps = stamps
        self.host = host
        self.bare = bare
        self.secret_dump = False
        self.win = windows_events.WindowsState(stamps, host) if fmt == 'windows' else None
        self.fast = charon_log.parse if fmt == 'charon-file' else None

    def feed(self, line, out):
        """Append the events of ``line`` to ``out``."""
        if not isinstance(line, str) or line.endswith('\n') or '\x00' in line:
            line = _text(line)
        stamps, host = self.stamps, self.host
        try:
            if self.fast is not None:
                ev = self.fast(line, stamps, host)
            elif self.win is not None:
                for ev in self.win.feed(line):
                    out.append(_finish(ev, ev['raw']))
                return
            elif self.fmt is not None:
                ev = _parse_one(line, self.fmt, stamps, host)
            else:
                ev = None
            if ev is None:
                ev = _auto(line, stamps, host)
                if ev is None and self.bare:
                    ev = _bare(line, stamps, host)
                if ev is None:
                    return
        except (ValueError, OverflowError, RecursionError):
            return
        if secret_hint(line):
            _finish(ev, line)
            self.secret_dump = _RE_SECRET_DUMP.search(line) is not None
        elif self.secret_dump:
            if is_hexdump(ev['msg']):
                ev['msg'] = '<redacted>'
                ev['raw'] = line[:len(line) - len(line.lstrip())] + '<redacted hex dump>'
            else:
                self.secret_dump = False
        out.append(ev)

    def flush(self, out):
        if self.win is not None:
            for ev in self.win.flush():
                out.append(_finish(ev, ev['raw']))


def _parse_lines(lines, fmt, year, tz, host):
    fmt = _norm_fmt(fmt)
    stamps = StampCache(year, tz)
    if not isinstance(lines, (list, tuple)):
        lines = list(lines)
    lines = _join_pretty_json(lines)
    bare = False
    if fmt is None:
        fmt = detect_format(lines[:400])
        if fmt == 'unknown':
            fmt = None
            bare = True  # nothing recognisable: read lines as bare daemon messages
    out = []
    parser = _LineParser(fmt, stamps, host, bare)
    feed = parser.feed
    for line in lines:
        feed(line, out)
    parser.flush(out)
    return out


def iter_event_json(blocks, fmt, year=None, tz=None, host=None):
    """Stream events as JSON texts (one per event, ``json.loads`` of each equals the event that
    ``parse_lines`` makes of the same lines, in the same order).

    ``blocks`` is an iterable of text blocks, each made of whole lines separated by ``\\n`` (a
    window read chunk by chunk); ``fmt`` must be given (a file's known format), since a stream
    cannot be sampled ahead. Nothing is kept between blocks but the parser's state: memory stays
    at one block whatever the window holds. See ``iter_event_json_batches``.
    """
    for batch in iter_event_json_batches(blocks, fmt, year, tz, host):
        yield from batch


def iter_event_json_batches(blocks, fmt, year=None, tz=None, host=None):
    """``iter_event_json`` one list per block (fewer Python-level steps per event).

    charon's file log takes a direct-to-JSON path (``charon_log.parse_json_lines``) for its lines;
    lines that could carry a secret (found in one scan of the block), lines that are not charon's,
    and every other format go through the same step as ``parse_lines`` and ``json.dumps``.
    """
    fmt = _norm_fmt(fmt)
    if fmt is None or fmt == 'journald':
        raise ValueError('iter_event_json needs a line format (charon-file, syslog, pluto, windows)')
    stamps = StampCache(year, tz)
    parser = _LineParser(fmt, stamps, host)
    host_json = json.dumps(host)
    fast = charon_log.parse_json_block if fmt == 'charon-file' else None
    dumps = json.dumps
    feed = parser.feed
    for block in blocks:
        if isinstance(block, bytes):
            block = block.decode('utf-8', 'replace')
        lines = block.split('\n')
        if lines and lines[-1] == '':
            lines.pop()
        evs = []
        if fast is not None and '\x00' not in block:
            # lines that could carry a secret take the full step (redaction): found in one scan
            hits = []
            for word in _HINT_WORDS:            # str.find per word beats one alternation regex here
                p = block.find(word)
                while p >= 0:
                    hits.append(p)
                    p = block.find(word, p + 1)
            risky = []
            idx = pos = 0
            for p in sorted(hits):
                idx += block.count('\n', pos, p)
                pos = p
                if not risky or risky[-1] != idx:
                    risky.append(idx)
            texts, misses = fast(block, lines, stamps, host_json, risky)
            if parser.secret_dump:
                misses.insert(0, 0)
            if not misses:
                yield texts
                continue
            n = len(lines)
            done = -1
            for i in misses:
                if i <= done:
                    continue
                # the full step for this line, and for the lines after it while a secret hex dump goes on
                while True:
                    feed(lines[i], evs)
                    texts[i] = dumps(evs[0]) if evs else None
                    del evs[:]
                    done = i
                    i += 1
                    if not parser.secret_dump or i >= n:
                        break
            yield [t for t in texts if t is not None]
            continue
        for line in lines:
            feed(line, evs)
        yield [dumps(ev) for ev in evs]
    evs = []
    parser.flush(evs)
    if evs:
        yield [dumps(ev) for ev in evs]
