"""Chapter 6's reading of a recipe grid (S-LOSS): sentences computed from the run records.

:func:`segment_scores` (each finished run's segment-level test scores, at the epoch selected on
validation or at the last epoch), :func:`s_pair_frame` and :func:`s_effect_reading` (what adding S
does to a score: each variant with S against its partner without it, paired by seed),
:func:`selection_reading` (how much of that depends on which epoch is read, with
:func:`selected_epochs`), :func:`label_share_reading` (how much of ``+S``'s change L_label alone
brings, from the control ``+S/label``), :func:`weight_form_reading` (the controls that separate the
adaptive weight and the form of the term), :func:`controls_reading` (which S-LOSS controls a folder
holds), :func:`visual_error_reading` (visual precision and recall from error counts),
:func:`mu_reading` (where μ ends against the optimiser's budget), :func:`alignment_reading` (the
encoder's last-epoch cosines), :func:`mu_variant_reading` (whether μ's end depends on the variant or
only on the seed), :func:`teacher_precision_reading` (video-level precision of the pseudo labels,
named by :func:`teachers_name`) and :func:`data_difference_reading` (every setting in which a
grid's data differs from the page's). No number in the prose is typed: every sentence reads the records it is given, and
reads correctly with one seed per variant (it then says that the seed spread is unknown) and with
several. Scores are percentages.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from linkpaper.chapters.probe import seed_text, source_difference_words
from linkpaper.chapters.run_records import _signed as signed
from linkpaper.chapters.run_records import teachers_name

SEGMENT = {"A": "audio", "V": "visual", "AV": "audio_visual", "Type@AV": "type"}
"""Columns of :func:`segment_scores` and the segment-level test score each reads."""
S_PAIRS = (("+S", "valor++"), ("+T+S", "+T"), ("+S+P", "+P"), ("link", "+T+P"))
"""Each Table II variant with S and its partner without S (the same other modules)."""
SLOSS_CONTROLS = ("+S/label", "+S/paper-mu1", "+S/leap-mu1", "+S/leap", "link/leap")
"""The controls that take S-LOSS apart (book/decisions.md, decision-sloss-form)."""
WEIGHT_FORM_PAIRS = (
    ("+S", "+S/paper-mu1", "the adaptive weight against λ = 1, paper's form"),
    ("+S/leap", "+S/leap-mu1", "the adaptive weight against λ = 1, prior work's form"),
    ("+S/leap", "+S", "the prior work's form against the paper's, adaptive weight"),
)
COSINES = ("cos_same", "cos_overlap", "cos_disjoint", "cos_empty")
"""The per-epoch diagnostics of the encoder's mean cosine per target group."""


def seed_words(seeds) -> str:
    """``"seed 87"`` or ``"seeds 87-89"``."""
    seeds = list(seeds)
    return f"seed{'s' if len(seeds) > 1 else ''} {seed_text(seeds)}"


def _join(names, quote: bool = True) -> str:
    """``"`a`"``, ``"`a` and `b`"``, ``"`a`, `b` and `c`"`` (``quote=False``: without backticks)."""
    names = [f"`{n}`" if quote else str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _one_seed(variants) -> str:
    """``"`+S` has one seed here"`` / ``"`a` and `b` have one seed each here"``."""
    return (
        f"{_join(variants)} has one seed here" if len(variants) == 1 else f"{_join(variants)} have one seed each here"
    )


def has_similarity_term(variant: str) -> bool:
    """Whether a registered variant trains S-LOSS's similarity term (``+S/label`` does not)."""
    from linkpaper.models import model_config

    config = model_config(variant)
    return bool(getattr(config, "use_sloss", False)) and config.similarity_form != "off"


# --------------------------------------------------------------------------------------------
# Test scores of the runs, and what adding S does to them
# --------------------------------------------------------------------------------------------


def segment_scores(records: dict, epoch: str = "selected") -> pd.DataFrame:
    """Segment-level test scores of every finished run: index (``variant``, ``seed``), columns
    ``A``, ``V``, ``AV``, ``Type@AV`` (:data:`SEGMENT`). records: ``{(variant, seed): RunRecord
    or results.json dict}`` (``probe.find_grid_records``); unfinished runs are left out. epoch:
    ``"selected"`` (the epoch each run selected on validation: the run's result) or ``"last"``
    (its last epoch's weights; runs recorded before those scores were kept are left out)."""
    from linkpaper.training.runs import RunRecord

    if epoch not in ("selected", "last"):
        raise ValueError(f"segment_scores: epoch must be 'selected' or 'last', not {epoch!r}")
    rows = {}
    for (variant, seed), record in records.items():
        record = RunRecord.coerce(record)
        test = record.test if epoch == "selected" else record.last_epoch_test
        if not record.complete or not test:
            continue
        segment = test["segment"]
        rows[(variant, int(seed))] = [float(segment[key]) for key in SEGMENT.values()]
    index = pd.MultiIndex.from_tuples(list(rows), names=["variant", "seed"])
    return pd.DataFrame(list(rows.values()), index=index, columns=list(SEGMENT), dtype=float)


def selected_epochs(records: dict) -> pd.DataFrame:
    """The epoch each finished run selected on validation and its last epoch: index
    (``variant``, ``seed``), columns ``selected`` and ``last``."""
    from linkpaper.training.runs import RunRecord

    rows = {}
    for (variant, seed), record in records.items():
        record = RunRecord.coerce(record)
        if record.complete and record.best_epoch is not None and record.epochs:
            last = max(int(e.get("epoch", i + 1)) for i, e in enumerate(record.epochs))
            rows[(variant, int(seed))] = [int(record.best_epoch), last]
    index = pd.MultiIndex.from_tuples(list(rows), names=["variant", "seed"])
    return pd.DataFrame(list(rows.values()), index=index, columns=["selected", "last"], dtype=int)


def seeds_of(scores: pd.DataFrame, variant: str) -> list[int]:
    """The seeds of ``variant``'s finished runs in :func:`segment_scores`, ascending."""
    if variant not in scores.index.get_level_values("variant"):
        return []
    return sorted(int(s) for s in scores.loc[variant].index)


def shared_seeds(scores: pd.DataFrame, *variants: str) -> list[int]:
    """The seeds every one of ``variants`` has finished, ascending."""
    common = set(seeds_of(scores, variants[0]))
    for variant in variants[1:]:
        common &= set(seeds_of(scores, variant))
    return sorted(common)


def seed_differences(scores: pd.DataFrame, variant: str, partner: str, column: str = "V") -> pd.Series:
    """``variant − partner`` of one score, seed by seed, on the seeds both have (index: seed)."""
    seeds = shared_seeds(scores, variant, partner)
    values = [scores.loc[(variant, s), column] - scores.loc[(partner, s), column] for s in seeds]
    return pd.Series(values, index=pd.Index(seeds, name="seed"), dtype=float)


def _paired_on(scores: pd.DataFrame, variant: str, partner: str, seeds, column: str):
    """``variant − partner`` of one score on exactly ``seeds`` (index: seed), or None when
    ``scores`` lacks either on any of them (e.g. a run recorded before last-epoch scores)."""
    seeds = list(seeds)
    if not seeds or not set(seeds) <= set(shared_seeds(scores, variant, partner)):
        return None
    return seed_differences(scores, variant, partner, column).loc[seeds]


def difference_words(diffs, spread_note: bool = True) -> str:
    """A difference over seeds in words: ``"−4.14 (one seed: the seed spread is unknown)"``, or
    ``"−4.00 on average over 3 seeds, every seed below 0 (−5.00 to −3.00)"``, or ``"..., seeds from
    −0.30 to +0.60, signs differ"``. ``spread_note=False`` leaves out the one-seed note."""
    diffs = [float(d) for d in diffs]
    if not diffs:
        raise ValueError("difference_words: no difference to describe")
    if len(diffs) == 1:
        return signed(diffs[0]) + (" (one seed: the seed spread is unknown)" if spread_note else "")
    mean, low, high = float(np.mean(diffs)), min(diffs), max(diffs)
    text = f"{signed(mean)} on average over {len(diffs)} seeds, "
    if low > 0:
        return text + f"every seed above 0 ({signed(low)} to {signed(high)})"
    if high < 0:
        return text + f"every seed below 0 ({signed(low)} to {signed(high)})"
    return text + f"seeds from {signed(low)} to {signed(high)}" + (", signs differ" if low < 0 < high else "")


def s_pair_frame(
    scores: pd.DataFrame, pairs=S_PAIRS, column: str = "V", last: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per pair (with S, without S) that shares a finished seed: ``seeds``, the two
    variants' means of ``column`` over those seeds, and their ``difference``. With ``last``
    (:func:`segment_scores` at ``epoch="last"``), a column ``difference, last epoch``: the same
    difference on the same seeds at the last epoch (NaN where a run lacks last-epoch scores)."""
    rows = {}
    for with_s, without in pairs:
        seeds = shared_seeds(scores, with_s, without)
        if not seeds:
            continue
        mean_with = float(np.mean([scores.loc[(with_s, s), column] for s in seeds]))
        mean_without = float(np.mean([scores.loc[(without, s), column] for s in seeds]))
        rows[f"{with_s} − {without}"] = {
            "seeds": seed_text(seeds),
            "with S": mean_with,
            "without S": mean_without,
            "difference": mean_with - mean_without,
        }
        if last is not None:
            diffs = _paired_on(last, with_s, without, seeds, column)
            rows[f"{with_s} − {without}"]["difference, last epoch"] = math.nan if diffs is None else diffs.mean()
    columns = ["seeds", "with S", "without S", "difference"]
    columns += ["difference, last epoch"] if last is not None else []
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def _sign_counts(means) -> tuple[int, int]:
    """How many of ``means`` are below 0 and how many above."""
    means = [float(m) for m in means]
    return sum(m < 0 for m in means), sum(m > 0 for m in means)


def s_effect_reading(
    scores: pd.DataFrame,
    pairs=S_PAIRS,
    column: str = "V",
    name: str = "segment visual F",
    last: pd.DataFrame | None = None,
) -> str:
    """What adding S does to one score, pair by pair (paired by seed), in Markdown: at the epoch
    each run selected on validation (``scores``), and, given ``last`` (:func:`segment_scores` at
    ``epoch="last"``), the same count at the last epoch, on the same seeds."""
    found, unpaired = [], []
    for with_s, without in pairs:
        diffs = seed_differences(scores, with_s, without, column)
        (found if len(diffs) else unpaired).append((with_s, without, diffs))
    if not found:
        return (
            f"No variant with S has a finished partner without S on a shared seed in this folder yet, "
            f"so these records cannot say what S does to the {name}."
        )
    several = any(len(d) > 1 for _, _, d in found)
    parts = [f"`{a}` − `{b}` ({seed_words(d.index)}): {difference_words(d, spread_note=False)}" for a, b, d in found]
    text = (
        f"Adding S (L_label and the similarity term) changes the {name}, at the epoch each run "
        "selected on validation, by: " + "; ".join(parts) + "."
    )
    if len(found) > 1:
        lower, higher = _sign_counts(d.mean() for _, _, d in found)
        text += (
            f" S lowered it in {lower} of the {len(found)} pairs and raised it in {higher}"
            + (" (seed means)" if several else "")
            + "."
        )
    if last is not None:
        at_last = [(a, b, _paired_on(last, a, b, d.index, column)) for a, b, d in found]
        lacking = [f"{a} − {b}" for a, b, d in at_last if d is None]
        at_last = [(a, b, d) for a, b, d in at_last if d is not None]
        if len(at_last) > 1:
            lower, higher = _sign_counts(d.mean() for _, _, d in at_last)
            text += (
                f" Read at each run's last epoch instead, on the same seeds, S lowered it in {lower} of the "
                f"{len(at_last)} pairs and raised it in {higher}" + (" (seed means)" if several else "") + "."
            )
        elif at_last:
            a, b, d = at_last[0]
            text += (
                f" Read at each run's last epoch instead, on the same {'seeds' if len(d) > 1 else 'seed'}, "
                f"`{a}` − `{b}` is {signed(float(d.mean()))}" + (" (seed mean)" if len(d) > 1 else "") + "."
            )
        if lacking:
            text += f" Without last-epoch test scores for both partners: {', '.join(lacking)}."
    single = [f"{a} − {b}" for a, b, d in found if len(d) == 1]
    if len(single) == len(found):
        text += (
            " Each pair shares one seed, so the seed spread of the differences is unknown: each is "
            "one draw, to be read against the spread once more seeds are in."
            if len(found) > 1
            else " The pair shares one seed, so the seed spread is unknown: the difference is one draw."
        )
    elif single:
        verb = "shares" if len(single) == 1 else "share"
        whose = "its" if len(single) == 1 else "their"
        text += f" {', '.join(single)} {verb} one seed, so {whose} seed spread is unknown."
    if unpaired:
        text += " Not paired yet (no finished seed shared): " + ", ".join(f"{a} − {b}" for a, b, _ in unpaired) + "."
    return text


def spread_words(
    scores: pd.DataFrame, variant: str = "valor++", column: str = "V", name: str = "segment visual F"
) -> str:
    """``variant``'s seed spread of one score in words: the sample standard deviation over its
    seeds, or that it is unknown (one seed) or that the variant has no finished run."""
    seeds = seeds_of(scores, variant)
    if not seeds:
        return f"`{variant}` has no finished run here, so its seed spread is unknown."
    if len(seeds) == 1:
        return f"`{variant}` has one seed here ({seeds[0]}), so its seed spread of the {name} is unknown."
    std = float(np.std(scores.loc[variant, column], ddof=1))
    return f"`{variant}`'s seed standard deviation of the {name} is {std:.2f} over {len(seeds)} seeds."


def _epoch_span(values) -> str:
    values = sorted({int(v) for v in values})
    return str(values[0]) if len(values) == 1 else f"{values[0]} to {values[-1]}"


def selection_reading(
    scores: pd.DataFrame,
    last: pd.DataFrame,
    pairs=S_PAIRS,
    column: str = "V",
    name: str = "segment visual F",
    epochs: pd.DataFrame | None = None,
) -> str:
    """How much of what adding S does to one score depends on which epoch is read, in Markdown:
    each pair's difference (with S − without, on the seeds both have) at the epoch selected on
    validation (``scores``) and at the last epoch (``last``, :func:`segment_scores` at
    ``epoch="last"``), then the share of the mean drop over the pairs that is gone at the last
    epoch. epochs: :func:`selected_epochs` (adds which epochs validation selected)."""
    rows, lacking = [], []
    for with_s, without in pairs:
        seeds = shared_seeds(scores, with_s, without)
        if not seeds:
            continue
        at_last = _paired_on(last, with_s, without, seeds, column)
        if at_last is None:
            lacking.append(f"{with_s} − {without}")
            continue
        selected = seed_differences(scores, with_s, without, column)
        rows.append((with_s, without, seeds, float(selected.mean()), float(at_last.mean())))
    if not rows:
        return (
            "No pair has test scores of the last epoch for both partners on its seeds, so these records "
            f"cannot say how much of what S does to the {name} depends on which epoch is read."
        )
    several = any(len(seeds) > 1 for _, _, seeds, _, _ in rows)
    parts = [
        f"`{a}` − `{b}` ({seed_words(seeds)}): {signed(sel)} at the selected epoch, {signed(end)} at the last"
        for a, b, seeds, sel, end in rows
    ]
    text = (
        f"The same differences of the {name} read at the epoch validation selected and at each run's last "
        "epoch" + (" (seed means)" if several else "") + ": " + "; ".join(parts) + "."
    )
    if epochs is not None:
        runs_with = [(a, s) for a, _, seeds, _, _ in rows for s in seeds]
        runs_without = [(b, s) for _, b, seeds, _, _ in rows for s in seeds]
        if all(k in epochs.index for k in runs_with + runs_without):
            ends = _epoch_span(epochs.loc[runs_with + runs_without, "last"])
            text += (
                f" Validation selected epoch{'s' if len(set(runs_with)) > 1 else ''} "
                f"{_epoch_span(epochs.loc[runs_with, 'selected'])} for the runs with S and "
                f"{_epoch_span(epochs.loc[runs_without, 'selected'])} for their partners (the last epoch: {ends})."
            )
    sel = float(np.mean([r[3] for r in rows]))
    end = float(np.mean([r[4] for r in rows]))
    over = f"Averaged over the {len(rows)} pairs" if len(rows) > 1 else "For this pair"
    if sel >= 0:
        text += (
            f" {over}, S does not lower the {name} at the selected epoch ({signed(sel)}), so there is no "
            f"drop whose dependence on the epoch could be measured; at the last epoch it is {signed(end)}."
        )
    elif end >= 0:
        text += (
            f" {over}, the drop of {signed(sel)} at the selected epoch is gone at the last epoch ({signed(end)}): "
            "all of it depends on which epoch is selected."
        )
    elif end <= sel:
        text += (
            f" {over}, the drop is {signed(sel)} at the selected epoch and {signed(end)} at the last: none of "
            "it depends on which epoch is selected."
        )
    else:
        share = 1 - end / sel
        text += (
            f" {over}, the drop is {signed(sel)} at the selected epoch and {signed(end)} at the last: "
            f"{share:.0%} of it depends on which epoch is selected, and {1 - share:.0%} remains when every run "
            "is read at its last epoch."
        )
    if lacking:
        text += f" Without last-epoch test scores for both partners: {', '.join(lacking)}."
    if not several:
        text += (
            " Each pair rests on one seed, so the seed spread is unknown and this split is one draw per pair."
            if len(rows) > 1
            else " The pair rests on one seed, so the seed spread is unknown and this split is one draw."
        )
    return text


def label_share_reading(scores: pd.DataFrame, column: str = "V", name: str = "segment visual F") -> str:
    """How much of ``+S``'s change of one score (against ``valor++``) L_label alone brings
    (``+S/label``), on the seeds all three share, in Markdown; says so when the control is absent."""
    if not seeds_of(scores, "+S/label"):
        return (
            "`+S/label` (L_label alone, no similarity term) is not in the folder yet, so these records "
            "cannot tell whether what S does comes with L_label or with the similarity term."
        )
    seeds = shared_seeds(scores, "valor++", "+S/label", "+S")
    if not seeds:
        return (
            f"`+S/label` has {seed_words(seeds_of(scores, '+S/label'))}, none shared with both `valor++` "
            "and `+S` yet, so the split of S's effect waits."
        )
    label = seed_differences(scores, "+S/label", "valor++", column).loc[seeds]
    whole = seed_differences(scores, "+S", "valor++", column).loc[seeds]
    text = (
        f"On {seed_words(seeds)}, which `valor++`, `+S/label` and `+S` all have, L_label alone "
        f"(`+S/label` − `valor++`) changes the {name} by {difference_words(label, spread_note=False)}, "
        f"and the whole of S (`+S` − `valor++`) by {difference_words(whole, spread_note=False)}."
    )
    mean_label, mean_whole = float(label.mean()), float(whole.mean())
    if mean_whole >= 0:
        text += " The whole of S does not lower it on these seeds, so there is no drop to split."
    elif mean_label >= 0:
        text += " L_label alone does not lower it: the drop comes with the similarity term."
    elif mean_label <= mean_whole:
        text += " L_label alone lowers it at least as much as the whole of S: the drop arrives with L_label."
    else:
        share = mean_label / mean_whole
        text += f" L_label alone brings {share:.0%} of the whole of S's drop" + (
            ": most of it arrives with L_label, before any similarity term."
            if share > 0.5
            else ": most of it comes with the similarity term."
        )
    if len(seeds) == 1:
        text += " With one seed the seed spread is unknown, so this split is one draw."
    return text


def weight_form_reading(scores: pd.DataFrame, column: str = "Type@AV", name: str = "segment Type@AV") -> str:
    """What the controls that separate the adaptive weight and the form of the term show, in
    Markdown (:data:`WEIGHT_FORM_PAIRS`), or that the folder holds none of them."""
    parts = []
    for variant, partner, what in WEIGHT_FORM_PAIRS:
        diffs = seed_differences(scores, variant, partner, column)
        if len(diffs):
            parts.append(f"`{variant}` − `{partner}` ({what}; {seed_words(diffs.index)}): {difference_words(diffs)}")
    if not parts:
        return (
            "None of the controls that separate the adaptive weight from λ = 1 or the two forms of the "
            "term (`+S/paper-mu1`, `+S/leap-mu1`, `+S/leap`) has a finished run beside `+S` in this "
            "folder, so these records cannot say what the weight or the form changes."
        )
    text = f"In the {name}: " + "; ".join(parts) + ". " + spread_words(scores, "valor++", column, name)
    if shared_seeds(scores, "+S/leap", "+S") and not seeds_of(scores, "link/leap"):
        beats = float(seed_differences(scores, "+S/leap", "+S", column).mean()) > 0
        text += (
            " LINK with the prior work's form (`link/leap`) belongs in the grid only if `+S/leap` beats "
            "the paper's form; here it "
            + ("does, so `link/leap` is still to be trained." if beats else "does not, so `link/leap` is not trained.")
        )
    return text


def controls_reading(scores: pd.DataFrame, controls=SLOSS_CONTROLS) -> str:
    """Which S-LOSS controls the folder holds (with their seeds) and which it does not, and the
    seeds of ``valor++`` and ``+S``, in Markdown."""
    present = {c: seeds_of(scores, c) for c in controls if seeds_of(scores, c)}
    absent = [c for c in controls if c not in present]
    base = {v: seeds_of(scores, v) for v in ("valor++", "+S")}
    text = "Runs behind this page's S-LOSS section: " + "; ".join(
        f"`{v}` {seed_words(s)}" if s else f"`{v}` none" for v, s in base.items()
    )
    if present:
        text += f"; control{'s' if len(present) > 1 else ''} " + "; ".join(
            f"`{c}` {seed_words(s)}" for c, s in present.items()
        )
    text += "."
    if absent:
        text += f" Not in the folder: {_join(absent)}."
    counts = [len(s) for s in (*base.values(), *present.values()) if s]
    if counts and min(counts) == 1:
        text += (
            " Where a variant has one seed, its differences are single draws and the seed spread "
            "they must be read against is unknown."
        )
    return text


# --------------------------------------------------------------------------------------------
# Errors, μ, alignment and teachers
# --------------------------------------------------------------------------------------------


def _visual_precision_recall(row) -> tuple[float, float]:
    tp = float(row["visual TP"])
    fp = float(row["visual FP, heard"]) + float(row["visual FP, neither"])
    fn = float(row["visual FN"])
    return (tp / (tp + fp) if tp + fp else math.nan, tp / (tp + fn) if tp + fn else math.nan)


def visual_error_reading(errors: pd.DataFrame, model: str = "+S", baseline: str = "valor++") -> str:
    """``model``'s visual errors against ``baseline``'s in Markdown: the change of true and false
    positive cells, and of visual precision and recall, and which of the two falls.

    errors: ``prediction_scores.cross_modal_error_rows`` (seed means, with ``n``)."""
    if model not in errors.index or baseline not in errors.index:
        missing = [m for m in (baseline, model) if m not in errors.index]
        verb = "is" if len(missing) == 1 else "are"
        return f"{_join(missing)} {verb} not in the folder, so there is nothing to compare."
    new, old = errors.loc[model], errors.loc[baseline]
    fp = ("visual FP, heard", "visual FP, neither")
    p0, r0 = _visual_precision_recall(old)
    p1, r1 = _visual_precision_recall(new)

    def who(name, row):
        if "n" not in errors.columns:
            return f"`{name}`"
        n = int(row["n"])
        return f"`{name}` ({n} seed{'s' if n > 1 else ''})"

    text = (
        f"Against {who(baseline, old)}, {who(model, new)} has {signed(new['visual TP'] - old['visual TP'], 0)} "
        "visual true-positive "
        f"cells and {signed(sum(new[c] - old[c] for c in fp), 0)} visual false-positive cells "
        f"({signed(new[fp[0]] - old[fp[0]], 0)} heard but not seen, {signed(new[fp[1]] - old[fp[1]], 0)} neither): "
        f"its visual precision goes from {p0:.3f} to {p1:.3f} and its recall from {r0:.3f} to {r1:.3f}."
    )
    dp, dr = p1 - p0, r1 - r0
    if dp < 0 and dr < 0:
        text += " Both fall, " + (
            "recall more: visible cells missed cost more than cells called visible that are not."
            if dr < dp
            else "precision more: cells called visible that are not cost more than visible cells missed."
        )
    elif dr < 0:
        text += " Recall falls and precision does not: the cost is visible cells missed, not cells called visible."
    elif dp < 0:
        text += " Precision falls and recall does not: the cost is cells called visible that are not seen."
    else:
        text += " Neither falls."
    single = [m for m in (baseline, model) if "n" in errors.columns and int(errors.loc[m, "n"]) == 1]
    if single:
        text += f" {_one_seed(single)}, so the seed spread of these counts is unknown."
    return text


def mu_reading(mu: pd.DataFrame, budget_end: float, digits: int = 3, kind: str = "") -> str:
    """Where μ goes in a set of runs, in Markdown: in how many it rises at every epoch, where it
    ends against the schedule's budget (Σ lr × steps), and the band weight e^|1−μ| it leaves.

    mu: ``probe.epoch_series(records, "mu")`` (index epoch, one column per run); budget_end: the
    budget at the middle of the last epoch (μ is logged as a mean over each epoch's steps); kind:
    a word before "run(s)", e.g. ``"finished"``."""
    n = mu.shape[1]
    rising = sum(bool((mu[c].dropna().diff().dropna() > 0).all()) for c in mu.columns)
    last = mu.ffill().iloc[-1].to_numpy(dtype=float)
    kind = f"{kind} " if kind else ""
    runs = (
        f"the one {kind}run" if n == 1 else f"all {n} {kind}runs" if rising == n else f"{rising} of the {n} {kind}runs"
    )
    values = _span(last, f".{digits}f")
    text = (
        f"μ rises at every epoch in {runs}. At the last epoch it {'is' if ' ' not in values else 'lies'} "
        f"{values}, against their schedule's budget of {budget_end:.{digits}f} at the middle of the last "
        f"epoch, where the logged epoch mean sits ({_span(last / budget_end, '.0%', 'to')} of it)."
    )
    if n > 1:
        spread = float(last.max() - last.min())
        text += f" The runs' last values differ by {spread:.{digits}f}, {spread / last.mean():.0%} of their mean."
    weights = np.exp(np.abs(1 - last))
    way = (math.e - weights) / (math.e - 1)
    text += (
        f" The band weight e^|1−μ| ends {'at ' if ' ' not in _span(weights, '.2f') else ''}"
        f"{_span(weights, '.2f')} (it starts at e ≈ 2.72 and is 1 at μ = 1): it has covered "
        f"{_span(way, '.0%', 'to')} of its way from e to 1."
    )
    return text


def _span(values, spec: str, word: str = "and") -> str:
    """``"0.20"`` when the values print alike, else ``"between 0.20 and 0.26"`` (``word="to"``:
    ``"29% to 36%"``)."""
    low, high = format(float(np.min(values)), spec), format(float(np.max(values)), spec)
    if low == high:
        return low
    return f"between {low} and {high}" if word == "and" else f"{low} {word} {high}"


def mu_variant_reading(mu: pd.DataFrame, digits: int = 3) -> str:
    """Whether where μ ends depends on the variant or only on the seed, in Markdown: the range of
    the variants' last μ (seed means) against the widest spread of the seeds of one variant.

    mu: ``probe.epoch_series(records, "mu")`` (index epoch, columns (variant, seed))."""
    last = mu.ffill().iloc[-1].astype(float)
    variants = list(dict.fromkeys(v for v, _ in last.index))
    values = {v: np.array([last[k] for k in last.index if k[0] == v], dtype=float) for v in variants}
    spreads = {v: float(x.max() - x.min()) for v, x in values.items() if len(x) > 1}
    single = [v for v, x in values.items() if len(x) == 1]
    if len(variants) == 1:
        (variant,) = variants
        if not spreads:
            return (
                f"Only `{variant}` is here, with one seed: whether the seed or the variant sets where μ "
                "ends is unknown."
            )
        return (
            f"Only `{variant}` is here: its {len(values[variant])} seeds end within "
            f"{spreads[variant]:.{digits}f} of each other; with one variant, whether the variant changes "
            "where μ ends is unknown."
        )
    means = {v: float(x.mean()) for v, x in values.items()}
    low, high = min(means, key=means.get), max(means, key=means.get)
    between = means[high] - means[low]
    text = (
        f"By variant, μ's last value goes from {means[low]:.{digits}f} (`{low}`) to "
        f"{means[high]:.{digits}f} (`{high}`)" + (" (seed means)" if spreads else "") + "."
    )
    if not spreads:
        return text + (
            " Every variant has one seed here, so whether the variants differ by more than the seeds of "
            "one variant is unknown."
        )
    widest = max(spreads, key=spreads.get)
    text += (
        f" The seeds of one variant end within {spreads[widest]:.{digits}f} of each other (the widest: "
        f"`{widest}`, {len(values[widest])} seeds)" + (f"; {_one_seed(single)}" if single else "") + "."
    )
    if between > spreads[widest]:
        text += (
            f" The variants differ by more ({between:.{digits}f}): where μ ends depends on the model it "
            "trains in, so in these runs the adaptive weight is not set by the schedule alone."
        )
    else:
        text += (
            f" The variants differ by no more ({between:.{digits}f}): where μ ends is set by the schedule "
            "and the optimiser, not by the model, and the adaptive weight is a schedule in disguise here."
        )
    return text


def alignment_reading(last: pd.DataFrame, baseline: str = "valor++", seeds: dict | None = None) -> str:
    """The encoder's last-epoch mean cosines per target group and the visual probability on
    audio-only cells, variant by variant, in Markdown.

    last: index variant, columns :data:`COSINES` and ``visual_prob_on_audio_only`` (seed means of
    the last epoch); seeds: ``{variant: number of seeds}`` (a one-seed note when any has one)."""
    parts = []
    for variant, row in last.iterrows():
        cos = row[list(COSINES)].astype(float)
        if has_similarity_term(variant):
            parts.append(
                f"`{variant}` ends at {row['cos_same']:.2f} on same-label pairs, {row['cos_disjoint']:.2f} on "
                f"disjoint ones and {row['cos_empty']:.2f} on both-empty ones"
            )
        else:
            parts.append(
                f"`{variant}` (no similarity term) ends between {cos.min():.2f} and {cos.max():.2f} over the "
                "four target groups"
            )
    text = "Mean cosine of the encoder outputs at the last epoch: " + "; ".join(parts) + "."
    key = "visual_prob_on_audio_only"
    if baseline in last.index and key in last.columns and len(last) > 1:
        base = float(last.loc[baseline, key])
        others = {v: float(last.loc[v, key]) for v in last.index if v != baseline}
        above = [v for v, value in others.items() if value > base]
        text += (
            f" The visual probability on audio-only cells ends at {base:.3f} for `{baseline}`, against "
            + _join([f"{value:.3f} for `{v}`" for v, value in others.items()], quote=False)
            + "."
        )
        text += (
            f" It ends above `{baseline}`'s for {_join(above)}: what a leak of the label term would show."
            if above
            else f" None ends above `{baseline}`'s: these records show no leak of the label term."
        )
    single = [v for v in last.index if seeds and seeds.get(v) == 1]
    if single:
        text += f" {_one_seed(single)}, so the seed spread of these values is unknown."
    return text


def teacher_precision_reading(prf: pd.DataFrame, split: str = "test", source: dict | None = None) -> str:
    """The video-level precision of the gated pseudo labels, visual against audio, in Markdown.

    prf: index (split, modality), columns ``precision``, ``recall`` (``probe.video_label_prf``);
    source: the page's ``AVVPData.source``, which names the teachers (:func:`teachers_name`): on
    SynthLLP the sentence says they are simulated, not CLIP and CLAP."""
    visual = float(prf.loc[(split, "visual"), "precision"])
    audio = float(prf.loc[(split, "audio"), "precision"])
    of = ""
    if source is not None:
        of = f" of {teachers_name(source)}"
        of += " (not CLIP's and CLAP's)" if source.get("kind") == "synth" else ""
    text = (
        f"On {split}, {1 - visual:.0%} of the gated visual video labels{of} name a class never seen in the "
        f"clip (precision {visual:.3f}), and {1 - audio:.0%} of the audio ones a class never heard in it "
        f"(precision {audio:.3f})."
    )
    if visual < audio:
        text += " The visual teacher's video labels are the less precise of the two."
    elif visual > audio:
        text += " The visual teacher's video labels are the more precise of the two."
    else:
        text += " The two are equally precise."
    return text


def data_difference_reading(records: dict, data_source: dict, shown: int = 4) -> str:
    """Whether a grid's runs were trained on the page's data, in Markdown; where they were not,
    how many settings differ, the first ``shown`` of them in words
    (``probe.source_difference_words``) and how many are left out.

    records: ``{(variant, seed): RunRecord or results.json dict}``; data_source: the page's
    ``AVVPData.source``."""
    from linkpaper.training.runs import RunRecord

    differing = list(
        dict.fromkeys(
            d
            for r in records.values()
            for d in source_difference_words(RunRecord.coerce(r).data.get("source", {}), data_source)
        )
    )
    if not differing:
        return "They were trained on the data loaded on this page."
    n = len(differing)
    text = "Their data was generated with other settings than the data loaded on this page"
    if n <= shown:
        text += f": {'; '.join(differing)}."
    else:
        left = n - shown
        text += (
            f": {n} settings differ, among them {'; '.join(differing[:shown])} (the other {left} "
            f"{'is' if left == 1 else 'are'} left out here)."
        )
    return text + " They therefore describe the modules' behaviour, not this page's models."
