"""Suite-wide pytest hooks and fixtures."""

from __future__ import annotations

import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
LAB_TESTS = REPO_ROOT / "tests" / "lab"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/lab/ with `lab`, so `-m "not lab"` never needs the lab."""
    for item in items:
        if LAB_TESTS in pathlib.Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    """The repository root (where ansible.cfg lives)."""
    return REPO_ROOT
