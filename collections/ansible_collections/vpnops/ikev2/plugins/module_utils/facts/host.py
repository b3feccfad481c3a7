# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host as the gatherers see it: run a command, read a file, find a tool.

Every gatherer receives a ``Host``; unit tests hand in a ``Host`` whose ``run``/``read`` answer from
captured fixtures. Nothing here raises for a missing tool or file: the caller gets a result that
says so and records it as the section's status.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading

SBIN = ('/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin', '/usr/local/bin',
        '/usr/libexec/ipsec', '/usr/lib/ipsec')


class CmdResult(object):
    __slots__ = ('rc', 'out', 'err', 'missing', 'timed_out', 'argv')

    def __init__(self, argv, rc, out, err, missing=False, timed_out=False):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.missing = missing
        self.timed_out = timed_out

    @property
    def ok(self):
        return self.rc == 0 and not self.missing and not self.timed_out

    def reason(self):
        if self.missing:
            return '%s: command not found' % self.argv[0]
        if self.timed_out:
            return '%s: timed out' % ' '.join(self.argv)
        msg = (self.err or self.out or '').strip().splitlines()
        return '%s exited %s%s' % (' '.join(self.argv), self.rc, (': ' + msg[-1][:300]) if msg else '')


def _run_bounded(argv, env, timeout):
    """Run ``argv`` to completion with a wall-clock bound, without ``communicate(timeout=...)``.

    The bound is a SIGALRM (a relative kernel timer) rather than timed poll()/select() calls:
    on hosts that run under libfaketime (the lab's skewed clocks) the timed poll wrapper fails
    with EINVAL, which made ``subprocess.run(timeout=...)`` fail for every command.
    """
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    state = {'timed_out': False}
    old = None
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, 'SIGALRM')
    if use_alarm:
        def _expire(_signum, _frame):
            state['timed_out'] = True
            try:
                proc.kill()
            except OSError:
                pass
        old = signal.signal(signal.SIGALRM, _expire)
        signal.alarm(max(1, int(timeout)))
    try:
        out, err = proc.communicate()
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    return proc.returncode, out, err, state['timed_out']


class Host(object):
    """The real host (the module's target)."""

    def __init__(self, env=None, timeout=20):
        self.env = env
        self.timeout = timeout
        self.commands = []     # argv of every command run, for the facts' provenance

    def which(self, tool):
        path = shutil.which(tool)
        if path:
            return path
        for d in SBIN:
            cand = os.path.join(d, tool)
            if os.access(cand, os.X_OK):
                return cand
        return None

    def run(self, argv, timeout=None, env=None):
        exe = self.which(argv[0]) if not os.path.isabs(argv[0]) else argv[0]
        if not exe or not os.access(exe, os.X_OK):
            return CmdResult(argv, 127, '', '', missing=True)
        self.commands.append(list(argv))
        full_env = None
        if env or self.env:
            full_env = dict(os.environ)
            full_env.update(self.env or {})
            full_env.update(env or {})
        full_env = full_env or dict(os.environ)
        full_env.setdefault('LC_ALL', 'C')
        try:
            rc, out, err, timed_out = _run_bounded([exe] + list(argv[1:]), full_env, timeout or self.timeout)
        except OSError as exc:
            return CmdResult(argv, 126, '', str(exc))
        if timed_out:
            return CmdResult(argv, None, '', '', timed_out=True)
        return CmdResult(argv, rc, out.decode('utf-8', errors='replace'), err.decode('utf-8', errors='replace'))

    def read(self, path, max_bytes=4 << 20):
        """Return (text, None) or (None, (status, reason)). Bad bytes are replaced."""
        try:
            with open(path, 'rb') as fh:
                data = fh.read(max_bytes)
        except (IOError, OSError) as exc:
            status = 'missing' if getattr(exc, 'errno', None) == 2 else 'unreadable'
            return None, (status, '%s: %s' % (path, getattr(exc, 'strerror', None) or exc))
        return data.decode('utf-8', errors='replace'), None

    def read_bytes(self, path, max_bytes=1 << 20):
        try:
            with open(path, 'rb') as fh:
                return fh.read(max_bytes), None
        except (IOError, OSError) as exc:
            status = 'missing' if getattr(exc, 'errno', None) == 2 else 'unreadable'
            return None, (status, '%s: %s' % (path, getattr(exc, 'strerror', None) or exc))

    def exists(self, path):
        return os.path.exists(path)

    def isdir(self, path):
        return os.path.isdir(path)

    def listdir(self, path):
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []


def section(status='ok', reason=None, **fields):
    """A facts section: ``status`` first, ``reason`` only when not ok."""
    out = {'status': status}
    if reason:
        out['reason'] = reason
    out.update(fields)
    return out
