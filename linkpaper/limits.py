"""The ranges every count the commands take must lie in, checked before any work starts.

Outside these ranges something breaks late and badly (a seed of 2**32 is a numpy ValueError
after the data is generated; 10,000 torch threads hang, 100,000 crash the process), so each
value is refused up front with one line naming the flag and the allowed range.
"""

from __future__ import annotations

import os

from linkpaper.errors import ConfigError

MAX_SEED = 2**32 - 1
"""numpy's legacy seeding (``np.random.seed``) takes seeds in [0, 2**32)."""
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1_000_000
MAX_SEEDS = 1_000
"""``grid --seeds``: how many seeds one grid trains."""


def max_threads() -> int:
    """The most torch threads a run may ask for: 4x this machine's CPUs, at least 64 (more
    threads than cores only slows torch down; thousands hang or crash it)."""
    return max(64, 4 * (os.cpu_count() or 1))


def max_jobs() -> int:
    """The most ``--executor local`` workers at a time: one per CPU, at least 64 (never
    thousands of interpreters)."""
    return max(64, os.cpu_count() or 1)


def check_int(value, low: int, high: int, flag: str) -> int:
    """``value`` if it is an int in [low, high]; else a ConfigError naming ``flag`` and the range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{flag}: expected an integer from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{flag}: {value} is out of range; expected an integer from {low} to {high}")
    return value


def check_seed(value, flag: str = "--seed") -> int:
    """A seed in [0, 2**32 - 1] (what numpy, torch and SynthLLP all accept)."""
    return check_int(value, 0, MAX_SEED, flag)
