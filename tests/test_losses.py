"""Losses: VALOR++ terms, eq 10 label term, eq 11 lambda, IoU targets, S-LOSS, compute_losses."""

import math

import pytest
import torch
import torch.nn.functional as F
from helpers_sizes import SMALL_MODEL

from linkpaper.losses import (
    compute_losses,
    iou_targets,
    label_loss,
    leap_targets,
    similarity_loss,
    sloss_lambda,
    valor_losses,
)
from linkpaper.models import AVVPOutput, build_model

SMALL = {**SMALL_MODEL, "num_layers": 1}  # one HAN layer is enough for the loss terms


def fake_output(global_prob, a_prob=None, v_prob=None, frame_logits=None, hidden=None):
    b = global_prob.shape[0]
    frame_logits = frame_logits if frame_logits is not None else torch.zeros(b, 10, 2, 25)
    hidden = hidden if hidden is not None else (torch.randn(b, 10, 8), torch.randn(b, 10, 8))
    return AVVPOutput(
        global_prob,
        a_prob if a_prob is not None else global_prob,
        v_prob if v_prob is not None else global_prob,
        torch.sigmoid(frame_logits),
        frame_logits,
        hidden[0],
        hidden[1],
    )


# ----- eq 11 -----


@pytest.mark.parametrize("mu", [0.0, 0.5, 1.0, 2.0])
def test_lambda_matches_eq_11(mu):
    peak = math.exp(abs(1 - mu))
    s = torch.tensor([-1.0, -0.5, -0.2, -0.2 + 1e-6, -0.1, 0.0, 0.25, 1.0], dtype=torch.float64)
    expected = torch.tensor([1, 1, 1, peak, peak, peak, peak + (1 - peak) * 0.25, 1.0], dtype=torch.float64)
    got = sloss_lambda(s, torch.tensor(mu, dtype=torch.float64))
    assert torch.allclose(got, expected, atol=1e-12)


def test_lambda_values_at_mu_zero_are_e():
    got = sloss_lambda(torch.tensor([-0.1, 0.0, 0.5]), torch.tensor(0.0))
    assert torch.allclose(got, torch.tensor([math.e, math.e, (math.e + 1) / 2]))


def test_lambda_gradient_goes_to_mu_not_to_s():
    s = torch.tensor([-0.5, -0.1, 0.0, 0.5], requires_grad=True)
    mu = torch.tensor(0.0, requires_grad=True)
    sloss_lambda(s, mu).sum().backward()
    assert s.grad is None or torch.all(s.grad == 0)
    # d/dmu e^|1-mu| = -e at mu = 0; the s <= -0.2 pair contributes nothing
    assert float(mu.grad) == pytest.approx(-math.e * (0 + 1 + 1 + 0.5))


# ----- IoU targets -----


def test_iou_targets_on_hand_made_label_sets():
    pl_a = torch.zeros(1, 10, 25)
    pl_v = torch.zeros(1, 10, 25)
    pl_a[0, 0, [0, 1]] = 1  # A_0 = {0, 1}
    pl_v[0, 0, [1, 2]] = 1  # V_0 = {1, 2}
    pl_a[0, 1, 3] = 1  # A_1 = {3}
    pl_v[0, 1, 3] = 1  # V_1 = {3}
    pl_v[0, 2, [0, 1, 3, 4]] = 1  # V_2 = {0, 1, 3, 4}
    r = iou_targets(pl_a, pl_v)
    assert r.shape == (1, 10, 10)
    assert r[0, 0, 0] == pytest.approx(1 / 3)
    assert r[0, 1, 1] == 1.0
    assert r[0, 0, 2] == pytest.approx(2 / 4) and r[0, 1, 2] == pytest.approx(1 / 4)
    assert r[0, 0, 1] == 0.0  # disjoint
    assert r[0, 5, 5] == 0.0  # both empty: union empty -> 0
    assert r[0, 5, 0] == 0.0  # empty audio, non-empty visual
    assert torch.isfinite(r).all() and (r >= 0).all() and (r <= 1).all()
    assert torch.equal(iou_targets(pl_a.long(), pl_v.long()), r)


# ----- S-LOSS -----


def test_similarity_loss_by_hand():
    # Two segments in 2-D: cos values chosen to hit each branch of eq 11.
    audio = torch.zeros(1, 2, 2)
    visual = torch.zeros(1, 2, 2)
    audio[0, 0] = torch.tensor([1.0, 0.0])
    audio[0, 1] = torch.tensor([0.0, 1.0])
    visual[0, 0] = torch.tensor([1.0, 0.0])  # cos(a0, v0) = 1, cos(a1, v0) = 0
    visual[0, 1] = torch.tensor([-1.0, 0.1])  # cos(a0, v1) ~ -0.995, cos(a1, v1) ~ 0.0995
    pl_a = torch.zeros(1, 2, 3)
    pl_v = torch.zeros(1, 2, 3)
    pl_a[0, 0, 0] = pl_v[0, 0, 0] = 1  # r00 = 1
    pl_a[0, 1, 1] = 1
    pl_v[0, 1, [1, 2]] = 1  # r11 = 1/2
    mu = torch.tensor(0.0, requires_grad=True)
    loss = similarity_loss(audio, visual, pl_a, pl_v, mu)
    c = 0.1 / math.sqrt(1.01)
    e = math.e
    terms = [
        1.0 * (1 - 1) ** 2,  # (0, 0): s = 1 -> lambda 1
        1.0 * (-1 / math.sqrt(1.01) - 0) ** 2,  # (0, 1): s <= -0.2 -> 1
        e * (0 - 0) ** 2,  # (1, 0): s = 0 -> e
        (e + (1 - e) * c) * (c - 0.5) ** 2,  # (1, 1): s > 0
    ]
    assert float(loss.detach()) == pytest.approx(sum(terms) / 4, rel=1e-5)
    loss.backward()
    assert float(mu.grad) == pytest.approx(-e * (1 - c) * (c - 0.5) ** 2 / 4, rel=1e-4)


# ----- VALOR terms and the label term -----


def test_valor_losses_match_bce_and_clamp_global_prob():
    gen = torch.Generator().manual_seed(0)
    global_prob = torch.rand(2, 25, generator=gen)
    global_prob[0, 0] = 1.0  # would be -log(0) without VALOR's clamp
    weak = torch.zeros(2, 25)
    logits = torch.randn(2, 10, 2, 25, generator=gen)
    pl_a = (torch.rand(2, 10, 25, generator=gen) < 0.3).long()
    pl_v = (torch.rand(2, 10, 25, generator=gen) < 0.3).long()
    losses = valor_losses(fake_output(global_prob, frame_logits=logits), weak, pl_a, pl_v)
    p = global_prob.clamp(1e-7, 1 - 1e-7)
    assert float(losses["video"]) == pytest.approx(float(-(torch.log(1 - p)).mean()), rel=1e-5)
    assert math.isfinite(float(losses["video"]))
    manual_a = -(pl_a * F.logsigmoid(logits[:, :, 0]) + (1 - pl_a) * F.logsigmoid(-logits[:, :, 0])).mean()
    assert float(losses["audio"]) == pytest.approx(float(manual_a), rel=1e-5)
    assert float(losses["visual"]) == pytest.approx(
        float(F.binary_cross_entropy_with_logits(logits[:, :, 1], pl_v.float())), rel=1e-6
    )


def test_label_loss_uses_the_video_level_pseudo_labels():
    a_prob = torch.full((1, 25), 0.25)
    v_prob = torch.full((1, 25), 0.75)
    pl_a = torch.zeros(1, 10, 25)
    pl_v = torch.zeros(1, 10, 25)
    pl_a[0, 4, 3] = 1  # audio class 3 is present at some segment
    pl_v[0, [1, 2], 7] = 1
    loss = label_loss(fake_output(a_prob, a_prob, v_prob), pl_a, pl_v)
    bce_a = (-math.log(0.25) + 24 * -math.log(0.75)) / 25
    bce_v = (-math.log(0.75) + 24 * -math.log(0.25)) / 25
    assert float(loss) == pytest.approx(bce_a + bce_v, rel=1e-6)


# ----- compute_losses -----


def test_compute_losses_keys_and_total():
    torch.manual_seed(0)
    batch = {
        "weak": torch.zeros(2, 25),
        "pseudo_audio": torch.zeros(2, 10, 25),
        "pseudo_visual": torch.zeros(2, 10, 25),
    }
    batch["weak"][:, 0] = 1
    batch["pseudo_audio"][:, 2:5, 0] = 1
    batch["pseudo_visual"][:, 3:7, 0] = 1
    x = (torch.randn(2, 64, 768), torch.randn(2, 10, 768), torch.randn(2, 10, 512))
    valor = build_model("valor++", **SMALL)
    losses = compute_losses(valor, valor(*x), batch)
    assert set(losses) == {"video", "audio", "visual", "total"}
    assert torch.allclose(losses["total"], losses["video"] + losses["audio"] + losses["visual"])
    sloss = build_model("+S", **SMALL)
    out = sloss(*x)
    losses = compute_losses(sloss, out, batch)
    assert set(losses) == {"video", "audio", "visual", "label", "similarity", "total"}
    assert torch.allclose(losses["total"], sum(v for k, v in losses.items() if k != "total"))
    expected = similarity_loss(
        out.audio_hidden, out.visual_hidden, batch["pseudo_audio"], batch["pseudo_visual"], sloss.sloss_mu
    )
    assert torch.equal(losses["similarity"], expected)
    assert all(v.ndim == 0 and torch.isfinite(v) for v in losses.values())


# ----- the similarity term's forms (ModelConfig.similarity_form) -----


def test_leap_targets_by_hand():
    # Video 0: audio seg 0 has classes {0, 1}, visual seg 0 {0}, visual seg 1 {1, 2}: the video's
    # largest count is 2 (audio seg 0 or visual seg 1), so x = shared / 2. Video 1 has no label.
    pl_a = torch.zeros(2, 2, 3)
    pl_v = torch.zeros(2, 2, 3)
    pl_a[0, 0, [0, 1]] = 1
    pl_v[0, 0, 0] = 1
    pl_v[0, 1, [1, 2]] = 1
    target = leap_targets(pl_a, pl_v)
    x = torch.tensor([[0.5, 0.5], [0.0, 0.0]])  # audio seg 0 shares 1 class with each visual seg
    assert torch.allclose(target[0], x / (1 + x) + 0.01)
    assert torch.allclose(target[1], torch.full((2, 2), 0.01))  # nothing active: LEAP's 1e-8 denominator
    full = torch.ones(1, 2, 3)
    assert torch.allclose(leap_targets(full, full), torch.full((1, 2, 2), 0.51))  # a perfect match aims at 0.51


def test_leap_form_uses_relu_of_the_cosine_and_lambda_on_the_raw_cosine():
    audio = torch.tensor([[[1.0, 0.0]]])
    visual = torch.tensor([[[-1.0, 0.0]]])  # cos = -1: ReLU -> 0, lambda (s <= -0.2) = 1
    pl = torch.ones(1, 1, 1)
    mu = torch.tensor(0.0)
    loss = similarity_loss(audio, visual, pl, pl, mu, form="leap")
    assert float(loss) == pytest.approx((0.0 - 0.51) ** 2)
    paper = similarity_loss(audio, visual, pl, pl, mu, form="paper")  # raw cosine against IoU 1
    assert float(paper) == pytest.approx((-1.0 - 1.0) ** 2)
    with pytest.raises(ValueError, match="unknown form 'cosine'"):
        similarity_loss(audio, visual, pl, pl, mu, form="cosine")


def test_mu_frozen_at_one_gives_lambda_one():
    s = torch.linspace(-1, 1, 41)
    assert torch.equal(sloss_lambda(s, torch.tensor(1.0)), torch.ones_like(s))


@pytest.mark.parametrize(
    "name, form, frozen",
    [
        ("+S/label", "off", False),
        ("+S/leap-mu1", "leap", True),
        ("+S/leap", "leap", False),
        ("+S/paper-mu1", "paper", True),
        ("link/leap", "leap", False),
    ],
)
def test_control_variants_build_their_loss(name, form, frozen):
    torch.manual_seed(0)
    model = build_model(name, **SMALL)
    assert model.config.similarity_form == form and model.config.use_sloss
    assert model.sloss_mu.requires_grad is not frozen
    if frozen:
        assert float(model.sloss_mu) == 1.0
    batch = {
        "weak": torch.zeros(2, 25),
        "pseudo_audio": torch.zeros(2, 10, 25),
        "pseudo_visual": torch.zeros(2, 10, 25),
    }
    batch["weak"][:, 3] = 1
    batch["pseudo_audio"][:, 1:6, 3] = 1
    batch["pseudo_visual"][:, 2:8, 3] = 1
    x = (torch.randn(2, 64, 768), torch.randn(2, 10, 768), torch.randn(2, 10, 512))
    kwargs = {}
    if model.config.use_plsim:
        model.set_text_tables(torch.randn(25, 300), torch.randn(25, 300))
        kwargs = {"plsim_audio": batch["pseudo_audio"], "plsim_visual": batch["pseudo_visual"]}
    out = model(*x, **kwargs)
    losses = compute_losses(model, out, batch)
    if form == "off":
        assert "similarity" not in losses and "label" in losses
    else:
        expected = similarity_loss(
            out.audio_hidden, out.visual_hidden, batch["pseudo_audio"], batch["pseudo_visual"], model.sloss_mu, form
        )
        assert torch.equal(losses["similarity"], expected)


def test_alignment_diagnostics_by_hand():
    from linkpaper.losses import alignment_diagnostics

    # 2 segments, hidden size 2: audio seg 0 = visual seg 0 (cos 1), audio seg 1 orthogonal to both.
    audio = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    visual = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    pl_a = torch.zeros(1, 2, 3)
    pl_v = torch.zeros(1, 2, 3)
    pl_a[0, 0, [0, 1]] = 1  # audio seg 0: {0, 1}
    pl_v[0, 0, 0] = 1  # visual seg 0: {0} -> pair (0, 0) overlaps (IoU 1/2), (1, 0) disjoint
    # visual seg 1: {} ; audio seg 1: {} -> pair (1, 1) both empty, (0, 1) disjoint
    frame_prob = torch.zeros(1, 2, 2, 3)
    frame_prob[0, 0, 1, 1] = 0.8  # visual probability of class 1, audible but not visible at seg 0
    frame_prob[0, 0, 0, 0] = 0.3
    out = fake_output(torch.zeros(1, 3), hidden=(audio, visual))
    out.frame_prob = frame_prob
    d = alignment_diagnostics(out, pl_a, pl_v)
    assert math.isnan(float(d["cos_same"]))  # no pair with the same non-empty set
    assert float(d["cos_overlap"]) == pytest.approx(1.0)  # (0, 0)
    assert float(d["cos_disjoint"]) == pytest.approx((1.0 + 0.0) / 2)  # (0, 1): cos 1, (1, 0): cos 0
    assert float(d["cos_empty"]) == pytest.approx(0.0)  # (1, 1)
    assert float(d["visual_prob_on_audio_only"]) == pytest.approx(0.8)  # the only audio-only cell
    assert math.isnan(float(d["audio_prob_on_visual_only"]))
