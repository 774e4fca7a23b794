"""Chapter 5's computed sentence on TSAM's spreads (linkpaper.chapters.tsam_cmim_reading), on
fabricated per-epoch series whose last values are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkpaper.chapters import tsam_cmim_reading as reading
from linkpaper.errors import UserError


def _series(values: dict) -> pd.DataFrame:
    """An epoch_series-like frame from {(variant, seed): [value per epoch]}."""
    frame = pd.DataFrame({key: pd.Series(v, index=range(1, len(v) + 1)) for key, v in values.items()})
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["variant", "seed"])
    frame.index.name = "epoch"
    return frame


def test_spread_reading_over_several_runs_reads_each_last_logged_epoch():
    series = {
        "tsam_a_temporal_std": _series({("+T", 87): [0.2, 0.1054], ("link", 88): [0.2, 0.0631]}),
        "tsam_v_temporal_std": _series({("+T", 87): [0.2, 0.1315], ("link", 88): [0.12, np.nan]}),
        "tsam_a_spatial_std": _series({("+T", 87): [0.001, 0.0028], ("link", 88): [0.001, 0.0039]}),
        "tsam_v_spatial_std": _series({("+T", 87): [0.001, 0.0043], ("link", 88): [0.001, 0.0030]}),
    }
    assert reading.spread_reading(series) == (
        "At the last logged epoch of these 2 runs, the temporal weights W spread by 0.06 to 0.13 "
        "(standard deviation within a batch, audio and visual), the channel weights S by at most "
        "0.0043: their curves lie on the axis (S rescales every channel alike)."
    )


def test_spread_reading_with_one_run_and_spread_channel_weights():
    series = {
        "tsam_a_temporal_std": _series({("link", 87): [0.1]}),
        "tsam_v_temporal_std": _series({("link", 87): [0.1]}),
        "tsam_a_spatial_std": _series({("link", 87): [0.05]}),
    }
    assert reading.spread_reading(series) == (
        "At the last logged epoch of the one run, the temporal weights W spread by 0.10 "
        "(standard deviation within a batch, audio and visual), the channel weights S by at most "
        "0.0500: S weights some channels differently from others."
    )


def test_spread_reading_without_channel_weights_or_without_anything():
    series = {"tsam_a_temporal_std": _series({("link", 87): [0.1]})}
    assert reading.spread_reading(series).endswith("; no run records the spread of the channel weights S.")
    with pytest.raises(UserError, match="temporal weights"):
        reading.spread_reading({})
