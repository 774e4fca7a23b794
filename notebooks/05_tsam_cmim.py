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
# # 5. TSAM and CMIM: attention before the encoder
#
# The "T" of the paper's ablations switches on two modules that act on the projected
# features x_a, x_v (B, T, H) before VALOR++'s HAN encoder:
#
# **TSAM** (eqs 1-3), CBAM-style, one per modality, on $f = x_m \in \mathbb{R}^{T\times H}$:
#
# $$
# W = \sigma\big(\mathrm{MLP}(\mathrm{mean}_H f) + \mathrm{MLP}(\max_H f)\big) \in \mathbb{R}^{T\times 1}
# \tag{1}
# $$
#
# one weight per segment, {py:class}`~linkpaper.models.link.TemporalAttention`;
#
# $$
# S(f') = \sigma\big(\mathrm{Conv1d}_7([\mathrm{mean}_T f';\ \max_T f'])\big) \in \mathbb{R}^{1\times H}
# \tag{2}
# $$
#
# one weight per channel, {py:class}`~linkpaper.models.link.SpatialAttention`;
#
# $$
# f' = W \otimes f, \qquad \hat f = S(f') \otimes f' \quad \text{(no residual)}
# \tag{3}
# $$
#
# {py:class}`~linkpaper.models.link.TSAM`. MLP: T → T/2 → T with ReLU, shared by the two
# pooled descriptors. *Decisions:* the paper's "sigmoid of the concatenation" needs a learned
# map from two descriptors to one (CBAM's size-7 convolution), and eq 3's fᵃ on both
# modalities is read as fᵐ.
#
# **CMIM** (eqs 4-6), four learnable scalars initialised to 1,
# {py:class}`~linkpaper.models.link.CMIM`:
#
# $$
# f_{ac} = f_a + \alpha_2\,\mathrm{softmax}\Big(\frac{f_a f_v^\top}{\sqrt{H}}\Big)(\beta_2 f_v)
# \tag{4}
# $$
#
# $$
# f_{vc} = f_v + \alpha_1\,\mathrm{softmax}\Big(\frac{f_v f_a^\top}{\sqrt{H}}\Big)(\beta_1 f_a)
# \tag{5}
# $$
#
# $$
# f_{a,\mathrm{out}} = f_a + f_{ac}, \qquad f_{v,\mathrm{out}} = f_v + f_{vc}
# \tag{6}
# $$
#
# Eq 6 is taken literally: f enters twice. The softmax runs over the key axis; the attention
# maps are (B, T, T). *Decision:* the 1/√H scale (the paper omits it; unscaled 256-d dot
# products saturate the softmax). The {doc}`../book/decisions` page gives the alternatives.
#
# **Data.** SynthLLP small, seed 0 (synthetic features, LLP's real val ground truth); a "+T"
# model trained here for `steps` optimiser steps on 1,000 training videos (CPU, seed 87); and
# the run records of the ablation grid, SynthLLP small grid, 6 epochs, seeds 87-89
# (synthetic), read from `../results/synth_small_grid/`.

# %% tags=["parameters"]
data = "synth:small"  # data spec: synth:PRESET[:SEED] or llp:/path/to/valor_features
seed = 87  # model initialisation and training seed
seeds = [87, 88, 89]  # training seeds of the grid records shown
steps = 32  # optimiser steps of the demonstration (one epoch: 1,000 videos, batch 32)
train_videos = 1000  # training videos used (SynthLLP small has 2,000); None = all
grid_dir = "../results/synth_small_grid"  # grid run records, relative to notebooks/
device = "cpu"  # cpu or cuda
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %%
import dataclasses
import time

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch

from linkpaper.book import viz
from linkpaper.classes import CLASSES
from linkpaper.data.sources import load_data
from linkpaper.engine import TrainConfig, fit
from linkpaper.models import build_model
from linkpaper.book.modelviz import curves_figure, heatmaps_figure
from linkpaper.book.probe import (
    epoch_series,
    grid_records,
    missing_grid_message,
    parameter_counts,
    trace_forward,
)

torch.set_num_threads(1)
avvp = load_data(data, data_dir=data_dir)
SOURCE = avvp.describe()
GRID = "SynthLLP small grid, 6 epochs, seeds 87-89 (synthetic)"

# %% [markdown]
# ## Parameters
#
# Both modules are tiny: TSAM's MLP has (10·5 + 5) + (5·10 + 10) = 115 weights and its
# convolution 2·7 + 1 = 15, per modality; CMIM has its four scalars. Everything else is
# VALOR++'s.

# %%
torch.manual_seed(seed)
untrained = build_model("+T")
counts = parameter_counts(untrained)
extra = {
    name: n
    for name, n in counts.items()
    if name in ("tsam_audio", "tsam_visual", "cmim")
}
pd.Series(
    {
        **extra,
        "VALOR++ part": sum(counts.values()) - sum(extra.values()),
        "total (+T)": sum(counts.values()),
    },
    name="parameters",
).to_frame().rename_axis("+T module (no data)")

# %% [markdown]
# ## A short training run, step by step
#
# The engine's training loop (`linkpaper.engine.fit`: AdamW 3e-4, betas (0.5, 0.999), weight
# decay 1e-3, clipping at 1.0, seed 87) calls `on_step` after every optimiser step; here it
# records the four CMIM scalars and the step's losses, and `max_steps` ends the run there.
# Here: `steps` steps (at most one epoch) on the first 1,000 SynthLLP training videos with
# batches of 32 (the recipe's 64 would give half as many steps in the same time).

# %%
tic = time.perf_counter()
subset = dataclasses.replace(avvp, train=avvp.train.subset(slice(0, train_videos)))
config = TrainConfig(
    model="+T",
    data=data,
    data_dir=data_dir,
    epochs=1,
    warmup_epochs=1,
    batch_size=32,
    seed=seed,
    device=device,
)
scalars = ("alpha1", "alpha2", "beta1", "beta2")
# the initial values
rows = [{"step": 0, **{k: getattr(untrained.cmim, k).item() for k in scalars}}]


def watch(step):
    rows.append(
        {
            "step": step.step,
            **{k: getattr(step.model.cmim, k).item() for k in scalars},
            **{f"loss_{k}": v.item() for k, v in step.losses.items()},
        }
    )


model = fit(config, data=subset, max_steps=steps, on_step=watch, progress=False).model
history = pd.DataFrame(rows).set_index("step")
seconds = time.perf_counter() - tic
RUN = (
    f"+T, {steps} steps on {len(subset.train)} videos (batch 32), seed {seed}, {SOURCE}"
)
history["alpha1·beta1"] = history["alpha1"] * history["beta1"]
history["alpha2·beta2"] = history["alpha2"] * history["beta2"]
fig = curves_figure(
    {
        "CMIM scalars (β1 covers α1, β2 covers α2)": {
            k: (history.index, history[k]) for k in scalars
        },
        "products": {
            k: (history.index, history[k]) for k in ("alpha1·beta1", "alpha2·beta2")
        },
        "training loss": {"total": (history.index[1:], history["loss_total"].iloc[1:])},
    },
    source=RUN,
    title="CMIM's scalars during training",
    xlabel="optimiser step",
    panel_size=(4.0, 3.0),
)
plt.show()
history.loc[
    [0, 1, 2, steps // 2, steps],
    [
        "alpha1",
        "beta1",
        "alpha2",
        "beta2",
        "alpha1·beta1",
        "alpha2·beta2",
        "loss_total",
    ],
].round(6).rename_axis(f"step [{RUN}]")

# %% tags=["nbval-ignore-output"]
print(f"trained in {seconds:.1f} s")

# %% [markdown]
# α1 and β1 (and α2 and β2) stay **exactly equal**. Both start at 1, and as printed they only
# appear as the product α·β: with g = ∂L/∂(αβ), ∂L/∂α = β·g and ∂L/∂β = α·g are equal
# whenever α = β, so AdamW (whose weight decay is the same for both) moves them identically,
# step after step. The four scalars are two degrees of freedom, and with this
# initialisation the split between α and β is fixed: α = β = √(αβ).
#
# Only the products matter: moving α up and β down by the same factor leaves the model's
# output unchanged (to float rounding):

# %%
batch = avvp.val.subset(slice(0, 32))
model.eval()
with torch.no_grad():
    before = model(batch.audio, batch.visual, batch.visual_3d)
    saved = {k: getattr(model.cmim, k).detach().clone() for k in scalars}
    model.cmim.alpha1.mul_(4.0)
    model.cmim.beta1.div_(4.0)
    model.cmim.alpha2.mul_(0.1)
    model.cmim.beta2.div_(0.1)
    after = model(batch.audio, batch.visual, batch.visual_3d)
    for k in scalars:
        getattr(model.cmim, k).copy_(saved[k])
pd.Series(
    {
        "max |Δ frame_prob|": float((after.frame_prob - before.frame_prob).abs().max()),
        "max |Δ global_prob|": float(
            (after.global_prob - before.global_prob).abs().max()
        ),
    },
    name="α1 × 4, β1 / 4, α2 × 0.1, β2 / 0.1",
).to_frame().rename_axis(f"32 val videos [{RUN}]")

# %% [markdown]
# ## TSAM on real validation timelines
#
# The temporal weights W (B, T, 1) of the trained model for six validation videos, next to
# how many classes the ground truth has in each segment. TSAM's temporal MLP sees only the
# mean and the max of each segment's feature vector. The stripes show what it makes of
# them here: almost the same weights for every video, set by segment position (the MLP's
# random initial weights and biases dominate its small inputs), not by what happens in the
# segment.

# %%
val = avvp.val
out, trace = trace_forward(model, val.audio, val.visual, val.visual_3d)
pick = list(range(6))
names = [val.filenames[i][:11] for i in pick]
fig = heatmaps_figure(
    {
        "W audio (TSAM)": trace["tsam_W_a"][pick, :, 0],
        "GT audio: classes per segment": val.gt_audio[pick].sum(-1),
        "W visual (TSAM)": trace["tsam_W_v"][pick, :, 0],
        "GT visual: classes per segment": val.gt_visual[pick].sum(-1),
    },
    source=f"6 val videos: W from {RUN}; GT: LLP val (real)",
    title="TSAM temporal weights and the timelines",
    xlabel="segment",
    ylabel="video",
    yticks=names,
    panel_size=(3.0, 2.4),
)
plt.show()

# %% [markdown]
# Over the whole validation split: the spread of W and S, the share of W's variance that
# the segment position alone explains (variance of the per-position mean over the total
# variance), and the correlation of W[t] with the number of ground-truth classes in segment
# t. The spatial weights S hardly vary: after this short run (and in the grid's 6 epochs,
# below) they stay close to σ(conv) ≈ 0.5 for every channel, an almost uniform rescaling.

# %%
rows = {}
for m, gt in (("a", val.gt_audio), ("v", val.gt_visual)):
    w = trace[f"tsam_W_{m}"][:, :, 0].numpy()
    s = trace[f"tsam_S_{m}"][:, 0, :].numpy()
    rows["audio" if m == "a" else "visual"] = {
        "W mean": w.mean(),
        "W std": w.std(),
        "W min": w.min(),
        "W max": w.max(),
        "S mean": s.mean(),
        "S std": s.std(),
        "share of W variance from position": w.mean(0).var() / w.var(),
        "corr(W[t], GT classes at t)": np.corrcoef(w.ravel(), gt.sum(-1).ravel())[0, 1],
    }
pd.DataFrame(rows).T.round(4).rename_axis(
    f"modality [{len(val)} val videos, {RUN}; GT LLP val (real)]"
)

# %% [markdown]
# ## CMIM attention maps
#
# For one video: softmax(f_a f_vᵀ/√H), row i = how audio segment i spreads its attention over
# the visual segments, and the reverse map; below, the video's ground truth. In this short
# run the maps are practically uniform: the projected SynthLLP features are small (and TSAM
# roughly quarters them), so the scaled dot products are far below 1 and the softmax returns
# about 1/10 everywhere (LLP's CLAP/CLIP features have other scales; this is a property of
# this model on these features, not of CMIM in general). CMIM then adds α·β times the video-mean of the other stream to every
# segment: a global cross-modal context rather than a segment-to-segment alignment.

# %%
index = 1
fig = heatmaps_figure(
    {
        "audio → visual: softmax(f_a f_vᵀ/√H)": trace["cmim_attn_av"][index],
        "visual → audio: softmax(f_v f_aᵀ/√H)": trace["cmim_attn_va"][index],
    },
    source=f"{val.filenames[index]}, {RUN}",
    title="CMIM attention (rows: queries, columns: keys)",
    xlabel="key segment",
    ylabel="query segment",
    vmin=0,
    panel_size=(3.6, 3.0),
)
plt.show()
weak = torch.nonzero(val.weak[index]).flatten().tolist()
fig = viz.timeline_figure(
    {"GT audio": val.gt_audio[index], "GT visual": val.gt_visual[index]},
    source=f"{val.filenames[index]}: LLP val GT (real)",
    classes=weak,
    title="Ground truth of the same video",
)
plt.show()
logits = (
    trace["cmim_in_a"]
    @ trace["cmim_in_v"].transpose(1, 2)
    / np.sqrt(trace["cmim_in_a"].shape[-1])
)
pd.Series(
    {
        "std of the logits f_a f_vᵀ/√H": float(logits.std()),
        "max |attention − 1/10|": float((trace["cmim_attn_av"] - 0.1).abs().max()),
        "max |attention − 1/10|, reverse map": float(
            (trace["cmim_attn_va"] - 0.1).abs().max()
        ),
    },
    name="value",
).to_frame().rename_axis(f"CMIM attention over {len(val)} val videos [{RUN}]")

# %% [markdown]
# ## The scalars and TSAM's weights in the grid runs
#
# Per-epoch diagnostics of every grid run with "T" (+T, +T+S, +T+P, LINK), each the mean
# over the epoch's training steps of the value the forward passes saw.

# %%
records = grid_records(grid_dir, ["+T", "+T+S", "+T+P", "link"], seeds)
if not records:
    print(missing_grid_message(grid_dir))
else:
    series = {
        k: epoch_series(records, k) for k in ("alpha1", "beta1", "alpha2", "beta2")
    }
    fig = curves_figure(
        {k: series[k] for k in ("alpha1", "alpha2")},
        source=GRID,
        title="CMIM scalars per epoch (β equals α)",
        xlabel="epoch",
        markers=True,
        panel_size=(4.6, 3.2),
        legend_cols=2,
    )
    plt.show()
    gap = max(
        float((series["alpha1"] - series["beta1"]).abs().max().max()),
        float((series["alpha2"] - series["beta2"]).abs().max().max()),
    )
    print(f"largest |alpha - beta| over all runs and epochs: {gap:.3g} [{GRID}]")
    tsam = {
        k: epoch_series(records, k)
        for k in (
            "tsam_a_temporal_std",
            "tsam_v_temporal_std",
            "tsam_a_spatial_std",
            "tsam_v_spatial_std",
        )
    }
    fig = curves_figure(
        {f"{k.replace('_', ' ')} (within batch)": v for k, v in tsam.items()},
        source=GRID,
        title="Spread of TSAM's weights per epoch",
        xlabel="epoch",
        markers=True,
        panel_size=(3.6, 3.0),
    )
    plt.show()
    last = pd.DataFrame(
        {k: s.ffill().iloc[-1] for k, s in {**series, **tsam}.items()}
    ).round(4)
    display(last.rename_axis(["variant", f"seed [last logged epoch, {GRID}]"]))
    print(
        f"{len(records)} of {4 * len(seeds)} runs found; complete: "
        f"{sum(bool(r.get('complete')) for r in records.values())}"
    )

# %% [markdown]
# In the grid records α = β holds exactly in every run, as the symmetry argument says. The
# scalars move slowly from 1, at most about the learning rate per step: like S-LOSS's μ
# (chapter 6), over 6 short epochs AdamW's step size limits how far they can go. Their
# direction is what the data decides. In these records α2 = β2 (audio ← visual) rises by
# about 0.02 in every run, so α2·β2 ≈ 1.04, while α1 = β1 (visual ← audio) stays within a few
# thousandths of 1: the loss asks for more visual context in the audio stream, not the
# reverse. TSAM's weight spreads are set by the initialisation
# (they differ between seeds, not between variants of the same seed) and barely change
# during training.
