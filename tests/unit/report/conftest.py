"""The report renderers' unit tests: the collection on sys.path and the captured diagnose run."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
COLLECTIONS = str(REPO / "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

DEMO = REPO / "tests" / "fixtures" / "report" / "demo"


@pytest.fixture(scope="session")
def demo_report() -> dict:
    """report.json of a real diagnose run on the lab's demo scenario (tests/fixtures/report/NOTE.md)."""
    return json.loads((DEMO / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_facts() -> dict:
    """{host: ansible_facts.ikev2} of the same run."""
    return json.loads((DEMO / "facts.json").read_text(encoding="utf-8"))
