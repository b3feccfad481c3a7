"""Fixtures of the triage unit tests; shared constants and helpers live in _triage_helpers.py."""

from __future__ import annotations

import io
import json
import sys

import pytest

from _triage_helpers import cli  # noqa: F401  (puts the collection on sys.path first)


class CliResult(object):
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def run_cli(monkeypatch, capsys):
    def run(*argv, stdin=None):
        if stdin is not None:
            data = stdin if isinstance(stdin, bytes) else stdin.encode("utf-8")
            fake = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
            monkeypatch.setattr(sys, "stdin", fake)
        rc = cli.main(list(argv))
        cap = capsys.readouterr()
        return CliResult(rc, cap.out, cap.err)
    return run
