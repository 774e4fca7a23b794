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
# what the grid's records say about S-LOSS's cost in visual F-score.
#
# **Prerequisites**: {doc}`04_valor` (VALOR++'s loss terms and pseudo labels) and
# {doc}`05_tsam_cmim` (the misaligned example clip); {doc}`03_synthllp` for the simulated
# teachers whose labels are the targets here.
#
# **Run time**: about 20 s on two CPU cores with the default parameters.
# :::
#
# **Data.** The hand-made clip of chapter 5 (illustrative); SynthLLP small, seed 0
# (synthetic) for a real pseudo-label pair and an untrained "+S" model (seed 87); the run
# records of two grids on SynthLLP small (synthetic), both written by
# `python -m linkpaper grid` ({doc}`08_training`): a short first-round grid, used only to contrast its
# schedule with the recipe's, and the grid under the paper's recipe (each section names the
# runs and schedule it reads, from the records); and LLP's real test annotations for the
# error counts.

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
# short first-round grid) and `recipe_dir` (the grid under the paper's recipe), both relative
# to `notebooks/`, and `data_dir`.

# %% tags=["parameters"]
data = "synth:small"  # data spec: synth:PRESET[:SEED] or llp:/path/to/valor_features
seed = 87  # model initialisation seed
grid_dir = "../results/synth_small_grid"  # the short first-round grid (contrast)
recipe_dir = "../results/synth_small_recipe"  # the grid under the paper's recipe
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown

from linkpaper.chapters import prediction_scores, run_records, viz
from linkpaper.chapters.modelviz import Panel, curves_figure, curves_grid, panels_figure
from linkpaper.chapters.probe import (
    epoch_series,
    find_grid_records,
    grid_section,
    lr_budget,
    misaligned_example,
    record_budget,
    records_source,
    seed_text,
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
lambda_table = pd.DataFrame(
    {
        f"μ = {mu:g}": sloss_lambda(
            torch.tensor([-0.5, -0.1, 0.0, 0.5, 1.0]), torch.tensor(mu)
        ).numpy()
        for mu in (0.0, 0.5, 1.0, 2.0)
    },
    index=pd.Index([-0.5, -0.1, 0.0, 0.5, 1.0], name="s (the formula, no data)"),
)
lambda_table.round(4)

# %% tags=["hide-input"]
s = torch.linspace(-1, 1, 801)
curves = {
    f"μ = {mu:g}": (s, sloss_lambda(s, torch.tensor(mu)))
    for mu in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
}
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
r_clip = iou_targets(
    torch.as_tensor(clip["audio"])[None], torch.as_tensor(clip["visual"])[None]
)[0]

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
pd.DataFrame(
    {
        name: [round(float(b[e - 1]), 4) if e <= len(b) else "" for e in shown]
        for name, b in schedules.items()
    },
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
# The runs with S of the short first-round grid; the dashed line is the budget of their own
# schedule, drawn at each epoch's midpoint, where the logged mean sits.

# %% tags=["remove-input"]
S_VARIANTS = ["+S", "+T+S", "+S+P", "link"]
records, GRID, text = grid_section(grid_dir, S_VARIANTS, avvp.source)
Markdown(text)

# %% tags=["hide-input"]
if records:
    mu = epoch_series(records, "mu")
    budget = np.concatenate([[0.0], record_budget(next(iter(records.values())))])
    midpoints = (budget[:-1] + budget[1:]) / 2
    BUDGET = "Σ lr × steps (midpoint)"
    fig = curves_grid(
        {
            f"μ of {variant}": {
                **{f"seed {s}": (mu.index, mu[(v, s)]) for v, s in mu.columns
                   if v == variant},
                BUDGET: (np.arange(len(midpoints)) + 1, midpoints),
            }
            for variant in dict.fromkeys(v for v, _ in mu.columns)
        },
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
# to 1 (where λ = 1): on this schedule every run barely leaves the bottom, along the dashed
# budget.

# %% tags=["hide-input"]
if records:
    display(mu.T.round(4).rename_axis(["variant", f"seed [μ per epoch, {GRID}]"]))

# %% [markdown]
# μ rises from 0 in every run and every seed, at the rate the optimiser allows: about the
# constant-size budget, which AdamW exceeds only when the gradient on μ grows (as s leaves the
# region near 1, where ∂λ/∂μ = −e^(1−μ)(1 − s) vanishes). The curves hardly depend on the
# variant or the seed: the rate is set by the optimiser and the schedule, not by the data.
# S-LOSS's adaptive weight is therefore a schedule in disguise, from e at the start towards 1
# (reached only with a schedule whose budget passes 1). `ModelConfig(freeze_mu=True)`
# (`--model-override freeze_mu=true`) keeps μ at its initial value, the alternative reading
# in which λ is a fixed weighting.
#
# ### μ under the paper's recipe
#
# The same quantity in the runs with S of the recipe grid, next to the budget of their
# schedule.

# %% tags=["remove-input"]
recipe_records, RECIPE, text = grid_section(
    recipe_dir, ["+S", "+S/leap", "+T+S", "+S+P", "link", "link/leap"], avvp.source
)
Markdown(text)

# %% tags=["hide-input"]
if recipe_records:
    recipe_mu = epoch_series(recipe_records, "mu")
    recipe_budget = record_budget(next(iter(recipe_records.values())))
    BUDGET = "Σ lr × steps"
    fig = curves_grid(
        {
            f"μ of {variant}": {
                **{f"seed {s}": (recipe_mu.index, recipe_mu[(v, s)])
                   for v, s in recipe_mu.columns if v == variant},
                BUDGET: (np.arange(1, len(recipe_budget) + 1), recipe_budget),
            }
            for variant in dict.fromkeys(v for v, _ in recipe_mu.columns)
        },
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
    last_mu = recipe_mu.ffill().iloc[-1]
    display(Markdown(
        f"At the last epoch μ lies between {last_mu.min():.3f} and {last_mu.max():.3f} "
        f"over these runs, against a budget of {recipe_budget[-1]:.3f} for their "
        "schedule. The band weight e^|1−μ| therefore ends between "
        f"{np.exp(1 - last_mu.max()):.2f} and {np.exp(1 - last_mu.min()):.2f} "
        "(it starts at e ≈ 2.72): on SynthLLP small, whose 2,000 training videos give "
        "32 steps per epoch, λ stays close to its initial shape through the whole "
        "recipe."
    ))

# %% [markdown]
# The `+S/paper-mu1` control (λ = 1 throughout) shows what the weight changes.
#
# ### Why the visual scores fall with S-LOSS
#
# Under the recipe, the variants with S lose visual F-score against VALOR++
# ({doc}`09_results`). The controls of the recipe grid take S-LOSS apart
# ({ref}`decision-sloss-form`): `+S/label` keeps L_label and drops the similarity term;
# `+S/paper-mu1` keeps eq 12 with λ = 1; `+S/leap-mu1` is the prior work's gentler form with
# λ = 1; `+S/leap` that form with the adaptive λ. Segment-level test scores, mean over the
# seeds each variant has in the folder (column n):

# %% tags=["hide-input"]
SLOSS_VARIANTS = [
    "valor++", "+S/label", "+S/paper-mu1", "+S", "+S/leap-mu1", "+S/leap", "link/leap"
]
try:
    sloss_rows = run_records.measured_rows(
        run_records.find_run_dirs(recipe_dir, SLOSS_VARIANTS)
    )
except UserError as err:
    sloss_rows = []
    print(err)
by_model = {row["model"]: row for row in sloss_rows}
sloss_records = find_grid_records(recipe_dir, SLOSS_VARIANTS)
# the caption names the runs the table shows, read from their records
SHOWN = records_source(sloss_records) if sloss_records else "no recipe records"
scores = pd.DataFrame(
    {row["model"]: dict(zip(["A", "V", "AV", "Type@AV"], row["mean"][:4]), n=row["n"])
     for row in sloss_rows}
).T
if sloss_rows:
    display(scores.round(2).astype({"n": int}).rename_axis(
        f"segment level, test [{SHOWN}]"))

# %% [markdown]
# **Where the visual errors come from.** Counts over LLP's test cells (video, segment,
# class) of each stream's true positives, false negatives and false positives, the false
# positives split by what the *other* modality's ground truth says: a class predicted
# visible where it is heard but not seen ("heard") or neither heard nor seen ("neither").

# %% tags=["hide-input"]
test = load_annotations("test", data_dir)
errors = (
    prediction_scores.cross_modal_error_rows(sloss_rows, test) if sloss_rows else None
)
if errors is not None:
    counts = errors.drop(columns="n").round(1)
    if (counts == counts.round()).all().all():
        counts = counts.astype(int)  # one seed each: whole cells
    display(counts.assign(n=errors["n"].astype(int)).rename_axis(
        f"cells of LLP test (real GT), seed means [{SHOWN}]"))

# %% tags=["remove-input"]
if errors is not None and {"valor++", "+S", "+S/label"} <= set(errors.index):
    drop = {m: scores.loc[m, "V"] - scores.loc["valor++", "V"]
            for m in ("+S/label", "+S")}
    fp = errors["visual FP, heard"] + errors["visual FP, neither"]
    tp = errors["visual TP"] - errors.loc["valor++", "visual TP"]
    fp = fp - fp["valor++"]
    n = {m: by_model[m]["n"] for m in ("valor++", "+S/label", "+S")}
    display(Markdown(
        f"Against VALOR++ ({n['valor++']} seed(s)), the segment-level visual F changes "
        f"by {drop['+S/label']:+.2f} points with L_label alone (`+S/label`, "
        f"{n['+S/label']} seed(s)) and by {drop['+S']:+.2f} with the whole of S (`+S`, "
        f"{n['+S']} seed(s)). The visual true positives change by "
        f"{tp['+S/label']:+.0f} and {tp['+S']:+.0f} cells, the visual false positives "
        "by "
        f"{fp['+S/label']:+.0f} and {fp['+S']:+.0f}."
    ))

# %% [markdown]
# Read the sentence above against the table: where the true positives hold and the false
# positives rise, S costs visual **precision**, not recall, on heard-only cells and on empty
# ones alike; and where `+S/label` already loses most of what `+S` loses, the cost arrives
# with **L_label, before any similarity term**. Why L_label can do this on SynthLLP: it
# trains VALOR's per-modality *video* probabilities against Y_m[c] = max_t pl_m[t, c]. A
# class switched on in a single segment by the visual teacher makes it "visible" for the
# whole clip, and the visual teacher, like CLIP with the narrator of the example clip,
# switches on classes that are heard but not seen. Its video-level labels are far less
# precise than the audio teacher's:

# %%
pd.DataFrame(
    {
        (split, modality): video_label_prf(
            getattr(getattr(avvp, split), f"pseudo_{modality}"),
            getattr(getattr(avvp, split), f"gt_{modality}").any(axis=1),
        )
        for split in ("val", "test")
        for modality in ("audio", "visual")
    }
).T[["precision", "recall", "f"]].round(3).rename_axis(
    ["split", f"Y_m = max_t gated pseudo label [{SOURCE}] vs the modality's GT (real)"])

# %% [markdown]
# Pushing the visual video probability towards 1 for those classes raises the visual frame
# probabilities across the clip (VALOR's video probability is an attention-weighted mean over
# segments). The training records show it in the last panel of the figure below: the mean
# visual frame probability on cells whose class only the *audio* pseudo labels hold. Whether
# L_label costs as much on LLP depends on how precise the real CLIP labels are at the video
# level, which could not be measured where this book was built.
#
# **What the similarity term does to the features.** Every run records, per epoch, the mean
# cosine of the encoder outputs over the training pairs of each target group (same label
# set, overlapping sets, disjoint sets, both empty). How often each group occurs in the
# training targets:

# %% tags=["hide-input"]
pd.DataFrame(
    {"SynthLLP small train, gated pseudo labels (synthetic)":
         prediction_scores.target_group_shares(train.pseudo_audio, train.pseudo_visual),
     "LLP test ground truth (real)":
         prediction_scores.target_group_shares(test.gt_audio, test.gt_visual)}
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
    last = pd.DataFrame({
        READABLE[key]: epoch_series(sloss_records, key).ffill().iloc[-1]
        .groupby(level=0, sort=False).mean()
        for key in READABLE
    })
    display(last.round(3).rename_axis(f"variant [last epoch, seed means, {ALIGN}]"))

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
    fig = curves_grid(
        {
            READABLE[key]: epoch_series(sloss_records, key).T
            .groupby(level=0, sort=False).mean().T
            for key in ("cos_same", "cos_disjoint", "cos_empty",
                        "visual_prob_on_audio_only")
        },
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
# similarity term, orange the prior work's; dashed lines have λ fixed at 1. The cosine panels
# span a cosine's whole range, [−1, 1]. Without the
# similarity term (VALOR++, `+S/label`) the audio and visual outputs stay nearly parallel for
# every pair, whatever the labels (the shared encoder layers and the cross-modal attention
# mix the streams); with it, the pairs with disjoint sets are pulled towards 0, as the targets
# ask, and the same-set pairs end less aligned than VALOR++'s. In the last panel, a visual
# probability above VALOR++'s on heard-only cells is the label term's leak at work.

# %% tags=["remove-input"]
if {"valor++", "+S", "+S/paper-mu1"} <= set(by_model):
    spread = by_model["valor++"]["std"][3]
    type_av = scores["Type@AV"]
    text = (
        f"In segment Type@AV, `+S` (adaptive λ) ends "
        f"{type_av['+S'] - type_av['+S/paper-mu1']:+.2f} points from `+S/paper-mu1` "
        f"(λ = 1); VALOR++'s seed standard deviation is {spread:.2f} over "
        f"{by_model['valor++']['n']} seeds."
    )
    if "+S/leap" in by_model:
        text += (
            " The prior work's form with the adaptive weight (`+S/leap`) ends "
            f"{type_av['+S/leap'] - type_av['+S']:+.2f} points from the paper's form "
            "(`+S`)."
        )
    missing = [m for m in SLOSS_VARIANTS if m not in by_model]
    if "+S/leap" in by_model and "link/leap" in missing:
        # LINK with the prior work's form is trained only if that form beats the paper's
        beats = type_av["+S/leap"] > type_av["+S"]
        seeds = by_model["+S/leap"]["n"]
        text += (
            " LINK with the prior work's form (`link/leap`) belongs in the grid only "
            "if `+S/leap` beats the paper's form; on "
            f"{seeds} seed{'s' if seeds > 1 else ''} it "
            + ("does, so `link/leap` is still to be trained." if beats else
               "does not, so `link/leap` is not trained.")
        )
        missing.remove("link/leap")
    if missing:
        text += f" Not in the folder yet: {', '.join(missing)}."
    display(Markdown(text))

# %% [markdown]
# **The weight and the form.** The numbers above compare the adaptive weight with λ = 1 and
# the two forms of the term, each against VALOR++'s seed spread. With μ still far from 1 at
# the end of this schedule, λ differs from 1 all along; a difference smaller than the seed
# spread says the weight changes little here. Chapter 9's control table gives each
# control's interval.
#
# **What this shows and what it cannot.** The records show three things the equations
# predict: μ only rises, at the pace of the optimiser's budget, not of the data (so on
# SynthLLP small, even under the paper's 60 epochs, the weight λ never gets near its end
# state λ = 1); the similarity term reshapes the encoder's space as its targets ask; and the
# controls separate what L_label does from what the similarity term and its weight do. They
# cannot show what happens on LLP, where the recipe's budget carries μ to 1 and the real
# visual teacher's video-level labels may be more precise than SynthLLP's simulated ones (the
# released labels are gated, so this could not be measured offline); and a control's
# difference smaller than the seed spread (chapter 9 gives each its interval) is not a
# finding. The first is a check for a run on the released features.
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

# %% tags=["remove-input"]
controls = [m for m in SLOSS_VARIANTS if m not in ("valor++", "+S") and m in by_model]
if controls:
    display(Markdown(
        "Seeds behind the controls read on this page: "
        + "; ".join(f"`{m}` {seed_text(by_model[m]['seeds'])} "
                    f"({by_model[m]['n']} seed{'s' if by_model[m]['n'] > 1 else ''})"
                    for m in controls)
        + f"; VALOR++ has {by_model['valor++']['n']} and `+S` {by_model['+S']['n']}."
        + (" With one seed, a control's difference from `+S` or VALOR++ is one draw, "
           "to be read against VALOR++'s seed spread."
           if min(by_model[m]["n"] for m in controls) == 1 else "")
    ))

# %% [markdown]
# ## Summary
#
# 1. S-LOSS asks the audio and visual features of two segments to be as similar as their
#    pseudo labels agree (IoU), so on a misaligned clip the narrator's voice is kept apart
#    from the silent car and the dog's sound and picture are pulled together.
# 2. L_label and the cosine-against-IoU term come from the works the paper cites; LINK's own
#    addition is the adaptive weight λ(s; μ). In this book "+S" is all three, and the
#    controls of chapter 9 separate them.
# 3. Gradient descent can only raise μ towards 1 (λ → 1), at the pace of the optimiser's
#    budget: the adaptive weight is a schedule in disguise, and on SynthLLP small it never
#    reaches its end state. The grid's controls tell L_label's share of S's visual cost from
#    the similarity term's, each from the few seeds counted above the summary: a difference
#    below VALOR++'s seed spread is not a finding.

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
#    asks of a pair whose segments share their labels, and compare with the "cos, same labels"
#    column of the last-epoch table for `+S/leap-mu1` and `+S/leap`. Is the lower alignment of
#    those runs what the target asks for, or a failure to reach it?
