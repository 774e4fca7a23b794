"""Chapter 10's computed sentences: what the compared models' scores, their aligned and
non-aligned gap, and the grid's per-epoch module records say, written so that they read
correctly with one seed per model (the spread is then unknown) and with several.

:func:`seed_note` (one seed, overlapping or separate seed ranges), :func:`score_difference_reading`
(the compared models' test scores), :func:`alignment_gaps` / :func:`alignment_gap_reading`
(how much each model loses from aligned to non-aligned segments), :func:`module_reading`
(CMIM's scalars, S-LOSS's μ) and :func:`tsam_reading` (TSAM's weights), and
:func:`summary_reading` (the chapter's summary, from the same numbers).

F-scores are percentages; runs: ``seed_analysis.seed_runs``; alignment frames:
``seed_analysis.alignment_seed_frame``; grid records: ``probe.grid_records``.
"""

from __future__ import annotations

import numpy as np

from linkpaper.errors import UserError
from linkpaper.evaluation.metrics import COLUMN_TITLES, SCORE_MODALITIES

ONE_SEED = "one seed: spread unknown"
OVERLAP = "seed ranges overlap"
APART = "seed ranges apart"
TEST_VIDEO_NOISE = (
    "* Seed ranges compare training seeds only: every seed is scored on the same test videos, so "
    "ranges that are apart leave out how much a difference depends on which test videos were "
    "drawn. Chapter 9's intervals (paired bootstrap over the test videos, and two-level over "
    "seeds and test videos, for segment- and event-level Type@AV) add that noise: a difference "
    "whose seed ranges are apart can still be one they do not distinguish from noise."
)
"""The methodological note :func:`score_difference_reading` adds where some seed ranges are apart."""


def signed(value: float, digits: int = 1) -> str:
    """``+1.2`` / ``−1.2`` with a true minus sign; a value that rounds to zero is ``0.0``
    (never ``−0.0``)."""
    rounded = round(float(value), digits)
    if rounded == 0:
        return f"{0:.{digits}f}"
    return f"{rounded:+.{digits}f}".replace("-", "−")


def seed_note(first, second) -> str:
    """How two models' per-seed values relate: :data:`ONE_SEED` when either has fewer than
    two seeds (a point against a point, or against a range, says nothing about seed noise),
    else :data:`OVERLAP` (some seed of one scores within the other's range) or :data:`APART`."""
    first, second = np.asarray(first, float), np.asarray(second, float)
    if first.size < 2 or second.size < 2:
        return ONE_SEED
    if first.min() <= second.max() and second.min() <= first.max():
        return OVERLAP
    return APART


def _per_seed_scores(runs: dict, model: str, level: str) -> dict[str, np.ndarray]:
    """{score modality: per-seed values} of ``model`` in ``runs`` (seed order)."""
    keys = sorted(seed for name, seed in runs if name == model)
    if not keys:
        raise UserError(f"no run of {model} among the compared runs")
    return {m: np.array([runs[(model, s)]["scores"].table[level][m] for s in keys]) for m in SCORE_MODALITIES}


def _title(modality: str, level: str) -> str:
    """A score's name in these sentences; Event@AV names its level (``segment-level Event@AV``),
    as the book also reports event-level scores."""
    title = COLUMN_TITLES[modality]
    return f"{level}-level {title}" if modality == "event" else title


def score_difference_reading(runs: dict, models: list[str], level: str = "segment") -> str:
    """Markdown bullets: per score (Audio, Visual, Audio-visual, Type@AV, Event@AV at ``level``)
    the difference of the seed means, ``models[1]`` minus ``models[0]``, with its
    :func:`seed_note`; the largest difference in absolute value; whether audio and visual move
    apart; and, where some seed ranges are apart, :data:`TEST_VIDEO_NOISE`."""
    a, b = models
    first, second = _per_seed_scores(runs, a, level), _per_seed_scores(runs, b, level)
    diff = {m: float(second[m].mean() - first[m].mean()) for m in SCORE_MODALITIES}
    notes = {m: seed_note(first[m], second[m]) for m in SCORE_MODALITIES}
    n_a, n_b = len(first["audio"]), len(second["audio"])
    pieces = "; ".join(f"{_title(m, level)} {signed(diff[m])} ({notes[m]})" for m in SCORE_MODALITIES)
    lines = [
        f"* {level.capitalize()}-level F, {b} ({n_b} seed(s)) minus {a} ({n_a} seed(s)), seed means, "
        f"in points: {pieces}."
    ]
    largest = max(SCORE_MODALITIES, key=lambda m: abs(diff[m]))
    verdict = {
        ONE_SEED: "with a single seed on at least one side it cannot be told apart from seed noise",
        OVERLAP: "the seed ranges overlap, so it is not evidence of a difference between the models",
        APART: f"the seed ranges are apart ({n_b} and {n_a} seeds)",
    }[notes[largest]]
    lines.append(
        f"* The largest difference is in **{_title(largest, level)}** ({signed(diff[largest])} points); {verdict}."
    )
    up, down = diff["audio"], diff["visual"]
    if round(up, 1) * round(down, 1) < 0:
        lines.append(
            f"* Audio and visual move in opposite directions ({signed(up)} and {signed(down)}): "
            "the per-modality panels below say more than the averages that mix them."
        )
    if APART in notes.values():
        lines.append(TEST_VIDEO_NOISE)
    return "\n".join(lines)


def alignment_gaps(frame, models: list[str]):
    """Per model, seed and modality, the F on aligned segments minus the F on non-aligned
    ones (points; positive: non-aligned segments score lower). frame:
    ``seed_analysis.alignment_seed_frame``. Returns a DataFrame indexed (model, seed) with one
    column per modality, the models in ``models`` order."""
    wide = frame.pivot_table(index=["model", "seed", "modality"], columns="segments", values="F")
    missing = {"aligned", "non-aligned"} - set(wide.columns)
    if missing:
        raise UserError(f"the alignment frame lacks {', '.join(sorted(missing))} segments")
    gaps = (wide["aligned"] - wide["non-aligned"]).unstack("modality")
    order = list(dict.fromkeys(frame["modality"]))
    rows = [key for model in models for key in gaps.index if key[0] == model]
    return gaps.loc[rows, order]


def alignment_gap_reading(frame, models: list[str]) -> str:
    """Markdown bullets: per modality, each model's gap from aligned to non-aligned segments
    (seed means, :func:`alignment_gaps`), the difference of the gaps (``models[1]`` minus
    ``models[0]``; negative: narrower) with its :func:`seed_note`, and a count of the columns
    in which ``models[1]``'s gap is narrower."""
    a, b = models
    gaps = alignment_gaps(frame, models)
    pieces, narrower = [], []
    for m in gaps.columns:
        ga, gb = gaps.loc[a, m].to_numpy(), gaps.loc[b, m].to_numpy()
        change = gb.mean() - ga.mean()
        if round(change, 1) < 0:
            narrower.append(m)
        pieces.append(
            f"* **{m}**: {a} {ga.mean():.1f}, {b} {gb.mean():.1f} points; {b}'s gap "
            f"{signed(change)} ({seed_note(ga, gb)})."
        )
    total = len(gaps.columns)
    if narrower:
        head = f"{b}'s gap is narrower than {a}'s in {len(narrower)} of {total} columns ({', '.join(narrower)})"
    else:
        head = f"{b}'s gap is not narrower than {a}'s in any of the {total} columns"
    single = gaps.groupby(level="model").size().min() < 2
    tail = (
        "; with one seed on at least one side, no gap difference is established"
        if single
        else "; a difference counts only where the seed ranges are apart"
    )
    intro = (
        "The gap from aligned to non-aligned segments (aligned minus non-aligned F, seed means; "
        f"negative change: {b} loses less): {head}{tail}."
    )
    return "\n".join([intro, "", *pieces])


def _last_and_first(grid: dict, key: str):
    """(first-epoch values, last-epoch values, number of variants) of one per-epoch quantity
    over every run that records it."""
    from linkpaper.chapters.probe import epoch_series

    series = epoch_series(grid, key)
    first = series.apply(lambda col: col.dropna().iloc[0]).to_numpy()
    last = series.apply(lambda col: col.dropna().iloc[-1]).to_numpy()
    variants = len(set(series.columns.get_level_values("variant")))
    return first, last, variants


def _span(values, digits: int) -> str:
    low, high = float(np.min(values)), float(np.max(values))
    if round(low, digits) == round(high, digits):
        return f"{low:.{digits}f}"
    return f"between {low:.{digits}f} and {high:.{digits}f}"


def module_reading(grid: dict) -> str:
    """Markdown bullets: where CMIM's α₁ and α₂ end (last epoch, every run with CMIM) and how
    far from their initial 1, and where S-LOSS's μ ends and how far towards 1 (where λ becomes
    1). grid: ``probe.grid_records``. A quantity no run records is said to be absent."""
    lines = []
    try:
        changes = []
        parts = []
        for key, name in (("alpha1", "α₁"), ("alpha2", "α₂")):
            _, last, variants = _last_and_first(grid, key)
            changes.append(np.abs(last - 1.0))
            parts.append(f"{name} {_span(last, 3)}")
        largest = float(np.max(np.concatenate(changes)))
        lines.append(
            f"* CMIM, last epoch ({len(last)} run(s) of {variants} variant(s)): {'; '.join(parts)}. "
            f"The largest change from the initial 1 is {largest:.3f} ({100 * largest:.1f} %)."
        )
    except UserError:
        lines.append("* No run of this grid records CMIM's scalars yet.")
    try:
        _, last, variants = _last_and_first(grid, "mu")
        lines.append(
            f"* S-LOSS's μ, last epoch ({len(last)} run(s) of {variants} variant(s)): {_span(last, 3)}, "
            f"at most {100 * float(np.max(last)):.0f} % of the way from 0 to 1, where λ becomes 1."
        )
    except UserError:
        lines.append("* No run of this grid records S-LOSS's μ yet.")
    return "\n".join(lines)


def tsam_reading(grid: dict) -> str:
    """Markdown bullets: per modality, TSAM's temporal spread at the first and the last epoch
    (and whether it grew or fell in every run), and the spatial weights at the last epoch:
    their spread, their mean and how many times the temporal spread exceeds the spatial one.
    grid: ``probe.grid_records``."""
    lines = []
    for m, name in (("a", "audio"), ("v", "visual")):
        try:
            t_first, t_last, variants = _last_and_first(grid, f"tsam_{m}_temporal_std")
            _, s_last, _ = _last_and_first(grid, f"tsam_{m}_spatial_std")
            _, s_mean, _ = _last_and_first(grid, f"tsam_{m}_spatial_mean")
        except UserError:
            lines.append(f"* No run of this grid records TSAM's {name} weights yet.")
            continue
        change = t_last - t_first
        trend = (
            "falls in every run"
            if (change < 0).all()
            else "grows in every run"
            if (change > 0).all()
            else "grows in some runs and falls in others"
        )
        ratio = float(np.min(t_last) / np.max(s_last))
        lines.append(
            f"* **{name.capitalize()}** ({len(t_last)} run(s) of {variants} variant(s)): the temporal "
            f"spread goes from {_span(t_first, 3)} at the first epoch to {_span(t_last, 3)} at the last "
            f"({trend}). At the last epoch the spatial weights average {_span(s_mean, 3)} with a "
            f"spread of {_span(s_last, 4)}; the temporal spread is at least {ratio:.0f} times larger."
        )
    return "\n".join(lines)


def summary_reading(runs: dict, models: list[str], alignment, grid: dict) -> str:
    """Markdown bullets for the chapter's summary: the seeds compared, whether every model
    scores lower on non-aligned segments and in how many columns ``models[1]``'s gap is
    narrower, and how far CMIM's scalars and μ moved (``None`` parts are left out)."""
    a, b = models
    counts = {m: len({s for name, s in runs if name == m}) for m in models}
    lines = [
        f"* This page compared {counts[a]} seed(s) of {a} with {counts[b]} of {b}, trained on "
        "SynthLLP small (synthetic features) and scored on LLP's real test annotations"
        + (": no seed spread is known yet." if min(counts.values()) < 2 else ".")
    ]
    gaps = alignment_gaps(alignment, models)
    means = gaps.groupby(level="model").mean()
    lower = bool((means > 0).all().all())
    narrower = [m for m in means.columns if round(means.loc[b, m] - means.loc[a, m], 1) < 0]
    notes = {m: seed_note(gaps.loc[a, m].to_numpy(), gaps.loc[b, m].to_numpy()) for m in narrower}
    if any(note == ONE_SEED for note in notes.values()):
        evidence = "one seed on at least one side: spread unknown"
    elif narrower:
        evidence = f"with seed ranges apart in {sum(note == APART for note in notes.values())} of them"
    else:
        evidence = "seed means"
    lines.append(
        (
            "* Every model scores lower on non-aligned segments in every column"
            if lower
            else "* Not every model scores lower on non-aligned segments in every column"
        )
        + f"; {b}'s gap is narrower than {a}'s in {len(narrower)} of {len(means.columns)} columns ({evidence})."
    )
    try:
        _, alpha1, _ = _last_and_first(grid, "alpha1")
        _, alpha2, _ = _last_and_first(grid, "alpha2")
        largest = float(np.max(np.abs(np.concatenate([alpha1, alpha2]) - 1.0)))
        cmim = f"CMIM's scalars end at most {100 * largest:.1f} % from their initial 1"
    except UserError:
        cmim = None
    try:
        _, mu, _ = _last_and_first(grid, "mu")
        sloss = f"S-LOSS's μ at most {100 * float(np.max(mu)):.0f} % of the way to 1"
    except UserError:
        sloss = None
    moved = [part for part in (cmim, sloss) if part]
    if moved:
        lines.append(f"* In the grid's training records, {' and '.join(moved)}.")
    return "\n".join(lines)
