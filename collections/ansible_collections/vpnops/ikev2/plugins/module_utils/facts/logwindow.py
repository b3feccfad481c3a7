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


def _tail_lines(fh, start, end, max_lines, max_bytes):
    """Read [start, end) from the end backwards until ``max_lines`` lines are held.

    Returns (bytes, capped): ``capped`` is True when lines before the returned ones were left out.
    """
    chunks = []
    pos = end
    newlines = 0
    read = 0
    while pos > start:
        n = min(CHUNK, pos - start)
        pos -= n
        fh.seek(pos)
        chunk = fh.read(n)
        chunks.append(chunk)
        read += n
        newlines += chunk.count(b'\n')
        if newlines > max_lines or read >= max_bytes:
            break
    chunks.reverse()
    data = b''.join(chunks)
    partial_first = pos > start
    if partial_first:
        nl = data.find(b'\n')
        data = data[nl + 1:] if nl >= 0 else b''
    capped = partial_first
    # count lines; cut to the last max_lines complete lines
    count = data.count(b'\n') + (0 if data.endswith(b'\n') or not data else 1)
    if count > max_lines:
        capped = True
        idx = len(data) - 1 if data.endswith(b'\n') else len(data)
        for _line in range(max_lines):
            idx = data.rfind(b'\n', 0, idx)
            if idx < 0:
                break
        data = data[idx + 1:]
    return data, capped, read


def read_window(path, since, until=None, max_lines=20000, max_bytes=64 << 20, year=None,
                rotated=True, opener=open):
    """Read the lines of ``path`` whose timestamps fall in [since, until].

    ``since``/``until`` are epoch seconds. Returns a dict:
    ``{path, status, reason?, lines, bytes_read, window_bytes, truncated, rotated: [paths], first_ts, last_ts}``.
    Lines without a stamp inside the window (continuations) are kept.
    """
    res = {'path': path, 'status': 'ok', 'lines': [], 'bytes_read': 0, 'window_bytes': 0,
           'truncated': False, 'rotated': [], 'partial_last_line': False}
    try:
        st = os.stat(path)
        fh = opener(path, 'rb')
    except (IOError, OSError) as exc:
        res['status'] = 'missing' if getattr(exc, 'errno', None) == 2 else 'unreadable'
        res['reason'] = '%s: %s' % (path, getattr(exc, 'strerror', None) or exc)
        return res
    yref = YearRef(st.st_mtime, year)
    older = []
    try:
        size = st.st_size
        start = find_offset(fh, size, since, yref) if size else 0
        end = size
        if until is not None and size:
            end = find_offset(fh, size, until + 1, yref)
        data, capped, nread = _tail_lines(fh, start, end, max_lines, max_bytes)
        res['bytes_read'] = nread
        res['window_bytes'] = end - start
        if data and not data.endswith(b'\n') and end == size:
            res['partial_last_line'] = True
        text = data.decode('utf-8', errors='replace')
        lines = text.split('\n')
        if lines and lines[-1] == '':
            lines.pop()
        res['truncated'] = capped
        if start == 0 and size and rotated and not capped:
            first_ts = _ts_at(fh, 0, size, yref)[0]
            if first_ts is None or first_ts > since:
                older = _read_rotated(path, since, until, max_lines - len(lines), yref, res)
        res['lines'] = older + lines
    except (IOError, OSError) as exc:
        res['status'] = 'error'
        res['reason'] = '%s: %s' % (path, exc)
    finally:
        fh.close()
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
