"""Released checkpoints of HAN, JoMoLD, MM-Pyramid and LEAP load with equal outputs.

For each method the test writes out the released network's parameter names and shapes (read
from its module tree: YapengTian/AVVP-ECCV20 ``nets/net_audiovisual.py``, MCG-NJU/JoMoLD
``nets/net_audiovisual.py``, JustinYuu/MM_Pyramid ``main_network.py`` + ``nets/``,
jasongief/LEAP ``main_network_temporal_add_label.py`` + ``nets/``), fills them with random
values, saves them as the released code would, loads them with ``load_reference_checkpoint``
and compares our outputs with the released forward pass re-written here, from those networks'
equations, directly on the released names.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from linkpaper.errors import ConfigError
from linkpaper.models.reference import ALIASES, UNUSED, load_reference_checkpoint, reference_to_ours

H, FF, C, T = 32, 48, 25, 10
DA, DV, D3, DL = 128, 2048, 512, 300  # HAN's release: VGGish, ResNet-152 frames, R(2+1)D; GloVe


def linear(shapes, name, out_dim, in_dim):
    shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (out_dim, in_dim), (out_dim,)


def layer_norm(shapes, name, dim=H):
    shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (dim,), (dim,)


def inputs_and_heads(shapes, heads=True):
    if heads:
        for name in ("fc_prob", "fc_frame_att", "fc_av_att"):
            linear(shapes, name, C, H)
    linear(shapes, "fc_a", H, DA)
    linear(shapes, "fc_v", H, DV)
    linear(shapes, "fc_st", H, D3)
    linear(shapes, "fc_fusion", H, 2 * H)


def han_layer(shapes, prefix):
    for attn in ("self_attn", "cm_attn"):
        shapes[f"{prefix}.{attn}.in_proj_weight"], shapes[f"{prefix}.{attn}.in_proj_bias"] = (3 * H, H), (3 * H,)
        linear(shapes, f"{prefix}.{attn}.out_proj", H, H)
    linear(shapes, f"{prefix}.linear1", FF, H)
    linear(shapes, f"{prefix}.linear2", H, FF)
    layer_norm(shapes, f"{prefix}.norm1")
    layer_norm(shapes, f"{prefix}.norm2")


def torch_encoder_layer(shapes, prefix):  # nn.TransformerEncoderLayer(H, 1, FF): HAN's unused encoders
    shapes[f"{prefix}.self_attn.in_proj_weight"], shapes[f"{prefix}.self_attn.in_proj_bias"] = (3 * H, H), (3 * H,)
    linear(shapes, f"{prefix}.self_attn.out_proj", H, H)
    linear(shapes, f"{prefix}.linear1", FF, H)
    linear(shapes, f"{prefix}.linear2", H, FF)
    layer_norm(shapes, f"{prefix}.norm1")
    layer_norm(shapes, f"{prefix}.norm2")


def han_shapes(layers=1):
    """MMIL_Net of AVVP-ECCV20 (H, FF shrunk): heads, projections, the unused audio / visual
    TransformerEncoders and CMT encoder, and hat_encoder (Encoder of HANLayers + norm1/norm2)."""
    shapes = {}
    inputs_and_heads(shapes)
    torch_encoder_layer(shapes, "audio_encoder.layers.0")
    torch_encoder_layer(shapes, "visual_encoder.layers.0")
    torch_encoder_layer(shapes, "cmt_encoder.layers.0")
    layer_norm(shapes, "cmt_encoder.norm1")
    layer_norm(shapes, "cmt_encoder.norm2")
    for i in range(layers):
        han_layer(shapes, f"hat_encoder.layers.{i}")
    layer_norm(shapes, "hat_encoder.norm1")
    layer_norm(shapes, "hat_encoder.norm2")
    return shapes


def jomold_shapes(layers=2):
    """JoMoLD's MMIL_Net: HAN's without the unused encoders (dropout has no weights)."""
    return {
        k: v
        for k, v in han_shapes(layers).items()
        if k.split(".")[0] not in ("audio_encoder", "visual_encoder", "cmt_encoder")
    }


def attention_layer(shapes, prefix):
    """TransformerLayer: self_attn (MultiHeadAttention: linears 0-3, unused layer_norm),
    feed_forward (w_1, w_2), sublayer.0/1.norm."""
    for i in range(4):
        linear(shapes, f"{prefix}.self_attn.linears.{i}", H, H)
    layer_norm(shapes, f"{prefix}.self_attn.layer_norm")
    linear(shapes, f"{prefix}.feed_forward.w_1", FF, H)
    linear(shapes, f"{prefix}.feed_forward.w_2", H, FF)
    layer_norm(shapes, f"{prefix}.sublayer.0.norm")
    layer_norm(shapes, f"{prefix}.sublayer.1.norm")


def pyramid_shapes(shapes, levels=4, k=3):
    """MultimodalPyramidAttentionalModule as ``MMP``."""
    for module in ("MMP.capture", "MMP.fusion"):  # built, deep-copied into the layers, never called
        for i in range(4):
            linear(shapes, f"{module}.multiheadattn.linears.{i}", H, H)
        layer_norm(shapes, f"{module}.multiheadattn.layer_norm")
        linear(shapes, f"{module}.feedforward.w_1", FF, H)
        linear(shapes, f"{module}.feedforward.w_2", H, FF)
    for level in range(levels):
        for net in ("vnetwork", "anetwork"):
            p = f"MMP.capture.{net}.{level}"
            for conv, alias, size in (("conv1", "net.0", k), ("conv2", "net.2", 1)):
                for name in (conv, alias):
                    shapes[f"{p}.{name}.weight"], shapes[f"{p}.{name}.bias"] = (H, H, size), (H,)
        for block in ("vsablock", "asablock", "cmablock"):
            attention_layer(shapes, f"MMP.capture.msa.{level}.{block}.layer")
        for gate in ("lv1", "lv2", "la1", "la2"):
            linear(shapes, f"MMP.capture.msa.{level}.{gate}", H, 2 * H)
    attention_layer(shapes, "MMP.fusion.vadaptiveinteraction")
    attention_layer(shapes, "MMP.fusion.aadaptiveinteraction")
    linear(shapes, "MMP.fusion.vselectfusion", 1, H)
    linear(shapes, "MMP.fusion.aselectfusion", 1, H)


def mm_pyramid_shapes():
    shapes = {}
    inputs_and_heads(shapes)
    pyramid_shapes(shapes)
    return shapes


def leap_shapes(decoder_layers=2):
    """LEAP's AVVPNet: projections, MMP, fc_l, AVL (lv/la_cma_network of TransformerLayers; the
    template multiheadattn / feedforward unused), fc_la, fc_lv."""
    shapes = {}
    inputs_and_heads(shapes, heads=False)
    pyramid_shapes(shapes)
    linear(shapes, "fc_l", H, DL)
    for i in range(4):
        linear(shapes, f"AVL.multiheadattn.linears.{i}", H, H)
    layer_norm(shapes, "AVL.multiheadattn.layer_norm")
    linear(shapes, "AVL.feedforward.w_1", FF, H)
    linear(shapes, "AVL.feedforward.w_2", H, FF)
    for i in range(decoder_layers):
        attention_layer(shapes, f"AVL.lv_cma_network.{i}")
        attention_layer(shapes, f"AVL.la_cma_network.{i}")
    linear(shapes, "fc_la", 1, H)
    linear(shapes, "fc_lv", 1, H)
    return shapes


def random_state(shapes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(shape, generator=gen) * (0.3 if len(shape) > 1 else 0.1) for k, shape in shapes.items()}
    for key in list(state):  # a temporal block's net.0 / net.2 are its conv1 / conv2
        for p, r in ALIASES["mm-pyramid"]:
            import re

            if re.search(p, key):
                state[key] = state[re.sub(p, r, key)]
    return state


def han_inputs(B=3, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(B, T, DA, generator=gen),
        torch.randn(B, 8 * T, DV, generator=gen),
        torch.randn(B, T, D3, generator=gen),
    )


# ----- the released forward passes, written from their equations on the released names -----


def lin(s, name, x):
    return F.linear(x, s[f"{name}.weight"], s[f"{name}.bias"])


def ln(s, name, x):
    return F.layer_norm(x, (x.shape[-1],), s[f"{name}.weight"], s[f"{name}.bias"])


def released_inputs(s, audio, visual, visual_st):
    x_a = lin(s, "fc_a", audio)
    vid_s = lin(s, "fc_v", visual).permute(0, 2, 1).unsqueeze(-1)
    vid_s = F.avg_pool2d(vid_s, (8, 1)).squeeze(-1).permute(0, 2, 1)
    x_v = lin(s, "fc_fusion", torch.cat([vid_s, lin(s, "fc_st", visual_st)], dim=-1))
    return x_a, x_v


def torch_mha(s, prefix, q, k, v, heads=1):
    """nn.MultiheadAttention (sequence-first) loaded with the released tensors."""
    mha = nn.MultiheadAttention(H, heads)
    mha.load_state_dict(
        {name: s[f"{prefix}.{name}"] for name in ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")}
    )
    mha.eval()
    return mha(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1))[0].transpose(0, 1)


def released_han_layer(s, p, q, kv, with_ca=True):
    mixed = q + torch_mha(s, f"{p}.self_attn", q, q, q)
    if with_ca:
        mixed = mixed + torch_mha(s, f"{p}.cm_attn", q, kv, kv)
    q = ln(s, f"{p}.norm1", mixed)
    return ln(s, f"{p}.norm2", q + lin(s, f"{p}.linear2", F.relu(lin(s, f"{p}.linear1", q))))


def released_mmil(s, first, second):
    x = torch.cat([first.unsqueeze(-2), second.unsqueeze(-2)], dim=-2)
    frame_prob = torch.sigmoid(lin(s, "fc_prob", x))
    frame_att = torch.softmax(lin(s, "fc_frame_att", x), dim=1)
    av_att = torch.softmax(lin(s, "fc_av_att", x), dim=2)
    temporal = frame_att * frame_prob
    return (
        (temporal * av_att).sum(dim=2).sum(dim=1),
        temporal[:, :, 0].sum(dim=1),
        temporal[:, :, 1].sum(dim=1),
        frame_prob,
    )


def released_han(s, audio, visual, visual_st, layers=1, with_ca=True, update_inputs=False):
    """HAN's Encoder reads the inputs at every layer; JoMoLD's feeds each layer the previous outputs."""
    x_a, x_v = released_inputs(s, audio, visual, visual_st)
    src_a, src_v = x_a, x_v
    for i in range(layers):
        out_a = released_han_layer(s, f"hat_encoder.layers.{i}", src_a, src_v, with_ca)
        out_v = released_han_layer(s, f"hat_encoder.layers.{i}", src_v, src_a, with_ca)
        if update_inputs:
            src_a, src_v = out_a, out_v
    return released_mmil(s, out_a, out_v)


def released_attention(s, p, q, k, v, masksize, heads=8, raw_scores=False):
    B = q.shape[0]
    d = H // heads
    q, k, v = [lin(s, f"{p}.linears.{i}", x).view(B, -1, heads, d).transpose(1, 2) for i, x in enumerate((q, k, v))]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    if masksize != 1:
        m = int(masksize / 2)
        mask = torch.ones(scores.size())
        for i in range(mask.shape[2]):
            if i - m > 0:
                mask[:, :, i, : i - m] = 0
            if i + m + 1 < mask.shape[3]:
                mask[:, :, i, m + i + 1 :] = 0
        scores = scores.masked_fill(mask == 0, -1e9)
    x = torch.softmax(scores, dim=-1) @ v
    out = lin(s, f"{p}.linears.3", x.transpose(1, 2).contiguous().view(B, -1, heads * d))
    return out, scores


def released_transformer_layer(s, p, q, k, v, masksize=1):
    q = q + released_attention(s, f"{p}.self_attn", ln(s, f"{p}.sublayer.0.norm", q), k, v, masksize)[0]
    ff = lin(s, f"{p}.feed_forward.w_2", F.relu(lin(s, f"{p}.feed_forward.w_1", ln(s, f"{p}.sublayer.1.norm", q))))
    return q + ff


def released_temporal_block(s, p, x, dilation):
    out = F.conv1d(x, s[f"{p}.conv1.weight"], s[f"{p}.conv1.bias"], padding=dilation, dilation=dilation)
    out = F.conv1d(F.relu(out), s[f"{p}.conv2.weight"], s[f"{p}.conv2.bias"])
    return F.relu(out + x)


def released_mmp(s, video, audio, levels=4):
    vs, as_ = [], []
    v_stage, a_stage = video, audio
    for i in range(levels):
        p, masksize = f"MMP.capture.msa.{i}", 2**i * 2
        v_sa = released_transformer_layer(s, f"{p}.vsablock.layer", v_stage, v_stage, v_stage, masksize)
        a_sa = released_transformer_layer(s, f"{p}.asablock.layer", a_stage, a_stage, a_stage, masksize)
        v_cma = released_transformer_layer(s, f"{p}.cmablock.layer", v_stage, a_stage, a_stage, masksize)
        a_cma = released_transformer_layer(s, f"{p}.cmablock.layer", a_stage, v_stage, v_stage, masksize)
        v_sq, a_sq = torch.cat((v_sa, v_cma), -1), torch.cat((a_sa, a_cma), -1)
        v_out = torch.sigmoid(lin(s, f"{p}.lv1", v_sq)) * v_sa + torch.sigmoid(lin(s, f"{p}.lv2", v_sq)) * v_cma
        a_out = torch.sigmoid(lin(s, f"{p}.la1", a_sq)) * a_sa + torch.sigmoid(lin(s, f"{p}.la2", a_sq)) * a_cma
        v_stage = released_temporal_block(s, f"MMP.capture.vnetwork.{i}", v_out.permute(0, 2, 1), 2**i).permute(0, 2, 1)
        a_stage = released_temporal_block(s, f"MMP.capture.anetwork.{i}", a_out.permute(0, 2, 1), 2**i).permute(0, 2, 1)
        vs.append(v_stage)
        as_.append(a_stage)
    outs = []
    for stages, m in ((vs, "v"), (as_, "a")):
        st = torch.stack(stages, dim=2)
        st = st.view(-1, st.size(2), st.size(3))
        inter = released_transformer_layer(s, f"MMP.fusion.{m}adaptiveinteraction", st, st, st)
        weight = torch.sigmoid(lin(s, f"MMP.fusion.{m}selectfusion", inter))
        outs.append(torch.bmm(inter.permute(0, 2, 1), weight).view(-1, T, H))
    return outs[0], outs[1]


def released_mm_pyramid(s, audio, visual, visual_st):
    f_a, f_v = released_inputs(s, audio, visual, visual_st)
    v_o, a_o = released_mmp(s, f_v, f_a)
    return released_mmil(s, v_o, a_o)  # the released heads read (visual, audio)


def released_leap(s, audio, visual, visual_st, label, layers=2):
    f_l = lin(s, "fc_l", label)
    f_a, f_v = released_inputs(s, audio, visual, visual_st)
    v_o, a_o = released_mmp(s, f_v, f_a)
    results = {}
    for m, h in (("v", v_o), ("a", a_o)):
        q = f_l
        for i in range(layers):
            p = f"AVL.l{m}_cma_network.{i}"
            q = q + released_attention(s, f"{p}.self_attn", ln(s, f"{p}.sublayer.0.norm", q), h, h, 1)[0]
            scores = released_attention(s, f"{p}.self_attn", q, h, h, 1)[1]
            q = q + lin(
                s, f"{p}.feed_forward.w_2", F.relu(lin(s, f"{p}.feed_forward.w_1", ln(s, f"{p}.sublayer.1.norm", q)))
            )
        results[m] = (
            torch.sigmoid(lin(s, f"fc_l{m}", q).squeeze(-1)),
            torch.sigmoid(scores.mean(dim=1).permute(0, 2, 1)),
        )
    (v_prob, v_frame), (a_prob, a_frame) = results["v"], results["a"]
    a_on, v_on = (a_prob >= 0.5).float(), (v_prob >= 0.5).float()
    return a_on + v_on - a_on * v_on, a_prob, v_prob, torch.stack([a_frame, v_frame], dim=2)


# ----- the tests -----------------------------------------------------------------------------

CASES = {
    "han": (han_shapes, lambda s, *x: released_han(s, *x, layers=1)),
    "jomold": (jomold_shapes, lambda s, *x: released_han(s, *x, layers=2, update_inputs=True)),
    "mm-pyramid": (mm_pyramid_shapes, released_mm_pyramid),
}


@pytest.mark.parametrize("method", list(CASES))
def test_released_checkpoint_gives_released_outputs(method, tmp_path):
    shapes, released_forward = CASES[method]
    state = random_state(shapes(), seed=3)
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": state} if method == "jomold" else state, path)
    model = load_reference_checkpoint(method, path, audio_path="reference")
    assert not model.training
    inputs = han_inputs()
    with torch.no_grad():
        ours = model(*inputs)
        global_prob, a_prob, v_prob, frame_prob = released_forward(state, *inputs)
    for name, theirs in (
        ("global_prob", global_prob),
        ("a_prob", a_prob),
        ("v_prob", v_prob),
        ("frame_prob", frame_prob),
    ):
        torch.testing.assert_close(getattr(ours, name), theirs, rtol=1e-4, atol=1e-5, msg=name)


def test_released_leap_checkpoint_gives_released_outputs(tmp_path):
    state = random_state(leap_shapes(), seed=4)
    torch.save(state, tmp_path / "leap.pt")
    table = torch.randn(C, DL, generator=torch.Generator().manual_seed(5))
    model = load_reference_checkpoint("leap", tmp_path / "leap.pt", label_table=table)
    inputs = han_inputs()
    with torch.no_grad():
        ours = model(*inputs)
        global_prob, a_prob, v_prob, frame_prob = released_leap(state, *inputs, table.expand(3, -1, -1))
    torch.testing.assert_close(ours.a_prob, a_prob, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.v_prob, v_prob, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.frame_prob, frame_prob, rtol=1e-4, atol=1e-5)
    assert torch.equal(ours.global_prob, global_prob)


@pytest.mark.parametrize(
    "method,shapes",
    [("han", han_shapes), ("jomold", jomold_shapes), ("mm-pyramid", mm_pyramid_shapes), ("leap", leap_shapes)],
)
def test_every_released_tensor_is_used_once_or_documented(method, shapes):
    state = random_state(shapes())
    mapped, unused, aliases = reference_to_ours(method, state)
    assert len(mapped) + len(unused) + len(aliases) == len(state)
    model = load_reference_checkpoint(method, state, label_table=torch.zeros(C, DL))
    own = {
        k
        for k in model.state_dict()
        if k not in ("label_table", "table_set") and not k.startswith(("noise_ratio", "denoise_"))
    }
    assert set(mapped) == own  # a bijection between the used released tensors and our weights
    for key in unused:  # only the modules the released forward never calls
        assert any(__import__("re").search(p, key) for p in UNUSED[method])
    # HAN: three 12-tensor encoder layers + cmt_encoder's two norms; MM-Pyramid: two 14-tensor
    # templates + an unused layer_norm (2 tensors) in each of 4 x 3 level layers and 2 fusion
    # layers; LEAP: those, AVL's template and the layer_norm of its 2 x 2 decoder layers.
    expected_unused = {
        "han": 3 * 12 + 4,
        "jomold": 0,
        "mm-pyramid": 2 * 14 + 2 * (4 * 3 + 2),
        "leap": 3 * 14 + 2 * (4 * 3 + 2) + 2 * 4,
    }
    assert len(unused) == expected_unused[method]


def test_a_checkpoint_that_does_not_fit_is_one_clear_error(tmp_path):
    state = random_state(jomold_shapes())
    del state["hat_encoder.layers.0.linear1.bias"]
    with pytest.raises(ConfigError, match="our parameters with no released tensor"):
        load_reference_checkpoint("jomold", state)
    state = random_state(mm_pyramid_shapes())
    state["MMP.capture.vnetwork.0.net.0.weight"] = state["MMP.capture.vnetwork.0.net.0.weight"] + 1
    with pytest.raises(ConfigError, match="should repeat"):
        load_reference_checkpoint("mm-pyramid", state)
    with pytest.raises(ConfigError, match="no such file"):
        load_reference_checkpoint("han", tmp_path / "missing.pt")
    with pytest.raises(ConfigError, match="unknown method"):
        load_reference_checkpoint("valor", tmp_path / "missing.pt")
