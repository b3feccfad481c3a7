# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the IKE daemons' logs are, reading their time window, and turning lines into events.

Line parsing belongs to ``module_utils/logs`` (``parse_lines``); this module finds the files,
reads the window (``logwindow``), asks journald, and hands the lines over.
"""
from __future__ import annotations

import binascii
import gc
import heapq
import os
import json
import re
import tempfile

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import logwindow

try:
    from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import detect_format, iter_event_json_batches, parse_lines
    HAS_LOG_PARSERS = True
except ImportError:  # the parsers land separately; the window is still read and reported
    parse_lines = iter_event_json_batches = detect_format = None
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


def _file_cap(source, max_lines):
    return max_lines * (4 if source == 'syslog' else 1)


def read_file_window(path, source, since, until, max_lines, year=None):
    """Read one file's window; syslog files are filtered to IKE daemon lines first."""
    res = logwindow.read_window(path, since, until, max_lines=_file_cap(source, max_lines), year=year)
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


# ---------------------------------------------------------------------------------------------
# Big windows: events streamed to a spool file, merged and serialised without holding them

SPOOL_BYTES = 8 << 20
"""Windows (after the line cap) larger than this, summed over the files, are streamed: each
file's events go as JSON texts to a spool file and ``events`` is a ``SpooledEvents``."""


STREAM_BLOCK = 256 << 10
"""Bytes of window text parsed at a time when streaming: what is alive at once (the block, its
lines, their events' texts) is a few times this."""


def _ts_key(text):
    """The sort key of an event's JSON text (its ``ts``; None sorts first, as ``ts or ''``)."""
    return text[8:text.find('"', 8)] if text[7] == '"' else ''


class EventSpool(object):
    """One source's events as JSON texts, one per line, in an anonymous temporary file."""

    def __init__(self):
        self.fh = tempfile.TemporaryFile()
        self.count = 0
        self.last = ''
        self.ordered = True
        self.skip = 0

    def add_batch(self, texts):
        if not texts:
            return
        data = '\n'.join(texts)
        if self.ordered:
            # '{"ts": "' then the stamp, a 'Z"' that ends it, and what follows: comparing these
            # fixed slices orders as the stamps do (equal stamps may differ after them, which only
            # costs a sort that was not needed). A null stamp gives 'ull, ...', after every digit:
            # when the largest slice is one, the exact keys are taken.
            keys = [t[8:40] for t in texts]
            ordered = sorted(keys)
            if ordered[-1][:4] == 'ull,':
                keys = [_ts_key(t) for t in texts]
                ordered = sorted(keys)
            if keys[0] < self.last or keys != ordered:
                self.ordered = False
            self.last = _ts_key(texts[-1])
        self.count += len(texts)
        self.fh.write((data + '\n').encode('utf-8'))

    def texts(self):
        """The JSON texts after ``skip``, in time order (a source out of order is sorted here)."""
        self.fh.seek(0)
        it = (line[:-1].decode('utf-8') for line in self.fh)
        if not self.ordered:
            it = iter(sorted(it, key=_ts_key))
        for _i in range(self.skip):
            next(it, None)
        return it

    def close(self):
        self.fh.close()


class SpooledEvents(object):
    """The ``events`` of a streamed window: iterable (as dicts), ``len()``, and ``iter_json()`` /
    ``write_json(fh)`` for the module's output, which never holds them all."""

    def __init__(self, spools, skip):
        self.spools = [s for s in spools if s.count > s.skip]
        self.total = sum(s.count - s.skip for s in self.spools)
        self.skip = skip

    def __len__(self):
        return self.total - self.skip

    def iter_json(self):
        its = [s.texts() for s in self.spools]
        if not its:
            return iter(())
        merged = its[0] if len(its) == 1 else heapq.merge(*its, key=_ts_key)
        for _i in range(self.skip):
            next(merged, None)
        return merged

    def __iter__(self):
        for text in self.iter_json():
            yield json.loads(text)

    def write_json(self, write, batch=2000, binary=False):
        """Write the events as one JSON array through ``write`` (a callable taking str, or bytes
        with ``binary``: the spool's bytes then go out without being decoded and encoded again)."""
        if binary:
            out = write
        else:
            def out(data):
                write(data.decode('utf-8'))
        out(b'[')
        if len(self.spools) == 1 and self.spools[0].ordered:
            self._copy_one(self.spools[0], self.skip, out)
            out(b']')
            return
        first = True
        buf = []
        for text in self.iter_json():
            buf.append(text)
            if len(buf) >= batch:
                out((('' if first else ', ') + ', '.join(buf)).encode('utf-8'))
                first = False
                buf = []
        if buf:
            out((('' if first else ', ') + ', '.join(buf)).encode('utf-8'))
        out(b']')

    @staticmethod
    def _copy_one(spool, skip, write, size=1 << 20):
        """One source in order: its spool's lines copied block by block, newlines made commas."""
        fh = spool.fh
        fh.seek(0)
        skip += spool.skip
        while skip > 0:                      # leave out the first lines
            data = fh.read(size)
            if not data:
                return
            n = data.count(b'\n')
            if n < skip:
                skip -= n
                continue
            idx = -1
            for _i in range(skip):
                idx = data.find(b'\n', idx + 1)
            fh.seek(fh.tell() - len(data) + idx + 1)
            skip = 0
        sep = b''
        carry = b''
        while True:
            data = fh.read(size)
            if not data:
                break
            data = carry + data
            cut = data.rfind(b'\n')
            if cut < 0:                      # an event longer than the read: read on
                carry = data
                continue
            carry = data[cut + 1:]
            data = data[:cut]
            if data:
                write(sep + data.replace(b'\n', b', '))
                sep = b', '

    def close(self):
        for s in self.spools:
            s.close()


def _syslog_blocks(blocks):
    for block in blocks:
        keep = [ln for ln in block.split('\n') if _IKE_SYSLOG.search(ln)]
        if keep:
            yield '\n'.join(keep) + '\n'


def _counted(blocks, info):
    n = 0
    for block in blocks:
        n += block.count('\n') + (0 if block.endswith('\n') else 1)
        yield block
    info['lines'] = n


def _spool_file(win, source, year, tz, hostname, max_lines):
    """Stream one file's window into a spool; returns the spool or None (format not recognised)."""
    info = win.info
    blocks = win.blocks(STREAM_BLOCK)
    if source == 'syslog':
        blocks = _counted(_syslog_blocks(blocks), info)
    else:
        blocks = _counted(blocks, info)
    fmt = source
    if fmt is None:
        first = next(blocks, None)
        if first is None:
            return EventSpool()
        fmt = detect_format(first.split('\n', 400)[:400])
        if fmt in ('unknown', 'journald', 'charon-status'):
            return None
        blocks = _chain_first(first, blocks)
    spool = EventSpool()
    # the findall tuples and texts are short-lived and acyclic: the cyclic GC would only rescan
    # whatever else the process holds, once per few hundred lines
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for batch in iter_event_json_batches(blocks, fmt, year=year, tz=tz, host=hostname):
            spool.add_batch(batch)
    finally:
        if gc_was_enabled:
            gc.enable()
    if source == 'syslog' and info.get('lines', 0) > max_lines:
        info['lines'] = max_lines
        info['truncated'] = True
    if source == 'syslog' and spool.count > max_lines:
        spool.skip = spool.count - max_lines
    return spool


def _chain_first(first, rest):
    yield first
    yield from rest


def collect(host, since, until, max_lines, tz, hostname, strongswan_log_paths=(), pluto_log_paths=(), extra=(),
            journal=True, year_of=None, spool_bytes=SPOOL_BYTES):
    """Every log source's window to events: ``(events, files, truncated)``.

    ``events`` is a list of event dicts sorted by time, the last ``max_lines`` of all sources; when
    the windows hold more than ``spool_bytes`` it is a ``SpooledEvents`` with the same content,
    streamed (memory stays flat whatever the window holds).
    """
    files = []
    windows = []
    for path, source in discover_files(host, strongswan_log_paths, pluto_log_paths, extra):
        win = logwindow.Window(path, since, until, max_lines=_file_cap(source, max_lines))
        win.info['source'] = source
        windows.append((win, path, source))
    stream = HAS_LOG_PARSERS and sum(w.info.get('bytes_read', 0) for w, _p, _s in windows) > spool_bytes
    if stream:
        try:        # no writable temporary directory: hold the events in memory after all
            EventSpool().close()
        except (IOError, OSError):
            stream = False
    events = []
    spools = []
    for win, path, source in windows:
        info = win.info
        year = year_of(path) if year_of else None
        spool = None
        try:
            if stream:
                spool = _spool_file(win, source, year, tz, hostname, max_lines)
            if spool is None:
                lines = list(win.lines())
                if source == 'syslog':
                    lines = [ln for ln in lines if _IKE_SYSLOG.search(ln)]
                    if len(lines) > max_lines:
                        lines = lines[-max_lines:]
                        info['truncated'] = True
                info['lines'] = len(lines)
                evs = to_events(lines, source, year=year, tz=tz, host=hostname)
                del lines
                if stream:
                    spool = EventSpool()
                    spool.add_batch([json.dumps(e) for e in evs])
                else:
                    events.extend(evs)
        except Exception as exc:
            info['status'] = 'error'
            info['reason'] = 'parsing %s: %s: %s' % (path, type(exc).__name__, exc)
        finally:
            win.close()
        if spool is not None:
            spools.append(spool)
        info.setdefault('lines', 0)
        files.append(info)
    if journal:
        info, lines = journal_lines(host, since, until, max_lines)
        info['lines'] = len(lines)
        info['source'] = 'journald'
        try:
            evs = to_events(lines, 'journald', tz=tz, host=hostname)
            if stream:
                spool = EventSpool()
                evs.sort(key=lambda e: e.get('ts') or '')
                spool.add_batch([json.dumps(e) for e in evs])
                spools.append(spool)
            else:
                events.extend(evs)
        except Exception as exc:
            info['status'] = 'error'
            info['reason'] = 'parsing journal: %s: %s' % (type(exc).__name__, exc)
        files.append(info)
    if stream:
        total = sum(s.count - s.skip for s in spools)
        skip = max(0, total - max_lines)
        return SpooledEvents(spools, skip), files, skip > 0
    events.sort(key=lambda e: e.get('ts') or '')
    truncated = False
    if len(events) > max_lines:
        events = events[-max_lines:]
        truncated = True
    return events, files, truncated


def exit_json(module, **result):
    """``module.exit_json(**result)``, streaming ``ansible_facts.ikev2.logs.events`` when it is a
    ``SpooledEvents``: the rest of the result goes through Ansible's own encoder with a placeholder
    where the events belong, and the events are written in its place batch by batch."""
    logs = (((result.get('ansible_facts') or {}).get('ikev2') or {}).get('logs') or {})
    events = logs.get('events')
    record = getattr(module, '_record_module_result', None)
    if not isinstance(events, SpooledEvents):
        module.exit_json(**result)
    if record is None:     # an Ansible without the hook: hold them after all
        logs['events'] = list(events)
        module.exit_json(**result)
    token = 'vpnops-spooled-events-%s' % binascii.hexlify(os.urandom(8)).decode()
    logs['events'] = token

    def streamed(o):
        import io
        import sys
        real = sys.stdout
        sys.stdout = io.StringIO()
        try:
            record(o)
            text = sys.stdout.getvalue()
        finally:
            sys.stdout = real
        head, sep, tail = text.partition('"%s"' % token)
        if not sep:      # the placeholder was not found: hold the events after all
            logs['events'] = list(events)
            record(o)
            return
        real.write(head)
        raw = getattr(real, 'buffer', None)
        if raw is not None:         # bytes straight from the spool
            real.flush()
            events.write_json(raw.write, binary=True)
            raw.flush()
        else:
            events.write_json(real.write)
        real.write(tail)
        real.flush()
        events.close()

    module._record_module_result = streamed
    module.exit_json(**result)
