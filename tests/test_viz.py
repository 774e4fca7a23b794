"""linkpaper.chapters.viz: tables carry the right numbers and labels, figures name their data."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pd = pytest.importorskip("pandas")

from linkpaper.chapters import viz
from linkpaper.classes import CLASSES, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.files import MissingDataError
from linkpaper.data.stats import COMPARISON_ROWS, label_statistics
from linkpaper.evaluation import metrics


def _video():
    gt_a = np.zeros((1, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    gt_v = np.zeros_like(gt_a)
    gt_a[0, 0:4, 0] = True
    gt_v[0, 2:10, 3] = True
    pred_a = gt_a.copy()
    pred_v = np.zeros_like(gt_a)
    pred_v[0, 2:5, 3] = pred_v[0, 7:10, 3] = True
    return pred_a, pred_v, gt_a, gt_v


def test_scores_frame_columns_and_values():
    scores = metrics.evaluate_predictions(*_video())
    frame = viz.scores_frame({"example": scores, "listed": list(range(10))}, source="unit test data")
    assert frame.index.name == "unit test data"
    assert list(frame.columns.get_level_values(0)) == ["segment-level"] * 5 + ["event-level"] * 5
    assert list(frame.columns.get_level_values(1))[:5] == ["Audio", "Visual", "Audio-visual", "Type@AV", "Event@AV"]
    assert frame.loc["example"].tolist() == pytest.approx([round(v, 2) for v in scores.row()])
    assert frame.loc["listed"].tolist() == list(range(10))


def test_class_counts_frame_lists_kept_classes_only():
    scores = metrics.evaluate_predictions(*_video())
    visual = viz.class_counts_frame(scores.per_class["segment"]["visual"])
    assert list(visual.index) == [CLASSES[3]]
    assert visual.loc[CLASSES[3], ["TP", "FP", "FN"]].tolist() == [6, 0, 2]
    assert visual.loc[CLASSES[3], "F (%)"] == pytest.approx(round(100 * 12 / 14, 2))
    audio = viz.class_counts_frame(scores.per_class["segment"]["audio"])
    assert audio.loc[CLASSES[0]].tolist() == [4, 0, 0, 100.0]


def test_comparison_frame_has_every_statistic():
    _, _, gt_a, gt_v = _video()
    weak = (gt_a.any(1) | gt_v.any(1)).astype(np.float32)
    stats = label_statistics(gt_a, gt_v, weak)
    frame = viz.comparison_frame({"a": stats, "b": stats})
    assert list(frame.index) == ["videos"] + [title for title, _ in COMPARISON_ROWS]
    assert frame.loc["videos"].tolist() == [1.0, 1.0]
    # one audio-only event (4 cells), one visual-only event (8 cells): no AV cell
    assert frame.loc["active cells: audio only", "a"] == pytest.approx(round(4 / 12, 4))
    assert frame.loc["active cells: audio-visual", "a"] == 0.0


def test_figures_name_their_source():
    pred_a, pred_v, gt_a, gt_v = _video()
    fig = viz.timeline_figure({"GT audio": gt_a[0], "pred visual": pred_v[0]}, source="SRC-1")
    assert "[SRC-1]" in fig._suptitle.get_text()
    assert len(fig.axes) == 2  # the two active classes
    scores = metrics.evaluate_predictions(pred_a, pred_v, gt_a, gt_v)
    fig = viz.per_class_figure(scores, source="SRC-2")
    assert "[SRC-2]" in fig.axes[0].get_title()
    counts = {"train": np.arange(NUM_CLASSES), "val": np.ones(NUM_CLASSES)}
    fig = viz.class_frequency_figure(counts, {"train": 100, "val": 10}, source="SRC-3")
    assert "[SRC-3]" in fig.axes[0].get_title()
    assert sum(len(bars) for bars in fig.axes[0].containers) == 2 * NUM_CLASSES
    matplotlib.pyplot.close("all")


def test_as_jpeg_returns_a_jpeg():
    fig = matplotlib.pyplot.figure(figsize=(2, 1))
    image = viz.as_jpeg(fig)
    assert image.format == "jpeg" and image.data[:3] == b"\xff\xd8\xff"


def test_missing_demo_frames_name_the_folder(tmp_path):
    with pytest.raises(MissingDataError, match=r"demo_frames/BjCEufrlXm4"):
        viz.demo_frame_paths(tmp_path)


def test_disagreement_example_finds_the_first_video_with_all_three_kinds():
    gt_a = np.zeros((3, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    gt_v = np.zeros_like(gt_a)
    gt_a[0, :, 0] = True  # video 0: heard only, nothing else
    gt_a[1, :5, 0] = gt_v[1, :, 1] = True  # video 1: class 1 seen only, no class in both
    gt_a[2, 2:4, 0] = True  # video 2: class 0 heard only, 1 seen only, 2 in both
    gt_v[2, :, 1] = True
    gt_a[2, :, 2] = gt_v[2, 5:, 2] = True
    index, kinds = viz.disagreement_example(gt_a, gt_v)
    assert index == 2
    assert kinds == {"heard only": [0], "seen only": [1], "heard and seen": [2]}
    with pytest.raises(ValueError, match="no video"):
        viz.disagreement_example(gt_a[:2], gt_v[:2])


def test_palette_png_shrinks_a_plot_without_visible_change_and_keeps_transparency():
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from linkpaper.chapters.viz import palette_png

    fig, (ax, heat) = plt.subplots(1, 2, figsize=(7, 3))
    for k in range(8):  # anti-aliased thin lines with alpha: many colours in the raw PNG
        ax.plot(np.sin(np.linspace(0, 6, 200) + k), lw=0.7, alpha=0.45)
    image = heat.imshow(np.random.default_rng(0).random((10, 10)), cmap="RdBu_r", vmin=-1, vmax=1)
    fig.colorbar(image, ax=heat)  # a colour bar: a smooth gradient
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor="white")
    plt.close(fig)
    raw = buffer.getvalue()
    small = palette_png(raw)
    assert len(small) < 0.6 * len(raw) and small == palette_png(raw)  # smaller, deterministic
    before = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=float)
    after = np.asarray(Image.open(io.BytesIO(small)).convert("RGB"), dtype=float)
    error = np.abs(before - after).max(axis=2)  # per pixel, of 255 levels
    assert before.shape == after.shape and error.mean() < 2.0 and error.max() <= 16
    clear = io.BytesIO()
    Image.new("RGBA", (20, 10), (255, 0, 0, 0)).save(clear, format="PNG")
    assert palette_png(clear.getvalue()) == clear.getvalue()  # transparency is kept as it is
