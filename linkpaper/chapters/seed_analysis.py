"""Two models over all their seeds (chapter 10): per class, per kind of segment, per epoch.

:func:`seed_runs`, :func:`per_class_seed_frame` / :func:`per_class_seed_figure` with
:func:`class_support` (test and training counts per class), :func:`class_differences`,
:func:`zero_score_classes`, :func:`alignment_seed_frame` / :func:`alignment_seed_figure`, the
teachers' labels on test (:func:`teacher_label_frame`), and the per-epoch
:func:`epoch_endpoints` / :func:`epoch_panels_figure` (one panel and one y range per quantity,
changes from initialisation on a stated scale).

Shapes: N videos, T = 10 segments, C = 25 classes; predictions and ground truth are (N, T, C)
bool. F-scores are percentages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linkpaper.chapters.prediction_scores import (
    ALIGNED,
    EMPTY,
    MASKED_MODALITIES,
    NON_ALIGNED,
    load_run_predictions,
    masked_segment_scores,
    segment_alignment,
)
from linkpaper.chapters.run_records import _label, _signed, find_run_dirs, variant_color
from linkpaper.classes import CLASSES
from linkpaper.errors import UserError
from linkpaper.evaluation.inference import is_active

"""Short score labels (``metrics.SCORE_LABELS``) spelled out for prose and axis labels."""


def epoch_endpoints(records: dict, keys, labels: dict | None = None, digits: int = 4):
    """Where each per-epoch quantity starts and ends, per variant.

    records: ``{(variant, seed): RunRecord}`` (``probe.grid_records``); keys:
    ``probe.epoch_series`` keys (those no record has are skipped). Rows (quantity, variant);
    columns ``seeds``, ``first epoch``, ``last epoch`` (means over seeds), ``change`` (last
    minus first, mean over seeds) and ``change range`` (the lowest and highest change of a
    single seed). Values are rounded to ``digits``.
    """
    import pandas as pd

    from linkpaper.chapters.probe import epoch_series

    labels = labels or {}
    rows = {}
    for key in keys:
        try:
            frame = epoch_series(records, key)
        except UserError:
            continue
        for variant in dict.fromkeys(frame.columns.get_level_values("variant")):
            values = frame[variant].dropna(how="all")
            first, last = values.iloc[0], values.iloc[-1]
            change = last - first
            rows[(labels.get(key, key), _label(variant))] = {
                "seeds": values.shape[1],
                "first epoch": round(float(first.mean()), digits),
                "last epoch": round(float(last.mean()), digits),
                "change": round(float(change.mean()), digits),
                "change range": f"{change.min():+.{digits}f} to {change.max():+.{digits}f}"
                if values.shape[1] > 1
                else "",
            }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if not frame.empty:
        frame.index = pd.MultiIndex.from_tuples(frame.index, names=["quantity", "variant"])
    return frame


def epoch_panels_figure(records: dict, panels: list[dict], source: str, title: str, columns: int = 2):
    """Per-epoch quantities of grid runs, one readable panel each.

    panels: dicts with ``key`` (a ``probe.epoch_series`` key) and optionally ``title``,
    ``offset`` (subtracted, e.g. the initial value 1 of a CMIM scalar: the panel then shows the
    change from initialisation), ``scale`` (multiplied after, e.g. 1000), ``ylabel`` (say the
    offset and scale there), ``log`` (a log y axis), ``ylim`` (a fixed y range, e.g. ``(0, 1)``),
    ``hline`` (a dashed horizontal line, e.g. at a target value) and ``from_epoch`` (draw only from that
    epoch on, so a steep first epoch does not set the range; say so in the title). Each variant is a colour: its seeds
    are thin lines, their mean a thick line; every panel has its own y range. Panels whose key
    no record has are skipped.
    """
    from linkpaper.chapters.probe import epoch_series
    from linkpaper.chapters.viz import describe, pyplot, titled

    plt = pyplot()
    found = []
    for panel in panels:
        try:
            found.append((panel, epoch_series(records, panel["key"])))
        except UserError:
            continue
    if not found:
        raise UserError(f"no run record has any of {[p['key'] for p in panels]}")
    columns = min(columns, len(found))
    rows = int(np.ceil(len(found) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 2.7 * rows), squeeze=False)
    handles = {}
    for ax, (panel, frame) in zip(axes.ravel(), found):
        values = (frame - panel.get("offset", 0.0)) * panel.get("scale", 1.0)
        values = values.loc[values.index >= panel.get("from_epoch", values.index.min())]
        for variant in dict.fromkeys(values.columns.get_level_values("variant")):
            part = values[variant]
            color = variant_color(variant)
            for seed in part.columns:
                ax.plot(part.index, part[seed], color=color, lw=0.7, alpha=0.45)
            (line,) = ax.plot(part.index, part.mean(axis=1), color=color, lw=2.0)
            handles.setdefault(_label(variant), line)
        if panel.get("log"):
            ax.set_yscale("log")
        if "ylim" in panel:
            ax.set_ylim(*panel["ylim"])
        if "hline" in panel:
            ax.axhline(panel["hline"], color="0.3", lw=1.0, ls="--")
        ax.set_title(panel.get("title", panel["key"]), fontsize=9)
        ax.set_ylabel(panel.get("ylabel", ""), fontsize=8)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(found) :]:
        ax.axis("off")
    fig.legend(
        handles.values(),
        handles.keys(),
        loc="lower center",
        ncol=min(len(handles), 6),
        frameon=False,
        fontsize=8,
        title="thick: mean over seeds; thin: one seed",
        title_fontsize=8,
    )
    fig.suptitle(titled(title, source), fontsize=10)
    fig.tight_layout(rect=(0, 0.1 if rows == 1 else 0.06, 1, 1))
    shown = "; ".join(panel.get("title", panel["key"]) for panel, _ in found)
    return describe(
        fig,
        f"Line plots per epoch, one colour per variant (thin: each seed, thick: their mean), "
        f"each panel with its own y range: {shown}",
        source,
        title=title,
    )


def seed_runs(results_dir, variants, test) -> dict:
    """Every finished run of ``variants`` that stored test decisions or predictions.

    Returns ``{(label, seed): {"predictions": (pred_audio, pred_visual), "scores":
    AVVPScores, "record": RunRecord}}`` (label: the paper's name of the variant), in variant
    then seed order; test: the test annotations.
    """
    from linkpaper.evaluation.metrics import evaluate_predictions
    from linkpaper.training.runs import DECISIONS_FILE, PREDICTIONS_FILE, RunRecord

    runs = {}
    for run in find_run_dirs(results_dir, list(variants)):
        if not any((run / name).is_file() for name in (PREDICTIONS_FILE, DECISIONS_FILE)):
            continue
        record = RunRecord.read(run)
        if not record.complete:
            continue
        predictions = load_run_predictions(run, test.filenames)
        scores = evaluate_predictions(*predictions, test.gt_audio, test.gt_visual)
        runs[(_label(record.config["model"]), int(record.seed))] = {
            "predictions": predictions,
            "scores": scores,
            "record": record,
        }
    return runs


def class_support(test, train=None):
    """How much of each class there is to learn and to score, per class (index ``CLASSES``).

    test: annotations with ``gt_audio``, ``gt_visual`` (N, T, C) and ``weak`` (N, C). Columns:
    ``test videos`` (video label), ``test audio segments``, ``test visual segments``. With
    ``train`` (an ``AVVPSplit``, e.g. SynthLLP's training split) also ``train videos`` (its
    video labels) and ``teacher audio segments`` / ``teacher visual segments`` (its segment
    pseudo labels, >= 0.5), and ``train rank`` (1 = the rarest class in training).
    """
    import pandas as pd

    frame = pd.DataFrame(
        {
            "test videos": np.asarray(test.weak).astype(bool).sum(axis=0),
            "test audio segments": np.asarray(test.gt_audio, bool).sum(axis=(0, 1)),
            "test visual segments": np.asarray(test.gt_visual, bool).sum(axis=(0, 1)),
        },
        index=pd.Index(list(CLASSES), name="class"),
    )
    if train is not None:
        weak = is_active(np.asarray(train.weak))
        frame["train videos"] = weak.sum(axis=0)
        frame["teacher audio segments"] = is_active(np.asarray(train.pseudo_audio)).sum(axis=(0, 1))
        frame["teacher visual segments"] = is_active(np.asarray(train.pseudo_visual)).sum(axis=(0, 1))
        frame["train rank"] = frame["train videos"].rank(method="min").astype(int)
    return frame.astype(int)


def per_class_seed_frame(runs: dict, level: str = "segment", modalities=("audio", "visual")):
    """Long table of per-class F (%) of every run: ``model``, ``seed``, ``modality``, ``class``,
    ``F``, ``predicted segments`` (how many test segments the run predicts the class in;
    segment level). runs: :func:`seed_runs`. A class the metric keeps in no video is NaN."""
    import pandas as pd

    rows = []
    for (model, seed), run in runs.items():
        scores = run["scores"]
        for m in modalities:
            f = scores.per_class[level][m].f
            predicted = np.asarray(run["predictions"][0 if m == "audio" else 1], bool).sum(axis=(0, 1))
            for c, name in enumerate(CLASSES):
                rows.append(
                    {
                        "model": model,
                        "seed": seed,
                        "modality": m,
                        "class": name,
                        "F": float(f[c]),
                        "predicted segments": int(predicted[c]),
                    }
                )
    return pd.DataFrame(rows)


def _seed_palette(models) -> dict:
    """One colour per model, from the book's colour-blind palette (``viz.PALETTE_HEX``)."""
    from linkpaper.chapters.viz import PALETTE_HEX

    return dict(zip(models, PALETTE_HEX))


def _seed_dots_and_means(
    ax, data, x: str, y: str, models, palette, order=None, dot_size: float = 4, mean_size: float = 5
) -> None:
    """Every seed of every model as a dot and the mean over seeds as a diamond, dodged by model
    (the per-seed comparisons of chapter 10); the axes' own legend is removed."""
    import seaborn as sns

    sns.stripplot(
        data,
        x=x,
        y=y,
        hue="model",
        order=order,
        hue_order=models,
        palette=palette,
        dodge=True,
        size=dot_size,
        alpha=0.6,
        jitter=False,
        ax=ax,
        legend=False,
    )
    sns.pointplot(
        data,
        x=x,
        y=y,
        hue="model",
        order=order,
        hue_order=models,
        palette=palette,
        dodge=0.4,
        errorbar=None,
        linestyle="none",
        markers="D",
        markersize=mean_size,
        ax=ax,
    )
    if ax.get_legend() is not None:
        ax.get_legend().remove()


def _seed_legend(fig, ax) -> None:
    """One legend under the panels, from ``ax``'s models, saying what dots and diamonds are."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        [f"{label} (diamond: mean over seeds; dots: one seed)" for label in labels],
        loc="lower center",
        ncol=len(labels),
        frameon=False,
        fontsize=8,
    )


def per_class_seed_figure(frame, support, source: str, title: str = ""):
    """Per-class F of two (or more) models over all their seeds, one panel per modality.

    frame: :func:`per_class_seed_frame`; support: :func:`class_support` (the number of test
    segments of each class and modality is written beside its name; every panel shows the
    classes in one shared order, from the most to the least frequent over both modalities, so
    the rare ones sit at the bottom). Small dots: one seed; large marks: the mean over seeds.
    """
    from linkpaper.chapters.viz import describe, pyplot, titled

    plt = pyplot()
    modalities = list(dict.fromkeys(frame["modality"]))
    models = list(dict.fromkeys(frame["model"]))
    palette = _seed_palette(models)
    fig, axes = plt.subplots(
        1, len(modalities), figsize=(4.6 * len(modalities), 0.36 * len(CLASSES) + 1.8), squeeze=False
    )
    total = sum(support[f"test {m} segments"] for m in modalities)
    order = list(total.sort_values(ascending=False, kind="stable").index)  # one order for every panel
    for ax, m in zip(axes[0], modalities):
        counts = support[f"test {m} segments"]
        data = frame[frame["modality"] == m].copy()
        names = {c: f"{c} ({counts[c]})" for c in order}
        data["class"] = data["class"].map(names)
        y_order = [names[c] for c in order]
        _seed_dots_and_means(ax, data, "F", "class", models, palette, order=y_order, dot_size=3, mean_size=4)
        ax.set_xlim(-2, 102)
        ax.set_xlabel(f"segment-level F (%), {m}")
        ax.set_ylabel(f"class (test {m} segments)" if ax is axes[0, 0] else "")
        ax.tick_params(axis="y", labelsize=10)
        ax.set_title(f"{m.capitalize()}", fontsize=9)
    _seed_legend(fig, axes[0, 0])
    heading = title or "Per-class segment-level F over seeds"
    fig.suptitle(titled(heading, source), fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return describe(
        fig,
        f"Dot plot, one row per class in one order for both panels (most test segments over both "
        f"modalities first; this modality's count in parentheses), one "
        f"panel per modality ({', '.join(modalities)}): the per-class F of every seed (dots) and "
        f"the mean over seeds (diamonds) of {', '.join(models)}",
        source,
        title=heading,
    )


def class_differences(frame, support, models: list[str], count: int = 5, digits: int = 1):
    """The (class, modality) pairs where two models differ most, with their seed spread.

    frame: :func:`per_class_seed_frame`; models: [baseline, other]. The ``count`` largest
    gains and ``count`` largest losses of the mean F of ``models[1]`` over ``models[0]``.
    Columns: ``test segments``, each model's mean F with the range over its seeds, the
    ``difference`` of the means, and ``seed ranges overlap`` (True: some seed of one model
    scores as the other model's seeds do, so the difference is within seed noise).
    """
    import pandas as pd

    a, b = models
    stats = frame.groupby(["class", "modality", "model"])["F"].agg(["mean", "min", "max", "count"]).unstack("model")
    diff = (stats[("mean", b)] - stats[("mean", a)]).dropna().sort_values(ascending=False, kind="stable")
    picks = list(diff.index[:count]) + [i for i in diff.index[-count:] if i not in set(diff.index[:count])]
    rows = {}
    for key in picks:
        s = stats.loc[key]
        cell = {}
        cell["test segments"] = int(support.loc[key[0], f"test {key[1]} segments"])
        for model in (a, b):
            spread = (
                f" ({s[('min', model)]:.{digits}f} to {s[('max', model)]:.{digits}f})"
                if s[("count", model)] > 1
                else ""
            )
            cell[f"{model}: F, {int(s[('count', model)])} seed(s)"] = f"{s[('mean', model)]:.{digits}f}{spread}"
        cell["difference"] = round(float(diff[key]), digits)
        cell["seed ranges overlap"] = bool(s[("min", a)] <= s[("max", b)] and s[("min", b)] <= s[("max", a)])
        rows[key] = cell
    result = pd.DataFrame.from_dict(rows, orient="index")
    result.index = pd.MultiIndex.from_tuples(result.index, names=["class", "modality"])
    return result


def zero_score_classes(frame, support):
    """Every (class, modality) that scores F = 0 in at least one run, and why it may.

    frame: :func:`per_class_seed_frame`; support: :func:`class_support` (with ``train``).
    Rows (class, modality); columns ``runs at 0`` (e.g. "VALOR++ 88"), ``runs``, ``predicted
    segments in those runs`` (total), ``test segments`` and, when the support has them,
    ``train videos``, ``train rank`` and the teacher's segments of that modality.
    """
    import pandas as pd

    zero = frame[frame["F"] == 0]
    rows = {}
    for (name, m), part in zero.groupby(["class", "modality"], sort=False):
        row = {
            "runs at 0": "; ".join(f"{model} seed {seed}" for model, seed in zip(part["model"], part["seed"])),
            "runs at 0 (count)": len(part),
            "runs": int(((frame["class"] == name) & (frame["modality"] == m)).sum()),
            "predicted segments in those runs": int(part["predicted segments"].sum()),
            "test segments": int(support.loc[name, f"test {m} segments"]),
        }
        for column in ("train videos", "train rank"):
            if column in support.columns:
                row[column] = int(support.loc[name, column])
        if f"teacher {m} segments" in support.columns:
            row["teacher segments (this modality)"] = int(support.loc[name, f"teacher {m} segments"])
        rows[(name, m)] = row
    result = pd.DataFrame.from_dict(rows, orient="index")
    if not result.empty:
        result.index = pd.MultiIndex.from_tuples(result.index, names=["class", "modality"])
    return result


def zero_score_reading(zeros, support, frame) -> str:
    """Markdown explaining :func:`zero_score_classes` from the data: whether the runs predict
    the class at all, how rare it is in training and in the test set, and whether the
    teachers label it; or that no class scores 0."""
    runs = frame.groupby(["model", "seed"]).ngroups
    if zeros.empty:
        return (
            f"No class scores 0 in any of the {runs} runs compared here. The rarest classes are still the "
            "least certain: their F rests on few test segments (the table below)."
        )
    everywhere = [f"{name} ({m})" for (name, m), row in zeros.iterrows() if row["runs at 0 (count)"] == row["runs"]]
    lines = [
        f"* In every run of both models: {', '.join(everywhere)}."
        if everywhere
        else "* No class scores 0 in every run of both models; the zeros below occur in some seeds only, so they "
        "are part of the seed spread, not of a difference between the models."
    ]
    total = len(support)
    for (name, m), row in zeros.iterrows():
        never = row["predicted segments in those runs"] == 0
        text = (
            f"* **{name}, {m}** scores 0 in {row['runs at 0']} ({row['runs at 0 (count)']} of the {row['runs']} runs). "
        )
        those = "That run" if row["runs at 0 (count)"] == 1 else "Those runs"
        text += (
            f"{those} **never predict{'s' if those == 'That run' else ''} it**: not one test segment, so "
            "the class scores 0 in every test video that has it."
            if never
            else f"{those} predict it in {row['predicted segments in those runs']} test segments, none of them right."
        )
        text += f" It has {row['test segments']} {m} test segments"
        if "train videos" in row:
            median = int(support["train videos"].median())
            text += (
                f", and {row['train videos']} training videos carry its video label (rank "
                f"{row['train rank']} of {total} from the rarest; the median class has {median})"
            )
            teacher = row.get("teacher segments (this modality)")
            if teacher is not None and teacher > 0:
                text += (
                    f"; the {m} teacher labels it in {teacher:.0f} training segments, so the pseudo labels "
                    "do contain it"
                )
                if row["train rank"] <= 3:
                    text += ": what it lacks is training examples"
            elif teacher is not None:
                text += f"; the {m} teacher never labels it in training, so no segment label teaches it"
        lines.append(text + ".")
    return "\n".join(lines)


def alignment_seed_frame(runs: dict, gt_audio, gt_visual):
    """Long table of :func:`masked_segment_scores` for every run on aligned, non-aligned and
    all annotated segments: ``model``, ``seed``, ``segments`` (kind), ``modality`` (Audio,
    Visual, Audio-visual, Event@AV (pooled)), ``F``. runs: :func:`seed_runs`."""
    import pandas as pd

    kind = segment_alignment(gt_audio, gt_visual)
    masks = {"aligned": kind == ALIGNED, "non-aligned": kind == NON_ALIGNED}
    titles = dict(zip(MASKED_MODALITIES, ("Audio", "Visual", "Audio-visual", "Event@AV (pooled)")))
    rows = []
    for (model, seed), run in runs.items():
        for label, mask in masks.items():
            scores = masked_segment_scores(*run["predictions"], gt_audio, gt_visual, mask)
            rows += [
                {"model": model, "seed": seed, "segments": label, "modality": titles[m], "F": scores[m]["f"]}
                for m in MASKED_MODALITIES
            ]
    return pd.DataFrame(rows)


def alignment_seed_table(frame, digits: int = 1):
    """:func:`alignment_seed_frame` summarised: rows (model, segments), columns the modalities,
    cells ``mean ± std (n)`` over seeds (the value alone for one seed)."""
    stats = frame.groupby(["model", "segments", "modality"], sort=False)["F"].agg(["mean", "std", "count"])
    cells = stats.apply(
        lambda s: (
            f"{s['mean']:.{digits}f}" + (f" ± {s['std']:.{digits}f} ({int(s['count'])})" if s["count"] > 1 else " (1)")
        ),
        axis=1,
    )
    table = cells.unstack("modality")
    order = list(dict.fromkeys(frame["modality"]))
    return table[order]


def alignment_seed_figure(frame, source: str, title: str = ""):
    """Per kind of segment (aligned, non-aligned), the pooled F of each model and modality:
    every seed (dots) and the mean over seeds (diamonds). frame: :func:`alignment_seed_frame`."""
    from linkpaper.chapters.viz import describe, pyplot, titled

    plt = pyplot()
    kinds = list(dict.fromkeys(frame["segments"]))
    models = list(dict.fromkeys(frame["model"]))
    palette = _seed_palette(models)
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.4 * len(kinds), 3.6), squeeze=False, sharey=True)
    for ax, kind in zip(axes[0], kinds):
        data = frame[frame["segments"] == kind]
        _seed_dots_and_means(ax, data, "modality", "F", models, palette)
        ax.set_title(f"{kind} segments", fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("segment-level F (%), pooled")
        ax.tick_params(axis="x", labelsize=8)
    _seed_legend(fig, axes[0, 0])
    heading = title or "Aligned and non-aligned segments, over seeds"
    fig.suptitle(titled(heading, source), fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return describe(
        fig,
        f"Dot plots of the pooled segment-level F per modality on {' and '.join(kinds)} segments: "
        f"every seed (dots) and the mean over seeds (diamonds) of {', '.join(models)}",
        source,
        title=heading,
    )


RANGES_APART = (
    "Seed ranges that are apart leave out the other source of noise, the draw of test videos: "
    "chapter 9's intervals resample both before calling a gain distinguishable from noise."
)
"""The caveat a reading adds when it reports seed ranges that do not overlap."""


def alignment_reading(frame, models: list[str], kind=None) -> str:
    """Markdown bullets: how much of the test set is non-aligned (with ``kind``, the
    :func:`segment_alignment` of the test set), whether every model scores lower on
    non-aligned segments in every modality, then per kind of segment and modality the
    difference of the two models' seed means (``models[1]`` minus ``models[0]``) and whether
    their seed ranges overlap."""
    a, b = models
    stats = frame.groupby(["segments", "modality", "model"], sort=False)["F"].agg(["mean", "min", "max", "count"])
    lines = []
    if kind is not None:
        annotated = int((np.asarray(kind) != EMPTY).sum())
        non_aligned = int((np.asarray(kind) == NON_ALIGNED).sum())
        share = 100 * non_aligned / max(annotated, 1)
        lines.append(
            f"* **{share:.1f} %** of the {annotated:,} annotated test segments are non-aligned "
            f"({100 * non_aligned / np.asarray(kind).size:.1f} % of all {np.asarray(kind).size:,} test "
            "segments, the share in the table above, which also counts the empty ones)."
        )
    means = stats["mean"].unstack("segments")
    if {"aligned", "non-aligned"} <= set(means.columns):
        lower = means["non-aligned"] < means["aligned"]
        gap = means["aligned"] - means["non-aligned"]
        if lower.all():
            lines.append(
                f"* Every model scores lower on non-aligned segments in every column, by "
                f"{gap.min():.1f} to {gap.max():.1f} points (seed means)."
            )
        else:
            higher = ", ".join(f"{model} {m}" for (m, model), ok in lower.items() if not ok)
            lines.append(f"* Non-aligned segments score lower except for: {higher}.")
    for kind in dict.fromkeys(frame["segments"]):
        pieces = []
        for m in dict.fromkeys(frame["modality"]):
            sa, sb = stats.loc[(kind, m, a)], stats.loc[(kind, m, b)]
            overlap = sa["min"] <= sb["max"] and sb["min"] <= sa["max"]
            single = sa["count"] < 2 or sb["count"] < 2
            note = "one seed: spread unknown" if single else "seed ranges overlap" if overlap else "seed ranges apart"
            pieces.append(f"{m} {_signed(sb['mean'] - sa['mean'], 1)} ({note})")
        lines.append(f"* **{kind} segments**, {b} minus {a}: " + "; ".join(pieces) + ".")
    if any("(seed ranges apart)" in line for line in lines):
        lines.append(f"* {RANGES_APART}")
    return "\n".join(lines)


def class_difference_reading(differences, support) -> str:
    """Markdown: how many of the largest per-class differences (:func:`class_differences`) lie
    within seed noise, and how few test segments the rarest classes have (:func:`class_support`)."""
    overlap = int(differences["seed ranges overlap"].sum())
    total = len(differences)
    rarest = support[["test audio segments", "test visual segments"]].min(axis=1).sort_values(kind="stable")
    names = ", ".join(f"{c} ({int(n)})" for c, n in rarest.head(3).items())
    seeds = [int(c.rsplit(", ", 1)[1].split()[0]) for c in differences.columns if str(c).endswith(" seed(s)")]
    if seeds and min(seeds) < 2:  # a point against a point or a range: 'no overlap' says nothing
        text = (
            f"* With one seed of {'each model' if max(seeds) < 2 else 'a model'} there is no seed range to "
            f"compare: these {total} largest differences cannot be told apart from seed noise."
        )
    else:
        text = (
            f"* Of these {total} largest differences, **{overlap}** {'lies' if overlap == 1 else 'lie'} within "
            "the seed ranges (some seed of one model scores as the other's seeds do): "
            f"{'it is' if overlap == 1 else 'they are'} not evidence of a difference between the models."
        )
        if overlap < total:
            text += f" {RANGES_APART}"
    text += (
        f"\n* The rarest classes have few test segments in their rarer modality: {names}. One video more "
        "or less moves their F by several points; read their rows with that in mind."
    )
    return text


def trained_on(record, data) -> bool:
    """Whether ``data`` (an AVVPData) is the data the run of ``record`` was trained on: the same
    source record (SynthLLP: preset, seed, every knob and the teachers' thresholds). False for
    a grid trained on a SynthLLP generation the present code no longer makes."""
    import json

    def normal(source):
        return json.loads(json.dumps(source, sort_keys=True, default=str))

    return normal(record.data.get("source", {})) == normal(data.source)


@dataclass
class StoredTeacherLabels:
    """A test split's ungated teacher labels kept in a file (``scripts/teacher_report.py
    --test-labels``): what :func:`teacher_label_frame` and :func:`teacher_replay_frame` read
    for a generation the present code no longer makes. audio / visual (N, T, C) bool."""

    filenames: list
    pseudo_audio_ungated: np.ndarray
    pseudo_visual_ungated: np.ndarray
    source: dict

    @classmethod
    def read(cls, path) -> StoredTeacherLabels:
        import json

        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as stored:
                return cls(
                    [str(n) for n in stored["filenames"]],
                    stored["audio"].astype(bool),
                    stored["visual"].astype(bool),
                    json.loads(str(stored["source"])),
                )
        except (OSError, KeyError, ValueError) as err:
            raise UserError(
                f"{path}: cannot read stored teacher labels ({err}); write them with "
                "scripts/teacher_report.py --test-labels"
            ) from None


def teacher_test_split(record, teachers_file=None, data_dir=None):
    """The test split whose ungated teacher labels the runs of ``record`` were trained and
    scored with: the data regenerated from ``record``'s spec when the present code makes the
    same data (:func:`trained_on`), else the labels stored in ``teachers_file``. Returns
    ``(split, where)`` with ``where`` saying which."""
    from linkpaper.data.sources import load_data

    data = load_data(record.data["spec"], data_dir=data_dir)
    if trained_on(record, data):
        return data.test, f"regenerated from {record.data['spec']}"
    if teachers_file is None:
        raise UserError(
            f"the runs were trained on data the present code no longer makes "
            f"({record.description}); pass the stored teacher labels of that generation"
        )
    stored = StoredTeacherLabels.read(teachers_file)
    ours = record.data.get("source", {})
    if any(stored.source.get(key) != ours.get(key) for key in ("kind", "preset", "seed", "config")):
        raise UserError(
            f"{teachers_file}: these teacher labels belong to another generation "
            f"({stored.source.get('preset')} seed {stored.source.get('seed')}, other settings) than the "
            f"runs' ({record.description})"
        )
    return stored, f"stored in {Path(teachers_file).name} (an earlier generation)"


def _ungated_test_labels(split, test) -> tuple[np.ndarray, np.ndarray]:
    """(audio, visual) (N, T, C) bool ungated teacher labels of ``split`` in the order of the
    test annotations ``test``; UserError when the split holds none."""
    if split.pseudo_audio_ungated is None or split.pseudo_visual_ungated is None:
        raise UserError("the test split holds no ungated teacher labels")
    order = {name: i for i, name in enumerate(split.filenames)}
    index = [order[name] for name in test.filenames]
    return np.asarray(split.pseudo_audio_ungated)[index] > 0, np.asarray(split.pseudo_visual_ungated)[index] > 0


def _predicted_classes(pred_audio, pred_visual) -> np.ndarray:
    """(N, 1, C) bool: the classes a model predicts anywhere in a video, audio or visual."""
    return (np.asarray(pred_audio).any(axis=1) | np.asarray(pred_visual).any(axis=1))[:, None, :]


TEACHER_ROWS = ("teacher labels, ungated, as they are", "teacher labels within {baseline}'s predicted classes")


def teacher_label_frame(split, test, runs: dict, baseline: str = "VALOR++"):
    """Segment-level F (%) of the teachers' ungated labels scored as predictions, beside the models.

    split: the data's test split with ``pseudo_audio_ungated`` / ``pseudo_visual_ungated`` (what
    PLSIM reads at test time), in any video order; test: the test annotations; runs:
    :func:`seed_runs`. Rows: the ungated labels as they are; the same labels kept only for the
    classes ``baseline`` predicts anywhere in the video (audio or visual, each of its seeds, then
    the mean: the classes a model's video-level gate lets through); then every model of ``runs``
    (mean over its seeds). Columns: Audio, Visual, Audio-visual, Type@AV, and ``seeds``.
    """
    import pandas as pd

    from linkpaper.evaluation.metrics import evaluate_predictions

    audio, visual = _ungated_test_labels(split, test)
    titles = ["Audio", "Visual", "Audio-visual", "Type@AV"]

    def scores(pred_audio, pred_visual):
        return evaluate_predictions(pred_audio, pred_visual, test.gt_audio, test.gt_visual).row()[:4]

    rows = {TEACHER_ROWS[0]: [*scores(audio, visual), np.nan]}
    kept = []
    for (model, _), run in runs.items():
        if model == baseline:
            pred_audio, pred_visual = run["predictions"]
            classes = _predicted_classes(pred_audio, pred_visual)
            kept.append(scores(audio & classes, visual & classes))
    if kept:
        rows[TEACHER_ROWS[1].format(baseline=baseline)] = [*np.mean(kept, axis=0), len(kept)]
    for model in dict.fromkeys(m for m, _ in runs):
        own = [run["scores"].row()[:4] for (m, _), run in runs.items() if m == model]
        rows[model] = [*np.mean(own, axis=0), len(own)]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[*titles, "seeds"])
    frame["seeds"] = frame["seeds"].astype("Int64")
    frame.index.name = "segment-level F (%)"
    return frame


def teacher_label_reading(frame, baseline: str = "VALOR++", teachers: str = "The teachers'") -> str:
    """Markdown: how the teachers' labels within the baseline's classes compare with the baseline
    and with each other model, in audio and visual segment-level F (:func:`teacher_label_frame`).

    teachers: whose labels they are, as the subject of the first sentence (e.g.
    ``"SynthLLP's simulated teachers'"``, ``gain_reading.teachers_name``). Returns two bullets
    (one when no other model is in ``frame``)."""
    kept = TEACHER_ROWS[1].format(baseline=baseline)
    if kept not in frame.index or baseline not in frame.index:
        return "No run of the baseline with stored decisions, so there is nothing to compare."
    raw, teacher, base = frame.loc[TEACHER_ROWS[0]], frame.loc[kept], frame.loc[baseline]
    text = (
        f"* {teachers} ungated labels, as they are, score audio {raw['Audio']:.1f} and visual "
        f"{raw['Visual']:.1f}: they mark many classes a video does not have. Kept to the classes "
        f"{baseline} predicts for the video, they score audio **{teacher['Audio']:.1f}** and visual "
        f"**{teacher['Visual']:.1f}**, against {base['Audio']:.1f} and {base['Visual']:.1f} for "
        f"{baseline} itself: {_signed(teacher['Audio'] - base['Audio'], 1)} audio, "
        f"{_signed(teacher['Visual'] - base['Visual'], 1)} visual."
    )
    others = [m for m in frame.index if m not in (*TEACHER_ROWS, kept, baseline)]
    if others:
        shifts = "; ".join(
            f"{m}: audio {_signed(frame.loc[m, 'Audio'] - base['Audio'], 1)}, visual "
            f"{_signed(frame.loc[m, 'Visual'] - base['Visual'], 1)}"
            for m in others
        )
        text += f"\n* The models that read these labels at test time, against {baseline}: {shifts}."
    return text


def replay_regression(advantage, gain) -> tuple[float, float, int]:
    """(r, slope, n): Pearson correlation and least-squares slope of ``gain`` on ``advantage``,
    both (N,) per-video values, over the n videos where both are finite (NaN when n < 3 or
    either has no spread)."""
    x, y = np.asarray(advantage, float), np.asarray(gain, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3 or x.std() == 0 or y.std() == 0:
        return float("nan"), float("nan"), int(x.size)
    xc, yc = x - x.mean(), y - y.mean()
    return float((xc @ yc) / np.sqrt((xc @ xc) * (yc @ yc))), float((xc @ yc) / (xc @ xc)), int(x.size)


def teacher_replay_frame(split, test, runs: dict, baseline: str = "VALOR++"):
    """Does a model's per-video gain over ``baseline`` follow the teachers' per-video advantage?

    For every test video and modality (segment-level audio and visual F, in percent): the
    teachers' *advantage* is the score of the ungated teacher labels kept to the classes
    ``baseline`` predicts for the video (as in :func:`teacher_label_frame`) minus the baseline's
    own score, averaged over the baseline's seeds; a model's *gain* is its per-video score
    (mean over its seeds) minus the baseline's. Rows: every other model of ``runs``; columns:
    r and slope of :func:`replay_regression` for audio and visual, and the seeds. A model that
    replays the teachers at test time (PLSIM) has r and slope well above those of one that
    cannot read them (+T).
    """
    import pandas as pd

    from linkpaper.evaluation.metrics import evaluate_predictions

    audio, visual = _ungated_test_labels(split, test)

    def per_video(pred_audio, pred_visual) -> dict:
        scores = evaluate_predictions(pred_audio, pred_visual, test.gt_audio, test.gt_visual).per_video["segment"]
        return {m: 100.0 * scores[m] for m in ("audio", "visual")}

    base_runs = [run for (model, _), run in runs.items() if model == baseline]
    if not base_runs:
        raise UserError(f"no run of {baseline} with stored decisions: nothing to compare with")
    base, advantage = {m: [] for m in ("audio", "visual")}, {m: [] for m in ("audio", "visual")}
    for run in base_runs:
        pred_audio, pred_visual = (np.asarray(p) for p in run["predictions"])
        classes = _predicted_classes(pred_audio, pred_visual)
        own, kept = per_video(pred_audio, pred_visual), per_video(audio & classes, visual & classes)
        for m in base:
            base[m].append(own[m])
            advantage[m].append(kept[m] - own[m])
    base = {m: np.mean(v, axis=0) for m, v in base.items()}
    advantage = {m: np.mean(v, axis=0) for m, v in advantage.items()}
    rows = {}
    for model in dict.fromkeys(m for m, _ in runs if m != baseline):
        own = [per_video(*(np.asarray(p) for p in run["predictions"])) for (m, _), run in runs.items() if m == model]
        row = {}
        for m in ("audio", "visual"):
            gain = np.mean([o[m] for o in own], axis=0) - base[m]
            r, slope, _ = replay_regression(advantage[m], gain)
            row[(m, "r")], row[(m, "slope")] = r, slope
        row[("", "seeds")] = len(own)
        rows[model] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = f"per-video gain over {baseline} ~ teachers' advantage"
    return frame


def replay_reading(replay, readers, controls) -> str:
    """Markdown from :func:`teacher_replay_frame`: the r of the models that read teacher labels
    at test time (``readers``, display labels) against the largest r among ``controls`` (models
    that read none at test time), per modality, and what that comparison says.

    A reader "follows the teachers" in a modality when its r exceeds every control's there.
    Rows absent from ``replay`` are skipped; with no control present, nothing is concluded.
    Lists of display labels (which hold commas, "+ T, P") are joined by semicolons. Returns the
    paragraph."""
    readers = [m for m in readers if m in replay.index]
    controls = [m for m in controls if m in replay.index]
    if not readers:
        return "No model that reads teacher labels at test time has runs here."

    def rs(name):
        return f"audio {replay.loc[name, ('audio', 'r')]:.2f}, visual {replay.loc[name, ('visual', 'r')]:.2f}"

    text = "**What to look at.** The r columns. " + "; ".join(f"{m}: {rs(m)}" for m in readers)
    if not controls:
        return text + ". No control without test-time teacher labels has runs here, so nothing is concluded."
    text += "; against " + "; ".join(f"{m}: {rs(m)}" for m in controls) + " (no teacher label at test time)."
    ceiling = {m: max(replay.loc[c, (m, "r")] for c in controls) for m in ("audio", "visual")}
    above = {m: [r for r in readers if replay.loc[r, (m, "r")] > ceiling[m]] for m in ("audio", "visual")}
    for modality in ("audio", "visual"):
        n = len(above[modality])
        if n == len(readers):
            text += f" In {modality}, every reader's r exceeds every control's ({ceiling[modality]:.2f} at most)."
        elif n:
            text += (
                f" In {modality}, {'; '.join(above[modality])} exceed every control's r "
                f"({ceiling[modality]:.2f} at most); the others do not."
            )
        else:
            text += f" In {modality}, no reader's r exceeds the controls' ({ceiling[modality]:.2f} at most)."
    seeds = int(replay[("", "seeds")].min()) if ("", "seeds") in replay.columns else 0
    if all(len(above[m]) == len(readers) for m in above):
        text += (
            " This is what PLSIM passing on the teachers' test-time labels looks like: the readers gain "
            "where the teachers are better than VALOR++ and lose where they are worse."
        )
    else:
        text += (
            " Where a reader does not exceed the controls, its gain follows the teachers no more than that "
            "of a model that never reads them at test time (training on their labels, as S-LOSS's label "
            "term does, already ties a model to them): that part is not PLSIM's doing."
        )
    if seeds < 2:
        single = [m for m in replay.index if replay.loc[m, ("", "seeds")] < 2]
        text += f" One training run each behind {'; '.join(single)}: their r may move with more seeds."
    return text


def replay_before_after(before, after, models=None):
    """The r columns of two :func:`teacher_replay_frame` frames side by side (e.g. the first
    SynthLLP's grid and the grid on VALOR-like teachers): rows ``models`` (default: every model
    in either), columns (grid, modality) with the r, and each grid's seeds."""
    import pandas as pd

    models = list(models) if models is not None else list(dict.fromkeys([*before.index, *after.index]))
    columns = {}
    for name, frame in (("before", before), ("after", after)):
        for modality in ("audio", "visual"):
            columns[(name, f"r {modality}")] = frame[(modality, "r")].reindex(models)
        columns[(name, "seeds")] = frame[("", "seeds")].reindex(models).astype("Int64")
    table = pd.DataFrame(columns)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    table.index.name = "per-video gain ~ teachers' advantage: r"
    return table


def commit_reading(measured: list[dict]) -> str:
    """Markdown: the commits the runs of ``measured`` (:func:`measured_rows`) started from, with
    how many runs each, and whether any had uncommitted changes."""
    from linkpaper.training.runs import RunRecord

    records = [RunRecord.read(run) for row in measured for run in row["runs"]]
    counts: dict = {}
    for record in records:
        counts[record.commit[:7]] = counts.get(record.commit[:7], 0) + 1
    dirty = sum(bool(r.dirty) for r in records)
    text = (
        f"The {len(records)} runs started from {len(counts)} commit{'s' if len(counts) != 1 else ''}: "
        + "; ".join(f"{c} ({n} run{'s' if n != 1 else ''})" for c, n in counts.items())
        + (f"; {dirty} with uncommitted changes." if dirty else ", none with uncommitted changes.")
    )
    return text
