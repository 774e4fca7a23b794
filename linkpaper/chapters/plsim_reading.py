"""Chapter 7's reading of a grid's run records: what adding PLSIM changed on the test split.

:func:`test_differences` lists, pair by pair and seed by seed, the test F-scores of a variant
with PLSIM minus its partner without it (trained with the same seed); :func:`difference_words`
says one set of such differences in words that are true for one seed as for several;
:func:`test_difference_reading` reads the table (and, given the records, says which seeds the
pairing leaves out and what chapter 9's unpaired measure gives for the pair with VALOR++), and
:func:`self_control_reading` reads the
``+P/self`` control (PLSIM reading the model's own first pass instead of the teachers'
labels), or says that the folder does not hold it yet. Nothing here trains a model; every
number comes from the records passed in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkpaper.chapters.run_records import _signed
from linkpaper.chapters.sloss_reading import teachers_name  # noqa: F401  (chapter 7 names the teachers)
from linkpaper.evaluation.metrics import COLUMN_TITLES
from linkpaper.training.runs import RunRecord

PLSIM_PAIRS = [("+P", "valor++"), ("+T+P", "+T"), ("+S+P", "+S"), ("link", "+T+S")]
"""Every grid variant with PLSIM and its partner without it (they differ by PLSIM alone)."""

BASELINE = "valor++"
"""The variant chapter 9 measures every gain against (its seed mean over all its seeds)."""

SELF_CONTROL = "+P/self"
"""The control that reads the model's own first pass instead of the teachers' labels."""


def _seeds_text(seeds) -> str:
    from linkpaper.chapters.probe import seed_text

    seeds = sorted({int(s) for s in seeds})
    return f"seed{'s' if len(seeds) > 1 else ''} {seed_text(seeds)}"


def finished_tests(records: dict, level: str = "segment") -> dict:
    """{(variant, seed): {score title: test F}} of the finished records among ``records``
    ({(variant, seed): RunRecord or results.json dict}); the test scores are those of the
    epoch each run selected on validation."""
    out = {}
    for key, record in records.items():
        record = RunRecord.coerce(record)
        if record.complete and record.test and level in record.test:
            scores = record.test[level]
            out[key] = {title: float(scores[m]) for m, title in COLUMN_TITLES.items() if m in scores}
    return out


def shared_seeds(records: dict, variant: str, reference: str) -> list[int]:
    """The seeds for which both ``variant`` and ``reference`` have a finished record."""
    tests = finished_tests(records)
    return sorted({s for v, s in tests if v == variant} & {s for v, s in tests if v == reference})


def test_differences(records: dict, pairs=PLSIM_PAIRS, level: str = "segment") -> pd.DataFrame:
    """Test F of each variant minus its partner, for every seed both have finished.

    records: {(variant, seed): RunRecord or results.json dict}; pairs: [(variant, reference)].
    Returns a frame indexed by (``"variant − reference"``, seed), one column per score of
    ``level`` (Audio, Visual, Audio-visual, Type@AV, Event@AV); pairs without a common seed
    are left out, and no pair gives an empty frame with those columns.
    """
    tests = finished_tests(records, level)
    rows = {}
    for variant, reference in pairs:
        for seed in shared_seeds(records, variant, reference):
            a, b = tests[(variant, seed)], tests[(reference, seed)]
            rows[(f"{variant} − {reference}", seed)] = {t: a[t] - b[t] for t in a if t in b}
    index = pd.MultiIndex.from_arrays([[pair for pair, _ in rows], [seed for _, seed in rows]], names=["pair", "seed"])
    return pd.DataFrame(list(rows.values()), index=index, columns=list(COLUMN_TITLES.values()))


def difference_words(values, digits: int = 2) -> str:
    """One set of seed-by-seed differences in words, true for one seed as for several.

    One value: ``"+0.53 (one seed: the seed spread is unknown)"``; several: ``"+0.53 on
    average, every seed above 0 (+0.20 to +0.90)"``, ``"... every seed below 0 ..."`` or
    ``"... seeds from −0.20 to +0.90, signs differ"``.
    """
    values = np.asarray(list(values), dtype=float)
    if values.size == 0:
        raise ValueError("no differences to describe")
    if values.size == 1:
        return f"{_signed(values[0], digits)} (one seed: the seed spread is unknown)"
    low, high = _signed(values.min(), digits), _signed(values.max(), digits)
    if values.min() > 0:
        spread = f"every seed above 0 ({low} to {high})"
    elif values.max() < 0:
        spread = f"every seed below 0 ({low} to {high})"
    else:
        spread = f"seeds from {low} to {high}, signs differ"
    return f"{_signed(values.mean(), digits)} on average over {values.size} seeds, {spread}"


def _modality_words(diffs: pd.Series) -> str:
    return ", ".join(f"{m.lower()} {_signed(diffs[m], 1)}" for m in ("Audio", "Visual", "Audio-visual") if m in diffs)


def baseline_reading(records: dict, differences: pd.DataFrame, score: str = "Type@AV") -> str:
    """What the pairing of :func:`test_differences` leaves out, in Markdown: the seeds a partner
    holds that the other lacks, and, for the pair measured against :data:`BASELINE`, what
    chapter 9's unpaired measure (each variant's mean over all its seeds minus VALOR++'s mean
    over all of its own) gives instead. Empty when ``differences`` is."""
    if differences.empty:
        return ""
    tests = finished_tests(records)
    held = {}
    for variant, seed in tests:
        held.setdefault(variant, set()).add(int(seed))
    left, unpaired = [], []
    for pair in dict.fromkeys(differences.index.get_level_values(0)):
        variant, reference = pair.split(" − ")
        shared = set(int(s) for s in differences.loc[pair].index)
        for v in (variant, reference):
            extra = held.get(v, set()) - shared
            if extra:
                left.append(f"`{v}` {_seeds_text(extra)} (in {pair})")
        if reference == BASELINE and (held.get(variant, set()) | held.get(reference, set())) != shared:
            means = {v: pd.DataFrame([tests[(v, s)] for s in sorted(held[v])]).mean() for v in (variant, reference)}
            gain = means[variant] - means[reference]
            unpaired.append(
                f"for {pair} it gives {score} {_signed(gain[score])}; {_modality_words(gain)} "
                f"(`{variant}` {_seeds_text(held[variant])}, `{reference}` {_seeds_text(held[reference])}), "
                f"against the paired {_signed(differences.loc[pair][score].mean())} here"
            )
    text = (
        "Each difference is paired: a run with PLSIM minus its partner without it trained with the same "
        "seed, over the seeds both have finished (in brackets)."
    )
    if not left:
        return text + (
            " Each pair's partners hold the same seeds, so these means equal the differences of the "
            "variants' seed means, the measure chapter 9 uses against VALOR++."
        )
    text += " Left out because the partner lacks them: " + "; ".join(left) + "."
    text += (
        " Chapter 9 measures each gain as a variant's mean over all its seeds minus VALOR++'s mean over all "
        "of VALOR++'s, unpaired"
    )
    return text + (": " + "; ".join(unpaired) + "." if unpaired else ".")


def test_difference_reading(differences: pd.DataFrame, score: str = "Type@AV", records: dict | None = None) -> str:
    """Markdown reading :func:`test_differences`: one bullet per pair (its seeds, the audio,
    visual and audio-visual differences, and ``score`` in words, :func:`difference_words`),
    then how many pairs moved ``score`` up or down, and what the number of seeds allows.
    Given the ``records`` the differences were computed from, it opens with
    :func:`baseline_reading` (what the pairing by seed leaves out, and chapter 9's measure)."""
    if differences.empty:
        return "No pair has finished test scores for both partners with a common seed yet."
    lines = []
    means = {}
    seeds = {}
    for pair in dict.fromkeys(differences.index.get_level_values(0)):
        part = differences.loc[pair]
        seeds[pair] = list(part.index)
        means[pair] = float(part[score].mean())
        modalities = _modality_words(part.mean())
        lines.append(
            f"* **{pair}** ({_seeds_text(seeds[pair])}): {score} {difference_words(part[score])}; "
            f"{'mean ' if len(part) > 1 else ''}{modalities}."
        )
    up = [p for p, v in means.items() if v > 0]
    down = [p for p, v in means.items() if v < 0]
    single = [p for p, s in seeds.items() if len(s) == 1]
    n = len(means)
    text = (baseline_reading(records, differences, score) + "\n\n" if records is not None else "") + "\n".join(lines)
    text += "\n\n"
    text += (
        f"Adding PLSIM raised the test {score} in {len(up)} of the {n} pair{'s' if n > 1 else ''} "
        f"and lowered it in {len(down)}" + (" (seed means)" if len(single) < n else "") + ". "
    )
    if len(single) == n:
        text += (
            f"{'Each pair has' if n > 1 else 'The pair has'} one seed, so the seed spread is "
            "unknown: none of these differences can yet be told from the noise of training "
            "with another seed."
        )
    else:
        if single:
            text += (
                f"{', '.join(single)} {'has' if len(single) == 1 else 'have'} one seed, so "
                f"{'its' if len(single) == 1 else 'their'} seed spread is unknown. "
            )
        text += (
            "A pair whose seeds differ in sign has not shown a difference larger than the "
            "noise of training with another seed."
        )
    return text


def self_control_reading(
    records: dict,
    control: str = SELF_CONTROL,
    with_teachers: str = "+P",
    baseline: str = "valor++",
    score: str = "Type@AV",
) -> str:
    """Markdown reading the ``+P/self`` control against ``+P`` and VALOR++ on the test split.

    ``+P − +P/self`` (same seeds) is what the teachers' labels add as PLSIM's input;
    ``+P/self − valor++`` is what the module adds reading only the model's own labels. When
    the records hold no finished run of the control, says so (no exception)."""
    tests = finished_tests(records)
    held = sorted(s for v, s in tests if v == control)
    if not held:
        return (
            f"The control `{control}` is not trained yet in this folder: when it is, this "
            f"paragraph reports `{with_teachers}` − `{control}` (what the teachers' labels add "
            f"as PLSIM's input) and `{control}` − `{baseline}` (what the module adds without "
            "them), seed by seed."
        )
    parts = []
    for variant, reference, meaning in (
        (with_teachers, control, "what the teachers' labels add as PLSIM's input"),
        (control, baseline, "what the module adds reading only the model's own labels"),
    ):
        seeds = shared_seeds(records, variant, reference)
        if not seeds:
            parts.append(f"`{variant}` − `{reference}` ({meaning}) waits for both to share a finished seed")
            continue
        values = [tests[(variant, s)][score] - tests[(reference, s)][score] for s in seeds]
        parts.append(f"`{variant}` − `{reference}` ({meaning}; {_seeds_text(seeds)}): {difference_words(values)}")
    return (
        f"The control `{control}` has finished {_seeds_text(held)}. On the test split "
        f"(segment {score}): " + "; ".join(parts) + "."
    )
