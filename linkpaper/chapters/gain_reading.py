"""Gains over the baseline and their noise, and the sentences that read them (chapter 9).

:func:`gain_data` / :func:`gain_report` (seed spread and paired bootstrap,
``linkpaper.evaluation.gains``), :func:`seed_gain_points` and :func:`gain_figure` (gains, never
absolute numbers, beside the paper's reported gains), :func:`modality_gains`, and the Markdown
sentences that read them (:func:`grid_status`, :func:`gain_verdicts`, :func:`modality_reading`,
:func:`grid_limits`), so that no number in the prose is typed. Scores are percentages.
"""

from __future__ import annotations

import numpy as np

from linkpaper.chapters.run_records import _label, _rows_of, _signed
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
    when a spread was borrowed).
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
                v: f"[{lo:+.{digits}f}, {hi:+.{digits}f}]"
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
    one grid only. Computed, so it stays true as the grids fill."""
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
        + ", ".join(f"{_label(v)} {_signed(change[v])}" for v in biggest)
        + f" points (segment Type@AV gain, {after} minus {before})."
    )
    only = [v for v in frame.index if v not in both.index]
    if only:
        lines.append(f"* On one grid only: {', '.join(_label(v) for v in only)}.")
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


def gain_verdicts(data, score: str = "Seg type", baseline: str = "valor++") -> str:
    """Markdown, one bullet per variant: the measured gain on ``score`` with its interval and
    seed counts, the paper's gain, whether it is distinguishable from noise, and how many seeds
    a gain of the paper's size would need. data: :func:`gain_data`."""
    if data.empty:
        return f"No variant besides {_label(baseline)} has a finished run yet, so there is no gain to read."
    level = data.attrs.get("level", 0.95)
    name = SCORE_NAMES.get(score, score)
    lines = []
    explained = False  # the rule is spelled out at its first use only
    for variant, row in data.xs(score, level="score").iterrows():
        seeds = f"{row['n']} seed{'s' if row['n'] > 1 else ''} against {row['n_baseline']} of {_label(baseline)}"
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
        borrowed = " (one seed: its spread is taken from the other model)" if row["borrowed"] else ""
        if unmeasured:
            borrowed = " (one seed per model: the seed spread is not measured)"
        if row["distinct"]:
            text += ". **Distinguishable from noise**"
            if not explained:
                text += ": its interval over seeds and test videos excludes zero"
                explained = True
            text += borrowed
        elif row["excludes_zero"]:
            but = "the seed noise is unknown" if unmeasured else "but the seed spread does not"
            text += (
                f". The test videos alone separate it from zero, {but}: **not distinguishable from noise**{borrowed}"
            )
        elif row["low_seeds"] > 0 or row["high_seeds"] < 0:  # one seed each: the two intervals coincide
            text += f". **Not distinguishable from noise**{borrowed}"
        else:
            text += f". **Not distinguishable from noise**{borrowed}"
        if np.isfinite(row["seeds_needed"]):
            text += (
                f"; a gain of the paper's size would need about **{row['seeds_needed']:,.0f} seeds per model** "
                f"at the measured seed spread ({row['seeds_needed_low']:,.0f} to {row['seeds_needed_high']:,.0f} "
                "over the 95 % interval of that spread, measured on so few seeds)"
            )
            in_hand = min(row["n"], row["n_baseline"])
            outside = not row["low"] <= row["reported"] <= row["high"]
            if not row["distinct"] and row["seeds_needed"] <= in_hand and outside:
                text += (
                    f", no more than the {in_hand} in hand, and the interval over test videos excludes the "
                    "paper's gain: on SynthLLP this is **evidence against a gain of the paper's size**, not "
                    "merely a gain too small to see"
                )
        elif np.isfinite(row["reported"]) and row["reported"] == 0:
            text += "; the paper reports no gain here, so there is no size to detect"
        lines.append(text + ".")
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
            shares = ", ".join(f"{v} {_signed(gains.loc[v, ('Visual', 'gain')], 1)}" for v in controls)
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
    where the trainable μ ends (it starts at 0), and how far CMIM's scalars and TSAM's
    spatial weights move. records: ``{(variant, seed): RunRecord}`` (``probe.grid_records``)."""
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
            variants = ", ".join(_label(v) for v in dict.fromkeys(trained.columns.get_level_values("variant")))
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
        lines.append(
            f"* **CMIM's scalars** α₁ and α₂ start at 1 and end within {change:.3f} of it in {which} with CMIM."
        )
    spatial = [s for s in (series("tsam_a_spatial_std"), series("tsam_v_spatial_std")) if s is not None]
    if spatial:
        largest = max(float(s.iloc[-1].max()) for s in spatial)
        lines.append(
            f"* **TSAM's spatial weights** differ between channels by a standard deviation of at most "
            f"{largest:.4f} at the last epoch (the weights sit near 0.5): an almost uniform rescaling."
        )
    return "\n".join(lines)


def seeds_needed_notes(data) -> str:
    """Markdown: why a row of :func:`gain_report` reads ``inf`` seeds needed (the paper reports no
    gain of that sign to detect, or the measured seed spread is zero) and what "n/a (1 seed)" means."""
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
            "**n/a (1 seed)**: a model with one seed has no measured spread; its seeds needed "
            "and its verdict borrow the other model's spread."
        )
    return " ".join(notes)
