"""Figures for the model chapters (04-07): heatmap panels and curve panels.

Presentation only, like ``linkpaper.book.viz``: every number comes from the package (``probe``,
``losses``, ``models``, run records). Every function takes ``source``, which ends up in the
figure title, so no figure is shown without the data that produced it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from linkpaper.book.viz import describe, titled
from linkpaper.book.viz import pyplot


def _as_array(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def heatmaps_figure(panels: dict, source: str, title: str, xlabel: str = "", ylabel: str = "",
                    xticks=None, yticks=None, cmap: str = "viridis", vmin=None, vmax=None,
                    panel_size: tuple[float, float] = (3.2, 2.8), colorbar: bool = True):
    """One row of heatmaps: ``panels`` maps a panel title to a 2-D array (rows drawn top to
    bottom). ``xticks`` / ``yticks``: tick labels (a list) or None for numbers. ``vmin`` /
    ``vmax`` shared by all panels when given."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(panel_size[0] * len(panels) + 0.6, panel_size[1] + 0.9),
                             squeeze=False)
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
    return describe(fig, f"Heatmap{'s' if len(panels) > 1 else ''}{axes_text} of: {'; '.join(panels)}", source,
                    title=title)


def curves_figure(panels: dict, source: str, title: str, xlabel: str = "", ylabel: str = "",
                  panel_size: tuple[float, float] = (4.0, 3.0), markers: bool = False, legend_cols: int = 1):
    """One row of line plots: ``panels`` maps a panel title to ``{curve label: (x, y)}`` or to a
    pandas DataFrame (index = x, one curve per column)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(panel_size[0] * len(panels) + 0.4, panel_size[1] + 0.9),
                             squeeze=False)
    for ax, (name, curves) in zip(axes[0], panels.items()):
        if hasattr(curves, "columns"):  # a DataFrame
            curves = {_label(column): (curves.index.to_numpy(), curves[column].to_numpy()) for column in curves.columns}
        colors = (plt.cm.tab20(np.linspace(0, 1, 20))[: len(curves)] if len(curves) > 10
                  else [None] * len(curves))  # the book's colour-blind palette up to 10 curves
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
    return describe(fig, f"Line plot{'s' if len(panels) > 1 else ''}{against}: {'; '.join(panels)}", source,
                    title=title)


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


def panels_figure(panels: dict, source: str, title: str, xlabel: str = "", ylabel: str = "",
                  xticks=None, yticks=None, panel_size: tuple[float, float] = (3.2, 2.8)):
    """One row of heatmaps, each with its own fixed colour range: ``panels`` maps a panel title
    to a :class:`Panel`. Unlike :func:`heatmaps_figure` (one range for all panels, or each
    panel scaled to its own extremes), the ranges are given, so values that are compared
    across figures or with what they could be keep their meaning. No grid lines over the cells."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(panel_size[0] * len(panels) + 0.6, panel_size[1] + 0.9),
                             squeeze=False)
    ranges = []
    for ax, (name, panel) in zip(axes[0], panels.items()):
        matrix = _as_array(panel.values)
        image = ax.imshow(matrix, aspect="auto", cmap=panel.cmap, vmin=panel.vmin, vmax=panel.vmax,
                          interpolation="nearest")
        ax.grid(False)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        if ax is axes[0, 0]:
            ax.set_ylabel(ylabel, fontsize=8)
        if xticks is not None:
            ax.set_xticks(range(len(xticks)), xticks, fontsize=7, rotation=90 if len(xticks) > 12 else 0)
        if yticks is not None:
            ax.set_yticks(range(len(yticks)), yticks if ax is axes[0, 0] else [], fontsize=7)
        ax.tick_params(labelsize=7)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        if panel.label:
            bar.set_label(panel.label, fontsize=7)
        bar.ax.tick_params(labelsize=7)
        ranges.append(f"{name} on [{panel.vmin:g}, {panel.vmax:g}]")
    fig.suptitle(titled(title, source), fontsize=10)
    fig.tight_layout()
    axes_text = f" ({ylabel} by {xlabel})" if xlabel and ylabel else ""
    return describe(fig, f"Heatmap{'s' if len(panels) > 1 else ''}{axes_text}, colour ranges fixed: "
                         f"{'; '.join(ranges)}", source, title=title)
