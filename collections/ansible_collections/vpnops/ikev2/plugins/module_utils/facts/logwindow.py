# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a time window from the end of a (possibly multi-gigabyte) log file.

The window's first byte is found by binary search over byte offsets, reading one line's
timestamp per probe; then only the window's bytes are read (from the end, until the line cap
is met). The whole file is never read. Rotated predecessors (``path.1``, ``path.1.gz``) are read
only when the window starts before the current file's first line. Bytes that are not UTF-8 are
replaced (``errors='replace'``), never fatal.

>>> ts = line_epoch(b'2026-11-26T23:00:09Z gw charon: 10[IKE] hi', None)
>>> int(ts)
1795734009
"""
from __future__ import annotations

import gzip
import os
import re
import time
import zlib
from collections import deque

_MONTHS = {m: i for i, m in enumerate(
    (b'Jan', b'Feb', b'Mar', b'Apr', b'May', b'Jun', b'Jul', b'Aug', b'Sep', b'Oct', b'Nov', b'Dec'), 1)}

# "Nov 26 23:00:09" (charon %b %e %T, RFC 3164 syslog, pluto logtime), optional ".123" fraction
_BSD = re.compile(rb'^(?:<\d+>)?([A-Z][a-z]{2}) ([ \d]?\d) (\d\d):(\d\d):(\d\d)(\.\d+)?')
# "2026-11-26T23:00:09.123+01:00" / "2026-11-26 23:00:09" (ISO, RFC 5424 syslog, charon %F %T)
_ISO = re.compile(rb'^(?:<\d+>1 )?(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?')

PROBE = 4096
CHUNK = 1 << 20


class YearRef(object):
    """Year inference for year-less stamps: a line dated after ``ref`` belongs to the year before.

    ``ref`` is a ``time.struct_time`` in local time (the file's mtime by default).
    """

    def __init__(self, ref_epoch=None, year=None):
        st = time.localtime(ref_epoch if ref_epoch is not None else time.time())
        self.year = year if year is not None else st.tm_year
        self.month = st.tm_mon
        self.fixed = year is not None
        self._cache = {}

    def epoch(self, mon, day, hh, mm, ss, frac):
        year = self.year
        if not self.fixed and mon > self.month:
            year -= 1
        key = (year, mon, day, hh)
        base = self._cache.get(key)
        if base is None:
            # seconds since the epoch of local (year, mon, day, hh):00:00, DST resolved by mktime
            base = time.mktime((year, mon, day, hh, 0, 0, 0, 0, -1))
            self._cache[key] = base
        return base + mm * 60 + ss + frac


def line_epoch(line, yref):
    """Seconds since the epoch of the timestamp that starts ``line`` (bytes), or None."""
    m = _BSD.match(line)
    if m:
        mon = _MONTHS.get(m.group(1))
        if mon is None:
            return None
        frac = float(m.group(6)) if m.group(6) else 0.0
        yref = yref or YearRef()
        return yref.epoch(mon, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), frac)
    m = _ISO.match(line)
    if m:
        y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
        frac = float(m.group(7)) if m.group(7) else 0.0
        tz = m.group(8)
        if tz is None:
            return time.mktime((y, mo, d, hh, mi, ss, 0, 0, -1)) + frac
        import calendar
        base = calendar.timegm((y, mo, d, hh, mi, ss, 0, 0, 0)) + frac
        if tz != b'Z':
            sign = -1 if tz[:1] == b'-' else 1
            digits = tz[1:].replace(b':', b'')
            base -= sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)
        return base
    return None


def _ts_at(fh, offset, size, yref, lines=8):
    """Timestamp of the first complete line starting after ``offset`` (scans a few lines)."""
    pos = offset
    fh.seek(pos)
    buf = fh.read(PROBE)
    if pos > 0:
        nl = buf.find(b'\n')
        if nl < 0:
            return None, size
        buf = buf[nl + 1:]
        pos += nl + 1
    for _line in range(lines):
        nl = buf.find(b'\n')
        line = buf if nl < 0 else buf[:nl]
        ts = line_epoch(line, yref)
        if ts is not None:
            return ts, pos
        if nl < 0:
            break
        pos += nl + 1
        buf = buf[nl + 1:]
    return None, pos


def find_offset(fh, size, target, yref):
    """First line-start offset whose line's timestamp is >= target (``size`` if none)."""
    lo, hi = 0, size
    # invariant: every line starting before lo is < target; the answer is <= hi
    while hi - lo > PROBE:
        mid = (lo + hi) // 2
        ts, pos = _ts_at(fh, mid, size, yref)
        if ts is None or pos >= hi:
            # no stamped line between mid and hi: search the lower half
            hi = mid
            continue
        if ts < target:
            lo = pos
        else:
            hi = pos
    # finish linearly on the small remaining span
    fh.seek(lo)
    data = fh.read(hi - lo + PROBE)
    pos = lo
    if lo > 0:
        # lo is always a line start except when it is a probe point: align
        fh.seek(lo - 1)
        if fh.read(1) != b'\n':
            nl = data.find(b'\n')
            if nl < 0:
                return size
            data = data[nl + 1:]
            pos += nl + 1
    for line in data.split(b'\n'):
        if pos >= size:
            break
        ts = line_epoch(line, yref)
        if ts is not None and ts >= target:
            return pos
        pos += len(line) + 1
    return min(pos, size)


def _cap_start(fh, start, end, max_lines, max_bytes):
    """Where the last ``max_lines`` lines of [start, end) begin, scanning back from ``end`` without
    keeping what it reads; the scan stops after ``max_bytes``.

    Returns (offset, capped, scanned): ``capped`` is True when lines before ``offset`` were left out.
    """
    if end - start <= max_lines and end - start <= max_bytes:
        return start, False, 0      # fewer bytes than the cap allows lines: nothing to count
    fh.seek(end - 1)
    stop = end - 1 if fh.read(1) == b'\n' else end     # a final newline ends the last line
    limit = max(start, end - max_bytes)
    pos = stop
    found = 0
    scanned = 0
    while pos > limit:
        n = min(CHUNK, pos - limit)
        pos -= n
        fh.seek(pos)
        chunk = fh.read(n)
        scanned += n
        c = chunk.count(b'\n')
        if found + c >= max_lines:
            idx = len(chunk)
            for _line in range(max_lines - found):
                idx = chunk.rfind(b'\n', 0, idx)
            return pos + idx + 1, True, scanned
        found += c
    if limit > start:
        # the byte budget ended inside a line: the window starts after it
        fh.seek(limit)
        head = fh.read(PROBE)
        nl = head.find(b'\n')
        off = limit + nl + 1 if nl >= 0 else end
        return min(off, end), True, scanned
    return start, False, scanned


class Window(object):
    """One file's window, found but not read yet: ``info`` (the ``read_window`` dict without
    ``lines``) and ``blocks()``, which yields the window's text in blocks of whole lines (about
    ``CHUNK`` bytes each, decoded with ``errors='replace'``), rotated predecessors first. Nothing
    but one block is held at a time, whatever the window's size."""

    def __init__(self, path, since, until=None, max_lines=20000, max_bytes=64 << 20, year=None, rotated=True,
                 opener=open):
        self.path = path
        self.info = res = {'path': path, 'status': 'ok', 'bytes_read': 0, 'window_bytes': 0,
                           'truncated': False, 'rotated': [], 'partial_last_line': False}
        self.older = []
        self.fh = None
        self.start = self.end = 0
        try:
            st = os.stat(path)
            fh = opener(path, 'rb')
        except (IOError, OSError) as exc:
            res['status'] = 'missing' if getattr(exc, 'errno', None) == 2 else 'unreadable'
            res['reason'] = '%s: %s' % (path, getattr(exc, 'strerror', None) or exc)
            return
        yref = YearRef(st.st_mtime, year)
        try:
            size = st.st_size
            start = find_offset(fh, size, since, yref) if size else 0
            end = size
            if until is not None and size:
                end = find_offset(fh, size, until + 1, yref)
            res['window_bytes'] = end - start
            first, capped, scanned = _cap_start(fh, start, end, max_lines, max_bytes)
            res['truncated'] = capped
            res['bytes_read'] = (end - first) + (scanned if capped else 0)
            if end > first and end == size:
                fh.seek(end - 1)
                res['partial_last_line'] = fh.read(1) != b'\n'
            if start == 0 and size and rotated and not capped:
                first_ts = _ts_at(fh, 0, size, yref)[0]
                if first_ts is None or first_ts > since:
                    nlines = self._count_lines(fh, first, end)
                    self.older = _read_rotated(path, since, until, max_lines - nlines, yref, res)
            self.fh, self.start, self.end = fh, first, end
        except (IOError, OSError) as exc:
            res['status'] = 'error'
            res['reason'] = '%s: %s' % (path, exc)
            fh.close()

    @staticmethod
    def _count_lines(fh, start, end):
        n = 0
        pos = start
        last = b''
        while pos < end:
            fh.seek(pos)
            chunk = fh.read(min(CHUNK, end - pos))
            if not chunk:
                break
            n += chunk.count(b'\n')
            last = chunk[-1:]
            pos += len(chunk)
        return n + (1 if last and last != b'\n' else 0)

    def chunks(self, size=CHUNK):
        """The window's bytes in chunks of whole lines (about ``CHUNK`` bytes); closes the file.

        Each chunk is a ``memoryview`` of one reused buffer, valid until the next one is asked
        for: the bytes are copied once, from the page cache into the buffer, as ``tail -c`` does.
        """
        fh = self.fh
        if fh is None:
            return
        try:
            fh.seek(self.start)
            left = self.end - self.start
            buf = bytearray(size)
            mv = memoryview(buf)
            keep = 0                  # the start of a line cut by the previous read, at buf[:keep]
            while left > 0:
                if keep == len(buf):  # a line longer than the buffer: a bigger one
                    bigger = bytearray(2 * len(buf))
                    bigger[:keep] = buf
                    buf = bigger
                    mv = memoryview(buf)
                n = fh.readinto(mv[keep:keep + min(len(buf) - keep, left)])
                if not n:
                    break
                left -= n
                fill = keep + n
                if left > 0:
                    nl = buf.rfind(b'\n', 0, fill)
                    if nl < 0:
                        keep = fill
                        continue
                    yield mv[:nl + 1]
                    keep = fill - nl - 1
                    buf[:keep] = buf[nl + 1:fill]
                else:
                    keep = 0
                    yield mv[:fill]
            if keep:
                yield mv[:keep]
        except (IOError, OSError) as exc:
            self.info['status'] = 'error'
            self.info['reason'] = '%s: read error: %s' % (self.path, exc)
        finally:
            self.close()

    def blocks(self, size=CHUNK):
        """The window's text, block by block (each block ends at a line end), rotated
        predecessors first; closes the file."""
        if self.older:
            yield '\n'.join(self.older) + '\n'
            self.older = []
        for data in self.chunks(size):
            yield str(data, 'utf-8', 'replace')

    def lines(self):
        """The window's lines (str, without line ends), one at a time."""
        for block in self.blocks():
            lines = block.split('\n')
            if lines[-1] == '':
                lines.pop()
            yield from lines

    def close(self):
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def read_window(path, since, until=None, max_lines=20000, max_bytes=64 << 20, year=None,
                rotated=True, opener=open):
    """Read the lines of ``path`` whose timestamps fall in [since, until].

    ``since``/``until`` are epoch seconds. Returns a dict:
    ``{path, status, reason?, lines, bytes_read, window_bytes, truncated, rotated: [paths], first_ts, last_ts}``.
    Lines without a stamp inside the window (continuations) are kept. All lines are held in
    memory: for big windows use ``Window(...).blocks()``, which streams them.
    """
    win = Window(path, since, until, max_lines=max_lines, max_bytes=max_bytes, year=year, rotated=rotated,
                 opener=opener)
    lines = list(win.lines())
    res = win.info
    res['lines'] = lines
    return res


def _read_rotated(path, since, until, budget, yref, res):
    if budget <= 0:
        return []
    for cand in (path + '.1', path + '.1.gz', path + '.0'):
        if not os.path.exists(cand):
            continue
        res['rotated'].append(cand)
        try:
            if cand.endswith('.gz'):
                return _read_gz(cand, since, until, budget, yref, res)
            sub = read_window(cand, since, until, max_lines=budget, year=yref.year if yref.fixed else None,
                              rotated=False)
            res['bytes_read'] += sub['bytes_read']
            res['truncated'] = res['truncated'] or sub['truncated']
            return sub['lines']
        except (IOError, OSError, EOFError) as exc:
            res['reason'] = 'rotated file %s: %s' % (cand, exc)
            return []
    return []


def _read_gz(path, since, until, budget, yref, res, max_uncompressed=256 << 20):
    """A compressed predecessor cannot be searched; stream it, keep the window's last lines."""
    keep = deque(maxlen=budget)
    inside = False
    total = 0
    with gzip.open(path, 'rb') as fh:
        try:
            for line in fh:
                total += len(line)
                if total > max_uncompressed:
                    res['truncated'] = True
                    break
                ts = line_epoch(line, yref)
                if ts is not None:
                    if until is not None and ts > until:
                        break
                    inside = ts >= since
                if inside:
                    keep.append(line.rstrip(b'\n').decode('utf-8', errors='replace'))
        except (EOFError, OSError, zlib.error) as exc:
            # a cut or corrupt archive: keep what was read up to the break
            res['reason'] = 'rotated file %s: read up to byte %d of its content: %s' % (path, total, exc)
    res['bytes_read'] += total
    if len(keep) == budget:
        res['truncated'] = True
    return list(keep)
