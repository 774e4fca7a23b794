# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. VALOR++, step by step
#
# LINK is VALOR++ (Lai et al., NeurIPS'23) with three modules inserted between its input
# projections and its encoder. This page walks through the baseline as
# `linkpaper.models.build_model("valor++")` implements it (a re-implementation of VALOR's
# `MMIL_Net` whose parameter names and shapes are those of the released checkpoints):
# the parameters, the two forms of the CLAP audio input, one forward pass with the shape of
# every tensor, the attentive MMIL heads, the shared, sequential HAN encoder, the loss terms
# and the inference rule.
#
# **Data.** SynthLLP small, seed 0 (synthetic features, LLP's real val ground truth; see
# chapter 3) through `linkpaper.data.sources.load_data`; random CLAP-shaped maps
# (illustrative) for the audio-pooling check; and a VALOR++ trained here for `epochs` epoch(s)
# on SynthLLP small (CPU, seed 87). The paper trains 60 epochs on LLP's released features;
# its numbers are quoted as (reported).

# %% tags=["parameters"]
data = "synth:small"  # data spec: synth:PRESET[:SEED] or llp:/path/to/valor_features
seed = 87  # model initialisation and training seed (VALOR++'s own seed is 87)
epochs = 1  # training epochs of the walk-through model (the paper: 60)
train_videos = 1000  # training videos used (SynthLLP small has 2,000); None = all
device = "cpu"  # cpu or cuda
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %%
import dataclasses
import time
import warnings

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch

from linkpaper.book import viz
from linkpaper.classes import CLASSES
from linkpaper.data.sources import load_data
from linkpaper.engine import TrainConfig, fit, recipe_warmup
from linkpaper.losses import compute_losses
from linkpaper.metrics import binarize_predictions, evaluate_predictions, evaluate_probs
from linkpaper.models import audio_pooling_matrix, build_model, pool_audio_maps
from linkpaper.book.modelviz import curves_figure, heatmaps_figure
from linkpaper.book.probe import parameter_counts, trace_forward

torch.set_num_threads(1)  # same numbers on every machine
warnings.filterwarnings(
    "ignore", message="IProgress not found"
)  # tqdm without ipywidgets
avvp = load_data(data, data_dir=data_dir)
SOURCE = avvp.describe()
print(SOURCE)

# %% [markdown]
# ## Parameters
#
# Seven linear layers and a 4-layer HAN encoder, H = 256. The per-module counts match
# {ref}`the reference network <ref-valor-network>` (fc_a 196,864, one HAN layer 1,052,928, total 4,888,395). The two
# final LayerNorms of the encoder belong to VALOR's unused pre-norm branch: they are in the
# state dict (so released checkpoints load strictly) but never applied.

# %%
torch.manual_seed(seed)
model = build_model("valor++")
ROLES = {
    "fc_prob": "H -> 25: segment classifier (logits)",
    "fc_frame_att": "H -> 25: temporal attention logits",
    "fc_av_att": "H -> 25: modality attention logits",
    "fc_a": "768 -> H: CLAP audio projection",
    "fc_v": "768 -> H: CLIP image projection",
    "fc_st": "512 -> H: R(2+1)D projection",
    "fc_fusion": "2H -> H: fuses the two visual streams",
    "hat_encoder.final_norm_a": "LayerNorm, in the state dict but never applied",
    "hat_encoder.final_norm_v": "LayerNorm, in the state dict but never applied",
}
counts = parameter_counts(model, expand=("hat_encoder",))
params = pd.DataFrame(
    {
        "role": [
            ROLES.get(
                name,
                "HAN layer: self- and cross-attention (8 heads), FFN 1024, "
                "2 LayerNorms",
            )
            for name in counts
        ],
        "parameters": list(counts.values()),
    },
    index=pd.Index(list(counts), name="VALOR++ module (H = 256, no data)"),
)
params.loc["total"] = ["", params["parameters"].sum()]
params

# %% [markdown]
# ## The audio input: (64, 768) maps or (10, 768) pooled features
#
# The released CLAP features are (64, 768) HTS-AT token maps: 2 frequency groups × 32 time
# steps. VALOR++ upsamples time 32 → 1024 (bicubic), applies fc_a, averages the two
# frequency groups and pools 1024 → 10 segments. Upsampling, the mean and the pooling are
# linear maps whose weights sum to one, so they commute with the affine fc_a: the whole path
# is fc_a(M · audio) for one fixed (10, 64) matrix M (`linkpaper.models.audio_pooling`).
# Each segment reads about 3.2 time steps of both frequency groups, plus a little of its
# neighbours (the bicubic kernel has negative lobes).

# %%
M = audio_pooling_matrix()
fig = heatmaps_figure(
    {"M (10 segments x 64 CLAP tokens)": M},
    source="fixed matrix of the model, no data",
    title="Audio pooling: token weights per segment",
    xlabel="CLAP token (0-31: frequency group 0, 32-63: group 1; time within each)",
    ylabel="segment",
    cmap="RdBu_r",
    vmin=-float(M.abs().max()),
    vmax=float(M.abs().max()),
    panel_size=(9.0, 2.6),
)
plt.show()
pd.DataFrame(
    {
        "row sum": M.sum(1).numpy(),
        "most negative weight": M.min(1).values.numpy(),
        "tokens with weight > 0.01": (M > 0.01).sum(1).numpy(),
    }
).rename_axis("segment (no data)").round(4).T

# %% [markdown]
# The shortcut against the original order of operations, on random maps shaped like the
# released features (`audio_path="reference"` runs upsample → fc_a → mean → pool), with the
# same weights. In float64 the two agree to rounding; in float32 to a few 1e-7 relative. A
# model fed pre-pooled (10, 768) features (`pool_audio_maps`, what SynthLLP and the feature
# cache store) gives exactly the fast path's result.

# %%
generator = torch.Generator().manual_seed(0)
maps = torch.randn(4, 64, 768, generator=generator)
reference = build_model("valor++", audio_path="reference")
reference.load_state_dict(model.state_dict())
rows = {}
with torch.no_grad():
    for dtype in (torch.float32, torch.float64):
        fast_model, ref_model = model.to(dtype), reference.to(dtype)
        x = maps.to(dtype)
        fast, slow = fast_model.embed_audio(x), ref_model.embed_audio(x)
        pooled = fast_model.embed_audio(pool_audio_maps(x))
        rows[str(dtype).replace("torch.", "")] = {
            "max |fast - reference|": float((fast - slow).abs().max()),
            "max |reference|": float(slow.abs().max()),
            "max |pooled input - fast|": float((pooled - fast).abs().max()),
        }
    model.float()
pd.DataFrame(rows).T.rename_axis("4 random (64, 768) maps (illustrative)")

# %% [markdown]
# Besides being exact, the shortcut is cheap: the reference path materialises a (B, 768, 2,
# 1024) upsampled tensor (1.5 M values per video) where the fast path reads a (10, 768) one,
# and a feature cache can store 7.7 k values per video instead of 49 k.

# %% [markdown]
# ## One forward pass
#
# Four validation videos of SynthLLP through the untrained model. `trace_forward`
# (`linkpaper.book.probe`) records the intermediate tensors with forward hooks; the outputs are
# what every model of the grid returns (`AVVPOutput`). B = 4 videos, T = 10 segments,
# H = 256, C = 25 classes; the modality axis of size 2 holds audio (0) and visual (1).

# %%
batch = avvp.val.subset(slice(0, 4))
output, trace = trace_forward(model, batch.audio, batch.visual, batch.visual_3d)
MEANING = {
    "audio": "input: pooled CLAP features",
    "visual": "input: CLIP image features",
    "visual_3d": "input: R(2+1)D features",
    "x_a": "fc_a(audio)",
    "x_v": "fc_fusion([fc_v(visual); fc_st(visual_3d)])",
    "hidden_a": "HAN encoder output, audio",
    "hidden_v": "HAN encoder output, visual",
    "frame_logits": "fc_prob(hidden), per segment and modality",
    "frame_prob": "sigmoid(frame_logits)",
    "frame_att": "softmax over time of fc_frame_att(hidden)",
    "av_att": "softmax over modality of fc_av_att(hidden)",
    "a_prob": "sum_t frame_att * frame_prob, audio",
    "v_prob": "sum_t frame_att * frame_prob, visual",
    "global_prob": "sum_t sum_m frame_att * frame_prob * av_att",
}
tensors = {
    "audio": batch.audio,
    "visual": batch.visual,
    "visual_3d": batch.visual_3d,
    **trace,
    **{
        name: getattr(output, name)
        for name in ("frame_logits", "frame_prob", "a_prob", "v_prob", "global_prob")
    },
}
pd.DataFrame(
    {
        "shape": {k: str(tuple(tensors[k].shape)) for k in MEANING},
        "computed as": MEANING,
    }
).rename_axis(f"tensor [4 val videos of {SOURCE}]")

# %% [markdown]
# ## A short training run
#
# The rest of the page looks at a model that has learnt something: VALOR++ trained with the
# engine (`linkpaper.engine.train`, VALOR++'s recipe, batch 64, AdamW 3e-4) for `epochs`
# epoch(s) on the first `train_videos` (1,000) of SynthLLP small's 2,000 training videos, CPU,
# seed 87, to keep this page under half a minute; with batches of 32 instead of 64, so the
# epoch still takes 32 optimiser steps. The full recipe is 60 epochs with a
# 10-epoch warm-up (`python -m linkpaper train --model valor++`).

# %%
tic = time.perf_counter()
config = TrainConfig(
    model="valor++",
    data=data,
    data_dir=data_dir,
    epochs=epochs,
    warmup_epochs=recipe_warmup(epochs),
    seed=seed,
    device=device,
    num_threads=1,
    batch_size=32,
)
subset = dataclasses.replace(avvp, train=avvp.train.subset(slice(0, train_videos)))
# the best epoch's weights
fitted = fit(config, data=subset, evaluate_test=False, progress=False)
record, trained = fitted.record, fitted.model
val = avvp.val.to(device)
with torch.no_grad():  # one pass over the validation split, reused below
    val_out = trained.eval()(val.audio, val.visual, val.visual_3d)
frame_prob, video_prob = (
    val_out.frame_prob.cpu(),
    val_out.global_prob.clamp(max=1.0).cpu(),
)  # as engine.predict
val_scores = evaluate_probs(frame_prob, video_prob, val.gt_audio, val.gt_visual)
seconds = time.perf_counter() - tic
TRAINED = (
    f"VALOR++ trained {epochs} epoch(s) on {len(subset.train)} videos (batch 32), "
    f"seed {seed}, {SOURCE}"
)
pd.DataFrame(
    [
        {**e["train_loss"], "val Seg Type@AV": e["val_type_av"]}
        for e in record["epochs"]
    ],
    index=pd.Index([e["epoch"] for e in record["epochs"]], name=f"epoch [{TRAINED}]"),
).round(4)

# %% tags=["nbval-ignore-output"]
print(f"trained and evaluated in {seconds:.1f} s")

# %%
viz.scores_frame(
    {"VALOR++ (val, synthetic)": val_scores},
    source=f"{TRAINED}; val = LLP val GT (real)",
)

# %% [markdown]
# ## The attentive MMIL heads
#
# Three linear heads read the encoder output h (B, T, 2, H):
#
# * frame_prob = sigmoid(fc_prob(h)): is class c present in segment t of modality m?
# * frame_att = softmax over t of fc_frame_att(h): which segments speak for the whole video;
# * av_att = softmax over m of fc_av_att(h): which modality speaks for segment t;
# * global_prob[c] = Σ_t Σ_m frame_att · frame_prob · av_att, trained against the weak label.
#
# The figure shows them for one validation video, for its two weak-label classes. After one
# short epoch the temporal attention is still close to uniform (1/10 per segment); the
# modality attention already leans towards audio for the speech this video only lets us
# hear, and the segment probabilities begin to follow the ground truth below it.

# %%
index = 1  # a val video with a class that is only heard or only seen
video = avvp.val.subset([index])
out1, trace1 = trace_forward(
    trained, video.audio.to(device), video.visual.to(device), video.visual_3d.to(device)
)
weak = torch.nonzero(video.weak[0]).flatten().tolist()
t = np.arange(10)
panels = {}
for c in weak:
    panels[CLASSES[c]] = {
        "frame_prob audio": (t, out1.frame_prob[0, :, 0, c]),
        "frame_prob visual": (t, out1.frame_prob[0, :, 1, c]),
        "frame_att audio": (t, trace1["frame_att"][0, :, 0, c]),
        "frame_att visual": (t, trace1["frame_att"][0, :, 1, c]),
        "av_att (audio share)": (t, trace1["av_att"][0, :, 0, c]),
    }
fig = curves_figure(
    panels,
    source=f"{video.filenames[0]} of {TRAINED}",
    title="MMIL heads of one validation video",
    xlabel="segment",
    markers=True,
    panel_size=(5.0, 3.0),
)
plt.show()
gt = {"GT audio": video.gt_audio[0], "GT visual": video.gt_visual[0]}
fig = viz.timeline_figure(
    gt,
    source=f"{video.filenames[0]}: LLP val GT (real)",
    classes=weak,
    title="Ground truth of the same video",
)
plt.show()
print(
    {
        CLASSES[c]: {
            "global_prob": round(float(out1.global_prob[0, c]), 3),
            "a_prob": round(float(out1.a_prob[0, c]), 3),
            "v_prob": round(float(out1.v_prob[0, c]), 3),
        }
        for c in weak
    }
)

# %% [markdown]
# global_prob is a weighted sum, not an average: frame_att sums to 1 over time for *each*
# modality and av_att to 1 over the two modalities for *each* segment, so the weights
# frame_att · av_att can sum to up to 2 (each modality's attention on a segment the modality
# attention gives to it). VALOR clamps global_prob to [1e-7, 1 - 1e-7] before the BCE, and
# `linkpaper.engine.predict` clamps it to [0, 1] before the ≥ 0.5 gate (which the clamp
# does not change; this page does the same). The largest value on the validation split:

# %%
raw = val_out.global_prob
print(
    f"max global_prob over {len(avvp.val)} val videos x 25 classes: "
    f"{float(raw.max()):.4f} "
    f"({int((raw > 1).sum())} values above 1) [{TRAINED}]"
)

# %% [markdown]
# ## The HAN encoder: shared weights, sequential updates
#
# Each of the 4 layers is one `HANLayer` object used for both modalities: first
# x_a ← layer(x_a, x_v), then x_v ← layer(x_v, x_a) with the *updated* x_a. The original HAN
# updated both from the old values. Replaying the layers by hand on the traced encoder input
# reproduces the encoder exactly in the sequential order, and not in the parallel one:

# %%
x_a, x_v = trace1["encoder_in_a"], trace1["encoder_in_v"]
with torch.no_grad():
    a, v = x_a, x_v
    for (
        layer
    ) in trained.hat_encoder.layers:  # VALOR++: visual attends to the updated audio
        a = layer(a, v)
        v = layer(v, a)
    a2, v2 = x_a, x_v
    for layer in trained.hat_encoder.layers:  # original HAN: both from the old values
        a2, v2 = layer(a2, v2), layer(v2, a2)
pd.DataFrame(
    {
        "max |replay - encoder|, audio": [
            float((a - trace1["hidden_a"]).abs().max()),
            float((a2 - trace1["hidden_a"]).abs().max()),
        ],
        "max |replay - encoder|, visual": [
            float((v - trace1["hidden_v"]).abs().max()),
            float((v2 - trace1["hidden_v"]).abs().max()),
        ],
    },
    index=pd.Index(
        ["sequential (a, then v)", "parallel (HAN)"],
        name=f"replay [{video.filenames[0]}, {TRAINED}]",
    ),
)

# %% [markdown]
# ## The loss
#
# L = L_video + L_a + L_v, each mean-reduced:
#
# * L_video = BCE(global_prob, weak labels) (B, 25);
# * L_a, L_v = BCE-with-logits of frame_logits[:, :, m] against the **gated** segment pseudo
#   labels (CLAP for audio, CLIP for visual, AND-ed with the weak labels) (B, 10, 25).
#
# a_prob and v_prob are not used by VALOR++'s loss (LINK's L_label uses them, chapter 6).
# The terms on the first 64 training videos, with the untrained and the trained weights:

# %%
train_batch = avvp.train.subset(slice(0, 64))
batch_tensors = train_batch.tensor_fields()
losses = {}
for name, m in (("untrained", model), (f"trained {epochs} epoch(s)", trained)):
    m.eval()
    with torch.no_grad():
        out = m(
            batch_tensors["audio"], batch_tensors["visual"], batch_tensors["visual_3d"]
        )
        losses[name] = {
            k: float(v) for k, v in compute_losses(m, out, batch_tensors).items()
        }
pd.DataFrame(losses).T.round(4).rename_axis(
    f"VALOR++ loss terms [64 train videos of {SOURCE}]"
)

# %% [markdown]
# ## Inference: frame ≥ 0.5 AND video ≥ 0.5
#
# A class is predicted in segment t of modality m when frame_prob ≥ 0.5 **and** the video
# probability global_prob ≥ 0.5 (`linkpaper.metrics.binarize_predictions`). The video gate
# removes segment predictions of classes the video-level head rejects; without it the
# segment head alone decides. Both on the validation split:

# %%
pred_a, pred_v = binarize_predictions(frame_prob, video_prob)
ungated_a, ungated_v = frame_prob[:, :, 0] >= 0.5, frame_prob[:, :, 1] >= 0.5
gating = pd.DataFrame(
    {
        "predicted (segment, class) cells, audio": [
            int(ungated_a.sum()),
            int(pred_a.sum()),
        ],
        "predicted cells, visual": [int(ungated_v.sum()), int(pred_v.sum())],
        "GT cells, audio": [int(avvp.val.gt_audio.sum())] * 2,
        "GT cells, visual": [int(avvp.val.gt_visual.sum())] * 2,
    },
    index=pd.Index(
        ["frame >= 0.5 only", "frame >= 0.5 AND video >= 0.5"], name=f"val [{TRAINED}]"
    ),
)
gating

# %%
viz.scores_frame(
    {
        "frame >= 0.5 only": evaluate_predictions(
            ungated_a, ungated_v, avvp.val.gt_audio, avvp.val.gt_visual
        ),
        "frame >= 0.5 AND video >= 0.5 (VALOR++)": evaluate_predictions(
            pred_a, pred_v, avvp.val.gt_audio, avvp.val.gt_visual
        ),
    },
    source=f"val F-scores [{TRAINED}]",
)

# %%
fig = viz.timeline_figure(
    {"GT audio": avvp.val.gt_audio[index], "pred audio": pred_a[index],
     "GT visual": avvp.val.gt_visual[index], "pred visual": pred_v[index]},
    source=f"{avvp.val.filenames[index]}: LLP val GT (real), predictions of {TRAINED}",
    classes=weak, title="Predictions after the gate",
)
plt.show()

# %% [markdown]
# On LLP, with 60 epochs on the released features, VALOR++ reaches segment-level
# 68.1 / 68.4 / 61.9 (audio / visual / audio-visual F, LLP test, reported). The numbers above
# are one epoch on synthetic features; chapters 8-9 train the whole ablation grid.
