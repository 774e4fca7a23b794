"""Analysis of finished runs for the results chapters (book chapters 8-10).

Three groups of functions, all pure (nothing here trains or changes a model):

* **Run records with provenance.** :func:`find_run_dirs` lists a grid's run folders,
  :func:`measured_rows` turns them into mean ± std rows (``linkpaper.grid.summarise_runs``)
  that also name their data, seeds, epochs, code commit and hardware, and
  :func:`results_table` sets them beside the paper's reported rows (``linkpaper.paper``).
  :func:`history_frame` is one run's per-epoch history.
* **Scores from predictions.** :func:`per_class_frame` (per-class F of several models),
  :func:`segment_alignment` (does a segment's audio label set equal its visual label set?),
  :func:`masked_segment_scores` / :func:`alignment_table` (segment-level F restricted to a
  kind of segment) and :func:`example_videos` (which test videos show a difference).
  :func:`delta_frame` compares each variant's gain over VALOR++ with the paper's.
* **Figures** for those tables: :func:`history_figure`, :func:`variant_figure`,
  :func:`per_class_comparison_figure`, :func:`diagnostics_figure`.

Shapes: N videos, T = 10 segments, C = 25 classes; predictions and ground truth are (N, T, C)
bool. F-scores are percentages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from linkpaper.classes import CLASSES
from linkpaper.errors import UserError
from linkpaper.metrics import f_from_counts

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
    UserError naming ``root`` when it holds none.
    """
    from linkpaper.models import variant_slug
    from linkpaper.models import list_models
    from linkpaper.runs import RESULTS_FILE

    root = Path(root)
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
    ``"SynthLLP small (synthetic)"`` or ``"LLP features (real)"`` (:meth:`RunRecord.data_label`)."""
    from linkpaper.runs import RunRecord

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
    from linkpaper.grid import summarise_runs
    from linkpaper.runs import RunRecord

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


def _format(mean: float, std: float | None, digits: int) -> str:
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def results_table(reported: list[dict], measured: list[dict], digits: int = 2, names: dict | None = None,
                  interleave: bool = True):
    """Reported and measured rows in one pandas table of strings, never mixed up.

    reported: ``linkpaper.paper.reported_rows(...)`` (shown with one decimal, as printed);
    measured: :func:`measured_rows` (``mean ± std`` with ``digits`` decimals). The row index has
    two levels, ``method`` (a measured variant is shown by ``names[model]``, by default the
    paper's Table II label, e.g. ``"+ T, S"``) and ``source`` (``"reported: LLP test set
    (real)"`` or ``"measured: <label>"``); the columns are the ten scores as in
    ``viz.scores_frame``. With ``interleave`` each measured row follows the reported row of the
    same variant (measured rows without one come last); otherwise all reported rows come first.
    """
    import pandas as pd

    from linkpaper.metrics import COLUMN_TITLES, SCORE_COLUMNS
    from linkpaper.paper import VARIANT_LABELS

    names = {**VARIANT_LABELS, **(names or {})}
    measured_by_model = {row["model"]: row for row in measured}
    placed: set[str] = set()
    index, cells = [], []

    def add_measured(row):
        placed.add(row["model"])
        index.append((names.get(row["model"], row["model"]), f"measured: {row['label']}"))
        cells.append([_format(m, s, digits) for m, s in zip(row["mean"], row["std"])])

    for row in reported:
        index.append((row["method"], f"reported: {row['data']}"))
        cells.append([_format(s, None, 1) for s in row["scores"]])
        if interleave and row.get("variant") in measured_by_model and row["variant"] not in placed:
            add_measured(measured_by_model[row["variant"]])
    for row in measured:
        if row["model"] not in placed:
            add_measured(row)
    columns = pd.MultiIndex.from_tuples([(f"{level}-level", COLUMN_TITLES[m]) for level, m in SCORE_COLUMNS],
                                        names=["level", "F (%)"])
    return pd.DataFrame(cells, index=pd.MultiIndex.from_tuples(index, names=["method", "source"]), columns=columns)


def provenance_frame(measured: list[dict]):
    """One row per measured variant: data, seeds, epochs, device, commit, hardware, run folders."""
    import pandas as pd

    keys = ("data", "epochs", "warmup_epochs", "device", "plsim_labels", "commit", "hardware", "torch")
    frame = pd.DataFrame(
        [{"seeds": "/".join(map(str, row["seeds"])), **{k: row[k] for k in keys},
          "run records": ", ".join(_relative_run(p) for p in row["runs"])} for row in measured],
        index=pd.Index([row["model"] for row in measured], name="measured variant"),
    )
    return frame


def delta_frame(measured: list[dict], reported: list[dict], baseline: str = "valor++", columns=(3, 4, 8, 9),
                digits: int = 2):
    """Each variant's gain over ``baseline``, measured and reported, for the score ``columns``.

    Indices into ``SCORE_COLUMNS``; the default is the two Type@AV and the two Event@AV
    scores. Measured gains are differences of seed means, shown next to the largest of the
    two seed standard deviations (a gain smaller than that is within seed noise); reported
    gains are differences of the paper's numbers. Rows: variants (Table II labels) except the
    baseline; columns (score, "measured gain" | "seed std" | "reported gain").
    """
    import pandas as pd

    from linkpaper.metrics import SCORE_LABELS as COLUMN_LABELS
    from linkpaper.paper import VARIANT_LABELS

    by_model = {row["model"]: row for row in measured}
    if baseline not in by_model:
        raise UserError(f"no measured run of the baseline {baseline!r}; measured: {', '.join(by_model) or 'none'}")
    paper_scores = {row["variant"]: row["scores"] for row in reported if row.get("variant")}
    base = by_model[baseline]
    rows = {}
    for row in measured:
        if row["model"] == baseline:
            continue
        values = {}
        for c in columns:
            values[(COLUMN_LABELS[c], "measured gain")] = row["mean"][c] - base["mean"][c]
            values[(COLUMN_LABELS[c], "seed std")] = max(row["std"][c], base["std"][c])
            paper_gain = (paper_scores[row["model"]][c] - paper_scores[baseline][c]
                          if row["model"] in paper_scores and baseline in paper_scores else np.nan)
            values[(COLUMN_LABELS[c], "reported gain")] = paper_gain
        rows[VARIANT_LABELS.get(row["model"], row["model"])] = values
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["score", "F (%) points"])
    frame.index.name = f"gain over {VARIANT_LABELS.get(baseline, baseline)}"
    return frame.round(digits)


def gain_report(measured: list[dict], reported: list[dict], test, baseline: str = "valor++",
                columns=(3, 8), resamples: int = 2000, level: float = 0.95, digits: int = 2):
    """What each variant's gain over ``baseline`` is worth, on the score ``columns``.

    measured: :func:`measured_rows`, each run folder holding ``test_decisions.npz``
    (``scripts/collect_results.py`` writes them); reported: ``paper.reported_rows``; test: the
    test annotations (``load_annotations("test")``). Per variant and score (columns):
    ``reported``, the paper's gain; ``measured``, the difference of seed means; ``seed std``,
    the variant's and the baseline's seed standard deviations; ``95% interval`` (for the
    default ``level``), the paired-bootstrap interval over test videos
    (``linkpaper.gains.paired_bootstrap`` on seed-averaged per-video scores); ``distinct``,
    True when the interval excludes zero *and* the gain exceeds twice its seed standard error
    (both noise sources); ``seeds needed``, the seeds per model that a two-sided 5 % test
    with 80 % power needs for a gain of the paper's size at the measured seed spreads
    (``linkpaper.gains.seeds_needed``; a model with a single seed borrows the other model's
    spread, NaN when neither has two). Returns a pandas frame, rows (variant, score).
    """
    import pandas as pd

    from linkpaper.gains import paired_bootstrap, run_per_video, seed_gain, seeds_needed
    from linkpaper.metrics import SCORE_LABELS as COLUMN_LABELS
    from linkpaper.paper import VARIANT_LABELS

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
        for c in columns:
            paper_gain = (paper_scores[row["model"]][c] - paper_scores[baseline][c]
                          if row["model"] in paper_scores and baseline in paper_scores else np.nan)
            # a variant with one seed borrows the baseline's seed spread (and vice versa)
            std_a = seeds.std_a[c] if row["n"] > 1 else seeds.std_b[c]
            std_b = seeds.std_b[c] if base["n"] > 1 else std_a
            stderr = np.sqrt(std_a**2 / row["n"] + std_b**2 / base["n"])  # of the gain over seeds
            needed = (seeds_needed(abs(paper_gain), std_a, std_b)
                      if np.isfinite(paper_gain) and max(row["n"], base["n"]) > 1 else np.nan)
            records.append({
                "variant": VARIANT_LABELS.get(row["model"], row["model"]), "score": COLUMN_LABELS[c],
                "reported": paper_gain, "measured": seeds.gain[c],
                "seed std": f"{seeds.std_a[c]:.{digits}f} / {seeds.std_b[c]:.{digits}f}",
                f"{level:.0%} interval": f"[{boot.low[c]:+.{digits}f}, {boot.high[c]:+.{digits}f}]",
                "distinct": bool(boot.excludes_zero()[c] and abs(seeds.gain[c]) > 2 * stderr),
                "seeds needed": needed,
            })
    columns = ["variant", "score", "reported", "measured", "seed std", f"{level:.0%} interval", "distinct",
               "seeds needed"]
    frame = pd.DataFrame.from_records(records, columns=columns).set_index(["variant", "score"])
    return frame.round({"reported": 1, "measured": digits, "seeds needed": 0})


def _rows_of(row: dict) -> np.ndarray:
    """(n, 10) test rows of a measured row's runs, read from their records."""
    from linkpaper.runs import RunRecord

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

    from linkpaper.metrics import SCORE_COLUMNS
    from linkpaper.runs import RunRecord

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
    from linkpaper.engine import PREDICTIONS_FILE
    from linkpaper.gains import DECISIONS_FILE
    from linkpaper.metrics import binarize_predictions
    from linkpaper.predictions import load_predictions

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
        per_run = [cross_modal_errors({"run": load_run_predictions(run, test.filenames)}, test.gt_audio,
                                      test.gt_visual).loc["run"] for run in row["runs"]]
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

    a = torch.as_tensor(np.asarray(pl_audio) >= 0.5)
    v = torch.as_tensor(np.asarray(pl_visual) >= 0.5)
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


def per_class_frame(scores: dict, level: str = "segment", modalities=("audio", "visual"), digits: int = 2):
    """Per-class F (%) of several models: index the 25 classes, columns (modality, model).

    scores: model name -> ``metrics.AVVPScores``. A class kept in no video is NaN.
    """
    import pandas as pd

    columns = {(m, name): s.per_class[level][m].f for m in modalities for name, s in scores.items()}
    frame = pd.DataFrame(columns, index=pd.Index(list(CLASSES), name="class"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["modality", "model"])
    return frame.round(digits)


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


def alignment_table(predictions: dict, gt_audio, gt_visual, digits: int = 2):
    """Segment-level F (%) per model on aligned and non-aligned segments (and all non-empty).

    predictions: model name -> (pred_audio, pred_visual). Rows (model, kind of segment), columns
    the four modalities of :func:`masked_segment_scores` and ``segments`` (how many).
    """
    import pandas as pd

    kind = segment_alignment(gt_audio, gt_visual)
    masks = {"aligned": kind == ALIGNED, "non-aligned": kind == NON_ALIGNED, "all with an event": kind != EMPTY}
    rows = {}
    for name, (pred_audio, pred_visual) in predictions.items():
        for label, mask in masks.items():
            scores = masked_segment_scores(pred_audio, pred_visual, gt_audio, gt_visual, mask)
            rows[(name, label)] = {m: scores[m]["f"] for m in MASKED_MODALITIES} | {"segments": scores["segments"]}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["model", "segments where"])
    frame.columns = ["Audio", "Visual", "Audio-visual", "Event@AV (pooled)", "segments"]
    return frame.round(digits)


def example_videos(per_video_a: np.ndarray, per_video_b: np.ndarray, count: int = 3,
                   eligible: np.ndarray | None = None) -> list[tuple[int, str]]:
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
        raise UserError(f"eligible has shape {allowed.shape} and {int(allowed.sum())} video(s); "
                        f"expected {a.shape} with one or more")
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
    for column, label in (("val segment type", "segment Type@AV"), ("val segment event", "segment Event@AV"),
                          ("val event type", "event Type@AV")):
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
    return describe(fig, "Three panels per epoch: the learning rate, the training-loss terms, and the "
                         "validation segment Type@AV, segment Event@AV and event Type@AV, with the selected "
                         "best epoch marked", source, title="Training curves")


def seed_scores_frame(measured: list[dict], columns=(3, 4), names: dict | None = None):
    """Long table of the per-seed test scores behind :func:`measured_rows`: one row per
    (variant, seed, score) with columns ``variant`` (Table II label), ``model``, ``seed``,
    ``score`` (e.g. "segment-level Type@AV") and ``F (%)``. Read from each run's record."""
    import pandas as pd

    from linkpaper.metrics import COLUMN_TITLES, SCORE_COLUMNS
    from linkpaper.paper import VARIANT_LABELS
    from linkpaper.runs import RunRecord

    names = {**VARIANT_LABELS, **(names or {})}
    rows = []
    for row in measured:
        for run in row["runs"]:
            record = RunRecord.read(run)
            for c in columns:
                level, modality = SCORE_COLUMNS[c]
                rows.append({"variant": names.get(row["model"], row["model"]), "model": row["model"],
                             "seed": record.seed, "score": f"{level}-level {COLUMN_TITLES[modality]}",
                             "F (%)": float(record.test_row[c])})
    return pd.DataFrame(rows)


def variant_figure(measured: list[dict], reported: list[dict], source: str, columns=(3, 4), names: dict | None = None):
    """Per variant (any set: Table II's and controls), for each score ``columns`` (indices into
    ``SCORE_COLUMNS``; default segment Type@AV and Event@AV): every seed's test score (small
    dots), their mean with ± one standard deviation over seeds (large dot and bar), and the
    paper's reported value of the same variant (black diamond). The y axis is shared, but
    the measured and reported numbers are different data (say so in ``source``)."""
    import seaborn as sns

    from linkpaper.metrics import COLUMN_TITLES, SCORE_COLUMNS
    from linkpaper.paper import VARIANT_LABELS
    from linkpaper.book.viz import describe, pyplot, titled

    plt = pyplot()
    names = {**VARIANT_LABELS, **(names or {})}
    seeds = seed_scores_frame(measured, columns, names)
    order = [names.get(row["model"], row["model"]) for row in measured]
    reported_by_variant = {row["variant"]: row["scores"] for row in reported if row.get("variant")}
    fig, axes = plt.subplots(1, len(columns), figsize=(max(5.5, 0.55 * len(order) + 2) * len(columns), 3.9),
                             squeeze=False)
    for ax, column in zip(axes[0], columns):
        level, modality = SCORE_COLUMNS[column]
        score = f"{level}-level {COLUMN_TITLES[modality]}"
        data = seeds[seeds["score"] == score]
        sns.stripplot(data, x="variant", y="F (%)", order=order, ax=ax, color="#949494", size=4, jitter=0.12,
                      label="measured: one seed")
        sns.pointplot(data, x="variant", y="F (%)", order=order, ax=ax, errorbar="sd", linestyle="none",
                      color="#0173b2", markersize=7, capsize=0.25, err_kws={"linewidth": 1.5},
                      label="measured: mean ± std over seeds")
        paper = [reported_by_variant.get(row["model"], [np.nan] * 10)[column] for row in measured]
        ax.scatter(np.arange(len(order)) + 0.3, paper, marker="D", s=30, color="black", zorder=5,
                   label="paper, LLP test (reported)")
        ax.set_xlim(-0.5, len(order) - 0.2)
        ax.tick_params(axis="x", rotation=30)
        plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
        ax.set_xlabel("")
        ax.set_ylabel(f"{score} F (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axes[0, 0].legend(unique.values(), unique.keys(), frameon=False, fontsize=7, loc="best")
    for ax in axes[0, 1:]:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.suptitle(titled("Ablation variants: measured vs reported", source), fontsize=10)
    fig.tight_layout()
    scores = " and ".join(f"{SCORE_COLUMNS[c][0]}-level {COLUMN_TITLES[SCORE_COLUMNS[c][1]]}" for c in columns)
    return describe(fig, f"For each of {len(order)} variants, {scores}: the test F (%) of every training seed "
                         "(grey dots), their mean with ± one standard deviation (blue), and the paper's "
                         "reported value (black diamond)", source, title="Ablation variants: measured vs reported")


def per_class_comparison_figure(frame, source: str, title: str = ""):
    """Heatmap of a :func:`per_class_frame`: one row per class, one column per (modality,
    model), each cell the F (%) written in it (blank: the class is never kept); when there are
    two models, a second panel shows the difference (second minus first) per modality."""
    import seaborn as sns

    from linkpaper.book.viz import describe, pyplot, titled

    plt = pyplot()
    modalities = list(dict.fromkeys(frame.columns.get_level_values(0)))
    models = list(dict.fromkeys(frame.columns.get_level_values(1)))
    values = frame.copy()
    values.columns = [f"{m}\n{model}" for m, model in frame.columns]
    two = len(models) == 2
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(11 if two else 8, 0.3 * len(frame.index) + 2.0),
                             squeeze=False, gridspec_kw={"width_ratios": [len(values.columns), len(modalities)]}
                             if two else None)
    import warnings

    warnings.filterwarnings("ignore", message="The set_bad function", category=PendingDeprecationWarning)
    sns.heatmap(values, ax=axes[0, 0], annot=True, fmt=".0f", cmap="viridis", vmin=0, vmax=100,
                annot_kws={"fontsize": 7}, cbar_kws={"label": "F (%)", "shrink": 0.6})
    axes[0, 0].set_ylabel("")
    axes[0, 0].tick_params(labelsize=8)
    what = (f"Heatmap: the per-class F (%) of {len(frame.index)} classes (rows) for "
            f"{', '.join(modalities)} x {', '.join(models)} (columns), value written in each cell")
    if two:
        difference = frame.xs(models[1], axis=1, level=1) - frame.xs(models[0], axis=1, level=1)
        limit = max(float(np.nanmax(np.abs(difference.to_numpy()))), 1.0) if difference.notna().any().any() else 1.0
        sns.heatmap(difference, ax=axes[0, 1], annot=True, fmt="+.0f", cmap="RdBu", center=0, vmin=-limit,
                    vmax=limit, annot_kws={"fontsize": 7}, yticklabels=False,
                    cbar_kws={"label": f"{models[1]} - {models[0]} (points)", "shrink": 0.6})
        axes[0, 1].set_ylabel("")
        axes[0, 1].set_title(f"{models[1]} minus {models[0]}", fontsize=9)
        what += f"; beside it the difference {models[1]} minus {models[0]} per class and modality (blue: gain)"
    fig.suptitle(titled(title or "Per-class segment-level F", source), fontsize=10)
    fig.tight_layout()
    return describe(fig, what, source, title=title or "Per-class segment-level F")


def variant_color(variant: str) -> str:
    """A fixed colour per registry variant (tab10 in registry order), the same in every figure."""
    from linkpaper.models import list_models

    from linkpaper.models import list_controls
    from linkpaper.book.viz import PALETTE_HEX

    known = list(list_models()) + list(list_controls())
    return PALETTE_HEX[known.index(variant) % len(PALETTE_HEX)] if variant in known else "#000000"


def diagnostics_figure(records: dict, keys, source: str, labels: dict | None = None):
    """One panel per per-epoch quantity (``probe.epoch_series`` keys, e.g. ``"mu"``,
    ``"alpha2"``, ``"val_type_av"``): for each variant the mean over its seeds per epoch, with
    the seed range shaded. records: ``{(variant, seed): RunRecord or results.json dict}``
    (``probe.grid_records``); keys no record has are skipped."""
    from linkpaper.paper import VARIANT_LABELS
    from linkpaper.book.probe import epoch_series
    from linkpaper.book.viz import describe, pyplot, titled

    plt = pyplot()
    labels = labels or {}
    series = {}
    for key in keys:
        try:
            series[key] = epoch_series(records, key)
        except UserError:
            continue
    if not series:
        raise UserError(f"no run record has any of {list(keys)}")
    columns = min(len(series), 3)
    rows = int(np.ceil(len(series) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.3 * columns, 3.0 * rows), squeeze=False)
    for ax, (key, frame) in zip(axes.ravel(), series.items()):
        for variant in dict.fromkeys(frame.columns.get_level_values("variant")):
            values = frame[variant]
            color = variant_color(variant)
            ax.plot(values.index, values.mean(axis=1), "o-", ms=3, color=color,
                    label=VARIANT_LABELS.get(variant, variant))
            if values.shape[1] > 1:
                ax.fill_between(values.index, values.min(axis=1), values.max(axis=1), color=color, alpha=0.15)
        ax.set_title(labels.get(key, key), fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(series):]:
        ax.axis("off")
    found = {}
    for ax in axes.ravel()[:len(series)]:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            found.setdefault(name, handle)
    order = [VARIANT_LABELS.get(v, v) for v in VARIANT_LABELS]
    names = sorted(found, key=lambda name: order.index(name) if name in order else len(order))
    handles = [found[name] for name in names]
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 8), frameon=False, fontsize=8)
    fig.suptitle(titled("Per-epoch diagnostics (mean over seeds, range shaded)", source), fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    shown = "; ".join(labels.get(key, key) for key in series)
    return describe(fig, f"Line plots per epoch, one line per variant (mean over its seeds, seed range shaded), "
                         f"of: {shown}", source, title="Per-epoch diagnostics")
