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
# # 9. Results
#
# :::{admonition} In this chapter
# :class: tip
# **You will learn**
#
# * to read the paper's Tables I and II, and why the numbers measured in this book sit in
#   tables of their own;
# * to compare the two through the *gain over VALOR++*, and to weigh a gain against two kinds
#   of noise: training seeds and the draw of test videos;
# * which measured gains are distinguishable from noise, and how many seeds a gain of the
#   paper's size would need;
# * what a grid trained with the paper's recipe on synthetic features can and cannot say about
#   LINK's modules.
#
# **Prerequisites**: {doc}`02_evaluation` (the ten scores), {doc}`03_synthllp` (the synthetic
# features), {doc}`08_training` (the recipe and the grid of runs), and the module chapters
# {doc}`05_tsam_cmim`, {doc}`06_sloss` and {doc}`07_plsim`.
#
# **Run time**: about 15 s on two CPU cores with the default parameters (it reads run
# records; it trains nothing).
# :::

# %% [markdown]
# ## The question, and two kinds of numbers
#
# The paper's ablation (its Table II) asks what each of LINK's three additions contributes on
# top of VALOR++: TSAM with CMIM (T), S-LOSS (S) and PLSIM (P), alone and combined. Its answer
# is a set of small gains on the real LLP test set: LINK with all three adds 0.7 points of
# segment-level Type@AV to VALOR++'s 66.2.
#
# This page shows two kinds of numbers and never mixes them:
#
# * **reported**: the paper's Tables I and II, LLP test set (real features), quoted from the
#   paper, never computed here;
# * **measured**: the same variants trained here with {term}`the paper's recipe <paper's recipe>` (60 epochs, 10
#   warm-up epochs, batch 64) on the data their run records name, which every measured table
#   states; by default **SynthLLP small**: synthetic features, a training set a fifth of
#   LLP's, scored against LLP's real test annotations (chapter 3).
#
# Models trained on SynthLLP never saw an LLP feature, so their absolute scores say nothing
# about the paper's: SynthLLP's difficulty (its class noise) was set with VALOR++ alone so
# that VALOR++ lands near its LLP score, and set again when the simulated teachers changed
# (chapter 3); every other number follows from those choices. What *can* be compared is the
# **gain over VALOR++**: does a module move the score, in which direction, by more than the
# noise? That is the bridge of this page.
#
# The notebook's parameters: `results_dir`, the folder of run records (by default the recipe
# grid on SynthLLP with VALOR-like teachers, `results/synth_small_valor_teachers`: every
# table below shows the runs that folder holds and names any that are missing; the grid is
# trained across sessions, so some variants may still have fewer seeds than others),
# `first_teachers` and `first_grid_dir`, the first SynthLLP's stored test teacher labels and
# its grid (read only by the section on what changed, and only when `results_dir` holds
# SynthLLP runs), and `bootstrap_resamples`, the number
# of test-video resamplings behind each interval.

# %% tags=["parameters"]
results_dir = "../results/synth_small_valor_teachers"  # <variant>/seed<N>/, summary
# the first SynthLLP's test teacher labels and grid (the section "What changed")
first_teachers = "../results/synth_teachers/first_teachers_test_ungated.npz"
first_grid_dir = "../results/synth_small_recipe"
bootstrap_resamples = 2000  # test-video resamplings for the gain intervals

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from linkpaper.chapters import gain_reading, run_records, seed_analysis, tables
from linkpaper.data.annotations import load_annotations
from linkpaper.errors import UserError
from linkpaper.evaluation import paper
from linkpaper.evaluation.paper import VARIANT_LABELS
from linkpaper.models import list_controls, list_models

rows = run_records.measured_rows(
    run_records.find_run_dirs(results_dir, list_models() + list_controls())
)
measured = [row for row in rows if row["model"] in list_models()]  # Table II variants
if not any(row["model"] == "valor++" for row in measured):
    raise UserError(f"{results_dir}: no finished VALOR++ run; every gain on this page "
                    "is measured against it")
test_annotations = load_annotations("test")  # LLP's real test annotations
MEASURED_SOURCE = " / ".join(dict.fromkeys(row["data"] for row in rows))
GRID = f"recipe grid on {MEASURED_SOURCE}, {measured[0]['epochs']} epochs"

# %% tags=["remove-input"]
display(Markdown(
    gain_reading.data_sentence(rows) + "\n\n" + gain_reading.grid_status(measured)
))

# %% tags=["remove-cell"]
# The grid writes summary.json when it finishes: its mean ± std must equal the rows
# computed here from the individual run records.
summary_path = Path(results_dir) / "summary.json"
if summary_path.is_file():
    summary = json.loads(summary_path.read_text())
    stored = {row["model"]: row for row in summary["rows"]}
    for row in rows:
        if row["model"] in stored:
            assert np.allclose(stored[row["model"]]["mean"], row["mean"]), row["model"]
            assert np.allclose(stored[row["model"]]["std"], row["std"]), row["model"]
assert all(row["label_leakage"] is False for row in rows)  # no run read GT video labels

# %% [markdown]
# ## The paper's tables, as reported (LLP test set)
#
# **Table I** compares LINK with published methods for audio-visual video parsing;
# **Table II** is the ablation. F-scores (%) on the real LLP test set, quoted from the paper
# (`linkpaper.evaluation.paper`). Segment level first, then event level; Type@AV is the mean of audio,
# visual and audio-visual, Event@AV pools the audio and visual counts (chapter 2).

# %%
reported_i, reported_ii = paper.reported_rows("I"), paper.reported_rows("II")
tables.paper_table(reported_i, [], "segment", title="Table I (reported)")

# %%
tables.paper_table(reported_i, [], "event", title="Table I (reported)")

# %%
tables.paper_table(reported_ii, [], "segment", title="Table II (reported)")

# %%
tables.paper_table(reported_ii, [], "event", title="Table II (reported)")

# %% [markdown]
# ## The same columns, measured here
#
# Every variant of Table II the records hold, in a table of its own whose caption names the
# data the run records were trained on: mean ± standard deviation over the seeds named in
# each row. VALOR++ and LINK are also the two rows of Table I this
# repository can train; the other methods of Table I are not reimplemented. Read these rows
# against each other, not against the tables above.

# %%
tables.measured_table(measured, "segment", title="Table II, measured", source=GRID)

# %%
tables.measured_table(measured, "event", title="Table II, measured", source=GRID)

# %% [markdown]
# ## The bridge: gains over VALOR++
#
# A measured gain (a variant's seed mean minus VALOR++'s seed mean) carries two kinds of
# noise:
#
# * **Seeds.** Another training seed gives another model. The grey dots below are single
#   seeds, each minus VALOR++'s seed mean; VALOR++'s own seeds, first, show how far one seed
#   strays with no module added at all.
#   Part of it is **model selection**: each run keeps the epoch with the best validation
#   score on 321 videos, and which epoch wins is itself noisy.
# * **Test videos.** Another draw of 1,200 test videos would give other scores. A *paired
#   bootstrap* resamples the test videos with replacement, the same videos for both models,
#   and gives the 95 % interval of the gain (`linkpaper.evaluation.gains.paired_bootstrap`; every score
#   is a mean of per-video scores, so resampling videos resamples the metric exactly).
#
# Both at once: a **two-level bootstrap** resamples each model's seeds with replacement, then
# the test videos (`linkpaper.evaluation.gains.two_level_bootstrap`). Its interval (light blue in the
# figure, beside the video-only one in dark blue) is never narrower; how much wider it is
# depends on how far the seeds of each model stray. A model with a single seed adds no seed
# noise of its own: its one seed is drawn every time, so the interval then holds only the
# other model's seed noise, and the verdicts below mark such a comparison as provisional.
# A gain is **distinguishable from noise** when this interval excludes zero. The number of
# seeds a gain of the paper's size would need comes from a two-sided 5 % test with 80 %
# power at the measured seed spread (`linkpaper.evaluation.gains.seeds_needed`; a one-seed
# model is assumed to stray as much as the other model's seeds); since a spread measured on
# a few seeds is itself very uncertain, it is given with its range over the 95 % interval
# of the spread (`linkpaper.evaluation.gains.seeds_needed_range`). The figure shows
# segment-level and event-level Type@AV, the paper's headline scores.

# %%
gains = gain_reading.gain_data(
    measured, reported_ii, test_annotations, resamples=bootstrap_resamples
)
points = gain_reading.seed_gain_points(measured)
# each run's test scores at its selected and at its last epoch (model selection)
selection = {score: run_records.selection_frame(measured, column=column)
             for score, column in (("Seg type", 3), ("Event type", 8))}
caveats = {score: gain_reading.selection_caveats(frame)
           for score, frame in selection.items()}

# %% tags=["hide-input"]
fig = gain_reading.gain_figure(
    gains, points,
    source=f"measured: {GRID}; reported: LINK paper, Table II, LLP test",
)
plt.show()

# %% [markdown]
# **What to look at.** The black diamonds are the paper's gains: all within a point of zero.
# Only gains are compared: SynthLLP's difficulty was set so that VALOR++ lands near the
# paper's 66.2 (chapter 3), so matching absolute levels are there by construction.
# Compare each blue interval with its diamond and with zero, and the spread of the grey dots
# with the size of the diamonds: when one seed of VALOR++ already strays as far from its own
# mean as the paper's gain, a handful of seeds cannot confirm or refute that gain.
#
# The numbers behind the figure: the paper's gain on LLP (reported), the measured gain, the
# seed standard deviations (the variant's, then VALOR++'s), the interval, whether the gain is
# distinguishable from noise, and the seeds per model a gain of the paper's size would need:

# %%
report = gain_reading.gain_report(measured, reported_ii, test_annotations, data=gains)
report.rename_axis(
    [f"variant [{MEASURED_SOURCE}]", "score"]
)

# %% tags=["remove-input"]
display(Markdown(gain_reading.seeds_needed_notes(gains)))

# %% [markdown]
# In words, computed from the table (so it stays true as the grid fills):

# %% tags=["remove-input"]
display(Markdown(
    "**Segment-level Type@AV**\n\n"
    + gain_reading.gain_verdicts(gains, "Seg type", notes=caveats["Seg type"])
    + "\n\n**Event-level Type@AV**\n\n"
    + gain_reading.gain_verdicts(gains, "Event type", notes=caveats["Event type"])
))

# %% [markdown]
# (ch9-selection)=
# ### Model selection is part of the seed noise
#
# Every run keeps the epoch with the best validation Type@AV on the 321 videos of the
# selection half, and scores that epoch on test. Which epoch wins is itself noisy: a run that
# peaks early on validation may be one of its worst on test. The tables give each variant's
# selected epochs (one per seed), its mean test score at the selected and at the last epoch,
# and its gain over VALOR++ under each rule, for segment-level and then event-level Type@AV
# (runs keep their last epoch's test scores since the grid on the VALOR-like teachers; older
# records leave those columns empty). The reading below each table names the variants whose
# gain changes sign between the two rules, or moves by more than a point.

# %%
selection["Seg type"].round(2).rename_axis(f"segment Type@AV [{MEASURED_SOURCE}]")

# %% tags=["remove-input"]
display(Markdown(
    gain_reading.selection_reading(selection["Seg type"], score="Seg type")
))

# %%
selection["Event type"].round(2).rename_axis(f"event Type@AV [{MEASURED_SOURCE}]")

# %% tags=["remove-input"]
display(Markdown(
    gain_reading.selection_reading(selection["Event type"], score="Event type")
))

# %% [markdown]
# :::{admonition} What a grid on SynthLLP can and cannot test
# :class: important
# **It can** compare the variants with one another under the paper's recipe, scored on
# LLP's real test annotations, with a difficulty set by VALOR++ alone (no knob was tuned on a
# LINK variant); and it can tell which of those differences exceed the noise of seeds and of
# test videos.
#
# **It cannot** say what the modules do on LLP, for reasons the module chapters show:
#
# * **The features are synthetic** ({doc}`03_synthllp`): built from the labels plus noise.
#   There is no sound or picture in them, so a module that exploits what real features carry
#   (a sound's source visible on screen, a scene that changes) has nothing to find.
# * **CMIM's and TSAM's parameters move little** in the grid's records: how far CMIM's
#   scalars and the products α·β that scale what it adds end from 1, and how much TSAM's
#   spatial weights differ between channels, are computed below. What their attention
#   attends to is known only from chapter 5's short demonstration model (32
#   optimiser steps; the grid keeps no checkpoints, only per-epoch means): there, CMIM's
#   attention is near uniform and TSAM's temporal weights follow segment position rather
#   than content ({ref}`ch5-grid-diagnostics`).
# * **S-LOSS's μ moves only part of the way** from 0 towards 1 on SynthLLP small's few
#   optimiser steps per epoch, so the adaptive weight is tested at one stage of its path
#   ({ref}`ch6-grid-diagnostics`).
# * **PLSIM reads simulated teachers**: SynthLLP's pseudo labels are computed from its
#   features as VALOR's are from CLIP's and CLAP's, so their errors follow what the synthetic
#   features confuse, not what real frames and sounds confuse; how close they come to the real
#   teachers' quality could not be checked ({ref}`ch7-grid-diagnostics`).
# :::
#
# What the records of this grid say about its schedule and its modules (computed):

# %% tags=["hide-input"]
from linkpaper.chapters.probe import grid_records

grid = grid_records(results_dir, list_models() + list_controls(),
                    sorted({seed for row in rows for seed in row["seeds"]}))
display(Markdown(gain_reading.grid_limits(grid)))

# %% [markdown]
# ## Where the gains come from: audio, visual, audio-visual
#
# Type@AV averages three columns, and a module can raise one while lowering another. The
# segment-level gain over VALOR++ in each score: the mean over seeds and, in parentheses, the
# lowest and highest single seed (each seed minus VALOR++'s seed mean).

# %%
by_modality = gain_reading.modality_gains(measured)
gain_reading.modality_gain_table(by_modality, source=MEASURED_SOURCE)

# %% tags=["remove-input"]
display(Markdown(gain_reading.modality_reading(by_modality)))

# %% [markdown]
# (ch9-teacher-artefact)=
# ### PLSIM and the teachers' test-time labels
#
# PLSIM is the only module that reads something at test time besides the features: the
# teachers' ungated segment labels (chapter 7). On SynthLLP these labels are computed as
# VALOR computes them on LLP (chapter 3): the visual teacher thresholds the cosine between
# the model's own visual features and a text table, the audio teacher that of a second,
# separately simulated view of the same sound. A gain of a PLSIM variant can therefore come
# from the module, or from the teachers' labels being better than the model's decisions on
# some videos. To tell them apart, the test split's ungated teacher labels are scored as
# predictions, as they are and kept to the classes VALOR++ predicts for each video (what a
# model's video-level gate lets through), beside the models (segment-level F, %, on LLP's
# real test annotations):

# %%
compared = ["valor++", "+T", "+S", "+P", "+S+P", "+T+P", "link", "+P/self"]
teacher_runs = seed_analysis.seed_runs(results_dir, compared, test_annotations)
teacher_split, teacher_origin = seed_analysis.teacher_test_split(
    next(iter(teacher_runs.values()))["record"], first_teachers
)
print("teacher labels:", teacher_origin)
teachers = seed_analysis.teacher_label_frame(
    teacher_split, test_annotations,
    {key: run for key, run in teacher_runs.items()
     if key[0] in {VARIANT_LABELS[v] for v in ("valor++", "+P", "link")}},
)
teachers.round(1).rename_axis(f"segment-level F (%) [{MEASURED_SOURCE}, LLP test GT]")

# %% tags=["remove-input"]
display(Markdown(seed_analysis.teacher_label_reading(
    teachers, teachers=gain_reading.teachers_name(rows))))

# %% [markdown]
# **Per video.** If PLSIM replays the teachers, a model's gain over VALOR++ on a test video
# should follow how much better the teachers' labels are than VALOR++'s decisions on that
# video (the teachers' *advantage*, within VALOR++'s predicted classes). The correlation r and
# the least-squares slope of the per-video gain on the advantage, per modality. The controls
# read no teacher label at test time: +T, +S (which trains with the teachers' labels but does
# not read them at test time) and, when the grid holds it, +P/self (PLSIM reading its own
# first pass instead of the teachers' labels):

# %%
replay = seed_analysis.teacher_replay_frame(
    teacher_split, test_annotations, teacher_runs
)
replay.round(2).rename_axis(f"{replay.index.name} [{MEASURED_SOURCE}]")

# %% tags=["remove-input"]
readers = [VARIANT_LABELS[v] for v in ("+P", "+S+P", "+T+P", "link")]
replay_controls = [VARIANT_LABELS.get(v, v) for v in ("+T", "+S", "+P/self")]
display(Markdown(seed_analysis.replay_reading(replay, readers, replay_controls)))

# %% [markdown]
# (ch9-teachers-changed)=
# ## What changed when the teachers were made like VALOR's
#
# The first SynthLLP scored its simulated teachers on the *clean* per-class signal, before
# the noise that confuses classes in the features was added, so PLSIM could be handed class
# information the features did not carry. The teachers now work as VALOR's do (chapter 3).
# The training recipe stayed the same, but the data changed in two ways at once: with the
# new teachers, SynthLLP's difficulty knob, its class noise, was recalibrated with VALOR++
# alone (chapter 3). Below: the gains of the first grid and of this page's grid side by side
# (segment Type@AV, with the interval over seeds and test videos, and the seeds of each
# grid); then what the run records say changed in the data, and which gains moved by more
# than the seed noise of both grids (a move within either grid's noise is no evidence that
# the change of the simulation moved them). This section compares two SynthLLP grids; when
# the records hold other data it is skipped.

# %%
changed_variants = list_models() + ["+S/label", "valor++/weak", "+P/self"]
synth_grid = gain_reading.data_kinds(rows) == {"synth"}  # else: nothing to compare
if synth_grid:
    first_rows = run_records.measured_rows(
        run_records.find_run_dirs(first_grid_dir, changed_variants))
    now_rows = [row for row in rows if row["model"] in changed_variants]
    first_gains, now_gains = (
        gain_reading.gain_data(grid_rows, reported_ii, test_annotations,
                               resamples=bootstrap_resamples)
        for grid_rows in (first_rows, now_rows))
    before_after = gain_reading.gains_before_after(first_gains, now_gains)
    both_sources = " / ".join(dict.fromkeys(r["data"] for r in first_rows + now_rows))
    display(before_after.rename_axis(
        f"variant [segment Type@AV gain over VALOR++; {both_sources}]"))
else:
    display(Markdown(f"The records name {MEASURED_SOURCE}, not SynthLLP: this section "
                     "compares two SynthLLP grids, so it is skipped."))

# %% tags=["remove-input"]
if synth_grid:
    display(Markdown(
        gain_reading.data_changes(first_rows, now_rows) + "\n\n"
        + gain_reading.before_after_reading(
            before_after, before="the first grid", after="this grid") + "\n\n"
        + gain_reading.before_after_lesson(first_gains, now_gains)
    ))

# %% [markdown]
# The per-video test of the previous section, on both grids: the first grid's models read
# against the first SynthLLP's stored teacher labels, this grid's against its own.

# %%
if synth_grid:
    first_runs = seed_analysis.seed_runs(first_grid_dir, compared, test_annotations)
    first_split, first_origin = seed_analysis.teacher_test_split(
        next(iter(first_runs.values()))["record"], first_teachers
    )
    print("first grid's teacher labels:", first_origin)
    first_replay = seed_analysis.teacher_replay_frame(
        first_split, test_annotations, first_runs
    )
    table = seed_analysis.replay_before_after(first_replay, replay).round(2)
    display(table.rename_axis(f"{table.index.name} [{both_sources}]"))

# %% tags=["remove-input"]
if synth_grid:
    display(Markdown(
        "On the first grid: "
        + seed_analysis.replay_reading(first_replay, readers, replay_controls)
        .removeprefix("**What to look at.** The r columns. ")
    ))

# %% [markdown]
# ## Controls: what the pseudo labels, L_label and PLSIM's inputs contribute
#
# Three controls, trained with the same recipe, decide where the gains and losses above come
# from. The paper reports none of them: the rows are measured only, beside VALOR++, +S and +P
# from the same grid.
#
# * **valor++/weak**: VALOR++'s network trained on the weak video labels only, with HAN's
#   video-level losses and no pseudo-label term. Its distance below VALOR++ is what the
#   teachers' pseudo labels add (VALOR reports about 8 points of Type@AV for them on LLP).
# * **+S/label**: S-LOSS's label term L_label alone, without the similarity term. Where it
#   loses as much as +S, the loss comes before the similarity term and its adaptive weight
#   ({ref}`decision-sloss-form`).
# * **+P/self**: PLSIM reading its own first pass at test time instead of the teachers'
#   labels. Where it keeps +P's gain, the gain is the module's; where it loses it, the gain
#   came from the teachers' test-time information.
#
# A folder may also hold the other S-LOSS controls (the prior work's form of the similarity
# term, λ fixed at 1); they appear here when it does.

# %%
held_controls = [m for m in list_controls() if m in {row["model"] for row in rows}]
missing_controls = [m for m in ("valor++/weak", "+S/label", "+P/self")
                    if m not in held_controls]
controls = [row for row in rows
            if row["model"] in ["valor++", "+S", "+P"] + held_controls]
if missing_controls:
    display(Markdown(
        f"Not in `{results_dir}` yet: {', '.join(missing_controls)} (the grid is "
        "trained "
        "across sessions); the table shows the controls it holds."))
tables.measured_table(
    controls, "segment", title="Controls, measured", source=GRID
)

# %%
control_gains = gain_reading.gain_data(
    controls, reported_ii, test_annotations, resamples=bootstrap_resamples
)
control_modalities = gain_reading.modality_gains(controls)
gain_reading.modality_gain_table(control_modalities, source=MEASURED_SOURCE)

# %% tags=["hide-input"]
fig = gain_reading.gain_figure(
    control_gains, gain_reading.seed_gain_points(controls),
    source=f"measured: {GRID}", title="Controls: gains over VALOR++",
)
plt.show()

# %% [markdown]
# **What to look at.** valor++/weak against zero (what pseudo labels add), +S/label against
# +S (where S's loss arises), +P/self against +P (whose information PLSIM's gain is). Chapter
# 6 looks at what S-LOSS does to the visual scores.

# %% tags=["remove-input"]
display(Markdown(
    gain_reading.modality_reading(control_modalities)
    + "\n\n**Segment-level Type@AV**\n\n"
    + gain_reading.gain_verdicts(
        control_gains, "Seg type",
        notes=gain_reading.selection_caveats(run_records.selection_frame(controls)))
))

# %% [markdown]
# ## Provenance of the measured rows
#
# Read from the run records: the data, seeds, epochs (and warm-up epochs), device, the labels
# PLSIM read (`ungated`: the teachers' labels over all classes, no ground truth; `none`: the
# variant has no PLSIM), the commit of the repository when each run started (several when
# the repository moved on while the grid ran; `dirty` if it had uncommitted changes), the
# hardware, and the run records each row averages (two tables, so each fits the page).

# %%
provenance = run_records.provenance_frame(rows).rename(
    columns={"warmup_epochs": "warm-up epochs", "plsim_labels": "PLSIM labels"}
)
provenance.iloc[:, :7]

# %%
provenance.iloc[:, 7:]

# %% tags=["remove-input"]
display(Markdown(seed_analysis.commit_reading(rows)))

# %% [markdown]
# A grid whose runs started from more than one commit is one grid only if the training code
# gives the same numbers at each of them. The rule here is to train every run of a grid from
# one clean commit, in a worktree that stays put while the repository moves on; when that
# cannot hold, `scripts/check_bit_identity.py` trains a fixed set of small runs at both
# commits and compares every recorded number as written, and the commit that adds the later
# runs says what it found.

# %% [markdown]
# ## What the LLP rows need
#
# The measured rows come from synthetic features because the released LLP features (CLAP,
# CLIP and R(2+1)D, tens of GB) and the CLIP / CLAP weights were not available where this
# book was built. To measure the variants on LLP:
#
# 1. Get the released VALOR features in VALOR's folder layout (`linkpaper.data.features`
#    checks it and names any missing file) and the LLP annotations
#    (`python -m linkpaper download`).
# 2. For the PLSIM variants (+P, +S+P, +T+P, LINK), produce the **ungated** teacher labels
#    with the CLAP / CLIP teachers (`python -m linkpaper extract`, in the `[extract]`
#    environment); the released labels are gated by the ground-truth video labels and leak
#    them at test time ({ref}`decision-plsim-labels`).
# 3. Train the grid with the paper's recipe on a GPU, then copy the run records here:
#
# ```bash
# python -m linkpaper grid --variants all,controls --seeds 3 \
#     --data llp:/path/to/valor_features --device cuda --out runs/grid_llp
# python scripts/collect_results.py runs/grid_llp results/llp/grid
# .venv/bin/python scripts/run_notebooks.py 09 10 --output-dir runs/executed \
#     -p results_dir ../results/llp/grid
# ```
#
# The measured tables then read "LLP (real features)", and only then do their absolute
# numbers answer the paper's.

# %% [markdown]
# ## Summary
#
# 1. The paper's numbers are LLP results; the numbers measured here come from synthetic
#    features. They sit in separate tables, and the only bridge between them is the gain over
#    VALOR++, in F points.
# 2. A gain is worth what its noise allows: the seed spread (VALOR++'s own seeds stray from
#    their mean) and the draw of test videos (the paired-bootstrap interval). The paper's
#    gains are all under a point; the gain table says how many seeds per model such a gain
#    needs at the measured spread.
# 3. The grid compares the variants under the paper's recipe, but on synthetic features and
#    SynthLLP small's short schedule: it cannot show what CMIM, TSAM, S-LOSS's adaptive weight
#    or PLSIM do on real videos. Changing how SynthLLP simulates its teachers, together with
#    the recalibrated class noise, can move a gain; the section on what changed says which
#    gains moved by more than the seed noise of both grids. On simulated data, a module's
#    verdict is only as good as the simulation of what that module reads.

# %% [markdown]
# ## Exercises
#
# 1. **Monte Carlo error.** Re-execute the notebook with `bootstrap_resamples` set to 200 and
#    to 20000 (`-p bootstrap_resamples 200`). How far do the interval ends move? Which verdicts
#    change, and why does the verdict not depend on the resample count once it is large?
# 2. **Noise of one seed.** Take VALOR++'s grey dots in the gain figure: compute the gain of
#    VALOR++ seed 87 over VALOR++ seed 88 on segment-level Type@AV from their run records
#    (`linkpaper.training.runs.RunRecord.read(...).test_row`). Would a single-seed comparison of two
#    *different* models with that difference be evidence of anything?
# 3. **Seeds needed.** With `linkpaper.evaluation.gains.seeds_needed` (on the API page,
#    {ref}`api-gains`), how many seeds per model would LINK's
#    reported segment-level Type@AV gain need if the seed spread were halved? If it were
#    doubled? What does that say about ablations reported from one seed?
