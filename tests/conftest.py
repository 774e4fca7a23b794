"""Shared fixtures and constants. The real LLP annotations come from $LINKPAPER_DATA (never from the repo).

The small model sizes every test uses are defined once, in ``helpers_sizes`` (a plain module, like
``helpers_layout``: ``from conftest import`` would find tests/extract/conftest.py first).
"""

from __future__ import annotations

import pytest

from linkpaper.data.files import resolve_data_dir


@pytest.fixture(scope="session")
def llp_data_dir():
    """The real LLP annotation folder ($LINKPAPER_DATA); tests that need it skip without it."""
    root = resolve_data_dir()
    if not (root / "llp" / "AVVP_eval_audio.csv").is_file():
        pytest.skip(f"LLP annotations not found under {root} (set LINKPAPER_DATA)")
    return root
