"""The architecture at a glance: VALOR++ with LINK's modules and loss, as a block diagram.

The diagram is drawn from what ``linkpaper.models`` and ``linkpaper.losses`` compute, not from
the paper's Fig. 2: the order of the boxes is the order of ``LINK.forward``, and every choice
the paper leaves open is marked (vermilion, dashed, numbered) and explained in the list under the
figure (``key_lines``; the intro writes it out) and on the book's decisions page
(``book/decisions.md``). Every text is at least ``MIN_FONT`` points, readable at the book's
672 px column width.

    python -m linkpaper.chapters.architecture book/figures/architecture.svg

writes the committed SVG deterministically (fixed ``svg.hashsalt``, no date); a test
regenerates it and compares the bytes, so the committed file cannot go stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from linkpaper.chapters.viz import PALETTE_HEX, describe

WIDTH, HEIGHT = 7.6, 16.6  # inches; the axes span the figure in these units
AUDIO_X, VISUAL_X = 2.6, 5.0  # centres of the two streams (the flow runs top to bottom)
COLUMN_W = 1.9  # width of a box of one stream

# Colours: the book's colour-blind palette (seaborn "colorblind", Okabe-Ito-like)
PRIOR = "#949494"  # VALOR++, kept unchanged
LINK_NEW = PALETTE_HEX[2]  # green: what LINK adds
BORROWED = PALETTE_HEX[4]  # reddish purple: what LINK's loss takes from the works it cites
LABELS = PALETTE_HEX[5]  # brown: teachers, pseudo labels, text embeddings
BOOK = PALETTE_HEX[3]  # vermilion: this book's reading where the paper is open
AUDIO, VISUAL = PALETTE_HEX[0], PALETTE_HEX[1]  # the book's modality colours
INK = "#222222"

SVG_HASHSALT = "linkpaper-architecture"
SOURCE = "diagram of the code (linkpaper.models, linkpaper.losses), no data"
TITLE = "VALOR++ with LINK's modules and loss, as linkpaper builds them"

MODULE_NAMES = ("TSAM", "CMIM", "PLSIM", "HAN encoder", "MMIL heads", "S-LOSS", "L_label", "CLAP", "CLIP", "R(2+1)D")
"""Names the figure must show (the tests check them)."""

DECISIONS = (
    (
        "Where the modules sit: between the input projections and the HAN encoder, in the order "
        "TSAM, CMIM, PLSIM (the paper's Fig. 2 shows them before prediction).",
        "decision-placement",
    ),
    (
        "TSAM: the spatial map is CBAM's size-7 convolution; eq 3 weights each modality's own features.",
        "decision-tsam-spatial",
    ),
    (
        "CMIM: attention across all segment pairs, scaled by 1/√H (eq 4 can be read as pairing segment t with itself).",
        "decision-cmim-pairs",
    ),
    (
        "PLSIM: a segment's text embedding is the mean over its active classes; it reads the teachers' ungated labels.",
        "decision-plsim-mean",
    ),
    (
        "S-LOSS: '+S' switches on L_label and the weighted similarity term together; s compares "
        "the encoder's outputs, all 10 x 10 pairs; λ is a weight (no gradient through s).",
        "decision-label-with-s",
    ),
    ("Segment losses averaged over the 10 segments, as VALOR++ does (eq 8 writes a sum).", "decision-segment-losses"),
)
"""The numbered marks of the figure: (text of the key, anchor on the decisions page)."""


MIN_FONT = 9.5
"""The smallest font size (points) in the figure: shown 672 px wide, 9.5 pt is about 11.7 px."""


def _box(ax, x0, y0, w, h, title, detail="", colour=PRIOR, fontsize=10.5, title_colour=INK):
    """A rounded box with a light tint of ``colour``, a bold title and detail lines under it."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=colour,
            alpha=0.16,
            edgecolor="none",
            zorder=1,
        )
    )
    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor="none",
            edgecolor=colour,
            linewidth=1.4,
            zorder=2,
        )
    )
    cx, cy = x0 + w / 2, y0 + h / 2
    small = max(MIN_FONT, fontsize - 1.0)
    if detail:
        lines = detail.count("\n") + 1
        block = fontsize / 72 + 0.07 + lines * small * 1.2 / 72
        top = cy + block / 2  # centre title and detail together
        ax.text(
            cx, top, title, ha="center", va="top", fontsize=fontsize, fontweight="bold", color=title_colour, zorder=3
        )
        ax.text(
            cx,
            top - fontsize / 72 - 0.07,
            detail,
            ha="center",
            va="top",
            fontsize=small,
            color=INK,
            linespacing=1.2,
            zorder=3,
        )
    elif title:
        ax.text(
            cx, cy, title, ha="center", va="center", fontsize=fontsize, fontweight="bold", color=title_colour, zorder=3
        )
    return (x0, y0, w, h)


def _arrow(ax, start, end, colour=INK, dotted=False, lw=1.2):
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=11,
            color=colour,
            linewidth=lw,
            linestyle=(0, (1.5, 1.5)) if dotted else "solid",
            shrinkA=1,
            shrinkB=1,
            zorder=4,
        )
    )


def _badge(ax, x, y, number):
    """A numbered vermilion disc: a choice the paper leaves open (listed under the figure)."""
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), 0.17, facecolor=BOOK, edgecolor="white", linewidth=0.8, zorder=6))
    ax.text(
        x, y - 0.005, str(number), ha="center", va="center", fontsize=10.5, color="white", fontweight="bold", zorder=7
    )


def _right(box):
    x0, y0, w, h = box
    return (x0 + w, y0 + h / 2)


def _left(box):
    x0, y0, w, h = box
    return (x0, y0 + h / 2)


def _group(ax, x0, y0, w, h):
    """A dashed vermilion frame: a grouping that is this book's reading."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.12",
            facecolor="none",
            edgecolor=BOOK,
            linewidth=1.4,
            linestyle=(0, (4, 2)),
            zorder=0,
        )
    )


def key_lines() -> list[str]:
    """The numbered key (one line per mark), for a caption or a list under the figure."""
    return [f"{number}. {text}" for number, (text, _) in enumerate(DECISIONS, 1)]


def _pair(ax, top, h, title, detail, colour=PRIOR, fontsize=10.5):
    """One box per stream at the same height: (audio box, visual box)."""
    return tuple(
        _box(ax, x - COLUMN_W / 2, top - h, COLUMN_W, h, title, detail, colour, fontsize=fontsize)
        for x in (AUDIO_X, VISUAL_X)
    )


def _wide(ax, top, h, title, detail, colour=PRIOR, fontsize=10.5):
    """One box across both streams."""
    x0 = AUDIO_X - COLUMN_W / 2
    return _box(ax, x0, top - h, VISUAL_X + COLUMN_W / 2 - x0, h, title, detail, colour, fontsize=fontsize)


def _down(ax, upper, lower, x=None, colour=INK, dotted=False):
    """An arrow from the bottom of ``upper`` to the top of ``lower`` at ``x``."""
    ux, uy, _, _ = upper
    x = ux + upper[2] / 2 if x is None else x
    _arrow(ax, (x, uy), (x, lower[1] + lower[3]), colour, dotted=dotted)


def _draw(fig) -> None:
    """Everything on one axes spanning ``fig``, in inch-like units, flowing top to bottom."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, HEIGHT)
    ax.set_axis_off()
    left, right = AUDIO_X - COLUMN_W / 2, VISUAL_X + COLUMN_W / 2
    H = HEIGHT

    ax.text(0.15, H - 0.12, TITLE, ha="left", va="top", fontsize=12.5, fontweight="bold", color=INK)
    ax.text(
        0.15,
        H - 0.5,
        "Top to bottom in the order of LINK.forward.",
        ha="left",
        va="top",
        fontsize=MIN_FONT,
        color="#555555",
    )
    ax.text(AUDIO_X, H - 1.0, "audio stream", fontsize=10.5, color=AUDIO, fontweight="bold", ha="center", va="bottom")
    ax.text(
        VISUAL_X, H - 1.0, "visual stream", fontsize=10.5, color=VISUAL, fontweight="bold", ha="center", va="bottom"
    )

    # inputs (frozen pretrained models) and VALOR++'s projections
    top = H - 1.1
    clap = _box(ax, left, top - 0.8, COLUMN_W, 0.8, "CLAP audio", "HTS-AT tokens\n64 x 768", LABELS, title_colour=AUDIO)
    half = (COLUMN_W - 0.08) / 2
    clip = _box(ax, VISUAL_X - COLUMN_W / 2, top - 0.8, half, 0.8, "CLIP", "10 x 768", LABELS, title_colour=VISUAL)
    r21d = _box(ax, VISUAL_X + 0.04, top - 0.8, half, 0.8, "R(2+1)D", "10 x 512", LABELS, title_colour=VISUAL)
    top -= 0.8 + 0.35
    proj_a = _box(ax, left, top - 0.7, COLUMN_W, 0.7, "fc_a", "pool to 10 segments")
    proj_v = _box(ax, VISUAL_X - COLUMN_W / 2, top - 0.7, COLUMN_W, 0.7, "fc_v, fc_st", "fused by fc_fusion")
    _down(ax, clap, proj_a)
    _down(ax, clip, proj_v)
    _down(ax, r21d, proj_v)

    # LINK's three modules, in the order of LINK.forward
    top -= 0.7 + 0.5
    frame_top = top + 0.18
    tsam_a, tsam_v = _pair(ax, top, 0.82, "TSAM", "segment and channel\nweights, eqs 1-3", LINK_NEW)
    _down(ax, proj_a, tsam_a)
    _down(ax, proj_v, tsam_v)
    top -= 0.82 + 0.35
    cmim = _wide(
        ax, top, 0.82, "CMIM", "each stream attends to the other,\nmixed in by scalars α, β; eqs 4-6", LINK_NEW
    )
    _down(ax, tsam_a, cmim)
    _down(ax, tsam_v, cmim)
    top -= 0.82 + 0.35
    plsim_a, plsim_v = _pair(ax, top, 0.82, "PLSIM", "scale and shift from\nclass text, eqs 13-17", LINK_NEW)
    _down(ax, cmim, plsim_a, x=AUDIO_X)
    _down(ax, cmim, plsim_v, x=VISUAL_X)
    frame_bottom = plsim_a[1] - 0.18
    _group(ax, left - 0.14, frame_bottom, right - left + 0.28, frame_top - frame_bottom)
    ax.text(
        left - 0.3,
        frame_top - 0.05,
        "where\nLINK's\nmodules\nsit",
        fontsize=10,
        color=BOOK,
        fontweight="bold",
        ha="right",
        va="top",
        linespacing=1.15,
    )
    _badge(ax, left - 0.14, frame_top, 1)

    # class text embeddings of the teachers' ungated labels, into PLSIM
    text_h = 1.5
    text_y = plsim_a[1] + plsim_a[3] / 2 - text_h / 2
    text_a = _box(ax, 0.06, text_y, 1.36, text_h, "class text", "CLAP text\nof the audio\nteacher's\nlabels", LABELS)
    text_v = _box(
        ax, WIDTH - 1.42, text_y, 1.36, text_h, "class text", "CLIP text\nof the visual\nteacher's\nlabels", LABELS
    )
    _arrow(ax, _right(text_a), _left(plsim_a), LABELS, dotted=True, lw=2.0)
    _arrow(ax, _left(text_v), _right(plsim_v), LABELS, dotted=True, lw=2.0)

    # VALOR++'s encoder, heads and outputs
    top = frame_bottom - 0.35
    han = _wide(ax, top, 0.85, "HAN encoder", "4 layers of self- and cross-modal\nattention, shared by both streams")
    _down(ax, plsim_a, han)
    _down(ax, plsim_v, han)
    top -= 0.85 + 0.45
    heads = _wide(ax, top, 0.85, "MMIL heads", "segment classifier; attentive\npooling over time and modality")
    _down(ax, han, heads, x=AUDIO_X)
    _down(ax, han, heads, x=VISUAL_X)
    for x, colour, name in ((AUDIO_X, AUDIO, "h_a"), (VISUAL_X, VISUAL, "h_v")):
        ax.text(x + 0.1, han[1] - 0.22, name, fontsize=10, color=colour, ha="left", va="center")
    top -= 0.85 + 0.35
    seg = _box(ax, left, top - 0.72, COLUMN_W, 0.72, "segment predictions", "10 x 25 per stream", fontsize=10)
    vid = _box(
        ax,
        VISUAL_X - COLUMN_W / 2,
        top - 0.72,
        COLUMN_W,
        0.72,
        "video predictions",
        "25 per stream, fused",
        fontsize=10,
    )
    _down(ax, heads, seg, x=AUDIO_X)
    _down(ax, heads, vid, x=VISUAL_X)

    # losses: VALOR++'s terms, then S-LOSS
    top -= 0.72 + 0.35
    l_seg = _box(ax, left, top - 0.72, COLUMN_W, 0.72, "L_a, L_v", "vs gated labels")
    l_video = _box(ax, VISUAL_X - COLUMN_W / 2, top - 0.72, COLUMN_W, 0.72, "L_video", "vs weak label")
    _down(ax, seg, l_seg, colour=PRIOR, dotted=True)
    _down(ax, vid, l_video, colour=PRIOR, dotted=True)
    top -= 0.72 + 0.4
    group_h = 2.55
    _group(ax, left - 0.14, top - group_h, right - left + 0.28, group_h)
    ax.text(
        left - 0.02, top - 0.08, "S-LOSS  ('+S')", fontsize=10.5, fontweight="bold", color=BOOK, ha="left", va="top"
    )
    _badge(ax, right + 0.14, top, 5)
    _box(
        ax,
        left,
        top - 1.2,
        right - left,
        0.82,
        "L_label",
        "video probabilities vs\nvideo-level gated labels, eq 10",
        BORROWED,
    )
    weight = _box(ax, left, top - group_h + 0.1, 1.5, 1.15, "λ(s; μ)", "LINK's\nweight, eq 11", LINK_NEW)
    ax.text(left + 1.6, weight[1] + weight[3] / 2, "×", fontsize=13, ha="center", va="center", color=INK)
    _box(
        ax,
        left + 1.72,
        weight[1],
        right - left - 1.72,
        1.15,
        "(s − r)², eq 12",
        "prior work's L_avss\ns: cosine of h_a, h_v\nr: IoU of the labels",
        BORROWED,
    )
    # S-LOSS reads the encoder's outputs (this book's reading): down the right margin
    x_side = right + 0.5
    y_han = han[1] + han[3] / 2
    ax.plot(
        [right, x_side, x_side],
        [y_han, y_han, top - 0.3],
        color=BOOK,
        linewidth=1.2,
        linestyle=(0, (1.5, 1.5)),
        zorder=4,
    )
    _arrow(ax, (x_side, top - 0.3), (right, top - 0.3 - 0.001), BOOK, dotted=True)
    ax.text(x_side + 0.08, (y_han + top) / 2, "h_a, h_v", fontsize=10, color=BOOK, rotation=90, ha="left", va="center")

    # the other numbered marks
    _badge(ax, tsam_v[0] + tsam_v[2] - 0.05, tsam_v[1] + tsam_v[3] - 0.05, 2)
    _badge(ax, cmim[0] + cmim[2] - 0.05, cmim[1] + cmim[3] - 0.05, 3)
    _badge(ax, plsim_v[0] + plsim_v[2] - 0.05, plsim_v[1] + plsim_v[3] - 0.05, 4)
    _badge(ax, text_a[0] + text_a[2] - 0.05, text_a[1] + text_a[3] - 0.05, 4)
    _badge(ax, l_seg[0] + l_seg[2] - 0.05, l_seg[1] + l_seg[3] - 0.05, 6)
    del l_video

    # legend; the numbered key is listed under the figure (``key_lines``)
    handles = [
        Patch(facecolor=PRIOR, alpha=0.35, edgecolor=PRIOR, label="VALOR++, unchanged"),
        Patch(facecolor=LINK_NEW, alpha=0.35, edgecolor=LINK_NEW, label="added by LINK"),
        Patch(facecolor=BORROWED, alpha=0.35, edgecolor=BORROWED, label="from the works LINK cites"),
        Patch(facecolor=LABELS, alpha=0.35, edgecolor=LABELS, label="frozen pretrained models"),
        Line2D([], [], color=INK, linewidth=1.2, label="features"),
        Line2D([], [], color=LABELS, linestyle=(0, (1.5, 1.5)), linewidth=2.0, label="class text into PLSIM"),
        Line2D([], [], color=PRIOR, linestyle=(0, (1.5, 1.5)), linewidth=1.2, label="predictions into a loss"),
        Line2D([], [], color=BOOK, linestyle=(0, (1.5, 1.5)), linewidth=1.2, label="h_a, h_v into S-LOSS (mark 5)"),
        Line2D([], [], color=BOOK, linestyle=(0, (4, 2)), linewidth=1.4, label="grouping: this book's reading"),
    ]
    key_top = top - group_h - 0.25
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.1 / WIDTH, key_top / HEIGHT),
        fontsize=MIN_FONT,
        frameon=False,
        ncol=2,
        handlelength=2.2,
        columnspacing=1.2,
        borderaxespad=0,
    )
    ax.text(
        0.15,
        key_top - 1.3,
        "Numbered marks 1-6: this book's readings where the paper "
        "leaves a\nchoice open, listed under the figure and on the decisions page.",
        fontsize=MIN_FONT,
        color=BOOK,
        fontweight="bold",
        ha="left",
        va="top",
        linespacing=1.2,
    )


def architecture_figure():
    """The block diagram of VALOR++ with LINK's modules and loss, as a matplotlib figure.

    Grey: VALOR++ (projections, HAN encoder, MMIL heads, its losses), unchanged; green: what
    LINK adds (TSAM, CMIM, PLSIM, the weight lambda(s; mu)); purple: what LINK's loss takes
    from the works it cites (L_label, the cosine-vs-IoU term); vermilion, dashed and
    numbered: this book's reading where the paper leaves a choice open (``DECISIONS``).
    """
    from linkpaper.chapters.viz import pyplot

    plt = pyplot()
    fig = plt.figure(figsize=(WIDTH, HEIGHT))
    _draw(fig)
    fig.suptitle("")  # the title is drawn inside; the caption names the source
    return describe(
        fig,
        "Block diagram of VALOR++ with LINK's modules and loss: CLAP audio and CLIP plus "
        "R(2+1)D visual features, VALOR++'s projections, then per stream TSAM, the cross-modal "
        "CMIM, per stream PLSIM fed by the class text embeddings of the pseudo labels, "
        "VALOR++'s shared HAN encoder and attentive MMIL heads giving segment and video "
        "predictions; below, VALOR++'s video and segment losses and S-LOSS (L_label and the "
        "lambda-weighted similarity term on the encoder's segment features). Colours mark "
        "VALOR++, LINK's additions, what LINK borrows and the teachers; numbered dashed "
        "vermilion marks 1-6 are this book's decisions, listed under the figure",
        SOURCE,
        title=TITLE,
    )


def write_svg(path) -> Path:
    """Write the diagram to ``path`` as SVG, byte for byte the same on every run.

    The SVG's element ids are salted with a fixed string and it carries no date; the
    matplotlib settings are fixed for the duration of the call and restored afterwards.
    """
    import matplotlib

    from linkpaper.chapters.viz import pyplot

    plt = pyplot()
    path = Path(path)
    rc = {
        "svg.hashsalt": SVG_HASHSALT,
        "svg.fonttype": "path",
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "axes.unicode_minus": True,
    }
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(rc)
        fig = architecture_figure()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the book's architecture diagram (SVG).")
    parser.add_argument("out", type=Path, help="output file, e.g. book/figures/architecture.svg")
    args = parser.parse_args(argv)
    print(write_svg(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
