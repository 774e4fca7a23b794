"""HAN, MM-Pyramid, JoMoLD and LEAP: shapes, gradients, each loss on a hand-made batch, JoMoLD's stages."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from linkpaper.errors import ConfigError, UserError
from linkpaper.methods.han import han_losses
from linkpaper.methods.jomold import (
    begin_denoising,
    contrastive_loss,
    denoising_losses,
    drop_noisy_labels,
    estimate_noise_ratios,
    estimator_losses,
    warmed_up_ratios,
)
from linkpaper.methods.leap import leap_losses
from linkpaper.models.han import HAN, HAN_RELEASE_INPUTS, HANConfig
from linkpaper.models.jomold import JoMoLD, JoMoLDConfig
from linkpaper.models.leap import LEAP, LEAPConfig
from linkpaper.models.mm_pyramid import MMPyramid, MMPyramidConfig

SMALL = {"hidden_dim": 32, "ff_dim": 48}
B, T, C = 4, 10, 25


def build(method, **dims):
    if method == "han":
        return HAN(HANConfig(**SMALL, **dims))
    if method == "jomold":
        return JoMoLD(JoMoLDConfig(**SMALL, num_layers=2, **dims))
    if method == "mm-pyramid":
        return MMPyramid(MMPyramidConfig(**SMALL, num_levels=3, **dims))
    model = LEAP(LEAPConfig(**SMALL, num_levels=3, **dims))
    model.set_label_table(torch.randn(C, 300, generator=torch.Generator().manual_seed(0)))
    return model


LOSSES = {"han": han_losses, "jomold": estimator_losses, "mm-pyramid": han_losses, "leap": leap_losses}


def valor_batch(seed=0, audio_tokens=T):
    gen = torch.Generator().manual_seed(seed)
    weak = (torch.rand(B, C, generator=gen) < 0.15).float()
    weak[:, 0] = 1.0
    return {
        "audio": torch.randn(B, audio_tokens, 768, generator=gen),
        "visual": torch.randn(B, T, 768, generator=gen),
        "visual_3d": torch.randn(B, T, 512, generator=gen),
        "weak": weak,
        "pseudo_audio": weak[:, None, :] * (torch.rand(B, T, C, generator=gen) < 0.5).float(),
        "pseudo_visual": weak[:, None, :] * (torch.rand(B, T, C, generator=gen) < 0.5).float(),
    }


@pytest.mark.parametrize("method", list(LOSSES))
@pytest.mark.parametrize("layout", ["valor", "valor-maps", "han-release"])
def test_outputs_have_the_avvp_shapes(method, layout):
    torch.manual_seed(0)
    if layout == "han-release":
        model = build(method, **HAN_RELEASE_INPUTS).eval()
        audio, visual, visual_3d = torch.randn(B, T, 128), torch.randn(B, 80, 2048), torch.randn(B, T, 512)
    else:
        model = build(method).eval()
        batch = valor_batch(audio_tokens=64 if layout == "valor-maps" else T)
        audio, visual, visual_3d = batch["audio"], batch["visual"], batch["visual_3d"]
    out = model(audio, visual, visual_3d)
    assert out.frame_prob.shape == out.frame_logits.shape == (B, T, 2, C)
    assert out.global_prob.shape == out.a_prob.shape == out.v_prob.shape == (B, C)
    assert out.audio_hidden.shape == out.visual_hidden.shape == (B, T, 32)
    torch.testing.assert_close(out.frame_prob, torch.sigmoid(out.frame_logits))
    assert ((out.frame_prob >= 0) & (out.frame_prob <= 1)).all()


@pytest.mark.parametrize("method", list(LOSSES))
def test_the_engine_pools_audio_maps_to_the_same_outputs(method):
    torch.manual_seed(0)
    model = build(method).eval()
    batch = valor_batch(audio_tokens=64)
    direct = model(batch["audio"], batch["visual"], batch["visual_3d"])
    pooled = model(model.pool_audio_input(batch["audio"]), batch["visual"], batch["visual_3d"])
    torch.testing.assert_close(direct.frame_prob, pooled.frame_prob)


def test_published_sizes():
    """HAN: H 512, one head, FFN 512, one layer; MM-Pyramid and LEAP: 4 levels, 8 heads, H 512
    (parameter counts on HAN's release inputs; the released networks add unused modules)."""
    assert sum(p.numel() for p in HAN(HANConfig(**HAN_RELEASE_INPUTS)).parameters()) == 4_571_723
    config = HANConfig()
    assert (config.hidden_dim, config.num_heads, config.ff_dim, config.num_layers, config.dropout) == (
        512,
        1,
        512,
        1,
        0.1,
    )
    pyramid = MMPyramidConfig()
    assert (pyramid.hidden_dim, pyramid.num_heads, pyramid.num_levels, pyramid.ff_dim) == (512, 8, 4, 512)
    leap = LEAPConfig()
    assert (leap.decoder_layers, leap.decoder_heads, leap.label_dim) == (2, 8, 300)


# Parameters no gradient reaches, and why: HAN's encoder norm1/norm2 are never applied; the
# stage-1 estimator has no cross-modal attention; LEAP's video-level OR is a hard threshold.
NO_GRADIENT = {
    "han": {"hat_encoder.norm1.weight", "hat_encoder.norm1.bias", "hat_encoder.norm2.weight", "hat_encoder.norm2.bias"},
    "mm-pyramid": set(),
    "leap": set(),
}


@pytest.mark.parametrize("method", ["han", "mm-pyramid", "leap"])
def test_every_used_parameter_gets_a_finite_gradient(method):
    torch.manual_seed(0)
    model = build(method).train()
    batch = valor_batch()
    out = model(batch["audio"], batch["visual"], batch["visual_3d"])
    LOSSES[method](model, out, batch)["total"].backward()
    without = {name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0}
    assert without == NO_GRADIENT[method]
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_jomold_estimator_trains_without_cross_attention():
    torch.manual_seed(0)
    model = JoMoLD(JoMoLDConfig(**SMALL, cross_attention=False)).train()
    batch = valor_batch()
    out = model(batch["audio"], batch["visual"], batch["visual_3d"])
    estimator_losses(model, out, batch)["total"].backward()
    without = {name for name, p in model.named_parameters() if p.grad is None}
    cross = {
        f"hat_encoder.layers.0.cm_attn.{n}"
        for n in ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")
    }
    assert without == cross | NO_GRADIENT["han"]


def test_han_loss_on_a_hand_made_batch():
    """BCE(P, y) + BCE(p_a, y) + BCE(p_v, 0.9 y + 0.05), written out with logarithms."""
    output = SimpleNamespace(
        global_prob=torch.tensor([[0.8, 0.3]]), a_prob=torch.tensor([[0.6, 0.2]]), v_prob=torch.tensor([[0.5, 0.1]])
    )
    losses = han_losses(None, output, {"weak": torch.tensor([[1.0, 0.0]])})

    def bce(p, y):
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    assert losses["video"].item() == pytest.approx((bce(0.8, 1) + bce(0.3, 0)) / 2, rel=1e-6)
    assert losses["audio_video"].item() == pytest.approx((bce(0.6, 1) + bce(0.2, 0)) / 2, rel=1e-6)
    assert losses["visual_video"].item() == pytest.approx((bce(0.5, 0.95) + bce(0.1, 0.05)) / 2, rel=1e-6)
    assert losses["total"].item() == pytest.approx(
        sum(losses[k].item() for k in ("video", "audio_video", "visual_video"))
    )


def test_leap_loss_on_a_hand_made_batch():
    """Two segments, two classes: every term by hand, incl. L_avss's x / (1 + x) + 0.01 target."""
    pl_a = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])  # (1, T=2, C=2)
    pl_v = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    h_a = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    h_v = torch.tensor([[[1.0, 0.0], [-1.0, 1.0]]])
    frame = torch.tensor([[[[0.9, 0.2], [0.7, 0.4]], [[0.6, 0.5], [0.3, 0.1]]]])  # (1, T, 2, C)
    output = SimpleNamespace(
        a_prob=torch.tensor([[0.9, 0.4]]),
        v_prob=torch.tensor([[0.7, 0.2]]),
        global_prob=torch.tensor([[1.0, 0.0]]),
        frame_prob=frame,
        audio_hidden=h_a,
        visual_hidden=h_v,
    )
    batch = {"weak": torch.tensor([[1.0, 1.0]]), "pseudo_audio": pl_a, "pseudo_visual": pl_v}
    losses = leap_losses(None, output, batch)

    def bce(p, y):
        p = min(max(p, 1e-7), 1 - 1e-7)
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    assert losses["audio_video"].item() == pytest.approx((bce(0.9, 1) + bce(0.4, 1)) / 2, rel=1e-6)
    assert losses["visual_video"].item() == pytest.approx((bce(0.7, 1) + bce(0.2, 0)) / 2, rel=1e-6)
    assert losses["video"].item() == pytest.approx((bce(1.0, 1) + bce(0.0, 1)) / 2, rel=1e-5)
    audio = [bce(0.9, 1), bce(0.2, 0), bce(0.6, 1), bce(0.5, 1)]
    visual = [bce(0.7, 1), bce(0.4, 0), bce(0.3, 0), bce(0.1, 0)]
    assert losses["audio"].item() == pytest.approx(sum(audio) / 4, rel=1e-6)
    assert losses["visual"].item() == pytest.approx(sum(visual) / 4, rel=1e-6)
    # n = max(2 audio classes at t=1, 1 visual) = 2; shared classes (a_i, v_j): [[1, 0], [1, 0]]
    target = [[0.5 / 1.5 + 0.01, 0.01], [0.5 / 1.5 + 0.01, 0.01]]
    cos = [[1.0, -1 / math.sqrt(2)], [0.0, 1 / math.sqrt(2)]]
    avss = sum((max(cos[i][j], 0.0) - target[i][j]) ** 2 for i in range(2) for j in range(2)) / 4
    assert losses["avss"].item() == pytest.approx(avss, rel=1e-6)


def test_jomold_contrastive_loss_on_hand_made_features():
    """T = 2, orthogonal features: cos = identity, so each row's softmax of [5, 0] (temperature 0.2)."""
    h = torch.eye(2).unsqueeze(0)  # (1, T=2, H=2)
    p_match = math.exp(5) / (math.exp(5) + 1)
    expected = -math.log(0.9 * p_match + 0.1 * (1 - p_match))  # smoothing 0.1 / (T - 1) = 0.1
    assert contrastive_loss(h, h, 0.2).item() == pytest.approx(expected, rel=1e-6)


def test_jomold_drops_the_labels_of_the_confident_other_modality():
    """Class 0 is labelled in four videos. Noise ratio 0.5 -> n = 2 per modality.

    Visual labels: dropped where the audio loss is among the 2 lowest AND the visual loss among
    the 2 highest: videos 0 and 1 (sound sure, sight unsure). Audio labels symmetrically: video 3.
    """
    target_a = torch.tensor([[1.0], [1.0], [1.0], [1.0]])
    target_v = 0.9 * target_a + 0.05
    a_prob = torch.tensor([[0.99], [0.95], [0.5], [0.1]])  # audio loss rises 0 -> 3
    v_prob = torch.tensor([[0.1], [0.2], [0.3], [0.99]])  # visual loss falls 0 -> 3
    ratio = torch.tensor([0.5], dtype=torch.float64)
    new_a, new_v = drop_noisy_labels(a_prob, v_prob, target_a, target_v, ratio, ratio)
    assert new_v[:, 0].tolist() == pytest.approx([0.0, 0.0, 0.95, 0.95])
    assert new_a[:, 0].tolist() == [1.0, 1.0, 0.0, 0.0]
    zero = torch.zeros(1, dtype=torch.float64)
    kept_a, kept_v = drop_noisy_labels(a_prob, v_prob, target_a, target_v, zero, zero)
    assert torch.equal(kept_a, target_a) and torch.equal(kept_v, target_v)


def test_jomold_stage_hand_over(tmp_path):
    """Stage 1 trains the estimator, stage 2 turns it into per-class ratios, stage 3 starts a
    fresh network that carries them (saved with its weights) and drops labels once warmed up."""
    torch.manual_seed(0)
    batch = valor_batch()
    estimator = JoMoLD(JoMoLDConfig(**SMALL, cross_attention=False)).train()
    optimizer = torch.optim.Adam(estimator.parameters(), lr=1e-3)
    for _ in range(3):
        out = estimator(batch["audio"], batch["visual"], batch["visual_3d"])
        loss = estimator_losses(estimator, out, batch)["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    ratio_a, ratio_v = estimate_noise_ratios(
        estimator, batch["audio"], batch["visual"], batch["visual_3d"], batch["weak"]
    )
    assert ratio_a.shape == ratio_v.shape == (C,)
    assert ((ratio_a >= 0) & (ratio_a <= 1)).all() and ((ratio_v >= 0) & (ratio_v <= 1)).all()
    unlabelled = batch["weak"].sum(0) == 0
    assert (ratio_a[unlabelled] == 0).all() and (ratio_v[unlabelled] == 0).all()
    assert estimator.training  # stage 2 restores the mode

    torch.manual_seed(0)
    fresh = JoMoLD(JoMoLDConfig(**SMALL)).train()
    full = torch.full((C,), 0.5, dtype=torch.float64)
    begin_denoising(fresh, full, full, warmup_steps=2)
    assert warmed_up_ratios(fresh)[0].sum() == 0  # step 0 of the warm-up: nothing dropped yet
    out = fresh(batch["audio"], batch["visual"], batch["visual_3d"])
    denoising_losses(fresh, out, batch)
    assert out.diagnostics["dropped_audio"] == 0 and out.diagnostics["dropped_visual"] == 0
    assert int(fresh.denoise_step) == 1
    torch.testing.assert_close(warmed_up_ratios(fresh)[1], full * 0.5)
    fresh.denoise_step.fill_(2)
    out = fresh(batch["audio"], batch["visual"], batch["visual_3d"])
    losses = denoising_losses(fresh, out, batch)
    assert out.diagnostics["dropped_visual"] > 0  # class 0 is in every video: floor(0.5 * 4) = 2 candidates
    assert torch.isfinite(losses["total"])
    torch.save(fresh.state_dict(), tmp_path / "stage3.pt")
    again = JoMoLD(JoMoLDConfig(**SMALL))
    again.load_state_dict(torch.load(tmp_path / "stage3.pt", weights_only=True))
    assert torch.equal(again.noise_ratio_visual, full) and int(again.denoise_step) == 3
    with pytest.raises(ConfigError, match="noise ratios"):
        begin_denoising(fresh, torch.full((C,), 1.5), full, warmup_steps=1)


def test_bad_inputs_are_one_line_errors():
    model = build("han")
    with pytest.raises(UserError, match="audio features"):
        model(torch.randn(2, 10, 128), torch.randn(2, 10, 768), torch.randn(2, 10, 512))
    with pytest.raises(ConfigError, match="PLSIM"):
        model(
            torch.randn(2, 10, 768),
            torch.randn(2, 10, 768),
            torch.randn(2, 10, 512),
            plsim_audio=torch.zeros(2, 10, 25),
        )
    with pytest.raises(ConfigError, match="hidden_dim=30 is not divisible"):
        MMPyramidConfig(hidden_dim=30)
    with pytest.raises(ConfigError, match="dropout"):
        HANConfig(dropout=1.5)
    with pytest.raises(ConfigError, match="label table"):
        LEAP(LEAPConfig(**SMALL, num_levels=1))(
            torch.randn(2, 10, 768), torch.randn(2, 10, 768), torch.randn(2, 10, 512)
        )
    with pytest.raises(ConfigError, match="expected shape"):
        LEAP(LEAPConfig(**SMALL, num_levels=1)).set_label_table(torch.zeros(25, 200))


def test_same_seed_same_numbers():
    batch = valor_batch()
    results = []
    for _ in range(2):
        torch.manual_seed(7)
        model = build("mm-pyramid").train()
        out = model(batch["audio"], batch["visual"], batch["visual_3d"])
        results.append(han_losses(model, out, batch)["total"].item())
    assert results[0] == results[1]
