"""A run's configuration and the paper's training recipe (``book/decisions.md#decision-recipe``).

``TrainConfig`` holds everything that defines a run; its defaults are VALOR++'s recipe, which
LINK keeps for every variant: AdamW (lr 3e-4, betas (0.5, 0.999), eps 1e-8, weight decay 1e-3),
batch 64, gradient clipping at 1.0, 60 epochs with a 10-epoch linear warm-up then a cosine decay
to 3e-6 (:func:`lr_at_epoch`). The engine (``linkpaper.training.engine``) trains one; the run record
(``linkpaper.training.runs``) stores it.

The field's methods (HAN, MM-Pyramid, JoMoLD, LEAP) bring their own recipes
(``linkpaper.models.registry.METHODS``, ``book/decisions.md#method-field``): Adam and a step
schedule (:func:`step_lr_at_epoch`). :func:`method_recipe` gives a model's full recipe,
:func:`recipe_config` a TrainConfig with its defaults, :func:`epoch_lr` the learning rate of an
epoch under it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch

from linkpaper import limits
from linkpaper.errors import ConfigError
from linkpaper.models import canonical_name, variant_plsim_labels
from linkpaper.models.plsim_labels import plsim_label_mode
from linkpaper.training.precision import DEFAULT_PRECISION, check_precision

LOG_KINDS = (None, "tensorboard")
"""``TrainConfig.log``: no live log (the default) or TensorBoard (the ``[tracking]`` extra)."""

RECIPE_EPOCHS = 60
"""The recipe's length (``book/decisions.md#decision-recipe``)."""
RECIPE_WARMUP_EPOCHS = 10
"""The recipe's linear warm-up (epochs), for runs of at least that many epochs."""
SHORT_RUN_WARMUP_EPOCHS = 1
"""The warm-up of the book's short runs (fewer than ``RECIPE_WARMUP_EPOCHS`` epochs)."""


def recipe_warmup(epochs: int) -> int:
    """The warm-up for a run of ``epochs`` epochs: the recipe's 10 epochs once the run is that
    long, else 1 (a short run would otherwise never reach the full learning rate)."""
    return SHORT_RUN_WARMUP_EPOCHS if epochs < RECIPE_WARMUP_EPOCHS else RECIPE_WARMUP_EPOCHS


@dataclass
class TrainConfig:
    """Everything that defines a run. Defaults are VALOR++'s recipe (``book/decisions.md#decision-recipe``).

    ``plsim_labels`` picks the labels PLSIM reads (``book/decisions.md#decision-plsim-labels``): ``ungated`` (the
    split's teacher labels over all classes), ``self`` (the model's own first pass) or
    ``gated`` (the released weak-label-gated files; needs ``allow_label_leakage``).
    ``eval_batch_size`` only changes speed, never a number. ``precision`` (``fp32`` or ``bf16``)
    and ``compile`` set how the model's forward runs (``linkpaper.training.precision``); ``log``
    (``None`` or ``"tensorboard"``) adds live curves beside the run record (``linkpaper.training.tracking``).
    """

    model: str = "valor++"
    model_overrides: dict = field(default_factory=dict)
    data: str = "synth:small"
    data_dir: str | None = None
    epochs: int = RECIPE_EPOCHS
    batch_size: int = 64
    lr: float = 3e-4
    lr_min: float = 3e-6
    warmup_epochs: int = RECIPE_WARMUP_EPOCHS  # recipe_warmup(epochs) picks it for shorter runs
    betas: tuple = (0.5, 0.999)
    eps: float = 1e-8
    weight_decay: float = 1e-3
    clip_norm: float = 1.0
    seed: int = 87
    device: str = "cpu"
    plsim_labels: str = "ungated"
    allow_label_leakage: bool = False
    text_table: str | None = None
    num_threads: int | None = None
    eval_batch_size: int = 1024
    precision: str = DEFAULT_PRECISION
    compile: bool = False
    log: str | None = None

    def validate(self) -> TrainConfig:
        """Raise ConfigError naming the option for any value the engine cannot run with."""

        def positive_int(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = _FLAGS.get(name, f"--{name.replace('_', '-')}")
                raise ConfigError(f"{flag}: expected a positive integer, got {value!r}")

        for name in ("epochs", "batch_size", "eval_batch_size"):
            positive_int(name)
        if isinstance(self.warmup_epochs, bool) or not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0:
            raise ConfigError(f"warmup_epochs: expected an integer >= 0, got {self.warmup_epochs!r}")
        if self.num_threads is not None:
            positive_int("num_threads")
        for name, high in (
            ("epochs", limits.MAX_EPOCHS),
            ("batch_size", limits.MAX_BATCH_SIZE),
            ("eval_batch_size", limits.MAX_BATCH_SIZE),
            ("warmup_epochs", limits.MAX_EPOCHS),
            ("num_threads", limits.max_threads()),
            ("seed", limits.MAX_SEED),
        ):
            if getattr(self, name) is not None:
                limits.check_int(
                    getattr(self, name),
                    0 if name in ("seed", "warmup_epochs") else 1,
                    high,
                    _FLAGS.get(name, f"--{name.replace('_', '-')}"),
                )
        for name in ("lr", "lr_min", "eps", "clip_norm"):
            value = getattr(self, name)
            if name == "clip_norm" and value is None:  # no gradient clipping (the field's recipes)
                continue
            if not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{name}: expected a positive number, got {value!r}")
        if self.lr_min > self.lr:
            raise ConfigError(f"lr_min ({self.lr_min}) is larger than lr ({self.lr})")
        if not isinstance(self.weight_decay, (int, float)) or self.weight_decay < 0:
            raise ConfigError(f"weight_decay: expected a number >= 0, got {self.weight_decay!r}")
        if len(tuple(self.betas)) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas: expected two numbers in [0, 1), got {self.betas!r}")
        try:
            self.model = canonical_name(self.model)  # "LINK" -> "link", "+S+T" -> "+T+S"
        except ConfigError as err:
            raise ConfigError(f"--model: {err}") from None
        adopt_variant_plsim_labels(self)
        plsim_label_mode(self.plsim_labels)
        try:
            device = torch.device(self.device)
        except RuntimeError:
            raise ConfigError(f"--device: {self.device!r} is not a torch device (try 'cpu' or 'cuda')") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"--device {self.device}: CUDA is not available in this torch build/machine; use --device cpu"
            )
        if device.type not in ("cpu", "cuda"):
            raise ConfigError(f"--device: {self.device!r} is not supported; use 'cpu' or 'cuda'")
        check_precision(self.precision, device)
        if not isinstance(self.compile, bool):
            raise ConfigError(f"compile: expected True or False, got {self.compile!r}")
        if self.log not in LOG_KINDS:
            raise ConfigError(f"--log: unknown {self.log!r}; choose {' or '.join(k for k in LOG_KINDS if k)}")
        if not isinstance(self.model_overrides, dict):
            raise ConfigError(f"model_overrides: expected a dict, got {type(self.model_overrides).__name__}")
        if "plsim_labels" in self.model_overrides:  # the engine sets it from the run's mode
            raise ConfigError(
                "--model-override plsim_labels: the labels PLSIM reads are the run's --plsim-labels "
                f"option; pass --plsim-labels {self.model_overrides['plsim_labels']} instead"
            )
        return self

    def to_dict(self) -> dict:
        record = asdict(self)
        record["betas"] = list(self.betas)
        return record

    @classmethod
    def from_dict(cls, record: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(record) - known)
        if unknown:
            raise ConfigError(f"unknown configuration keys {unknown}; known: {sorted(known)}")
        values = dict(record)
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)


def adopt_variant_plsim_labels(config: TrainConfig) -> TrainConfig:
    """A variant that fixes its PLSIM labels (``+P/self``) sets ``config.plsim_labels`` (in place)
    when the run left the default; any other explicit mode is refused (ConfigError)."""
    fixed = variant_plsim_labels(config.model)
    if fixed is not None and config.plsim_labels != fixed:
        if config.plsim_labels != TrainConfig.plsim_labels:
            raise ConfigError(
                f"--plsim-labels {config.plsim_labels}: the variant {config.model} reads {fixed} labels; "
                f"leave --plsim-labels out or pass {fixed}"
            )
        config.plsim_labels = fixed
    return config


_FLAGS = {"num_threads": "--threads", "eval_batch_size": "eval_batch_size (TrainConfig)"}
"""Config fields whose command-line flag is not ``--`` + the field name."""


def lr_at_epoch(epoch: int, epochs: int, lr: float = 3e-4, lr_min: float = 3e-6, warmup_epochs: int = 10) -> float:
    """The learning rate of epoch ``epoch`` (1-based), set before the epoch starts.

    VALOR's "warm_up_cos_anneal": ``epoch / warmup * lr`` while ``epoch < warmup``, else
    ``lr_min + 0.5 (lr - lr_min)(1 + cos(pi (epoch - warmup) / (epochs - warmup)))``.
    With the defaults: epoch 1 -> 3e-5, 9 -> 2.7e-4, 10 -> 3e-4, 60 -> 3e-6.
    """
    if epoch < warmup_epochs:
        return epoch / warmup_epochs * lr
    span = epochs - warmup_epochs
    progress = (epoch - warmup_epochs) / span if span > 0 else 0.0
    return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))


OPTIMIZERS = ("adamw", "adam")
SCHEDULES = ("warmup-cosine", "step")
RECIPE_FIELDS = ("epochs", "batch_size", "lr", "lr_min", "warmup_epochs", "betas", "eps", "weight_decay", "clip_norm")
"""The TrainConfig fields a method's recipe sets."""


def method_recipe(model: str) -> dict:
    """The full recipe of a model name: the TrainConfig fields of :data:`RECIPE_FIELDS` plus
    ``optimizer`` and ``schedule`` (and ``step_size`` / ``gamma`` for a step schedule). VALOR++,
    LINK and the controls get TrainConfig's defaults; the field's methods their registry entry's."""
    from linkpaper.models.registry import get_method

    defaults = TrainConfig()
    recipe = {
        "optimizer": "adamw",
        "schedule": "warmup-cosine",
        **{name: getattr(defaults, name) for name in RECIPE_FIELDS},
    }
    recipe.update(get_method(model).recipe)
    return recipe


def recipe_config(model: str = "valor++", **values) -> TrainConfig:
    """A TrainConfig for ``model`` whose recipe fields default to the model's recipe; ``values``
    (any TrainConfig field; None means "the recipe's") override them."""
    recipe = method_recipe(model)
    given = {name: value for name, value in values.items() if value is not None}
    return TrainConfig(model=model, **{**{name: recipe[name] for name in RECIPE_FIELDS}, **given})


def step_lr_at_epoch(epoch: int, lr: float, step_size: int, gamma: float) -> float:
    """``lr * gamma ** ((epoch - 1) // step_size)``: torch's StepLR as the released HAN, MM-Pyramid,
    JoMoLD and LEAP scripts step it (``scheduler.step(epoch)`` after epoch ``epoch``)."""
    return lr * gamma ** ((epoch - 1) // step_size)


def epoch_lr(config: TrainConfig, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (1-based) of a run under its model's schedule."""
    recipe = method_recipe(config.model)
    if recipe["schedule"] == "step":
        return step_lr_at_epoch(epoch, config.lr, recipe["step_size"], recipe["gamma"])
    return lr_at_epoch(epoch, config.epochs, config.lr, config.lr_min, config.warmup_epochs)


COMMON_SELECTION = {"level": "segment", "score": "type", "ties": "earlier"}
"""The one rule every run's test scores use: best validation segment Type@AV, strictly greater
(VALOR++'s; ``linkpaper.training.scoring.SELECTION_SCORE``)."""


def describe_selection(rule: dict) -> str:
    """``{"level": "event", "score": "audio", "ties": "later"}`` -> ``"val event-level audio, >="``."""
    return f"val {rule['level']}-level {rule['score']}, {'>=' if rule['ties'] == 'later' else '>'}"


def select_epoch(rule: dict, epochs: list[dict]) -> dict | None:
    """The epoch a selection rule picks from a run's history (``RunRecord.epochs``: each with
    ``epoch`` and ``val`` = {level: {score: F}}): {"rule", "best_epoch", "best_val"}, or None
    before the first epoch. ``ties`` "later" keeps the later of equal scores (the released
    ``>=``), "earlier" the first (``>``)."""
    best = None
    for entry in epochs:
        score = entry["val"][rule["level"]][rule["score"]]
        if best is None or score > best[0] or (rule["ties"] == "later" and score == best[0]):
            best = (score, entry)
    if best is None:
        return None
    return {"rule": describe_selection(rule), "best_epoch": best[1]["epoch"], "best_val": best[1]["val"]}


def method_record(model: str) -> dict:
    """What a run's ``results.json`` says about a method of the field (its ``method`` entry):
    name, paper, full recipe and both selection rules."""
    from linkpaper.models.registry import get_method

    method = get_method(model)
    recipe = method_recipe(model)
    recipe["betas"] = list(recipe["betas"])
    return {
        "name": method.name,
        "paper": method.paper,
        "recipe": recipe,
        "selection": {
            "common": describe_selection(COMMON_SELECTION),
            "published": describe_selection(method.selection) if method.selection else None,
        },
    }
