"""The field on one engine (book chapter 11): Table I as reported and as measured here.

The paper's Table I compares LINK with methods trained on other features; this module puts
its rows beside the same methods trained by this repository on one benchmark, one metric and
one selection rule. Pure functions over run records (nothing here trains):

* **The lineage.** :data:`LINEAGE` (HAN -> MM-Pyramid -> JoMoLD -> VALOR++ -> LEAP -> LINK),
  :func:`lineage_frame` (each method's network, loss, recipe and selection rule, read from the
  registry) and :func:`source_block` (a function's source as a Markdown code block).
* **Reported.** :func:`reported_frame`: Table I with the features each row was trained on
  (``linkpaper.evaluation.paper.TABLE_I_FEATURES``).
* **Measured.** :func:`field_run_dirs` / :func:`field_rows` read the two records folders
  (the field's methods; VALOR++ and LINK from the grid), tolerating missing runs;
  :func:`field_status` names what is there and what is not; :func:`measured_frame` is the
  measured table, a row per method of the lineage ("not trained yet" where none finished);
  :func:`decisions_test_split` the test annotations of the videos the runs' decisions cover.
* **Gains.** :func:`field_gains` (``gain_reading.gain_data`` over a baseline, labelled with the
  methods' names, the paper's Table I gain beside it), :func:`gain_frame` (its table, the
  interval over seeds left empty where both models have one seed), :func:`field_verdicts`
  (each gain in words), :func:`gain_figure` (the gains with every seed) and
  :func:`ordering_reading` (the measured order against the reported one, in words), so that no
  number in the chapter's prose is typed.

Shapes: N test videos, T = 10 segments, C = 25 classes. F-scores are percentages.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np

from linkpaper.errors import UserError

LINEAGE = ("han", "mm-pyramid", "jomold", "valor++", "leap", "link")
"""The methods of the chapter, registry names in the order of the lineage."""

LABELS = {
    "han": "HAN",
    "mm-pyramid": "MM-Pyramid",
    "jomold": "JoMoLD",
    "valor++": "VALOR++",
    "leap": "LEAP",
    "link": "LINK",
}
"""Registry name -> the name the chapter prints."""

GRID_VARIANTS = ("valor++", "link")  # trained by the ablation grid, not by the field's folder
PLANNED_SEEDS = (87, 88, 89)
SEG_TYPE, EVENT_TYPE = 3, 8  # metrics.SCORE_COLUMNS: segment-level and event-level Type@AV


def method_label(name: str) -> str:
    """``"mm-pyramid"`` -> ``"MM-Pyramid"``; any other name is returned as it is."""
    return LABELS.get(name, name)


# --------------------------------------------------------------------------------------------
# The lineage
# --------------------------------------------------------------------------------------------


def source_block(obj, start: str | None = None) -> str:
    """The source of a function, method or class as a Markdown ``python`` code block.

    ``start``: keep the lines from the first one containing this text (e.g. ``"def forward"``
    of a class), through the end of that definition.
    """
    lines = inspect.getsource(obj).splitlines()
    if start is not None:
        first = next((i for i, line in enumerate(lines) if start in line), None)
        if first is None:
            raise UserError(f"source_block: {start!r} is not in the source of {obj.__qualname__}")
        indent = len(lines[first]) - len(lines[first].lstrip())
        end = next(
            (
                j
                for j in range(first + 1, len(lines))
                if lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) <= indent
            ),
            len(lines),
        )
        lines = lines[first:end]
    width = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    body = "\n".join(line[width:] for line in lines).rstrip()
    return f"```python\n{body}\n```"


def _recipe_text(recipe: dict) -> tuple[str, str]:
    """(optimiser, schedule) of a registry recipe; an empty recipe is VALOR++'s (TrainConfig)."""
    from linkpaper.training.recipe import TrainConfig

    defaults = TrainConfig()
    optimizer = recipe.get("optimizer", "adamw")
    lr = recipe.get("lr", defaults.lr)
    name = {"adamw": "AdamW", "adam": "Adam"}.get(optimizer, optimizer)
    if recipe.get("schedule", "warmup-cosine") == "step":
        schedule = f"×{recipe['gamma']:g} every {recipe['step_size']} epochs"
    else:
        schedule = f"{recipe.get('warmup_epochs', defaults.warmup_epochs)} warm-up epochs, then cosine"
    return f"{name}, lr {lr:g}", schedule


def _network_on_meta(name: str):
    """The network of a registry name built on torch's ``meta`` device: its parameters have
    shapes but no values, so counting them costs no initialisation (LEAP's class table, a
    buffer, is left unset)."""
    import torch

    from linkpaper.models import build_model
    from linkpaper.models.registry import get_method, model_config

    method = get_method(name)
    with torch.device("meta"):
        if method.is_grid_variant:
            return build_model(name)
        return method.network(model_config(name))


def lineage_frame(count_parameters: bool = True):
    """One row per method of :data:`LINEAGE`, read from the registry (``get_method``).

    Columns: ``paper``, ``network`` (its class), ``loss`` (the function it trains with),
    ``optimiser``, ``schedule``, ``epochs``, ``batch``, ``published selection`` (the method's own
    checkpoint rule; every run also keeps the common one), ``stages`` and, with
    ``count_parameters``, ``parameters`` (of the network built for the VALOR feature layout, on
    torch's ``meta`` device: no weights are initialised).
    """
    import pandas as pd

    from linkpaper.models.registry import get_method
    from linkpaper.training.recipe import TrainConfig

    defaults = TrainConfig()
    rows = {}
    for name in LINEAGE:
        method = get_method(name)
        model = _network_on_meta(name) if count_parameters else None
        optimiser, schedule = _recipe_text(method.recipe)
        selection = method.selection or {"level": "segment", "score": "type", "ties": "later"}
        rule = f"val {selection['level']} {'Type@AV' if selection['score'] == 'type' else selection['score']}" + (
            "" if method.selection else " (the common rule)"
        )
        row = {
            "paper": method.paper.split(";")[0].replace(" (VALOR++)", ""),
            "network": type(model).__name__ if model is not None else "",
            "loss": method.loss.replace(":", "."),
            "optimiser": optimiser,
            "schedule": schedule,
            "epochs": method.recipe.get("epochs", defaults.epochs),
            "batch": method.recipe.get("batch_size", defaults.batch_size),
            "published selection": rule,
            "stages": f"{method.previous_stage} first" if method.previous_stage else "one",
        }
        if name == "link":
            row["paper"] = method.paper.split(";")[-1].strip()
        if count_parameters:
            row["parameters"] = sum(p.numel() for p in model.parameters())
        rows[method_label(name)] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "method"
    return frame


# --------------------------------------------------------------------------------------------
# Table I as reported
# --------------------------------------------------------------------------------------------


def reported_frame(level: str = "segment"):
    """The paper's Table I (reported, LLP test) at ``level`` with the features of each row.

    Index ``method`` (the paper's label); columns ``venue``, ``features`` (what the row was
    trained on, ``paper.TABLE_I_FEATURES``), ``trained here`` (the registry name, or "" for a
    method this repository does not implement), then the five F-scores of ``level``.
    """
    import pandas as pd

    from linkpaper.evaluation import paper
    from linkpaper.evaluation.metrics import COLUMN_TITLES, SCORE_COLUMNS

    columns = _level_columns(level)
    rows = []
    for row in paper.reported_rows("I"):
        cells = {
            "venue": row["venue"] or "(this paper)",
            "features": paper.table_i_features(row["method"]),
            "trained here": paper.TABLE_I_METHODS.get(row["method"], ""),
        }
        cells.update({COLUMN_TITLES[SCORE_COLUMNS[c][1]]: row["scores"][c] for c in columns})
        rows.append((row["method"], cells))
    frame = pd.DataFrame([cells for _, cells in rows], index=pd.Index([m for m, _ in rows], name="method"))
    return frame


def _level_columns(level: str) -> list[int]:
    from linkpaper.evaluation.metrics import SCORE_COLUMNS

    if level not in ("segment", "event"):
        raise UserError(f"level {level!r}; choose segment or event")
    return [i for i, (lvl, _) in enumerate(SCORE_COLUMNS) if lvl == level]


def reported_with_methods() -> list[dict]:
    """``paper.reported_rows("I")`` with ``variant`` set to the registry name of every row this
    repository trains (``paper.TABLE_I_METHODS``), so a measured method finds its reported row."""
    from linkpaper.evaluation import paper

    rows = paper.reported_rows("I")
    for row in rows:
        row["variant"] = paper.TABLE_I_METHODS.get(row["method"], row["variant"])
    return rows


# --------------------------------------------------------------------------------------------
# The measured rows
# --------------------------------------------------------------------------------------------


def field_run_dirs(field_dir, grid_dir) -> tuple[list[Path], list[str]]:
    """The run folders of the lineage: the field's methods from ``field_dir`` (``<slug>/seed<S>``)
    and VALOR++ and LINK from the grid folder ``grid_dir``.

    Returns (run folders in lineage order, notes): a folder that is missing or holds no run of
    its methods gives a note, never an error, so the chapter renders whatever exists.
    """
    from linkpaper.chapters.run_records import find_run_dirs

    found, notes = {}, []
    groups = ((field_dir, [m for m in LINEAGE if m not in GRID_VARIANTS]), (grid_dir, list(GRID_VARIANTS)))
    for folder, methods in groups:
        names = ", ".join(method_label(m) for m in methods)
        if not Path(folder).is_dir():
            notes.append(f"`{folder}` is not there yet: no run of {names} is committed")
            continue
        try:
            runs = find_run_dirs(folder, methods)
        except UserError:
            notes.append(f"`{folder}` holds no finished run of {names} yet")
            continue
        for run in runs:
            found.setdefault(run.parent.name, []).append(run)
    from linkpaper.models import variant_slug

    ordered = [run for name in LINEAGE for run in found.get(variant_slug(name), [])]
    return ordered, notes


def field_rows(field_dir, grid_dir) -> list[dict]:
    """``run_records.measured_rows`` of :func:`field_run_dirs`, in lineage order (methods with no
    finished run are absent; an empty list when nothing has finished)."""
    from linkpaper.chapters.run_records import measured_rows

    runs, _ = field_run_dirs(field_dir, grid_dir)
    if not runs:
        return []
    rows = measured_rows(runs)
    order = {name: i for i, name in enumerate(LINEAGE)}
    return sorted(rows, key=lambda row: order.get(row["model"], len(order)))


def _benchmarks(rows: list[dict]) -> dict[str, list[str]]:
    """Data source (as JSON) -> the methods whose runs read it."""
    from linkpaper.training.runs import RunRecord

    found: dict[str, list[str]] = {}
    for row in rows:
        for run in row["runs"]:
            source = json.dumps(RunRecord.read(run).data.get("source"), sort_keys=True)
            names = found.setdefault(source, [])
            if method_label(row["model"]) not in names:
                names.append(method_label(row["model"]))
    return found


def field_status(rows: list[dict], notes=(), seeds=PLANNED_SEEDS) -> str:
    """Markdown: for each method of the lineage, the seeds the records hold and the planned
    ``seeds`` they do not ("not trained yet"), the device they ran on, whether every run read
    the same benchmark, and the ``notes`` of :func:`field_run_dirs` (missing folders)."""
    from linkpaper.chapters.probe import seed_text

    by_model = {row["model"]: row for row in rows}
    held, missing = [], []
    for name in LINEAGE:
        row = by_model.get(name)
        if row is None:
            missing.append(f"{method_label(name)} (seeds {seed_text(seeds)})")
            continue
        plural = "s" if row["n"] > 1 else ""
        held.append(f"{method_label(name)} ({row['n']} seed{plural}: {seed_text(row['seeds'])}, {row['device']})")
        absent = [s for s in seeds if s not in row["seeds"]]
        if absent:
            missing.append(f"{method_label(name)} seed{'s' if len(absent) > 1 else ''} {seed_text(absent)}")
    runs = sum(row["n"] for row in rows)
    if runs:
        text = f"The records hold **{runs} finished run{'s' if runs != 1 else ''}**: {'; '.join(held)}."
    else:
        text = "The records hold **no finished run** of the lineage yet."
    if missing:
        text += f" **Not trained yet**: {'; '.join(missing)}; their rows and gains appear once they are committed."
    benchmarks = _benchmarks(rows)
    if len(benchmarks) > 1:
        groups = "; ".join(", ".join(names) for names in benchmarks.values())
        text += (
            f" **The runs read {len(benchmarks)} different benchmarks** (grouped: {groups}): rows of "
            "different groups are not comparable."
        )
    elif len(rows) > 1:
        text += " Every run read the same benchmark (the same data source in its record)."
    for note in notes:
        text += f"\n\n(Records folder: {note})"
    return text


def measured_frame(rows: list[dict], level: str = "segment", digits: int = 1):
    """The measured Table I at ``level``: one row per method of :data:`LINEAGE`.

    Index ``method``; columns ``seeds`` (those averaged, or "not trained yet"), ``device``, then
    the five F-scores as ``mean ± std`` over seeds (the mean alone for one seed, empty when
    the method has no finished run).
    """
    import pandas as pd

    from linkpaper.chapters.probe import seed_text
    from linkpaper.chapters.tables import _cell
    from linkpaper.evaluation.metrics import COLUMN_TITLES, SCORE_COLUMNS

    columns = _level_columns(level)
    titles = [COLUMN_TITLES[SCORE_COLUMNS[c][1]] for c in columns]
    by_model = {row["model"]: row for row in rows}
    cells = {}
    for name in LINEAGE:
        row = by_model.get(name)
        if row is None:
            cells[method_label(name)] = {"seeds": "not trained yet", "device": "", **dict.fromkeys(titles, "")}
            continue
        cells[method_label(name)] = {
            "seeds": seed_text(row["seeds"]),
            "device": row["device"],
            **{t: _cell(row["mean"][c], row["std"][c], row["n"], digits) for t, c in zip(titles, columns)},
        }
    frame = pd.DataFrame.from_dict(cells, orient="index")
    frame.index.name = "method"
    return frame


def decisions_test_split(rows: list[dict], test):
    """The test annotations ``test`` restricted to the videos the runs' stored decisions cover
    (all of them for SynthLLP small and LLP; a subset for ``synth:tiny``), in ``test``'s order.

    Raises UserError when the runs' decision files do not cover the same videos."""
    import dataclasses

    from linkpaper.evaluation.predictions import load_predictions
    from linkpaper.training.runs import DECISIONS_FILE

    covered = None
    for row in rows:
        for run in row["runs"]:
            path = Path(run) / DECISIONS_FILE
            if not path.is_file():
                raise UserError(f"{path}: no test decisions here; write them with scripts/collect_results.py")
            names = frozenset(load_predictions(path).filenames)
            if covered is not None and names != covered:
                raise UserError(f"{path}: its decisions cover other test videos than the other runs'")
            covered = names
    if covered is None or len(covered) == len(test.filenames):
        return test
    keep = np.array([name in covered for name in test.filenames])
    if keep.sum() != len(covered):
        raise UserError(
            f"{len(covered) - int(keep.sum())} video(s) of the stored decisions are not in the {test.split} split"
        )
    return dataclasses.replace(
        test,
        filenames=[n for n, k in zip(test.filenames, keep) if k],
        weak=test.weak[keep],
        gt_audio=None if test.gt_audio is None else test.gt_audio[keep],
        gt_visual=None if test.gt_visual is None else test.gt_visual[keep],
    )


# --------------------------------------------------------------------------------------------
# Gains over a baseline
# --------------------------------------------------------------------------------------------


def field_gains(
    rows: list[dict], test, baseline: str, columns=(SEG_TYPE, EVENT_TYPE), resamples: int = 2000, methods=None
):
    """``gain_reading.gain_data`` of the methods of ``rows`` over ``baseline`` (a registry name),
    the index labelled with the methods' names (``"MM-Pyramid"``) and ``reported`` holding the
    paper's Table I gain (a gain across different features, see :func:`reported_frame`).

    ``methods``: the registry names to compare (default: every other method of ``rows``).
    Returns None when ``baseline`` has no finished run.
    """
    from linkpaper.chapters.gain_reading import gain_data

    if baseline not in {row["model"] for row in rows}:
        return None
    chosen = [row for row in rows if row["model"] == baseline or methods is None or row["model"] in methods]
    data = gain_data(chosen, reported_with_methods(), test, baseline=baseline, columns=columns, resamples=resamples)
    labels = {variant: method_label(model) for (variant, _), model in data["model"].items()}
    return data.rename(index=labels, level="variant")


def gain_frame(data, digits: int = 2):
    """A :func:`field_gains` frame as the chapter's table: per (method, score) the seeds
    (method / baseline), the measured gain, its interval over test videos, its interval over
    seeds and test videos (empty, "one seed each", where both have one seed: the seed noise is
    then unmeasured), whether it is distinguishable from noise, and the paper's Table I gain."""
    import pandas as pd

    level = data.attrs.get("level", 0.95)

    def interval(low, high):
        return f"[{low:+.{digits}f}, {high:+.{digits}f}]"

    both = [
        interval(lo, hi) if max(n, nb) > 1 else "one seed each: not measured"
        for lo, hi, n, nb in zip(data["low_seeds"], data["high_seeds"], data["n"], data["n_baseline"])
    ]
    frame = pd.DataFrame(
        {
            "seeds": [f"{n} / {nb}" for n, nb in zip(data["n"], data["n_baseline"])],
            "measured gain": data["measured"].round(digits),
            f"{level:.0%} interval, test videos": [interval(lo, hi) for lo, hi in zip(data["low"], data["high"])],
            f"{level:.0%} interval, seeds and videos": both,
            "distinct": data["distinct"].astype(bool),
            "reported (Table I, own features)": data["reported"].round(1),
        },
        index=data.index,
    )
    frame.index = frame.index.set_names(["method", "score"])
    return frame


def ordering_reading(rows: list[dict], column: int = SEG_TYPE, over_han=None, over_valor=None) -> str:
    """Markdown: the measured order of the methods by ``column`` (seed means) against the order
    the paper's Table I gives the same methods, how many pairs agree, and which adjacent
    measured differences the gain intervals separate from noise (``over_han`` / ``over_valor``:
    :func:`field_gains` frames, used to say which gains are distinguishable)."""
    from linkpaper.chapters.gain_reading import SCORE_NAMES
    from linkpaper.chapters.run_records import _signed
    from linkpaper.evaluation.metrics import SCORE_LABELS

    if len(rows) < 2:
        return "Fewer than two methods have finished runs, so there is no measured order to read yet."
    name = SCORE_NAMES.get(SCORE_LABELS[column], SCORE_LABELS[column])
    reported = {row["variant"]: row["scores"][column] for row in reported_with_methods() if row["variant"]}
    measured = {row["model"]: row["mean"][column] for row in rows}
    order = sorted(measured, key=lambda m: -measured[m])
    paper_order = sorted(order, key=lambda m: -reported[m])
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]
    agree = sum((measured[a] - measured[b]) * (reported[a] - reported[b]) > 0 for a, b in pairs)
    text = (
        f"**Measured order** by {name} (seed means): "
        + " > ".join(f"{method_label(m)} {measured[m]:.1f}" for m in order)
        + ". **The paper's order** of the same methods (Table I, each on its own features): "
        + " > ".join(f"{method_label(m)} {reported[m]:.1f}" for m in paper_order)
        + (
            f". The two orders agree on {agree} of the {len(pairs)} pairs."
            if len(pairs) > 1
            else f". The two orders {'agree' if agree else 'disagree'} on this pair."
        )
    )
    single = [method_label(row["model"]) for row in rows if row["n"] < 2]
    if single:
        text += (
            f" {', '.join(single)} {'has' if len(single) == 1 else 'have'} one seed, so "
            f"{'its place in the order carries' if len(single) == 1 else 'their places in the order carry'} "
            "unmeasured seed noise."
        )
    verdicts = []
    for data, base in ((over_han, "HAN"), (over_valor, "VALOR++")):
        if data is None or not len(data):
            continue
        rows_of = data.xs(SCORE_LABELS[column], level="score")
        distinct = [
            f"{m} ({_signed(r['measured'])}{', one side one seed' if min(r['n'], r['n_baseline']) < 2 else ''})"
            for m, r in rows_of.iterrows()
            if r["distinct"]
        ]
        unclear = [m for m, r in rows_of.iterrows() if not r["distinct"]]
        part = f"Over {base}, "
        part += (
            f"distinguishable from noise: {', '.join(distinct)}"
            if distinct
            else "no gain is distinguishable from noise"
        )
        if unclear:
            part += f"; not distinguishable: {', '.join(unclear)}"
        verdicts.append(part + ".")
    if verdicts:
        text += " " + " ".join(verdicts)
    return text


def seed_stray_reading(rows: list[dict], baseline: str = "valor++", column: int = SEG_TYPE) -> str:
    """Markdown: how far one seed of ``baseline`` strays from the mean of its seeds in these
    records (the largest absolute difference, ``column`` of ``metrics.SCORE_COLUMNS``), against
    the paper's Table II gains over VALOR++ in the same score: which of them are no larger than
    that stray, which are larger. With fewer than two seeds the stray is said to be unknown.

    rows: :func:`field_rows` (``run_records.measured_rows``)."""
    from linkpaper.chapters.analysis_reading import signed
    from linkpaper.chapters.gain_reading import SCORE_NAMES
    from linkpaper.evaluation.metrics import SCORE_LABELS
    from linkpaper.evaluation.paper import VARIANT_LABELS, reported_scores
    from linkpaper.models import list_models
    from linkpaper.training.runs import RunRecord

    name = SCORE_NAMES.get(SCORE_LABELS[column], SCORE_LABELS[column])
    label = method_label(baseline)
    row = next((r for r in rows if r["model"] == baseline), None)
    if row is None:
        return f"No run of {label} is in these records yet, so how far one of its seeds strays is unknown."
    values = np.array([float(RunRecord.read(run).test_row[column]) for run in row["runs"]])
    seeds = ", ".join(map(str, row["seeds"]))
    if values.size < 2:
        return (
            f"{label} has one seed in these records (seed {seeds}): how far one of its seeds strays from "
            "its seed mean is unknown, and so is whether a row measured with one seed is within seed noise."
        )
    stray = float(np.max(np.abs(values - values.mean())))
    base = reported_scores("valor++", "II")[column]
    gains = {
        VARIANT_LABELS.get(v, v): round(reported_scores(v, "II")[column] - base, 1)
        for v in list_models()
        if v != "valor++"
    }
    within = [f"{signed(g)} for {v}" for v, g in gains.items() if abs(g) <= stray]
    beyond = [f"{signed(g)} for {v}" for v, g in gains.items() if abs(g) > stray]
    text = (
        f"**How far one seed strays.** On {row['data']}, one seed of {label} lies up to "
        f"{stray:.2f} points of {name} from the mean of its {values.size} seeds ({seeds}). The "
        f"paper's Table II gains over VALOR++ in that score (LLP, reported): "
    )
    if not beyond:
        return text + (
            f"every one of them is no larger ({', '.join(within)}), so one seed alone can stray by as "
            "much as any of the paper's ablation gains."
        )
    if not within:
        return text + (
            f"every one of them is larger ({', '.join(beyond)}); a spread measured on {values.size} seeds "
            "is itself uncertain, and chapter 9 gives the seeds a gain of the paper's size would need."
        )
    return text + (
        f"{len(within)} of {len(gains)} are no larger ({', '.join(within)}), {len(beyond)} are larger "
        f"({', '.join(beyond)}). One seed alone can thus stray by as much as the paper's smaller "
        "ablation gains, not by its larger ones."
    )


def field_verdicts(data, score: str = "Seg type", baseline: str = "HAN") -> str:
    """Markdown, one bullet per method of a :func:`field_gains` frame: its gain over
    ``baseline`` (a label) on ``score`` with the seeds behind it, the interval over test videos,
    the interval over seeds and test videos (or, with one seed each, that the seed noise is not
    measured), and whether the gain is distinguishable from noise. The paper's Table I gain is
    quoted as what it is, a gain across different features: no seed count is derived from it
    (``gain_reading.gain_verdicts`` does that for Table II, where the features are the same)."""
    from linkpaper.chapters.gain_reading import SCORE_NAMES
    from linkpaper.chapters.run_records import _signed

    if data is None:
        return f"{baseline} has no finished run yet, so there is no gain over it to read."
    if not len(data):
        return f"No method besides {baseline} has a finished run yet, so there is no gain to read."
    level = data.attrs.get("level", 0.95)
    name = SCORE_NAMES.get(score, score)
    lines = []
    for method, row in data.xs(score, level="score").iterrows():
        seeds = f"{row['n']} seed{'s' if row['n'] > 1 else ''} against {row['n_baseline']} of {baseline}"
        text = (
            f"* **{method}** ({seeds}): {name} gain **{_signed(row['measured'])}** points, "
            f"{level:.0%} interval over test videos [{_signed(row['low'])}, {_signed(row['high'])}]"
        )
        if max(row["n"], row["n_baseline"]) > 1:
            text += f", over seeds and test videos [{_signed(row['low_seeds'])}, {_signed(row['high_seeds'])}]" + (
                " (one of the two has a single seed, so only the other's seed noise is in it)"
                if min(row["n"], row["n_baseline"]) < 2
                else ""
            )
            if not row["distinct"]:
                text += ". **Not distinguishable from noise**"
            elif min(row["n"], row["n_baseline"]) < 2:
                text += ". **Distinguishable from the noise measured**; the single seed's own noise is not in it"
            else:
                text += ". **Distinguishable from noise**"
        else:
            text += (
                ". One seed each: the interval covers the test videos only, the seed noise is not measured, "
                "so the gain is **not shown to be distinguishable from noise**"
            )
        if np.isfinite(row["reported"]):
            text += (
                f". Table I's gain between the same rows is {_signed(row['reported'], 1)} on LLP, with other features"
            )
        lines.append(text + ".")
    return "\n".join(lines)


def gain_figure(rows: list[dict], data, baseline: str, source: str):
    """``gain_reading.gain_figure`` for the field: every seed's gain over ``baseline`` (a registry
    name), the measured gains of a :func:`field_gains` frame with their two intervals, and the
    paper's Table I gain (black diamonds; a gain across different features), the methods named
    as the chapter names them. Raises UserError when there is nothing to compare (``data`` None
    or empty)."""
    from linkpaper.chapters.gain_reading import gain_figure as draw
    from linkpaper.chapters.gain_reading import seed_gain_points

    label = method_label(baseline)
    if data is None or not len(data):
        raise UserError(f"no gain over {label} to draw: it or every other method has no finished run")
    title = f"Gains over {label}: measured on one engine, beside Table I's gains (other features)"
    points = seed_gain_points(rows, baseline=baseline)
    points["variant"] = points["model"].map(method_label)
    return draw(data, points, source, baseline=label, title=title)
