"""Plotting and table helpers for the book's notebooks (presentation only, no statistics).

Every number is computed elsewhere (``linkpaper.data.stats``, ``linkpaper.evaluation.metrics``,
``linkpaper.data.synth``); these helpers only turn results into matplotlib figures and pandas
tables. Every function takes a ``source`` string that ends up in the title or caption, so no
figure or table is shown without the data that produced it (e.g. ``"LLP val+test annotations
(real)"`` or ``"SynthLLP small, seed 0 (synthetic)"``).

Timelines are (T, C) or (N, T, C) bool arrays with T = 10 one-second segments and the C = 25
classes in ``linkpaper.classes.CLASSES`` order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from linkpaper.classes import CLASSES, NUM_SEGMENTS

# The book's one style: seaborn's "whitegrid" theme with its colour-blind-safe palette
# (Okabe-Ito-like: blue, orange, green, vermilion, ...). Set once, by ``book_style()``, the
# first time any helper of viz / modelviz / the analyses makes a figure.
PALETTE = "colorblind"
PALETTE_HEX = (
    "#0173b2",
    "#de8f05",
    "#029e73",
    "#d55e00",
    "#cc78bc",
    "#ca9161",
    "#fbafe4",
    "#949494",
    "#ece133",
    "#56b4e9",
)  # seaborn "colorblind"
MODALITY_COLORS = {"audio": PALETTE_HEX[0], "visual": PALETTE_HEX[1], "av": PALETTE_HEX[2], "neither": PALETTE_HEX[7]}
DEMO_VIDEO = "BjCEufrlXm4"
_DESCRIPTION = "_linkpaper_description"
_styled = False


def book_style() -> None:
    """Apply the book's figure style once (seaborn theme, colour-blind palette, sizes), and
    make every figure shown in a notebook carry its alt text and caption (see
    :func:`describe`). Called by every figure helper; idempotent."""
    global _styled
    if not _styled:
        import seaborn as sns

        sns.set_theme(
            context="notebook",
            style="whitegrid",
            palette=PALETTE,
            font_scale=0.85,
            rc={
                "figure.dpi": 100,
                "axes.titlesize": 9,
                "figure.titlesize": 10,
                "legend.frameon": False,
                "image.cmap": "viridis",
            },
        )
        _styled = True
    _install_figure_formatter()


def pyplot():
    """``matplotlib.pyplot`` with the book's style applied (every book helper draws through it)."""
    import matplotlib.pyplot as plt

    book_style()
    return plt


def titled(text: str, source: str) -> str:
    """A title that names its data: ``"text\\n[source]"``."""
    return f"{text}\n[{source}]"


def describe(fig, what: str, source: str, title: str = ""):
    """Attach alt text and a caption to ``fig`` and return it.

    ``what`` says what the figure shows (e.g. "Grouped bars of the share of clips carrying
    each class's weak label, per split"), ``source`` which data produced it. In a notebook the
    figure's PNG output then carries ``{"alt", "caption"}`` as output metadata, which the book
    renders as the image's alt text and a caption (``linkpaper.chapters.bookext``).
    """
    text = title or _suptitle(fig).split("\n[")[0]
    caption = f"{text}. Data: {source}." if text else f"Data: {source}."
    setattr(fig, _DESCRIPTION, {"alt": f"{what}. Data: {source}.", "caption": caption})
    return fig


def figure_description(fig) -> dict:
    """``{"alt", "caption"}`` of a figure: set by :func:`describe`, or else read from its title
    (``titled`` puts the data in brackets on the second line) and its panels' titles."""
    stored = getattr(fig, _DESCRIPTION, None)
    if stored:
        return dict(stored)
    title = _suptitle(fig)
    panels = [ax.get_title() for ax in fig.axes if ax.get_title()]
    if not title and len(panels) == 1:
        title, panels = panels[0], []
    head, _, source = title.partition("\n[")
    source = source.rstrip("]")
    what = f"Figure: {head or 'untitled'}" + (f"; panels: {'; '.join(panels)}" if panels else "")
    return {
        "alt": what + (f". Data: {source}." if source else "."),
        "caption": (head or "Figure") + (f". Data: {source}." if source else "."),
    }


def _suptitle(fig) -> str:
    suptitle = getattr(fig, "_suptitle", None)
    return suptitle.get_text() if suptitle is not None else ""


def palette_png(data: bytes, colors: int = 256) -> bytes:
    """``data`` (PNG bytes) re-encoded with a palette of ``colors`` colours, when that is
    smaller: a plot's flat colours, anti-aliased edges and colour bars fit 256 colours with
    every pixel within a few levels of the original, and its PNG shrinks about threefold (the
    committed notebooks stay small). Images
    with transparent pixels, or whose palette version is not smaller, are returned unchanged.
    Deterministic: the same figure gives the same bytes."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.mode not in ("RGB", "RGBA"):
        return data
    if image.mode == "RGBA":
        if image.getchannel("A").getextrema()[0] < 255:  # transparency: keep it as it is
            return data
        image = image.convert("RGB")
    # maximum coverage keeps every colour within a few levels (median cut merged colour-bar
    # gradients into visibly wrong hues); no dithering, so flat areas stay flat
    quantised = image.quantize(colors=colors, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    quantised.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue() if buffer.tell() < len(data) else data


def _install_figure_formatter() -> None:
    """In IPython, wrap the PNG formatter of matplotlib figures so each figure's output has
    ``figure_description(fig)`` as its metadata. Outside IPython, or before the inline
    backend registered its formatter, nothing happens (the next helper call tries again)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    plt.get_backend()  # resolves the backend: the inline backend registers its formatter
    try:
        from matplotlib import pyplot as _pyplot

        _pyplot._get_backend_mod()
    except Exception:  # pragma: no cover - private API; the formatter may exist anyway
        pass
    formatter = shell.display_formatter.formatters.get("image/png")
    if formatter is None:
        return
    try:
        current = formatter.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(current, "_linkpaper", False):
        return

    def png_with_description(fig, _inner=current):
        data = _inner(fig)  # PNG bytes, or (IPython 8+) their base64 text
        if data is None:
            return None
        if isinstance(data, str):
            import base64

            data = base64.b64encode(palette_png(base64.b64decode(data))).decode("ascii")
        else:
            data = palette_png(data)
        return data, figure_description(fig)

    png_with_description._linkpaper = True
    formatter.for_type(Figure, png_with_description)


def class_frequency_figure(counts: dict[str, np.ndarray], sizes: dict[str, int], source: str):
    """Grouped bars: for each class the share of clips of each split that carry its weak label.

    counts: split name -> (C,) label counts; sizes: split name -> number of clips.
    """
    import pandas as pd
    import seaborn as sns

    plt = pyplot()
    rows = [
        {
            "class": name,
            "split": f"{split} ({sizes[split]:,} clips)",
            "share": 100 * float(value) / max(sizes[split], 1),
        }
        for split, values in counts.items()
        for name, value in zip(CLASSES, values)
    ]
    fig, ax = plt.subplots(figsize=(11, 4))
    sns.barplot(pd.DataFrame(rows), x="class", y="share", hue="split", ax=ax, saturation=1)
    ax.tick_params(axis="x", rotation=60, labelsize=8)
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    ax.set_xlabel("")
    ax.set_ylabel("% of clips with the weak label")
    ax.set_title(titled("Weak-label frequency per class", source))
    ax.legend(frameon=False, title=None)
    fig.tight_layout()
    return describe(
        fig,
        "Grouped bars: for each of the 25 classes, the percentage of clips of each split "
        f"({', '.join(counts)}) that carry its weak label",
        source,
    )


def modality_share_figure(shares_per_class: list[list[float]], source: str, overall: list[float] | None = None):
    """Stacked horizontal bars per class: share of active (segment, class) cells that are
    audio only / visual only / audio-visual (``label_statistics()["seg_cell_shares_per_class"]``)."""
    plt = pyplot()
    shares = np.asarray(shares_per_class, dtype=float)
    names = list(CLASSES)
    if overall is not None:
        shares = np.vstack([np.asarray(overall, dtype=float)[None], shares])
        names = ["ALL CLASSES"] + names
    fig, ax = plt.subplots(figsize=(8, 7))
    y = np.arange(len(names))[::-1]
    left = np.zeros(len(names))
    for k, (label, color) in enumerate(
        (
            ("audio only", MODALITY_COLORS["audio"]),
            ("visual only", MODALITY_COLORS["visual"]),
            ("audio and visual", MODALITY_COLORS["av"]),
        )
    ):
        ax.barh(y, shares[:, k], left=left, color=color, label=label)
        left += shares[:, k]
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of active (segment, class) cells")
    ax.set_title(titled("Where is each class: heard, seen or both?", source))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    return describe(
        fig,
        "Stacked horizontal bars, one per class: the share of its active (segment, class) "
        "cells that are audio only, visual only, or audio and visual",
        source,
    )


def duration_figure(stats: dict[str, dict], source: str):
    """Event-duration histograms (1..10 s) per modality; ``stats``: name -> ``label_statistics``
    dict (several names are drawn side by side as normalised frequencies)."""
    import pandas as pd
    import seaborn as sns

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
    seconds = np.arange(1, NUM_SEGMENTS + 1)
    for ax, modality in zip(axes, ("audio", "visual", "av")):
        rows = pd.DataFrame(
            [
                {"duration (s)": int(t), "events": float(n), "data": name}
                for name, s in stats.items()
                for t, n in zip(seconds, s["duration_hist"][modality])
            ]
        )
        sns.histplot(
            rows,
            x="duration (s)",
            weights="events",
            hue="data",
            discrete=True,
            stat="proportion",
            common_norm=False,
            multiple="dodge",
            shrink=0.85,
            ax=ax,
            legend=len(stats) > 1,
        )
        means = ", ".join(f"{s['mean_duration'][modality]:.2f}" for s in stats.values())
        ax.set_title(f"{modality} events (mean {means} s)", fontsize=9)
        ax.set_xticks(seconds)
        legend = ax.get_legend()
        if legend is not None and ax is not axes[0]:
            legend.remove()
    axes[0].set_ylabel("share of events")
    fig.suptitle(titled("Event durations (maximal runs of one class)", source), fontsize=10)
    fig.tight_layout()
    return describe(
        fig,
        "Three histograms (audio, visual, audio-visual events) of event durations from 1 to "
        f"10 s, as the share of events of each length{' per data set' if len(stats) > 1 else ''}",
        source,
    )


def comparison_frame(columns: dict[str, dict]):
    """A pandas table of ``stats.COMPARISON_ROWS``: one row per statistic, one column per
    ``label_statistics`` dict (e.g. real LLP vs SynthLLP)."""
    import pandas as pd

    from linkpaper.data.stats import COMPARISON_ROWS, stat_value

    rows = {"videos": [float(s["n_videos"]) for s in columns.values()]}
    for title, key in COMPARISON_ROWS:
        rows[title] = [stat_value(s, key) for s in columns.values()]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(columns))
    frame.index.name = "statistic"
    return frame.round(4)


def demo_frame_paths(data_dir=None, video: str = DEMO_VIDEO) -> list[Path]:
    """The public demo frames of one LLP clip (``<data>/llp/demo_frames/<video>/*.jpg``), sorted.

    Raises ``MissingDataError`` naming the folder when they are absent.
    """
    from linkpaper.data.files import MissingDataError, resolve_data_dir

    folder = resolve_data_dir(data_dir) / "llp" / "demo_frames" / video
    paths = sorted(folder.glob("*.jpg"))
    if not paths:
        raise MissingDataError(
            f"no demo frames in {folder}: copy the AVVP-ECCV20 frames data/LLP_dataset/frame/{video}/*.jpg "
            f"there (https://github.com/YapengTian/AVVP-ECCV20/tree/master/data/LLP_dataset/frame/{video})"
        )
    return paths


def frames_figure(paths: list[Path], labels: list[str], source: str, per_row: int = 5, count: int = 10):
    """``count`` frames spread evenly over the clip (one per one-second segment for 10), with
    the clip's weak labels in the title."""
    from PIL import Image

    plt = pyplot()
    pick = np.linspace(0, len(paths) - 1, count * 2 + 1)[1::2].round().astype(int)  # segment centres
    rows = int(np.ceil(count / per_row))
    fig, axes = plt.subplots(rows, per_row, figsize=(2.4 * per_row, 2.0 * rows + 0.6))
    for k, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if k < len(pick):
            with Image.open(paths[pick[k]]) as image:
                ax.imshow(np.asarray(image))
            ax.set_title(f"segment {k} ({paths[pick[k]].stem})", fontsize=8)
    fig.suptitle(titled(f"Weak labels: {', '.join(labels)}", source), fontsize=10)
    fig.tight_layout()
    return describe(
        fig,
        f"{len(pick)} frames of one video, one from the middle of each one-second segment; "
        f"the video's weak labels are {', '.join(labels)}",
        source,
    )


def timeline_figure(rows: dict[str, np.ndarray], source: str, classes: list[int] | None = None, title: str = ""):
    """Segment timelines of one video: ``rows`` maps a row name (e.g. "GT audio", "pred
    visual") to a (T, C) bool array; one panel per class in ``classes`` (default: every class
    active in any row), one line per row, filled where the class is active."""
    plt = pyplot()
    arrays = {name: np.asarray(a, dtype=bool) for name, a in rows.items()}
    if classes is None:
        active = np.zeros(len(CLASSES), dtype=bool)
        for a in arrays.values():
            active |= a.any(axis=0)
        classes = np.nonzero(active)[0].tolist() or [0]
    fig, axes = plt.subplots(len(classes), 1, figsize=(8, 0.35 * len(arrays) * len(classes) + 1.0), squeeze=False)
    for ax, c in zip(axes[:, 0], classes):
        for r, (name, a) in enumerate(arrays.items()):
            color = next((col for key, col in MODALITY_COLORS.items() if key in name.lower()), "#555555")
            for t in np.nonzero(a[:, c])[0]:
                ax.add_patch(plt.Rectangle((t, len(arrays) - 1 - r + 0.1), 1, 0.8, color=color))
        ax.set_xlim(0, NUM_SEGMENTS)
        ax.set_ylim(0, len(arrays))
        ax.set_yticks(np.arange(len(arrays)) + 0.5, list(arrays)[::-1], fontsize=7)
        ax.set_xticks(range(NUM_SEGMENTS + 1))
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylabel(CLASSES[c], rotation=0, ha="right", va="center", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(titled(title or "Segment timelines", source), fontsize=10)
    fig.tight_layout()
    names = ", ".join(CLASSES[c] for c in classes)
    return describe(
        fig,
        f"Segment timelines of one video over 10 seconds: one panel per class ({names}), "
        f"one line per row ({', '.join(arrays)}), filled where the class is active",
        source,
        title=title or "Segment timelines",
    )


def disagreement_example(gt_audio: np.ndarray, gt_visual: np.ndarray) -> tuple[int, dict[str, list[int]]]:
    """The first video whose dense ground truth shows sound and picture disagreeing: a class
    heard but never seen, a class seen but never heard and a class both heard and seen.

    gt_audio, gt_visual: (N, T, C) bool timelines. Returns the video's index and its classes
    by kind: ``{"heard only": [...], "seen only": [...], "heard and seen": [...]}``. Raises
    ValueError when no video has all three kinds.
    """
    heard = np.asarray(gt_audio, dtype=bool).any(axis=1)  # (N, C)
    seen = np.asarray(gt_visual, dtype=bool).any(axis=1)
    kinds = {"heard only": heard & ~seen, "seen only": seen & ~heard, "heard and seen": heard & seen}
    found = np.nonzero(np.logical_and.reduce([k.any(axis=1) for k in kinds.values()]))[0]
    if not found.size:
        raise ValueError("disagreement_example: no video has a class heard only, one seen only and one in both")
    index = int(found[0])
    return index, {name: np.nonzero(k[index])[0].tolist() for name, k in kinds.items()}


def as_jpeg(fig, quality: int = 80, dpi: int = 100):
    """The figure as an inline JPEG (``IPython.display.Image``), closing it: photographs as PNG
    would make the committed notebook several times larger."""
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="jpeg", dpi=dpi, pil_kwargs={"quality": quality})
    pyplot().close(fig)
    return Image(data=buffer.getvalue(), format="jpeg", metadata=figure_description(fig))


def scores_frame(rows: dict, source: str, digits: int = 2):
    """A pandas table of AVVP scores: one row per entry of ``rows`` (name -> ``AVVPScores`` or
    a list of the ten scores in ``metrics.SCORE_COLUMNS`` order), columns (level, modality)
    with the paper's titles; ``source`` becomes the name of the row index."""
    import pandas as pd

    from linkpaper.evaluation.metrics import COLUMN_TITLES, SCORE_COLUMNS

    values = {name: (r.row() if hasattr(r, "row") else list(r)) for name, r in rows.items()}
    columns = pd.MultiIndex.from_tuples(
        [(f"{level}-level", COLUMN_TITLES[m]) for level, m in SCORE_COLUMNS], names=["level", "F (%)"]
    )
    frame = pd.DataFrame.from_dict(values, orient="index")
    frame.columns = columns
    frame.index.name = source
    return frame.round(digits)


def class_counts_frame(class_scores):
    """Per-class TP / FP / FN and F (%) of one ``metrics.ClassScores`` (e.g.
    ``scores.per_class["segment"]["audio"]``), for the classes the metric keeps (any prediction
    or ground truth in at least one video). For a single video these are that video's counts."""
    import pandas as pd

    keep = np.nonzero(np.asarray(class_scores.videos) > 0)[0]
    return pd.DataFrame(
        {
            "TP": class_scores.tp[keep],
            "FP": class_scores.fp[keep],
            "FN": class_scores.fn[keep],
            "F (%)": np.round(class_scores.f[keep], 2),
        },
        index=pd.Index([CLASSES[c] for c in keep], name="class (kept)"),
    )


def per_class_figure(scores, source: str, level: str = "segment", title: str = ""):
    """Per-class F (%) of one ``AVVPScores`` for audio, visual and audio-visual, as grouped
    bars (``scores.per_class[level][m].f``; NaN, a class never kept, is drawn as no bar)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 3.6))
    x = np.arange(len(CLASSES))
    for i, (m, key) in enumerate((("audio", "audio"), ("visual", "visual"), ("audio_visual", "av"))):
        ax.bar(
            x + (i - 1) * 0.27,
            np.nan_to_num(scores.per_class[level][m].f),
            0.27,
            color=MODALITY_COLORS[key],
            label=m.replace("_", "-"),
        )
    ax.set_xticks(x, CLASSES, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"{level}-level F (%)")
    ax.set_ylim(0, 118)
    ax.set_yticks(range(0, 101, 20))
    ax.legend(frameon=False, ncol=3, fontsize=8, loc="upper center")
    ax.set_title(titled(title or f"Per-class {level}-level F", source), fontsize=10)
    fig.tight_layout()
    return describe(
        fig,
        f"Grouped bars: the {level}-level F (%) of each of the 25 classes for audio, visual and "
        "audio-visual events (no bar: the class is never kept)",
        source,
        title=title or f"Per-class {level}-level F",
    )


def segment_class_heatmap(rows: dict[str, np.ndarray], source: str, title: str = "", classes: list[int] | None = None):
    """Side-by-side (T, C) heatmaps of one video, e.g. feature-prototype similarities next to
    ground truth; ``rows``: panel title -> (T, C) array; ``classes`` restricts the columns."""
    plt = pyplot()
    cols = list(range(len(CLASSES))) if classes is None else list(classes)
    fig, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows) + 1.0, 0.2 * len(cols) + 1.8), squeeze=False)
    for ax, (name, matrix) in zip(axes[0], rows.items()):
        values = np.asarray(matrix, dtype=float)[:, cols]
        image = ax.imshow(values.T, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_yticks(range(len(cols)), [CLASSES[c] for c in cols] if ax is axes[0, 0] else [], fontsize=7)
        ax.set_xticks(range(NUM_SEGMENTS))
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel("segment", fontsize=8)
        ax.set_title(name, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
    fig.suptitle(titled(title or "Segment x class", source), fontsize=10)
    fig.tight_layout()
    return describe(
        fig, f"Heatmaps, segment (x) by class (y), of: {'; '.join(rows)}", source, title=title or "Segment x class"
    )
