"""The training engine: one loop for every method of the registry (``linkpaper.models.registry``).

A run takes its loss, optimiser, learning-rate schedule, clipping and published selection
rule from its method (``Method``; ``linkpaper.recipe.method_recipe``); the field's methods
(HAN, MM-Pyramid, JoMoLD, LEAP) bring theirs (``book/decisions.md#method-field``). VALOR++'s
recipe (``book/decisions.md#decision-recipe``), unchanged for every variant of the grid:

* loss: ``linkpaper.losses.compute_losses(model, output, batch)["total"]``;
* AdamW over all parameters, lr 3e-4, betas (0.5, 0.999), eps 1e-8, weight decay 1e-3;
* lr set once per epoch *before* epoch e = 1..E: ``e/10 * 3e-4`` while e < 10, then cosine from
  3e-4 (epoch 10) to 3e-6 (epoch E) (:func:`lr_at_epoch`);
* ``clip_grad_norm_`` at 1.0 before each step; batch 64, reshuffled every epoch, last batch kept;
* best epoch by validation segment-level Type@AV, strictly greater; inference gating
  (frame >= 0.5 AND video >= 0.5) inside ``linkpaper.metrics.evaluate_probs``.

Speed: the whole split lives as tensors on the device (no per-video file reads); batches are
gathered with a permutation; validation runs in a few large ``no_grad`` batches and uses the
vectorised metric. Reproducibility: every epoch writes ``checkpoint_last.pt`` (model, optimiser,
epoch, RNG states of torch / CUDA / numpy / python and of the shuffling generator, best score,
history); ``resume=True`` continues an interrupted run to exactly the metrics an uninterrupted one
gets. The same seed on the CPU gives the same numbers.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm  # the text bar: tqdm.auto warns at import in a kernel without ipywidgets

from linkpaper.data.sources import load_data
from linkpaper.data.split import AVVPData, AVVPSplit
from linkpaper.data.text_tables import load_text_table
from linkpaper.errors import ConfigError, UserError
from linkpaper.inputs import check_inputs, check_resume_inputs, check_source, recorded_inputs, run_inputs
from linkpaper.losses import alignment_diagnostics, compute_losses
from linkpaper.metrics import evaluate_probs, save_predictions
from linkpaper.models import PLSIM_LABEL_MODES, build_model, get_method, model_config
from linkpaper.precision import apply_precision, compile_model
from linkpaper.recipe import (  # noqa: F401 - the recipe's names, re-exported for engine users
    RECIPE_EPOCHS,
    RECIPE_WARMUP_EPOCHS,
    SHORT_RUN_WARMUP_EPOCHS,
    TrainConfig,
    epoch_lr,
    lr_at_epoch,
    method_recipe,
    method_record,
    recipe_warmup,
    select_epoch,
)
from linkpaper.records import check_writable_dir, remove_created_dirs
from linkpaper.runs import (  # noqa: F401 - CHECKPOINT_KEYS, is_complete, caption: re-exported
    CHECKPOINT_BEST,
    CHECKPOINT_KEYS,
    CHECKPOINT_LAST,
    PREDICTIONS_FILE,
    RESULTS_FILE,
    RESUMABLE_CHANGES,
    RunRecord,
    caption,
    check_finite_weights,
    config_differences,
    is_complete,
    load_checkpoint,
    load_weights,
    read_results,
    save_checkpoint,
)
from linkpaper.tracking import open_log

SELECTION_SCORE = ("segment", "type")  # val segment-level Type@AV picks the best epoch


# Keys whose change does not change a single number, so a run may resume with them changed.
_RESUMABLE_CHANGES = RESUMABLE_CHANGES  # the one definition is linkpaper.runs.RESUMABLE_CHANGES


# --------------------------------------------------------------------------------------------
# PLSIM labels and text tables
# --------------------------------------------------------------------------------------------


def plsim_inputs(split: AVVPSplit, mode: str, allow_label_leakage: bool = False) -> tuple:
    """The (audio, visual) PLSIM labels of ``split`` under ``mode``, each (N, T, C) or None.

    ``self`` returns (None, None): the model runs its own first pass. ``gated`` reads the
    weak-label-gated pseudo labels, which for val/test are AND-ed with ground-truth video
    labels, so it is refused unless ``allow_label_leakage`` is set.
    """
    if mode == "self":
        return None, None
    if mode == "ungated":
        if split.pseudo_audio_ungated is None or split.pseudo_visual_ungated is None:
            raise ConfigError(
                f"--plsim-labels ungated: the {split.name} split has no ungated pseudo labels "
                "(CLAP/segment_pseudo_labels_ungated, CLIP/segment_pseudo_labels_ungated). Produce them "
                "with 'python -m linkpaper extract', or use --plsim-labels self (the model's own first "
                "pass, no leakage), or --plsim-labels gated --allow-label-leakage (leaks ground-truth "
                "video labels into val/test scores)."
            )
        return split.pseudo_audio_ungated, split.pseudo_visual_ungated
    if mode == "gated":
        if not allow_label_leakage:
            raise ConfigError(
                "--plsim-labels gated: the released pseudo labels are AND-ed with the ground-truth "
                "video labels, for val and test too, so a model that reads them at evaluation time sees "
                "the answers (book/decisions.md#decision-plsim-labels). Use --plsim-labels ungated or self, or pass "
                "--allow-label-leakage to run it anyway; the results are then marked as having used "
                "ground-truth video labels."
            )
        return split.pseudo_audio, split.pseudo_visual
    raise ConfigError(f"--plsim-labels: unknown mode {mode!r}; choose one of {', '.join(PLSIM_LABEL_MODES)}")


def resolve_text_tables(data: AVVPData, text_table: str | None) -> tuple:
    """(text_audio (C, Da), text_visual (C, Dv), source string) for PLSIM.

    ``text_table`` (a .npy/.pt (C, D) file) overrides the data's own tables and serves both
    modalities; otherwise the data's tables (SynthLLP's teacher tables, GloVe for LLP).
    """
    if text_table:
        array, source = load_text_table(text_table)
        table = torch.as_tensor(array, dtype=torch.float32)
        return table, table, f"--text-table {Path(text_table).resolve()}: {source} (both modalities)"
    if data.text_audio is None or data.text_visual is None:
        raise ConfigError(
            f"this model has PLSIM but the data ({data.describe()}) has no class text tables; "
            "pass --text-table PATH (a (25, D) .npy or .pt file)"
        )
    return data.text_audio, data.text_visual, data.text_source


# --------------------------------------------------------------------------------------------
# Forward passes
# --------------------------------------------------------------------------------------------


def forward(model, tensors: dict, plsim: tuple):
    return model(tensors["audio"], tensors["visual"], tensors["visual_3d"], plsim_audio=plsim[0], plsim_visual=plsim[1])


@torch.no_grad()
def prepare_split(model, split: AVVPSplit, device) -> AVVPSplit:
    """``split`` on ``device``, with (N, 64, 768) audio maps pooled once to (N, 10, 768) when the
    model takes the fast audio path (``pool_audio_input``), so no batch repeats that step."""
    moved = split.to(device)
    return replace(moved, audio=model.pool_audio_input(moved.audio))


@torch.no_grad()
def predict(model, split: AVVPSplit, plsim: tuple = (None, None), batch_size: int = 1024) -> tuple:
    """Probabilities for every video of ``split`` (already on the model's device).

    Returns (frame_prob (N, 10, 2, 25), video_prob (N, 25) clamped to [0, 1]) as float32 numpy
    arrays, computed
    in ``batch_size`` chunks with ``model.eval()`` and ``no_grad``. Restores the training mode.
    """
    was_training = model.training
    model.eval()
    frames, videos = [], []
    n = len(split)
    tensors = {"audio": split.audio, "visual": split.visual, "visual_3d": split.visual_3d}
    for start in range(0, n, batch_size):
        chunk = slice(start, min(start + batch_size, n))
        output = forward(
            model,
            {k: v[chunk] for k, v in tensors.items()},
            tuple(None if p is None else p[chunk] for p in plsim),
        )
        frames.append(output.frame_prob.float())
        # VALOR's attentive pooling can exceed 1 (frame attention is normalised over time per
        # modality, modality attention per segment); the reference clamps it before its BCE.
        # Clamping to [0, 1] leaves the >= 0.5 gate unchanged and makes a valid predictions file.
        videos.append(output.global_prob.float().clamp(0.0, 1.0))
    model.train(was_training)
    return torch.cat(frames).cpu().numpy(), torch.cat(videos).cpu().numpy()


def evaluate_split(model, split: AVVPSplit, plsim: tuple = (None, None), batch_size: int = 1024):
    """(AVVPScores, frame_prob, video_prob) of ``model`` on a split with dense ground truth."""
    if split.gt_audio is None or split.gt_visual is None:
        raise UserError(f"the {split.name} split has no dense ground truth to evaluate against")
    frame_prob, video_prob = predict(model, split, plsim, batch_size)
    if not (np.isfinite(frame_prob).all() and np.isfinite(video_prob).all()):
        inputs = _nonfinite_inputs(split.tensor_fields())
        cause = (
            f"its input features hold non-finite values ({_count_text(inputs)})"
            if inputs
            else "the inputs are finite, so the model's weights are not"
        )
        raise DivergenceError(f"the model's {split.name} predictions hold NaN or infinite values: {cause}")
    return evaluate_probs(frame_prob, video_prob, split.gt_audio, split.gt_visual), frame_prob, video_prob


def _count_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {count} value(s)" for name, count in counts.items())


def _scalar_diagnostics(diagnostics) -> dict:
    """The diagnostics dict as {name: detached scalar tensor} (non-scalars are averaged)."""
    result = {}
    for name, value in (diagnostics or {}).items():
        if isinstance(value, torch.Tensor):
            result[name] = value.detach().float().mean()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            result[name] = torch.tensor(float(value))
    return result


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


def training_step(
    model,
    optimizer,
    batch: dict,
    plsim_keys: tuple = (None, None),
    clip_norm: float | None = 1.0,
    loss_fn=compute_losses,
):
    """One optimiser step on ``batch`` ({field: (B, ...)}): loss, backward, clip, step.

    Returns (losses {name: scalar tensor, incl. "total"}, output). ``loss_fn(model, output,
    batch)`` is the method's loss (``Method.loss``). The gradient norm is clipped to
    ``clip_norm`` (L2 over all parameters; None: no clipping) before ``optimizer.step()``.
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


class DivergenceError(UserError):
    """Training produced a NaN or infinite loss (or predictions); the message names where."""


class NonFiniteLoss(Exception):
    """Raised by :func:`train_one_epoch` at the first non-finite loss (``step`` is 1-based).

    what: what was non-finite; inputs: {field: NaN/inf count} of the step's batch.
    """

    def __init__(self, step: int, steps: int, what: str, inputs: dict[str, int], exact: bool = True):
        super().__init__(f"{what} at step {step} of {steps}")
        self.step, self.steps, self.what, self.inputs, self.exact = step, steps, what, inputs, exact


# BCE refuses probabilities outside [0, 1]: NaN ones raise this on the CPU and a device-side
# assert on CUDA, before any loss value exists.
_PROBABILITY_ERRORS = ("all elements of input should be between 0 and 1", "device-side assert")


def _nonfinite_inputs(tensors: dict, index=None) -> dict[str, int]:
    """{field: count of NaN/inf values} of the floating-point fields (rows ``index``), non-zero only."""
    counts = {}
    for name, tensor in tensors.items():
        if tensor is None or not torch.is_floating_point(tensor):
            continue
        rows = tensor if index is None else tensor[index]
        bad = int((~torch.isfinite(rows)).sum())
        if bad:
            counts[name] = bad
    return counts


_CHECK_EACH_STEP = ("cpu",)
"""Devices where the loss is checked at every step (reading a CPU scalar costs nothing)."""


def _loss_text(losses: dict) -> str:
    terms = [
        name for name, value in losses.items() if name != "total" and not bool(torch.isfinite(value.detach()).all())
    ]
    return "the training loss is NaN or infinite" + (f" (terms: {', '.join(terms)})" if terms else "")


def _nan_probabilities(err, step, steps, seen_bad, finite_prefix, order, batch_size, tensors) -> NonFiniteLoss:
    """NonFiniteLoss for a BCE that met NaN probabilities at ``step`` (or, on CUDA, earlier)."""
    exact = "device-side assert" not in str(err)  # CUDA reports an assert at a later sync
    what = "the model's probabilities are NaN, so the loss cannot be computed"
    try:
        if bool(seen_bad):  # an earlier non-finite loss (deferred check) is the real first step
            step, exact, what = int(finite_prefix) + 1, True, "the training loss is NaN or infinite"
        inputs = _nonfinite_inputs(tensors, order[(step - 1) * batch_size : step * batch_size])
    except RuntimeError:  # after a device-side assert the device cannot be read any more
        inputs = {}
    return NonFiniteLoss(step, steps, what, inputs, exact=exact)


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


def _rng_states(generator: torch.Generator) -> dict:
    """Every RNG state as tensors and plain values, so checkpoints load with ``weights_only=True``."""
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    version, python_state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": {"version": int(version), "state": list(python_state), "gauss_next": gauss_next},
        "shuffle": generator.get_state(),
    }


def _restore_rng_states(states: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    numpy_state = states["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = states["python"]
    random.setstate((python_state["version"], tuple(python_state["state"]), python_state["gauss_next"]))
    generator.set_state(states["shuffle"])


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA), and put cuDNN in deterministic mode (no
    autotuned algorithm choice), as the reference's training script does with its seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def _refuse_config_change(old: dict, config: TrainConfig, path: Path) -> None:
    diffs = config_differences(old, config.to_dict())
    if diffs:
        raise ConfigError(
            f"--resume: {path} was written with a different configuration ({'; '.join(diffs)}); "
            "resume with the original options or use a new --out"
        )


def score_row(scores) -> list[float]:
    """The ten F-scores (percent) of an AVVPScores in SCORE_COLUMNS order."""
    return [float(x) for x in scores.row()]


def scores_record(scores) -> dict:
    return {level: {k: float(v) for k, v in table.items()} for level, table in scores.table.items()}


def prepare_model(config: TrainConfig, data: AVVPData, device) -> tuple:
    """(model on device, uses_plsim, text_source) built from the config, seeded by the caller;
    its forward runs in ``config.precision``, compiled when ``config.compile``.

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
    return (compile_model(model) if config.compile else model), uses_plsim, text_source


def plsim_keys(mode: str) -> tuple:
    if mode == "ungated":
        return ("pseudo_audio_ungated", "pseudo_visual_ungated")
    if mode == "gated":
        return ("pseudo_audio", "pseudo_visual")
    return (None, None)


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
        _check_run_dir(run_dir, config, resume)
        if resume and (run_dir / RESULTS_FILE).is_file():
            read_results(run_dir, full=False)  # a damaged record is its one line, never trained over
        if resume and is_complete(run_dir):
            finished = RunRecord.read(run_dir)
            _refuse_config_change(finished.config, config, run_dir / RESULTS_FILE)
            model = load_run(run_dir, device=config.device, data=data)[2] if load_finished else None
            return Fitted(finished, model)
        created = check_writable_dir(run_dir, "--out")  # before any work: a file, read-only, ...
    try:
        return _fit(config, run_dir, data, resume, stop_after, max_steps, on_step, evaluate_test, progress, prepare)
    except BaseException:
        remove_created_dirs(created)  # only folders this call created, and only when still empty
        raise


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
    # ---- the data, the seeded model, the PLSIM labels, the optimiser ------------------------
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    device = torch.device(config.device)
    if data is None:
        data = load_data(config.data, data_dir=config.data_dir, progress=progress)
    seed_everything(config.seed)
    model, uses_plsim, text_source = prepare_model(config, data, device)
    method = get_method(config.model)
    loss_fn = method.loss_function()
    mode = config.plsim_labels if uses_plsim else "none"
    if uses_plsim:  # fail before training if the labels are missing or forbidden
        for split in (data.train, data.val, data.test):
            plsim_inputs(split, mode, config.allow_label_leakage)
    optimizer = make_optimizer(model, config, device)
    generator = torch.Generator().manual_seed(config.seed)  # the shuffling order, checkpointed
    train_split, val_split = prepare_split(model, data.train, device), prepare_split(model, data.val, device)
    tensors = train_split.tensor_fields()  # {field: (N, ...)} on the device
    keys = plsim_keys(mode) if uses_plsim else (None, None)
    val_plsim = plsim_inputs(val_split, mode, config.allow_label_leakage) if uses_plsim else (None, None)

    # ---- the record, or the state of an interrupted run --------------------------------------
    record = RunRecord.start(config, data, model, uses_plsim, mode, text_source, device)
    record.run_dir = run_dir
    if not method.is_grid_variant:  # the field's methods name their recipe and selection rules
        record.extra["method"] = method_record(config.model)
    if prepare is not None:
        prepare(model, record)
    best_score, start_epoch, best_state = -math.inf, 1, None
    if resume and run_dir is not None and (run_dir / CHECKPOINT_LAST).is_file():
        state = load_checkpoint(run_dir / CHECKPOINT_LAST, map_location=device)
        _refuse_config_change(state["config"], config, run_dir / CHECKPOINT_LAST)
        check_resume_inputs(run_dir, record.data["inputs"])  # annotations and data as recorded
        check_finite_weights(state, run_dir / CHECKPOINT_LAST)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        _restore_rng_states(state["rng"], generator)
        best_score = state["best_score"]
        record.epochs, record.best_epoch, record.best_val = state["history"], state["best_epoch"], state["best_val"]
        start_epoch = state["epoch"] + 1

    # ---- the loop: epochs of shuffled batches, then validation --------------------------------
    n = len(train_split)
    steps_per_epoch = math.ceil(n / config.batch_size)
    last_epoch = config.epochs if stop_after is None else min(config.epochs, stop_after)
    bar = tqdm(
        total=steps_per_epoch * (last_epoch - start_epoch + 1),
        disable=not progress,
        desc=f"{config.model} seed {config.seed}",
        unit="batch",
        leave=False,
    )
    check_each_step = device.type in _CHECK_EACH_STEP
    log = open_log(config.log, run_dir)  # live curves (--log); the record stays the source of truth
    step = (start_epoch - 1) * steps_per_epoch
    for epoch in range(start_epoch, last_epoch + 1):
        lr = epoch_lr(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        tic = time.perf_counter()
        model.train()
        # The permutation is drawn on the CPU from ``generator`` (its state is checkpointed); the
        # last, smaller batch is kept. Losses and diagnostics are summed on the device, so no
        # step waits for a device-to-host copy; a non-finite loss is caught at its step on the
        # CPU, elsewhere at the end of the epoch (``finite_prefix`` counts the good steps).
        order = torch.randperm(n, generator=generator).to(device)
        seen_bad = torch.zeros((), dtype=torch.bool, device=device)
        finite_prefix = torch.zeros((), dtype=torch.int64, device=device)
        sums: dict[str, torch.Tensor] = {}
        diag_sums: dict[str, torch.Tensor] = {}
        batches = 0
        try:
            for start in range(0, n, config.batch_size):
                index = order[start : start + config.batch_size]
                batch = {name: t[index] for name, t in tensors.items()}
                try:
                    losses, output = training_step(model, optimizer, batch, keys, config.clip_norm, loss_fn)
                except RuntimeError as err:
                    if not any(text in str(err) for text in _PROBABILITY_ERRORS):
                        raise
                    raise _nan_probabilities(
                        err, batches + 1, steps_per_epoch, seen_bad, finite_prefix, order, config.batch_size, tensors
                    ) from None
                total = losses["total"].detach()
                if check_each_step:
                    if not bool(torch.isfinite(total)):
                        raise NonFiniteLoss(batches + 1, steps_per_epoch, _loss_text(losses), _nonfinite_inputs(batch))
                else:
                    seen_bad |= ~torch.isfinite(total)
                    finite_prefix += (~seen_bad).long()
                for name, value in losses.items():
                    sums[name] = sums.get(name, 0.0) + value.detach().float()
                for name, value in _scalar_diagnostics(getattr(output, "diagnostics", None)).items():
                    diag_sums[name] = diag_sums.get(name, 0.0) + value.to(device)
                batches += 1
                step += 1
                bar.update(1)
                if batches % 20 == 0:
                    bar.set_postfix(loss=f"{float(sums['total']) / batches:.4f}", refresh=False)
                if on_step is not None:
                    on_step(Step(step=step, epoch=epoch, model=model, losses=losses, output=output))
                if max_steps is not None and step >= max_steps:
                    break
            if not check_each_step and bool(seen_bad):  # one host read per epoch
                bad = int(finite_prefix) + 1
                index = order[(bad - 1) * config.batch_size : bad * config.batch_size]
                raise NonFiniteLoss(
                    bad, steps_per_epoch, "the training loss is NaN or infinite", _nonfinite_inputs(tensors, index)
                )
            if max_steps is not None and step >= max_steps:
                bar.close()
                return Fitted(record, model)  # stopped inside the epoch: no validation, incomplete
            train_losses = {name: float(value) / batches for name, value in sums.items()}
            diagnostics = {name: float(value) / batches for name, value in diag_sums.items()}
            train_seconds = time.perf_counter() - tic
            tic = time.perf_counter()
            val_scores, _, _ = evaluate_split(model, val_split, val_plsim, config.eval_batch_size)
        except (NonFiniteLoss, DivergenceError) as err:
            bar.close()
            raise _diverged(err, epoch, record, run_dir, data) from None
        val_seconds = time.perf_counter() - tic

        # ---- the best epoch (val segment-level Type@AV, strictly greater, as VALOR) ----------
        selection = val_scores.table[SELECTION_SCORE[0]][SELECTION_SCORE[1]]
        improved = selection > best_score
        if improved:
            best_score = selection
            record.best_epoch = epoch
            record.best_val = scores_record(val_scores)
        record.epochs.append(
            {
                "epoch": epoch,
                "lr": lr,
                "train_loss": train_losses,
                "val": scores_record(val_scores),
                "val_type_av": selection,
                "diagnostics": diagnostics,
                "seconds": {"train": train_seconds, "val": val_seconds},
            }
        )
        if method.selection is not None:  # the method's published rule, beside the common one
            record.extra["method"]["published_selection"] = select_epoch(method.selection, record.epochs)
        log.log_epoch(record.epochs[-1])
        bar.set_postfix(loss=f"{train_losses['total']:.4f}", val_type_av=f"{selection:.2f}", epoch=epoch)
        if run_dir is not None:
            save_epoch(run_dir, model, optimizer, generator, epoch, improved, best_score, record, config)
        elif improved:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    bar.close()
    log.close()
    if last_epoch < config.epochs:
        return Fitted(record, model)

    # ---- the last epoch's weights scored on test (what selection changes), then the best's ----
    if evaluate_test:  # the test split is prepared once: its audio pooling is fixed, not learned
        test_split = prepare_split(model, data.test, device)
        test_plsim = plsim_inputs(test_split, mode, config.allow_label_leakage) if uses_plsim else (None, None)
        last_scores, _, _ = evaluate_split(model, test_split, test_plsim, config.eval_batch_size)
        record.last_epoch_test, record.last_epoch_test_row = scores_record(last_scores), score_row(last_scores)
    if run_dir is not None:
        model.load_state_dict(load_checkpoint(run_dir / CHECKPOINT_BEST, map_location=device)["model"])
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
            filenames=list(data.test.filenames),
        )
        record.predictions = PREDICTIONS_FILE
        record.write(run_dir)
    return Fitted(record, model)


def save_epoch(
    run_dir: Path,
    model,
    optimizer,
    generator,
    epoch: int,
    improved: bool,
    best_score: float,
    record: RunRecord,
    config: TrainConfig,
) -> None:
    """Write the end of ``epoch``: ``checkpoint_best.pt`` when it improved, ``checkpoint_last.pt``
    (everything :func:`fit` needs to resume bit for bit) and ``results.json``."""
    if improved:
        save_checkpoint(
            run_dir / CHECKPOINT_BEST, {"model": model.state_dict(), "epoch": epoch, "config": config.to_dict()}
        )
    save_checkpoint(
        run_dir / CHECKPOINT_LAST,
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "rng": _rng_states(generator),
            "best_score": best_score,
            "best_epoch": record.best_epoch,
            "best_val": record.best_val,
            "history": record.epochs,
            "config": config.to_dict(),
        },
    )
    record.write(run_dir)


HUGE_FEATURE = 1e6
"""Feature values beyond this are not features (CLIP / CLAP / R(2+1)D values are O(1) to O(10))."""


def _largest_feature(data: AVVPData) -> float:
    """The largest finite |value| of the train split's float inputs."""
    largest = 0.0
    for tensor in data.train.tensor_fields().values():
        if tensor.is_floating_point() and tensor.numel():
            finite = tensor[torch.isfinite(tensor)]
            if finite.numel():
                largest = max(largest, float(finite.abs().max()))
    return largest


def _diverged(err: Exception, epoch: int, record: RunRecord, run_dir: Path | None, data: AVVPData) -> DivergenceError:
    """The one-line error for a NaN/inf loss or prediction in ``epoch``; records it in results.json."""
    cache = ""
    if data.source.get("root"):
        cache = (
            f" (delete the feature cache {Path(data.source['root']) / '.linkpaper-cache'} so the files "
            "are validated again)"
        )
    if isinstance(err, NonFiniteLoss):
        what = f"epoch {epoch}, {'step' if err.exact else 'at or before step'} {err.step} of {err.steps}: {err.what}"
        if err.inputs:
            what += (
                f"; the batch's input features hold non-finite values ({_count_text(err.inputs)}): "
                f"the feature files or their cache are damaged{cache}"
            )
        elif (largest := _largest_feature(data)) > HUGE_FEATURE:
            what += (
                f"; the input features are finite but reach {largest:.3g}, which overflows the model whatever "
                f"the learning rate: they are not usable features (rescale or re-extract them){cache}"
            )
        else:
            what += "; the inputs are finite, so the model diverged (try a smaller learning rate or another seed)"
        stopped = {"reason": "non-finite loss", "epoch": epoch, "step": err.step}
    else:
        what = f"epoch {epoch}, validation: {err}" + (cache if "input features" in str(err) else "")
        stopped = {"reason": "non-finite validation predictions", "epoch": epoch, "step": None}
    kept = record.epochs[-1]["epoch"] if record.epochs else None
    if run_dir is None:
        saved = "nothing was saved (no run folder)"
    elif kept is None:
        saved = "no epoch finished, so nothing was saved"
    else:
        saved = f"{run_dir / CHECKPOINT_LAST} keeps epoch {kept}, the last finite one"
        record.with_stopped(stopped).write(run_dir)
    return DivergenceError(f"stopped at {what}; {saved}")


def _check_run_dir(run_dir: Path, config: TrainConfig, resume: bool) -> None:
    if resume or not run_dir.exists():
        return
    if is_complete(run_dir):
        raise UserError(
            f"--out {run_dir}: a finished run is already there; pass --resume to keep it, or choose a new --out name"
        )
    if (run_dir / CHECKPOINT_LAST).exists() or (run_dir / RESULTS_FILE).exists():
        raise UserError(
            f"--out {run_dir}: an unfinished run is already there; pass --resume to continue it, "
            "or choose a new --out name"
        )


def load_run(run_dir: str | Path, device: str | None = None, data: AVVPData | None = None) -> tuple:
    """(RunRecord, config, model with the best weights, data) of a finished run folder."""
    run_dir = Path(run_dir)
    record = RunRecord.read(run_dir)
    config = record.train_config()
    if device is not None:
        config.device = device
    config.validate()
    if data is None:
        data = load_data(config.data, data_dir=config.data_dir)
    model, _, _ = prepare_model(config, data, torch.device(config.device))
    load_weights(model, run_dir / CHECKPOINT_BEST, config)
    return record, config, model, data


def test_run(run_dir: str | Path, device: str | None = None, data: AVVPData | None = None) -> tuple:
    """Re-score a finished run's best checkpoint on test: (AVVPScores, RunRecord)."""
    record, config, model, data = load_run(run_dir, device, data)
    check_inputs(recorded_inputs(record), run_inputs(data, config.data_dir), Path(run_dir) / RESULTS_FILE, "test")
    if recorded_inputs(record) is None:
        check_source(record.data.get("source"), data.source, Path(run_dir) / RESULTS_FILE, "test")
    test_split = prepare_split(model, data.test, config.device)
    mode = record.plsim_labels
    plsim = plsim_inputs(test_split, mode, config.allow_label_leakage) if record.uses_plsim else (None, None)
    scores, _, _ = evaluate_split(model, test_split, plsim, config.eval_batch_size)
    return scores, record


# Silence pytest: ``test_run`` is not a test.
test_run.__test__ = False
