"""Figures for the model chapters (04-07): heatmap panels and curve panels.

Presentation only, like ``linkpaper.chapters.viz``: every number comes from the package (``probe``,
``losses``, ``models``, run records). Every function takes ``source``, which ends up in the
figure title, so no figure is shown without the data that produced it.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple

import numpy as np

from linkpaper.chapters.viz import describe, pyplot, titled


def _as_array(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def heatmaps_figure(
    panels: dict,
    source: str,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    xticks=None,
    yticks=None,
    cmap: str = "viridis",
    vmin=None,
    vmax=None,
    panel_size: tuple[float, float] = (3.2, 2.8),
    colorbar: bool = True,
):
    """One row of heatmaps: ``panels`` maps a panel title to a 2-D array (rows drawn top to
    bottom). ``xticks`` / ``yticks``: tick labels (a list) or None for numbers. ``vmin`` /
    ``vmax`` shared by all panels when given."""
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(panel_size[0] * len(panels) + 0.6, panel_size[1] + 0.9), squeeze=False
    )
    for ax, (name, values) in zip(axes[0], panels.items()):
        matrix = _as_array(values)
        image = ax.imshow(matrix, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        if ax is axes[0, 0]:
            ax.set_ylabel(ylabel, fontsize=8)
        if xticks is not None:
            ax.set_xticks(range(len(xticks)), xticks, fontsize=7, rotation=90 if len(xticks) > 12 else 0)
        if yticks is not None:
            ax.set_yticks(range(len(yticks)), yticks if ax is axes[0, 0] else [], fontsize=7)
        ax.tick_params(labelsize=7)
        if colorbar:
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    fig.suptitle(titled(title, source), fontsize=10)
    fig.tight_layout()
    axes_text = f" ({ylabel} by {xlabel})" if xlabel and ylabel else ""
    return describe(
        fig, f"Heatmap{'s' if len(panels) > 1 else ''}{axes_text} of: {'; '.join(panels)}", source, title=title
    )


def curves_figure(
    panels: dict,
    source: str,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    panel_size: tuple[float, float] = (4.0, 3.0),
    markers: bool = False,
    legend_cols: int = 1,
):
    """One row of line plots: ``panels`` maps a panel title to ``{curve label: (x, y)}`` or to a
    pandas DataFrame (index = x, one curve per column)."""
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(panel_size[0] * len(panels) + 0.4, panel_size[1] + 0.9), squeeze=False
    )
    for ax, (name, curves) in zip(axes[0], panels.items()):
        if hasattr(curves, "columns"):  # a DataFrame
            curves = {_label(column): (curves.index.to_numpy(), curves[column].to_numpy()) for column in curves.columns}
        colors = (
            plt.cm.tab20(np.linspace(0, 1, 20))[: len(curves)] if len(curves) > 10 else [None] * len(curves)
        )  # the book's colour-blind palette up to 10 curves
        for (label, (x, y)), color in zip(curves.items(), colors):
            ax.plot(_as_array(x), _as_array(y), marker="o" if markers else None, markersize=3, label=label, color=color)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel if ax is axes[0, 0] else "", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(curves) > 1:
            ax.legend(fontsize=7, frameon=False, ncol=legend_cols)
    fig.suptitle(titled(title, source), fontsize=10)
    fig.tight_layout()
    against = f" against {xlabel}" if xlabel else ""
    return describe(
        fig, f"Line plot{'s' if len(panels) > 1 else ''}{against}: {'; '.join(panels)}", source, title=title
    )


def _wrapped(source: str, fig) -> str:
    """``source`` broken into lines that fit the width of ``fig`` (11-point text)."""
    return "\n".join(textwrap.wrap(source, max(30, int(fig.get_figwidth() * 12))))


def _label(column) -> str:
    if isinstance(column, tuple):
        variant, seed = column[0], column[1]
        return f"{variant} seed {seed}"
    return str(column)


class Panel(NamedTuple):
    """One heatmap of :func:`panels_figure` with its own colour range: ``values`` (2-D),
    ``vmin`` / ``vmax`` the range the colours span (fixed by what the values can be, e.g.
    (-1, 1) for a cosine, (0, 1) for an IoU or a sigmoid weight, so a flat map looks flat),
    ``cmap`` (a diverging map such as ``"RdBu_r"`` puts its middle colour at the centre of
    the range) and ``label`` for the colour bar."""

    values: object
    vmin: float
    vmax: float
    cmap: str = "viridis"
    label: str = ""


def panels_figure(
    panels: dict,
    source: str,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    xticks=None,
    yticks=None,
    panel_size: tuple[float, float] = (3.2, 2.8),
    ncols: int | None = None,
):
    """One row of heatmaps, each with its own fixed colour range: ``panels`` maps a panel title
    to a :class:`Panel`. Unlike :func:`heatmaps_figure` (one range for all panels, or each
    panel scaled to its own extremes), the ranges are given, so values that are compared
    across figures or with what they could be keep their meaning. No grid lines over the cells.
    ``ncols``: panels per row (None: all in one row); with several rows the fonts are larger,
    for a figure shown at the width of the book's text column."""
    plt = pyplot()
    ncols = min(ncols or len(panels), len(panels))
    nrows = -(-len(panels) // ncols)
    big = nrows > 1
    title_size, label_size, tick_size = (11, 10, 9) if big else (9, 8, 7)
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(panel_size[0] * ncols + 0.6, panel_size[1] * nrows + 0.9), squeeze=False
    )
    for ax in grid.flat[len(panels) :]:
        ax.set_visible(False)
    axes = grid.flat[: len(panels)]
    ranges = []
    for index, (ax, (name, panel)) in enumerate(zip(axes, panels.items())):
        matrix = _as_array(panel.values)
        image = ax.imshow(
            matrix, aspect="auto", cmap=panel.cmap, vmin=panel.vmin, vmax=panel.vmax, interpolation="nearest"
        )
        ax.grid(False)
        first_column = index % ncols == 0
        ax.set_title(name, fontsize=title_size - 1)
        ax.set_xlabel(xlabel, fontsize=label_size)
        if first_column:
            ax.set_ylabel(ylabel, fontsize=label_size)
        if xticks is not None:
            ax.set_xticks(range(len(xticks)), xticks, fontsize=tick_size, rotation=90 if len(xticks) > 12 else 0)
        if yticks is not None:
            ax.set_yticks(range(len(yticks)), yticks if first_column else [], fontsize=tick_size)
        ax.tick_params(labelsize=tick_size)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        if panel.label:
            bar.set_label(panel.label, fontsize=tick_size)
        bar.ax.tick_params(labelsize=tick_size)
        ranges.append(f"{name} on [{panel.vmin:g}, {panel.vmax:g}]")
    fig.suptitle(titled(title, _wrapped(source, fig) if big else source), fontsize=title_size if big else 10)
    fig.tight_layout()
    axes_text = f" ({ylabel} by {xlabel})" if xlabel and ylabel else ""
    return describe(
        fig,
        f"Heatmap{'s' if len(panels) > 1 else ''}{axes_text}, colour ranges fixed: {'; '.join(ranges)}",
        source,
        title=title,
    )


def curves_grid(
    panels: dict,
    source: str,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    ncols: int = 2,
    panel_size: tuple[float, float] = (3.4, 2.7),
    markers: bool = False,
    legend_cols: int = 2,
    styles: dict | None = None,
):
    """Line plots in a grid of ``ncols`` columns, sized for the book's text column: fonts a
    reader can read at that width, and one legend under the grid (the curves of every panel
    share their labels and colours). ``panels`` as in :func:`curves_figure` (a panel title to
    ``{label: (x, y)}`` or a DataFrame); ``styles`` maps a curve label to extra keyword
    arguments of ``plot`` (e.g. ``{"budget": {"ls": "--", "color": "grey"}}``). Returns the
    figure; its axes are ``fig.axes`` in panel order."""
    plt = pyplot()
    styles = styles or {}
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(panel_size[0] * ncols + 0.4, panel_size[1] * nrows + 1.2), squeeze=False
    )
    for ax in grid.flat[len(panels) :]:
        ax.remove()
    colours = {}
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = {}
    for index, (ax, (name, curves)) in enumerate(zip(grid.flat, panels.items())):
        if hasattr(curves, "columns"):  # a DataFrame
            curves = {_label(c): (curves.index.to_numpy(), curves[c].to_numpy()) for c in curves.columns}
        for label, (x, y) in curves.items():
            style = {"color": colours.setdefault(label, palette[len(colours) % len(palette)]), **styles.get(label, {})}
            (line,) = ax.plot(
                _as_array(x), _as_array(y), marker="o" if markers else None, markersize=3, label=label, **style
            )
            handles.setdefault(label, line)
        ax.set_title(name, fontsize=11)
        ax.set_xlabel(xlabel, fontsize=10)
        ax.set_ylabel(ylabel if index % ncols == 0 else "", fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(titled(title, _wrapped(source, fig)), fontsize=11)
    rows = -(-len(handles) // legend_cols) if len(handles) > 1 else 0
    fig.tight_layout(rect=(0, (0.05 + 0.22 * rows) / fig.get_figheight(), 1, 1))
    if len(handles) > 1:
        fig.legend(
            list(handles.values()), list(handles), loc="lower center", ncol=legend_cols, fontsize=9, frameon=False
        )
    against = f" against {xlabel}" if xlabel else ""
    return describe(
        fig, f"Line plot{'s' if len(panels) > 1 else ''}{against}: {'; '.join(panels)}", source, title=title
    )
