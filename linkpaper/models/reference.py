"""Released checkpoints of HAN, MM-Pyramid, JoMoLD and LEAP, read in their own parameter names.

    model = load_reference_checkpoint("mm-pyramid", "MMPyramid.pt")   # eval mode

Each released network names its parameters after its own module tree (``MMP.capture.msa.0.
vsablock.layer.self_attn.linears.0.weight``); ours are named after what they are
(``encoder.levels.0.visual_self.attn.q.weight``). :data:`RENAMES` maps one onto the other,
rule by rule. The load is a bijection: every parameter of our network receives exactly one
released tensor, and every released tensor is either used, one of the modules the released
network builds but never calls (:data:`UNUSED`; ``book/decisions.md#method-reference-checkpoints``),
or a second name of a tensor already used (:data:`ALIASES`, checked equal).
Input widths (VGGish 128 or CLAP 768, ResNet-152 2048 or CLIP 768) are read from the
checkpoint, so a released HAN-feature checkpoint builds a HAN-feature network.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from linkpaper.errors import ConfigError

METHODS = ("han", "mm-pyramid", "jomold", "leap")

_LAYER = [  # inside one MM-Pyramid / LEAP attention layer
    (r"\.self_attn\.linears\.0\.", ".attn.q."),
    (r"\.self_attn\.linears\.1\.", ".attn.k."),
    (r"\.self_attn\.linears\.2\.", ".attn.v."),
    (r"\.self_attn\.linears\.3\.", ".attn.out."),
    (r"\.feed_forward\.w_1\.", ".ffn.fc1."),
    (r"\.feed_forward\.w_2\.", ".ffn.fc2."),
    (r"\.sublayer\.0\.norm\.", ".norm1."),
    (r"\.sublayer\.1\.norm\.", ".norm2."),
]
_PYRAMID = [
    (r"^MMP\.capture\.msa\.(\d+)\.vsablock\.layer\.", r"encoder.levels.\1.visual_self."),
    (r"^MMP\.capture\.msa\.(\d+)\.asablock\.layer\.", r"encoder.levels.\1.audio_self."),
    (r"^MMP\.capture\.msa\.(\d+)\.cmablock\.layer\.", r"encoder.levels.\1.cross."),
    (r"^MMP\.capture\.msa\.(\d+)\.l([va])([12])\.", r"encoder.levels.\1.gate_\2\3."),
    (r"^MMP\.capture\.vnetwork\.(\d+)\.conv([12])\.", r"encoder.levels.\1.conv_v.conv\2."),
    (r"^MMP\.capture\.anetwork\.(\d+)\.conv([12])\.", r"encoder.levels.\1.conv_a.conv\2."),
    (r"^MMP\.fusion\.vadaptiveinteraction\.", "encoder.fusion_v."),
    (r"^MMP\.fusion\.aadaptiveinteraction\.", "encoder.fusion_a."),
    (r"^MMP\.fusion\.([va])selectfusion\.", r"encoder.select_\1."),
]
_LEAP = [
    (r"^fc_l\.", "fc_label."),
    (r"^fc_la\.", "fc_audio_class."),
    (r"^fc_lv\.", "fc_visual_class."),
    (r"^AVL\.lv_cma_network\.(\d+)\.", r"visual_decoder.\1."),
    (r"^AVL\.la_cma_network\.(\d+)\.", r"audio_decoder.\1."),
]
RENAMES: dict[str, list[tuple[str, str]]] = {
    "han": [],  # HAN's and JoMoLD's names are ours
    "jomold": [],
    "mm-pyramid": _PYRAMID + _LAYER,
    "leap": _PYRAMID + _LEAP + _LAYER,
}
"""Released name -> our name: ``re.sub`` rules applied in order."""

_UNUSED_PYRAMID = [r"^MMP\.(capture|fusion)\.(multiheadattn|feedforward)\.", r"\.self_attn\.layer_norm\."]
UNUSED: dict[str, list[str]] = {
    "han": [r"^(audio_encoder|visual_encoder|cmt_encoder)\."],
    "jomold": [],
    "mm-pyramid": _UNUSED_PYRAMID,
    "leap": _UNUSED_PYRAMID + [r"^AVL\.(multiheadattn|feedforward)\."],
}
"""Modules the released network builds but never calls in ``forward``: their tensors are read and ignored."""

_CONV_ALIAS = (
    r"^MMP\.capture\.([va])network\.(\d+)\.net\.([02])\.",
    lambda m: f"MMP.capture.{m[1]}network.{m[2]}.conv{1 if m[3] == '0' else 2}.",
)
ALIASES: dict[str, list] = {"han": [], "jomold": [], "mm-pyramid": [_CONV_ALIAS], "leap": [_CONV_ALIAS]}
"""Second names of one tensor (a temporal block's convolutions are also saved inside its ``net``)."""


def reference_to_ours(method: str, state: dict) -> tuple[dict, list[str], list[str]]:
    """(our state dict, unused released keys, alias keys) of a released state dict; raises
    ConfigError for an alias that differs from its tensor."""
    ours, unused, aliases = {}, [], []
    for key, tensor in state.items():
        if any(re.search(pattern, key) for pattern in UNUSED[method]):
            unused.append(key)
            continue
        alias = next((re.sub(p, r, key) for p, r in ALIASES[method] if re.search(p, key)), None)
        if alias is not None:
            if alias not in state or not torch.equal(state[alias], tensor):
                raise ConfigError(
                    f"{method} checkpoint: {key} should repeat {alias}, but "
                    f"{'that key is missing' if alias not in state else 'their values differ'}"
                )
            aliases.append(key)
            continue
        name = key
        for pattern, replacement in RENAMES[method]:
            name = re.sub(pattern, replacement, name)
        if name in ours:
            raise ConfigError(f"{method} checkpoint: two released tensors map to {name}")
        ours[name] = tensor
    return ours, unused, aliases


def _config_from_state(method: str, state: dict, overrides: dict):
    """The method's config with the widths and depths the released tensors imply."""
    from linkpaper.models.han import HANConfig
    from linkpaper.models.jomold import JoMoLDConfig
    from linkpaper.models.leap import LEAPConfig
    from linkpaper.models.mm_pyramid import MMPyramidConfig

    def width(key, axis):
        if key not in state:
            raise ConfigError(f"{method} checkpoint: no {key} (is this a {method} checkpoint?)")
        return int(state[key].shape[axis])

    dims = {
        "hidden_dim": width("fc_fusion.weight", 0),
        "audio_dim": width("fc_a.weight", 1),
        "visual_dim": width("fc_v.weight", 1),
        "visual_3d_dim": width("fc_st.weight", 1),
    }
    if method in ("han", "jomold"):
        dims["num_layers"] = len({k.split(".")[2] for k in state if k.startswith("hat_encoder.layers.")})
        dims["ff_dim"] = width("hat_encoder.layers.0.linear1.weight", 0)
        return (HANConfig if method == "han" else JoMoLDConfig)(**{**dims, **overrides})
    dims["num_levels"] = len({k.split(".")[3] for k in state if k.startswith("MMP.capture.msa.")})
    dims["ff_dim"] = width("MMP.capture.msa.0.vsablock.layer.feed_forward.w_1.weight", 0)
    if method == "mm-pyramid":
        return MMPyramidConfig(**{**dims, "released_stream_order": True, **overrides})
    dims["label_dim"] = width("fc_l.weight", 1)
    dims["decoder_layers"] = len({k.split(".")[2] for k in state if k.startswith("AVL.lv_cma_network.")})
    return LEAPConfig(**{**dims, **overrides})


def _read_state(path) -> tuple[str, dict]:
    if isinstance(path, dict):
        return "<state dict>", path
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"reference checkpoint {path}: no such file")
    from linkpaper.safe_io import safe_torch_load  # weights only: loading never runs code

    state = safe_torch_load(
        path, what="reference checkpoint", remedy="Use the checkpoint the method's released code saved (a state dict)."
    )
    return str(path), state


def glove_table() -> torch.Tensor:
    """LEAP's (25, 300) GloVe class table from the data folder (``book/decisions.md#ref-leap-glove``)."""
    from linkpaper.data.files import annotation_path
    from linkpaper.data.text_tables import load_text_table

    return torch.as_tensor(load_text_table(annotation_path("glove"))[0], dtype=torch.float32)


def load_reference_checkpoint(method: str, path, label_table=None, **overrides):
    """The network of ``method`` ("han", "mm-pyramid", "jomold", "leap") with the weights of a
    checkpoint its released code saved (a path or a state dict; JoMoLD's ``{'model': ...}``
    wrapper and DataParallel's ``module.`` prefix are accepted), in eval mode.

    LEAP's class table is an input of the released network, not a weight: pass ``label_table``
    (C, label_dim), or LEAP's GloVe table is read from the data folder. ``overrides`` set
    config fields the checkpoint does not determine (dropout, audio_path, ...).
    """
    from linkpaper.models.han import HAN
    from linkpaper.models.jomold import JoMoLD
    from linkpaper.models.leap import LEAP
    from linkpaper.models.mm_pyramid import MMPyramid

    if method not in METHODS:
        raise ConfigError(f"load_reference_checkpoint: unknown method {method!r}; choose one of {', '.join(METHODS)}")
    where, state = _read_state(path)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{method} checkpoint {where}: expected a state dict of tensors (or {{'model': state dict}})")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    config = _config_from_state(method, state, overrides)
    model = {"han": HAN, "jomold": JoMoLD, "mm-pyramid": MMPyramid, "leap": LEAP}[method](config)
    mapped, _, _ = reference_to_ours(method, state)
    own = model.state_dict()
    expected = set(own) - set(OWN_ONLY.get(method, ()))
    missing, unexpected = sorted(expected - set(mapped)), sorted(set(mapped) - expected)
    wrong = sorted(k for k in set(mapped) & expected if tuple(mapped[k].shape) != tuple(own[k].shape))
    if missing or unexpected or wrong:
        details = [
            f"{label} {keys[:4]}"
            for label, keys in (
                ("our parameters with no released tensor", missing),
                ("released tensors with no place", unexpected),
                ("shape mismatch", wrong),
            )
            if keys
        ]
        raise ConfigError(f"{method} checkpoint {where} does not fit ({'; '.join(details)})")
    model.load_state_dict(mapped, strict=False)
    if method == "leap":
        model.set_label_table(glove_table() if label_table is None else label_table)
    return model.eval()


OWN_ONLY = {
    "jomold": ("noise_ratio_audio", "noise_ratio_visual", "denoise_warmup_steps", "denoise_step"),
    "leap": ("label_table", "table_set"),
}
"""Our buffers that are not weights of the released network (JoMoLD's stage-3 state, LEAP's class table)."""
