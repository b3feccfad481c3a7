# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the classifier's inputs: log files (any supported format, detected) and host facts
files (``ike_facts`` output: the bare ``ikev2`` dict or ``{"ansible_facts": {"ikev2": ...}}``).

Big logs are never parsed line by line: the prefilter finds the lines carrying a signature and
only those are parsed.
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import sys

from ansible_collections.vpnops.ikev2.plugins.module_utils import logs as logparse
from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import StampCache

CHUNK = 16 * 1024 * 1024
FULL_PARSE_MAX = 4 * 1024 * 1024
SAMPLE = 256 * 1024


class InputError(Exception):
    """An input cannot be read (exit code 2)."""


def _open(path):
    if path == '-':
        return getattr(sys.stdin, 'buffer', sys.stdin), False
    try:
        f = open(path, 'rb')
    except (OSError, IOError) as e:
        raise InputError('cannot read log %s: %s' % (path, e.strerror or e))
    try:
        magic = f.read(2)
        f.seek(0)
    except (OSError, IOError) as e:
        f.close()
        raise InputError('cannot read log %s: %s' % (path, e.strerror or e))
    if magic == b'\x1f\x8b':  # rotated logs: charon.log.1.gz
        import gzip
        return gzip.GzipFile(fileobj=f, mode='rb'), True
    return f, True


def _read(f, n, path):
    """Read, treating a truncated compressed file as ending where it breaks."""
    try:
        return f.read(n)
    except EOFError:
        return b''
    except (OSError, IOError, ValueError) as e:
        if f.__class__.__name__ == 'GzipFile':
            return b''
        raise InputError('cannot read log %s: %s' % (path, getattr(e, 'strerror', None) or e))


def host_from_path(path):
    if path == '-':
        return 'stdin'
    base = os.path.basename(path)
    if base.lower().endswith('.gz') and len(base) > 3:
        base = base[:-3]
    base = re.sub(r'(?<=.)\.\d+$', '', base)  # rotated: charon.log.1
    for ext in ('.txt', '.log', '.json', '.jsonl', '.csv', '.xml', '.evtx'):
        if base.lower().endswith(ext) and len(base) > len(ext):
            base = base[:-len(ext)]
    for suffix in ('-charon', '_charon', '-pluto', '_pluto', '-syslog', '-journal', '.charon'):
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[:-len(suffix)]
    return base or path


def _decode_lines(data):
    text = data.decode('utf-8', 'replace')
    if text.startswith('\ufeff'):
        text = text[1:]
    if '\x00' in text:
        # UTF-16 exports from Windows tools
        if data[:2] in (b'\xff\xfe', b'\xfe\xff'):
            try:
                text = data.decode('utf-16')
            except UnicodeDecodeError:
                text = text.replace('\x00', '')
        else:
            text = text.replace('\x00', '')
    return text.splitlines()


class LogInput(object):
    """Events read from one log source plus what the prefilter found in each."""

    def __init__(self, label, host):
        self.label = label
        self.host = host
        self.events = []
        self.sigs = None      # aligned with events when the prefilter already ran on the lines
        self.sampled = False  # context lines sampled per block (big logs)
        self.fmt = None
        self.bytes_read = 0
        self.lines = None     # counted only when the whole file is parsed


def read_log(path, prefilter, host=None, year=None, tz=None, full=None):
    """Read one log source. Returns a LogInput whose events are candidates (or all events for
    small files). Raises InputError when the file cannot be read."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small long-lived objects: the cyclic GC would only rescan them
    try:
        return _read_log(path, prefilter, host, year, tz, full)
    finally:
        if gc_was_enabled:
            gc.enable()


def _read_log(path, prefilter, host, year, tz, full):
    f, close = _open(path)
    src = LogInput(path, host)
    try:
        try:
            head = _read(f, SAMPLE, path)
        except (OSError, IOError) as e:
            raise InputError('cannot read log %s: %s' % (path, getattr(e, 'strerror', None) or e))
        if head is None:
            head = b''
        if isinstance(head, str):  # text stream without .buffer
            head = head.encode('utf-8', 'replace')
        sample_lines = _decode_lines(head[:65536])
        fmt = logparse.detect_format(sample_lines)
        src.fmt = fmt
        size = None
        if close and not hasattr(f, 'decompress') and f.__class__.__name__ != 'GzipFile':
            try:
                size = os.fstat(f.fileno()).st_size
            except (OSError, AttributeError):
                size = None
        small = len(head) < SAMPLE if size is None else size <= FULL_PARSE_MAX
        if full is None:
            full = small or fmt in ('windows', 'unknown', 'charon-status')
        if full:
            rest = _read(f, -1, path)
            if isinstance(rest, str):
                rest = rest.encode('utf-8', 'replace')
            data = head + (rest or b'')
            src.bytes_read = len(data)
            lines = _decode_lines(data)
            src.lines = len(lines)
            try:
                src.events = logparse.parse_lines(lines, None if fmt == 'unknown' else fmt, year=year, tz=tz, host=host)
            except ValueError as e:
                raise InputError('cannot parse log %s: %s' % (path, e))
            return src
        stamps = StampCache(year, tz)
        pending = head
        events = src.events
        src.sigs = []
        src.sampled = True
        nread = len(head)
        while True:
            chunk = _read(f, CHUNK, path)
            if isinstance(chunk, str):
                chunk = chunk.encode('utf-8', 'replace')
            if chunk:
                nread += len(chunk)
                buf = pending + chunk
                cut = buf.rfind(b'\n') + 1
                if cut == 0:
                    pending = buf
                    if len(pending) < 64 * CHUNK:
                        continue
                    cut = len(buf)
                block, pending = buf[:cut], buf[cut:]
            else:
                block, pending = pending, b''
            if block:
                _scan_block(block, prefilter, fmt, stamps, host, events, src.sigs)
            if not chunk:
                break
        src.bytes_read = nread
        return src
    finally:
        if close:
            f.close()


def _scan_block(block, prefilter, fmt, stamps, host, events, sigs):
    # big logs: every line carrying a rule signature, but context lines only sampled per block
    hits = prefilter.scan(block, sample=True)
    if not hits:
        return
    parse_one = logparse._parse_one
    auto = logparse._auto
    finish = logparse._finish
    for start in sorted(hits):
        end = hits[start][0]
        raw = block[start:end]
        line = raw.decode('utf-8', 'replace').rstrip('\r')
        if '\x00' in line:
            line = line.replace('\x00', '')
        try:
            ev = parse_one(line, fmt, stamps, host)
            if ev is None:
                ev = auto(line, stamps, host)
        except (ValueError, OverflowError, RecursionError):
            ev = None
        if ev is None:
            continue
        finish(ev, line)
        events.append(ev)
        sigs.append(hits[start][1])


def load_facts(path):
    """Read one facts file; returns (hostname or None, ikev2 dict). Raises InputError."""
    try:
        if path == '-':
            text = sys.stdin.read()
        else:
            with io.open(path, 'r', encoding='utf-8', errors='replace') as f:
                text = f.read()
    except (OSError, IOError) as e:
        raise InputError('cannot read facts %s: %s' % (path, getattr(e, 'strerror', None) or e))
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            import yaml
            doc = yaml.safe_load(text)
        except Exception:
            raise InputError('facts file %s is neither JSON nor YAML' % path)
    return facts_from_doc(doc, path)


def facts_from_doc(doc, label='facts'):
    if not isinstance(doc, dict):
        raise InputError('facts %s: expected a mapping (the ikev2 facts dict)' % label)
    if 'ansible_facts' in doc and isinstance(doc['ansible_facts'], dict):
        doc = doc['ansible_facts']
    if 'ikev2' in doc and isinstance(doc['ikev2'], dict):
        doc = doc['ikev2']
    name = doc.get('hostname') if isinstance(doc.get('hostname'), str) else None
    return name, doc
