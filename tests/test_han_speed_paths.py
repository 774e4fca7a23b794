"""The HAN layer's fast paths equal the reference: NumPy-mask dropout, batch-first attention,
maps pooled once per split."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from helpers_sizes import SMALL_MODEL as SMALL

from linkpaper.data.split import AVVPSplit
from linkpaper.models import build_model, pool_audio_maps
from linkpaper.models.dropout import MASK_LEVELS, drop, drop_threshold, dropout_mask
from linkpaper.models.valor import HANLayer, multi_head_attention
from linkpaper.training.scoring import prepare_split

# ----- dropout ---------------------------------------------------------------------------------


def test_drop_threshold_is_p_on_the_16_bit_grid():
    assert drop_threshold(0.1) == 6554 and MASK_LEVELS == 65536
    assert drop_threshold(0.0) == 0 and drop_threshold(0.5) == 32768


def test_mask_values_rate_and_mean():
    torch.manual_seed(0)
    n = 1_000_000
    mask = dropout_mask((n,), 0.1)
    p_eff = drop_threshold(0.1) / MASK_LEVELS
    scale = 1.0 / (1.0 - p_eff)
    assert torch.equal(torch.unique(mask), torch.tensor([0.0, scale], dtype=torch.float32))
    dropped = (mask == 0).double().mean().item()
    sigma = math.sqrt(p_eff * (1 - p_eff) / n)
    assert abs(dropped - p_eff) < 5 * sigma  # binomial: a 5-sigma band
    assert abs(mask.double().mean().item() - 1.0) < 5 * sigma * scale  # inverted dropout keeps the mean


def test_mask_is_the_documented_function_of_the_sfc64_stream():
    """Level i of the mask is the i-th int16 of SFC64(seed), seed = torch's next randint draw."""
    for shape, p, dtype in (((7, 5, 3), 0.1, torch.float32), ((4, 10), 0.3, torch.float64), ((9,), 0.5, torch.float32)):
        torch.manual_seed(11)
        seed = int(torch.randint(0, 2**63 - 1, (1,)))
        n = math.prod(shape)
        levels = np.random.SFC64(seed).random_raw(-(-n // 4)).view(np.int16)[:n].astype(np.int64) + MASK_LEVELS // 2
        threshold = drop_threshold(p)
        expected = np.where(levels >= threshold, MASK_LEVELS / (MASK_LEVELS - threshold), 0.0).reshape(shape)
        torch.manual_seed(11)
        mask = dropout_mask(shape, p, dtype)
        assert mask.dtype == dtype and mask.shape == shape
        assert torch.equal(mask, torch.from_numpy(expected).to(dtype))


def test_masks_follow_torch_seed_and_advance_its_state():
    torch.manual_seed(5)
    a = dropout_mask((4, 10, 32), 0.1)
    state_after = torch.get_rng_state()
    torch.manual_seed(5)
    b = dropout_mask((4, 10, 32), 0.1)
    assert torch.equal(a, b)  # same seed, same mask
    assert torch.equal(torch.get_rng_state(), state_after)  # the state a checkpoint saves
    c = dropout_mask((4, 10, 32), 0.1)
    assert not torch.equal(a, c)  # the next call draws a new mask
    torch.manual_seed(6)
    assert not torch.equal(a, dropout_mask((4, 10, 32), 0.1))


def test_drop_is_identity_in_eval_and_at_p0_and_its_gradient_is_the_mask():
    x = torch.randn(3, 5, requires_grad=True)
    assert drop(x, 0.1, training=False) is x
    assert drop(x, 0.0, training=True) is x
    torch.manual_seed(1)
    y = drop(x, 0.3, training=True)
    torch.manual_seed(1)
    mask = dropout_mask((3, 5), 0.3)
    assert torch.equal(y, x * mask)
    y.sum().backward()
    assert torch.equal(x.grad, mask)


# ----- attention and the HAN layer --------------------------------------------------------------


def mha_reference(mha: nn.MultiheadAttention, query, context):
    """nn.MultiheadAttention's own forward, in its sequence-first layout: (B, T, H) in and out."""
    q, k = query.transpose(0, 1), context.transpose(0, 1)
    return mha(q, k, k, need_weights=False)[0].transpose(0, 1)


@pytest.mark.parametrize("self_attention", [True, False])
def test_attention_equals_nn_multiheadattention_and_so_do_gradients(self_attention):
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(32, 4, dropout=0.1).eval()
    with torch.no_grad():
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    query = torch.randn(3, 10, 32, requires_grad=True)
    context = query if self_attention else torch.randn(3, 7, 32, requires_grad=True)
    ours = multi_head_attention(mha, query, None if self_attention else context, 0.1, training=False)
    reference = mha_reference(mha, query, context)
    assert ours.shape == (3, 10, 32)
    assert (ours - reference).abs().max() < 1e-5
    weight = torch.randn_like(ours)
    grads_ours = torch.autograd.grad((ours * weight).sum(), [query, mha.in_proj_weight, mha.out_proj.weight])
    grads_ref = torch.autograd.grad((reference * weight).sum(), [query, mha.in_proj_weight, mha.out_proj.weight])
    for g_o, g_r in zip(grads_ours, grads_ref):
        assert torch.allclose(g_o, g_r, atol=1e-5)


def han_reference(layer: HANLayer, query, context):
    """The layer as VALOR writes it: nn.MultiheadAttention, sequence-first, eval mode."""
    q = query.transpose(0, 1)
    k = context.transpose(0, 1)
    cross = layer.cm_attn(q, k, k, need_weights=False)[0]
    self_ = layer.self_attn(q, q, q, need_weights=False)[0]
    q = layer.norm1(q + cross + self_)
    q = layer.norm2(q + layer.linear2(F.relu(layer.linear1(q))))
    return q.transpose(0, 1)


def test_han_layer_equals_the_reference_composition_in_eval():
    torch.manual_seed(0)
    layer = HANLayer(32, 4, 64, 0.1).eval()
    query, context = torch.randn(2, 10, 32), torch.randn(2, 10, 32)
    assert (layer(query, context) - han_reference(layer, query, context)).abs().max() < 1e-5


def test_han_layer_training_mode_drops_and_is_seeded():
    torch.manual_seed(0)
    layer = HANLayer(32, 4, 64, 0.1).train()
    query, context = torch.randn(2, 10, 32), torch.randn(2, 10, 32)
    torch.manual_seed(3)
    first = layer(query, context)
    torch.manual_seed(3)
    again = layer(query, context)
    assert torch.equal(first, again)  # one seed, one result
    assert not torch.allclose(first, layer.eval()(query, context))  # dropout changed something


# ----- (64, 768) maps pooled once per split -----------------------------------------------------


def test_pool_audio_input_matches_embedding_and_leaves_other_inputs():
    torch.manual_seed(0)
    model = build_model("valor++", **SMALL)
    maps = torch.randn(5, 64, 768)
    pooled = model.pool_audio_input(maps, chunk=2)  # chunks change nothing
    assert pooled.shape == (5, 10, 768)
    assert torch.allclose(pooled, pool_audio_maps(maps), atol=1e-6)
    assert torch.allclose(model.embed_audio(pooled), model.embed_audio(maps), atol=1e-6)
    already = torch.randn(5, 10, 768)
    assert model.pool_audio_input(already) is already
    reference = build_model("valor++", audio_path="reference", **SMALL)
    assert reference.pool_audio_input(maps) is maps  # the slow path stays the slow path


def maps_split(n=6):
    g = torch.Generator().manual_seed(0)
    labels = (torch.rand(n, 10, 25, generator=g) < 0.1).float()
    return AVVPSplit(
        "val",
        [f"v{i}" for i in range(n)],
        torch.randn(n, 64, 768, generator=g),
        torch.randn(n, 10, 768, generator=g),
        torch.randn(n, 10, 512, generator=g),
        labels.amax(1),
        labels,
        labels,
    )


def test_prepare_split_pools_maps_only_for_the_fast_path():
    split = maps_split()
    model = build_model("valor++", **SMALL)
    prepared = prepare_split(model, split, "cpu")
    assert prepared.audio.shape == (6, 10, 768)
    assert torch.allclose(prepared.audio, pool_audio_maps(split.audio), atol=1e-6)
    assert prepared.visual is split.visual and prepared.filenames == split.filenames
    reference = build_model("valor++", audio_path="reference", **SMALL)
    assert prepare_split(reference, split, "cpu").audio.shape == (6, 64, 768)


def test_drop_leaves_other_devices_to_torch():
    x = torch.empty(4, 8, device="meta")  # no data: shows which branch runs, not its values
    y = drop(x, 0.1, training=True)
    assert y.device.type == "meta" and y.shape == x.shape
