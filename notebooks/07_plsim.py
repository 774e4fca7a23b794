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
# # 7. PLSIM: pseudo-label semantics, and the labels it may read
#
# :::{admonition} In this chapter
# :class: tip
# **You will learn** why LINK feeds the meaning of the pseudo-labelled classes into the
# features (PLSIM), and how: one text embedding per segment, turned into a feature-wise scale
# and shift (eqs 13-17); why PLSIM starts as the identity; which labels PLSIM may read without
# reading the answer, and how much the leaking labels inflate a score; and what the grid's
# records can and cannot say about PLSIM.
#
# **Prerequisites**: {doc}`04_valor` (the teachers' pseudo labels and the gated labels),
# {doc}`05_tsam_cmim` (the misaligned example clip, and what CMIM hands to PLSIM) and
# {doc}`03_synthllp` (SynthLLP's simulated teachers and their text tables).
#
# **Run time**: about 2 min on two CPU cores with the default parameters, most of it
# spent training the two demonstration models.
# :::
#
# **Data.** The hand-made clip of chapter 5 (illustrative); SynthLLP small, seed 0
# (synthetic features and simulated teachers, LLP's real val ground truth and weak labels);
# the LEAP GloVe class table (real, from the data folder); two "+P" models (PLSIM on
# VALOR++) trained here for one epoch on 1,000 SynthLLP training videos (CPU, seed 87), a
# **leakage demonstration**, not a result; and the run records of the recipe grid on
# SynthLLP with VALOR-like teachers (`results/synth_small_valor_teachers`, synthetic),
# whose variants, schedule and seeds the grid section reads from the records themselves.
# That folder is the only grid this page reads. The first recipe grid, on a SynthLLP whose
# simulated teachers scored the clean signal ({ref}`decision-synth-teachers`), is read only
# in chapter 9's section "What changed when the teachers were made like VALOR's"
# ({ref}`ch9-teachers-changed`).

# %% [markdown]
# ## Why: the labels know what the classes are
#
# VALOR++ uses the teachers' pseudo labels only as loss targets: they tell the model which
# classes to predict, after the encoder. The paper's PLSIM also uses them as an *input*: it
# injects the semantics of the pseudo-labelled classes into the features, so the encoder
# starts from features that already lean towards what the teachers heard and saw. The
# semantics come from text: each class is represented by the text encoder's embedding of a
# prompt such as "This is a sound of dog", where related classes (a violin and a cello, a
# baby laughing and a baby crying) tend to lie close together.
#
# On the clip of chapter 5 (a narrator heard in seconds 0-7 but never seen, a car seen in
# seconds 3-6 but not heard, a dog heard in seconds 7-9 and seen in seconds 8-9), with
# teachers that get it right: the audio segments 0-6 are modulated by the embedding of
# "speech", segment 7 by a mix of "speech" and "dog", segments 8-9 by "dog"; the visual
# segments 3-6 by "car", 8-9 by "dog", and the visual segments 0-2 and 7, where the picture
# shows no class, are left as they are. Each stream is told what *its* teacher found, so
# the narrator is never written into the picture, nor the car into the sound.
#
# There is a catch, and half of this page is about it. The labels a teacher hands over must
# not contain the answer. The released VALOR pseudo labels are AND-ed with the ground-truth
# video labels, for val and test too; a model that reads them at test time is told which
# classes the video contains. The paper says its PLSIM labels are made *without* that AND.
#
# ## The idea
#
# PLSIM is a feature-wise scale and shift computed from a condition (as in FiLM, Perez et
# al., 2018): for each segment, the text embeddings of its active classes are averaged, four
# small MLPs turn the average into a scale and a shift per channel for each modality, and the
# features are scaled, shifted and added back to themselves. PLSIM sits after CMIM and before
# VALOR++'s encoder ({ref}`decision-placement`).
#
# ## The equations
#
# With T_m the class text table of modality m (one row per class) and 𝒜_m[t] the classes
# active at segment t (e_m[t] = 0 if none),
# {py:func}`~linkpaper.models.link.segment_label_embedding`:
#
# $$
# e_m[t] = \frac{1}{|\mathcal{A}_m[t]|} \sum_{c \in \mathcal{A}_m[t]} T_m[c]
# \tag{13}
# $$
#
# Four MLPs D₁ … D₄ (D_text → H → H, ReLU; {py:class}`~linkpaper.models.link.TextMLP`) and
# the modulation, {py:class}`~linkpaper.models.link.PLSIM`:
#
# $$
# \begin{aligned}
# \gamma_1 &= D_1(e_a), \quad \gamma_2 = D_2(e_a), \quad \rho_1 = D_3(e_v), \quad \rho_2 = D_4(e_v) \cr
# F_a &= f_{a,\mathrm{out}} \odot \gamma_1 + \gamma_2 + f_{a,\mathrm{out}}, \qquad
# F_v = f_{v,\mathrm{out}} \odot \rho_1 + \rho_2 + f_{v,\mathrm{out}}
# \end{aligned}
# \tag{14–17}
# $$
#
# $f_{m,\mathrm{out}}$ is CMIM's output (eq 6), or the projected features in a variant
# without CMIM.
# *Decisions:* where several classes are active in a segment, eq 13 here takes the **mean**
# of their rows (a sum, or one embedding per class, are other readings; the
# decisions page lists them: {ref}`decision-plsim-mean`), and the text tables and the initialisation are
# set as {ref}`decision-plsim-init` says. Which labels PLSIM reads is
# {ref}`decision-plsim-labels`.
#
# ## The code
#
# The parameters: `data`, `seed`, `epochs` (training epochs of the demonstration models),
# `train_videos`, `grid_dir` (a folder of grid run records, relative to `notebooks/`),
# `device`, `precision` (the number format of the forward pass) and `data_dir`.

# %% tags=["parameters"]
data = "synth:small"  # data spec: synth:PRESET[:SEED] or llp:/path/to/valor_features
seed = 87  # model initialisation and training seed
epochs = 1  # training epochs of the demonstration models (the paper: 60)
train_videos = 1000  # training videos used (SynthLLP small has 2,000); None = all
grid_dir = "../results/synth_small_valor_teachers"  # grid records (from notebooks/)
device = "cpu"  # cpu or cuda
precision = "fp32"  # fp32, or bf16 (faster on CPUs with bf16 instructions, recent GPUs)
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %% tags=["hide-input"]
import dataclasses
import textwrap
import time
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown

from linkpaper.chapters import plsim_reading, viz
from linkpaper.chapters.modelviz import (
    Panel,
    curves_grid,
    heatmaps_figure,
    panels_figure,
)
from linkpaper.chapters.probe import (
    epoch_series,
    grid_section,
    misaligned_example,
    paired_differences,
    parameter_counts,
    records_source,
    seed_text,
    trace_forward,
    video_label_prf,
)
from linkpaper.classes import CLASSES, NUM_CLASSES
from linkpaper.data.sources import load_data
from linkpaper.data.synth import teacher_quality
from linkpaper.data.text_tables import glove_table
from linkpaper.errors import ConfigError, UserError
from linkpaper.models import build_model
from linkpaper.models.link import segment_label_embedding
from linkpaper.models.plsim_labels import PLSIM_LABEL_MODES
from linkpaper.training.engine import fit, train
from linkpaper.training.recipe import TrainConfig, recipe_warmup
from linkpaper.training.scoring import evaluate_split

torch.set_num_threads(1)
warnings.filterwarnings(
    "ignore", message="IProgress not found"
)  # tqdm without ipywidgets
avvp = load_data(data, data_dir=data_dir)
SOURCE = avvp.describe()
TEACHERS = plsim_reading.teachers_name(avvp.source)  # "SynthLLP's simulated teachers"
glove, glove_source = glove_table(data_dir)
print(SOURCE, "| text tables:", avvp.text_source)

# %% [markdown]
# ### e_m[t] on the example clip
#
# The example clip's labels through eq 13, with the LEAP GloVe table (real) standing in for
# both text tables; each segment embedding compared with the rows of the clip's three classes
# by cosine:

# %%
clip = misaligned_example()
table = torch.as_tensor(glove)
rows = {}
for m in ("audio", "visual"):
    e = segment_label_embedding(torch.as_tensor(clip[m])[None], table)[0]  # (10, 300)
    cos = (
        torch.nn.functional.normalize(e, dim=1)
        @ torch.nn.functional.normalize(table[clip["classes"]], dim=1).T
    )
    rows[m] = cos.T  # (3 classes, 10 segments); 0 where e = 0

# %% tags=["hide-input"]
fig = panels_figure(
    {
        f"cos(e_{m[0]}[t], T[c]) ({m})": Panel(c, -1, 1, cmap="RdBu_r", label="cosine")
        for m, c in rows.items()
    },
    source=f"hand-made example clip (illustrative); {glove_source}",
    title="Segment label embeddings of the narrator, car and dog clip",
    xlabel="segment t",
    ylabel="class c",
    yticks=[CLASSES[c] for c in clip["classes"]],
    xticks=list(range(10)),
    panel_size=(4.2, 2.0),
)
plt.show()

# %% [markdown]
# *What to look at:* each segment's embedding points at its own classes (dark red, cosine 1)
# and, through the table, partly at related ones; segment 7 of the audio, where speech and
# dog are both heard, is a mix of the two; the visual segments with no class (0-2, 7) are
# white: e = 0 there, so PLSIM leaves those segments unchanged.
#
# ### Class text tables
#
# The paper embeds "This is a sound of <class>" with CLAP's text encoder (audio) and "A photo
# of <class>" with CLIP's (visual). Those weights cannot be fetched here
# (`python -m linkpaper extract` computes the tables where they are available); the offline
# stand-ins are SynthLLP's own teacher tables and LEAP's 300-d GloVe class embeddings (the
# same table for both modalities). The cosine similarity of every pair of rows shows what a
# table "knows" about the classes: related classes (instruments, babies, engines) should be
# close.

# %%
tables = {
    "SynthLLP audio teacher table": avvp.text_audio,
    "SynthLLP visual teacher table": avvp.text_visual,
    "LEAP GloVe table (real)": torch.as_tensor(glove),
}


def cosine(table):
    table = torch.nn.functional.normalize(
        torch.as_tensor(table, dtype=torch.float32), dim=1
    )
    return table @ table.T


pd.DataFrame(
    {
        name: {
            "shape": str(tuple(t.shape)),
            "mean |cos| between classes": round(
                float(cosine(t).fill_diagonal_(0).abs().sum() / (25 * 24)), 3
            ),
        }
        for name, t in tables.items()
    }
).T.rename_axis(f"class text table [{SOURCE}; {glove_source}]")

# %% tags=["hide-input"]
fig = heatmaps_figure(
    {name: cosine(t) for name, t in tables.items()},
    source=f"{SOURCE}; {glove_source}",
    title="Cosine similarity between class rows",
    xticks=list(CLASSES),
    yticks=list(CLASSES),
    vmin=-1,
    vmax=1,
    cmap="RdBu_r",
    panel_size=(4.6, 4.4),
)
plt.show()

# %% [markdown]
# *What to look at:* the diagonal is 1 (dark red); off it, the colour says how related two
# classes are to the table. Red blocks among related classes (the instruments, the two
# babies, the engines) are the "semantics" PLSIM can pass on; a table whose off-diagonal is
# all white treats every class as unrelated to every other.
#
# ### e_m[t] on a validation video
#
# For one validation video, the ungated audio labels (the default PLSIM input) and the
# segment embeddings e_a[t] = mean of the active classes' rows
# (`linkpaper.models.link.segment_label_embedding`), compared with every class row by cosine.

# %%
val = avvp.val
index = 3
labels_a = val.pseudo_audio_ungated[index : index + 1]
e_a = segment_label_embedding(labels_a, avvp.text_audio)[0]  # (10, D_a)
active = labels_a[0] >= 0.5
shown = torch.nonzero(active.any(0)).flatten().tolist()
weak = [CLASSES[c] for c in torch.nonzero(val.weak[index]).flatten().tolist()]
cos_rows = (
    torch.nn.functional.normalize(e_a, dim=1)
    @ torch.nn.functional.normalize(avvp.text_audio, dim=1).T
)
print(
    textwrap.fill(
        f"{val.filenames[index]}: weak labels {weak}; "
        f"ungated audio labels flag {[CLASSES[c] for c in shown]}; "
        f"segments without a label: {torch.nonzero(~active.any(1)).flatten().tolist()}",
        80,
    )
)

# %% tags=["hide-input"]
fig = panels_figure(
    {
        "ungated audio labels": Panel(active[:, shown].T, 0, 1, label="active"),
        "cos(e_a[t], T_a[c])": Panel(
            cos_rows[:, shown].T, -1, 1, cmap="RdBu_r", label="cosine"
        ),
    },
    source=f"{val.filenames[index]} of {SOURCE}",
    title="Segment label embeddings (audio)",
    xlabel="segment t",
    ylabel="class c",
    yticks=[CLASSES[c] for c in shown],
    xticks=list(range(10)),
    panel_size=(3.8, 0.22 * len(shown) + 1.2),
)
plt.show()

# %% tags=["remove-input"]
active_val = val.pseudo_audio_ungated >= 0.5  # (N, 10, C)
per_video = float(active_val.any(1).sum(1).float().mean())
weak_per_video = float((val.weak >= 0.5).sum(1).float().mean())
AUDIO_TEACHER = plsim_reading.teachers_name(avvp.source, "audio")
Markdown(
    f"On this video the ungated labels of {AUDIO_TEACHER} flag {len(shown)} of the "
    f"{NUM_CLASSES} classes, against {len(weak)} weak "
    f"label{'s' if len(weak) != 1 else ''}. Over the "
    f"{len(val)} validation videos they flag {per_video:.1f} classes per video on "
    f"average, against {weak_per_video:.1f} weak labels (real), and "
    f"{active_val.sum(2).float().mean():.1f} classes per segment ({SOURCE})."
)

# %% [markdown]
# *What to look at:* how many classes the ungated labels flag, against the video's weak
# labels (the sentence above gives the counts): a teacher that is not told the answer is
# only as precise as its thresholds. Each e_a[t] is the mean of the rows of the classes
# active in its segment: the more classes are active, the more mixed the mean, and the paler
# its column tends to be.
#
# ### PLSIM starts as the identity
#
# With the last layer of D1-D4 at zero, γ and ρ are zero and F = f. Built with the same seed,
# a "+P" model and VALOR++ share every VALOR++ weight (modules are created in the same order,
# PLSIM's after them), so at initialisation the two give identical outputs, whatever labels
# PLSIM reads:

# %%
batch = val.subset(slice(0, 16))
torch.manual_seed(seed)
valor = build_model("valor++")
torch.manual_seed(seed)
plus_p = build_model(
    "+P",
    text_dim_audio=avvp.text_audio.shape[1],
    text_dim_visual=avvp.text_visual.shape[1],
)
plus_p.set_text_tables(avvp.text_audio, avvp.text_visual)
out_valor, _ = trace_forward(valor, batch.audio, batch.visual, batch.visual_3d)
out_p, trace_p = trace_forward(
    plus_p,
    batch.audio,
    batch.visual,
    batch.visual_3d,
    batch.pseudo_audio_ungated,
    batch.pseudo_visual_ungated,
)
pd.Series(
    {
        "max |γ1|, |γ2|, |ρ1|, |ρ2|": max(
            float(trace_p[k].abs().max())
            for k in ("plsim_gamma1", "plsim_gamma2", "plsim_rho1", "plsim_rho2")
        ),
        "max |e_a| (the labels are not empty)": float(trace_p["plsim_e_a"].abs().max()),
        "max |F_a - f_a|, max |F_v - f_v|": max(
            float((trace_p[f"plsim_out_{m}"] - trace_p[f"plsim_in_{m}"]).abs().max())
            for m in "av"
        ),
        "max |frame_prob(+P) - frame_prob(VALOR++)|": float(
            (out_p.frame_prob - out_valor.frame_prob).abs().max()
        ),
        "max |global_prob(+P) - global_prob(VALOR++)|": float(
            (out_p.global_prob - out_valor.global_prob).abs().max()
        ),
    },
    name="value",
).to_frame().rename_axis(f"untrained, seed {seed} [16 val videos of {SOURCE}]")

# %% [markdown]
# ## Three label modes ({ref}`decision-plsim-labels`)
#
# | mode | PLSIM reads | available | honest at test time |
# | --- | --- | --- | --- |
# | `ungated` (default) | teacher labels thresholded over all 25 classes | SynthLLP; `linkpaper extract` for LLP | yes |
# | `self` | the model's own first pass (frame ≥ 0.5 AND video ≥ 0.5), no PLSIM | always | yes |
# | `gated` | the released labels: teacher AND ground-truth video labels | the released files | **no**: reads the answer |
#
# The released files only hold the gated labels. On SynthLLP both exist, and the gated
# labels are exactly the ungated ones AND-ed with the weak labels:

# %%
rows = {}
for split in (avvp.val, avvp.test):
    for m in ("audio", "visual"):
        gated, ungated = (
            getattr(split, f"pseudo_{m}") >= 0.5,
            getattr(split, f"pseudo_{m}_ungated") >= 0.5,
        )
        rows[(split.name, m)] = {
            "gated == ungated AND weak (share of cells)": float(
                (gated == (ungated & (split.weak[:, None, :] >= 0.5))).float().mean()
            ),
            "gated cells": int(gated.sum()),
            "ungated cells": int(ungated.sum()),
        }
pd.DataFrame.from_dict(rows, orient="index").rename_axis(
    ["split", f"teacher [{SOURCE}]"]
)

# %% [markdown]
# How good each set of labels is. At the video level (is the class flagged anywhere in the
# video?) the gated labels can never flag a class outside the ground-truth video labels: their
# precision is 1 by construction. At the segment level (against the dense ground truth, from
# `linkpaper.data.synth.teacher_quality`) the gate can only remove labels: the sentence below
# the tables says what it does to precision and recall.

# %%
video_rows = {}
for m in ("audio", "visual"):
    for kind, suffix in (("ungated", "_ungated"), ("gated", "")):
        labels = torch.cat(
            [getattr(s, f"pseudo_{m}{suffix}") for s in (avvp.val, avvp.test)]
        )
        weak = torch.cat([s.weak for s in (avvp.val, avvp.test)])
        video_rows[(m, kind)] = video_label_prf(labels.numpy(), weak.numpy())
pd.DataFrame.from_dict(video_rows, orient="index").round(3).rename_axis(
    ["teacher", f"labels vs weak labels, video level [{SOURCE}, val+test]"]
)

# %%
quality = teacher_quality(avvp)
pd.DataFrame(
    {(m, kind): prf for m, kinds in quality.items() for kind, prf in kinds.items()}
).T.round(3).rename_axis(
    ["teacher", f"labels vs dense GT, segment level [{SOURCE}, val+test GT (real)]"]
)


# %% tags=["remove-input"]
def moves(m, stat):
    before, after = quality[m]["ungated"][stat], quality[m]["gated"][stat]
    return f"{stat} from {before:.2f} to {after:.2f}"


Markdown(
    "At the segment level (val and test of this page's data), the gate moves "
    + "; ".join(
        f"{plsim_reading.teachers_name(avvp.source, m)}'s {moves(m, 'precision')} and "
        f"its {moves(m, 'recall')}"
        for m in ("audio", "visual")
    )
    + ". PLSIM reads the ungated labels by default; a model trained on the released "
    "files reads the gated ones."
)

# %% [markdown]
# ### The engine refuses the gated mode unless asked by name
#
# `linkpaper.training.engine.train` checks the PLSIM labels of every split before the first step; the
# gated mode needs `allow_label_leakage=True` (`--allow-label-leakage`), and a run that uses
# it is marked in its record and in every table built from it.

# %%
try:
    train(
        TrainConfig(
            model="+P", data=data, data_dir=data_dir, epochs=1, plsim_labels="gated"
        ),
        None,
        data=avvp,
        progress=False,
    )
except ConfigError as err:
    print(textwrap.fill(f"ConfigError: {err}", 80))  # wrapped to fit the page

# %% [markdown]
# ### What the gated labels inflate (leakage demonstration)
#
# Two "+P" models, trained with the engine for one epoch on the first 1,000 training videos
# (batch 32, seed 87): one reading the ungated labels (the honest default), one the gated
# labels (with `allow_label_leakage`, as a model trained on the released files would). Each
# is then scored on the validation split with each kind of PLSIM input, and with empty
# labels (e = 0 everywhere). **Rows marked LEAK used the ground-truth video labels of the
# split they are scored on.**

# %%
tic = time.perf_counter()
subset = dataclasses.replace(avvp, train=avvp.train.subset(slice(0, train_videos)))
inputs = {
    "ungated labels": PLSIM_LABEL_MODES["ungated"].labels(avvp.val),
    "gated labels (LEAK)": PLSIM_LABEL_MODES["gated"].labels(
        avvp.val, allow_label_leakage=True
    ),
    "empty labels": (
        torch.zeros_like(avvp.val.pseudo_audio),
        torch.zeros_like(avvp.val.pseudo_visual),
    ),
}
scores, leakage_flags = {}, {}
for mode in ("ungated", "gated"):
    config = TrainConfig(
        model="+P",
        data=data,
        data_dir=data_dir,
        epochs=epochs,
        warmup_epochs=recipe_warmup(epochs),
        seed=seed,
        device=device,
        precision=precision,
        num_threads=1,
        batch_size=32,
        plsim_labels=mode,
        allow_label_leakage=mode == "gated",
    )
    fitted = fit(config, data=subset, evaluate_test=False, progress=False)
    record, model = fitted.record, fitted.model
    leakage_flags[mode] = record["label_leakage"]
    for name, (pl_a, pl_v) in inputs.items():
        leak = " (LEAK)" if mode == "gated" else ""
        (scores[f"trained on {mode}{leak}, scored with {name}"], _, _) = evaluate_split(
            model, avvp.val.to(device), (pl_a.to(device), pl_v.to(device))
        )
seconds = time.perf_counter() - tic
DEMO = (
    f"+P, {epochs} epoch(s) on {len(subset.train)} videos (batch 32), seed {seed}, "
    f"{SOURCE}; val GT (real)"
)
viz.scores_frame(scores, source=f"leakage demonstration [{DEMO}]")

# %% tags=["remove-cell"]
assert leakage_flags == {"ungated": False, "gated": True}

# %% tags=["nbval-ignore-output"]
print(f"two models trained and scored in {seconds:.1f} s")

# %% tags=["remove-input"]
type_av = {name: row.row()[3] for name, row in scores.items()}
honest = type_av["trained on ungated, scored with ungated labels"]
peek = type_av["trained on ungated, scored with gated labels (LEAK)"]
leaker = type_av["trained on gated (LEAK), scored with gated labels (LEAK)"]
leaker_honest = type_av["trained on gated (LEAK), scored with ungated labels"]
leaker_empty = type_av["trained on gated (LEAK), scored with empty labels"]


def versus(value):
    return f"{abs(value - honest):.2f} points {'above' if value > honest else 'below'}"


Markdown(
    f"In segment Type@AV: the honest score (first row) is {honest:.2f}. Feeding the "
    f"gated labels at evaluation to the same model gives {peek:.2f}, {versus(peek)} "
    f"it. The model trained on gated labels scores {leaker:.2f} with them "
    f"({versus(leaker)} the honest score); given the honest ungated labels it scores "
    f"{leaker_honest:.2f} ({versus(leaker_honest)}), and with empty labels "
    f"{leaker_empty:.2f} ({versus(leaker_empty)}). The gap between its gated and its "
    f"ungated rows, {leaker - leaker_honest:.2f} points, is what a leaking evaluation "
    "would add to its reported numbers in this run (one seed, "
    f"{'one epoch' if epochs == 1 else f'{epochs} epochs'}, synthetic data). "
    + (
        "Its gated row is the highest of the table."
        if leaker == max(type_av.values())
        else f"The highest row of the table is {max(type_av, key=type_av.get)!r}."
    )
)

# %% [markdown]
# Reading the table (the sentence above gives the numbers of this run):
#
# * The honest score is the first row: trained and scored with the ungated labels.
# * The second row feeds the gated labels to the same model at evaluation time: the labels
#   now say which classes the video contains, and the difference from the first row is what
#   that tells a model that was not trained to rely on it.
# * A model **trained** on gated labels can learn to rely on them. Its rows with the
#   ungated labels or with none are what it can reach at test time; the difference between
#   those and its gated row is a score it could never reach honestly.
#
# The released VALOR++ pseudo labels are of the gated kind. A PLSIM model evaluated on them
# reads the test set's video labels; `linkpaper` therefore defaults to `ungated` (or `self`)
# and marks every `gated` result with:

# %%
from linkpaper.training.runs import LEAKAGE_CAPTION

print(textwrap.fill(LEAKAGE_CAPTION, 80))

# %% [markdown]
# (ch7-grid-diagnostics)=
# ## What the grid records show
#
# The grid this page reads by default (`results/synth_small_valor_teachers`) was trained
# on SynthLLP with VALOR-like teachers (synthetic; {doc}`03_synthllp`,
# {ref}`decision-synth-teachers`). Its records hold, per epoch, the share of (segment,
# class) cells that PLSIM read as active on the training batches and the validation
# Type@AV; a finished run also holds its test scores, with the weights of the epoch it
# selected on validation. Every variant with P has a partner without it (+P and VALOR++,
# +T+P and +T, +S+P and +S, LINK and +T+S), trained with the same seeds, so the difference
# of their scores, seed by seed, is what adding PLSIM did in that run. The control
# `+P/self` has PLSIM too, but reads the model's own first pass instead of the teachers'
# labels. Whatever variants and seeds the records folder holds:

# %% tags=["remove-input"]
PAIRS = plsim_reading.PLSIM_PAIRS
SELF = plsim_reading.SELF_CONTROL
records, GRID, text = grid_section(
    grid_dir, [v for pair in PAIRS for v in pair] + [SELF], avvp.source
)
Markdown(text)

# %% tags=["hide-input"]
with_p = {k: r for k, r in records.items() if k[0] in {a for a, _ in PAIRS} | {SELF}}
WITH_P = records_source(with_p) if with_p else GRID  # the runs the table shows
active_last = None
if records:
    try:
        active_last = pd.DataFrame(
            {
                m: epoch_series(records, f"plsim_active_{m[0]}").ffill().iloc[-1]
                * NUM_CLASSES
                for m in ("audio", "visual")
            }
        )
        display(
            active_last.round(2).rename_axis(
                ["variant", f"seed [classes PLSIM reads per segment, {WITH_P}]"]
            )
        )
    except UserError as err:
        print(err)

# %% tags=["remove-input"]
gt = {"audio": val.gt_audio, "visual": val.gt_visual}
gt = {m: float(g.sum(-1).mean()) for m, g in gt.items()}
teacher_train = {
    m: float((getattr(avvp.train, f"pseudo_{m}_ungated") >= 0.5).sum(-1).float().mean())
    for m in ("audio", "visual")
}


def span(values):
    low, high = float(values.min()), float(values.max())
    return (
        f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f} to {high:.2f}"
    )


reading = (
    f"For comparison, the ground truth of the {len(val)} LLP val videos of this page's "
    f"validation split (real) holds {gt['audio']:.2f} audio and {gt['visual']:.2f} "
    f"visual classes per segment, and the ungated labels of {TEACHERS} on this page's "
    f"{len(avvp.train):,} training videos flag {teacher_train['audio']:.2f} and "
    f"{teacher_train['visual']:.2f} ({SOURCE})."
)
if active_last is not None:
    own = active_last.index.get_level_values(0) == SELF
    teachers, selfs = active_last[~own], active_last[own]
    if len(teachers):
        reading += (
            " At the last epoch, PLSIM read the teachers' labels as "
            f"{span(teachers['audio'])} audio classes per segment ("
            f"{teachers['audio'].mean() / gt['audio']:.1f} times the ground truth) and "
            f"{span(teachers['visual'])} visual ones ("
            f"{teachers['visual'].mean() / gt['visual']:.1f} times)."
        )
    if len(selfs):
        reading += (
            f" The {SELF} runs, reading their own first pass, had it read "
            f"{span(selfs['audio'])} audio and {span(selfs['visual'])} visual classes "
            "per segment."
        )
Markdown(reading)

# %% [markdown]
# SynthLLP's simulated teachers have thresholds chosen to make the *gated* labels best, not
# the ungated ones PLSIM reads ({ref}`decision-synth-teachers`); the count a `+P/self` row shows, when
# the folder holds one, is the model's own labels instead.

# %% tags=["remove-input"]
held = {(v, sd) for v, sd in records}
shared = {
    pair: sorted(
        {sd for v, sd in held if v == pair[0]} & {sd for v, sd in held if v == pair[1]}
    )
    for pair in PAIRS
}
found = [
    f"{a} − {b} (seed{'s' if len(sd) > 1 else ''} {seed_text(sd)})"
    for (a, b), sd in shared.items()
    if sd
]
lacking = [f"{a} − {b}" for (a, b), sd in shared.items() if not sd]
paired = {(v, sd) for (a, b), sds in shared.items() for sd in sds for v in (a, b)}
PAIRED = (
    records_source({k: r for k, r in records.items() if k in paired})
    if paired
    else GRID
)  # in the records' order, not the set's
Markdown(
    (
        "Pairs with both partners in the folder: " + "; ".join(found) + "."
        if found
        else "No pair has both partners in the folder yet."
    )
    + (
        f" Left out until both partners share a seed: {'; '.join(lacking)}."
        if lacking
        else ""
    )
)

# %% tags=["hide-input"]
try:
    gains = paired_differences(records, "val_type_av", PAIRS)
except UserError as err:
    gains = None
    print(err)
if gains is not None:
    last_gain = gains.ffill().iloc[-1].unstack(0)
    display(
        last_gain.round(2).rename_axis(
            f"seed [val Type@AV at the last epoch, with P − without, {PAIRED}]"
        )
    )

# %% tags=["hide-input"]
if gains is not None:
    pairs_found = list(dict.fromkeys(gains.columns.get_level_values(0)))
    fig = curves_grid(
        {
            pair: gains[pair].rename(columns=lambda s: f"seed {s}")
            for pair in pairs_found
        },
        source=PAIRED,
        title="Validation Type@AV, with PLSIM minus without (same seed)",
        xlabel="epoch",
        ylabel="F points",
        markers=True,
        legend_cols=3,
        panel_size=(3.4, 2.7) if len(pairs_found) > 1 else (6.0, 3.0),
    )
    bound = max(1.0, float(gains.abs().max().max()) * 1.1)
    for ax in fig.axes:
        ax.set_ylim(-bound, bound)  # one symmetric scale for every pair
        ax.axhline(0, color="grey", lw=0.8)
    plt.show()

# %% [markdown]
# *What to look at:* the panels share one scale, symmetric around 0 (no difference). Curves
# above the line are runs in which adding PLSIM raised the validation score; with several
# seeds, look at whether they agree in sign, and whether the difference grows or shrinks as
# training goes on.
#
# ### On the test split
#
# The validation differences above are those of the last epoch. The test differences below
# are those of the epoch each run selected on validation (the epoch chapter 9 reads too), so
# the two can differ in size and even in sign. Segment level, F points, with P − without,
# each run against its partner of the same seed:

# %% tags=["hide-input"]
test_diffs = plsim_reading.test_differences(records, PAIRS)
if not test_diffs.empty:  # the sentence below says when it is
    tested = {(v, sd) for label, sd in test_diffs.index for v in label.split(" − ")}
    TESTED = records_source({k: r for k, r in records.items() if k in tested})
    display(
        test_diffs.round(2).rename_axis(
            ["pair", f"seed [test, segment level, with P − without; {TESTED}]"]
        )
    )

# %% tags=["remove-input"]
Markdown(plsim_reading.test_difference_reading(test_diffs, records=records))

# %% [markdown]
# ### The `+P/self` control
#
# `+P` and `+P/self` have the same network and differ only in the labels PLSIM reads, in
# training and at test time: the teachers' ungated labels, or the model's own first pass
# without PLSIM, gated by its own video prediction ({ref}`decision-plsim-self-gate`). Both
# learn from the teachers' labels as loss targets. `+P` − `+P/self` is therefore what the
# teachers' labels add as PLSIM's input; `+P/self` − VALOR++ is what the module adds
# without them ({ref}`decision-weak-control`).

# %% tags=["remove-input"]
Markdown(plsim_reading.self_control_reading(records))

# %% [markdown]
# **What this shows and what it cannot.** The records show how many classes PLSIM reads
# per segment and, pair by pair and seed by seed, what adding PLSIM did to the validation
# score during training and to the test score of the selected epoch. They cannot show
# *why*: the scale and shift PLSIM applies (γ, ρ) are not logged and no checkpoint is
# committed, so whether PLSIM passes on the classes' meaning or acts as a plain per-class
# indicator is not visible in them. On the SynthLLP of this grid the visual teacher
# thresholds the cosine of the very visual features the model reads (with per-class
# thresholds set once, on the donor half of LLP val), so about a given video its labels say
# nothing those features do not hold; the audio teacher reads a second simulated view of
# the same sound, with its own noise, as VALOR's CLAP labels on LLP come from a second view
# of the same audio. The text tables are the simulated teachers' own, not CLAP's and CLIP's
# text embeddings, so the semantics PLSIM could pass on are synthetic too. A difference of one seed is not a gain:
# chapter 9 ({ref}`ch9-teachers-changed`) sets this grid's test gains beside the first
# grid's, with intervals over seeds and test videos.
#
# ## Implementation notes

# %%
plsim_counts = parameter_counts(plus_p.plsim)
pd.Series(
    {**plsim_counts, "PLSIM total": sum(plsim_counts.values())}, name="parameters"
).to_frame().rename_axis(
    f"PLSIM of +P (text tables {tuple(avvp.text_audio.shape)} audio, "
    f"{tuple(avvp.text_visual.shape)} visual; no data)"
)

# %% [markdown]
# :::{dropdown} Initialisation and edge cases
# * Each of D₁ … D₄ is Linear(D_text → H), ReLU, Linear(H → H); the second layer's weights
#   and bias start at zero, so γ = ρ = 0 and F = f at step 0 ({ref}`decision-plsim-init`).
#   The first layer keeps PyTorch's default initialisation, so the gradient reaches the
#   second layer from the first step.
# * A segment with no active class has e = 0; γ and ρ are then the MLPs' value at 0 (zero at
#   the start, the learned biases later), the same for every such segment.
# * The text tables are buffers of the model, saved with its weights; a PLSIM model refuses
#   to run before `set_text_tables` has filled them, and the source of the tables is recorded
#   with every result.
# * With `plsim_labels="self"` (a `ModelConfig` field) the model makes its own labels in a
#   first pass without PLSIM (eval mode, no gradient), thresholded by the inference rule.
#   The grid trains it as the named control `+P/self`: the gap between `+P` and `+P/self`
#   is what the teachers' labels add as PLSIM's input, apart from the module itself (read
#   in {ref}`ch7-grid-diagnostics` when the grid holds it).
# :::

# %% [markdown]
# ## Summary
#
# 1. PLSIM turns each segment's pseudo labels into the mean text embedding of its classes
#    and uses it to scale and shift that segment's features (eqs 13-17), each stream with its
#    own teacher's labels; it starts as the identity.
# 2. The labels it reads must not contain the answer: the released labels are gated by the
#    ground-truth video labels, so a model that reads them at test time is told which
#    classes the video contains; `linkpaper` reads ungated (or its own) labels and marks any
#    gated run, and the demonstration measures what the gate adds in one short run.
# 3. The grid on SynthLLP with VALOR-like teachers (synthetic) shows how many classes PLSIM
#    reads and what adding it did to the validation and test scores, pair by pair and seed
#    by seed (each run against its partner of the same seed); where the folder holds the
#    control `+P/self` (its section says whether it does), it separates the module from the
#    teachers' labels. With one seed the spread is unknown, and no record shows whether
#    PLSIM uses the classes' meaning.

# %% [markdown]
# ## Exercises
#
# 1. Train the demonstration models longer: `python scripts/run_notebooks.py 07 -p epochs 3
#    --output-dir runs/nb`. Does the gap between the leaking model's gated and ungated rows
#    grow as it learns to rely on the labels?
# 2. Let the model make its own labels: add `plsim_labels="self"` to the `TrainConfig` of the
#    demonstration (a copy of this page) and compare its honest score with the ungated one.
#    Which is more precise on SynthLLP, the teachers' ungated labels or the model's own?
# 3. Switch PLSIM off: train the demonstration's model as `model="valor++"` (the same
#    network with `use_plsim=False`) and score it with `evaluate_split(model, avvp.val)`, no
#    labels (it returns three values: the scores, then the frame and video probabilities;
#    `scores, _, _ = evaluate_split(...)` as in the demonstration cell). Is the honest "+P" above it after one epoch? What would you need before calling
#    that a gain (see chapter 9)?
