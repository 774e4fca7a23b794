"""The training loop: one for every method of the registry (``linkpaper.models.registry``).

A run takes its loss, optimiser, learning-rate schedule, clipping and published selection rule
from its method (``linkpaper.training.recipe.method_recipe``; VALOR++'s recipe, which LINK keeps for every
variant, is ``book/decisions.md#decision-recipe``; the field's methods bring theirs,
``book/decisions.md#method-field``). Each epoch sets the epoch's learning rate
(:func:`linkpaper.training.recipe.epoch_lr`), trains on shuffled batches (:func:`training_step`), scores
the validation split (``linkpaper.training.scoring``) and keeps the best epoch by the recipe's selection
score; the run ends by scoring the test split with the last epoch's weights, then the best's.

The whole split lives as tensors on the device, and batches are gathered with a permutation
drawn from a checkpointed generator. Every epoch writes ``checkpoint_last.pt``
(``linkpaper.training.runs.save_epoch``), so ``resume=True`` continues an interrupted run to exactly the
numbers an uninterrupted one gets; a NaN or infinite loss stops the run with one line that names
the step (``linkpaper.training.divergence``). The same seed on the CPU gives the same numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from tqdm import tqdm  # the text bar: tqdm.auto warns at import in a kernel without ipywidgets

from linkpaper.data.sources import load_data
from linkpaper.data.split import AVVPData, AVVPSplit
from linkpaper.data.text_tables import load_text_table
from linkpaper.errors import ConfigError
from linkpaper.evaluation.metrics import AVVPScores
from linkpaper.evaluation.predictions import save_predictions
from linkpaper.losses import alignment_diagnostics, compute_losses
from linkpaper.models import build_model, get_method, model_config
from linkpaper.models.plsim_labels import PLSIMLabelMode, plsim_label_mode
from linkpaper.safe_io import check_writable_dir, remove_created_dirs
from linkpaper.training.divergence import DivergenceError, LossWatch, NonFiniteLoss, diverged
from linkpaper.training.inputs import check_inputs, check_resume_inputs, check_source, recorded_inputs, run_inputs
from linkpaper.training.precision import apply_precision, compile_model
from linkpaper.training.recipe import TrainConfig, epoch_lr, method_recipe, method_record, select_epoch
from linkpaper.training.runs import (
    CHECKPOINT_BEST,
    CHECKPOINT_LAST,
    PREDICTIONS_FILE,
    RESULTS_FILE,
    RunRecord,
    check_finite_weights,
    check_run_dir,
    is_complete,
    load_checkpoint,
    load_weights,
    read_results,
    refuse_config_change,
    restore_rng_states,
    save_epoch,
    seed_everything,
)
from linkpaper.training.scoring import evaluate_split, forward, prepare_split, score_row, scores_record, selection_score
from linkpaper.training.tracking import open_log

# --------------------------------------------------------------------------------------------
# The model of a run
# --------------------------------------------------------------------------------------------


class TextTables(NamedTuple):
    """The class text tables PLSIM reads (:func:`resolve_text_tables`)."""

    audio: torch.Tensor  # (C, Da)
    visual: torch.Tensor  # (C, Dv)
    source: str


def resolve_text_tables(data: AVVPData, text_table: str | None) -> TextTables:
    """The text tables for PLSIM: ``text_table`` (a .npy/.pt (C, D) file) overrides the data's own
    tables and serves both modalities; otherwise the data's tables (SynthLLP's teacher tables,
    GloVe for LLP)."""
    if text_table:
        array, source = load_text_table(text_table)
        table = torch.as_tensor(array, dtype=torch.float32)
        return TextTables(table, table, f"--text-table {Path(text_table).resolve()}: {source} (both modalities)")
    if data.text_audio is None or data.text_visual is None:
        raise ConfigError(
            f"this model has PLSIM but the data ({data.describe()}) has no class text tables; "
            "pass --text-table PATH (a (25, D) .npy or .pt file)"
        )
    return TextTables(data.text_audio, data.text_visual, data.text_source)


class PreparedModel(NamedTuple):
    """What :func:`prepare_model` returns."""

    model: torch.nn.Module
    uses_plsim: bool
    text_source: str  # where PLSIM's text tables came from ("unused" without PLSIM)


def prepare_model(config: TrainConfig, data: AVVPData, device) -> PreparedModel:
    """The run's model on ``device``, built from the config and seeded by the caller; its forward
    runs in ``config.precision``, compiled when ``config.compile``.

    For a PLSIM variant the model is built with ``plsim_labels`` = the run's mode and text
    dimensions that fit the resolved class text tables (unless overridden explicitly); a method
    of the field takes the input widths of the data (VALOR's or HAN's features).
    """
    overrides = dict(config.model_overrides)
    uses_plsim, text_source = False, "unused"
    if not get_method(config.model).is_grid_variant:  # the field's methods: no PLSIM; input widths from the data
        for name, tensor in (
            ("audio_dim", data.train.audio),
            ("visual_dim", data.train.visual),
            ("visual_3d_dim", data.train.visual_3d),
        ):
            overrides.setdefault(name, int(tensor.shape[-1]))
        model = build_model(config.model, **overrides)
    else:
        uses_plsim = model_config(config.model, **overrides).use_plsim
        if uses_plsim:
            text_audio, text_visual, text_source = resolve_text_tables(data, config.text_table)
            overrides["plsim_labels"] = config.plsim_labels
            overrides.setdefault("text_dim_audio", int(text_audio.shape[-1]))
            overrides.setdefault("text_dim_visual", int(text_visual.shape[-1]))
        model = build_model(config.model, **overrides)
        if uses_plsim:
            model.set_text_tables(text_audio, text_visual)
    model = apply_precision(model.to(device), config.precision)
    return PreparedModel(compile_model(model) if config.compile else model, uses_plsim, text_source)


def make_optimizer(model, config: TrainConfig, device: str | torch.device) -> torch.optim.Optimizer:
    """The recipe's optimiser (AdamW for VALOR++ and LINK, Adam for the field's methods:
    ``method_recipe``), fused (one kernel per parameter instead of the per-tensor loop; the
    speed-up is in ``benchmarks/README.md``) on the CPU and CUDA."""
    kind = torch.optim.Adam if method_recipe(config.model)["optimizer"] == "adam" else torch.optim.AdamW
    return kind(
        model.parameters(),
        lr=config.lr,
        betas=tuple(config.betas),
        eps=config.eps,
        weight_decay=config.weight_decay,
        fused=torch.device(device).type in ("cpu", "cuda"),
    )


# --------------------------------------------------------------------------------------------
# One step
# --------------------------------------------------------------------------------------------


def training_step(
    model,
    optimizer,
    batch: dict,
    plsim_keys: tuple = (None, None),
    clip_norm: float | None = 1.0,
    loss_fn=compute_losses,
):
    """One optimiser step on ``batch`` ({field: (B, ...)}): loss, backward, clip, step.

    Returns (losses {name: scalar tensor, incl. "total"}, output). ``plsim_keys``: the batch
    fields PLSIM reads (``PLSIMLabelMode.fields``). ``loss_fn(model, output, batch)`` is the
    method's loss (``Method.loss``). The gradient norm is clipped to ``clip_norm`` (L2 over all
    parameters; None: no clipping) before ``optimizer.step()``.
    """
    plsim = tuple(None if key is None else batch[key] for key in plsim_keys)
    output = forward(model, batch, plsim)
    losses = loss_fn(model, output, batch)
    optimizer.zero_grad(set_to_none=True)
    losses["total"].backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    output.diagnostics.update(alignment_diagnostics(output, batch["pseudo_audio"], batch["pseudo_visual"]))
    return losses, output


def _scalar_diagnostics(diagnostics) -> dict:
    """The diagnostics dict as {name: detached scalar tensor} (non-scalars are averaged)."""
    result = {}
    for name, value in (diagnostics or {}).items():
        if isinstance(value, torch.Tensor):
            result[name] = value.detach().float().mean()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            result[name] = torch.tensor(float(value))
    return result


@dataclass
class Step:
    """What the loop hands ``on_step`` after every optimiser step (read it; do not change the model).

    step: 1-based over the run; epoch: 1-based; losses: {term: scalar tensor, incl. "total"}
    of this step's forward pass; output: its AVVPOutput (``diagnostics`` holds the module scalars).
    """

    step: int
    epoch: int
    model: torch.nn.Module
    losses: dict
    output: object


@dataclass
class Fitted:
    """What :func:`fit` returns: the run record (what ``results.json`` holds) and the model,
    with the best epoch's weights once the run is complete (else the last step's)."""

    record: RunRecord
    model: torch.nn.Module


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def train(
    config: TrainConfig,
    out_dir: str | Path | None = None,
    data: AVVPData | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
) -> RunRecord:
    """Train one run and return its record (what ``results.json`` holds): :func:`fit` without
    the model; a multi-stage method (JoMoLD) trains its stages first (``linkpaper.methods.stages``)."""
    if get_method(config.model).previous_stage:
        from linkpaper.methods.stages import fit_stages

        return fit_stages(config, out_dir, data, resume=resume, stop_after=stop_after, progress=progress).record
    return fit(
        config, out_dir, data, resume=resume, stop_after=stop_after, progress=progress, load_finished=False
    ).record


def fit(
    config: TrainConfig,
    out_dir: str | Path | None = None,
    data: AVVPData | None = None,
    *,
    resume: bool = False,
    stop_after: int | None = None,
    max_steps: int | None = None,
    on_step=None,
    evaluate_test: bool = True,
    progress: bool = True,
    load_finished: bool = True,
    prepare=None,
) -> Fitted:
    """Train one run (one stage of a multi-stage method): the training loop of every command,
    notebook and benchmark.

    config: the run. out_dir: the run folder (None keeps nothing on disk: no checkpoints, no
    resume; the best weights are kept in memory). data: an AVVPData to use instead of resolving
    ``config.data``. resume: continue from ``out_dir/checkpoint_last.pt`` (a finished run is
    returned as is, with its best checkpoint loaded). stop_after: stop after this epoch as if
    interrupted (the record stays incomplete). max_steps: stop after this many optimiser steps
    (only without a run folder; the record stays incomplete and the model keeps the last step's
    weights). on_step: called with a :class:`Step` after every optimiser step (the book watches
    a module's scalars with it; it never changes a number). evaluate_test: False skips the final
    test pass (the record then has no ``test`` / ``test_row``). load_finished: False returns a
    finished run (``resume``) with ``model=None`` instead of loading its best checkpoint.
    prepare: called as ``prepare(model, record)`` once the seeded model and its record exist,
    before training (a stage hand-over; an interrupted run's checkpoint is loaded after it).
    """
    config.validate()
    run_dir = Path(out_dir) if out_dir is not None else None
    if max_steps is not None and run_dir is not None:
        raise ConfigError("max_steps: only for runs without a run folder (checkpoints are written per epoch)")
    created: list[Path] = []
    if run_dir is not None:
        check_run_dir(run_dir, resume)
        if resume and (run_dir / RESULTS_FILE).is_file():
            read_results(run_dir, full=False)  # a damaged record is its one line, never trained over
        if resume and is_complete(run_dir):
            finished = RunRecord.read(run_dir)
            refuse_config_change(finished.config, config, run_dir / RESULTS_FILE)
            model = load_run(run_dir, device=config.device, data=data).model if load_finished else None
            return Fitted(finished, model)
        created = check_writable_dir(run_dir, "--out")  # before any work: a file, read-only, ...
    try:
        return _fit(config, run_dir, data, resume, stop_after, max_steps, on_step, evaluate_test, progress, prepare)
    except BaseException:
        remove_created_dirs(created)  # only folders this call created, and only when still empty
        raise


@dataclass
class _Run:
    """What the loop of one run reads, built by :func:`_start` (splits already on the device)."""

    config: TrainConfig
    run_dir: Path | None
    device: torch.device
    data: AVVPData
    model: torch.nn.Module
    loss_fn: object
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # the shuffling order, checkpointed
    train_split: AVVPSplit
    val_split: AVVPSplit
    labels: PLSIMLabelMode | None  # None: the model has no PLSIM
    record: RunRecord

    def plsim(self, split: AVVPSplit) -> tuple:
        """The (audio, visual) PLSIM labels of ``split``, each (N, T, C) or None."""
        return (None, None) if self.labels is None else self.labels.labels(split, self.config.allow_label_leakage)

    @property
    def plsim_keys(self) -> tuple:
        """The batch fields PLSIM reads, (None, None) when it reads none."""
        return (None, None) if self.labels is None or self.labels.fields is None else self.labels.fields


def _start(config: TrainConfig, run_dir: Path | None, data: AVVPData | None, progress: bool, prepare) -> _Run:
    """The data, the seeded model, its optimiser and the run's record, in the order that fixes
    the random numbers (seed, then the model's initialisation)."""
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    device = torch.device(config.device)
    if data is None:
        data = load_data(config.data, data_dir=config.data_dir, progress=progress)
    seed_everything(config.seed)
    model, uses_plsim, text_source = prepare_model(config, data, device)
    method = get_method(config.model)
    loss_fn = method.loss_function()
    labels = plsim_label_mode(config.plsim_labels) if uses_plsim else None
    for split in (data.train, data.val, data.test) if labels else ():  # fail before training
        labels.labels(split, config.allow_label_leakage)  # labels missing or forbidden
    optimizer = make_optimizer(model, config, device)
    generator = torch.Generator().manual_seed(config.seed)
    train_split, val_split = prepare_split(model, data.train, device), prepare_split(model, data.val, device)
    record = RunRecord.start(config, data, model, uses_plsim, labels.name if labels else "none", text_source, device)
    record.run_dir = run_dir
    if not method.is_grid_variant:  # the field's methods name their recipe and selection rules
        record.extra["method"] = method_record(config.model)
    if prepare is not None:
        prepare(model, record)
    return _Run(
        config, run_dir, device, data, model, loss_fn, optimizer, generator, train_split, val_split, labels, record
    )


def _resume(run: _Run) -> tuple[float, int]:
    """Load an interrupted run's last checkpoint into ``run``: (best score so far, next epoch)."""
    path = run.run_dir / CHECKPOINT_LAST
    state = load_checkpoint(path, map_location=run.device)
    refuse_config_change(state["config"], run.config, path)
    check_resume_inputs(run.run_dir, run.record.data["inputs"])  # annotations and data as recorded
    check_finite_weights(state, path)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    restore_rng_states(state["rng"], run.generator)
    run.record.epochs, run.record.best_epoch = state["history"], state["best_epoch"]
    run.record.best_val = state["best_val"]
    return state["best_score"], state["epoch"] + 1


def _train_epoch(run: _Run, epoch: int, step: int, bar, on_step, max_steps: int | None) -> tuple[dict, dict, int]:
    """One epoch of shuffled batches: (mean train losses, mean diagnostics, the run's step count).

    The permutation is drawn on the CPU from ``run.generator``; the last, smaller batch is kept.
    Losses and diagnostics are summed on the device, so no step waits for a device-to-host copy.
    """
    config, model, tensors = run.config, run.model, run.train_split.tensor_fields()  # {field: (N, ...)}
    n = len(run.train_split)
    order = torch.randperm(n, generator=run.generator).to(run.device)
    watch = LossWatch(run.device, math.ceil(n / config.batch_size), config.batch_size, order, tensors)
    sums: dict[str, torch.Tensor] = {}
    diag_sums: dict[str, torch.Tensor] = {}
    batches = 0
    for start in range(0, n, config.batch_size):
        batch = {name: t[order[start : start + config.batch_size]] for name, t in tensors.items()}
        try:
            losses, output = training_step(model, run.optimizer, batch, run.plsim_keys, config.clip_norm, run.loss_fn)
        except RuntimeError as err:
            raise watch.probability_error(err, batches + 1) from None
        watch.check(batches + 1, losses, batch)
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + value.detach().float()
        for name, value in _scalar_diagnostics(getattr(output, "diagnostics", None)).items():
            diag_sums[name] = diag_sums.get(name, 0.0) + value.to(run.device)
        batches, step = batches + 1, step + 1
        bar.update(1)
        if batches % 20 == 0:
            bar.set_postfix(loss=f"{float(sums['total']) / batches:.4f}", refresh=False)
        if on_step is not None:
            on_step(Step(step=step, epoch=epoch, model=model, losses=losses, output=output))
        if max_steps is not None and step >= max_steps:
            break
    watch.end_of_epoch()
    means = {name: float(value) / batches for name, value in sums.items()}
    return means, {name: float(value) / batches for name, value in diag_sums.items()}, step


def _record_epoch(run: _Run, epoch: int, lr: float, val_scores: AVVPScores, best_score: float, **entry) -> bool:
    """Append ``epoch`` to the record; True when its selection score beats ``best_score``
    (strictly greater, as VALOR), which then makes it the record's best epoch."""
    record, selection = run.record, selection_score(val_scores)
    improved = selection > best_score
    if improved:
        record.best_epoch, record.best_val = epoch, scores_record(val_scores)
    record.epochs.append(
        {
            "epoch": epoch,
            "lr": lr,
            "train_loss": entry["train_loss"],
            "val": scores_record(val_scores),
            "val_type_av": selection,
            "diagnostics": entry["diagnostics"],
            "seconds": entry["seconds"],
        }
    )
    selection_rule = get_method(run.config.model).selection
    if selection_rule is not None:  # the method's published rule, beside the common one
        record.extra["method"]["published_selection"] = select_epoch(selection_rule, record.epochs)
    return improved


def _fit(
    config: TrainConfig,
    run_dir: Path | None,
    data: AVVPData | None,
    resume: bool,
    stop_after: int | None,
    max_steps: int | None,
    on_step,
    evaluate_test: bool,
    progress: bool,
    prepare=None,
) -> Fitted:
    run = _start(config, run_dir, data, progress, prepare)
    model, record = run.model, run.record
    val_plsim = run.plsim(run.val_split)
    best_score, start_epoch, best_state = -math.inf, 1, None
    if resume and run_dir is not None and (run_dir / CHECKPOINT_LAST).is_file():
        best_score, start_epoch = _resume(run)

    steps_per_epoch = math.ceil(len(run.train_split) / config.batch_size)
    last_epoch = config.epochs if stop_after is None else min(config.epochs, stop_after)
    bar = tqdm(
        total=steps_per_epoch * (last_epoch - start_epoch + 1),
        disable=not progress,
        desc=f"{config.model} seed {config.seed}",
        unit="batch",
        leave=False,
    )
    log = open_log(config.log, run_dir)  # live curves (--log); the record stays the source of truth
    step = (start_epoch - 1) * steps_per_epoch
    for epoch in range(start_epoch, last_epoch + 1):
        lr = epoch_lr(config, epoch)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        tic = time.perf_counter()
        model.train()
        try:
            train_loss, diagnostics, step = _train_epoch(run, epoch, step, bar, on_step, max_steps)
            if max_steps is not None and step >= max_steps:
                bar.close()
                return Fitted(record, model)  # stopped inside the epoch: no validation, incomplete
            train_seconds, tic = time.perf_counter() - tic, time.perf_counter()
            val_scores = evaluate_split(model, run.val_split, val_plsim, config.eval_batch_size).scores
        except (NonFiniteLoss, DivergenceError) as err:
            bar.close()
            raise diverged(err, epoch, record, run_dir, run.data) from None
        seconds = {"train": train_seconds, "val": time.perf_counter() - tic}
        improved = _record_epoch(
            run, epoch, lr, val_scores, best_score, train_loss=train_loss, diagnostics=diagnostics, seconds=seconds
        )
        if improved:
            best_score = record.epochs[-1]["val_type_av"]
        log.log_epoch(record.epochs[-1])
        bar.set_postfix(
            loss=f"{train_loss['total']:.4f}", val_type_av=f"{record.epochs[-1]['val_type_av']:.2f}", epoch=epoch
        )
        if run_dir is not None:
            save_epoch(run_dir, model, run.optimizer, run.generator, epoch, improved, best_score, record, config)
        elif improved:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    bar.close()
    log.close()
    return _test(run, evaluate_test, best_state) if last_epoch == config.epochs else Fitted(record, model)


def _test(run: _Run, evaluate_test: bool, best_state: dict | None) -> Fitted:
    """Score the finished run on test: the last epoch's weights (what selection changes), then
    the best's, which the returned model keeps; writes the predictions file and the record."""
    config, model, record, run_dir = run.config, run.model, run.record, run.run_dir
    if evaluate_test:  # the test split is prepared once: its audio pooling is fixed, not learned
        test_split = prepare_split(model, run.data.test, run.device)
        test_plsim = run.plsim(test_split)
        last_scores = evaluate_split(model, test_split, test_plsim, config.eval_batch_size).scores
        record.last_epoch_test, record.last_epoch_test_row = scores_record(last_scores), score_row(last_scores)
    if run_dir is not None:
        model.load_state_dict(load_checkpoint(run_dir / CHECKPOINT_BEST, map_location=run.device)["model"])
    else:
        model.load_state_dict(best_state)
    record.complete = True
    if not evaluate_test:
        return Fitted(record, model)
    test_scores, frame_prob, video_prob = evaluate_split(model, test_split, test_plsim, config.eval_batch_size)
    record.test = scores_record(test_scores)
    record.test_row = score_row(test_scores)
    if run_dir is not None:
        save_predictions(
            run_dir / PREDICTIONS_FILE,
            frame_prob=frame_prob,
            video_prob=video_prob,
            filenames=list(run.data.test.filenames),
        )
        record.predictions = PREDICTIONS_FILE
        record.write(run_dir)
    return Fitted(record, model)


# --------------------------------------------------------------------------------------------
# A finished run
# --------------------------------------------------------------------------------------------


class LoadedRun(NamedTuple):
    """What :func:`load_run` returns."""

    record: RunRecord
    config: TrainConfig
    model: torch.nn.Module  # with the best epoch's weights
    data: AVVPData


def load_run(run_dir: str | Path, device: str | None = None, data: AVVPData | None = None) -> LoadedRun:
    """A finished run folder: its record, config, model with the best weights, and data."""
    run_dir = Path(run_dir)
    record = RunRecord.read(run_dir)
    config = record.train_config()
    if device is not None:
        config.device = device
    config.validate()
    if data is None:
        data = load_data(config.data, data_dir=config.data_dir)
    model = prepare_model(config, data, torch.device(config.device)).model
    load_weights(model, run_dir / CHECKPOINT_BEST, config)
    return LoadedRun(record, config, model, data)


class TestedRun(NamedTuple):
    """What :func:`test_run` returns."""

    scores: AVVPScores
    record: RunRecord


def test_run(run_dir: str | Path, device: str | None = None, data: AVVPData | None = None) -> TestedRun:
    """Re-score a finished run's best checkpoint on test, on the data it recorded."""
    record, config, model, data = load_run(run_dir, device, data)
    check_inputs(recorded_inputs(record), run_inputs(data, config.data_dir), Path(run_dir) / RESULTS_FILE, "test")
    if recorded_inputs(record) is None:
        check_source(record.data.get("source"), data.source, Path(run_dir) / RESULTS_FILE, "test")
    test_split = prepare_split(model, data.test, config.device)
    labels = plsim_label_mode(record.plsim_labels) if record.uses_plsim else None
    plsim = labels.labels(test_split, config.allow_label_leakage) if labels else (None, None)
    return TestedRun(evaluate_split(model, test_split, plsim, config.eval_batch_size).scores, record)


# Silence pytest: ``test_run`` is not a test.
test_run.__test__ = False
