"""LINK modules: TSAM (eqs 1-3), CMIM (eqs 4-6), PLSIM (eqs 13-17) and the assembly."""

import math

import pytest
import torch
from helpers_sizes import SMALL_MODEL as SMALL

from linkpaper.errors import ConfigError
from linkpaper.losses import compute_losses
from linkpaper.models import CMIM, LINK, PLSIM, TSAM, ModelConfig, build_model, list_models
from linkpaper.models.link import segment_label_embedding

B, T, C, H = 3, 10, 25, 32


def inputs(seed=0, batch=B):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, 64, 768, generator=gen),
        torch.randn(batch, 10, 768, generator=gen),
        torch.randn(batch, 10, 512, generator=gen),
    )


def labels(seed=0, batch=B, rate=0.2):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, T, C, generator=gen) < rate).float()


def with_tables(model, seed=0):
    if model.config.use_plsim:
        gen = torch.Generator().manual_seed(seed)
        model.set_text_tables(torch.randn(C, 300, generator=gen), torch.randn(C, 300, generator=gen))
    return model


def batch_for(seed=0):
    pl_a, pl_v = labels(seed), labels(seed + 1)
    weak = torch.maximum(pl_a.amax(1), pl_v.amax(1))
    return {
        "weak": weak,
        "pseudo_audio": pl_a,
        "pseudo_visual": pl_v,
        "pseudo_audio_ungated": labels(seed + 2),
        "pseudo_visual_ungated": labels(seed + 3),
    }


# ----- TSAM -----


def test_tsam_follows_eqs_1_to_3():
    torch.manual_seed(0)
    tsam = TSAM(T, 7)
    f = torch.randn(B, T, H)
    out, w, s = tsam(f)
    assert w.shape == (B, T, 1) and s.shape == (B, 1, H) and out.shape == (B, T, H)
    assert (w > 0).all() and (w < 1).all() and (s > 0).all() and (s < 1).all()
    # eq 1 by hand: shared MLP on the per-segment mean and max over H
    mlp = tsam.temporal.mlp
    assert mlp[0].in_features == T and mlp[0].out_features == T // 2 and mlp[2].out_features == T
    w_hand = torch.sigmoid(mlp(f.mean(2)) + mlp(f.amax(2))).unsqueeze(-1)
    assert torch.allclose(w, w_hand)
    # eq 2 on the temporally weighted features (CBAM's sequential order), eq 3 without residual
    f1 = w_hand * f
    s_hand = torch.sigmoid(tsam.spatial.conv(torch.stack([f1.mean(1), f1.amax(1)], 1)))
    assert torch.allclose(s, s_hand)
    assert torch.allclose(out, s_hand * f1)
    conv = tsam.spatial.conv
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding) == (2, 1, (7,), (3,))


# ----- CMIM -----


def test_cmim_matches_eqs_4_to_6_with_scaled_softmax_over_keys():
    torch.manual_seed(0)
    cmim = CMIM(H)
    with torch.no_grad():
        for value, name in zip((0.5, 1.5, -0.7, 2.0), ("alpha1", "alpha2", "beta1", "beta2")):
            getattr(cmim, name).fill_(value)
    f_a, f_v = torch.randn(B, T, H), torch.randn(B, T, H)
    out_a, out_v = cmim(f_a, f_v)
    attn_av = torch.softmax(torch.einsum("bih,bjh->bij", f_a, f_v) / math.sqrt(H), dim=2)
    attn_va = torch.softmax(torch.einsum("bih,bjh->bij", f_v, f_a) / math.sqrt(H), dim=2)
    f_ac = f_a + 1.5 * torch.einsum("bij,bjh->bih", attn_av, 2.0 * f_v)
    f_vc = f_v + 0.5 * torch.einsum("bij,bjh->bih", attn_va, -0.7 * f_a)
    assert torch.allclose(out_a, f_a + f_ac, atol=1e-5) and torch.allclose(out_v, f_v + f_vc, atol=1e-5)


def test_cmim_scalars_init_to_one_and_act_only_as_products():
    cmim = CMIM(H)
    assert [float(getattr(cmim, n).detach()) for n in ("alpha1", "alpha2", "beta1", "beta2")] == [1.0] * 4
    f_a, f_v = torch.randn(B, T, H), torch.randn(B, T, H)
    before = cmim(f_a, f_v)
    with torch.no_grad():  # alpha * beta unchanged -> same output (the book's note)
        cmim.alpha2.mul_(4.0), cmim.beta2.div_(4.0), cmim.alpha1.mul_(0.1), cmim.beta1.div_(0.1)
    after = cmim(f_a, f_v)
    assert torch.allclose(before[0], after[0], atol=1e-5) and torch.allclose(before[1], after[1], atol=1e-5)
    with torch.no_grad():  # no interaction: eq 6 counts the input twice
        cmim.alpha1.zero_(), cmim.alpha2.zero_()
    out_a, out_v = cmim(f_a, f_v)
    assert torch.allclose(out_a, 2 * f_a) and torch.allclose(out_v, 2 * f_v)


# ----- PLSIM -----


def test_segment_label_embedding_is_the_mean_of_active_rows_and_zero_when_none():
    table = torch.arange(C * 4, dtype=torch.float32).reshape(C, 4)
    lab = torch.zeros(1, T, C)
    lab[0, 0, [2, 5]] = 1
    lab[0, 1, 7] = 1
    e = segment_label_embedding(lab, table)
    assert e.shape == (1, T, 4)
    assert torch.equal(e[0, 0], (table[2] + table[5]) / 2)
    assert torch.equal(e[0, 1], table[7])
    assert torch.equal(e[0, 2:], torch.zeros(T - 2, 4))


def test_plsim_is_the_identity_at_init_and_modulates_after():
    plsim = PLSIM(H, C, 300, 300)
    plsim.set_text_tables(torch.randn(C, 300), torch.randn(C, 300))
    f_a, f_v = torch.randn(B, T, H), torch.randn(B, T, H)
    out_a, out_v = plsim(f_a, f_v, labels(1), labels(2))
    assert torch.equal(out_a, f_a) and torch.equal(out_v, f_v)
    with torch.no_grad():
        plsim.gamma2.fc2.bias.fill_(0.5)
        plsim.rho1.fc2.bias.fill_(1.0)
    out_a, out_v = plsim(f_a, f_v, labels(1), labels(2))
    assert torch.allclose(out_a, f_a + 0.5) and torch.allclose(out_v, 2 * f_v)  # eqs 16-17


def test_plsim_table_errors():
    model = build_model("+P", **SMALL)
    with pytest.raises(ConfigError, match="no class text tables"):
        model(*inputs(), plsim_audio=labels(), plsim_visual=labels())
    with pytest.raises(
        ConfigError, match=r"text_audio table: expected shape \(25, 300\).*got \(25, 512\).*text_dim_audio=512"
    ):
        model.set_text_tables(torch.zeros(C, 512), torch.zeros(C, 300))
    wide = build_model("+P", text_dim_audio=512, text_dim_visual=768, **SMALL)
    wide.set_text_tables(torch.zeros(C, 512), torch.zeros(C, 768))
    with pytest.raises(ConfigError, match="has no PLSIM"):
        build_model("+T", **SMALL).set_text_tables(torch.zeros(C, 300), torch.zeros(C, 300))


def test_plsim_label_modes():
    model = with_tables(build_model("+P", **SMALL))
    with pytest.raises(ConfigError, match="plsim_labels='ungated': PLSIM needs plsim_audio and plsim_visual"):
        model(*inputs())
    with pytest.raises(ConfigError, match=r"plsim_visual: expected shape \(3, 10, 25\)"):
        model(*inputs(), plsim_audio=labels(), plsim_visual=labels()[:, :5])
    gated = with_tables(build_model("+P", plsim_labels="gated", **SMALL))
    with pytest.raises(ConfigError, match="'gated': PLSIM needs"):
        gated(*inputs(), plsim_audio=labels())
    selfish = with_tables(build_model("+P", plsim_labels="self", **SMALL))
    out = selfish(*inputs())
    assert out.frame_prob.shape == (B, T, 2, C)
    with pytest.raises(ConfigError, match="makes its own PLSIM labels"):
        selfish(*inputs(), plsim_audio=labels(), plsim_visual=labels())


def test_self_labels_follow_the_inference_rule_of_the_model_without_plsim():
    torch.manual_seed(0)
    model = with_tables(build_model("+T+P", plsim_labels="self", **SMALL)).train()
    no_plsim = build_model("+T", **SMALL).eval()
    no_plsim.load_state_dict(model.state_dict(), strict=False)
    with torch.no_grad():  # push the first pass' probabilities around 0.5 so both states occur
        model.fc_prob.bias.fill_(0.2)
        no_plsim.fc_prob.bias.fill_(0.2)
    x_a, x_v = model.embed(*inputs())
    x_a, _, _ = model.tsam_audio(x_a)
    x_v, _, _ = model.tsam_visual(x_v)
    x_a, x_v = model.cmim(x_a, x_v)
    pl_a, pl_v = model.self_labels(x_a, x_v)
    assert model.training  # the mode is restored
    reference = no_plsim(*inputs())
    gate = (reference.global_prob >= 0.5).unsqueeze(1)
    assert torch.equal(pl_a.bool(), (reference.frame_prob[:, :, 0] >= 0.5) & gate)
    assert torch.equal(pl_v.bool(), (reference.frame_prob[:, :, 1] >= 0.5) & gate)
    assert 0 < pl_a.sum() < pl_a.numel()


# ----- the assembly -----


def test_link_with_every_module_off_is_valor_plus_plus():
    torch.manual_seed(0)
    valor = build_model("valor++", **SMALL).eval()
    link = LINK(ModelConfig(**SMALL)).eval()
    assert {k: v.shape for k, v in link.state_dict().items()} == {k: v.shape for k, v in valor.state_dict().items()}
    link.load_state_dict(valor.state_dict())
    a, b = valor(*inputs()), link(*inputs())
    for name in ("global_prob", "a_prob", "v_prob", "frame_prob", "frame_logits", "audio_hidden", "visual_hidden"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("name", ["+P", "+S", "+S+P"])
def test_variants_without_tsam_start_equal_to_valor(name):
    """PLSIM starts as the identity and S-LOSS changes only the loss: same outputs at init."""
    torch.manual_seed(0)
    valor = build_model("valor++", **SMALL).eval()
    model = with_tables(build_model(name, **SMALL)).eval()
    model.load_state_dict(valor.state_dict(), strict=False)
    kwargs = {"plsim_audio": labels(1), "plsim_visual": labels(2)} if model.config.use_plsim else {}
    assert torch.equal(valor(*inputs()).frame_prob, model(*inputs(), **kwargs).frame_prob)


def test_same_seed_gives_the_valor_weights_in_every_variant():
    """LINK modules are created after the VALOR++ ones: a seed fixes the shared initial weights."""
    torch.manual_seed(87)
    valor = build_model("valor++", **SMALL).state_dict()
    torch.manual_seed(87)
    link = build_model("link", **SMALL).state_dict()
    assert all(torch.equal(link[k], v) for k, v in valor.items())


NEW_PREFIXES = ("tsam_audio.", "tsam_visual.", "cmim.", "plsim.", "sloss_mu")


@pytest.mark.parametrize("name", list_models()[1:])
def test_every_new_parameter_gets_gradient_through_compute_losses(name):
    torch.manual_seed(0)
    model = with_tables(build_model(name, dropout=0.0, **SMALL))
    if model.config.use_plsim:
        # The last layers start at zero (identity at init), which blocks the first layers'
        # gradient by design; give them a small value to test the whole path.
        with torch.no_grad():
            for mlp in (model.plsim.gamma1, model.plsim.gamma2, model.plsim.rho1, model.plsim.rho2):
                mlp.fc2.weight.normal_(0, 0.02)
    batch = batch_for(0)
    kwargs = {}
    if model.config.use_plsim:
        kwargs = {"plsim_audio": batch["pseudo_audio_ungated"], "plsim_visual": batch["pseudo_visual_ungated"]}
    output = model(*inputs(), **kwargs)
    losses = compute_losses(model, output, batch)
    losses["total"].backward()
    new = {n: p for n, p in model.named_parameters() if n.startswith(NEW_PREFIXES)}
    assert new
    for n, p in new.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, n
    assert all(p.grad is not None for n, p in model.named_parameters() if ".final_norm_" not in n)


def test_plsim_last_layers_get_gradient_at_init():
    torch.manual_seed(0)
    model = with_tables(build_model("+P", **SMALL))
    batch = batch_for(1)
    out = model(*inputs(), plsim_audio=batch["pseudo_audio_ungated"], plsim_visual=batch["pseudo_visual_ungated"])
    compute_losses(model, out, batch)["total"].backward()
    for mlp in (model.plsim.gamma1, model.plsim.gamma2, model.plsim.rho1, model.plsim.rho2):
        assert mlp.fc2.weight.grad.abs().sum() > 0 and mlp.fc2.bias.grad.abs().sum() > 0


def test_diagnostics_report_scalars_and_tsam_statistics():
    torch.manual_seed(0)
    model = with_tables(build_model("link", **SMALL))
    out = model(*inputs(), plsim_audio=labels(1), plsim_visual=labels(2))
    d = out.diagnostics
    for name in ("alpha1", "alpha2", "beta1", "beta2"):
        assert float(d[name]) == 1.0
    assert float(d["mu"]) == 0.0
    for modality in "av":
        for kind in ("temporal", "spatial"):
            stats = [float(d[f"tsam_{modality}_{kind}_{s}"]) for s in ("min", "mean", "max")]
            assert 0 < stats[0] <= stats[1] <= stats[2] < 1
            assert float(d[f"tsam_{modality}_{kind}_std"]) >= 0
    assert all(not v.requires_grad for v in d.values())
    assert float(d["plsim_active_a"]) == pytest.approx(float(labels(1).mean()))


def test_sloss_mu_trains_and_can_be_frozen():
    torch.manual_seed(0)
    model = build_model("+S", mu_init=0.25, **SMALL)
    assert float(model.sloss_mu.detach()) == 0.25 and model.sloss_mu.requires_grad
    batch = batch_for(2)
    compute_losses(model, model(*inputs()), batch)["total"].backward()
    assert model.sloss_mu.grad is not None and float(model.sloss_mu.grad) != 0.0
    frozen = build_model("+S", freeze_mu=True, **SMALL)
    compute_losses(frozen, frozen(*inputs()), batch)["total"].backward()
    assert not frozen.sloss_mu.requires_grad and frozen.sloss_mu.grad is None
    assert not hasattr(build_model("+T", **SMALL), "sloss_mu")
