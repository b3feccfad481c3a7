"""pytest wiring for the gather unit tests; the helpers live in _gather_helpers.py."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _gather_helpers  # noqa: E402,F401  (puts the collection on sys.path)
