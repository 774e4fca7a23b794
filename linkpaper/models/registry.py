"""Build any model of the ablation grid by name (the paper's Table II).

    build_model("valor++")                 # the baseline, loads released VALOR++ checkpoints
    build_model("link", hidden_dim=64)     # TSAM + CMIM, S-LOSS, PLSIM; any ModelConfig field
    list_models()                          # the eight grid names, in table order

"T" switches on TSAM and CMIM (the paper's TSAM section covers both), "S" S-LOSS, "P" PLSIM.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from linkpaper.errors import ConfigError
from linkpaper.models.config import ModelConfig
from linkpaper.models.link import LINK, LINK_ONLY_MODULES
from linkpaper.models.valor import VALORPlusPlus

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


def variant_plsim_labels(name: str) -> str | None:
    """The PLSIM label mode a named variant fixes (``+P/self`` -> ``"self"``), or None when the
    run's ``--plsim-labels`` decides."""
    settings = CONTROL_CONFIGS.get(canonical_name(name), {})
    return settings.get("plsim_labels")

ALIASES = {"valor++": "valor++", "valorpp": "valor++", "valor": "valor++", "link": "link", "+t+s+p": "link"}


def list_models() -> list[str]:
    """The ablation-grid names in the order of the paper's Table II."""
    return list(MODEL_CONFIGS)


def list_controls() -> list[str]:
    """The control variants (``CONTROL_CONFIGS``): S-LOSS forms and frozen weights."""
    return list(CONTROL_CONFIGS)


def canonical_name(name: str) -> str:
    """"VALOR++" -> "valor++", "LINK" -> "link", "+s+t" -> "+T+S", "+s/LEAP" -> "+S/leap";
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
        f"unknown model {name!r}; choose one of {', '.join(list_models())} (controls: {', '.join(list_controls())})"
    )


def variant_slug(name: str) -> str:
    """The run-folder name of a variant (the grid's ``OUT/<slug>/seed<SEED>``): ``valor++`` -> ``valorpp``, ``+T+S`` -> ``valorpp_T_S``,
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


def model_config(name: str, **overrides) -> ModelConfig:
    """The ModelConfig of a named variant with ``overrides`` applied (strings are parsed)."""
    name = canonical_name(name)
    settings = {**(MODEL_CONFIGS[name] if name in MODEL_CONFIGS else CONTROL_CONFIGS[name])}
    known = {f.name: f for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown model option(s) {', '.join(unknown)}; valid ModelConfig fields: {', '.join(known)}"
        )
    for key, value in overrides.items():
        settings[key] = _parse(key, known[key].type, value)
    return ModelConfig(**settings)


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
    """A fresh model of a named variant. VALOR++ when no LINK part is on, LINK otherwise."""
    config = model_config(name, **overrides)
    return VALORPlusPlus(config) if config.is_valor else LINK(config)


def load_valor_checkpoint(model: torch.nn.Module, source) -> list[str]:
    """Load a released VALOR++ ``checkpoint_best.pt`` (a path or a state dict) into ``model``.

    Strict for every VALOR++ tensor; the LINK-only parameters (TSAM, CMIM, PLSIM, mu) keep
    their initial values. Returns the names of the parameters that were not loaded.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"VALOR checkpoint {path}: no such file")
        from linkpaper.records import safe_torch_load  # weights only: loading never runs code

        state = safe_torch_load(path, what="VALOR checkpoint",
                                remedy="Use the released VALOR++ checkpoint_best.pt or a linkpaper checkpoint.")
    else:
        path, state = "<state dict>", source
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        found = type(state).__name__ if not isinstance(state, dict) else "a dict with non-tensor entries"
        raise ConfigError(f"VALOR checkpoint {path}: expected a state dict of tensors (or {{'model': state dict}}), "
                          f"found {found}")
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
