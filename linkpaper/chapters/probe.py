"""Look inside a model: the intermediate tensors of one forward pass, parameter tables, and
the per-epoch series of grid run records. Used by the model chapters of the book (04-07).

Nothing here changes a model: :func:`trace_forward` records what the modules compute through
forward hooks, and what a module computes but does not return from what it keeps
(``CMIM.attention_weights``, ``PLSIM.label_embeddings``), so the traced tensors are the ones the
model used.

Shapes: B batch, T = 10 segments, H hidden, C = 25 classes, D text-table width.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from linkpaper.errors import UserError
from linkpaper.evaluation.inference import is_active
from linkpaper.evaluation.metrics import precision_recall_f
from linkpaper.losses import iou_targets, sloss_lambda
from linkpaper.training.grid import run_dir_for
from linkpaper.training.runs import RESULTS_FILE, RunRecord

# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def parameter_counts(model: torch.nn.Module, expand: tuple[str, ...] = ()) -> dict[str, int]:
    """Trainable-or-not parameter count per top-level module, in registration order.

    ``expand`` names top-level modules whose children are listed instead (e.g.
    ``("hat_encoder",)`` gives ``hat_encoder.layers.0`` ... and the two final norms).
    Parameters registered directly on ``model`` (e.g. LINK's ``sloss_mu``) appear under their
    own name. The values sum to ``sum(p.numel() for p in model.parameters())``.
    """
    counts: dict[str, int] = {}
    for name, module in model.named_children():
        if name in expand:
            for child_name, child in module.named_children():
                if isinstance(child, torch.nn.ModuleList):
                    for i, item in enumerate(child):
                        counts[f"{name}.{child_name}.{i}"] = sum(p.numel() for p in item.parameters())
                else:
                    counts[f"{name}.{child_name}"] = sum(p.numel() for p in child.parameters())
        else:
            counts[name] = sum(p.numel() for p in module.parameters())
    for name, param in model.named_parameters(recurse=False):
        counts[name] = param.numel()
    return counts


# --------------------------------------------------------------------------------------------
# One forward pass, traced
# --------------------------------------------------------------------------------------------


class Trace(NamedTuple):
    """What :func:`trace_forward` returns."""

    output: object  # the model's AVVPOutput
    tensors: dict  # {name: tensor}, the intermediate tensors of the pass


@torch.no_grad()
def trace_forward(model, audio, visual, visual_3d, plsim_audio=None, plsim_visual=None) -> Trace:
    """Run ``model`` once in eval mode and record its intermediate tensors.

    Returns a :class:`Trace` (output, {name: tensor}). Names present for every model:

    * ``x_a``, ``x_v`` (B, T, H): the input projections (``model.embed``);
    * ``encoder_in_a``, ``encoder_in_v`` (B, T, H): what the HAN encoder reads (after LINK's modules);
    * ``hidden_a``, ``hidden_v`` (B, T, H): HAN encoder outputs;
    * ``frame_att`` (B, T, 2, C): softmax over time of fc_frame_att; ``av_att`` (B, T, 2, C):
      softmax over the modality axis of fc_av_att.

    With TSAM: ``tsam_W_a``/``tsam_W_v`` (B, T, 1), ``tsam_S_a``/``tsam_S_v`` (B, 1, H),
    ``tsam_out_a``/``tsam_out_v``. With CMIM: ``cmim_in_a``/``cmim_in_v``, ``cmim_attn_av``
    and ``cmim_attn_va`` (B, T, T), ``cmim_out_a``/``cmim_out_v``. With PLSIM:
    ``plsim_in_a``/``_v`` (B, T, H), ``plsim_labels_a``/``_v`` (B, T, C), ``plsim_e_a``/``_v`` (B, T, D) (eq 13),
    ``plsim_gamma1``, ``plsim_gamma2``, ``plsim_rho1``, ``plsim_rho2`` (B, T, H),
    ``plsim_out_a``/``_v``. The model's training mode is restored afterwards.
    """
    trace: dict[str, torch.Tensor] = {}
    handles = []

    def hook(module_name, fn):
        module = model
        for part in module_name.split("."):
            module = getattr(module, part, None)
            if module is None:
                return
        handles.append(module.register_forward_hook(lambda m, args, out: fn(m, args, out)))

    def on_tsam(suffix):
        def record(module, args, out):
            trace[f"tsam_W_{suffix}"], trace[f"tsam_S_{suffix}"] = out[1], out[2]
            trace[f"tsam_out_{suffix}"] = out[0]

        return record

    def on_cmim(module, args, out):
        trace["cmim_in_a"], trace["cmim_in_v"] = args
        trace["cmim_attn_av"], trace["cmim_attn_va"] = module.attention_weights  # eqs 4-5, as computed
        trace["cmim_out_a"], trace["cmim_out_v"] = out

    def on_plsim(module, args, out):
        trace["plsim_in_a"], trace["plsim_in_v"], labels_a, labels_v = args
        trace["plsim_labels_a"], trace["plsim_labels_v"] = labels_a, labels_v
        trace["plsim_e_a"], trace["plsim_e_v"] = module.label_embeddings  # eq 13, as computed
        trace["plsim_out_a"], trace["plsim_out_v"] = out

    def on_encoder(module, args, out):
        trace["encoder_in_a"], trace["encoder_in_v"] = args
        trace["hidden_a"], trace["hidden_v"] = out

    def store(name, transform=lambda x: x):
        return lambda module, args, out: trace.__setitem__(name, transform(out))

    hook("tsam_audio", on_tsam("a"))
    hook("tsam_visual", on_tsam("v"))
    hook("cmim", on_cmim)
    hook("plsim", on_plsim)
    for part in ("gamma1", "gamma2", "rho1", "rho2"):
        hook(f"plsim.{part}", store(f"plsim_{part}"))
    hook("hat_encoder", on_encoder)
    hook("fc_frame_att", store("frame_att", lambda logits: torch.softmax(logits, dim=1)))
    hook("fc_av_att", store("av_att", lambda logits: torch.softmax(logits, dim=2)))

    was_training = model.training
    model.eval()
    try:
        trace["x_a"], trace["x_v"] = model.embed(audio, visual, visual_3d)
        output = model(audio, visual, visual_3d, plsim_audio=plsim_audio, plsim_visual=plsim_visual)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return Trace(output, trace)


# --------------------------------------------------------------------------------------------
# S-LOSS, pair by pair
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def sloss_terms(audio_hidden, visual_hidden, pl_audio, pl_visual, mu) -> dict[str, torch.Tensor]:
    """The pieces of S-LOSS (eqs 11-12), each (B, T, T): ``s`` cosine of audio segment i and
    visual segment j, ``r`` IoU target, ``lambda`` the weight, ``weighted`` lambda (s - r)^2.

    ``weighted.mean()`` equals ``linkpaper.losses.similarity_loss`` on the same inputs. No gradient.
    """
    s = F.normalize(audio_hidden, dim=-1) @ F.normalize(visual_hidden, dim=-1).transpose(1, 2)
    r = iou_targets(pl_audio, pl_visual).to(s.dtype)
    lam = sloss_lambda(s, mu)
    return {"s": s, "r": r, "lambda": lam, "weighted": lam * (s - r) ** 2}


# --------------------------------------------------------------------------------------------
# Grid run records: per-epoch series
# --------------------------------------------------------------------------------------------


def grid_records(root: str | Path, variants, seeds) -> dict[tuple[str, int], RunRecord]:
    """The ``results.json`` records under ``root/<slug>/seed<seed>/`` that exist.

    Returns {(variant, seed): RunRecord} for the pairs found (a missing folder is skipped, so a
    partial grid gives a partial dict); a damaged record raises the UserError naming it.
    """
    found = {}
    for variant in variants:
        for seed in seeds:
            run_dir = run_dir_for(root, variant, int(seed))
            if (run_dir / RESULTS_FILE).is_file():
                found[(variant, int(seed))] = RunRecord.read(run_dir, full=False)  # epochs only
    return found


def missing_grid_message(grid_dir: str) -> str:
    """What a notebook prints when ``grid_dir`` (relative to notebooks/) holds no run records."""
    return (
        f"No grid run records under {grid_dir} (relative to notebooks/): run the grid "
        "(python -m linkpaper grid --variants book --seeds 3 --data synth:small --threads 1 "
        f"--executor local --jobs 2 --out {grid_dir.removeprefix('../')}) and re-execute this notebook."
    )


def epoch_series(records: dict, key: str):
    """A pandas DataFrame of one per-epoch quantity: index epoch, columns (variant, seed).

    ``key``: a diagnostics name (``"mu"``, ``"alpha1"``, ``"tsam_a_temporal_mean"``), a train
    loss term as ``"train_loss.similarity"``, or a top-level epoch field (``"val_type_av"``,
    ``"lr"``). records: ``{(variant, seed): RunRecord or results.json dict}`` (:func:`grid_records`).
    Records without the key are left out; raises UserError if none has it.
    """
    columns = {}
    for (variant, seed), record in records.items():
        values = {}
        for epoch in RunRecord.coerce(record).epochs:
            if key.startswith("train_loss."):
                value = epoch.get("train_loss", {}).get(key.split(".", 1)[1])
            elif key in epoch and not isinstance(epoch[key], dict):
                value = epoch[key]
            else:
                value = epoch.get("diagnostics", {}).get(key)
            if value is not None:
                values[epoch["epoch"]] = float(value)
        if values:
            columns[(variant, seed)] = pd.Series(values)
    if not columns:
        raise UserError(f"no run record has a per-epoch {key!r}")
    frame = pd.DataFrame(columns)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["variant", "seed"])
    frame.index.name = "epoch"
    return frame.sort_index()


# --------------------------------------------------------------------------------------------
# Pseudo labels against the video labels
# --------------------------------------------------------------------------------------------


def video_label_prf(labels, weak) -> dict[str, float]:
    """Video-level precision / recall / F of segment labels against video labels.

    labels (N, T, C) (active where >= 0.5): a class counts as flagged in a video when it is
    active in any segment. weak (N, C): the video labels. Pooled over all (video, class) pairs.
    Returns {"precision", "recall", "f", "flagged" (count), "outside weak labels" (count)}.
    """
    flagged = np.asarray(is_active(labels)).any(axis=1)
    truth = is_active(np.asarray(weak))
    prf = precision_recall_f((flagged & truth).sum(), (flagged & ~truth).sum(), (~flagged & truth).sum())
    return {**prf, "flagged": int(flagged.sum()), "outside weak labels": int((flagged & ~truth).sum())}


# --------------------------------------------------------------------------------------------
# Grid run records: whatever a folder holds, and what they are
# --------------------------------------------------------------------------------------------


def find_grid_records(root: str | Path, variants) -> dict[tuple[str, int], RunRecord]:
    """Every ``results.json`` under ``root/<slug>/seed<N>/`` for ``variants``, whatever seeds
    the folder holds (a grid trained across sessions holds different seeds per variant).

    Returns {(variant, seed): RunRecord}, variants in the order given, seeds ascending; a
    variant without runs is skipped, a missing ``root`` gives {}.
    """
    found = {}
    for variant in variants:
        folder = run_dir_for(root, variant, 0).parent
        seeds = sorted(
            int(p.name[4:]) for p in folder.glob("seed*") if p.name[4:].isdigit() and (p / RESULTS_FILE).is_file()
        )
        for seed in seeds:
            found[(variant, seed)] = RunRecord.read(run_dir_for(root, variant, seed), full=False)
    return found


class GridSection(NamedTuple):
    """What :func:`grid_section` returns: ``(records, source, text)``, the records, their label and
    the paragraph on them."""

    records: dict
    source: str
    text: str


def grid_section(grid_dir: str, variants, data_source: dict | None = None) -> GridSection:
    """What a chapter's grid section starts from: ``(records, source, text)``.

    records: :func:`find_grid_records` of ``variants`` under ``grid_dir`` (relative to
    notebooks/); source: their figure/table label (:func:`records_source`, or "no grid
    records"); text: the Markdown paragraph that says what they are (:func:`describe_records`
    against the page's ``data_source``) or how to produce them (:func:`missing_grid_message`).
    """
    records = find_grid_records(grid_dir, variants)
    if not records:
        return GridSection(records, "no grid records", missing_grid_message(grid_dir))
    return GridSection(records, records_source(records), describe_records(records, data_source))


def seed_text(seeds) -> str:
    """Seeds as a reader writes them: ``"87-89"`` for a run of three or more consecutive
    seeds, else ``"87, 89"`` (``"87"`` for one)."""
    seeds = sorted({int(s) for s in seeds})
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def records_runs(records: dict) -> str:
    """Which runs a set of records holds: ``"valor++ seeds 87-89; link seeds 87, 88"``
    (variants in first-seen order)."""
    seeds: dict[str, list] = {}
    for variant, seed in records:
        seeds.setdefault(variant, []).append(seed)
    return "; ".join(f"{v} seed{'s' if len(s) > 1 else ''} {seed_text(s)}" for v, s in seeds.items())


def records_schedule(records: dict) -> str:
    """The training schedule of a set of records, from their configurations:
    ``"60 epochs (10 warm-up), batch 64"``; schedules that differ are joined with " / "."""
    schedules = []
    for record in records.values():
        config = RunRecord.coerce(record).config
        warmup = config.get("warmup_epochs")
        text = f"{config.get('epochs', '?')} epochs"
        text += f" ({warmup} warm-up)" if warmup is not None else ""
        text += f", batch {config['batch_size']}" if "batch_size" in config else ""
        if text not in schedules:
            schedules.append(text)
    return " / ".join(schedules) or "no runs"


def records_source(records: dict) -> str:
    """A figure or table source naming the data, the schedule and the runs of ``records``:
    ``"SynthLLP small (synthetic), 6 epochs (1 warm-up), batch 64: +T seeds 87-89"``."""
    data = sorted({RunRecord.coerce(r).data_label() for r in records.values()})
    return f"{' / '.join(data) or 'no data'}, {records_schedule(records)}: {records_runs(records)}"


_ABSENT = object()


def _setting(value) -> str:
    return "absent" if value is _ABSENT else "given" if isinstance(value, dict) else str(value)


def _donor_words(value) -> str:
    if value is _ABSENT or value is None:
        return "all of LLP val"
    rule = value.get("rule") if isinstance(value, dict) else value
    return "the donor half" if rule == "val-half" else str(rule)


# setting -> (words with the record's value, the value alone for "this page: ...")
_SETTING_WORDS = {
    "sizes.val": (lambda v: f"{_setting(v)} validation videos for model selection", _setting),
    "sizes.train": (lambda v: f"{_setting(v)} training videos", _setting),
    "sizes.test": (lambda v: f"{_setting(v)} test videos", _setting),
    "config.class_noise": (lambda v: f"feature noise {_setting(v)}", _setting),
    "donors": (lambda v: f"donors: {_donor_words(v)}", _donor_words),
}
_SAME_AS = {"config.donors": "donors"}  # settings that say the same thing as another one


def _setting_words(key: str, old, new) -> str:
    if key in _SETTING_WORDS:
        words, short = _SETTING_WORDS[key]
        return f"{words(old)} (this page: {short(new)})"
    return f"{key.rsplit('.', 1)[-1].replace('_', ' ')} {_setting(old)} (this page: {_setting(new)})"


def source_difference_words(record_source: dict, current_source: dict) -> list[str]:
    """Where the data source of a run record (``record["data"]["source"]``) differs from
    another (e.g. ``AVVPData.source`` of the data a page loaded), in words a reader
    understands, one per differing setting: ``"649 validation videos for model selection
    (this page: 321)"``, ``"feature noise 0.25 (this page: 0.37)"``, ``"donors: all of LLP
    val (this page: the donor half)"``. A setting without words of its own is named by its
    last key (``"seed 0 (this page: 1)"``; groups of settings are walked key by key), and
    one that only one side has shows ``absent`` on the other; a setting that repeats
    another (the donor rule, stored twice) is said once. Empty when the sources agree."""

    def flat(source, prefix=""):
        out = {}
        for key, value in (source or {}).items():
            if isinstance(value, dict) and f"{prefix}{key}" not in _SETTING_WORDS:
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out

    old, new = flat(record_source), flat(current_source)
    words = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if a == b or _SAME_AS.get(key) in set(old) | set(new):
            continue
        words.append(_setting_words(key, a, b))
    return words


def describe_records(records: dict, data_source: dict | None = None) -> str:
    """One paragraph (Markdown) saying what a set of grid records is: how many runs (and how
    many finished), their data, schedule and seeds, and, given the data source of the page
    (``AVVPData.source``), whether they were trained on the same data. Computed from the
    records, so a page that shows their diagnostics never hard-codes the schedule."""
    if not records:
        return "No run records were found."
    coerced = [RunRecord.coerce(r) for r in records.values()]
    complete = sum(bool(r.complete) for r in coerced)
    data = " / ".join(sorted({r.data_label() for r in coerced}))
    text = (
        f"These diagnostics come from {len(coerced)} run record{'s' if len(coerced) > 1 else ''} "
        f"({complete} finished) on {data}, trained for {records_schedule(records)}: "
        f"{records_runs(records)}."
    )
    if data_source is not None:
        differing = list(
            dict.fromkeys(d for r in coerced for d in source_difference_words(r.data.get("source", {}), data_source))
        )
        if differing:
            left = len(differing) - 4
            shown = "; ".join(differing[:4]) + (
                f"; and {left} other setting{'s' if left > 1 else ''}" if left > 0 else ""
            )
            text += (
                " Their data was generated with other settings than the data loaded on this page: "
                f"{shown}. They therefore describe the modules' behaviour, not this page's models."
            )
        else:
            text += " They were trained on the data loaded on this page."
    return text


def paired_differences(records: dict, key: str, pairs) -> pd.DataFrame:
    """Per-epoch differences of one quantity between two variants trained with the same seed.

    pairs: ``[(variant, reference), ...]``, e.g. ``[("+P", "valor++"), ("link", "+T+S")]``
    (variants that differ by one module). Returns a DataFrame (index epoch, columns
    (``"variant − reference"``, seed)) for every seed both variants hold; pairs with no common
    seed are left out. Raises UserError when no pair has a common seed with ``key``.
    """
    try:
        series = epoch_series(records, key)
    except UserError:
        series = None
    columns = {}
    if series is not None:
        present = set(series.columns)
        for variant, reference in pairs:
            seeds = sorted({s for v, s in present if v == variant} & {s for v, s in present if v == reference})
            for seed in seeds:
                columns[(f"{variant} − {reference}", seed)] = series[(variant, seed)] - series[(reference, seed)]
    if not columns:
        raise UserError(f"no pair of {list(pairs)} shares a seed with a per-epoch {key!r}")
    frame = pd.DataFrame(columns)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["variant", "seed"])
    frame.index.name = "epoch"
    return frame


# --------------------------------------------------------------------------------------------
# A clip whose sound and picture disagree
# --------------------------------------------------------------------------------------------


def misaligned_example() -> dict:
    """A hand-made 10-second clip whose sound and picture disagree, the kind of video the
    paper's Fig. 1 is about; chapters 5-7 say what each module should do on it.

    A narrator is heard for the first eight seconds (segments 0-7) but never seen; a car crosses
    the picture in segments 3-6 without being heard; a dog barks in segments 7-9 and is on
    screen in segments 8-9. Returns ``{"audio", "visual"}`` (T, C) float32 {0, 1} labels,
    ``"weak"`` (C,) the clip's weak labels, ``"classes"`` the indices of its classes and
    ``"description"`` a sentence saying the above.
    """
    from linkpaper.classes import CLASS_INDEX, NUM_CLASSES, NUM_SEGMENTS

    audio = np.zeros((NUM_SEGMENTS, NUM_CLASSES), dtype=np.float32)
    visual = np.zeros_like(audio)
    audio[0:8, CLASS_INDEX["Speech"]] = 1
    audio[7:10, CLASS_INDEX["Dog"]] = 1
    visual[3:7, CLASS_INDEX["Car"]] = 1
    visual[8:10, CLASS_INDEX["Dog"]] = 1
    weak = np.maximum(audio.max(0), visual.max(0))
    return {
        "audio": audio,
        "visual": visual,
        "weak": weak,
        "classes": [CLASS_INDEX[name] for name in ("Speech", "Car", "Dog")],
        "description": (
            "a narrator heard in seconds 0-7 but never seen, a car seen in seconds 3-6 "
            "but not heard, a dog heard in seconds 7-9 and seen in seconds 8-9"
        ),
    }


# --------------------------------------------------------------------------------------------
# How far AdamW can move a scalar: the learning-rate budget of a schedule
# --------------------------------------------------------------------------------------------


def lr_budget(
    epochs: int, steps_per_epoch: int, warmup_epochs: int, lr: float = 3e-4, lr_min: float = 3e-6
) -> np.ndarray:
    """Σ lr × steps after each epoch (array of ``epochs`` values) under the recipe's schedule
    (``linkpaper.training.recipe.lr_at_epoch``): how far AdamW moves a parameter whose gradient keeps
    its sign and size (each step moves it by about the learning rate)."""
    from linkpaper.training.recipe import lr_at_epoch

    return np.cumsum(
        [
            lr_at_epoch(e, epochs, lr=lr, lr_min=lr_min, warmup_epochs=warmup_epochs) * steps_per_epoch
            for e in range(1, epochs + 1)
        ]
    )


def record_budget(record) -> np.ndarray:
    """:func:`lr_budget` of a run record's own schedule: its epochs, warm-up, learning rates,
    and steps per epoch = ceil(training videos / batch size), as the engine counts them."""
    record = RunRecord.coerce(record)
    config = record.config
    steps = int(np.ceil(record.data["sizes"]["train"] / config["batch_size"]))
    return lr_budget(
        config["epochs"], steps, config["warmup_epochs"], lr=config.get("lr", 3e-4), lr_min=config.get("lr_min", 3e-6)
    )
