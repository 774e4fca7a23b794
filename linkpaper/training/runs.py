"""The run record: one run folder, its ``results.json`` and its checkpoints, typed.

A run folder holds ``results.json`` (:class:`RunRecord`: configuration, data source, PLSIM
labels, code version, hardware, per-epoch history, best epoch, test scores),
``checkpoint_last.pt`` (everything ``engine.fit`` needs to resume bit for bit),
``checkpoint_best.pt`` (the best epoch's weights) and ``test_predictions.npz``; a collected run
also ``test_decisions.npz`` (its gated test decisions, read by ``run_per_video``).

The engine writes a :class:`RunRecord`; the grid, the cluster jobs and the book read one
(:meth:`RunRecord.read`) through its fields instead of dictionary chains. On disk the format is
the JSON object :meth:`RunRecord.to_dict` returns, key for key and in the same order as always;
:func:`read_results` still returns that plain dict (the notebooks index it), and a
:class:`RunRecord` reads like one too (``record["test_row"]``, ``record.get("complete")``).
Checkpoints load with ``torch.load(weights_only=True)`` only (:func:`load_checkpoint`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from linkpaper.errors import ConfigError, UserError
from linkpaper.models.plsim_labels import plsim_label_mode
from linkpaper.safe_io import atomic_torch_save, atomic_write_json, parse_json, safe_torch_load
from linkpaper.training.provenance import git_commit, hardware
from linkpaper.training.recipe import TrainConfig

RESULTS_FILE = "results.json"
CHECKPOINT_LAST = "checkpoint_last.pt"
CHECKPOINT_BEST = "checkpoint_best.pt"
PREDICTIONS_FILE = "test_predictions.npz"
DECISIONS_FILE = "test_decisions.npz"
"""A run's gated test decisions, stored as a predictions file (``scripts/collect_results.py``)."""

LEAKAGE_CAPTION = (
    "WARNING: PLSIM read the released gated pseudo labels, which are AND-ed with the "
    "ground-truth video labels of val/test: these scores used ground-truth video labels."
)

RECORD_FIELDS = {"config": dict, "data": dict, "seed": int, "plsim": dict, "epochs": list, "complete": bool}
"""The top-level entries every results.json holds, with their JSON types."""

RESUMABLE_CHANGES = frozenset({"device", "num_threads", "eval_batch_size", "data_dir", "log"})
"""Configuration keys whose change does not change a single number: a run may resume (and a
grid folder may be reused) with them changed."""

ADDED_CONFIG_KEYS = {"precision": "fp32", "compile": False, "log": None}
"""Configuration keys added after runs were first recorded, with the value a record without
them was trained with (a record without ``precision`` is fp32)."""


# --------------------------------------------------------------------------------------------
# The record
# --------------------------------------------------------------------------------------------

# results.json's keys in the order they are written, and the field that holds each.
_KEYS = (
    "config",
    "data",
    "seed",
    "plsim",
    "label_leakage",
    "caption",
    "code",
    "hardware",
    "parameters",
    "epochs",
    "best_epoch",
    "best_val",
    "complete",
    "test",
    "test_row",
    "last_epoch_test",
    "last_epoch_test_row",
    "predictions",
    "stopped",
)
_FIELD_OF = {"caption": "leakage_caption"}
_OPTIONAL = frozenset(
    {"caption", "test", "test_row", "last_epoch_test", "last_epoch_test_row", "predictions", "stopped"}
)
"""Keys written only when set (``caption`` only for a leaking run, ``test*`` once scored, ...)."""
_NEW_ORDER = (
    "config",
    "data",
    "seed",
    "plsim",
    "label_leakage",
    "code",
    "hardware",
    "parameters",
    "epochs",
    "best_epoch",
    "best_val",
    "complete",
    "caption",
    "test",
    "test_row",
    "last_epoch_test",
    "last_epoch_test_row",
    "predictions",
    "stopped",
)
"""The order a run writes them in (the leakage ``caption`` after ``complete``)."""


@dataclass(eq=False)
class RunRecord(Mapping):
    """What ``results.json`` holds, as fields; ``run_dir`` is the folder it was read from (or
    is written to) and is not part of the file.

    config: the TrainConfig as a dict (``train_config()`` gives the TrainConfig); data:
    ``{"spec", "source", "description", "sizes", "audio_form", "text_source", "inputs"}`` (inputs:
    annotation checksums and data fingerprint, ``linkpaper.training.inputs``); plsim:
    ``{"used", "labels", "text_source"}``; code: ``{"commit", "dirty"}``; epochs: one dict per
    finished epoch (``epoch``, ``lr``, ``train_loss``, ``val``, ``val_type_av``,
    ``diagnostics``, ``seconds``); best_val / test: ``{level: {score: F}}``; test_row: the ten
    test F-scores in ``metrics.SCORE_COLUMNS`` order (the best epoch's weights: the run's result);
    last_epoch_test / last_epoch_test_row: the same for the last epoch's weights (what selection
    on val changes; older records lack them); stopped: why a diverged run stopped.

    Reads like the dict it was read from (a read-only Mapping over :meth:`to_dict`), so code
    written for the plain dict keeps working; package code uses the fields.
    """

    config: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    seed: int | None = None
    plsim: dict = field(default_factory=dict)
    label_leakage: bool = False
    code: dict = field(default_factory=dict)
    hardware: dict = field(default_factory=dict)
    parameters: int | None = None
    epochs: list = field(default_factory=list)
    best_epoch: int | None = None
    best_val: dict | None = None
    complete: bool = False
    leakage_caption: str | None = None
    test: dict | None = None
    test_row: list | None = None
    last_epoch_test: dict | None = None
    last_epoch_test_row: list | None = None
    predictions: str | None = None
    stopped: dict | None = None
    extra: dict = field(default_factory=dict, repr=False)
    """Keys of a record this code does not know (kept, written back after the known ones)."""
    run_dir: Path | None = field(default=None, repr=False, compare=False)
    _absent: frozenset = field(default=frozenset(), repr=False)
    _order: tuple = field(default=_NEW_ORDER, repr=False)

    # ---- building, reading, writing ---------------------------------------------------------

    @classmethod
    def start(cls, config, data, model, uses_plsim: bool, mode: str, text_source: str, device) -> RunRecord:
        """The record of a run before its first epoch: configuration, data, PLSIM labels, provenance.

        config: a validated TrainConfig; data: the AVVPData it trains on; model: the built model
        (for its parameter count); mode: the PLSIM label mode (``"none"`` without PLSIM)."""
        from linkpaper.training.inputs import run_inputs

        leakage = uses_plsim and plsim_label_mode(mode).leaks
        return cls(
            config=config.to_dict(),
            data={
                "spec": config.data,
                "source": data.source,
                "description": data.describe(),
                "sizes": {s.name: len(s) for s in (data.train, data.val, data.test)},
                "audio_form": data.train.audio_form,
                "text_source": data.text_source,
                "inputs": run_inputs(data, config.data_dir),
            },
            seed=config.seed,
            plsim={"used": uses_plsim, "labels": mode, "text_source": text_source},
            label_leakage=leakage,
            code=git_commit(),
            hardware=hardware(device),
            parameters=sum(p.numel() for p in model.parameters()),
            leakage_caption=LEAKAGE_CAPTION if leakage else None,
        )

    @classmethod
    def from_dict(cls, record: Mapping, run_dir: str | Path | None = None) -> RunRecord:
        """The record of a results.json dict (as ``read_results`` returns it)."""
        if isinstance(record, RunRecord):
            return record
        values = {_FIELD_OF.get(key, key): record[key] for key in _KEYS if key in record}
        extra = {key: value for key, value in record.items() if key not in _KEYS}
        absent = frozenset(key for key in _KEYS if key not in record)
        order = tuple(key for key in record if key in _KEYS)
        return cls(
            **values,
            extra=extra,
            run_dir=Path(run_dir) if run_dir is not None else None,
            _absent=absent,
            _order=order + tuple(k for k in _NEW_ORDER if k not in order),
        )

    @classmethod
    def read(cls, run_dir: str | Path, full: bool = True) -> RunRecord:
        """The record in ``run_dir/results.json``, structure checked (``read_results``)."""
        return cls.from_dict(read_results(run_dir, full), run_dir=run_dir)

    @classmethod
    def coerce(cls, record) -> RunRecord:
        """A RunRecord from a RunRecord or a results.json dict."""
        return record if isinstance(record, RunRecord) else cls.from_dict(record)

    def to_dict(self) -> dict:
        """The results.json object: the same keys, values and order as the file."""
        out = {}
        for key in self._order:
            if key in self._absent:
                continue
            value = getattr(self, _FIELD_OF.get(key, key))
            if key in _OPTIONAL and value is None:
                continue
            out[key] = value
        out.update(self.extra)
        return out

    def write(self, run_dir: str | Path | None = None) -> Path:
        """Write ``results.json`` into ``run_dir`` (default: the ``run_dir`` it was read from) atomically."""
        path = Path(run_dir if run_dir is not None else self.run_dir) / RESULTS_FILE
        atomic_write_json(path, self.to_dict())
        return path

    def with_stopped(self, stopped: dict) -> RunRecord:
        """A copy that records why the run stopped (a diverged run's last results.json)."""
        return replace(self, stopped=stopped, _absent=self._absent - {"stopped"})

    # ---- reading it -------------------------------------------------------------------------

    @property
    def model(self) -> str:
        """The variant name (``config["model"]``)."""
        return self.config["model"]

    @property
    def description(self) -> str:
        """The data's description (``data["description"]``)."""
        return str(self.data.get("description", "unknown data"))

    @property
    def uses_plsim(self) -> bool:
        return bool(self.plsim.get("used"))

    @property
    def plsim_labels(self) -> str:
        """The PLSIM label mode (``"none"`` without PLSIM)."""
        return self.plsim.get("labels", "?")

    @property
    def commit(self) -> str:
        return self.code.get("commit", "unknown")

    @property
    def dirty(self) -> bool:
        return bool(self.code.get("dirty"))

    def data_label(self) -> str:
        """A short name of the data: ``"SynthLLP small (synthetic)"`` or ``"LLP (real features)"``."""
        source = self.data.get("source", {})
        kind = source.get("kind")
        if kind == "synth":
            seed = source.get("seed", 0)
            return f"SynthLLP {source.get('preset')}{'' if seed == 0 else f' seed {seed}'} (synthetic)"
        if kind == "llp":
            return "LLP (real features)"
        return self.description

    def hardware_text(self) -> str:
        """``"<device name> (<device>, <threads> thread(s))"``."""
        hw = self.hardware
        return f"{hw.get('device_name', '?')} ({hw.get('device', '?')}, {hw.get('threads', '?')} thread(s))"

    def caption(self) -> str:
        """A table caption naming the model, seed and data source (and any label leakage)."""
        text = f"{self.model} seed {self.seed} on {self.data['description']}"
        if self.label_leakage:
            text += "\n" + LEAKAGE_CAPTION
        return text

    def train_config(self):
        """The run's ``recipe.TrainConfig``."""
        return TrainConfig.from_dict(self.config)

    def config_differences(self, config) -> list[str]:
        """:func:`config_differences` between this run's configuration and ``config`` (a
        TrainConfig or its dict)."""
        return config_differences(self.config, config if isinstance(config, dict) else config.to_dict())

    # ---- the Mapping view (what code written for the plain dict reads) ------------------------

    def __getitem__(self, key):
        return self.to_dict()[key]

    def __iter__(self):
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


def config_differences(old: dict, new: dict) -> list[str]:
    """``["key: old -> new", ...]`` for every configuration key that differs between two config
    dicts, except ``RESUMABLE_CHANGES`` (they change no number); lists and tuples compare
    as lists; a key of ``ADDED_CONFIG_KEYS`` that a dict lacks has its recorded value."""
    diffs = []
    for key in sorted(set(old) | set(new)):
        if key in RESUMABLE_CHANGES:
            continue
        a, b = old.get(key, ADDED_CONFIG_KEYS.get(key)), new.get(key, ADDED_CONFIG_KEYS.get(key))
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            a, b = list(a), list(b)
        same = (_canonical_spec(a) == _canonical_spec(b)) if key == "data" else a == b  # synth:tiny = synth:tiny:0
        if not same:
            diffs.append(f"{key}: {a!r} -> {b!r}")
    return diffs


def _canonical_spec(spec):
    """``synth:PRESET`` as ``synth:PRESET:0`` (its default seed); any other value as is."""
    if isinstance(spec, str) and spec.startswith("synth:") and spec.count(":") == 1:
        return spec + ":0"
    return spec


def caption(record) -> str:
    """A table caption naming the data source, seed and model (and any label leakage) of a
    RunRecord or a results.json dict."""
    return RunRecord.coerce(record).caption()


# --------------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------------


def read_results(run_dir: str | Path, full: bool = True) -> dict:
    """The ``results.json`` of a run folder as a plain dict, or a UserError naming the file.

    Checks the structure too (a dict with ``RECORD_FIELDS``, ten test scores when complete), so
    a JSON file that is not a run record is named instead of failing later with a KeyError.
    ``full=False`` asks only for what the per-epoch history needs (config with a model, epochs).
    :meth:`RunRecord.read` gives the same as a RunRecord.
    """
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        raise UserError(
            f"{path}: no run record here; is {run_dir} a run folder written by 'python -m linkpaper train'?"
        )
    try:
        record = parse_json(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        detail = err.strerror if isinstance(err, OSError) and err.strerror else str(err).splitlines()[0][:200]
        raise UserError(f"{path}: not valid JSON ({detail}); the run record is damaged, train the run again") from None
    problem = record_problem(record, full)
    if problem:
        raise UserError(
            f"{path}: not a linkpaper run record ({problem}); was another file copied over it? "
            "Restore it or train the run again"
        )
    return record


def record_problem(record, full: bool = True) -> str | None:
    """What is wrong with a run record's structure, or None when it has every entry it needs
    (with ``full=False``: a config with a model name and the epoch list)."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, expected an object"
    for key, kind in RECORD_FIELDS.items():
        if not full and key not in ("config", "epochs"):
            continue
        if key not in record:
            return f"no {key!r} entry"
        if not isinstance(record[key], kind) or (kind is int and isinstance(record[key], bool)):
            return f"{key!r} is a {type(record[key]).__name__}, expected {kind.__name__}"
    if not isinstance(record["config"].get("model"), str):
        return "config has no model name"
    if not full:
        return None
    if not isinstance(record["data"].get("description"), str):
        return "data has no description"
    if not {"used", "labels"} <= set(record["plsim"]):
        return "plsim lacks 'used' or 'labels'"
    if record["complete"]:
        row = record.get("test_row")
        if not (
            isinstance(row, list)
            and len(row) == 10
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row)
        ):
            return "complete, but 'test_row' is not ten numbers"
        if not all(math.isfinite(x) and 0 <= x <= 100 for x in row):
            return (
                "complete, but 'test_row' holds a value that is not an F-score in [0, 100] "
                "(NaN, infinite, or out of range)"
            )
    return None


def is_complete(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished run (results.json with test scores)."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        return False
    try:
        return bool(read_results(run_dir).get("complete"))
    except UserError:
        return False


def run_per_video(run_dir, test):
    """(N, 10) per-video test scores (percent) of a run folder holding ``test_decisions.npz``.

    test: the test split's annotations (``load_annotations("test")``); rows follow its order.
    When the folder holds a finished run record, the decisions must score its ten test numbers:
    decisions of another run (or another test set) raise a UserError naming the file.
    """
    import numpy as np

    from linkpaper.evaluation.gains import per_video_matrix
    from linkpaper.evaluation.metrics import evaluate_probs
    from linkpaper.evaluation.predictions import load_predictions

    path = Path(run_dir) / DECISIONS_FILE
    if not path.is_file():
        raise UserError(f"{path}: no test decisions here; write them with scripts/collect_results.py")
    predictions = load_predictions(path).aligned_to(test.filenames, "test")
    scores = evaluate_probs(predictions.frame_prob, predictions.video_prob, test.gt_audio, test.gt_visual)
    if (Path(run_dir) / RESULTS_FILE).is_file():
        record = RunRecord.read(run_dir)
        row = scores.row()
        if record.complete and not np.allclose(row, record.test_row, atol=1e-6, rtol=0):
            raise UserError(
                f"{path}: these decisions do not score the test row of its {RESULTS_FILE} (Seg type "
                f"{row[3]:.2f} against {record.test_row[3]:.2f}); they belong to another run or test "
                "set: write them again with scripts/collect_results.py"
            )
    return per_video_matrix(scores)


def check_run_dir(run_dir: Path, resume: bool) -> None:
    """Refuse to train into a folder that already holds a run, finished or not, unless ``resume``."""
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


def refuse_config_change(old: dict, config, path: Path) -> None:
    """Refuse to resume a run recorded (in ``path``) with configuration ``old`` under ``config``
    (a TrainConfig) when they differ in a key that changes numbers (:func:`config_differences`)."""
    diffs = config_differences(old, config.to_dict())
    if diffs:
        raise ConfigError(
            f"--resume: {path} was written with a different configuration ({'; '.join(diffs)}); "
            "resume with the original options or use a new --out"
        )


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------

CHECKPOINT_KEYS = {
    CHECKPOINT_LAST: (
        "model",
        "optimizer",
        "epoch",
        "rng",
        "best_score",
        "best_epoch",
        "best_val",
        "history",
        "config",
    ),
    CHECKPOINT_BEST: ("model", "epoch", "config"),
}
"""The entries each checkpoint file must hold (:func:`save_epoch` writes exactly these)."""


def save_epoch(
    run_dir: Path, model, optimizer, generator, epoch: int, improved: bool, best_score: float, record, config
) -> None:
    """Write the end of ``epoch``: ``checkpoint_best.pt`` when it improved, ``checkpoint_last.pt``
    (everything ``engine.fit`` needs to resume bit for bit: weights, optimiser, the random-number
    states of ``rng_states``, the best score so far and the history) and ``results.json``."""
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
            "rng": rng_states(generator),
            "best_score": best_score,
            "best_epoch": record.best_epoch,
            "best_val": record.best_val,
            "history": record.epochs,
            "config": config.to_dict(),
        },
    )
    record.write(run_dir)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA), and put cuDNN in deterministic mode (no
    autotuned algorithm choice), as the reference's training script does with its seed."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def rng_states(generator) -> dict:
    """Every random-number state (torch, CUDA, numpy, python, and ``generator``, the loop's
    shuffling order) as tensors and plain values, so checkpoints load with ``weights_only=True``."""
    import random

    import numpy as np
    import torch

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


def restore_rng_states(states: dict, generator) -> None:
    """Put back what :func:`rng_states` saved (``generator``: the loop's shuffling generator)."""
    import random

    import numpy as np
    import torch

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


def save_checkpoint(path: str | Path, state: dict) -> None:
    """``torch.save(state)`` to ``path`` atomically (tensors and plain values only, so
    :func:`load_checkpoint` reads it with ``weights_only=True``)."""
    atomic_torch_save(state, path)


def load_checkpoint(path: str | Path, map_location="cpu", required: tuple | None = None) -> dict:
    """A checkpoint dict, read with ``torch.load(weights_only=True)`` (tensors and plain values
    only: loading never runs code from the file).

    required: entries the dict must hold (default: ``CHECKPOINT_KEYS`` for the file's name).
    A missing, damaged, unsafe or wrongly structured file raises a UserError naming the file.
    """
    path = Path(path)
    state = safe_torch_load(
        path, map_location=map_location, what="checkpoint", remedy="Delete it and train the run again."
    )
    required = CHECKPOINT_KEYS.get(path.name, ("model",)) if required is None else required
    missing = [key for key in required if not isinstance(state, dict) or key not in state]
    if missing:
        found = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise UserError(
            f"{path}: not a linkpaper {path.name} (missing {', '.join(missing)}; found {found}); "
            f"was another file copied over it? Train the run again or restore the original file."
        )
    if not isinstance(state.get("model"), dict):
        raise UserError(f"{path}: the 'model' entry is not a state dict ({type(state.get('model')).__name__})")
    return state


def load_weights(model, path: str | Path, config) -> None:
    """Load the ``model`` entry of checkpoint ``path`` into ``model`` (built from ``config``, a
    TrainConfig); a checkpoint of another architecture or size is one UserError naming the file."""
    state = load_checkpoint(path, map_location=config.device)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError) as err:
        detail = " ".join(str(err).split())[:200]
        raise UserError(
            f"{path}: its weights do not fit the run's model {config.model} ({detail}); the checkpoint belongs "
            "to another architecture or configuration: restore the run's own checkpoint or train the run again"
        ) from None


def check_finite_weights(state: dict, path: str | Path) -> None:
    """Refuse to resume from a checkpoint whose weights hold NaN or infinite values (one line
    naming the file): training on from them only repeats the divergence."""
    import torch

    bad = [
        name
        for name, tensor in state.get("model", {}).items()
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all()
    ]
    if bad:
        raise UserError(
            f"{path}: the weights of epoch {state.get('epoch', '?')} hold NaN or infinite values "
            f"({len(bad)} tensor(s), "
            f"e.g. {bad[0]}), so the run cannot resume from it; train the run again into a new --out "
            "(a smaller learning rate or another seed)"
        )
