"""Analysis of finished runs for the results chapters (book chapters 8-10).

Four groups of functions, all pure (nothing here trains or changes a model):

* **Run records with provenance.** :func:`find_run_dirs` lists a grid's run folders,
  :func:`measured_rows` turns them into mean ± std rows (``linkpaper.training.grid.summarise_runs``)
  that also name their data, seeds, epochs, code commit and hardware (``book.tables`` sets
  them beside the paper's reported rows), :func:`provenance_frame` lists them, and
  :func:`history_frame` / :func:`history_figure` show one run's per-epoch history.
* **Scores from predictions.** :func:`segment_alignment` (does a segment's audio label set
  equal its visual label set?), :func:`masked_segment_scores` (segment-level F restricted to
  a kind of segment), :func:`cross_modal_error_rows` (errors that copy the other modality's
  labels) and :func:`example_videos` (which test videos show a difference).
* **Gains and their noise** (chapter 9): :func:`gain_data` / :func:`gain_report` (seed spread
  and paired bootstrap), :func:`seed_gain_points` and :func:`gain_figure` (gains, never
  absolute numbers, beside the paper's reported gains), :func:`modality_gains`, and the
  Markdown sentences that read them (:func:`grid_status`, :func:`gain_verdicts`,
  :func:`modality_reading`, :func:`grid_limits`), so that no number in the prose is typed.
* **Two models over all their seeds** (chapter 10): :func:`seed_runs`,
  :func:`per_class_seed_frame` / :func:`per_class_seed_figure` with :func:`class_support`
  (test and training counts per class), :func:`class_differences`,
  :func:`zero_score_classes`, :func:`alignment_seed_frame` / :func:`alignment_seed_figure`,
  and the per-epoch :func:`epoch_endpoints` / :func:`epoch_panels_figure` (one panel and
  one y range per quantity, changes from initialisation on a stated scale).

Shapes: N videos, T = 10 segments, C = 25 classes; predictions and ground truth are (N, T, C)
bool. F-scores are percentages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linkpaper.classes import CLASSES
from linkpaper.errors import UserError
from linkpaper.evaluation.inference import is_active
from linkpaper.evaluation.metrics import f_from_counts

MEASURED = "measured"
SEGMENT_KINDS = ("empty", "aligned", "non-aligned")
EMPTY, ALIGNED, NON_ALIGNED = range(3)
MASKED_MODALITIES = ("audio", "visual", "audio_visual", "event")


# --------------------------------------------------------------------------------------------
# Run records with provenance
# --------------------------------------------------------------------------------------------


def find_run_dirs(root: str | Path, variants=None) -> list[Path]:
    """The run folders ``root/<slug>/seed<S>/`` that hold a ``results.json``.

    Ordered by variant (registry order, or the order of ``variants``) then seed. Raises
    UserError naming ``root`` when it is not a folder or holds none.
    """
    from linkpaper.models import list_models, variant_slug
    from linkpaper.training.runs import RESULTS_FILE

    root = Path(root)
    if not root.is_dir():
        raise UserError(
            f"{root}: no such folder (relative paths start in notebooks/); point results_dir at a "
            "grid folder, e.g. ../results/synth_small_recipe"
        )
    found = []
    for variant in variants or list_models():
        folders = (root / variant_slug(variant)).glob("seed*")
        runs = [p for p in folders if (p / RESULTS_FILE).is_file() and p.name[4:].isdigit()]
        found += sorted(runs, key=lambda p: int(p.name[4:]))
    if not found:
        raise UserError(
            f"{root}: no run records (<variant>/seed<N>/results.json) here; train them with "
            "'python -m linkpaper grid --out DIR' or point results_dir at a grid folder"
        )
    return found


def data_label(record) -> str:
    """A short name of a run's data (a RunRecord or a results.json dict):
    ``"SynthLLP small (synthetic)"`` or ``"LLP (real features)"`` (:meth:`RunRecord.data_label`)."""
    from linkpaper.training.runs import RunRecord

    return RunRecord.coerce(record).data_label()


def _provenance(records: list) -> dict:
    """What a group of run records (RunRecords) of one variant shares (or lists when they differ)."""

    def distinct(values):
        return sorted({str(v) for v in values})

    configs = [r.config for r in records]
    commits = distinct(r.commit[:12] for r in records)
    dirty = any(r.dirty for r in records)
    hardware = distinct(r.hardware_text() for r in records)
    return {
        "data": " / ".join(distinct(r.data_label() for r in records)),
        "epochs": " / ".join(distinct(c["epochs"] for c in configs)),
        "warmup_epochs": " / ".join(distinct(c.get("warmup_epochs") for c in configs)),
        "device": " / ".join(distinct(c["device"] for c in configs)),
        "commit": " / ".join(commits) + (" (dirty)" if dirty else ""),
        "hardware": " / ".join(hardware),
        "torch": " / ".join(distinct(r.hardware.get("torch", "?") for r in records)),
        "plsim_labels": " / ".join(distinct(r.plsim_labels for r in records)),
    }


def measured_rows(run_dirs) -> list[dict]:
    """Mean ± std test rows per variant of finished runs, each with its provenance.

    run_dirs: run folders (see :func:`find_run_dirs`). Returns one dict per variant in
    first-seen order with the keys of ``grid.summarise_runs`` (``model``, ``seeds``, ``n``,
    ``mean``, ``std``, ``runs``, ``label_leakage``, ``incomplete``) plus ``provenance``
    ("measured"), ``data``, ``epochs``, ``warmup_epochs``, ``device``, ``commit``, ``hardware``,
    ``torch``, ``plsim_labels`` and ``label``, e.g. ``"SynthLLP small (synthetic), 6 epochs,
    seeds 87/88/89"``. Variants without a finished run are left out.
    """
    from linkpaper.training.grid import summarise_runs
    from linkpaper.training.runs import RunRecord

    rows = []
    for row in summarise_runs(run_dirs):
        if row["n"] == 0:
            continue
        records = [RunRecord.read(run) for run in row["runs"]]
        row.update(_provenance(records))
        row["provenance"] = MEASURED
        row["label"] = f"{row['data']}, {row['epochs']} epochs, seeds {'/'.join(map(str, row['seeds']))}"
        if row["label_leakage"]:
            row["label"] += ", LEAKS GT video labels"
        rows.append(row)
    return rows


def selection_frame(measured: list[dict], baseline: str = "valor++", column: int = 3):
    """What choosing the best epoch on validation does, per variant (mean over its seeds).

    measured: :func:`measured_rows`. Columns: ``seeds``, ``selected epochs`` (each seed's best
    epoch), ``test at the selected epoch`` / ``test at the last epoch`` (the score ``column``
    of ``metrics.SCORE_COLUMNS``, default segment Type@AV, mean over seeds), ``selection
    moved`` (their difference) and the gain over ``baseline`` under each rule (``gain,
    selected`` / ``gain, last``). Runs recorded before the last epoch's test scores were kept
    give NaN in the last-epoch columns (``last epoch recorded`` says how many seeds have it).
    """
    import pandas as pd

    from linkpaper.training.runs import RunRecord

    rows, means = {}, {}
    for row in measured:
        records = [RunRecord.read(run) for run in row["runs"]]
        selected = np.array([r.test_row[column] for r in records], dtype=float)
        last = np.array([r.last_epoch_test_row[column] if r.last_epoch_test_row else np.nan for r in records])
        means[row["model"]] = (selected.mean(), np.nanmean(last) if np.isfinite(last).any() else np.nan)
        rows[_label(row["model"])] = {
            "seeds": len(records),
            "selected epochs": ", ".join(str(r.best_epoch) for r in records),
            "last epoch recorded": int(np.isfinite(last).sum()),
            "test at the selected epoch": means[row["model"]][0],
            "test at the last epoch": means[row["model"]][1],
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if frame.empty:
        return frame
    frame["selection moved"] = frame["test at the selected epoch"] - frame["test at the last epoch"]
    base = means.get(baseline, (np.nan, np.nan))
    frame["gain, selected"] = frame["test at the selected epoch"] - base[0]
    frame["gain, last"] = frame["test at the last epoch"] - base[1]
    return frame


def provenance_frame(measured: list[dict]):
    """One row per measured variant: data, seeds, epochs, device, commit, hardware, run folders."""
    import pandas as pd

    keys = ("data", "epochs", "warmup_epochs", "device", "plsim_labels", "commit", "hardware", "torch")
    frame = pd.DataFrame(
        [
            {
                "seeds": "/".join(map(str, row["seeds"])),
                **{k: row[k] for k in keys},
                "run records": ", ".join(_relative_run(p) for p in row["runs"]),
            }
            for row in measured
        ],
        index=pd.Index([row["model"] for row in measured], name="measured variant"),
    )
    return frame


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
        run_per_video,
        seed_gain,
        seeds_needed,
        seeds_needed_range,
        two_level_bootstrap,
    )
    from linkpaper.evaluation.metrics import SCORE_LABELS as COLUMN_LABELS
    from linkpaper.evaluation.paper import VARIANT_LABELS

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


def _rows_of(row: dict) -> np.ndarray:
    """(n, 10) test rows of a measured row's runs, read from their records."""
    from linkpaper.training.runs import RunRecord

    return np.array([RunRecord.read(run).test_row for run in row["runs"]], dtype=np.float64)


def _relative_run(path) -> str:
    """``<slug>/seed<S>/results.json``: the part of a run path that names the run."""
    parts = Path(path).parts
    return "/".join(parts[-2:] + ("results.json",))


def history_frame(record):
    """One run's per-epoch history (a RunRecord or a results.json dict) as a pandas table indexed by epoch.

    Columns: ``lr``, ``loss <term>`` for each train-loss term (``total`` included), ``val
    <level> <modality>`` for the ten validation scores, ``best`` (the epoch the run selected by
    validation Type@AV, ``record["best_epoch"]``) and the module diagnostics (``mu``,
    ``alpha1`` ...) when the model logs them.
    """
    import pandas as pd

    from linkpaper.evaluation.metrics import SCORE_COLUMNS
    from linkpaper.training.runs import RunRecord

    record = RunRecord.coerce(record)
    epochs = record.epochs or []
    if not epochs:
        raise UserError("this run record has no finished epoch yet")
    rows = {}
    for e in epochs:
        row = {"lr": e["lr"]}
        row.update({f"loss {k}": v for k, v in e["train_loss"].items()})
        row.update({f"val {level} {m}": e["val"][level][m] for level, m in SCORE_COLUMNS})
        row["best"] = e["epoch"] == record.best_epoch
        row.update(e.get("diagnostics", {}))
        rows[e["epoch"]] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "epoch"
    return frame


# --------------------------------------------------------------------------------------------
# Scores from predictions
# --------------------------------------------------------------------------------------------


def load_run_predictions(run_dir: str | Path, filenames: list[str], split: str = "test") -> tuple:
    """(pred_audio, pred_visual), each (N, T, C) bool, of a run's saved test predictions.

    Reads ``run_dir/test_predictions.npz``, or else ``test_decisions.npz`` (the gated 0/1
    decisions that ``scripts/collect_results.py`` stores for every run), reorders it to
    ``filenames`` (the annotation order) and applies the official gating
    (``metrics.binarize_predictions``; a no-op on decisions).
    """
    from linkpaper.evaluation.gains import DECISIONS_FILE
    from linkpaper.evaluation.metrics import binarize_predictions
    from linkpaper.evaluation.predictions import load_predictions
    from linkpaper.training.runs import PREDICTIONS_FILE

    path = Path(run_dir) / PREDICTIONS_FILE
    if not path.is_file() and (Path(run_dir) / DECISIONS_FILE).is_file():
        path = Path(run_dir) / DECISIONS_FILE
    predictions = load_predictions(path).aligned_to(list(filenames), split)
    return binarize_predictions(predictions.frame_prob, predictions.video_prob)


def cross_modal_errors(predictions: dict, gt_audio, gt_visual):
    """Segment-level errors of each model, split by what the *other* modality's ground truth says.

    predictions: {name: (pred_audio, pred_visual)}, each (N, T, C) bool (gated decisions);
    gt_audio, gt_visual: (N, T, C). Counts over all (video, segment, class) cells:
    ``visual FP, heard`` (predicted visible where the class is heard but not seen: the audio
    leaking into the visual stream), ``visual FP, neither``, ``visual FN``, and the mirror
    counts for audio (``audio FP, seen`` ...). Returns a pandas frame, one row per model.
    """
    import pandas as pd

    gt_a, gt_v = np.asarray(gt_audio, bool), np.asarray(gt_visual, bool)
    rows = {}
    for name, (pred_a, pred_v) in predictions.items():
        pred_a, pred_v = np.asarray(pred_a, bool), np.asarray(pred_v, bool)
        rows[name] = {
            "visual TP": int((pred_v & gt_v).sum()),
            "visual FP, heard": int((pred_v & ~gt_v & gt_a).sum()),
            "visual FP, neither": int((pred_v & ~gt_v & ~gt_a).sum()),
            "visual FN": int((~pred_v & gt_v).sum()),
            "audio TP": int((pred_a & gt_a).sum()),
            "audio FP, seen": int((pred_a & ~gt_a & gt_v).sum()),
            "audio FP, neither": int((pred_a & ~gt_a & ~gt_v).sum()),
            "audio FN": int((~pred_a & gt_a).sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def cross_modal_error_rows(measured: list[dict], test):
    """:func:`cross_modal_errors` of every measured variant, averaged over its seeds' runs.

    measured: :func:`measured_rows` whose run folders hold test predictions or decisions;
    test: the test annotations. One row per variant (its ``model`` name), counts averaged over
    the seeds, plus the number of seeds ``n``.
    """
    import pandas as pd

    rows = {}
    for row in measured:
        per_run = [
            cross_modal_errors({"run": load_run_predictions(run, test.filenames)}, test.gt_audio, test.gt_visual).loc[
                "run"
            ]
            for run in row["runs"]
        ]
        mean = pd.concat(per_run, axis=1).mean(axis=1)
        mean["n"] = len(per_run)
        rows[row["model"]] = mean
    return pd.DataFrame.from_dict(rows, orient="index")


def target_group_shares(pl_audio, pl_visual) -> dict:
    """Share of all (video, audio segment i, visual segment j) pairs in each S-LOSS target group.

    pl_audio, pl_visual: (N, T, C) labels (>= 0.5 is active). Groups as in
    ``linkpaper.losses.alignment_diagnostics``: ``same`` (IoU 1), ``overlap`` (0 < IoU < 1),
    ``disjoint`` (IoU 0, not both empty), ``empty`` (no class on either side). Also the mean
    IoU target over all pairs (``mean target``).
    """
    import torch

    from linkpaper.losses import iou_targets

    a = torch.as_tensor(is_active(np.asarray(pl_audio)))
    v = torch.as_tensor(is_active(np.asarray(pl_visual)))
    r = iou_targets(a.float(), v.float())
    empty = ~a.any(-1).unsqueeze(2) & ~v.any(-1).unsqueeze(1)
    total = r.numel()
    return {
        "same": float((r == 1).sum()) / total,
        "overlap": float(((r > 0) & (r < 1)).sum()) / total,
        "disjoint": float(((r == 0) & ~empty).sum()) / total,
        "empty": float(empty.sum()) / total,
        "mean target": float(r.mean()),
    }


def segment_alignment(gt_audio, gt_visual) -> np.ndarray:
    """(N, T) int8 kind of every segment: ``EMPTY`` (no event heard or seen), ``ALIGNED`` (the
    classes heard are exactly the classes seen) or ``NON_ALIGNED`` (they differ, e.g. a narrator
    heard but not seen). Names in ``SEGMENT_KINDS``; LINK's motivation is the last kind."""
    gt_audio, gt_visual = np.asarray(gt_audio, dtype=bool), np.asarray(gt_visual, dtype=bool)
    if gt_audio.shape != gt_visual.shape or gt_audio.ndim != 3:
        raise UserError(f"ground truth shapes {gt_audio.shape} and {gt_visual.shape}: expected two equal (N, T, C)")
    same = (gt_audio == gt_visual).all(axis=2)
    empty = ~(gt_audio | gt_visual).any(axis=2)
    kind = np.full(gt_audio.shape[:2], NON_ALIGNED, dtype=np.int8)
    kind[same] = ALIGNED
    kind[empty] = EMPTY
    return kind


def masked_segment_scores(pred_audio, pred_visual, gt_audio, gt_visual, mask) -> dict:
    """Segment-level F restricted to the (video, segment) cells where ``mask`` (N, T) is True.

    Counts TP / FP / FN over every class of the selected segments, pooled (micro) over videos:
    ``F = 2TP / (2TP + FP + FN)`` in percent (NaN when there is nothing to count). Modalities:
    audio, visual, audio_visual (AND of both, for prediction and ground truth) and event
    (audio and visual counts added, as Event@AV). Returns ``{modality: {"tp", "fp", "fn",
    "f"}}`` and ``"segments"``: the number of selected segments. Unlike the official metric
    (a mean over videos of per-video F) this pools counts, since a kind of segment covers
    only part of a video.
    """
    arrays = [np.asarray(a, dtype=bool) for a in (pred_audio, pred_visual, gt_audio, gt_visual)]
    mask = np.asarray(mask, dtype=bool)
    if any(a.shape != arrays[0].shape for a in arrays) or mask.shape != arrays[0].shape[:2]:
        raise UserError(f"shapes {[a.shape for a in arrays]} and mask {mask.shape}: expected (N, T, C) x4 and (N, T)")
    pa, pv, ga, gv = (a[mask] for a in arrays)  # (M, C)
    pairs = {"audio": (pa, ga), "visual": (pv, gv), "audio_visual": (pa & pv, ga & gv)}
    result: dict = {}
    for m, (p, g) in pairs.items():
        result[m] = {"tp": int((p & g).sum()), "fp": int((p & ~g).sum()), "fn": int((~p & g).sum())}
    result["event"] = {k: result["audio"][k] + result["visual"][k] for k in ("tp", "fp", "fn")}
    for counts in (result[m] for m in MASKED_MODALITIES):
        counts["f"] = f_from_counts(counts["tp"], counts["fp"], counts["fn"], scale=100.0, empty=float("nan"))
    result["segments"] = int(mask.sum())
    return result


def example_videos(
    per_video_a: np.ndarray, per_video_b: np.ndarray, count: int = 3, eligible: np.ndarray | None = None
) -> list[tuple[int, str]]:
    """Indices of test videos worth plotting, comparing two models' per-video scores (N,).

    Returns ``count`` (index, why) pairs, deterministic (ties go to the lower index): the
    largest gain of b over a, the largest loss, then the videos closest to the median
    difference. Pass e.g. ``scores.per_video["segment"]["type"]`` of each model. ``eligible``
    (N,) bool restricts the choice (e.g. videos with several classes and a non-aligned
    segment); by default every video is eligible.
    """
    a, b = np.asarray(per_video_a, dtype=float), np.asarray(per_video_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise UserError(f"per-video scores of shapes {a.shape} and {b.shape}: expected two equal (N,)")
    allowed = np.ones(len(a), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    if allowed.shape != a.shape or not allowed.any():
        raise UserError(
            f"eligible has shape {allowed.shape} and {int(allowed.sum())} video(s); expected {a.shape} with one or more"
        )
    candidates = np.nonzero(allowed)[0]
    diff = (b - a)[candidates]
    picks = [(int(candidates[np.argmax(diff)]), "largest gain"), (int(candidates[np.argmin(diff)]), "largest loss")]
    order = np.argsort(np.abs(diff - np.median(diff)), kind="stable")
    for index in candidates[order]:
        if len(picks) >= count:
            break
        if int(index) not in {p for p, _ in picks}:
            picks.append((int(index), "typical"))
    return picks[:count]


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def history_figure(history, source: str):
    """Three panels of a :func:`history_frame`: learning rate, train-loss terms, validation
    Type@AV and Event@AV per epoch (the selected best epoch marked)."""
    from linkpaper.book.viz import describe, pyplot, titled

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    epochs = history.index.to_numpy()
    axes[0].plot(epochs, history["lr"], "o-")
    axes[0].set_ylabel("learning rate")
    for column in [c for c in history.columns if c.startswith("loss ")]:
        axes[1].plot(epochs, history[column], "o-", label=column[5:], lw=2.5 if column == "loss total" else 1.2)
    axes[1].set_ylabel("train loss (mean over batches)")
    axes[1].legend(frameon=False, fontsize=8)
    for column, label in (
        ("val segment type", "segment Type@AV"),
        ("val segment event", "segment Event@AV"),
        ("val event type", "event Type@AV"),
    ):
        axes[2].plot(epochs, history[column], "o-", label=label)
    if history["best"].any():
        best = history.index[history["best"]][-1]
        axes[2].axvline(best, color="grey", ls=":", label=f"best epoch ({best})")
    axes[2].set_ylabel("validation F (%)")
    axes[2].legend(frameon=False, fontsize=8)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_xticks(epochs)
    fig.suptitle(titled("Training curves", source), fontsize=10)
    fig.tight_layout()
    return describe(
        fig,
        "Three panels per epoch: the learning rate, the training-loss terms, and the "
        "validation segment Type@AV, segment Event@AV and event Type@AV, with the selected "
        "best epoch marked",
        source,
        title="Training curves",
    )


def variant_color(variant: str) -> str:
    """A fixed colour per registry variant (tab10 in registry order), the same in every figure."""
    from linkpaper.book.viz import PALETTE_HEX
    from linkpaper.models import list_controls, list_models

    known = list(list_models()) + list(list_controls())
    return PALETTE_HEX[known.index(variant) % len(PALETTE_HEX)] if variant in known else "#000000"


# --------------------------------------------------------------------------------------------
# Gains over the baseline, with their noise, and the sentences that read them (chapter 9)
# --------------------------------------------------------------------------------------------


def _label(model: str) -> str:
    from linkpaper.evaluation.paper import VARIANT_LABELS

    return VARIANT_LABELS.get(model, model)


def _signed(value: float, digits: int = 2) -> str:
    """``+1.23`` / ``−1.23`` (a true minus sign, as in the book's prose)."""
    return f"{value:+.{digits}f}".replace("-", "−")


def grid_status(measured: list[dict], expected=None) -> str:
    """Markdown: which variants a grid folder holds, with their seeds, and which are missing.

    measured: :func:`measured_rows`; expected: the variants the grid is meant to hold
    (default: the eight of Table II, ``linkpaper.models.list_models()``).
    """
    from linkpaper.book.probe import seed_text
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
"""Short score labels (``metrics.SCORE_LABELS``) spelled out for prose and axis labels."""


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

    from linkpaper.book.viz import describe, pyplot, titled

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


def epoch_endpoints(records: dict, keys, labels: dict | None = None, digits: int = 4):
    """Where each per-epoch quantity starts and ends, per variant.

    records: ``{(variant, seed): RunRecord}`` (``probe.grid_records``); keys:
    ``probe.epoch_series`` keys (those no record has are skipped). Rows (quantity, variant);
    columns ``seeds``, ``first epoch``, ``last epoch`` (means over seeds), ``change`` (last
    minus first, mean over seeds) and ``change range`` (the lowest and highest change of a
    single seed). Values are rounded to ``digits``.
    """
    import pandas as pd

    from linkpaper.book.probe import epoch_series

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
    from linkpaper.book.probe import epoch_series
    from linkpaper.book.viz import describe, pyplot, titled

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


# --------------------------------------------------------------------------------------------
# Two models over all their seeds: per class, per kind of segment (chapter 10)
# --------------------------------------------------------------------------------------------


def seed_runs(results_dir, variants, test) -> dict:
    """Every finished run of ``variants`` that stored test decisions or predictions.

    Returns ``{(label, seed): {"predictions": (pred_audio, pred_visual), "scores":
    AVVPScores, "record": RunRecord}}`` (label: the paper's name of the variant), in variant
    then seed order; test: the test annotations.
    """
    from linkpaper.evaluation.gains import DECISIONS_FILE
    from linkpaper.evaluation.metrics import evaluate_predictions
    from linkpaper.training.runs import PREDICTIONS_FILE, RunRecord

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
    from linkpaper.book.viz import PALETTE_HEX

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
    from linkpaper.book.viz import describe, pyplot, titled

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
    from linkpaper.book.viz import describe, pyplot, titled

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
    return "\n".join(lines)


def grid_limits(records: dict) -> str:
    """Markdown bullets of what a grid's records say about its schedule and its modules: the
    optimiser steps per epoch and in all (against LLP's training set with the same batch),
    where the trainable μ ends (it starts at 0), and how far CMIM's scalars and TSAM's
    spatial weights move. records: ``{(variant, seed): RunRecord}`` (``probe.grid_records``)."""
    import math

    from linkpaper.book.probe import epoch_series
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


def class_difference_reading(differences, support) -> str:
    """Markdown: how many of the largest per-class differences (:func:`class_differences`) lie
    within seed noise, and how few test segments the rarest classes have (:func:`class_support`)."""
    overlap = int(differences["seed ranges overlap"].sum())
    total = len(differences)
    rarest = support[["test audio segments", "test visual segments"]].min(axis=1).sort_values(kind="stable")
    names = ", ".join(f"{c} ({int(n)})" for c, n in rarest.head(3).items())
    seeds = [int(c.rsplit(", ", 1)[1].split()[0]) for c in differences.columns if str(c).endswith(" seed(s)")]
    if seeds and max(seeds) < 2:  # a point against a point: 'no overlap' says nothing about seed noise
        text = (
            f"* With one seed per model there are no seed ranges: these {total} largest differences "
            "cannot be told apart from seed noise."
        )
    else:
        text = (
            f"* Of these {total} largest differences, **{overlap}** lie within the seed ranges (some "
            "seed of one model scores as the other's seeds do): they are not evidence of a difference "
            "between the models."
        )
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


def teacher_label_reading(frame, baseline: str = "VALOR++") -> str:
    """Markdown: how the teachers' labels within the baseline's classes compare with the baseline
    and with each other model, in audio and visual segment-level F (:func:`teacher_label_frame`)."""
    kept = TEACHER_ROWS[1].format(baseline=baseline)
    if kept not in frame.index or baseline not in frame.index:
        return "No run of the baseline with stored decisions, so there is nothing to compare."
    raw, teacher, base = frame.loc[TEACHER_ROWS[0]], frame.loc[kept], frame.loc[baseline]
    text = (
        f"* The ungated teacher labels as they are score audio {raw['Audio']:.1f} and visual "
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
