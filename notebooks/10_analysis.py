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
# # 10. Analysis
#
# :::{admonition} In this chapter
# :class: tip
# **You will learn**
#
# * where two models differ behind chapter 9's averages: per class, and on segments where
#   what is heard and what is seen agree or not;
# * to read such comparisons with their seed spread and their sample sizes, and why a class
#   can score 0;
# * what LINK's modules did during training, from the per-epoch records of the grid.
#
# **Prerequisites**: {doc}`09_results` (the recipe grid and its noise), {doc}`02_evaluation`
# (segment-level F), and the module chapters {doc}`05_tsam_cmim` and {doc}`06_sloss`.
#
# **Run time**: about 1 min on two busy CPU cores with the default parameters (it reads run
# records and stored test decisions; it trains nothing).
# :::

# %% [markdown]
# ## Behind the averages
#
# Chapter 9 compares variants by a few averages. LINK's motivation is narrower: what is heard
# and what is seen often differ (a narrator off screen, a car seen but not heard), and LINK
# is built to handle those segments better. So this page asks where the two models differ:
# per class, on aligned and non-aligned segments, on single videos, and inside the modules
# during training. Every comparison uses **all seeds of both models** in the grid, shows each
# seed, and says how many test segments it rests on.
#
# **Data.** The ground truth is LLP's *real* test annotations (1,200 videos). The predictions
# are the test decisions stored with every run of the recipe grid (`test_decisions.npz`,
# chapter 9): each segment's 0/1 decision per class and modality, already gated, that is
# AND-ed with the model's own predicted video label, as the inference rule requires
# ({doc}`02_evaluation`). This is not the gating of the pseudo labels, which AND-s a
# teacher's labels with the weak label ({term}`gated decision` and {term}`gated label` in the
# glossary). The models were **trained on SynthLLP small: synthetic features**, so the
# decisions say how they behave on LLP's label structure, not how they behave on real LLP
# features.
#
# This page reads the {term}`recipe grid`, `results/synth_small_valor_teachers`, trained on
# the SynthLLP whose simulated teachers are made as VALOR's are: a thresholded cosine of the
# model's own visual features, and an audio teacher from a separate CLAP-like embedding
# ({ref}`decision-synth-teachers`). It does not read the {term}`first grid`,
# `results/synth_small_recipe`, whose teachers read the clean signal, so that PLSIM, which
# reads the teachers' labels at test time, got information the features did not carry
# (chapter 9 compares the two). The grid is trained over several sessions, so a model may
# have one seed here or several: the first output below lists each model's seeds.
#
# The parameters: `results_dir` (the grid's run records), `compare` (the two variants,
# baseline first), `seed` (the training seed whose predictions the example videos show),
# `examples` (how many example videos) and `data_dir` (where the LLP annotations are).

# %% tags=["parameters"]
results_dir = "../results/synth_small_valor_teachers"  # grid with VALOR-like teachers
compare = ["valor++", "link"]  # the two variants compared (baseline first)
seed = 87  # the training seed whose predictions the example videos show
examples = 3  # how many example videos to draw
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from linkpaper.chapters import (
    analysis_reading,
    prediction_scores,
    run_records,
    seed_analysis,
    tables,
    viz,
)
from linkpaper.chapters.probe import epoch_series, grid_records
from linkpaper.classes import CLASSES
from linkpaper.data.annotations import load_annotations, video_id
from linkpaper.data.sources import load_data
from linkpaper.errors import UserError
from linkpaper.evaluation.paper import VARIANT_LABELS
from linkpaper.models import list_models

test = load_annotations("test", data_dir)
names = [VARIANT_LABELS.get(v, v) for v in compare]
# {(model, seed): predictions...}
runs = seed_analysis.seed_runs(results_dir, compare, test)
rows = run_records.measured_rows(run_records.find_run_dirs(results_dir, compare))
TRAINED_ON = rows[0]["data"]
SOURCE = f"LLP test GT (real); predictions of models trained on {TRAINED_ON}"
seeds_of = {name: [s for m, s in runs if m == name] for name in names}
if missing := [name for name in names if not seeds_of[name]]:
    raise UserError(f"{results_dir}: no finished run with test decisions of "
                    f"{', '.join(missing)}; set compare to variants this folder holds")
display(Markdown("; ".join(
    f"**{name}**: seeds {', '.join(map(str, seeds_of[name]))}" for name in names
)))

# %% tags=["remove-cell"]
# the stored decisions score exactly what each run recorded
for (name, run_seed), run in runs.items():
    assert np.allclose(run["scores"].row(), run["record"].test_row), (name, run_seed)
assert all(seeds_of[name] for name in names), seeds_of

# %% [markdown]
# The two models' test scores, mean ± standard deviation over their seeds:

# %%
tables.measured_table(rows, "segment", title="Compared models", source=TRAINED_ON)

# %% [markdown]
# What the table says, computed from the same runs:

# %% tags=["remove-input"]
display(Markdown(analysis_reading.score_difference_reading(runs, names)))

# %% [markdown]
# ## Per class
#
# Segment-level F (%) per class: the mean, over the test videos in which the class appears
# (in the ground truth or the prediction), of that video's F for the class. Each class is
# scored on its own segments only, and the classes differ a lot in how many there are, so
# the figure writes each class's number of test segments beside its name. Both panels show
# the classes in one order, from the most to the least frequent over audio and visual
# together, so a class sits on the same row in both.

# %%
first_record = next(iter(runs.values()))["record"]
# the runs' data ("synth:small"): its training split's labels and pseudo labels
regenerated = load_data(first_record.data["spec"], data_dir)
support = seed_analysis.class_support(test, regenerated.train)
if not seed_analysis.trained_on(first_record, regenerated):
    # the weak labels are LLP's for every generation; the teachers were another's
    teacher_counts = ["teacher audio segments", "teacher visual segments"]
    support = support.drop(columns=teacher_counts)
    print("the runs were trained on an earlier SynthLLP generation: "
          "its teacher counts are not shown")
per_class = seed_analysis.per_class_seed_frame(runs)

# %% tags=["hide-input"]
fig = seed_analysis.per_class_seed_figure(
    per_class, support, source=SOURCE,
    title=f"Per-class segment-level F over seeds: {' vs '.join(names)}",
)
plt.show()

# %% [markdown]
# **What to look at.** How far apart the dots of one model are (its seed spread; a model with
# one seed has a single dot, on its diamond) against the distance between the two models'
# diamonds; and the classes at the bottom, with few test segments, where one video more or
# less moves F by several points.
#
# The class and modality pairs where the two models differ most (mean F of the second model
# minus the first), each model's mean with the range over its seeds. Where a model has
# one seed, the last column says the spread is unknown rather than True or False:

# %%
differences = seed_analysis.class_differences(per_class, support, names)
one_seed = per_class.groupby("model")["seed"].nunique().min() < 2
shown_differences = differences.astype({"seed ranges overlap": object})
if one_seed:  # a point against a point: no seed spread to compare
    shown_differences["seed ranges overlap"] = "unknown (one seed)"
shown_differences.rename_axis(index=[f"class [{SOURCE}]", "modality"])

# %% tags=["remove-input"]
display(Markdown(seed_analysis.class_difference_reading(differences, support)))

# %% [markdown]
# ## Classes that score 0
#
# A class scores F = 0 when no test video gets it right. Every such case in the runs
# compared here, with what the data says about it: how many test segments the runs predict
# for the class, how many test segments it has, how many training videos carry its video
# label (and its rank from the rarest), and how many training segments the teacher labels.

# %%
zeros = seed_analysis.zero_score_classes(per_class, support)
zeros.rename_axis(index=[f"class [{SOURCE}]", "modality"]) if len(zeros) else zeros

# %% tags=["remove-input"]
display(Markdown(seed_analysis.zero_score_reading(zeros, support, per_class)))

# %% [markdown]
# The five classes with the fewest training videos, with their test counts (and the
# teachers' counts when the runs were trained on the SynthLLP the present code makes):

# %%
support.sort_values("train videos", kind="stable").head(5).rename_axis(
    f"class [test: LLP (real); train: {TRAINED_ON}]"
)

# %% [markdown]
# ## Aligned versus non-aligned segments
#
# A segment is **aligned** when the classes heard in it are exactly the classes seen in it,
# **non-aligned** when they differ (at least one class only heard or only seen), and
# **empty** when nothing is annotated. Here is how LLP's test segments divide:

# %%
kind = prediction_scores.segment_alignment(test.gt_audio, test.gt_visual)
counts = pd.Series(
    {
        name: int((kind == k).sum())
        for k, name in enumerate(prediction_scores.SEGMENT_KINDS)
    }
)
pd.DataFrame(
    {"segments": counts, "share (%)": (100 * counts / counts.sum()).round(1)}
).rename_axis("LLP test segments (real annotations)")

# %% [markdown]
# Segment-level F (%) restricted to each kind of segment, for every seed of both models.
# Unlike the official metric (a mean over videos), the counts are pooled over all selected
# segments and classes, since a kind of segment covers only part of a video. Audio-visual is
# the AND of both modalities; Event@AV pools the audio and visual counts.

# %%
alignment = seed_analysis.alignment_seed_frame(runs, test.gt_audio, test.gt_visual)

# %% tags=["hide-input"]
fig = seed_analysis.alignment_seed_figure(alignment, source=SOURCE)
plt.show()

# %% [markdown]
# **What to look at.** How far each model falls or rises from the left panel to the right
# one, then, within a panel, whether the two models' dots mix or stay apart. The table gives
# mean ± standard deviation over seeds and, in parentheses, the number of seeds:

# %%
seed_analysis.alignment_seed_table(alignment).rename_axis(
    index=["model", f"segments [{SOURCE}]"]
)

# %% tags=["remove-input"]
display(Markdown(seed_analysis.alignment_reading(alignment, names, kind)))

# %% [markdown]
# A class heard but not seen (or seen but not heard) is exactly what the video-level labels
# cannot tell and what the teachers' pseudo labels must supply, so non-aligned segments are
# expected to be harder; the bullets above say by how much here. LINK is designed to close
# that gap. Whether it does so on this grid is a comparison of the two models' gaps:

# %% tags=["remove-input"]
display(Markdown(analysis_reading.alignment_gap_reading(alignment, names)))

# %% [markdown]
# {doc}`06_sloss` looks at what S-LOSS, one of LINK's three modules, does to the visual
# scores.

# %% [markdown]
# ## Example videos
#
# Among the test videos with at least two classes and at least one non-aligned segment,
# those picked by the difference of the per-video segment-level Type@AV of the two models
# (one training seed of each, named in the titles): the largest gain of the second model,
# the largest loss, and a typical video. Each panel is one class; each line a row of ground
# truth or prediction (after the official gating by the predicted video label).

# %%
shown = seed if all(seed in seeds_of[n] for n in names) else min(
    set(seeds_of[names[0]]) & set(seeds_of[names[1]]), default=seeds_of[names[0]][0]
)
chosen = {name: runs[(name, shown)] for name in names if (name, shown) in runs}
non_aligned = (kind == prediction_scores.NON_ALIGNED).any(axis=1)
eligible = (test.weak.sum(axis=1) >= 2) & non_aligned
picks = prediction_scores.example_videos(
    *(chosen[name]["scores"].per_video["segment"]["type"] for name in names),
    count=examples,
    eligible=eligible,
)

# %% tags=["hide-input"]
for index, why in picks:
    rows_shown = {"GT audio": test.gt_audio[index]}
    rows_shown.update(
        {f"{n} audio": chosen[n]["predictions"][0][index] for n in names}
    )
    rows_shown["GT visual"] = test.gt_visual[index]
    rows_shown.update(
        {f"{n} visual": chosen[n]["predictions"][1][index] for n in names}
    )
    type_av = ", ".join(
        f"{n} {100 * chosen[n]['scores'].per_video['segment']['type'][index]:.1f}"
        for n in names
    )
    weak = ", ".join(CLASSES[c] for c in np.nonzero(test.weak[index])[0])
    video = video_id(test.filenames[index])
    fig = viz.timeline_figure(
        rows_shown,
        source=f"{SOURCE}, seed {shown}",
        title=f"{why}: video {video} (weak labels: {weak}); "
        f"segment Type@AV {type_av}",
    )
    plt.show()

# %% [markdown]
# **What to look at.** Rows where the two models' predictions differ from each other while
# the ground truth is the same; a video picked for the largest gain or loss of one seed is an
# illustration, not evidence: another seed may pick other videos.

# %% [markdown]
# ## Module diagnostics
#
# Every run record keeps, per epoch, the mean over training batches of what the modules
# report: CMIM's scalars α₁, α₂ (and β₁, β₂; eqs 4-5, initialised to 1), S-LOSS's μ (eq 12,
# initialised to 0), and the spread of TSAM's attention weights (eqs 1-3): the standard
# deviation of the temporal weights over the ten segments and of the spatial weights over
# the hidden channels (0 would mean TSAM weighs every segment, or every channel, alike).
# These records are read for every Table II variant of the grid that has the module. First
# the values at the first and the last epoch:

# %%
all_seeds = sorted({int(p.name[4:]) for p in run_records.find_run_dirs(results_dir)})
grid = grid_records(results_dir, list_models(), all_seeds)  # {(variant, seed): record}
GRID_SOURCE = f"training records of the recipe grid, {TRAINED_ON}"
LABELS = {
    "alpha1": "CMIM α₁ (= β₁)", "alpha2": "CMIM α₂ (= β₂)", "mu": "S-LOSS μ",
    "tsam_a_temporal_std": "TSAM audio: std of temporal weights",
    "tsam_v_temporal_std": "TSAM visual: std of temporal weights",
    "tsam_a_spatial_std": "TSAM audio: std of spatial weights",
    "tsam_v_spatial_std": "TSAM visual: std of spatial weights",
}
seed_analysis.epoch_endpoints(grid, LABELS, LABELS).rename_axis(
    index=["quantity", f"variant [{GRID_SOURCE}]"]
)

# %% [markdown]
# CMIM's scalars and μ, each in its own panel and on its own scale: the scalars as their
# change from the initial value 1, in thousandths, so that a change of a few thousandths is
# visible and not lost in a range drawn around 1.

# %% tags=["hide-input"]
fig = seed_analysis.epoch_panels_figure(grid, [
    {"key": "alpha1", "title": "CMIM α₁ (= β₁): change from 1", "offset": 1.0,
     "scale": 1000, "ylabel": "(α₁ − 1) × 10³"},
    {"key": "alpha2", "title": "CMIM α₂ (= β₂): change from 1", "offset": 1.0,
     "scale": 1000, "ylabel": "(α₂ − 1) × 10³"},
    {"key": "mu", "title": "S-LOSS μ (starts at 0; λ = 1 at μ = 1, dashed)",
     "ylabel": "μ", "ylim": (0, 1.05), "hline": 1.0},
], source=GRID_SOURCE, title="CMIM's scalars and S-LOSS's μ per epoch", columns=2)
plt.show()

# %% [markdown]
# **What to look at.** The size of the change, on each panel's own axis: whether the scalars
# leave 1 by more than a few thousandths, and how far μ gets towards 1 (the dashed line, where
# the adaptive weight λ becomes a constant 1): μ's axis runs from 0 to 1, so a curve that
# flattens well below the line has slowed down, not arrived. Where a variant has several
# seeds, the thin lines show whether they agree. Where the runs end (computed):

# %% tags=["remove-input"]
display(Markdown(analysis_reading.module_reading(grid)))

# %% [markdown]
# α₁ and β₁ (and α₂ and β₂) should stay equal in every run: only their products α₁β₁ and
# α₂β₂ enter eqs 4-5 and both factors start at 1, so their gradients and AdamW updates are
# identical. The parameterisation then has two free scalars, not four. The records check it:

# %% tags=["hide-input"]
lines = []
for pair in (("alpha1", "beta1", "α₁ − β₁"), ("alpha2", "beta2", "α₂ − β₂")):
    try:
        gap = (epoch_series(grid, pair[0]) - epoch_series(grid, pair[1])).abs()
        lines.append(f"* largest |{pair[2]}| over every CMIM run and epoch: "
                     f"{gap.max().max():.2e}")
    except UserError:
        lines.append(f"* no run with CMIM in this grid yet ({pair[2]})")
display(Markdown("\n".join(lines)))

# %% [markdown]
# TSAM's weights: how much they vary over the ten segments (temporal) and over the hidden
# channels (spatial). The spatial spread is drawn in thousandths, on its own axis.

# %% tags=["hide-input"]
fig = seed_analysis.epoch_panels_figure(grid, [
    {"key": "tsam_a_temporal_std", "title": "TSAM audio: std of temporal weights",
     "ylabel": "std over segments"},
    {"key": "tsam_v_temporal_std", "title": "TSAM visual: std of temporal weights",
     "ylabel": "std over segments"},
    {"key": "tsam_a_spatial_std", "title": "TSAM audio: std of spatial weights",
     "scale": 1000, "ylabel": "std over channels × 10³"},
    {"key": "tsam_v_spatial_std", "title": "TSAM visual: std of spatial weights",
     "scale": 1000, "ylabel": "std over channels × 10³"},
], source=GRID_SOURCE, title="TSAM's attention weights per epoch", columns=2)
plt.show()

# %% [markdown]
# **What to look at.** Whether the temporal spread grows (TSAM learning to single out
# segments), falls or stays where it started, and how the spatial spread compares with it:
# spatial weights close to one value for every channel rescale the features almost
# uniformly. What the records say (computed):

# %% tags=["remove-input"]
display(Markdown(analysis_reading.tsam_reading(grid)))

# %% [markdown]
# Whether the temporal weights follow content cannot be read from these per-epoch means (the
# grid keeps no checkpoints); in the short demonstration run of {doc}`05_tsam_cmim` they
# follow segment position more than content.
#
# Last, the training losses of S-LOSS's two terms (log scale) and the quantity that selects
# the tested epoch, validation segment-level Type@AV:

# %% tags=["hide-input"]
fig = seed_analysis.epoch_panels_figure(grid, [
    {"key": "train_loss.label", "title": "label term (train, mean over batches)",
     "ylabel": "loss (log scale)", "log": True},
    {"key": "train_loss.similarity",
     "title": "similarity term (train, mean over batches)",
     "ylabel": "loss (log scale)", "log": True},
    {"key": "val_type_av", "from_epoch": 5, "ylabel": "F (%)",
     "title": "validation segment-level Type@AV, from epoch 5"},
], source=GRID_SOURCE, title="Loss terms and model selection per epoch", columns=2)
plt.show()

# %% [markdown]
# **What to look at.** Whether the loss terms keep falling after the validation score has
# flattened: if so, the runs go on fitting their training set without gaining on validation,
# and the epoch the validation score selects (chapter 8) matters more than the last one.

# %% [markdown]
# ## Summary
#
# 1. A per-class or per-segment difference between two models means something only beyond
#    the spread of their seeds: the figures show every seed, and the tables say when the
#    seed ranges overlap. With one seed per model the spread is unknown, and no difference
#    is established; seed ranges that are apart still leave out the draw of test videos,
#    which chapter 9's intervals add.
# 2. A class with few test segments moves by several points when one video is right or
#    wrong, and a class with few training videos has little to learn from; a class scores 0
#    when a run gets none of its test segments right, and the data (its training videos, its
#    test segments, the teacher's labels) says which cause is likely.
# 3. Non-aligned segments are LINK's motivation: whether every model finds them harder,
#    whether LINK narrows the gap, and how far its modules' parameters move on SynthLLP
#    small are read from the grid's records, synthetic features and all. On this grid:

# %% tags=["remove-input"]
display(Markdown(analysis_reading.summary_reading(runs, names, alignment, grid)))

# %% [markdown]
# ## Exercises
#
# 1. **Another pair.** Re-execute with `compare` set to `["valor++", "+P"]`
#    (`-p compare '["valor++", "+P"]'`). Which of LINK's largest per-class differences does
#    +P share (both have PLSIM)? For which classes do the two models' seed ranges overlap,
#    so that the difference in their means is not yet a finding?
# 2. **Another seed's examples.** Set `seed` to another seed that both models have (the
#    first output lists them; e.g. `-p seed 88`; a seed that either model lacks falls back
#    to one both have): do the videos picked as the largest gain and loss stay the same?
#    What does that say about reading one example video?
# 3. **Is rarity the whole story?** From the class support table (`support`) and the
#    per-class frame (`per_class`), plot each class's mean F against its number of training
#    videos, per modality. Which classes score far below what their frequency suggests, and
#    what do their teacher counts say?
