"""Run records with provenance, for the results chapters (8-10).

:func:`find_run_dirs` lists a grid's run folders, :func:`measured_rows` turns them into mean ± std
rows (``linkpaper.training.grid.summarise_runs``) that also name their data, seeds, epochs, code
commit and hardware (``chapters.tables`` sets them beside the paper's reported rows),
:func:`provenance_frame` lists them, and :func:`history_frame` / :func:`history_figure` show one
run's per-epoch history; :func:`variant_color` is each variant's colour in every figure.
Nothing here trains or changes a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from linkpaper.errors import UserError

MEASURED = "measured"


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
            "grid folder, e.g. ../results/synth_small_valor_teachers"
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


def history_figure(history, source: str):
    """Three panels of a :func:`history_frame`: learning rate, train-loss terms, validation
    Type@AV and Event@AV per epoch (the selected best epoch marked)."""
    from linkpaper.chapters.viz import describe, pyplot, titled

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
    from linkpaper.chapters.viz import PALETTE_HEX
    from linkpaper.models import list_controls, list_models

    known = list(list_models()) + list(list_controls())
    return PALETTE_HEX[known.index(variant) % len(PALETTE_HEX)] if variant in known else "#000000"


def _label(model: str) -> str:
    from linkpaper.evaluation.paper import VARIANT_LABELS

    return VARIANT_LABELS.get(model, model)


def _signed(value: float, digits: int = 2) -> str:
    """``+1.23`` / ``−1.23`` (a true minus sign, as in the book's prose)."""
    text = f"{value:+.{digits}f}"
    if float(text) == 0:  # -0.004 at two digits: no sign to show
        text = f"{0.0:+.{digits}f}"
    return text.replace("-", "−")


def teachers_name(source: dict | None, modality: str | None = None) -> str:
    """Who made a data source's pseudo labels, in words that keep synthetic teachers from passing
    as CLAP and CLIP: ``"SynthLLP's simulated teachers"`` (``modality="audio"``: ``"SynthLLP's
    simulated audio teacher"``) for SynthLLP, ``"the CLAP and CLIP teachers"`` (``"the CLAP audio
    teacher"``) otherwise. source: ``AVVPData.source``."""
    if (source or {}).get("kind") == "synth":
        return f"SynthLLP's simulated {modality} teacher" if modality else "SynthLLP's simulated teachers"
    if modality:
        return f"the {'CLAP' if modality == 'audio' else 'CLIP'} {modality} teacher"
    return "the CLAP and CLIP teachers"
