"""linkpaper.chapters.modelviz: figures name their data and draw every panel."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests only; the notebooks never set a backend

import numpy as np
import pandas as pd
import pytest

from linkpaper.chapters.modelviz import curves_figure, heatmaps_figure


@pytest.fixture(autouse=True)
def _close():
    yield
    matplotlib.pyplot.close("all")


def test_heatmaps_figure_panels_and_source():
    fig = heatmaps_figure(
        {"a": np.eye(3), "b": np.ones((3, 4))},
        source="hand-made (illustrative)",
        title="maps",
        xticks=list("wxyz"),
        vmin=0,
        vmax=1,
    )
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 2
    assert np.array_equal(images[1].images[0].get_array(), np.ones((3, 4)))
    assert "hand-made (illustrative)" in fig._suptitle.get_text()


def test_curves_figure_accepts_dicts_and_frames():
    frame = pd.DataFrame({("+S", 87): [0.0, 0.1], ("+S", 88): [0.0, 0.2]}, index=[1, 2])
    fig = curves_figure({"dict": {"x": ([0, 1], [1, 2])}, "frame": frame}, source="src", title="t")
    assert [len(ax.lines) for ax in fig.axes] == [1, 2]
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["+S seed 87", "+S seed 88"]
    assert np.array_equal(fig.axes[1].lines[1].get_ydata(), [0.0, 0.2])


def test_curves_figure_keeps_many_curves_apart():
    curves = {f"c{i}": ([0, 1], [i, i]) for i in range(12)}
    fig = curves_figure({"many": curves}, source="src", title="t")
    colors = {tuple(line.get_color()) for line in fig.axes[0].lines}
    assert len(colors) == 12


def test_panels_figure_keeps_each_fixed_range():
    from linkpaper.chapters.modelviz import Panel, panels_figure

    flat = np.full((3, 3), 2.33)
    fig = panels_figure(
        {"lambda": Panel(flat, 1.0, np.e), "cos": Panel(-flat / 10, -1, 1, cmap="RdBu_r")},
        source="hand-made (illustrative)",
        title="fixed ranges",
    )
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert [im.get_clim() for im in images] == [(1.0, np.e), (-1, 1)]
    assert images[1].get_cmap().name == "RdBu_r"
    assert not any(line.get_visible() for line in fig.axes[0].get_xgridlines())
    assert "hand-made (illustrative)" in fig._suptitle.get_text()


def test_curves_grid_and_panels_in_rows_fit_the_text_column():
    import numpy as np

    from linkpaper.chapters.modelviz import Panel, curves_grid, panels_figure

    curves = {"a": ([0, 1], [0, 1]), "b": ([0, 1], [1, 0])}
    fig = curves_grid({"one": curves, "two": curves, "three": curves}, source="toy " * 40, title="t", xlabel="epoch")
    assert len(fig.axes) == 3 and fig.get_figwidth() < 7.5
    assert len(fig.legends) == 1 and fig._suptitle.get_text().count("\n") >= 2
    panel = Panel(np.zeros((2, 2)), 0, 1)
    fig = panels_figure({str(i): panel for i in range(4)}, source="toy", title="t", ncols=2)
    assert sum(ax.get_visible() for ax in fig.axes) == 8  # four heatmaps, four colour bars
