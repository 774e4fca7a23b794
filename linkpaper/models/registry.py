"""Every trainable method by name: the ablation grid (the paper's Table II) and the field before it.

    build_model("valor++")                 # the baseline, loads released VALOR++ checkpoints
    build_model("link", hidden_dim=64)     # TSAM + CMIM, S-LOSS, PLSIM; any ModelConfig field
    build_model("han", audio_dim=128, visual_dim=2048)   # HAN on its own feature release
    list_models()                          # the eight grid names, in table order
    list_methods()                         # han, mm-pyramid, jomold, leap
    get_method("jomold")                   # network, loss, recipe, selection rule and stages

"T" switches on TSAM and CMIM (the paper's TSAM section covers both), "S" S-LOSS, "P" PLSIM.

A :class:`Method` is a named config in the spirit of open_clip's model configs: its network
builder, its loss (a ``"module:function"`` path, resolved by the training code), its recipe
(``TrainConfig`` values plus the optimiser and learning-rate schedule, read by
``linkpaper.training.recipe``), its published checkpoint-selection rule and, for a multi-stage method,
the stage before it and the hand-over between them. The engine reads a method only through
these fields, so adding one touches its own files and one entry of :data:`METHODS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from linkpaper.errors import ConfigError
from linkpaper.models.config import ModelConfig
from linkpaper.models.han import HAN, HANConfig
from linkpaper.models.jomold import JoMoLD, JoMoLDConfig
from linkpaper.models.leap import LEAP, LEAPConfig
from linkpaper.models.link import LINK, LINK_ONLY_MODULES
from linkpaper.models.mm_pyramid import MMPyramid, MMPyramidConfig
from linkpaper.models.reference import glove_table, load_reference_checkpoint
from linkpaper.models.valor import VALORPlusPlus

__all__ = [
    "CONTROL_CONFIGS",
    "METHODS",
    "MODEL_CONFIGS",
    "Method",
    "build_model",
    "canonical_name",
    "get_method",
    "list_controls",
    "list_methods",
    "list_models",
    "load_reference_checkpoint",
    "load_valor_checkpoint",
    "model_config",
    "resolve",
    "variant_slug",
]

_T = {"use_tsam": True, "use_cmim": True}
_S = {"use_sloss": True}
_P = {"use_plsim": True}

MODEL_CONFIGS: dict[str, dict] = {
    "valor++": {},
    "+T": _T,
    "+S": _S,
    "+P": _P,
    "+T+S": {**_T, **_S},
    "+S+P": {**_S, **_P},
    "+T+P": {**_T, **_P},
    "link": {**_T, **_S, **_P},
}

CONTROL_CONFIGS: dict[str, dict] = {
    "+S/label": {**_S, "similarity_form": "off"},
    "+S/leap-mu1": {**_S, "similarity_form": "leap", "mu_init": 1.0, "freeze_mu": True},
    "+S/leap": {**_S, "similarity_form": "leap"},
    "+S/paper-mu1": {**_S, "mu_init": 1.0, "freeze_mu": True},
    "link/leap": {**_T, **_S, **_P, "similarity_form": "leap"},
    "valor++/weak": {"supervision": "weak"},
    "+P/self": {**_P, "plsim_labels": "self"},
}
"""Controls that separate LINK's S-LOSS from the prior work it builds on (not in the paper's tables):

* ``+S/label``: L_label alone, no similarity term;
* ``+S/leap-mu1``: LEAP's L_avss with mu frozen at 1 (lambda = 1): exactly the prior work's loss;
* ``+S/leap``: LEAP's form with the paper's adaptive weight lambda(s; mu);
* ``+S/paper-mu1``: the paper's form with mu frozen at 1 (lambda = 1);
* ``link/leap``: LINK with LEAP's form of the similarity term;
* ``valor++/weak``: VALOR++'s network trained on the weak labels only, with HAN's video-level
  terms (no pseudo label): what the teachers' pseudo labels add;
* ``+P/self``: PLSIM reading its own first pass at test time (``--plsim-labels self``), which
  separates the module from the teachers' test-time information.
"""

BOOK_CONTROLS = ("+S/label", "valor++/weak", "+P/self")
"""The controls the book's recipe grid trains beside Table II's eight (chapters 6, 7 and 9 read
them): ``--variants book`` is the eight and these three."""


def variant_plsim_labels(name: str) -> str | None:
    """The PLSIM label mode a named variant fixes (``+P/self`` -> ``"self"``), or None when the
    run's ``--plsim-labels`` decides."""
    settings = CONTROL_CONFIGS.get(canonical_name(name), {})
    return settings.get("plsim_labels")


ALIASES = {
    "valor++": "valor++",
    "valorpp": "valor++",
    "valor": "valor++",
    "link": "link",
    "+t+s+p": "link",
    "han": "han",
    "mm-pyramid": "mm-pyramid",
    "mmpyramid": "mm-pyramid",
    "mm_pyramid": "mm-pyramid",
    "mm-pyr": "mm-pyramid",
    "jomold": "jomold",
    "jomold/estimator": "jomold/estimator",
    "leap": "leap",
}


def list_models() -> list[str]:
    """The ablation-grid names in the order of the paper's Table II."""
    return list(MODEL_CONFIGS)


def list_controls() -> list[str]:
    """The control variants (``CONTROL_CONFIGS``): S-LOSS forms and frozen weights."""
    return list(CONTROL_CONFIGS)


def canonical_name(name: str) -> str:
    """ "VALOR++" -> "valor++", "LINK" -> "link", "+s+t" -> "+T+S", "+s/LEAP" -> "+S/leap";
    unknown -> ConfigError."""
    key = str(name).strip().replace(" ", "")
    controls = {c.lower(): c for c in CONTROL_CONFIGS}
    if key.lower() in controls:
        return controls[key.lower()]
    key = key.replace(",", "+")
    if key.lower() in ALIASES:
        return ALIASES[key.lower()]
    parts = [p.upper() for p in key.split("+")]
    if key.startswith("+") and parts[0] == "" and set(parts[1:]) <= {"T", "S", "P"} and len(parts) > 1:
        flags = set(parts[1:])
        canonical = "".join("+" + p for p in "TSP" if p in flags)
        return "link" if canonical == "+T+S+P" else canonical
    raise ConfigError(
        f"unknown model {name!r}; choose one of {', '.join(list_models())} (controls: {', '.join(list_controls())}; "
        f"the field: {', '.join(list_methods())})"
    )


def variant_slug(name: str) -> str:
    """The run-folder name of a variant (the grid's ``OUT/<slug>/seed<SEED>``): ``valor++`` -> ``valorpp``,
    ``+T+S`` -> ``valorpp_T_S``,
    ``+S/leap-mu1`` -> ``valorpp_S__leap_mu1``, ``link/leap`` -> ``link__leap``, ``valor++/weak`` ->
    ``valorpp__weak``, ``+P/self`` -> ``valorpp_P__self``."""
    base, _, control = name.partition("/")
    if base == "valor++":
        slug = "valorpp"
    elif base.startswith("+"):
        slug = "valorpp_" + "_".join(part for part in base.split("+") if part)
    else:
        slug = base.replace("+", "p")
    return slug + ("__" + control.replace("-", "_") if control else "")


def model_config(name: str, **overrides):
    """The config of a named model with ``overrides`` applied (strings are parsed): a
    ModelConfig for the grid's variants and controls, the method's own config dataclass
    (``HANConfig``, ``MMPyramidConfig``, ``JoMoLDConfig``, ``LEAPConfig``) for the field."""
    name = canonical_name(name)
    if name in MODEL_CONFIGS or name in CONTROL_CONFIGS:
        config_class, settings = ModelConfig, {**(MODEL_CONFIGS.get(name) or CONTROL_CONFIGS.get(name, {}))}
    else:
        config_class, settings = METHODS[name].config, {**METHODS[name].settings}
    known = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown model option(s) {', '.join(unknown)}; valid {config_class.__name__} fields: {', '.join(known)}"
        )
    for key, value in overrides.items():
        settings[key] = _parse(key, known[key].type, value)
    return config_class(**settings)


def _parse(key: str, kind: str, value):
    """Accept CLI strings ("64", "true") for typed fields; anything else passes to validation."""
    if not isinstance(value, str) or kind == "str":
        return float(value) if kind == "float" and isinstance(value, int) and not isinstance(value, bool) else value
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool" and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
    except ValueError:
        pass
    raise ConfigError(f"model option {key}: cannot read {value!r} as {kind}")


def build_model(name: str = "valor++", **overrides) -> torch.nn.Module:
    """A fresh model of a named variant or method. VALOR++ when no LINK part is on, LINK
    otherwise; for the field, the method's network (LEAP's with its GloVe class table)."""
    config = model_config(name, **overrides)
    if isinstance(config, ModelConfig):
        return VALORPlusPlus(config) if config.is_valor else LINK(config)
    method = METHODS[canonical_name(name)]
    model = method.network(config)
    if method.needs_label_table:
        model.set_label_table(glove_table())
    return model


# --------------------------------------------------------------------------------------------
# Methods: a network, its loss, its recipe, its selection rule, its stages (one name each)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    """One trainable method (``python -m linkpaper train --model NAME``).

    network / config / settings: the network class, its config dataclass and the entry's field
    values (the grid's variants use ``ModelConfig`` switches instead, see ``MODEL_CONFIGS``).
    loss: ``"module:function"``, called as ``loss(model, output, batch) -> {term: scalar,
    "total": scalar}``. recipe: ``TrainConfig`` values (epochs, batch_size, lr, betas, eps,
    weight_decay, clip_norm (None: no clipping), warmup_epochs) plus ``optimizer`` ("adamw" |
    "adam") and ``schedule`` ("warmup-cosine" | "step", with ``step_size`` and ``gamma``); an
    empty recipe is VALOR++'s (TrainConfig's defaults). selection: the method's published
    checkpoint rule, ``{"level", "score", "ties"}`` ("later": >=, "earlier": >), recorded beside
    the common one (None: the common rule is the method's own). previous_stage / hand_over: a
    method trained first, and ``"module:function"`` called as ``hand_over(previous model, data,
    config) -> (prepare(model), info)`` before this one trains.
    """

    name: str
    paper: str
    loss: str
    network: Callable | None = None
    config: type | None = None
    settings: dict = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)
    selection: dict | None = None
    previous_stage: str | None = None
    hand_over: str | None = None
    needs_label_table: bool = False

    def loss_function(self) -> Callable:
        """The loss this method trains with (``loss`` resolved)."""
        return resolve(self.loss)

    def hand_over_function(self) -> Callable | None:
        """The hand-over from ``previous_stage`` (``hand_over`` resolved), or None."""
        return resolve(self.hand_over) if self.hand_over else None

    @property
    def is_grid_variant(self) -> bool:
        """True for VALOR++, the LINK variants and the controls (ModelConfig switches, PLSIM)."""
        return self.network is None


_VALOR_PAPER = "Lai et al., NeurIPS 2023 (VALOR++); Wang et al., arXiv 2412.20872 (LINK)"
_ADAM = {
    "optimizer": "adam",
    "betas": (0.9, 0.999),
    "eps": 1e-8,
    "weight_decay": 0.0,
    "clip_norm": None,
    "schedule": "step",
    "warmup_epochs": 0,
}
_TYPE_AT_AV = {"level": "segment", "score": "type", "ties": "later"}

METHODS: dict[str, Method] = {
    **{
        name: Method(name, _VALOR_PAPER, "linkpaper.losses:compute_losses")
        for name in (*MODEL_CONFIGS, *CONTROL_CONFIGS)
    },
    "han": Method(
        "han",
        "Tian et al., ECCV 2020",
        "linkpaper.methods.han:han_losses",
        HAN,
        HANConfig,
        recipe={**_ADAM, "lr": 3e-4, "step_size": 10, "gamma": 0.1, "epochs": 40, "batch_size": 16},
        selection=_TYPE_AT_AV,
    ),
    "mm-pyramid": Method(
        "mm-pyramid",
        "Yu et al., ACM MM 2022",
        "linkpaper.methods.han:han_losses",
        MMPyramid,
        MMPyramidConfig,
        recipe={**_ADAM, "lr": 1e-4, "step_size": 10, "gamma": 0.1, "epochs": 40, "batch_size": 16},
        selection=_TYPE_AT_AV,
    ),
    "jomold/estimator": Method(
        "jomold/estimator",
        "Cheng et al., ECCV 2022 (stage 1)",
        "linkpaper.methods.jomold:estimator_losses",
        JoMoLD,
        JoMoLDConfig,
        settings={"cross_attention": False},
        recipe={**_ADAM, "lr": 5e-4, "step_size": 6, "gamma": 0.25, "epochs": 25, "batch_size": 128},
        selection={"level": "event", "score": "audio", "ties": "later"},
    ),
    "jomold": Method(
        "jomold",
        "Cheng et al., ECCV 2022",
        "linkpaper.methods.jomold:denoising_losses",
        JoMoLD,
        JoMoLDConfig,
        recipe={**_ADAM, "lr": 5e-4, "step_size": 6, "gamma": 0.25, "epochs": 25, "batch_size": 128},
        selection={"level": "event", "score": "audio", "ties": "later"},
        previous_stage="jomold/estimator",
        hand_over="linkpaper.methods.jomold:hand_over",
    ),
    "leap": Method(
        "leap",
        "Zhou et al., ECCV 2024",
        "linkpaper.methods.leap:leap_losses",
        LEAP,
        LEAPConfig,
        recipe={**_ADAM, "lr": 1e-4, "step_size": 10, "gamma": 0.1, "epochs": 30, "batch_size": 32},
        selection=_TYPE_AT_AV,
        needs_label_table=True,
    ),
}
"""Every trainable name -> its :class:`Method` (recipes: ``book/decisions.md#method-field``)."""


def resolve(path: str) -> Callable:
    """``"package.module:function"`` -> the function (imported on first use, so the registry
    names training code without importing it)."""
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def list_methods() -> list[str]:
    """The field's methods, in the order of their lineage (stages not listed)."""
    return ["han", "mm-pyramid", "jomold", "leap"]


def get_method(name: str) -> Method:
    """The :class:`Method` of a model name (any spelling ``canonical_name`` accepts)."""
    return METHODS[canonical_name(name)]


def load_valor_checkpoint(model: torch.nn.Module, source) -> list[str]:
    """Load a released VALOR++ ``checkpoint_best.pt`` (a path or a state dict) into ``model``.

    Strict for every VALOR++ tensor; the LINK-only parameters (TSAM, CMIM, PLSIM, mu) keep
    their initial values. Returns the names of the parameters that were not loaded.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"VALOR checkpoint {path}: no such file")
        from linkpaper.safe_io import safe_torch_load  # weights only: loading never runs code

        state = safe_torch_load(
            path,
            what="VALOR checkpoint",
            remedy="Use the released VALOR++ checkpoint_best.pt or a linkpaper checkpoint.",
        )
    else:
        path, state = "<state dict>", source
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        found = type(state).__name__ if not isinstance(state, dict) else "a dict with non-tensor entries"
        raise ConfigError(
            f"VALOR checkpoint {path}: expected a state dict of tensors (or {{'model': state dict}}), found {found}"
        )
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in state if k in own and tuple(state[k].shape) != tuple(own[k].shape))
    missing = sorted(k for k in own if k not in state)
    missing_valor = [k for k in missing if k.split(".")[0] not in LINK_ONLY_MODULES]
    if unexpected or wrong or missing_valor:
        details = []
        if unexpected:
            details.append(f"unexpected keys {unexpected[:8]}")
        if wrong:
            pairs = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in wrong[:8]]
            details.append("shape mismatch " + ", ".join(pairs))
        if missing_valor:
            details.append(f"missing VALOR++ keys {missing_valor[:8]}")
        raise ConfigError(
            f"VALOR checkpoint {path} does not fit this model ({'; '.join(details)}); check hidden_dim, "
            "num_layers and the input dims of the model config"
        )
    model.load_state_dict(state, strict=False)
    return missing
