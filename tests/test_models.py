"""VALOR++: released-checkpoint compatibility, parameter count, audio paths, registry, errors."""

import pytest
import torch
import torch.nn.functional as F
from helpers_sizes import SMALL_MODEL as SMALL

from linkpaper.errors import ConfigError, UserError
from linkpaper.models import (
    AVVPOutput,
    InputShapeError,
    ModelConfig,
    VALORPlusPlus,
    audio_pooling_matrix,
    build_model,
    canonical_name,
    list_models,
    load_valor_checkpoint,
    pool_audio_maps,
)
from linkpaper.models.audio_pooling import reference_audio_embedding


def reference_state_shapes(H=256, ff=1024, layers=4, da=768, dv=768, d3=512, C=25) -> dict:
    """Key -> shape of a released VALOR++ ``checkpoint_best.pt`` (``MMIL_Net.state_dict()``).

    Written out from the module tree of MMIL_Net in Franklin905/VALOR main_network.py
    (commit f20c7c57): three heads, four input projections, ``hat_encoder`` = Encoder with
    ``layers`` (HANLayer: self_attn, cm_attn, linear1, linear2, norm1, norm2) and two final norms.
    """
    shapes = {}
    for name, (out_dim, in_dim) in {
        "fc_prob": (C, H),
        "fc_frame_att": (C, H),
        "fc_av_att": (C, H),
        "fc_a": (H, da),
        "fc_v": (H, dv),
        "fc_st": (H, d3),
        "fc_fusion": (H, 2 * H),
    }.items():
        shapes[f"{name}.weight"] = (out_dim, in_dim)
        shapes[f"{name}.bias"] = (out_dim,)
    for i in range(layers):
        p = f"hat_encoder.layers.{i}."
        for attn in ("self_attn", "cm_attn"):
            shapes[p + attn + ".in_proj_weight"] = (3 * H, H)
            shapes[p + attn + ".in_proj_bias"] = (3 * H,)
            shapes[p + attn + ".out_proj.weight"] = (H, H)
            shapes[p + attn + ".out_proj.bias"] = (H,)
        shapes[p + "linear1.weight"] = (ff, H)
        shapes[p + "linear1.bias"] = (ff,)
        shapes[p + "linear2.weight"] = (H, ff)
        shapes[p + "linear2.bias"] = (H,)
        for norm in ("norm1", "norm2"):
            shapes[p + norm + ".weight"] = (H,)
            shapes[p + norm + ".bias"] = (H,)
    for norm in ("final_norm_a", "final_norm_v"):
        shapes[f"hat_encoder.{norm}.weight"] = (H,)
        shapes[f"hat_encoder.{norm}.bias"] = (H,)
    return shapes


def random_reference_state(seed=0, **dims) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=gen) * 0.05 for k, shape in reference_state_shapes(**dims).items()}


def inputs(batch=2, audio_tokens=64, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, audio_tokens, 768, generator=gen).to(dtype),
        torch.randn(batch, 10, 768, generator=gen).to(dtype),
        torch.randn(batch, 10, 512, generator=gen).to(dtype),
    )


def test_parameter_count_is_valor_plus_plus():
    model = build_model("valor++")
    assert sum(p.numel() for p in model.parameters()) == 4_888_395
    assert type(model) is VALORPlusPlus and model.config == ModelConfig()


def test_state_dict_matches_released_checkpoint_layout_and_loads_strictly(tmp_path):
    model = build_model("valor++")
    expected = reference_state_shapes()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == expected
    state = random_reference_state()
    path = tmp_path / "checkpoint_best.pt"
    torch.save(state, path)
    model.load_state_dict(torch.load(path))  # strict, as VALOR's own test mode does
    assert torch.equal(
        model.hat_encoder.layers[3].cm_attn.in_proj_weight, state["hat_encoder.layers.3.cm_attn.in_proj_weight"]
    )


@pytest.mark.parametrize("name", ["+S", "link"])
def test_released_weights_load_into_link_variants(tmp_path, name):
    state = random_reference_state(seed=1)
    path = tmp_path / "checkpoint_best.pt"
    torch.save(state, path)
    model = build_model(name)
    expected_new = {"+S": {"sloss_mu"}, "link": {"tsam_audio", "tsam_visual", "cmim", "plsim", "sloss_mu"}}
    not_loaded = load_valor_checkpoint(model, path)
    assert not_loaded and {k.split(".")[0] for k in not_loaded} == expected_new[name]
    own = model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items())


def test_checkpoint_of_another_size_is_refused_with_names():
    state = random_reference_state(H=32, ff=64, layers=2)
    with pytest.raises(
        ConfigError, match=r"shape mismatch .*fc_a.weight \(32, 768\) vs \(256, 768\).*missing VALOR\+\+ keys"
    ):
        load_valor_checkpoint(build_model("link"), state)
    with pytest.raises(ConfigError, match="unexpected keys"):
        load_valor_checkpoint(build_model("valor++", **SMALL), {**state, "extra.weight": torch.zeros(1)})
    with pytest.raises(ConfigError, match="no such file"):
        load_valor_checkpoint(build_model("valor++", **SMALL), "/nonexistent/checkpoint_best.pt")


@pytest.mark.parametrize("tokens", [64, 10])
def test_output_shapes_and_ranges(tokens):
    torch.manual_seed(0)
    model = build_model("valor++", **SMALL)
    out = model(*inputs(batch=3, audio_tokens=tokens))
    assert isinstance(out, AVVPOutput) and out.diagnostics == {}
    for name in ("global_prob", "a_prob", "v_prob"):
        value = getattr(out, name)
        assert value.shape == (3, 25) and value.min() >= 0 and value.max() <= 1 + 1e-6
    assert out.frame_prob.shape == out.frame_logits.shape == (3, 10, 2, 25)
    assert torch.allclose(out.frame_prob, torch.sigmoid(out.frame_logits))
    assert out.audio_hidden.shape == out.visual_hidden.shape == (3, 10, 32)
    # Modality attention weights are at most 1, so the fused probability is bounded by the sum.
    assert torch.all(out.global_prob <= out.a_prob + out.v_prob + 1e-6)


def test_pooling_matrix_rows_sum_to_one_and_follow_the_token_layout():
    matrix = audio_pooling_matrix(10, torch.float64)
    assert matrix.shape == (10, 64)
    assert torch.allclose(matrix.sum(dim=1), torch.ones(10, dtype=torch.float64), atol=1e-12)
    # Frequency-group-major: token g*32 + k gets the same weight in both groups (mean of 2).
    assert torch.allclose(matrix[:, :32], matrix[:, 32:], atol=0)
    # Early segments read early time steps, late segments late ones.
    assert matrix[0, :4].sum() > 0.5 * matrix[0, :32].sum() * 2 / 2 and matrix[0, 28:32].abs().sum() < 1e-3
    assert matrix[9, 28:32].sum() > matrix[9, :4].abs().sum()


def test_fast_audio_path_equals_reference_path():
    torch.manual_seed(0)
    fc_a = torch.nn.Linear(768, 32)
    maps, _, _ = inputs(batch=2, audio_tokens=64, seed=3)
    fast32 = fc_a(pool_audio_maps(maps))
    slow32 = reference_audio_embedding(maps, fc_a)
    assert (fast32 - slow32).abs().max() < 1e-5
    fc_a64 = fc_a.double()
    fast64 = fc_a64(pool_audio_maps(maps.double()))
    slow64 = reference_audio_embedding(maps.double(), fc_a64)
    assert (fast64 - slow64).abs().max() < 1e-12
    # Same function, so the same gradient for fc_a.
    fast64.square().sum().backward()
    grad_fast = fc_a64.weight.grad.clone()
    fc_a64.weight.grad = None
    slow64.square().sum().backward()
    assert torch.allclose(grad_fast, fc_a64.weight.grad, atol=1e-9)


def test_model_audio_paths_agree():
    torch.manual_seed(0)
    fast = build_model("valor++", **SMALL).eval()
    slow = build_model("valor++", audio_path="reference", **SMALL).eval()
    slow.load_state_dict(fast.state_dict())
    data = inputs(batch=2, seed=4)
    assert (fast(*data).frame_prob - slow(*data).frame_prob).abs().max() < 1e-5
    # Pre-pooled features through fc_a give the same model output as the maps.
    pooled = (pool_audio_maps(data[0]),) + data[1:]
    assert (fast(*pooled).global_prob - fast(*data).global_prob).abs().max() < 1e-6


def test_resnet_frames_are_averaged_per_segment():
    torch.manual_seed(0)
    model = build_model("valor++", **SMALL)
    frames = torch.randn(2, 80, 768)
    clip3d = torch.randn(2, 10, 512)
    x_v = model.embed_visual(frames, clip3d)
    per_segment = model.fc_v(frames).reshape(2, 10, 8, 32).mean(2)
    expected = model.fc_fusion(torch.cat([per_segment, model.fc_st(clip3d)], -1))
    assert torch.allclose(x_v, expected, atol=1e-6)


def test_encoder_shares_layers_between_modalities_and_updates_audio_first():
    torch.manual_seed(0)
    model = build_model("valor++", **SMALL).eval()
    x_a, x_v = torch.randn(2, 10, 32), torch.randn(2, 10, 32)
    h_a, h_v = model.hat_encoder(x_a, x_v)
    a, v = x_a, x_v
    for layer in model.hat_encoder.layers:
        a = layer(a, v)
        v = layer(v, a)  # the visual stream attends to the already-updated audio
    assert torch.equal(h_a, a) and torch.equal(h_v, v)
    # VALOR clones one initialised layer: all layers start equal.
    l0, l1 = model.hat_encoder.layers
    assert all(torch.equal(p, q) for p, q in zip(l0.parameters(), l1.parameters()))


def test_same_seed_same_model_and_outputs():
    results = []
    for _ in range(2):
        torch.manual_seed(87)
        model = build_model("link", **SMALL)
        model.set_text_tables(torch.ones(25, 300), torch.ones(25, 300))
        torch.manual_seed(1)
        labels = torch.randint(0, 2, (2, 10, 25))
        results.append(model(*inputs(), plsim_audio=labels, plsim_visual=labels).global_prob)
    assert torch.equal(results[0], results[1])


def test_registry_names_aliases_and_overrides():
    assert list_models() == ["valor++", "+T", "+S", "+P", "+T+S", "+S+P", "+T+P", "link"]
    assert canonical_name("VALOR++") == "valor++" and canonical_name("LINK") == "link"
    assert canonical_name("+s+t") == "+T+S" and canonical_name("+P+T+S") == "link"
    config = build_model("+T", **SMALL).config
    assert config.use_tsam and config.use_cmim and not config.use_sloss and not config.use_plsim
    assert build_model("link", **SMALL).config.variant == "link"
    assert build_model("+S+P", **SMALL).config.variant == "+S+P"
    tsam_only = build_model("valor++", use_tsam=True, **SMALL)
    assert hasattr(tsam_only, "tsam_audio") and not hasattr(tsam_only, "cmim") and tsam_only.config.variant == "custom"
    # CLI strings are parsed by field type.
    parsed = build_model("valor++", hidden_dim="32", num_heads="4", ff_dim="64", num_layers="1", dropout="0").config
    assert parsed.hidden_dim == 32 and parsed.dropout == 0.0 and parsed.num_layers == 1


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("valor+++", {}, "unknown model 'valor\\+\\+\\+'; choose one of valor\\+\\+, \\+T"),
        ("+X", {}, "unknown model"),
        ("valor++", {"hiden_dim": 32}, "unknown model option\\(s\\) hiden_dim; valid ModelConfig fields: hidden_dim"),
        ("valor++", {"hidden_dim": 30}, "hidden_dim=30 is not divisible by num_heads=8"),
        ("valor++", {"hidden_dim": "big"}, "hidden_dim: cannot read 'big' as int"),
        ("valor++", {"dropout": 1.5}, "dropout: must be in \\[0, 1\\)"),
        ("+P", {"plsim_labels": "oracle"}, "plsim_labels: unknown mode 'oracle'; choose one of ungated, self, gated"),
        ("valor++", {"audio_path": "slow"}, "audio_path: unknown 'slow'"),
        ("valor++", {"use_tsam": "maybe"}, "use_tsam: cannot read 'maybe' as bool"),
    ],
)
def test_bad_configs_raise_clear_errors(name, overrides, message):
    with pytest.raises(ConfigError, match=message):
        build_model(name, **overrides)


def test_bad_input_shapes_raise_user_errors():
    model = build_model("valor++", **SMALL)
    audio, visual, visual_3d = inputs()
    with pytest.raises(InputShapeError, match=r"audio features: expected \(B, 64, 768\).*got \(2, 32, 768\)"):
        model(audio[:, :32], visual, visual_3d)
    with pytest.raises(InputShapeError, match=r"3-D visual features: expected \(2, 10, 512\), got \(2, 10, 500\)"):
        model(audio, visual, visual_3d[..., :500])
    assert issubclass(InputShapeError, UserError)
    with pytest.raises(ConfigError, match="model without PLSIM"):
        model(audio, visual, visual_3d, plsim_audio=torch.zeros(2, 10, 25))


def test_reference_path_is_the_literal_valor_recipe():
    """The slow path reproduces the described op sequence on a hand-built input."""
    fc_a = torch.nn.Linear(768, 4).double()
    maps = torch.randn(1, 64, 768, dtype=torch.float64)
    grid = maps.transpose(1, 2).reshape(1, 768, 2, 32)
    up = F.interpolate(grid, size=(2, 1024), mode="bicubic", align_corners=False)
    projected = fc_a(up.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).mean(dim=2)  # (1, 4, 1024)
    expected = F.adaptive_avg_pool1d(projected, 10).permute(0, 2, 1)
    assert torch.allclose(reference_audio_embedding(maps, fc_a), expected, atol=1e-12)
