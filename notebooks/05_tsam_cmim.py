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
# :::{admonition} In this chapter
# :class: tip
# **You will learn** why LINK re-weights the segments and channels of each modality (TSAM)
# and lets each stream borrow from the other by a learned amount (CMIM); what eqs 1-6
# compute and which readings of them this book chose; why CMIM's four scalars are really two;
# and what the training records of the ablation grid can and cannot tell about both modules.
#
# **Prerequisites**: {doc}`04_valor` (VALOR++'s projections, HAN encoder and heads, where
# these modules are inserted) and {doc}`03_synthllp` (the synthetic data every model of this
# page is trained on).
#
# **Run time**: about 30 s on two CPU cores with the default parameters.
# :::
#
# **Data.** A hand-made clip (illustrative); SynthLLP small, seed 0 (synthetic features,
# LLP's real val ground truth); a "+T" model (TSAM and CMIM on VALOR++) trained here for 32
# optimiser steps on 1,000 training videos (CPU, seed 87); and the run records of the ablation
# grid, whose schedule and seeds the grid section below reads from the records themselves.

# %% [markdown]
# ## Why: not every moment, channel or stream is worth the same
#
# VALOR++ projects the audio and visual features of each one-second segment and hands them
# straight to its encoder: every segment and every feature channel enters with the same
# weight, and the two streams meet only inside the encoder's cross-modal attention. The
# paper's argument for TSAM is that the segments and channels of each modality are not equally
# informative: a few seconds carry the event, the rest is background, and some channels code
# the event better than others. Its argument for CMIM is that audio and video should interact
# *adaptively*: each stream should be able to use the other where that helps, without being
# forced into alignment, because in these videos what is heard and what is seen often differ.
#
# A concrete case, of the kind the paper's Fig. 1 is about (hand-made; the same clip returns
# in chapters 6 and 7): a narrator is heard for the first eight seconds but never seen, a car
# crosses the picture in seconds 3-6 without being heard, and a dog barks in seconds 7-9 and
# is on screen in seconds 8-9. It is drawn below, after the parameters.
#
# The parameters set the data, the demonstration run and the grid records read at the end:
# `data`, `seed`, `steps` (optimiser steps of the demonstration), `train_videos`, `grid_dir`
# (a folder of grid run records, relative to `notebooks/`), `device`, `precision` (the number
# format of the forward pass), `data_dir`.

# %% tags=["parameters"]
data = "synth:small"  # data spec: synth:PRESET[:SEED] or llp:/path/to/valor_features
seed = 87  # model initialisation and training seed
steps = 32  # optimiser steps of the demonstration (one epoch: 1,000 videos, batch 32)
train_videos = 1000  # training videos used (SynthLLP small has 2,000); None = all
grid_dir = "../results/synth_small_valor_teachers"  # recipe grid records (notebooks/)
device = "cpu"  # cpu or cuda
precision = "fp32"  # fp32, or bf16 (faster on CPUs with bf16 instructions, recent GPUs)
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %% tags=["hide-input"]
import dataclasses
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown

from linkpaper.chapters import tsam_cmim_reading, viz
from linkpaper.chapters.modelviz import Panel, curves_grid, panels_figure
from linkpaper.chapters.probe import (
    epoch_series,
    grid_section,
    misaligned_example,
    parameter_counts,
    trace_forward,
)
from linkpaper.data.sources import load_data
from linkpaper.models import build_model
from linkpaper.training.engine import fit
from linkpaper.training.recipe import TrainConfig

torch.set_num_threads(1)
avvp = load_data(data, data_dir=data_dir)
SOURCE = avvp.describe()
clip = misaligned_example()

# %% tags=["hide-input"]
fig = viz.timeline_figure(
    {"heard (audio labels)": clip["audio"], "seen (visual labels)": clip["visual"]},
    source="hand-made example clip (illustrative)",
    classes=clip["classes"],
    title="A clip whose sound and picture disagree",
)
plt.show()

# %% [markdown]
# *What to look at:* Speech has only an audio line, Car only a visual line, and Dog both,
# shifted by one second. On this clip:
#
# * **TSAM** should give the visual segments with an event (3-6, 8-9) more weight than the
#   empty ones (0-2, 7), and within a segment favour the channels that carry the event; in the
#   audio stream every segment holds an event, so its weights have less to choose between.
# * **CMIM** should let the audio of segments 8-9 draw on the dog that is seen there, but
#   should not make the audio stream "hear" the silent car of segments 3-6. How much one stream
#   takes from the other is therefore learned (the scalars α and β below), not fixed at 1.
#
# ## The idea
#
# TSAM is {term}`CBAM`'s attention (Woo et al., 2018: a channel attention, then a spatial attention,
# each a sigmoid gate) moved from images to a (segment × channel) feature map: one gate per
# segment, then one gate per channel, applied to each modality separately. CMIM is a
# cross-attention in both directions, each stream querying the other's segments, added back
# to the stream with learnable weights. Both sit between VALOR++'s input projections and its
# encoder ({ref}`decision-placement`): they change what the encoder reads, nothing after it.
#
# ## The equations
#
# **TSAM** (eqs 1-3), one per modality, on $f = x_m \in \mathbb{R}^{T\times H}$ (T = 10
# segments, H = 256 channels):
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
# {py:class}`~linkpaper.models.link.TSAM`. The MLP (T → T/2 → T with ReLU) is shared by the two
# pooled descriptors. *Decisions* ({ref}`decision-tsam-spatial`, {ref}`decision-tsam-eq3`):
# the paper's "sigmoid of the concatenation" needs a learned map from two descriptors to one
# (CBAM's size-7 convolution), and eq 3's fᵃ on both modalities is read as fᵐ.
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
# Eq 6 is taken literally: f enters twice. The softmax runs over the key axis, so row i of a
# (T × T) map says how segment i of one stream spreads its attention over the segments of the
# other. *Decisions* ({ref}`decision-cmim`): the 1/√H scale (the paper omits it; unscaled
# 256-d dot products saturate the softmax), and attention over **all** segment pairs: eqs 4-5
# are written per segment t, which also admits a reading in which segment t of one stream
# meets only segment t of the other; the (T × T) reading lets the audio of second 7 (the
# dog's first bark) use the dog seen in second 8. The decisions page gives the
# alternatives ({ref}`decision-cmim-pairs`).
#
# ## The code, on a short training run
#
# The engine's training loop (`linkpaper.training.engine.fit`: AdamW 3e-4, betas (0.5, 0.999), weight
# decay 1e-3, clipping at 1.0, seed 87) calls `on_step` after every optimiser step; here it
# records the four CMIM scalars and the step's losses, and `max_steps` ends the run early. The
# run takes the 32 optimiser steps of one epoch over the first 1,000 SynthLLP training videos,
# with batches of 32 (the recipe's 64 would give half as many steps in the same time).

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
    precision=precision,
)
scalars = ("alpha1", "alpha2", "beta1", "beta2")
torch.manual_seed(seed)
untrained = build_model("+T")
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
    f"+T, {steps} steps on {len(subset.train)} videos (batch 32), seed {seed}, "
    f"{SOURCE}"
)
history["alpha1·beta1"] = history["alpha1"] * history["beta1"]
history["alpha2·beta2"] = history["alpha2"] * history["beta2"]
GREEK = {"alpha1": "α₁", "beta1": "β₁", "alpha2": "α₂", "beta2": "β₂",
         "alpha1·beta1": "α₁·β₁", "alpha2·beta2": "α₂·β₂",
         "loss_total": "training loss"}
history.loc[[0, 1, 2, steps // 2, steps], list(GREEK)].round(6).rename(
    columns=GREEK
).rename_axis(f"step [{RUN}]")

# %% tags=["nbval-ignore-output"]
print(f"trained in {seconds:.1f} s")

# %% tags=["hide-input"]
fig = curves_grid(
    {
        "CMIM scalars (β₁ covers α₁, β₂ covers α₂)": {
            GREEK[k]: (history.index, history[k]) for k in scalars
        },
        "products": {
            GREEK[k]: (history.index, history[k])
            for k in ("alpha1·beta1", "alpha2·beta2")
        },
        "training loss": {
            "training loss": (history.index[1:], history["loss_total"].iloc[1:])
        },
    },
    source=RUN,
    title="CMIM's scalars during training",
    xlabel="optimiser step",
    legend_cols=4,
)
plt.show()

# %% [markdown]
# *What to look at:* in the first panel only two curves are visible, because α1 and β1 (and
# α2 and β2) stay **exactly equal**. Both start at 1, and as printed they only appear as the
# product α·β: with g = ∂L/∂(αβ), ∂L/∂α = β·g and ∂L/∂β = α·g are equal whenever α = β, so
# AdamW (whose weight decay is the same for both) moves them identically, step after step. The
# four scalars are two degrees of freedom, and with this initialisation the split between α
# and β is fixed: α = β = √(αβ). The scalars move by about the learning rate per step.
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
# The temporal weights W (one per segment) of the trained model for six validation videos,
# next to how many classes the ground truth has in each segment. A weight of 1 lets a segment
# through, 0 removes it.

# %%
val = avvp.val
out, trace = trace_forward(model, val.audio, val.visual, val.visual_3d)
pick = list(range(6))
names = [val.filenames[i][:11] for i in pick]

# %% tags=["hide-input"]
most = int(max(val.gt_audio[pick].sum(-1).max(), val.gt_visual[pick].sum(-1).max(), 2))
fig = panels_figure(
    {
        "W audio (TSAM)": Panel(trace["tsam_W_a"][pick, :, 0], 0, 1, label="weight"),
        "GT audio: classes per segment": Panel(
            val.gt_audio[pick].sum(-1), 0, most, cmap="Greys", label="classes"
        ),
        "W visual (TSAM)": Panel(trace["tsam_W_v"][pick, :, 0], 0, 1, label="weight"),
        "GT visual: classes per segment": Panel(
            val.gt_visual[pick].sum(-1), 0, most, cmap="Greys", label="classes"
        ),
    },
    source=f"6 val videos: W from {RUN}; GT: LLP val (real)",
    title="TSAM temporal weights and the timelines",
    xlabel="segment",
    ylabel="video",
    yticks=names,
    panel_size=(3.2, 2.4),
    ncols=2,
)
plt.show()

# %% [markdown]
# *What to look at:* the weights form vertical stripes (the same pattern in every row),
# while the ground truth changes from video to video. TSAM's temporal MLP sees only the mean
# and the max of each segment's feature vector; after this short run it gives almost the same
# weights to every video, set by the segment's **position** (the MLP's random initial weights
# and biases dominate its small inputs), not by what happens in the segment. On the clip
# above it would not yet single out the car's seconds.
#
# Over the whole validation split: the spread of W and S, the share of W's variance that the
# segment position alone explains (variance of the per-position mean over the total
# variance), and the correlation of W[t] with the number of ground-truth classes in segment t.

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
tsam_stats = pd.DataFrame(rows).T
tsam_stats.round(4).rename_axis(
    f"modality [{len(val)} val videos, {RUN}; GT LLP val (real)]"
)

# %% [markdown]
# The spatial weights S hardly vary either: they stay close to σ(conv) ≈ 0.5 for every
# channel, an almost uniform rescaling of the features by one half.
#
# ## CMIM attention maps
#
# For one video: softmax(f_a f_vᵀ/√H), row i = how audio segment i spreads its attention over
# the visual segments, and the reverse map; below it, the video's ground truth. A uniform map
# (every weight 1/10) is drawn white; weights above 1/10 red, below blue.

# %%
index = 1
weak = torch.nonzero(val.weak[index]).flatten().tolist()
logits = (
    trace["cmim_in_a"]
    @ trace["cmim_in_v"].transpose(1, 2)
    / np.sqrt(trace["cmim_in_a"].shape[-1])
)
uniform = 1 / trace["cmim_attn_av"].shape[-1]
attention_stats = pd.Series(
    {
        "std of the logits f_a f_vᵀ/√H": float(logits.std()),
        "max |attention − 1/10|": float((trace["cmim_attn_av"] - uniform).abs().max()),
        "max |attention − 1/10|, reverse map": float(
            (trace["cmim_attn_va"] - uniform).abs().max()
        ),
    },
    name="value",
)
attention_stats.to_frame().rename_axis(
    f"CMIM attention over {len(val)} val videos [{RUN}]"
)

# %% tags=["hide-input"]
fig = panels_figure(
    {
        "audio → visual: softmax(f_a f_vᵀ/√H)": Panel(
            trace["cmim_attn_av"][index], 0, 2 * uniform, cmap="RdBu_r", label="weight"
        ),
        "visual → audio: softmax(f_v f_aᵀ/√H)": Panel(
            trace["cmim_attn_va"][index], 0, 2 * uniform, cmap="RdBu_r", label="weight"
        ),
    },
    source=f"{val.filenames[index]}, {RUN}",
    title="CMIM attention (rows: queries, columns: keys; 1/10 = uniform)",
    xlabel="key segment",
    ylabel="query segment",
    panel_size=(3.6, 3.0),
)
plt.show()
fig = viz.timeline_figure(
    {"GT audio": val.gt_audio[index], "GT visual": val.gt_visual[index]},
    source=f"{val.filenames[index]}: LLP val GT (real)",
    classes=weak,
    title="Ground truth of the same video",
)
plt.show()

# %% [markdown]
# *What to look at:* both maps are white: every segment attends to every other by the same
# 1/10 (the table above gives the largest departure over the whole validation split), even
# though the ground truth has structure. The projected SynthLLP features are small (and TSAM
# roughly halves them twice), so the scaled dot products are far below 1 and the softmax is
# flat. CMIM then adds α·β times the video-mean of the other stream to every segment: a
# global cross-modal context rather than the segment-to-segment exchange the clip above calls
# for. LLP's CLAP/CLIP features have other scales; this is a property of this model on these
# features, not of CMIM in general.

# %% [markdown]
# (ch5-grid-diagnostics)=
# ## What the grid records show
#
# Every run of the ablation grid ({doc}`08_training`) logs, per epoch, the mean over the epoch's
# training steps of the CMIM scalars and of the spread of TSAM's weights within a batch.
# The variants with "T" (+T, +T+S, +T+P, LINK) that the records folder holds, whatever seeds
# it has:

# %% tags=["remove-input"]
T_VARIANTS = ["+T", "+T+S", "+T+P", "link"]
records, GRID, text = grid_section(grid_dir, T_VARIANTS, avvp.source)
Markdown(text)

# %% tags=["hide-input"]
if records:
    series = {
        k: epoch_series(records, k) for k in ("alpha1", "beta1", "alpha2", "beta2")
    }
    fig = curves_grid(
        {"α₁ = β₁ (visual ← audio)": series["alpha1"],
         "α₂ = β₂ (audio ← visual)": series["alpha2"]},
        source=GRID,
        title="CMIM scalars per epoch (β equals α; both panels on one scale)",
        xlabel="epoch",
        markers=True,
        legend_cols=3,
    )
    values = pd.concat([series["alpha1"], series["alpha2"]], axis=1)
    low, high = min(float(values.min().min()), 1.0), max(float(values.max().max()), 1.0)
    for ax in fig.axes:
        ax.set_ylim(low - 0.1 * (high - low), high + 0.1 * (high - low))
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    plt.show()

# %% [markdown]
# *What to look at:* how far the curves leave the dashed line at 1 (the initial value) and
# in which direction; the two panels share one scale, so their moves can be compared.

# %% tags=["hide-input"]
SPREADS = {
    "tsam_a_temporal_std": "audio TSAM: spread of W",
    "tsam_v_temporal_std": "visual TSAM: spread of W",
    "tsam_a_spatial_std": "audio TSAM: spread of S",
    "tsam_v_spatial_std": "visual TSAM: spread of S",
}
if records:
    tsam = {k: epoch_series(records, k) for k in SPREADS}
    fig = curves_grid(
        {SPREADS[k]: v for k, v in tsam.items()},
        source=GRID,
        title="Spread of TSAM's weights within a batch, per epoch (weights in [0, 1])",
        xlabel="epoch",
        ylabel="standard deviation",
        markers=True,
        legend_cols=3,
    )
    for ax in fig.axes:
        ax.set_ylim(0, 0.5)  # the largest standard deviation of values in [0, 1]
    plt.show()

# %% [markdown]
# *What to look at:* the y-axis spans every spread weights in [0, 1] can have (0 to 0.5):
# how far W's curves lie from the axis, against S's. Look also at whether the curves move
# during training, and which runs lie together: the same seed, or the same variant.

# %% tags=["remove-input"]
if records:
    display(Markdown(tsam_cmim_reading.spread_reading(tsam)))

# %% tags=["hide-input"]
if records:
    last = pd.DataFrame(
        {k: s.ffill().iloc[-1] for k, s in {**series, **tsam}.items()}
    )
    display(last.rename(columns={**GREEK, **SPREADS}).round(4).rename_axis(
        ["variant", f"seed [last logged epoch, {GRID}]"]))

# %% tags=["remove-input"]
if records:
    gap = float(
        (last[["alpha1", "alpha2"]].values - last[["beta1", "beta2"]].values).max()
    )
    spread = last["tsam_a_temporal_std"]
    same_seed = float(spread.groupby(level=1).agg(np.ptp).max())
    shared = int(spread.groupby(level=1).size().max()) > 1  # two variants, one seed
    ab1, ab2 = last.alpha1 * last.beta1, last.alpha2 * last.beta2
    display(Markdown(
        f"In these records the largest |α − β| over all runs is {gap:.3g}. At the last "
        f"epoch α₁·β₁ lies between {ab1.min():.4f} and {ab1.max():.4f} over the runs, "
        f"α₂·β₂ between {ab2.min():.4f} and {ab2.max():.4f}. The within-batch spread "
        f"of the audio weights W ranges over {spread.min():.4f}-{spread.max():.4f}"
        + (f"; runs that share a seed differ by at most {same_seed:.4f}." if shared else
           " (one variant so far: no two runs share a seed to compare).")
    ))

# %% [markdown]
# **What this shows and what it cannot.** The records confirm what the demonstration run
# showed: α = β in every run, as the symmetry argument says, and the scalars move slowly from
# 1, at most about the learning rate per step (like S-LOSS's μ in chapter 6, the optimiser's
# step size and the schedule bound how far they can go); which of the two products moves, and
# in which direction, is what the data decides. Where runs that share a seed differ far less
# than the whole range of TSAM's spreads, that spread is set by the initialisation, not by the
# variant or by what training taught the module.
# What the records cannot show: they hold epoch means of the scalars and of the weights'
# spread, not the attention maps or the per-segment weights (no checkpoint is committed), so
# whether CMIM's attention stays near-uniform and TSAM's weights keep following the segment
# position in the grid's models is known only from the demonstration run above, and on
# SynthLLP's features, not LLP's. Whether the modules help at all is a question for the
# scores, with their seed spread: {doc}`09_results`.
#
# ## Implementation notes
#
# Both modules are tiny next to VALOR++: TSAM's MLP has (10·5 + 5) + (5·10 + 10) = 115
# weights and its convolution 2·7 + 1 = 15, per modality; CMIM has its four scalars.

# %%
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
# :::{dropdown} Initialisation and edge cases
# * The four CMIM scalars start at 1, so at step 0 CMIM adds the full attention output; the
#   symmetry above keeps α = β for as long as they start equal. Starting them unequal would
#   not add a degree of freedom: only the products enter the model.
# * TSAM's MLP and convolution use PyTorch's default initialisation; with W ≈ 0.5 and
#   S ≈ 0.5 at the start, TSAM scales its input by about one quarter, which is why CMIM's
#   logits are so small on SynthLLP.
# * `tsam_kernel` (a `ModelConfig` field, odd) sets the convolution's kernel; the temporal
#   MLP's hidden layer has T // 2 units (5 for LLP's ten segments).
# * With TSAM and CMIM switched off the model is VALOR++ exactly (same parameter names,
#   shapes and outputs), which `tests/test_link_modules.py` checks.
# :::

# %% [markdown]
# ## Summary
#
# 1. TSAM gates each modality's segments (eq 1) and channels (eq 2), CBAM-style; CMIM adds a
#    cross-attention from each stream to the other, weighted by learned scalars (eqs 4-6), so
#    that on a clip like the narrator-and-car one each stream can take from the other only
#    what helps.
# 2. As printed, CMIM's α and β only enter as products: the four scalars are two degrees of
#    freedom, and α = β holds exactly throughout training.
# 3. On SynthLLP's small features, after short training, TSAM's temporal weights follow the
#    segment position and CMIM's attention is practically uniform; the grid records show the
#    scalars moving slowly, and cannot show the maps themselves.

# %% [markdown]
# ## Exercises
#
# 1. Re-run the page with another seed,
#    `python scripts/run_notebooks.py 05 -p seed 88 --output-dir runs/nb`. Do TSAM's stripes
#    change? Does the segment position still explain almost all of W's variance? What does
#    that say about where the pattern comes from? (Then try `-p steps 63 -p train_videos None`:
#    a full epoch over all 2,000 training videos.)
# 2. Make the features CMIM reads larger: in a new cell, run
#    `model.cmim(k * trace["cmim_in_a"], k * trace["cmim_in_v"])` under `torch.no_grad()`
#    for k = 3, 10 and 30 (the logits grow as k²) and redraw the attention maps of video 1
#    from what CMIM keeps, `model.cmim.attention_weights`. At which k do the maps leave uniform, and does their structure then follow
#    the video's ground truth or only the segment position? What does that say about CMIM on
#    features of LLP's scale, and about the scaling this book chose ({ref}`decision-cmim`)?
# 3. Point `grid_dir` at the short-schedule grid (`-p grid_dir ../results/synth_small_grid`:
#    6 epochs instead of the recipe's 60, on the first-round SynthLLP, whose settings differ
#    from the data this page loads; the paragraph that opens the grid section names each
#    difference) and compare with this page how far α₂·β₂ and the spread of W move in each
#    schedule.
#    Which module would you switch off (`ModelConfig(use_cmim=False)` or `use_tsam=False`) to
#    test whether CMIM matters on SynthLLP?
