"""Chapter 5's computed sentence on the grid records: how far TSAM's weights spread within a
batch at the last logged epoch, read from the records so that it holds for any set of runs.

:func:`spread_reading` takes the per-epoch spreads ``probe.epoch_series`` returns.
"""

from __future__ import annotations

import numpy as np

from linkpaper.errors import UserError

TEMPORAL = ("tsam_a_temporal_std", "tsam_v_temporal_std")
SPATIAL = ("tsam_a_spatial_std", "tsam_v_spatial_std")
ON_THE_AXIS = 0.01
"""A spread below this (2 % of the figure's 0-0.5 axis) draws as a curve on the axis."""


def _last_values(series: dict, keys) -> np.ndarray:
    """The last logged value of every run (column) of ``series[key]`` for the ``keys`` present."""
    values = [
        series[key][column].dropna().iloc[-1]
        for key in keys
        if key in series
        for column in series[key].columns
        if series[key][column].notna().any()
    ]
    return np.asarray(values, dtype=float)


def _range(values: np.ndarray, digits: int) -> str:
    low, high = float(values.min()), float(values.max())
    if round(low, digits) == round(high, digits):
        return f"by {low:.{digits}f}"
    return f"by {low:.{digits}f} to {high:.{digits}f}"


def spread_reading(series: dict) -> str:
    """Markdown: the within-batch standard deviation of TSAM's temporal weights W (audio and
    visual) and the largest one of its channel weights S, each run's last logged epoch.

    series: {diagnostics key: ``probe.epoch_series`` frame (index epoch, columns (variant,
    seed))} with the keys of :data:`TEMPORAL` and :data:`SPATIAL`. Raises UserError when no run
    records W's spread."""
    temporal, spatial = _last_values(series, TEMPORAL), _last_values(series, SPATIAL)
    if not temporal.size:
        raise UserError("no run records the spread of TSAM's temporal weights")
    runs = max(len(series[key].columns) for key in TEMPORAL if key in series)
    text = (
        f"At the last logged epoch of {'the one run' if runs == 1 else f'these {runs} runs'}, the "
        f"temporal weights W spread {_range(temporal, 2)} (standard deviation within a batch, audio "
        "and visual)"
    )
    if not spatial.size:
        return text + "; no run records the spread of the channel weights S."
    largest = float(spatial.max())
    text += f", the channel weights S by at most {largest:.4f}"
    if largest < ON_THE_AXIS:
        return text + ": their curves lie on the axis (S rescales every channel alike)."
    return text + ": S weights some channels differently from others."
