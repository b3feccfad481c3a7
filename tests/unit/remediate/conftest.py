"""The collection on sys.path for the remediation unit tests (audit log, approval policy)."""

from __future__ import annotations

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[3]
COLLECTIONS = str(REPO / "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
