"""Shared helpers for the gather unit tests: the collection on sys.path, captured fixtures, a fake host.

Imported as ``_gather_helpers`` (a unique name: several test folders have a conftest.py)."""

from __future__ import annotations

import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[3]
COLLECTIONS = str(REPO / "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

FIXTURES = REPO / "tests" / "fixtures" / "gather"

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts.host import CmdResult, Host  # noqa: E402


def fixture_text(rel):
    return (FIXTURES / rel).read_text(encoding="utf-8", errors="replace")


def fixture_bytes(rel):
    return (FIXTURES / rel).read_bytes()


class FakeHost(Host):
    """A host whose commands answer from captured output and whose files come from a dict or disk.

    ``commands`` maps an argv prefix (tuple) to (rc, stdout[, stderr]); a tool mapped to None is
    "not installed". Files: ``files`` maps a path to bytes/str (None = permission denied);
    paths not in it are read from disk only under ``root_ok`` prefixes, else "missing".
    """

    def __init__(self, commands=None, files=None, root_ok=(), tools_missing=()):
        super().__init__()
        self.cmd_map = commands or {}
        self.files = files or {}
        self.root_ok = tuple(root_ok)
        self.tools_missing = set(tools_missing)
        self.ran = []

    def which(self, tool):
        if tool in self.tools_missing:
            return None
        if any(k[0] == tool for k in self.cmd_map):
            return "/usr/sbin/" + tool
        return None

    def run(self, argv, timeout=None, env=None):
        self.ran.append(list(argv))
        if argv[0] in self.tools_missing:
            return CmdResult(argv, 127, "", "", missing=True)
        best = None
        for key, val in self.cmd_map.items():
            if tuple(argv[: len(key)]) == tuple(key) and (best is None or len(key) > len(best[0])):
                best = (key, val)
        if best is None:
            return CmdResult(argv, 127, "", "", missing=True)
        val = best[1]
        if val is None:
            return CmdResult(argv, 127, "", "", missing=True)
        rc, out = val[0], val[1]
        err = val[2] if len(val) > 2 else ""
        self.commands.append(list(argv))
        return CmdResult(argv, rc, out, err)

    def _lookup(self, path):
        if path in self.files:
            return True, self.files[path]
        if path.startswith(self.root_ok) and os.path.exists(path):
            return True, pathlib.Path(path).read_bytes()
        return False, None

    def read(self, path, max_bytes=4 << 20):
        found, data = self._lookup(path)
        if not found:
            return None, ("missing", "%s: No such file or directory" % path)
        if data is None:
            return None, ("unreadable", "%s: Permission denied" % path)
        if isinstance(data, str):
            data = data.encode()
        return data[:max_bytes].decode("utf-8", errors="replace"), None

    def read_bytes(self, path, max_bytes=1 << 20):
        found, data = self._lookup(path)
        if not found:
            return None, ("missing", "%s: No such file or directory" % path)
        if data is None:
            return None, ("unreadable", "%s: Permission denied" % path)
        return (data.encode() if isinstance(data, str) else data)[:max_bytes], None

    def exists(self, path):
        return self._lookup(path)[0] or any(p.startswith(path.rstrip("/") + "/") for p in self.files)

    def isdir(self, path):
        return any(p.startswith(path.rstrip("/") + "/") for p in self.files)

    def listdir(self, path):
        if path == "/proc":
            return sorted({p.split("/")[2] for p in self.files if p.startswith("/proc/") and p.count("/") >= 3})
        pre = path.rstrip("/") + "/"
        names = {p[len(pre):].split("/")[0] for p in self.files if p.startswith(pre)}
        if not names and path.startswith(self.root_ok) and os.path.isdir(path):
            return sorted(os.listdir(path))
        return sorted(names)
