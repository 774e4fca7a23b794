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
# # 6. S-LOSS: segment-pair similarity with an adaptive weight
#
# :::{admonition} In this chapter
# :class: tip
# **You will learn** what S-LOSS asks of the audio and visual features of a video, and why;
# which parts of it come from prior work and which part is LINK's (the adaptive weight
# λ(s; μ)); where gradient descent takes μ and how far a training schedule lets it go; and
# what the recipe grid's records say about S-LOSS and the visual F-score.
#
# **Prerequisites**: {doc}`04_valor` (VALOR++'s loss terms and pseudo labels) and
# {doc}`05_tsam_cmim` (the misaligned example clip); {doc}`03_synthllp` for the simulated
# teachers whose labels are the targets here.
#
# **Run time**: about 20 s on two CPU cores with the default parameters.
# :::
#
# **Data.** The hand-made clip of chapter 5 (illustrative); SynthLLP small, seed 0
# (synthetic), whose teachers are computed as VALOR computes the real ones ({doc}`03_synthllp`),
# for a real pseudo-label pair and an untrained "+S" model (seed 87); the run records of two
# grids on SynthLLP small (synthetic), both written by `python -m linkpaper grid`
# ({doc}`08_training`): the **recipe grid** (`results/synth_small_valor_teachers`), trained
# under the paper's recipe on the SynthLLP loaded here, and a **short-schedule grid**
# (`results/synth_small_grid`, six epochs, on a SynthLLP generated with other settings), read
# only in the section "μ on the short schedule" as a contrast of schedules. Each section names the runs, data and schedule it
# reads, from the records, and says whether their data is this page's; the recipe grid is
# trained across sessions, so a variant may have one seed or several. LLP's real test
# annotations give the error counts.

# %% [markdown]
# ## Why: features should be as similar as their labels agree
#
# VALOR++ supervises each modality with its own pseudo labels, but never says how the audio
# features of one segment should relate to the visual features of another. The paper's S-LOSS
# does: the similarity of an audio segment's features and a visual segment's features should
# follow how much their pseudo labels agree, and the pairs should be weighted adaptively, so
# that the loss concentrates where the features are neither clearly alike nor clearly
# different.
#
# On the clip of chapter 5 (a narrator heard in seconds 0-7 but never seen, a car seen in
# seconds 3-6 but not heard, a dog heard in seconds 7-9 and seen in seconds 8-9), an objective
# that simply aligned each audio segment with the visual segment at the same time would pull
# the narrator's voice towards the picture of the car. S-LOSS asks for something else: the
# narrator's segments and the car's segments share no class, so their features should be
# unrelated (cosine 0); the dog's audio of seconds 8-9 and its picture share everything, so
# they should align (cosine 1); second 7, where the narrator and the dog are both heard,
# meets the seen dog halfway (1/2). The targets follow the labels, not the clock.
#
# ## What LINK takes from prior work, and what it adds
#
# S-LOSS has three parts, and only one is new:
#
# * the **label term** L_label (eqs 9-10), each modality's video prediction against that
#   modality's video-level pseudo label, is {term}`LEAP`'s ({ref}`decision-label-term`);
# * the **similarity term**, the squared gap between the cosine of two segments' features and
#   the agreement (IoU) of their labels, is the audio-visual similarity loss of the works the
#   paper cites (LEAP and earlier), which it says it builds on;
# * LINK adds the **adaptive weight** λ(s; μ) (eq 11) in front of every pair's squared gap,
#   with a trainable μ.
#
# In this book, and in its tables, **"+S" means L_label plus the λ-weighted similarity term**:
# the paper introduces both in its S-LOSS section, so a variant with S carries both and the
# others carry neither (a decision of this book, {ref}`decision-label-with-s`). The ablation
# "+S" therefore measures more than LINK's own addition. The controls of {doc}`09_results`
# take it apart: L_label alone, the similarity term with λ = 1 (no adaptive weight), and the
# prior work's exact form of the term ({ref}`decision-sloss-form`).
#
# ## The equations
#
# The whole loss of a model with S, with every weight 1
# ({py:func}`~linkpaper.losses.compute_losses`): VALOR++'s three terms, the label term, and
# the λ-weighted similarity term:
#
# $$
# \mathcal{L} = \mathcal{L}_{video} + \mathcal{L}_a + \mathcal{L}_v + \mathcal{L}_{label}
#   + \frac{1}{T^2}\sum_{i,j} \lambda_{ij}\,(s_{ij} - r_{ij})^2
# \tag{7}
# $$
#
# VALOR++'s terms ({py:func}`~linkpaper.losses.valor_losses`): L_video = BCE(p, y) of the
# video probability against the weak label, and the segment terms against the gated pseudo
# labels, mean-reduced over the segments as in VALOR++ (the paper writes a sum; see
# {ref}`decision-segment-losses`):
#
# $$
# \mathcal{L}_m = \frac{1}{T}\sum_{t} \mathrm{BCE}\big(p_m[t],\ \mathrm{pl}_m[t]\big),
# \quad m \in \{a, v\}
# \tag{8}
# $$
#
# The label term, the video-level pseudo label of each modality against VALOR's
# per-modality video probabilities (LEAP's form; the paper's "BCE(Y, y)" can also be read as
# one BCE on the fused output), {py:func}`~linkpaper.losses.label_loss`:
#
# $$
# Y_m[c] = \max_t \mathrm{pl}_m[t, c], \qquad
# \mathcal{L}_{label} = \mathrm{BCE}(p_a, Y_a) + \mathrm{BCE}(p_v, Y_v)
# \tag{9–10}
# $$
#
# The similarity term, for every pair (audio segment i, visual segment j) of a video: the
# cosine of the HAN encoder outputs ({py:func}`~linkpaper.losses.segment_cosines`), the weight
# λ ({py:func}`~linkpaper.losses.sloss_lambda`) and the IoU target of the active pseudo-label
# classes, 0 where both are empty ({py:func}`~linkpaper.losses.iou_targets`,
# {py:func}`~linkpaper.losses.similarity_loss`):
#
# $$
# \lambda(s; \mu) = \begin{cases}
#   1 & s \le -0.2 \cr
#   e^{|1-\mu|} & -0.2 < s < 0 \cr
#   e^{|1-\mu|} + \big(1 - e^{|1-\mu|}\big)\, s & s \ge 0
# \end{cases}
# \tag{11}
# $$
#
# $$
# s_{ij} = \cos(h_a[i], h_v[j]), \qquad
# r_{ij} = \frac{|A_i \cap V_j|}{|A_i \cup V_j|}, \qquad
# \mathcal{L}_S = \mathop{\mathrm{mean}}_{b,i,j}\ \lambda(s_{ij}; \mu)\,(s_{ij} - r_{ij})^2
# \tag{12}
# $$
#
# μ is one trainable scalar, initialised to 0; λ's dependence on s is detached (it is a
# weight; {ref}`decision-sloss-weight`).
#
# :::{dropdown} The prior work's form of the similarity term (LEAP's released code)
# LEAP's released code computes the similarity term more gently, and the model option
# `similarity_form="leap"` trains that form instead ({py:func}`~linkpaper.losses.leap_targets`;
# {ref}`decision-sloss-form`): the prediction is the ReLU of the cosine and the target tops
# out near 0.51,
#
# $$
# \begin{aligned}
# x_{ij} &= \frac{|A_i \cap V_j|}{\max_t \max(|A_t|, |V_t|)}, \cr
# \mathcal{L}_S^{\mathrm{LEAP}} &= \mathop{\mathrm{mean}}_{b,i,j}\ \lambda(s_{ij}; \mu)\,
#   \Big(\mathrm{ReLU}(s_{ij}) - \frac{x_{ij}}{1 + x_{ij}} - 0.01\Big)^2 .
# \end{aligned}
# $$
#
# With μ frozen at 1 (λ = 1) this is exactly the prior work's loss: the control
# `+S/leap-mu1`.
# :::
#
# ## The code
#
# The parameters: `data`, `seed` (the untrained model's initialisation), `grid_dir` (the
# short-schedule grid, the contrast of schedules) and `recipe_dir` (the recipe grid on the
# SynthLLP with VALOR-like teachers), both relative to `notebooks/`, and `data_dir`.

# %% tags=["parameters"]
data = "synth:small"  # data spec: synth:PRESET[:SEED] or llp:/path/to/valor_features
seed = 87  # model initialisation seed
grid_dir = "../results/synth_small_grid"  # short-schedule grid (schedule contrast)
# the paper's recipe on the SynthLLP with VALOR-like teachers (the data loaded here)
recipe_dir = "../results/synth_small_valor_teachers"
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown

from linkpaper.chapters import prediction_scores, run_records, sloss_reading, viz
from linkpaper.chapters.modelviz import Panel, curves_figure, curves_grid, panels_figure
from linkpaper.chapters.probe import (
    epoch_series,
    find_grid_records,
    grid_section,
    lr_budget,
    misaligned_example,
    record_budget,
    records_source,
    sloss_terms,
    trace_forward,
    video_label_prf,
)
from linkpaper.data.annotations import load_annotations
from linkpaper.data.sources import load_data
from linkpaper.errors import UserError
from linkpaper.losses import LAMBDA_LOW, iou_targets, similarity_loss, sloss_lambda
from linkpaper.models import build_model

torch.set_num_threads(1)
avvp = load_data(data, data_dir=data_dir)
SOURCE = avvp.describe()

# %% [markdown]
# ### The weight λ(s; μ)
#
# Below s = −0.2 (clearly dissimilar pairs) the weight is 1. In the band −0.2 < s < 0 it is
# e^|1−μ|, and for s ≥ 0 it falls linearly from e^|1−μ| at s = 0 to 1 at s = 1. At μ = 0,
# the initial value, the band weight is e ≈ 2.72: pairs that are weakly similar or weakly
# dissimilar count almost three times as much as the rest. λ depends on μ only through
# |1 − μ|, so μ = 0.5 and μ = 1.5 give the same curve, and at μ = 1 the weight is 1
# everywhere: the similarity term becomes a plain mean squared error.

# %%
cosines = [-0.5, -0.1, 0.0, 0.5, 1.0]
weights = {}
for mu_value in (0.0, 0.5, 1.0, 2.0):
    lam = sloss_lambda(torch.tensor(cosines), torch.tensor(mu_value))
    weights[f"μ = {mu_value:g}"] = lam.numpy()
lambda_table = pd.DataFrame(
    weights,
    index=pd.Index(cosines, name="s (the formula, no data)"),
)
lambda_table.round(4)

# %% tags=["hide-input"]
s = torch.linspace(-1, 1, 801)
curves = {}
for mu_value in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
    curves[f"μ = {mu_value:g}"] = (s, sloss_lambda(s, torch.tensor(mu_value)))
fig = curves_figure(
    {"λ(s; μ), eq 11": curves},
    source="the formula, no data",
    title="S-LOSS weight",
    xlabel="cosine similarity s",
    ylabel="λ",
    panel_size=(7.0, 3.4),
)
plt.gca().axvline(LAMBDA_LOW, color="grey", lw=0.8, ls="--")
plt.show()

# %% [markdown]
# *What to look at:* the plateau between the dashed line (s = −0.2) and 0, and the ramp
# down to 1 at s = 1; the curves for μ = 0.5 and 1.5 coincide, and μ = 1 is flat.
#
# ### IoU targets of the example clip
#
# The target r_ij of every (audio segment i, visual segment j) pair of the clip, from its
# labels (as if the teachers were right):

# %%
clip = misaligned_example()
clip_audio = torch.as_tensor(clip["audio"])[None]
clip_visual = torch.as_tensor(clip["visual"])[None]
r_clip = iou_targets(clip_audio, clip_visual)[0]

# %% tags=["hide-input"]
fig = panels_figure(
    {"r_ij = IoU(A_i, V_j)": Panel(r_clip, 0, 1, label="target")},
    source="hand-made example clip (illustrative)",
    title="IoU targets of the narrator, car and dog clip",
    xlabel="visual segment j",
    ylabel="audio segment i",
    panel_size=(3.8, 3.2),
)
plt.show()

# %% [markdown]
# *What to look at:* rows 0-6 (the narrator alone) are 0 against every visual segment, the
# car's seconds included; row 7 (narrator and dog heard) meets the seen dog at 1/2; rows 8-9
# against columns 8-9 (the dog heard and seen) are 1. A pair in which neither segment has an
# active class also gets 0, the same target as two disjoint class sets: S-LOSS pushes such
# pairs to orthogonal features (s = 0), not to opposite ones.
#
# ### IoU targets of a SynthLLP training video
#
# The targets come from the **gated** pseudo labels (the loss targets, AND-ed with the weak
# labels). A training video of SynthLLP whose audio and visual labels differ:

# %%
train = avvp.train
active_a, active_v = train.pseudo_audio > 0.5, train.pseudo_visual > 0.5
differs = (active_a != active_v).any(-1).any(-1)
both = active_a.any(-1).any(-1) & active_v.any(-1).any(-1)
index = int(torch.nonzero(differs & both)[0])
video = train.subset([index])
name = video.filenames[0]
classes = torch.nonzero(active_a[index].any(0) | active_v[index].any(0))
classes = classes.flatten().tolist()
r_video = iou_targets(video.pseudo_audio, video.pseudo_visual)[0]

# %% tags=["hide-input"]
fig = viz.timeline_figure(
    {
        "pseudo audio (gated)": video.pseudo_audio[0] > 0.5,
        "pseudo visual (gated)": video.pseudo_visual[0] > 0.5,
    },
    source=f"{name}: simulated teachers of {SOURCE}",
    classes=classes,
    title="Loss targets of one training video",
)
plt.show()
fig = panels_figure(
    {"r_ij = IoU(A_i, V_j)": Panel(r_video, 0, 1, label="target")},
    source=f"{name} of {SOURCE}",
    title="IoU targets",
    xlabel="visual segment j",
    ylabel="audio segment i",
    panel_size=(3.8, 3.2),
)
plt.show()

# %% [markdown]
# *What to look at:* each block of the target map is a pair of time spans in which the two
# streams' label sets overlap; its value is how much they overlap.
#
# ### What the similarity term acts on
#
# The cosine similarities s_ij of the HAN encoder outputs of an untrained "+S" model (seed
# 87) for the same video, the weights λ at μ = 0 and the weighted squared errors, each on
# the range its values can take: cosines on [−1, 1] (white is 0), targets on [0, 1], λ on
# [1, e] (its range at μ = 0), weighted errors on [0, 4] (the largest value they can take at
# μ = 0).

# %%
torch.manual_seed(seed)
model = build_model("+S")
output, _ = trace_forward(model, video.audio, video.visual, video.visual_3d)
terms = sloss_terms(
    output.audio_hidden,
    output.visual_hidden,
    video.pseudo_audio,
    video.pseudo_visual,
    model.sloss_mu,
)
reference = similarity_loss(
    output.audio_hidden,
    output.visual_hidden,
    video.pseudo_audio,
    video.pseudo_visual,
    model.sloss_mu,
)
pd.Series(
    {
        "s: min": float(terms["s"].min()),
        "s: max": float(terms["s"].max()),
        "λ: min": float(terms["lambda"].min()),
        "λ: max": float(terms["lambda"].max()),
        "L_S of this video (mean of λ (s − r)²)": float(terms["weighted"].mean()),
    },
    name="value",
).to_frame().round(4).rename_axis(f"{name} of {SOURCE}, untrained +S seed {seed}")

# %% tags=["remove-cell"]
assert torch.allclose(terms["weighted"].mean(), reference)

# %% tags=["hide-input"]
fig = panels_figure(
    {
        "s_ij (cosine)": Panel(terms["s"][0], -1, 1, cmap="RdBu_r", label="cosine"),
        "r_ij (target)": Panel(terms["r"][0], 0, 1, label="IoU"),
        "λ_ij at μ = 0": Panel(terms["lambda"][0], 1, float(np.e), label="weight"),
        "λ_ij (s_ij − r_ij)²": Panel(terms["weighted"][0], 0, 4, label="weighted"),
    },
    source=f"{name} of {SOURCE}, untrained +S model seed {seed}",
    title="The similarity term, pair by pair (fixed colour ranges)",
    xlabel="visual segment j",
    ylabel="audio segment i",
    panel_size=(3.3, 2.9),
    ncols=2,
)
plt.show()

# %% [markdown]
# *What to look at:* the cosine map is one pale colour: at initialisation every audio segment
# is about equally (and weakly) similar to every visual segment, whatever the labels say (the
# table above gives its range). λ is one colour too, read off the ramp at that small positive
# cosine: at μ = 0 the weight scales the whole term up, not just a boundary band. The weighted
# errors are therefore largest exactly where the target is high: the loss will first pull the
# pairs that share labels together.
#
# ### Where gradient descent takes μ
#
# μ enters only through λ, and ∂λ/∂μ has one sign for every pair: for μ < 1,
# e^|1−μ| = e^(1−μ) falls as μ grows, and both the band weight e^|1−μ| and the ramp weight
# e^|1−μ|·(1 − s) + s (for 0 ≤ s ≤ 1) fall with it. Since (s − r)² ≥ 0, ∂L_S/∂μ ≤ 0 for
# every batch: descent can only raise μ towards 1, where λ ≡ 1. Above 1 the signs flip.
# The gradient on 64 training videos at several values of μ (untrained encoder outputs):

# %%
batch = train.subset(slice(0, 64))
with torch.no_grad():
    out64 = model.eval()(batch.audio, batch.visual, batch.visual_3d)
rows = {}
for mu_value in (0.0, 0.5, 0.9, 1.1, 2.0):
    mu = torch.tensor(mu_value, requires_grad=True)
    loss = similarity_loss(
        out64.audio_hidden,
        out64.visual_hidden,
        batch.pseudo_audio,
        batch.pseudo_visual,
        mu,
    )
    (grad,) = torch.autograd.grad(loss, mu)
    rows[mu_value] = {
        "L_S": loss.item(),
        "∂L_S/∂μ": grad.item(),
        "descent moves μ": "up" if grad < 0 else "down",
    }
pd.DataFrame(rows).T.rename_axis(f"μ [64 train videos of {SOURCE}, untrained +S]")

# %% [markdown]
# How fast? AdamW's step is lr · m̂ / √v̂: a parameter whose gradient keeps its sign and its
# size moves by the learning rate per step, whatever that size is (more if the gradient
# grows, less if it shrinks). So after E epochs μ is about Σ_e lr_e × (steps per epoch): the
# "budget" below, for a short schedule (SynthLLP small: 32 steps per epoch, 6 epochs, 1
# warm-up epoch), for the paper's recipe on SynthLLP small (32 steps per epoch, 60 epochs, 10
# warm-up epochs) and for the recipe on LLP (10,000 videos: 157 steps per epoch).

# %%
schedules = {
    "6 epochs, 32 steps each": lr_budget(6, 32, 1),
    "recipe, 32 steps each (SynthLLP small)": lr_budget(60, 32, 10),
    "recipe, 157 steps each (LLP)": lr_budget(60, 157, 10),
}
shown = [1, 2, 3, 6, 10, 20, 40, 60]
budget_columns = {}
for label, b in schedules.items():
    values = [round(float(b[e - 1]), 4) if e <= len(b) else "" for e in shown]
    budget_columns[label] = values
pd.DataFrame(
    budget_columns,
    index=pd.Index(shown, name="epoch (Σ lr × steps, no data)"),
)

# %% tags=["remove-input"]
llp_budget = schedules["recipe, 157 steps each (LLP)"]
Markdown(
    "On LLP the recipe's budget passes 1 at epoch "
    f"{int(np.argmax(llp_budget >= 1)) + 1}: "
    "if the sign argument holds throughout, μ reaches 1 there and stays, turning the "
    "adaptive weight into a constant 1 for the rest of training. On SynthLLP small the "
    "same recipe's budget ends at "
    f"{schedules['recipe, 32 steps each (SynthLLP small)'][-1]:.2f}, and the short "
    f"schedule's at {schedules['6 epochs, 32 steps each'][-1]:.3f}."
)

# %% [markdown]
# (ch6-grid-diagnostics)=
# ## What the grid records show
#
# Every grid run records, per epoch, the mean over the epoch's steps of the μ the forward
# passes saw, the mean similarity term, and a few measures of the encoder's features. Each
# grid below is read from whatever runs its folder holds.
#
# ### μ on the short schedule
#
# A contrast of schedules, not a result of this page's data: the runs with S of the
# short-schedule grid, by default trained on a SynthLLP generated with other settings (the
# paragraph below says what they are and in which settings their data differs from this
# page's). The dashed line is the budget of their
# own schedule, drawn at each epoch's midpoint, where the logged mean sits.

# %% tags=["remove-input"]
S_VARIANTS = ["+S", "+T+S", "+S+P", "link"]
records, GRID, text = grid_section(grid_dir, S_VARIANTS)
if records:  # every setting in which their data differs, or how many are left out
    text += " " + sloss_reading.data_difference_reading(records, avvp.source)
Markdown(text)


# %% tags=["hide-input"]
def mu_panels(frame, budget_name, budget_curve):
    """One panel per variant: the μ of each of its seeds, and the schedule's budget."""
    panels = {}
    for variant in dict.fromkeys(v for v, _ in frame.columns):
        runs = [(v, s) for v, s in frame.columns if v == variant]
        seeds = {f"seed {s}": (frame.index, frame[(v, s)]) for v, s in runs}
        panels[f"μ of {variant}"] = {**seeds, budget_name: budget_curve}
    return panels


def midpoint_budget(record):
    """Σ lr × steps at each epoch's midpoint, where μ's logged epoch mean sits."""
    budget = np.concatenate([[0.0], record_budget(record)])
    return (budget[:-1] + budget[1:]) / 2


if records:
    mu = epoch_series(records, "mu")
    midpoints = midpoint_budget(next(iter(records.values())))
    BUDGET = "Σ lr × steps (midpoint)"
    budget_curve = (np.arange(len(midpoints)) + 1, midpoints)
    fig = curves_grid(
        mu_panels(mu, BUDGET, budget_curve),
        source=GRID,
        title="μ (epoch mean) on the short schedule",
        xlabel="epoch",
        markers=True,
        legend_cols=4,
        styles={BUDGET: {"ls": "--", "color": "grey"}},
    )
    for ax in fig.axes:
        ax.set_ylim(0, 1)  # μ's way from its start (0) to where λ = 1 (1)
    plt.show()

# %% [markdown]
# *What to look at:* one panel per variant, each spanning μ's whole way, from 0 (its start)
# to 1 (where λ = 1); how far the runs get on this schedule, and how close they stay to the
# dashed budget.

# %% tags=["hide-input"]
if records:
    display(mu.T.round(4).rename_axis(["variant", f"seed [μ per epoch, {GRID}]"]))

# %% tags=["remove-input"]
if records:
    done = [c for c in mu.columns if records[c].complete]
    if done:
        text = sloss_reading.mu_reading(mu[done], midpoints[-1], 4, kind="finished")
        text += " " + sloss_reading.mu_variant_reading(mu[done], 4)
        display(Markdown(text))

# %% [markdown]
# How to read these numbers. The optimiser moves μ by about the learning rate per step while
# the gradient on μ keeps its sign and its size: the budget. AdamW moves it further when that
# gradient grows (as s leaves the region near 1, where ∂λ/∂μ = −e^(1−μ)(1 − s) vanishes) and
# less when it shrinks or is noisy; weight decay pulls μ slightly back towards 0. Where the
# runs end close to each other and to the budget, whatever the variant and the seed, the rate
# is set by the optimiser and the schedule, not by the data: S-LOSS's adaptive weight is then
# a schedule in disguise, from e at the start towards 1 (reached only with a schedule whose
# budget passes 1). `ModelConfig(freeze_mu=True)` (`--model-override freeze_mu=true`) keeps μ
# at its initial value, the alternative reading in which λ is a fixed weighting.
#
# ### μ under the paper's recipe
#
# The same quantity in the runs with S of the recipe grid (the SynthLLP loaded on this page),
# next to the budget of their schedule.

# %% tags=["remove-input"]
recipe_records, RECIPE, text = grid_section(
    recipe_dir, ["+S", "+S/leap", "+T+S", "+S+P", "link", "link/leap"], avvp.source
)
Markdown(text)

# %% tags=["hide-input"]
if recipe_records:
    recipe_mu = epoch_series(recipe_records, "mu")
    recipe_budget = midpoint_budget(next(iter(recipe_records.values())))
    BUDGET = "Σ lr × steps (midpoint)"
    budget_curve = (np.arange(len(recipe_budget)) + 1, recipe_budget)
    fig = curves_grid(
        mu_panels(recipe_mu, BUDGET, budget_curve),
        source=RECIPE,
        title="μ (epoch mean) under the paper's recipe",
        xlabel="epoch",
        legend_cols=4,
        styles={BUDGET: {"ls": "--", "color": "grey"}},
    )
    for ax in fig.axes:
        ax.set_ylim(0, 1)
    plt.show()

# %% [markdown]
# *What to look at:* again one panel per variant and μ's whole way from 0 to 1; where the
# curves end, and how close they stay to the dashed budget.

# %% tags=["remove-input"]
if recipe_records:
    done = [c for c in recipe_mu.columns if recipe_records[c].complete]
    if done:
        end = recipe_budget[-1]
        text = sloss_reading.mu_reading(recipe_mu[done], end, kind="finished")
        text += " " + sloss_reading.mu_variant_reading(recipe_mu[done])
        display(Markdown(text))

# %% [markdown]
# What λ's distance from 1 changes is measured by the control `+S/paper-mu1` (eq 12 with
# λ = 1 throughout), read below where the recipe grid holds it.
#
# ### S-LOSS and the visual scores
#
# Does adding S lower the visual F-score under the recipe? Each variant with S is set against
# its partner without S, the same network with the same other modules (`+S` against VALOR++,
# `+T+S` against `+T`, `+S+P` against `+P`, LINK against `+T+P`), on the seeds both have
# finished in the recipe grid: segment-level test visual F, the mean over those seeds, with
# each run's weights of the epoch it selected on validation (its result) and, in the last
# column, of its last epoch.

# %% tags=["hide-input"]
SLOSS_VARIANTS = ["valor++", "+S", *sloss_reading.SLOSS_CONTROLS]
PAIR_VARIANTS = [v for pair in sloss_reading.S_PAIRS for v in pair]
wanted = list(dict.fromkeys(PAIR_VARIANTS + SLOSS_VARIANTS))
recipe_runs = find_grid_records(recipe_dir, wanted)
finished = {key: r for key, r in recipe_runs.items() if r.complete}
# each finished run's segment-level test scores: index (variant, seed)
seg = sloss_reading.segment_scores(finished)
seg_last = sloss_reading.segment_scores(finished, epoch="last")  # last epoch's weights
pair_table = sloss_reading.s_pair_frame(seg, last=seg_last)
PAIRED = {k: r for k, r in finished.items() if k[0] in PAIR_VARIANTS}
if len(pair_table):
    caption = f"segment visual F, test [{records_source(PAIRED)}]"
    display(pair_table.round(2).rename_axis(caption))

# %% tags=["remove-input"]
text = sloss_reading.s_effect_reading(seg, last=seg_last)
if len(sloss_reading.seeds_of(seg, "valor++")) > 1:
    text += " For scale, " + sloss_reading.spread_words(seg)
epochs = sloss_reading.selected_epochs(finished)
selection = sloss_reading.selection_reading(seg, seg_last, epochs=epochs)
display(Markdown(text + "\n\n" + selection))

# %% [markdown]
# The controls of {ref}`decision-sloss-form` take S apart: `+S/label` keeps L_label and drops
# the similarity term; `+S/paper-mu1` keeps eq 12 with λ = 1; `+S/leap-mu1` is the prior
# work's gentler form with λ = 1; `+S/leap` that form with the adaptive λ. Segment-level test
# scores of VALOR++, `+S` and whichever of the controls the recipe grid holds, the mean over
# the seeds each has (column n); the sentences below the table say which are there.

# %% tags=["hide-input"]
try:
    run_dirs = run_records.find_run_dirs(recipe_dir, SLOSS_VARIANTS)
    sloss_rows = run_records.measured_rows(run_dirs)
except UserError as err:
    sloss_rows = []
    print(err)
# in the order of SLOSS_VARIANTS, as the tables and curves show them
sloss_records = {k: finished[k] for v in SLOSS_VARIANTS for k in finished if k[0] == v}
# the caption names the runs the table shows, read from their records
SHOWN = records_source(sloss_records) if sloss_records else "no recipe records"
scores = pd.DataFrame(
    {row["model"]: [*row["mean"][:4], row["n"]] for row in sloss_rows},
    index=["A", "V", "AV", "Type@AV", "n"],
).T
if sloss_rows:
    shown_scores = scores.round(2).astype({"n": int})
    display(shown_scores.rename_axis(f"segment level, test [{SHOWN}]"))

# %% tags=["remove-input"]
controls_text = sloss_reading.controls_reading(seg)
display(Markdown(controls_text + " " + sloss_reading.label_share_reading(seg)))

# %% [markdown]
# **Where the visual errors come from.** Counts over LLP's test cells (video, segment,
# class) of each stream's true positives, false negatives and false positives, the false
# positives split by what the *other* modality's ground truth says: a class predicted
# visible where it is heard but not seen ("heard") or neither heard nor seen ("neither").

# %% tags=["hide-input"]
test = load_annotations("test", data_dir)
errors = None
if sloss_rows:
    errors = prediction_scores.cross_modal_error_rows(sloss_rows, test)
    counts = errors.drop(columns="n").round(1)
    if (counts == counts.round()).all().all():
        counts = counts.astype(int)  # one seed each: whole cells
    counts = counts.assign(n=errors["n"].astype(int))
    display(counts.rename_axis(f"cells of LLP test (real GT), seed means [{SHOWN}]"))

# %% tags=["remove-input"]
if errors is not None:
    held = [m for m in ("+S", "+S/label") if m in errors.index]
    texts = [sloss_reading.visual_error_reading(errors, m) for m in held]
    if texts:
        display(Markdown(" ".join(texts)))

# %% [markdown]
# **How L_label could cost visual precision** (a possible mechanism; the sentences around it
# say whether the records show it). L_label trains VALOR's per-modality *video*
# probabilities against Y_m[c] = max_t pl_m[t, c]. A class switched on in a single segment
# by the visual teacher makes it "visible" for the whole clip; where the visual teacher
# switches on a class that is heard but not seen (as CLIP might with the narrator of the
# example clip), L_label teaches the visual stream to call it visible. How often that happens
# depends on the precision of the visual teacher's video-level labels. The video-level
# precision and recall of both teachers' gated labels on the data loaded on this page (on
# SynthLLP, its simulated teachers, not CLIP and CLAP):

# %%
teacher_prf = pd.DataFrame(
    {
        (split, modality): video_label_prf(
            getattr(getattr(avvp, split), f"pseudo_{modality}"),
            getattr(getattr(avvp, split), f"gt_{modality}").any(axis=1),
        )
        for split in ("val", "test")
        for modality in ("audio", "visual")
    }
).T[["precision", "recall", "f"]]
PRF_AXIS = f"Y_m = max_t gated pseudo label [{SOURCE}] vs the modality's GT (real)"
teacher_prf.round(3).rename_axis(["split", PRF_AXIS])

# %% tags=["remove-input"]
Markdown(sloss_reading.teacher_precision_reading(teacher_prf, source=avvp.source))

# %% [markdown]
# Pushing the visual video probability towards 1 for such classes would raise the visual
# frame probabilities across the clip (VALOR's video probability is an attention-weighted
# mean over segments). The training records measure it: the last panel of the figure below
# is the mean visual frame probability on cells whose class only the *audio* pseudo labels
# hold. Whether L_label costs visual F on LLP depends on how precise the real CLIP labels are
# at the video level, which could not be measured where this book was built.
#
# **What the similarity term does to the features.** Every run records, per epoch, the mean
# cosine of the encoder outputs over the training pairs of each target group (same label
# set, overlapping sets, disjoint sets, both empty). How often each group occurs in the
# training targets:

# %% tags=["hide-input"]
TRAIN_TARGETS = "SynthLLP small train, gated pseudo labels (synthetic)"
shares = prediction_scores.target_group_shares
pd.DataFrame(
    {
        TRAIN_TARGETS: shares(train.pseudo_audio, train.pseudo_visual),
        "LLP test ground truth (real)": shares(test.gt_audio, test.gt_visual),
    }
).T.round(3).rename_axis("share of (i, j) segment pairs")

# %% tags=["hide-input"]
ALIGN = SHOWN
READABLE = {
    "cos_same": "cos, same labels (r = 1)",
    "cos_overlap": "cos, overlapping labels",
    "cos_disjoint": "cos, disjoint labels (r = 0)",
    "cos_empty": "cos, both empty",
    "visual_prob_on_audio_only": "visual prob. on audio-only cells",
    "audio_prob_on_visual_only": "audio prob. on visual-only cells",
}
if sloss_records:
    last = {}
    for key in READABLE:
        final = epoch_series(sloss_records, key).ffill().iloc[-1]
        last[key] = final.groupby(level=0, sort=False).mean()
    last = pd.DataFrame(last)
    caption = f"variant [last epoch, seed means, {ALIGN}]"
    display(last.rename(columns=READABLE).round(3).rename_axis(caption))

# %% tags=["hide-input"]
if sloss_records:
    # one curve per variant (the mean over its seeds); colour = form of the term,
    # dashed = λ fixed at 1
    STYLES = {
        "valor++": {"color": "black"},
        "+S/label": {"color": "0.55"},
        "+S/paper-mu1": {"color": "C0", "ls": "--"},
        "+S": {"color": "C0"},
        "+S/leap-mu1": {"color": "C1", "ls": "--"},
        "+S/leap": {"color": "C1"},
        "link/leap": {"color": "C2"},
    }
    alignment_panels = {}
    for key in ("cos_same", "cos_disjoint", "cos_empty", "visual_prob_on_audio_only"):
        series = epoch_series(sloss_records, key).T
        alignment_panels[READABLE[key]] = series.groupby(level=0, sort=False).mean().T
    fig = curves_grid(
        alignment_panels,
        source=ALIGN,
        title="Encoder alignment during training (seed means)",
        xlabel="epoch",
        legend_cols=4,
        styles=STYLES,
    )
    for ax in fig.axes[:3]:
        ax.set_ylim(-1, 1)  # a cosine's range
        ax.axhline(0, color="grey", lw=0.8)
    fig.axes[3].set_ylim(0, 1)  # a probability's range
    plt.show()

# %% [markdown]
# *What to look at:* black is VALOR++, grey L_label alone, blue the paper's form of the
# similarity term, orange the prior work's, green LINK with the prior work's form; dashed
# lines have λ fixed at 1 (each only where the recipe grid holds it). The cosine panels span a
# cosine's whole range, [−1, 1]. The paper's form asks for cosine 1 on same-label pairs and 0
# on disjoint and both-empty ones (the prior work's asks less; see "The equations"). Without
# the similarity term nothing asks the outputs of pairs with different labels to differ, and
# the shared encoder layers and the cross-modal attention mix the two streams. In the last
# panel, a visual probability above VALOR++'s on heard-only cells is what a leak of the label
# term would show.

# %% tags=["remove-input"]
if sloss_records:
    n_seeds = pd.Series([v for v, _ in sloss_records]).value_counts().to_dict()
    display(Markdown(sloss_reading.alignment_reading(last, seeds=n_seeds)))

# %% [markdown]
# **The weight and the form.** The controls that compare the adaptive weight with λ = 1 and
# the two forms of the term, where the recipe grid holds them:

# %% tags=["remove-input"]
Markdown(sloss_reading.weight_form_reading(seg))

# %% [markdown]
# While μ stays below 1, λ differs from 1 all along (the recipe section above says how far μ
# gets); a difference smaller than the seed spread says the weight changes little here, and
# with one seed that spread is unknown. {doc}`09_results` gives an interval for each control
# its folder holds.
#
# **What this shows and what it cannot.** The records can show three things the equations
# predict, and the computed sentences above say how far they do: whether μ only rises, at the
# pace of the optimiser's budget rather than of the data (on SynthLLP small the recipe's
# budget ends below 1, so λ cannot be expected to reach λ = 1 there); whether the similarity
# term reshapes the encoder's space as its targets ask; and, where the folder holds `+S/label`
# (the sentences below the scores table say whether it does), what L_label does apart from
# the similarity term. They also show how much of what S does to the visual F-score depends
# on the epoch that validation selects. They cannot show what happens on LLP,
# where the recipe's budget passes 1 and the real visual teacher's video-level labels may be
# more or less precise than SynthLLP's (the released labels are gated, so this could not be
# measured offline); and a difference smaller than the seed spread is not a finding. What μ
# does on LLP is a check for a run on the released features.
#
# ## Implementation notes
#
# :::{dropdown} Details of the implementation
# * λ is computed on the raw cosine in both forms of the term: its bands below 0 only make
#   sense there. Its dependence on s is detached: λ is a weight, and letting gradients flow
#   through it would add a second pull on the similarities ({ref}`decision-sloss-weight`).
# * The IoU target of a pair in which neither segment has an active class is 0 (the union is
#   empty); `linkpaper.losses.iou_targets` handles it without a division by zero.
# * μ is one scalar parameter of the model (`sloss_mu`), decayed like every other parameter
#   by AdamW (weight decay 1e-3), which pulls it slightly towards 0.
# * The cosines are computed on the HAN encoder outputs, the features that feed the heads,
#   over all T × T = 100 pairs of a video, and averaged over the batch.
# :::

# %% [markdown]
# ## Summary
#
# 1. S-LOSS asks the audio and visual features of two segments to be as similar as their
#    pseudo labels agree (IoU), so on a misaligned clip the narrator's voice is kept apart
#    from the silent car and the dog's sound and picture are pulled together.
# 2. L_label and the cosine-against-IoU term come from the works the paper cites; LINK's own
#    addition is the adaptive weight λ(s; μ). In this book "+S" is all three, and the
#    controls of {ref}`decision-sloss-form` separate them.
# 3. Gradient descent can only raise μ towards 1 (λ → 1), and the optimiser's budget
#    (Σ lr × steps) sets the scale of how far it gets: on SynthLLP small the recipe's budget
#    ends below 1, so λ cannot be expected to reach 1 there. Whether the adaptive weight is
#    then a schedule in disguise (every variant ending where its seeds do) or depends on the
#    model is computed for each grid in "What the grid records show". What S does to the
#    visual F-score, at the selected and at the last epoch, and how much of it L_label alone
#    brings (`+S/label`), is read from the recipe grid's records, with the seeds each
#    sentence names: a difference below VALOR++'s seed spread is not a finding, and with one
#    seed that spread is unknown.

# %% [markdown]
# ## Exercises
#
# 1. Freeze the weight: train `+S` twice for the short schedule on today's SynthLLP, once as
#    it is and once with μ frozen at its initial 0, so that the two runs differ only in μ:
#    `python -m linkpaper grid --variants +S --seeds 1 --epochs 6 --warmup-epochs 1
#    --out runs/adaptive`, then the same with `--model-override freeze_mu=true --out
#    runs/frozen` (a few minutes each on a CPU). Re-run this page with
#    `-p grid_dir ../runs/adaptive` and with `-p grid_dir ../runs/frozen`. From the budget
#    table, how far should the adaptive μ get in six epochs, and how different should λ be
#    from the frozen one? Do the two runs' similarity terms and scores differ by more than
#    that predicts?
# 2. Re-run the page with another seed for the untrained model (`-p seed 88`). Does the
#    cosine map stay flat and pale? What does that say about which pairs the loss pulls first?
# 3. The prior work's form of the term (the dropdown in "The equations") pulls ReLU(s) towards
#    x/(1 + x) + 0.01, not towards the IoU. Work out from that formula the largest cosine it
#    asks of a pair whose segments share their labels. Then compare with the "cos, same
#    labels" column of the last-epoch table for `+S/leap-mu1` and `+S/leap`: the page shows
#    them when the recipe grid holds them; otherwise train them under the recipe
#    (`python -m linkpaper grid --variants +S/leap-mu1,+S/leap --seeds 1 --out runs/leap`)
#    and re-run the page with `-p recipe_dir ../runs/leap`. Is their alignment what the
#    target asks for, or a failure to reach it?
