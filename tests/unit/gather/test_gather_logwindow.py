"""The log window reader on the real charon log and on files made from its lines."""

from __future__ import annotations

import gzip
import io
import os
import time

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import logwindow

from _gather_helpers import FIXTURES

GW_LOG = str(FIXTURES / "charon_log" / "gw-charon.log")
YREF = logwindow.YearRef(year=2026)


def _epoch(stamp):
    return logwindow.line_epoch(stamp.encode(), YREF)


def _real_lines():
    with open(GW_LOG, "rb") as fh:
        return fh.read().decode("utf-8").splitlines()


def test_window_on_real_log_matches_a_linear_scan():
    since = _epoch("Nov 26 23:00:09")
    res = logwindow.read_window(GW_LOG, since, year=2026)
    expected = [ln for ln in _real_lines() if _epoch(ln[:15]) >= since]
    assert res["status"] == "ok" and res["lines"] == expected
    assert res["truncated"] is False and res["rotated"] == []


def test_window_with_until():
    since, until = _epoch("Nov 26 23:00:06"), _epoch("Nov 26 23:00:08")
    res = logwindow.read_window(GW_LOG, since, until, year=2026)
    expected = [ln for ln in _real_lines() if since <= _epoch(ln[:15]) <= until]
    assert res["lines"] == expected and expected


def test_line_cap_keeps_the_most_recent_lines():
    res = logwindow.read_window(GW_LOG, 0, max_lines=10, year=2026)
    assert res["lines"] == _real_lines()[-10:]
    assert res["truncated"] is True


def _big_log(path, days=3, per_second=20):
    """A charon log spanning ``days`` made of the real log's message bodies, one stamp per line."""
    bodies = [ln[16:] for ln in _real_lines()]
    start = time.mktime((2026, 11, 20, 0, 0, 0, 0, 0, -1))
    n = 0
    with open(path, "wb") as fh:
        t = start
        buf = io.StringIO()
        while t < start + days * 86400:
            stamp = time.strftime("%b %e %H:%M:%S", time.localtime(t))
            for _ in range(per_second):
                buf.write("%s %s\n" % (stamp, bodies[n % len(bodies)]))
                n += 1
            t += 7
            if buf.tell() > 1 << 20:
                fh.write(buf.getvalue().encode())
                buf = io.StringIO()
        fh.write(buf.getvalue().encode())
    os.utime(path, (start + days * 86400, start + days * 86400))
    return start, start + days * 86400


class CountingFile(io.FileIO):
    total = 0

    def read(self, n=-1):
        data = super().read(n)
        CountingFile.total += len(data)
        return data


def test_big_file_is_never_read_whole(tmp_path):
    path = str(tmp_path / "charon.log")
    _start, end = _big_log(path)
    size = os.path.getsize(path)
    CountingFile.total = 0
    res = logwindow.read_window(path, end - 3600, max_lines=10 ** 6, opener=CountingFile)
    assert res["status"] == "ok" and res["lines"]
    first = logwindow.line_epoch(res["lines"][0].encode(), logwindow.YearRef(end))
    assert end - 3600 <= first < end - 3600 + 8
    # the window is ~1/72 of the file: reads are the window plus the probes of the search
    assert CountingFile.total < res["window_bytes"] + 80 * logwindow.PROBE * 2
    assert CountingFile.total < size / 20


def test_garbled_bytes_are_replaced(tmp_path):
    path = tmp_path / "charon.log"
    path.write_bytes(b"Nov 26 23:00:01 05[IKE] <gw|1> ok\n"
                     b"Nov 26 23:00:02 05[IKE] <gw|1> bad \xff\xfe\xc3 bytes\n"
                     b"\x00\x00garbage without stamp\n"
                     b"Nov 26 23:00:03 05[IKE] <gw|1> last line cut mid-wr")
    res = logwindow.read_window(str(path), _epoch("Nov 26 23:00:02"), year=2026)
    assert res["status"] == "ok"
    assert res["lines"][0] == "Nov 26 23:00:02 05[IKE] <gw|1> bad \ufffd\ufffd\ufffd bytes"
    assert res["lines"][1].startswith("\x00\x00garbage")
    assert res["lines"][-1].endswith("cut mid-wr") and res["partial_last_line"] is True


def test_rotated_plain_and_gz(tmp_path):
    lines = _real_lines()
    older, newer = lines[:900], lines[900:]
    cur = tmp_path / "charon.log"
    cur.write_text("\n".join(newer) + "\n")
    (tmp_path / "charon.log.1").write_text("\n".join(older) + "\n")
    since = _epoch("Nov 26 22:59:58")
    res = logwindow.read_window(str(cur), since, year=2026)
    assert res["rotated"] == [str(cur) + ".1"]
    assert res["lines"] == [ln for ln in lines if _epoch(ln[:15]) >= since]
    os.unlink(str(tmp_path / "charon.log.1"))
    with gzip.open(str(tmp_path / "charon.log.1.gz"), "wt") as fh:
        fh.write("\n".join(older) + "\n")
    res = logwindow.read_window(str(cur), since, year=2026)
    assert res["rotated"] == [str(cur) + ".1.gz"]
    assert res["lines"] == [ln for ln in lines if _epoch(ln[:15]) >= since]


def test_rotated_not_read_when_window_inside_current_file(tmp_path):
    lines = _real_lines()
    cur = tmp_path / "charon.log"
    cur.write_text("\n".join(lines[900:]) + "\n")
    (tmp_path / "charon.log.1").write_text("\n".join(lines[:900]) + "\n")
    res = logwindow.read_window(str(cur), _epoch("Nov 26 23:00:30"), year=2026)
    assert res["rotated"] == []


def test_year_rollover(tmp_path):
    path = tmp_path / "charon.log"
    path.write_text("Dec 31 23:59:58 05[IKE] a\nDec 31 23:59:59 05[IKE] b\nJan  1 00:00:01 05[IKE] c\n"
                    "Jan  1 00:00:02 05[IKE] d\n")
    ref = time.mktime((2027, 1, 1, 0, 0, 5, 0, 0, -1))
    os.utime(str(path), (ref, ref))
    since = time.mktime((2026, 12, 31, 23, 59, 59, 0, 0, -1))
    res = logwindow.read_window(str(path), since)
    assert [ln[-1] for ln in res["lines"]] == ["b", "c", "d"]


def test_iso_and_rfc5424_stamps():
    assert logwindow.line_epoch(b"2026-11-26T23:00:09+01:00 gw charon: x", None) == _epoch_utc(2026, 11, 26, 22, 0, 9)
    assert logwindow.line_epoch(b"<30>1 2026-11-26T23:00:09.5Z gw charon 1 - - x", None) == _epoch_utc(
        2026, 11, 26, 23, 0, 9) + 0.5
    assert logwindow.line_epoch(b"no stamp here", None) is None


def _epoch_utc(*a):
    import calendar
    return calendar.timegm(a + (0, 0, 0))


def test_missing_and_unreadable(tmp_path):
    res = logwindow.read_window(str(tmp_path / "nope.log"), 0)
    assert res["status"] == "missing" and "nope.log" in res["reason"]
    res = logwindow.read_window(str(tmp_path), 0)
    assert res["status"] == "unreadable"


def test_empty_file(tmp_path):
    path = tmp_path / "charon.log"
    path.write_bytes(b"")
    res = logwindow.read_window(str(path), 0, rotated=False)
    assert res["status"] == "ok" and res["lines"] == []


def test_cut_gz_archive_is_read_up_to_the_break(tmp_path):
    lines = _real_lines()
    cur = tmp_path / "charon.log"
    cur.write_text("\n".join(lines[900:]) + "\n")
    gz = gzip.compress(("\n".join(lines[:900]) + "\n").encode())
    (tmp_path / "charon.log.1.gz").write_bytes(gz[: len(gz) * 2 // 3])
    res = logwindow.read_window(str(cur), 0, year=2026)
    assert res["status"] == "ok" and "read up to byte" in res["reason"]
    older = res["lines"][: len(res["lines"]) - (len(lines) - 900)]
    assert 0 < len(older) < 900 and older == lines[: len(older)]
    assert res["lines"][len(older):] == lines[900:]
