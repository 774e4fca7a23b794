"""The architecture at a glance: VALOR++ with LINK's modules and loss, as a block diagram.

The diagram is drawn from what ``linkpaper.models`` and ``linkpaper.losses`` compute, not from
the paper's Fig. 2: the order of the boxes is the order of ``LINK.forward``, and every choice
the paper leaves open is marked (vermilion, dashed, numbered) and explained in the figure's key
and on the book's decisions page (``book/decisions.md``).

    python -m linkpaper.book.architecture book/figures/architecture.svg

writes the committed SVG deterministically (fixed ``svg.hashsalt``, no date); a test
regenerates it and compares the bytes, so the committed file cannot go stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from linkpaper.book.viz import PALETTE_HEX, describe

WIDTH, HEIGHT = 11.6, 8.2  # inches; the axes span the figure in these units
AUDIO_Y, VISUAL_Y = 5.45, 3.55  # centres of the two streams
BOX_H = 0.95

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

MODULE_NAMES = ("TSAM", "CMIM", "PLSIM", "HAN encoder", "MMIL heads", "S-LOSS", "L_label",
                "CLAP", "CLIP", "R(2+1)D")
"""Names the figure must show (the tests check them)."""

DECISIONS = (
    ("Where the modules sit: between the input projections and the HAN encoder, in the order "
     "TSAM, CMIM, PLSIM (the paper's Fig. 2 shows them before prediction).",
     "decision-placement"),
    ("TSAM: the spatial map is CBAM's size-7 convolution; eq 3 weights each modality's own "
     "features.", "decision-tsam-spatial"),
    ("CMIM: attention across all segment pairs, scaled by 1/√H (eq 4 can be read as "
     "pairing segment t with itself).", "decision-cmim-pairs"),
    ("PLSIM: a segment's text embedding is the mean over its active classes; it reads the "
     "teachers' ungated labels.", "decision-plsim-mean"),
    ("S-LOSS: '+S' switches on L_label and the weighted similarity term together; s compares "
     "the encoder's outputs, all 10 x 10 pairs; λ is a weight (no gradient through s).",
     "decision-label-with-s"),
    ("Segment losses averaged over the 10 segments, as VALOR++ does (eq 8 writes a sum).",
     "decision-segment-losses"),
)
"""The numbered marks of the figure: (text of the key, anchor on the decisions page)."""


def _box(ax, x0, y0, w, h, title, detail="", colour=PRIOR, fontsize=8.6, title_colour=INK,
         fill=True):
    """A rounded box with a light tint of ``colour``, a bold title and detail lines under it."""
    from matplotlib.patches import FancyBboxPatch

    if fill:
        ax.add_patch(FancyBboxPatch((x0, y0), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                    facecolor=colour, alpha=0.16, edgecolor="none", zorder=1))
    ax.add_patch(FancyBboxPatch((x0, y0), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor="none", edgecolor=colour, linewidth=1.4, zorder=2))
    cx, cy = x0 + w / 2, y0 + h / 2
    if detail:
        lines = detail.count("\n") + 1
        top = cy + (lines * fontsize * 1.15 / 72 * 0.8 + fontsize / 72) / 2  # centre the block
        ax.text(cx, top, title, ha="center", va="top", fontsize=fontsize, fontweight="bold",
                color=title_colour, zorder=3)
        ax.text(cx, top - fontsize / 72 - 0.07, detail, ha="center", va="top",
                fontsize=fontsize - 1.4, color=INK, linespacing=1.15, zorder=3)
    elif title:
        ax.text(cx, cy, title, ha="center", va="center", fontsize=fontsize, fontweight="bold",
                color=title_colour, zorder=3)
    return (x0, y0, w, h)


def _arrow(ax, start, end, colour=INK, style="-|>", dotted=False, rad=0.0, lw=1.1):
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=9, color=colour,
                                 linewidth=lw, linestyle=(0, (1.5, 1.5)) if dotted else "solid",
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=1, shrinkB=1,
                                 zorder=4))


def _badge(ax, x, y, number):
    """A numbered vermilion disc: a choice the paper leaves open (the key explains it)."""
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), 0.13, facecolor=BOOK, edgecolor="white", linewidth=0.8,
                        zorder=6))
    ax.text(x, y - 0.005, str(number), ha="center", va="center", fontsize=7, color="white",
            fontweight="bold", zorder=7)


def _right(box, dy=0.0):
    x0, y0, w, h = box
    return (x0 + w, y0 + h / 2 + dy)


def _left(box, dy=0.0):
    x0, y0, w, h = box
    return (x0, y0 + h / 2 + dy)


def _top(box, dx=0.0):
    x0, y0, w, h = box
    return (x0 + w / 2 + dx, y0 + h)


def _bottom(box, dx=0.0):
    x0, y0, w, h = box
    return (x0 + w / 2 + dx, y0)


def _group(ax, x0, y0, w, h):
    """A dashed vermilion frame: a grouping that is this book's reading."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x0, y0), w, h, boxstyle="round,pad=0,rounding_size=0.12",
                                facecolor="none", edgecolor=BOOK, linewidth=1.3,
                                linestyle=(0, (4, 2)), zorder=0))


def _key_lines(width: int = 122) -> str:
    """The numbered key, wrapped with a hanging indent."""
    import textwrap

    lines = []
    for number, (text, _) in enumerate(DECISIONS, 1):
        lines += textwrap.wrap(text, width, initial_indent=f"{number}  ",
                               subsequent_indent="    ")
    return "\n".join(lines)


def _draw(fig) -> None:
    """Everything on one axes spanning ``fig``, in inch-like units."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, HEIGHT)
    ax.set_axis_off()
    a_lo, v_lo = AUDIO_Y - BOX_H / 2, VISUAL_Y - BOX_H / 2
    both_lo, both_h = v_lo, AUDIO_Y + BOX_H / 2 - v_lo

    ax.text(0.15, HEIGHT - 0.2, TITLE, ha="left", va="top", fontsize=11, fontweight="bold",
            color=INK)
    ax.text(0.15, HEIGHT - 0.52, "Left to right in the order of LINK.forward; each box names "
            "what it computes and the paper's equations.", ha="left", va="top", fontsize=8,
            color="#555555")
    ax.text(0.15, AUDIO_Y + BOX_H / 2 + 0.1, "audio stream", fontsize=8, color=AUDIO,
            fontweight="bold", va="bottom")
    ax.text(0.15, VISUAL_Y - BOX_H / 2 - 0.1, "visual stream", fontsize=8, color=VISUAL,
            fontweight="bold", va="top")

    # inputs (frozen feature extractors) and VALOR++'s projections
    clap = _box(ax, 0.15, a_lo, 1.7, BOX_H, "CLAP audio", "HTS-AT tokens\n64 x 768", LABELS,
                title_colour=AUDIO)
    clip = _box(ax, 0.15, VISUAL_Y + 0.03, 1.7, 0.44, "CLIP images  10 x 768", "", LABELS,
                fontsize=7.8, title_colour=VISUAL)
    r21d = _box(ax, 0.15, VISUAL_Y - 0.47, 1.7, 0.44, "R(2+1)D clips  10 x 512", "", LABELS,
                fontsize=7.8, title_colour=VISUAL)
    proj_a = _box(ax, 2.1, a_lo, 1.2, BOX_H, "fc_a", "pooled to\n10 segments")
    proj_v = _box(ax, 2.1, v_lo, 1.2, BOX_H, "fc_v, fc_st", "fused by\nfc_fusion")
    _arrow(ax, _right(clap), _left(proj_a))
    _arrow(ax, _right(clip), _left(proj_v, 0.2))
    _arrow(ax, _right(r21d), _left(proj_v, -0.2))

    # LINK's three modules, in the order of LINK.forward
    tsam_a, tsam_v = (_box(ax, 3.6, lo, 1.0, BOX_H, "TSAM", "segment and\nchannel weights\neqs 1-3",
                           LINK_NEW) for lo in (a_lo, v_lo))
    cmim = _box(ax, 4.9, both_lo, 1.05, both_h, "CMIM",
                "each stream\nattends to\nthe other,\nmixed by\nlearnt scalars\nα, β\n\neqs 4-6",
                LINK_NEW)
    plsim_a, plsim_v = (_box(ax, 6.25, lo, 1.05, BOX_H, "PLSIM", "scale and shift\nfrom text\n"
                             "eqs 13-17", LINK_NEW) for lo in (a_lo, v_lo))
    _arrow(ax, _right(proj_a), _left(tsam_a))
    _arrow(ax, _right(proj_v), _left(tsam_v))
    for y, tsam, plsim in ((AUDIO_Y, tsam_a, plsim_a), (VISUAL_Y, tsam_v, plsim_v)):
        _arrow(ax, _right(tsam), (cmim[0], y))
        _arrow(ax, (cmim[0] + cmim[2], y), _left(plsim))
    _group(ax, 3.5, both_lo - 0.12, 3.9, both_h + 0.24)
    ax.text(3.72, AUDIO_Y + BOX_H / 2 + 0.2, "where LINK's modules sit", fontsize=7.6,
            color=BOOK, ha="left", va="bottom", fontweight="bold")

    # class text embeddings of the pseudo labels, into PLSIM
    text_a = _box(ax, 5.65, 6.5, 2.25, 0.8, "class text embeddings",
                  "CLAP text of the classes in the\naudio teacher's ungated labels", LABELS,
                  fontsize=7.8)
    text_v = _box(ax, 5.65, 1.72, 2.25, 0.8, "class text embeddings",
                  "CLIP text of the classes in the\nvisual teacher's ungated labels", LABELS,
                  fontsize=7.8)
    _arrow(ax, _bottom(text_a, 0.1), _top(plsim_a, 0.1), LABELS, dotted=True)
    _arrow(ax, _top(text_v, 0.1), _bottom(plsim_v, 0.1), LABELS, dotted=True)

    # VALOR++'s encoder, heads and outputs
    han = _box(ax, 7.6, both_lo, 1.25, both_h, "HAN encoder",
               "4 hybrid-\nattention\nlayers:\nself- and\ncross-modal\nattention;\none set of\n"
               "weights for\nboth streams", fontsize=8.2)
    heads = _box(ax, 9.15, both_lo, 1.15, both_h, "MMIL heads",
                 "segment\nclassifier;\nattention\nover time\nand over\nmodality\npools to\n"
                 "the video", fontsize=8.2)
    for y, colour, name in ((AUDIO_Y, AUDIO, "h_a"), (VISUAL_Y, VISUAL, "h_v")):
        _arrow(ax, (plsim_a[0] + plsim_a[2], y), (han[0], y))
        _arrow(ax, (han[0] + han[2], y), (heads[0], y))
        ax.text(han[0] + han[2] + 0.15, y + 0.07, name, fontsize=7.5, color=colour,
                ha="center", va="bottom")
    seg = _box(ax, 10.45, AUDIO_Y + 0.25 - 0.44, 1.05, 0.88, "segments", "audio, visual\n10 x 25 each",
               fontsize=8)
    vid = _box(ax, 10.45, VISUAL_Y - 0.25 - 0.44, 1.05, 0.88, "video", "fused, audio,\nvisual: 25 each",
               fontsize=8)
    _arrow(ax, (heads[0] + heads[2], AUDIO_Y + 0.25), _left(seg))
    _arrow(ax, (heads[0] + heads[2], VISUAL_Y - 0.25), _left(vid))

    # losses: VALOR++'s three terms and S-LOSS
    l_seg = _box(ax, 9.15, 2.1, 1.15, 0.62, "L_a, L_v", "segments vs\ngated labels", PRIOR,
                 fontsize=7.8)
    l_video = _box(ax, 10.45, 2.1, 1.05, 0.62, "L_video", "video vs\nweak label", PRIOR,
                   fontsize=7.8)
    _arrow(ax, _bottom(heads), _top(l_seg), PRIOR, dotted=True)
    _arrow(ax, _bottom(vid), _top(l_video), PRIOR, dotted=True)
    _group(ax, 8.0, 0.15, 3.5, 1.75)
    ax.text(8.1, 1.84, "S-LOSS  ('+S')", fontsize=7.8, fontweight="bold", color=BOOK,
            ha="left", va="top")
    _box(ax, 8.1, 1.02, 3.3, 0.62, "L_label", "audio, visual video probabilities vs the max\n"
         "over segments of their gated labels, eq 10",
         BORROWED, fontsize=7.6)
    weight = _box(ax, 8.1, 0.24, 1.25, 0.7, "λ(s; μ)", "LINK's adaptive\nweight, eq 11",
                  LINK_NEW, fontsize=8)
    ax.text(9.45, 0.59, "×", fontsize=11, ha="center", va="center", color=INK)
    _box(ax, 9.55, 0.24, 1.85, 0.7, "(s − r)², eq 12", "prior work's L_avss\ns: cos(h_a[i], "
         "h_v[j]), r: IoU\nof their gated labels", BORROWED, fontsize=7.6)
    # S-LOSS reads the encoder's outputs (this book's reading)
    x_han = han[0] + han[2] / 2
    _arrow(ax, (x_han, both_lo), (x_han, 1.9), BOOK, dotted=True)
    ax.text(x_han - 0.07, both_lo - 0.35, "h_a, h_v", fontsize=7, color=BOOK, ha="right",
            va="center")

    # the numbered marks
    _badge(ax, 3.5, AUDIO_Y + BOX_H / 2 + 0.12 + 0.15, 1)
    _badge(ax, tsam_a[0] + tsam_a[2] - 0.05, a_lo + BOX_H - 0.05, 2)
    _badge(ax, cmim[0] + cmim[2] - 0.05, both_lo + both_h - 0.05, 3)
    _badge(ax, plsim_a[0] + plsim_a[2] - 0.05, a_lo + BOX_H - 0.05, 4)
    _badge(ax, text_a[0] + text_a[2] - 0.05, text_a[1] + text_a[3] - 0.05, 4)
    _badge(ax, 8.0 + 3.5 - 0.05, 1.85, 5)
    _badge(ax, l_seg[0] + l_seg[2] - 0.05, l_seg[1] + l_seg[3] - 0.05, 6)
    del weight

    # legend and key
    handles = [
        Patch(facecolor=PRIOR, alpha=0.35, edgecolor=PRIOR, label="VALOR++, unchanged"),
        Patch(facecolor=LINK_NEW, alpha=0.35, edgecolor=LINK_NEW, label="added by LINK"),
        Patch(facecolor=BORROWED, alpha=0.35, edgecolor=BORROWED,
              label="in LINK's loss, from the works it cites"),
        Patch(facecolor=LABELS, alpha=0.35, edgecolor=LABELS,
              label="frozen pretrained models: features, labels, text"),
        Line2D([], [], color=BOOK, linestyle=(0, (4, 2)), linewidth=1.4,
               label="this book's reading (numbered)"),
        Line2D([], [], color=INK, linewidth=1.1, label="features"),
        Line2D([], [], color=LABELS, linestyle=(0, (1.5, 1.5)), linewidth=1.1,
               label="class text into PLSIM"),
        Line2D([], [], color=PRIOR, linestyle=(0, (1.5, 1.5)), linewidth=1.1,
               label="into a loss"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.15 / WIDTH, 7.42 / HEIGHT),
              fontsize=7.2, frameon=False, ncol=1, handlelength=2.2, borderaxespad=0)
    ax.text(0.15, 1.55, "This book's readings (decisions page):", fontsize=7.2, color=BOOK,
            fontweight="bold", ha="left", va="top")
    ax.text(0.15, 1.33, _key_lines(), fontsize=6.6, ha="left", va="top", color=INK,
            linespacing=1.3)


def architecture_figure():
    """The block diagram of VALOR++ with LINK's modules and loss, as a matplotlib figure.

    Grey: VALOR++ (projections, HAN encoder, MMIL heads, its losses), unchanged; green: what
    LINK adds (TSAM, CMIM, PLSIM, the weight lambda(s; mu)); purple: what LINK's loss takes
    from the works it cites (L_label, the cosine-vs-IoU term); vermilion, dashed and
    numbered: this book's reading where the paper leaves a choice open (``DECISIONS``).
    """
    from linkpaper.book.viz import pyplot

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
        "vermilion marks are this book's decisions",
        SOURCE, title=TITLE)


def write_svg(path) -> Path:
    """Write the diagram to ``path`` as SVG, byte for byte the same on every run.

    The SVG's element ids are salted with a fixed string and it carries no date; the
    matplotlib settings are fixed for the duration of the call and restored afterwards.
    """
    import matplotlib

    from linkpaper.book.viz import pyplot

    plt = pyplot()
    path = Path(path)
    rc = {"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "path", "font.family": "sans-serif",
          "font.sans-serif": ["DejaVu Sans"], "axes.unicode_minus": True}
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
