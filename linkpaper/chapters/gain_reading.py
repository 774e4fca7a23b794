"""Gains over the baseline and their noise, and the sentences that read them (chapter 9).

:func:`gain_data` / :func:`gain_report` (seed spread and paired bootstrap,
``linkpaper.evaluation.gains``), :func:`seed_gain_points` and :func:`gain_figure` (gains, never
absolute numbers, beside the paper's reported gains), :func:`modality_gains`, and the Markdown
sentences that read them (:func:`grid_status`, :func:`gain_verdicts`, :func:`modality_reading`,
:func:`grid_limits`), so that no number in the prose is typed. Also: which data the run records
name (:func:`data_kinds`, :func:`data_sentence`, :func:`teachers_name`), what changed between two
grids and which gains moved beyond both grids' noise (:func:`data_changes`,
:func:`before_after_lesson`), and what the model-selection rule does to each gain
(:func:`selection_reading`, :func:`selection_caveats`). Scores are percentages.
"""

from __future__ import annotations

import numpy as np

from linkpaper.chapters.run_records import _label, _rows_of, _signed
from linkpaper.chapters.run_records import teachers_name as run_records_teachers_name
from linkpaper.errors import UserError


def gain_data(
    measured: list[dict],
    reported: list[dict],
    test,
    baseline: str = "valor++",
    columns=(3, 8),
    resamples: int = 2000,
    level: float = 0.95,
):
    """The numbers behind :func:`gain_report`: one row per (variant, score), all numeric.

    Index (``variant``: the Table II label or the registry name, ``score``: e.g. "Seg type").
    Columns: ``model`` (registry name), ``reported`` (the paper's gain, NaN when it reports
    none), ``measured`` (difference of seed means), ``low`` / ``high`` (the paired-bootstrap
    interval over test videos at ``level``), ``low_seeds`` / ``high_seeds`` (the two-level
    interval: seeds, then test videos; ``linkpaper.evaluation.gains.two_level_bootstrap``), ``std`` /
    ``std_baseline`` (seed standard deviations, 0 for one seed), ``n`` / ``n_baseline``
    (seeds), ``stderr`` (standard error of the gain over seeds; a model with one seed borrows
    the other's spread; NaN when both have one seed), ``excludes_zero`` (the video interval
    does), ``distinct`` (the two-level interval excludes zero; False when both have one seed,
    the seed noise then unmeasured), ``seeds_needed`` (seeds per model for a gain of the paper's
    size at the measured spreads, NaN without a reported gain or when neither model has two
    seeds) with ``seeds_needed_low`` / ``seeds_needed_high`` (its range over the 95 %
    interval of the seed spread, ``linkpaper.evaluation.gains.seeds_needed_range``), ``borrowed`` (True
    when a model has one seed).

    A model with one seed has no spread of its own, and the two uses of the spread treat it
    differently: the two-level interval redraws its one seed every time, so it holds the other
    model's seed noise only (the one-seed model's own is not in it, and ``distinct`` is then
    provisional); ``stderr`` and ``seeds_needed`` assume it strays as much as the other
    model's seeds do (the pooled spread of ``seeds_needed_range`` is then the other model's).
    """
    import pandas as pd

    from linkpaper.evaluation.gains import (
        paired_bootstrap,
        seed_gain,
        seeds_needed,
        seeds_needed_range,
        two_level_bootstrap,
    )
    from linkpaper.evaluation.metrics import SCORE_LABELS as COLUMN_LABELS
    from linkpaper.evaluation.paper import VARIANT_LABELS
    from linkpaper.training.runs import run_per_video

    by_model = {row["model"]: row for row in measured}
    if baseline not in by_model:
        raise UserError(f"no measured run of the baseline {baseline!r}; measured: {', '.join(by_model) or 'none'}")
    paper_scores = {row["variant"]: row["scores"] for row in reported if row.get("variant")}
    per_video = {}

    def scores_of(model):  # (seeds, N, 10), read once per model
        if model not in per_video:
            per_video[model] = np.stack([run_per_video(run, test) for run in by_model[model]["runs"]])
        return per_video[model]

    base = by_model[baseline]
    records = []
    for row in measured:
        if row["model"] == baseline:
            continue
        seeds = seed_gain(_rows_of(row), _rows_of(base))
        boot = paired_bootstrap(scores_of(row["model"]), scores_of(baseline), resamples=resamples, level=level)
        both = two_level_bootstrap(scores_of(row["model"]), scores_of(baseline), resamples=resamples, level=level)
        for c in columns:
            paper_gain = (
                paper_scores[row["model"]][c] - paper_scores[baseline][c]
                if row["model"] in paper_scores and baseline in paper_scores
                else np.nan
            )
            # a variant with one seed borrows the baseline's seed spread (and vice versa)
            std_a = seeds.std_a[c] if row["n"] > 1 else seeds.std_b[c]
            std_b = seeds.std_b[c] if base["n"] > 1 else std_a
            spread = max(row["n"], base["n"]) > 1  # one seed each: no seed spread to borrow
            stderr = np.sqrt(std_a**2 / row["n"] + std_b**2 / base["n"]) if spread else np.nan
            needed = (
                seeds_needed(abs(paper_gain), std_a, std_b)
                if np.isfinite(paper_gain) and max(row["n"], base["n"]) > 1
                else np.nan
            )
            needed_low, _, needed_high = (
                seeds_needed_range(abs(paper_gain), seeds.std_a[c], seeds.std_b[c], row["n"], base["n"])
                if np.isfinite(needed)
                else (np.nan, np.nan, np.nan)
            )
            excludes_both = bool(both.excludes_zero()[c])
            records.append(
                {
                    "variant": VARIANT_LABELS.get(row["model"], row["model"]),
                    "score": COLUMN_LABELS[c],
                    "model": row["model"],
                    "reported": paper_gain,
                    "measured": float(seeds.gain[c]),
                    "low": float(boot.low[c]),
                    "high": float(boot.high[c]),
                    "low_seeds": float(both.low[c]),
                    "high_seeds": float(both.high[c]),
                    "std": float(seeds.std_a[c]),
                    "std_baseline": float(seeds.std_b[c]),
                    "n": int(row["n"]),
                    "n_baseline": int(base["n"]),
                    "stderr": float(stderr),
                    "excludes_zero": bool(boot.excludes_zero()[c]),
                    "distinct": bool(excludes_both and spread),
                    "seeds_needed": needed,
                    "seeds_needed_low": needed_low,
                    "seeds_needed_high": needed_high,
                    "borrowed": bool(row["n"] < 2 or base["n"] < 2),
                }
            )
    names = [
        "model",
        "reported",
        "measured",
        "low",
        "high",
        "low_seeds",
        "high_seeds",
        "std",
        "std_baseline",
        "n",
        "n_baseline",
        "stderr",
        "excludes_zero",
        "distinct",
        "seeds_needed",
        "seeds_needed_low",
        "seeds_needed_high",
        "borrowed",
    ]
    frame = pd.DataFrame.from_records(records, columns=["variant", "score", *names])
    kinds = dict.fromkeys(names[1:], float) | dict.fromkeys(["n", "n_baseline"], int)
    kinds |= dict.fromkeys(["excludes_zero", "distinct", "borrowed"], bool)
    frame = frame.astype(kinds).set_index(["variant", "score"])  # typed even with no variant to compare
    frame.attrs["level"] = level
    return frame


def gains_before_after(before, after, score: str = "Seg type", digits: int = 2):
    """Each variant's gain over the baseline on two grids side by side (two :func:`gain_data`
    frames, e.g. the first SynthLLP and the one with VALOR-like teachers), on ``score``.

    Columns per grid: the gain, its interval over seeds and test videos, and the seeds; then
    ``change`` (after minus before). Variants measured on only one grid keep NaN / empty cells
    on the other."""
    import pandas as pd

    columns = {}
    for name, data in (("before", before), ("after", after)):
        rows = data.xs(score, level="score") if len(data) else data
        columns[(name, "gain")] = rows["measured"] if len(rows) else pd.Series(dtype=float)
        columns[(name, "interval (seeds and videos)")] = pd.Series(
            {
                v: f"[{_signed(lo, digits)}, {_signed(hi, digits)}]"
                for v, lo, hi in zip(rows.index, rows["low_seeds"], rows["high_seeds"])
            }
            if len(rows)
            else {},
            dtype=object,
        )
        columns[(name, "seeds")] = rows["n"] if len(rows) else pd.Series(dtype=float)
    frame = pd.DataFrame(columns)
    frame[("", "change")] = frame[("after", "gain")] - frame[("before", "gain")]
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "variant"
    return frame.round({("before", "gain"): digits, ("after", "gain"): digits, ("", "change"): digits})


def before_after_reading(frame, before: str = "the first grid", after: str = "this grid") -> str:
    """Markdown from :func:`gains_before_after`: per variant measured on both grids, the gain
    before and after and whether it changed sign; then the largest moves, and the variants on
    one grid only (labels joined by semicolons: they hold commas). Computed, so it stays true
    as the grids fill. Returns the bullets, one per line."""
    both = frame.dropna(subset=[("before", "gain"), ("after", "gain")])
    if both.empty:
        return f"No variant has runs on both {before} and {after} yet."
    lines = []
    for variant, row in both.iterrows():
        b, a = row[("before", "gain")], row[("after", "gain")]
        flip = " (**sign changed**)" if np.sign(a) != np.sign(b) and a != 0 and b != 0 else ""
        lines.append(
            f"* **{_label(variant)}**: {_signed(b)} → {_signed(a)}{flip}; after: "
            f"{int(row[('after', 'seeds')])} seed(s), interval {row[('after', 'interval (seeds and videos)')]}"
        )
    change = both[("", "change")]
    biggest = change.abs().sort_values(ascending=False).index[:3]
    lines.append(
        "* Largest moves: "
        + "; ".join(f"{_label(v)} {_signed(change[v])}" for v in biggest)
        + f" points (segment Type@AV gain, {after} minus {before})."
    )
    only = [v for v in frame.index if v not in both.index]
    if only:
        lines.append(f"* On one grid only: {'; '.join(_label(v) for v in only)}.")
    return "\n".join(lines)


def gain_report(
    measured: list[dict],
    reported: list[dict],
    test,
    baseline: str = "valor++",
    columns=(3, 8),
    resamples: int = 2000,
    level: float = 0.95,
    digits: int = 2,
    data=None,
):
    """What each variant's gain over ``baseline`` is worth, on the score ``columns``.

    measured: :func:`measured_rows`, each run folder holding ``test_decisions.npz``
    (``scripts/collect_results.py`` writes them); reported: ``paper.reported_rows``; test: the
    test annotations (``load_annotations("test")``). Per variant and score (columns):
    ``reported``, the paper's gain; ``measured``, the difference of seed means; ``seed std``,
    the variant's and the baseline's seed standard deviations; ``95% interval`` (for the
    default ``level``), the paired-bootstrap interval over test videos
    (``linkpaper.evaluation.gains.paired_bootstrap`` on seed-averaged per-video scores), and beside it the
    interval over seeds *and* test videos (``linkpaper.evaluation.gains.two_level_bootstrap``);
    ``distinct``, True when the second interval excludes zero (both noise sources); ``seeds
    needed``, the seeds per model that a two-sided 5 % test with 80 % power needs for a gain of
    the paper's size at the measured seed spreads, with its range over the 95 % interval of
    the spread (``linkpaper.evaluation.gains.seeds_needed_range``; a model with a single seed borrows the
    other model's spread, empty when neither has two). Returns a pandas frame, rows (variant, score).
    ``data``: a :func:`gain_data` frame already computed (the other arguments but ``digits``
    are then ignored).
    """
    import pandas as pd

    if data is None:
        data = gain_data(measured, reported, test, baseline, columns, resamples, level)
    level = data.attrs.get("level", level)
    interval = f"{level:.0%} interval, test videos"
    interval_both = f"{level:.0%} interval, seeds and videos"

    def needed_text(point, low, high) -> str:
        return "" if not np.isfinite(point) else f"{point:,.0f} ({low:,.0f}-{high:,.0f})"

    frame = pd.DataFrame(
        {
            "reported": data["reported"],
            "measured": data["measured"],
            "seed std": [
                " / ".join(f"{v:.{digits}f}" if k > 1 else "n/a (1 seed)" for v, k in ((a, n), (b, nb)))
                for a, b, n, nb in zip(data["std"], data["std_baseline"], data["n"], data["n_baseline"])
            ],
            interval: [f"[{lo:+.{digits}f}, {hi:+.{digits}f}]" for lo, hi in zip(data["low"], data["high"])],
            interval_both: [
                f"[{lo:+.{digits}f}, {hi:+.{digits}f}]" for lo, hi in zip(data["low_seeds"], data["high_seeds"])
            ],
            "distinct": data["distinct"].astype(bool),
            "seeds needed (95% range)": [
                needed_text(*v) for v in zip(data["seeds_needed"], data["seeds_needed_low"], data["seeds_needed_high"])
            ],
        },
        index=data.index,
    )
    return frame.round({"reported": 1, "measured": digits})


def grid_status(measured: list[dict], expected=None) -> str:
    """Markdown: which variants a grid folder holds, with their seeds, and which are missing.

    measured: :func:`measured_rows`; expected: the variants the grid is meant to hold
    (default: the eight of Table II, ``linkpaper.models.list_models()``).
    """
    from linkpaper.chapters.probe import seed_text
    from linkpaper.models import list_models

    expected = list(expected or list_models())
    runs = sum(row["n"] for row in measured)
    held = [
        f"{_label(row['model'])} ({row['n']} seed{'s' if row['n'] > 1 else ''}: {seed_text(row['seeds'])})"
        for row in measured
    ]
    text = (
        f"The records hold **{runs} finished run{'s' if runs != 1 else ''} of {len(measured)} "
        f"variant{'s' if len(measured) != 1 else ''}**: {'; '.join(held)}."
    )
    missing = [_label(v) for v in expected if v not in {row["model"] for row in measured}]
    if missing:
        text += (
            f" Not trained yet: {'; '.join(missing)}. Their rows and gains appear here once their runs are committed."
        )
    seeds = {row["n"] for row in measured}
    if len(seeds) > 1:
        text += " The variants have different numbers of seeds, so their spreads are not equally well known."
    return text


def seed_gain_points(measured: list[dict], baseline: str = "valor++", columns=(3, 8)):
    """Long table of every seed's gain over the baseline's seed mean.

    One row per (variant, seed, score): ``variant`` (label), ``model``, ``seed``, ``score``
    (the short label, e.g. "Seg type") and ``gain`` (points): the run's test score minus the
    mean over the baseline's seeds. The baseline's own seeds are included (their spread
    around their mean is the noise every gain carries).
    """
    import pandas as pd

    from linkpaper.evaluation.metrics import SCORE_LABELS
    from linkpaper.training.runs import RunRecord

    by_model = {row["model"]: row for row in measured}
    if baseline not in by_model:
        raise UserError(f"no measured run of the baseline {baseline!r}; measured: {', '.join(by_model) or 'none'}")
    base_mean = np.asarray(by_model[baseline]["mean"], dtype=float)
    rows = []
    for row in measured:
        for run in row["runs"]:
            record = RunRecord.read(run)
            for c in columns:
                rows.append(
                    {
                        "variant": _label(row["model"]),
                        "model": row["model"],
                        "seed": record.seed,
                        "score": SCORE_LABELS[c],
                        "gain": float(record.test_row[c]) - base_mean[c],
                    }
                )
    return pd.DataFrame(rows, columns=["variant", "model", "seed", "score", "gain"])


SCORE_NAMES = {
    "Seg type": "segment-level Type@AV",
    "Seg event": "segment-level Event@AV",
    "Event type": "event-level Type@AV",
    "Event event": "event-level Event@AV",
    "Seg a": "segment-level audio",
    "Seg v": "segment-level visual",
    "Seg av": "segment-level audio-visual",
    "Event a": "event-level audio",
    "Event v": "event-level visual",
    "Event av": "event-level audio-visual",
}


def gain_figure(data, points, source: str, baseline: str = "valor++", title: str = ""):
    """The bridge between the paper and the measurements: gains over the baseline, never
    absolute numbers.

    data: :func:`gain_data`; points: :func:`seed_gain_points` for the same runs. One panel per
    score in ``data``. Per variant: each seed's gain over the baseline's seed mean (grey dots;
    the baseline's own seeds first, showing its spread around zero), the measured gain (blue:
    filled when distinguishable from noise, hollow otherwise) with its paired-bootstrap
    interval over test videos, and beside it the paper's reported gain (black diamond, where
    the paper reports one). The y axis is a gain in F points, the same quantity for both.
    """
    import seaborn as sns

    from linkpaper.chapters.viz import describe, pyplot, titled

    plt = pyplot()
    scores = list(dict.fromkeys(data.index.get_level_values("score")))
    base = _label(baseline)
    if not scores:  # only the baseline has runs: nothing to compare yet
        fig, ax = plt.subplots(figsize=(6, 1.6))
        ax.axis("off")
        ax.text(0.5, 0.5, f"No variant besides {base} has a finished run yet.", ha="center", va="center")
        heading = title or f"Gains over {base}"
        fig.suptitle(titled(heading, source), fontsize=10)
        return describe(fig, f"An empty panel: no variant besides {base} to compare", source, title=heading)
    spread = f"{base} (its seeds)"
    points = points.replace({"variant": {base: spread}})
    order = [spread] + list(dict.fromkeys(data.index.get_level_values("variant")))
    # one panel per score, stacked, so the figure keeps a readable width in the text column
    fig, axes = plt.subplots(
        len(scores), 1, figsize=(max(5.5, 0.6 * len(order) + 2.8), 2.6 * len(scores) + 1.4), squeeze=False
    )
    axes = axes.T
    level = data.attrs.get("level", 0.95)
    for ax, score in zip(axes[0], scores):
        seeds = points[points["score"] == score]
        ax.axhline(0, color="black", lw=0.8)
        state = np.random.get_state()  # seaborn jitters with numpy's global generator:
        np.random.seed(0)  # a fixed draw keeps the figure the same on every execution
        try:
            sns.stripplot(
                seeds,
                x="variant",
                y="gain",
                order=order,
                ax=ax,
                color="#949494",
                size=4.5,
                jitter=0.08,
                label="measured: one seed (minus the mean of the baseline's seeds)",
            )
        finally:
            np.random.set_state(state)
        rows = data.xs(score, level="score")
        for i, variant in enumerate(order[1:], start=1):
            if variant not in rows.index:
                continue
            row = rows.loc[variant]
            label = (
                f"measured gain, {level:.0%} interval over test videos (filled: distinguishable from noise)"
                if row["distinct"]
                else f"measured gain, {level:.0%} interval over test videos (hollow: not distinguishable from noise)"
            )
            wide = [[row["measured"] - row["low_seeds"]], [row["high_seeds"] - row["measured"]]]
            ax.errorbar(
                i + 0.18,
                row["measured"],
                yerr=wide,
                fmt="none",
                ecolor="#9ecae1",
                lw=5,
                capsize=0,
                label=f"{level:.0%} interval over seeds and test videos",
                zorder=1,
            )
            error = [[row["measured"] - row["low"]], [row["high"] - row["measured"]]]
            ax.errorbar(
                i + 0.18,
                row["measured"],
                yerr=error,
                fmt="o",
                color="#0173b2",
                ms=7,
                capsize=3,
                lw=1.5,
                mfc="#0173b2" if row["distinct"] else "white",
                label=label,
                zorder=2,
            )
            if np.isfinite(row["reported"]):
                ax.scatter(
                    i + 0.36,
                    row["reported"],
                    marker="D",
                    s=32,
                    color="black",
                    zorder=5,
                    label="paper's gain on LLP (reported)",
                    gid="reported",
                )
        ax.set_xlim(-0.5, len(order) - 0.3)
        if ax is axes[0, -1]:
            ax.tick_params(axis="x", rotation=30)
            plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
        else:
            ax.set_xticklabels([])
        ax.set_xlabel("")
        ax.set_ylabel("gain (F points)")
        ax.set_title(f"{SCORE_NAMES.get(score, score)}: gain over {base}", fontsize=9)
    found = {}
    for ax in axes[0]:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            found.setdefault(name, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(found.values(), found.keys(), loc="lower center", ncol=1, frameon=False, fontsize=8)
    heading = title or f"Gains over {base}: measured (with their noise) beside reported"
    fig.suptitle(titled(heading, source), fontsize=10)
    fig.tight_layout(rect=(0, (0.18 * len(found) + 0.1) / fig.get_figheight(), 1, 1))
    names = " and ".join(SCORE_NAMES.get(s, s) for s in scores)
    return describe(
        fig,
        f"Dot plot per variant of the gain over {base} in {names}: every seed's gain (grey), "
        f"the measured gain with its {level:.0%} paired-bootstrap interval over test videos (blue, "
        "hollow when not distinguishable from noise), its interval over seeds and test videos "
        "(light blue) and the paper's reported gain (black diamond)",
        source,
        title=heading,
    )


def gain_verdicts(data, score: str = "Seg type", baseline: str = "valor++", notes: dict | None = None) -> str:
    """Markdown, one bullet per variant: the measured gain on ``score`` with its interval and
    seed counts, the paper's gain, whether it is distinguishable from noise, and how many seeds
    a gain of the paper's size would need. data: :func:`gain_data`.

    When the variant or the baseline has one seed, the verdict is marked **provisional** and
    says why: the interval over seeds and test videos then holds the other model's seed noise
    only (with one seed each, none), and the seeds needed assume the one-seed model strays as
    much as the other's seeds do. notes: ``{variant label: sentence}`` appended to that
    variant's bullet (e.g. :func:`selection_caveats`). Returns the bullets, one per line.
    """
    if data.empty:
        return f"No variant besides {_label(baseline)} has a finished run yet, so there is no gain to read."
    level = data.attrs.get("level", 0.95)
    name = SCORE_NAMES.get(score, score)
    base = _label(baseline)
    notes = notes or {}
    lines = []
    explained = False  # the rule is spelled out at its first use only
    for variant, row in data.xs(score, level="score").iterrows():
        seeds = f"{row['n']} seed{'s' if row['n'] > 1 else ''} against {row['n_baseline']} of {base}"
        text = (
            f"* **{variant}** ({seeds}): {name} gain **{_signed(row['measured'])}** points, "
            f"{level:.0%} interval over test videos [{_signed(row['low'])}, {_signed(row['high'])}], "
            f"over seeds and test videos [{_signed(row['low_seeds'])}, {_signed(row['high_seeds'])}]"
        )
        if np.isfinite(row["reported"]):
            text += f"; the paper reports {_signed(row['reported'], 1)}"
        else:
            text += "; the paper reports no such variant"
        unmeasured = row["n"] < 2 and row["n_baseline"] < 2  # one seed each: no spread at all
        single, other = (variant, base) if row["n"] < 2 else (base, variant)
        provisional, spread = "", "the measured seed spread"
        if unmeasured:
            provisional = (
                " (provisional: one seed per model, so the seed spread is not measured and neither "
                "interval holds any seed noise)"
            )
        elif row["borrowed"]:
            provisional = (
                f" (provisional: {single} has one seed, so the interval over seeds and test videos holds "
                f"{other}'s seed noise but not {single}'s own)"
            )
            spread = f"{other}'s seed spread, assumed for {single} too"
        if row["distinct"]:
            text += ". **Distinguishable from noise**"
            if not explained:
                text += ": its interval over seeds and test videos excludes zero"
                explained = True
            text += provisional
        elif row["excludes_zero"]:
            but = "the seed noise is unknown" if unmeasured else "but the seed spread does not"
            text += (
                f". The test videos alone separate it from zero, {but}: **not distinguishable from noise**{provisional}"
            )
        else:
            text += f". **Not distinguishable from noise**{provisional}"
        if np.isfinite(row["seeds_needed"]):
            text += (
                f"; a gain of the paper's size would need about **{row['seeds_needed']:,.0f} seeds per model** "
                f"at {spread} ({row['seeds_needed_low']:,.0f} to {row['seeds_needed_high']:,.0f} "
                "over the 95 % interval of that spread, measured on so few seeds)"
            )
            in_hand = min(row["n"], row["n_baseline"])
            outside = not row["low"] <= row["reported"] <= row["high"]
            if not row["distinct"] and not row["borrowed"] and row["seeds_needed"] <= in_hand and outside:
                text += (
                    f", no more than the {in_hand} in hand, and the interval over test videos excludes the "
                    "paper's gain: on the data measured here this is **evidence against a gain of the paper's "
                    "size**, not merely a gain too small to see"
                )
        elif np.isfinite(row["reported"]) and row["reported"] == 0:
            text += "; the paper reports no gain here, so there is no size to detect"
        text += "."
        if notes.get(variant):
            text += f" {notes[variant]}"
        lines.append(text)
    return "\n".join(lines)


def modality_gains(measured: list[dict], baseline: str = "valor++", level: str = "segment"):
    """Per variant, the gain over the baseline's seed mean in each of ``level``'s five scores.

    Returns a numeric frame: index the variant labels (baseline excluded); columns (score
    title, ``gain`` | ``low`` | ``high`` | ``n``): the mean gain, the lowest and the highest
    single-seed gain (each seed of the variant minus the baseline's seed mean), and the
    number of seeds.
    """
    import pandas as pd

    from linkpaper.evaluation.metrics import COLUMN_TITLES, SCORE_COLUMNS

    by_model = {row["model"]: row for row in measured}
    if baseline not in by_model:
        raise UserError(f"no measured run of the baseline {baseline!r}; measured: {', '.join(by_model) or 'none'}")
    base_mean = np.asarray(by_model[baseline]["mean"], dtype=float)
    columns = [i for i, (lvl, _) in enumerate(SCORE_COLUMNS) if lvl == level]
    rows = {}
    for row in measured:
        if row["model"] == baseline:
            continue
        gains = _rows_of(row) - base_mean  # (seeds, 10)
        values = {}
        for c in columns:
            title = COLUMN_TITLES[SCORE_COLUMNS[c][1]]
            values.update(
                {
                    (title, "gain"): gains[:, c].mean(),
                    (title, "low"): gains[:, c].min(),
                    (title, "high"): gains[:, c].max(),
                    (title, "n"): len(gains),
                }
            )
        rows[_label(row["model"])] = values
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if not frame.empty:
        frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["score", "statistic"])
    frame.index.name = "variant"
    return frame


def modality_gain_table(gains, digits: int = 1, source: str = "", baseline: str = "valor++"):
    """:func:`modality_gains` as strings: ``"+5.1 (+3.9 to +6.3)"`` (mean gain, and the range
    of single-seed gains when there are several seeds), one column per score; the index is
    named ``"gain over <baseline> [<source>]"``."""
    import pandas as pd

    if gains.empty:
        return pd.DataFrame()
    titles = list(dict.fromkeys(gains.columns.get_level_values(0)))
    cells = {}
    for title in titles:
        part = gains[title]
        cells[title] = [
            _signed(g, digits) + (f" ({_signed(lo, digits)} to {_signed(hi, digits)})" if n > 1 else "")
            for g, lo, hi, n in zip(part["gain"], part["low"], part["high"], part["n"])
        ]
    frame = pd.DataFrame(cells, index=gains.index)
    frame.index.name = f"gain over {_label(baseline)}{' [' + source + ']' if source else ''}"
    return frame


def modality_reading(gains, baseline: str = "valor++") -> str:
    """Markdown bullets reading :func:`modality_gains`: per variant, the audio, visual and
    audio-visual gains, whether every seed agrees on their sign, and, for the S-LOSS controls,
    how much of +S's visual change each already shows."""
    if gains.empty:
        return f"No variant besides {_label(baseline)} has a finished run yet."
    parts = [m for m in ("Audio", "Visual", "Audio-visual") if m in gains.columns.get_level_values(0)]
    lines = []
    for variant, row in gains.iterrows():
        n = int(row[(parts[0], "n")])
        pieces = []
        for m in parts:
            text = f"{m.lower()} {_signed(row[(m, 'gain')], 1)}"
            if n > 1:
                if row[(m, "low")] > 0:
                    text += " (every seed above)"
                elif row[(m, "high")] < 0:
                    text += " (every seed below)"
                else:
                    text += f" (seeds from {_signed(row[(m, 'low')], 1)} to {_signed(row[(m, 'high')], 1)})"
            pieces.append(text)
        seeds = f"{n} seed{'s' if n > 1 else ''}"
        lines.append(f"* **{variant}** ({seeds}): " + ", ".join(pieces) + ".")
    labels = list(gains.index)
    plus_s = _label("+S")
    if plus_s in labels and "Visual" in parts:
        reference = gains.loc[plus_s, ("Visual", "gain")]
        controls = [v for v in labels if v.startswith("+S/")]
        if controls and abs(reference) > 0:
            shares = "; ".join(f"{v} {_signed(gains.loc[v, ('Visual', 'gain')], 1)}" for v in controls)
            label_only = "+S/label" in controls and np.sign(gains.loc["+S/label", ("Visual", "gain")]) == np.sign(
                reference
            )
            text = (
                f"* **The S-LOSS controls** against the visual change of {plus_s} ({_signed(reference, 1)}): {shares}."
            )
            if label_only:
                share = gains.loc["+S/label", ("Visual", "gain")] / reference
                single = min(int(gains.loc[v, ("Visual", "n")]) for v in ("+S/label", plus_s)) == 1
                text += (
                    f" The label term alone, before any similarity term, already gives "
                    f"{100 * share:.0f} % of it" + (" (from single seeds)." if single else ".")
                )
            lines.append(text)
    return "\n".join(lines)


def grid_limits(records: dict) -> str:
    """Markdown bullets of what a grid's records say about its schedule and its modules: the
    optimiser steps per epoch and in all (against LLP's training set with the same batch),
    where the trainable μ ends (it starts at 0; the variants that train it joined by
    semicolons), how far CMIM's scalars and, when the records hold β too, their products α·β
    move, and how far TSAM's spatial weights do. records: ``{(variant, seed): RunRecord}``
    (``probe.grid_records``). Returns the bullets, one per line ("No run records." for none)."""
    import math

    from linkpaper.chapters.probe import epoch_series
    from linkpaper.classes import SPLIT_SIZES

    if not records:
        return "No run records."
    record = next(iter(records.values()))
    config, sizes = record.config, record.data.get("sizes", {})
    lines = []
    if sizes.get("train") and config.get("batch_size"):
        steps = math.ceil(sizes["train"] / config["batch_size"])
        llp = math.ceil(SPLIT_SIZES["train"] / config["batch_size"])
        epochs = config.get("epochs", 0)
        lines.append(
            f"* **Schedule**: {sizes['train']:,} training videos in batches of {config['batch_size']} "
            f"make {steps} optimiser steps per epoch, {steps * epochs:,} in {epochs} epochs; LLP's "
            f"{SPLIT_SIZES['train']:,} training videos would make {llp} per epoch ({llp / steps:.1f} "
            "times as many)."
        )

    def series(key):
        try:
            return epoch_series(records, key)
        except UserError:
            return None

    mu = series("mu")
    if mu is not None:
        trained = mu.loc[:, (mu.iloc[-1] - mu.iloc[0]).abs() > 1e-6]
        if trained.shape[1]:
            last = trained.iloc[-1]
            variants = "; ".join(_label(v) for v in dict.fromkeys(trained.columns.get_level_values("variant")))
            lines.append(
                f"* **S-LOSS's μ** starts at 0; after the last epoch it is between {last.min():.2f} and "
                f"{last.max():.2f} in the {trained.shape[1]} runs that train it ({variants}). The weight "
                "λ becomes the constant 1 only at μ = 1, so these runs train with the adaptive weight "
                "throughout, with μ still far from 1 (chapter 6: the paper's schedule on LLP's larger "
                "training set has enough optimiser steps to take it there)."
            )
    alphas = [s for s in (series("alpha1"), series("alpha2")) if s is not None]
    if alphas:
        change = max(float((s.iloc[-1] - 1.0).abs().max()) for s in alphas)
        runs = alphas[0].shape[1]
        which = "the one run" if runs == 1 else "both runs" if runs == 2 else f"all {runs} runs"
        text = f"* **CMIM's scalars** α₁ and α₂ start at 1 and end within {change:.3f} of it in {which} with CMIM."
        pairs = {name: (series(f"alpha{i}"), series(f"beta{i}")) for i, name in ((1, "α₁·β₁"), (2, "α₂·β₂"))}
        ends = {
            name: (a.iloc[-1] * b.iloc[-1]).dropna()
            for name, (a, b) in pairs.items()
            if a is not None and b is not None
        }
        ends = {name: e for name, e in ends.items() if len(e)}
        if ends:  # CMIM scales what it takes from the other stream by the product α·β
            low, high = min(float(e.min()) for e in ends.values()), max(float(e.max()) for e in ends.values())
            products = "the product " if len(ends) == 1 else "the products "
            text += (
                f" What CMIM adds from the other stream is scaled by {products}{' and '.join(ends)} "
                f"(chapter 5), which end{'s' if len(ends) == 1 else ''} between {low:.3f} and {high:.3f}: "
                "a change of up to "
                f"{100 * max(abs(low - 1), abs(high - 1)):.0f} % from 1."
            )
        lines.append(text)
    spatial = [s for s in (series("tsam_a_spatial_std"), series("tsam_v_spatial_std")) if s is not None]
    if spatial:
        largest = max(float(s.iloc[-1].max()) for s in spatial)
        lines.append(
            f"* **TSAM's spatial weights** differ between channels by a standard deviation of at most "
            f"{largest:.4f} at the last epoch (the weights sit near 0.5): an almost uniform rescaling."
        )
    return "\n".join(lines)


def seeds_needed_notes(data, baseline: str = "valor++") -> str:
    """Markdown: why a row of :func:`gain_report` reads ``inf`` seeds needed (the paper reports no
    gain of that sign to detect, or the measured seed spread is zero) and what "n/a (1 seed)"
    means: what the code does with a one-seed model (:func:`gain_data`), and, where the
    records hold two or more measured spreads of a score, how far apart they are (how wrong
    assuming one model's spread for another can be). Returns "" when there is nothing to note."""
    notes = []
    infinite = data[np.isinf(data["seeds_needed"]) & np.isfinite(data["reported"])]  # NaN: one seed each
    zero_gain = [f"{v} ({s})" for (v, s), row in infinite.iterrows() if row["reported"] == 0]
    no_spread = [f"{v} ({s})" for (v, s), row in infinite.iterrows() if row["reported"] != 0]
    if zero_gain:
        notes.append(
            f"**inf** seeds needed ({'; '.join(zero_gain)}): the paper reports a gain of 0.0, so "
            "there is no gain of either sign to detect, however many seeds."
        )
    if no_spread:
        notes.append(f"**inf** seeds needed ({'; '.join(no_spread)}): the measured seed spread is zero.")
    if (data["n"] < 2).any() or (data["n_baseline"] < 2).any():
        notes.append(
            "**n/a (1 seed)**: a model with one seed has no measured spread. Its interval over seeds and "
            "test videos redraws that one seed every time, so it holds the other model's seed noise only, "
            "not the one-seed model's own, and its verdict below is **provisional**; its seeds needed "
            "assume it strays as much as the other model's seeds do."
        )
        score = data.index.get_level_values("score")[0]
        rows = data.xs(score, level="score")
        spreads = {v: row["std"] for v, row in rows.iterrows() if row["n"] > 1}
        if (rows["n_baseline"] > 1).any():
            spreads[_label(baseline)] = float(rows["std_baseline"].iloc[0])
        if len(spreads) > 1:
            low, high = min(spreads, key=spreads.get), max(spreads, key=spreads.get)
            notes.append(
                f"How far off that can be: the seed standard deviations of "
                f"{SCORE_NAMES.get(score, score)} measured here run from {spreads[low]:.2f} ({low}) to "
                f"{spreads[high]:.2f} ({high})."
            )
    return " ".join(notes)


# ----------------------------------------------------- which data, and what changed between grids


def _sources(rows: list[dict]) -> list[dict]:
    """The ``data["source"]`` of every run record behind ``rows`` (:func:`measured_rows`)."""
    from linkpaper.training.runs import RunRecord

    return [RunRecord.read(run).data.get("source", {}) for row in rows for run in row["runs"]]


def data_kinds(rows: list[dict]) -> set[str]:
    """The kinds of data the run records behind ``rows`` name (``data["source"]["kind"]``):
    ``{"synth"}`` for SynthLLP, ``{"llp"}`` for the real LLP features; ``"unknown"`` for a
    record that names none. Returns a set (empty for no rows)."""
    return {source.get("kind", "unknown") for source in _sources(rows)}


def data_sentence(rows: list[dict], baseline: str = "valor++") -> str:
    """Markdown: which data the measured rows come from, read from their run records (the
    ``data`` of :func:`measured_rows`), and what that allows: on SynthLLP only gains can be set
    beside the paper's; on LLP the absolute numbers too; a mixture is named and flagged."""
    names = list(dict.fromkeys(row["data"] for row in rows))
    kinds = data_kinds(rows)
    base = _label(baseline)
    if len(names) > 1 or len(kinds) > 1:
        return (
            f"The run records name more than one kind of data: **{'; '.join(names)}**. Rows trained on "
            "different data are not comparable; point the results folder at one grid."
        )
    if kinds == {"synth"}:
        return (
            f"The measured rows below come from **{names[0]}** (read from the run records): synthetic "
            f"features scored against LLP's real test annotations, so only their gains over {base} are "
            "set beside the paper's."
        )
    if kinds == {"llp"}:
        return (
            f"The measured rows below come from **{names[0]}** (read from the run records): their "
            "absolute numbers answer the paper's."
        )
    return f"The measured rows below come from **{names[0]}** (read from the run records)."


def teachers_name(rows: list[dict]) -> str:
    """Whose ungated teacher labels the runs of ``rows`` read, as the subject of a sentence:
    ``"SynthLLP's simulated teachers'"`` (synthetic data), ``"The CLAP and CLIP teachers'"``
    (LLP) or ``"The teachers'"``."""
    kinds = data_kinds(rows)
    if len(kinds) != 1:
        return "The teachers'"
    name = run_records_teachers_name({"kind": next(iter(kinds))})
    return name[0].upper() + name[1:] + "'"


def _value_text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def data_changes(before: list[dict], after: list[dict], names=("the first grid", "this grid")) -> str:
    """Markdown: how the data of two grids differ, read from their run records (``data["source"]``
    of :func:`measured_rows` rows ``before`` and ``after``): the kind and preset, every
    SynthLLP knob whose value differs (``class_noise 0.37 → 0.4``), the knobs only one grid's
    data has, and the rule that set the teachers. Returns one sentence, or says the data are
    the same; a grid whose runs disagree among themselves is named."""
    import json

    parts = []
    sources = {}
    for name, rows in zip(names, (before, after)):
        found = {json.dumps(s, sort_keys=True) for s in _sources(rows)}
        if len(found) != 1:
            return (
                f"The runs of {name} were trained on {len(found)} different versions of the data; their gains "
                "are not one grid's."
            )
        sources[name] = json.loads(found.pop())
    a, b = (sources[n] for n in names)
    for key in ("kind", "preset", "seed"):
        if a.get(key) != b.get(key):
            parts.append(f"the data's {key}, {a.get(key)} → {b.get(key)}")
    knobs_a, knobs_b = a.get("config", {}), b.get("config", {})
    changed = [k for k in knobs_a if k in knobs_b and knobs_a[k] != knobs_b[k]]
    parts += [f"**{k}** {_value_text(knobs_a[k])} → {_value_text(knobs_b[k])}" for k in changed]
    for name, own, other in ((names[0], knobs_a, knobs_b), (names[1], knobs_b, knobs_a)):
        only = [k for k in own if k not in other]
        if only:
            parts.append(f"the knob{'s' if len(only) > 1 else ''} {', '.join(only)} ({name}'s data only)")
    rules = [s.get("teachers", {}).get("rule") for s in (a, b)]
    if rules[0] != rules[1]:
        how = [f'by the rule "{r}"' if r else "by fixed knobs" for r in rules]
        parts.append(f"the teachers, set {how[0]} in {names[0]}'s data and {how[1]} in {names[1]}'s")
    if not parts:
        return f"Read from their run records, the data of {names[0]} and {names[1]} are the same."
    many = "in these ways at once" if len(parts) > 1 else "in one way"
    return (
        f"Read from their run records, the data of {names[0]} and {names[1]} differ {many}: " + "; ".join(parts) + "."
    )


def before_after_lesson(before, after, score: str = "Seg type", names=("the first grid", "this grid")) -> str:
    """Markdown: which gains moved between two grids by more than the noise of each, from two
    :func:`gain_data` frames.

    A variant's move counts only when neither grid's interval over seeds and test videos holds
    the other grid's gain (a move within either grid's seed noise is not evidence). A variant
    or baseline with one seed on a grid is marked provisional: that grid's interval lacks its
    own seed noise. Returns the moves beyond both grids' noise, those within it, and what the
    first say (a property of the data, not of the module)."""
    if before.empty or after.empty:
        return f"No variant has runs on both {names[0]} and {names[1]} yet."
    b_rows, a_rows = before.xs(score, level="score"), after.xs(score, level="score")
    common = [v for v in b_rows.index if v in a_rows.index]
    if not common:
        return f"No variant has runs on both {names[0]} and {names[1]} yet."
    beyond, within = [], []
    for v in common:
        b, a = b_rows.loc[v], a_rows.loc[v]
        outside = not b["low_seeds"] <= a["measured"] <= b["high_seeds"]
        outside &= not a["low_seeds"] <= b["measured"] <= a["high_seeds"]
        single = any(min(r["n"], r["n_baseline"]) < 2 for r in (b, a))
        text = f"{v} ({_signed(b['measured'])} → {_signed(a['measured'])}{', provisional' if single else ''})"
        (beyond if outside else within).append(text)
    lines = []
    if beyond:
        lines.append(
            f"Beyond the noise of both grids (neither grid's interval over seeds and test videos holds the "
            f"other grid's gain): {'; '.join(beyond)}. A gain that moves this far with the simulation is a "
            "property of how the benchmark was simulated (what changed is listed above), not of the module "
            "alone: on simulated data, a module's verdict is only as good as the simulation of what that "
            "module reads."
        )
    else:
        lines.append(
            "No gain moved beyond the noise of both grids (for each variant, one grid's interval over seeds and "
            "test videos holds the other grid's gain): with these seeds the records show no effect of the "
            "change of data on any gain."
        )
    if within:
        lines.append(
            f"Within the noise of at least one grid, so no evidence that the change of data moved them: "
            f"{'; '.join(within)}."
        )
    if any("provisional" in t for t in beyond + within):
        lines.append(
            "Provisional: a grid holds one seed of the variant or of the baseline, so its interval lacks "
            "that model's own seed noise and may hold too little."
        )
    return " ".join(lines)


# ------------------------------------------------------------------- the model-selection rule


def _selection_rows(frame, baseline: str):
    """(base row, variant rows with every seed's last epoch recorded, variants without) of a
    ``run_records.selection_frame``; base row None when the baseline lacks some last epoch."""
    base = _label(baseline)
    if frame.empty or base not in frame.index:
        return None, frame.iloc[:0], []
    complete = frame["last epoch recorded"] == frame["seeds"]
    others = frame.drop(index=base)
    missing = [v for v in others.index if not complete[v]]
    return (frame.loc[base] if complete[base] else None), others[complete.drop(index=base)], missing


def _flips(selected: float, last: float) -> bool:
    """Whether a gain has opposite signs under the two rules (both non-zero at two digits)."""
    return round(selected, 2) * round(last, 2) < 0


def _seeds_epochs(row) -> str:
    n = int(row["seeds"])
    epochs = str(row["selected epochs"])
    return f"{n} seed{'s' if n > 1 else ''}, selected epoch{'s' if n > 1 else ''} {epochs}"


def selection_reading(frame, threshold: float = 1.0, baseline: str = "valor++", score: str = "Seg type") -> str:
    """Markdown reading ``run_records.selection_frame`` (``score``'s column): how much choosing
    the epoch on validation instead of keeping the last epoch moves the baseline and each
    variant's gain over it.

    Names, with their seeds and selected epochs, the variants whose gain changes sign between
    the two rules (both signs non-zero at two digits), those whose gain moves by more than
    ``threshold`` points without changing sign, and the rest; variants with a seed whose last
    epoch was not recorded are listed apart. Records kept before the last epoch's test scores
    were give the range of the selected epochs instead. Returns the paragraph."""
    name = SCORE_NAMES.get(score, score)
    base_label = _label(baseline)
    if frame.empty or base_label not in frame.index:
        return f"No run of {base_label}, so there is no gain to compare between the two rules."
    base, rows, missing = _selection_rows(frame, baseline)
    if base is None:
        epochs = [int(e) for text in frame["selected epochs"] for e in str(text).split(", ")]
        return (
            f"**What to look at.** The selected epochs: from {min(epochs)} to {max(epochs)}. The runs of "
            f"{base_label} here were recorded before the last epoch's test scores were kept, so how much the "
            "selection rule moves each gain cannot be read from this folder."
        )
    unit = f"point{'s' if threshold != 1 else ''}"
    moved = base["selection moved"]
    text = (
        f"**What to look at.** The last two columns. {base_label} ({_seeds_epochs(base)}) scores "
        f"{abs(moved):.2f} points {'lower' if moved > 0 else 'higher'} in {name} at the last epoch than at "
        "its selected epochs, so every gain over it shifts with the rule."
    )
    if len(rows):
        shifts = frame.loc[[base_label, *rows.index], "selection moved"]
        text += (
            f" Over all the variants, the selection changes the mean test score by {_signed(shifts.min())} to "
            f"{_signed(shifts.max())} points (selected minus last)."
        )
    flips, large, small = [], [], []
    for variant, row in rows.iterrows():
        selected, last = row["gain, selected"], row["gain, last"]
        item = (
            f"**{variant}** ({_seeds_epochs(row)}): {_signed(selected)} at the selected, "
            f"{_signed(last)} at the last epoch"
        )
        if _flips(selected, last):
            flips.append(item)
        elif abs(last - selected) > threshold:
            large.append(item)
        else:
            small.append(variant)
    if flips:
        text += f" The gain over {base_label} **changes sign** between the two rules for " + "; ".join(flips) + "."
    if large:
        text += f" It moves by more than {threshold:g} {unit} without changing sign for " + "; ".join(large) + "."
    if small:
        text += f" For {'; '.join(small)} it moves by {threshold:g} {unit} or less."
    if flips:
        text += (
            " A gain whose sign depends on the selection rule is within the noise of model selection alone; "
            "its verdict above says so."
        )
    elif not large and len(rows):
        text += f" No gain changes sign or moves by more than {threshold:g} {unit} between the two rules."
    if missing:
        text += f" Not compared (a seed's last epoch was not recorded): {'; '.join(missing)}."
    return text


def selection_caveats(frame, baseline: str = "valor++", where: str = "see the section on model selection") -> dict:
    """``{variant label: sentence}`` for :func:`gain_verdicts` ``notes``: the variants of a
    ``run_records.selection_frame`` whose gain over ``baseline`` changes sign when the last
    epoch is scored instead of the best validation epoch (every seed of both recorded), with
    the gain under that rule; ``where`` (in parentheses) points to the section that explains it.
    Returns {} when no sign depends on the rule."""
    base, rows, _ = _selection_rows(frame, baseline)
    if base is None:
        return {}
    return {
        variant: (
            f"**Its sign depends on the selection rule**: scored at the last epoch instead of the best "
            f"validation epoch, the gain is {_signed(row['gain, last'])}, so this verdict holds for the "
            f"best-validation rule only ({where})."
        )
        for variant, row in rows.iterrows()
        if _flips(row["gain, selected"], row["gain, last"])
    }
