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
# The paper's two tables, each reported row beside the row this repository measured for the
# same model:
#
# * **Table I**: LINK against published AVVP methods. We train VALOR++ (the baseline LINK
#   builds on) and LINK; the other methods are shown as reported.
# * **Table II**: the ablation grid, VALOR++ plus every combination of TSAM (T, with CMIM),
#   S-LOSS (S) and PLSIM (P), up to LINK (T, S, P).
#
# **Data.** Rows marked *reported* are the paper's numbers on the **real LLP test set**
# (`linkpaper.paper`, quoted, never computed here). Rows marked *measured* are read from
# the run records in `results/` (`results.json` of every run, written by
# `python -m linkpaper grid`): by default the ablation grid trained with **the paper's
# recipe** (60 epochs, 10 warm-up epochs, batch 64) on **SynthLLP small (synthetic
# features; LLP's real test annotations)** on a CPU, seeds 87, 88 and 89 per variant, shown
# as mean ± standard deviation over seeds. Every measured row names its data, epochs and
# seeds (a row with fewer than three seeds is a grid still being trained); the provenance
# table gives the code commit and hardware of each.
#
# **The two kinds of rows are not comparable.** The measured models never saw an LLP
# feature: they were trained on simulated features, on a training set a fifth of LLP's, with
# SynthLLP's difficulty calibrated once so that VALOR++ under this recipe lands near its LLP
# score (notebook 3). The measured rows show how the variants compare under LLP-like
# conditions and the paper's recipe; they are not a reproduction of the paper's numbers.
# What the LLP rows need is listed at the end of the page.

# %% tags=["parameters"]
results_dir = "../results/synth_small_recipe"  # <variant>/seed<N>/results.json, summary
bootstrap_resamples = 2000  # test-video resamplings for the gain intervals

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from linkpaper import paper
from linkpaper.book import analysis, tables

runs = analysis.find_run_dirs(results_dir)
measured = analysis.measured_rows(runs)
MEASURED_SOURCE = " / ".join(dict.fromkeys(row["data"] for row in measured))
print(f"{len(runs)} run records of {len(measured)} variants; data: {MEASURED_SOURCE}")
for row in measured:
    extra = (
        f" ({row['incomplete']} unfinished run(s) left out)"
        if row["incomplete"]
        else ""
    )
    print(f"  {row['model']:<8} seeds {', '.join(map(str, row['seeds']))}{extra}")

# %% [markdown]
# The grid also wrote `summary.json` when it finished; where it exists, the mean ± std
# computed here from the individual run records must agree with it.

# %%
summary_path = Path(results_dir) / "summary.json"
if summary_path.is_file():
    summary = json.loads(summary_path.read_text())
    stored = {row["model"]: row for row in summary["rows"]}
    checked = [row["model"] for row in measured if row["model"] in stored]
    for row in measured:
        if row["model"] in stored:
            assert np.allclose(stored[row["model"]]["mean"], row["mean"]), row["model"]
            assert np.allclose(stored[row["model"]]["std"], row["std"]), row["model"]
    print(
        f"summary.json agrees on {len(checked)} of {len(measured)} variants "
        f"({', '.join(checked)}): "
        f"seeds {summary['seeds']}, {summary['epochs']} epochs, data {summary['data']}"
    )
else:
    print(
        "no summary.json (the grid has not finished): "
        "rows computed from the run records present"
    )

# %% [markdown]
# ## Table I: comparison with published methods
#
# F-scores (%) on the LLP test set as reported by the paper (**R**), with our measured
# VALOR++ and LINK rows (**M**, mean ± std over seeds) below their reported rows; the legend
# under each title names the data of each tag. Segment level, then event level; Type@AV is
# the mean of audio, visual and audio-visual, Event@AV pools audio and visual counts.

# %%
table_i = [row for row in measured if row["model"] in ("valor++", "link")]
tables.paper_table(paper.reported_rows("I"), table_i, "segment", title="Table I")

# %%
tables.paper_table(paper.reported_rows("I"), table_i, "event", title="Table I")

# %% [markdown]
# ## Table II: ablations
#
# The eight variants, each reported row (**R**) followed by our measured row (**M**, mean ±
# std over seeds); measured control variants, which the paper does not report, come last.

# %%
tables.paper_table(paper.reported_rows("II"), measured, "segment", title="Table II")

# %%
tables.paper_table(paper.reported_rows("II"), measured, "event", title="Table II")

# %% [markdown]
# ## Provenance of the measured rows
#
# Read from the run records: the data source, seeds, epochs (and warm-up epochs), device,
# the labels PLSIM read (`ungated`: the teachers' labels over all classes, no ground truth;
# `none`: the variant has no PLSIM), the commit of the repository when each run started
# (several are listed when the repository moved on while the grid ran; `dirty` if it had
# uncommitted changes) and the hardware. `run records` are the files under `results_dir`
# that the row averages.

# %%
analysis.provenance_frame(measured)

# %% [markdown]
# ## Variants at a glance
#
# Segment-level Type@AV and Event@AV of each variant: every seed (grey dots), the measured
# mean ± std over seeds (blue)
# and the paper's reported value (black diamonds). Both are in F (%) on the same axis, but the
# dots are synthetic-feature runs and the diamonds real LLP results.

# %%
fig = analysis.variant_figure(measured, paper.reported_rows("II"),
                              source=f"dots: {measured[0]['label']} (measured); "
                                     "diamonds: LINK paper, LLP test (reported)")
plt.show()

# %% [markdown]
# ## Gains over VALOR++
#
# What the ablation is about: how much each module adds to VALOR++. Measured gains (our
# variant's seed mean minus our VALOR++ seed mean) next to the larger of the two seed
# standard deviations, and the paper's reported gains (one column per variant). A measured
# gain smaller than the seed standard deviation is within the noise of three seeds.

# %%
analysis.delta_frame(measured, paper.reported_rows("II")).T.rename_axis(
    columns=f"gain over VALOR++ [measured: {MEASURED_SOURCE}; reported: LLP test]")

# %% [markdown]
# ## What a gain is worth
#
# A measured gain carries two kinds of noise. **Seeds**: another training seed gives another
# model; the table gives both models' seed standard deviations. **Test videos**: another
# draw of 1,200 test videos would give other scores; a *paired bootstrap* resamples the test
# videos with replacement (the same videos for both models, 2,000 times) and gives the 95 %
# interval of the gain, from the per-video scores of each model averaged over its seeds
# (`linkpaper.gains.paired_bootstrap`; every score of the metric is a mean of per-video
# scores, so this is exact resampling of the metric). A gain is called **distinct** when its
# interval excludes zero *and* it exceeds twice its seed standard error (a model trained
# with one seed so far borrows the other model's seed spread). The last column is
# the number of seeds per model that a two-sided 5 % test with 80 % power would need to
# detect a gain of the *paper's* size at our seed spread (`linkpaper.gains.seeds_needed`).
# Segment-level and event-level Type@AV are shown (the paper's headline scores).

# %%
from linkpaper.data.annotations import load_annotations

test_annotations = load_annotations("test")
gains = analysis.gain_report(measured, paper.reported_rows("II"), test_annotations,
                             resamples=bootstrap_resamples)
gains.rename_axis(
    [f"variant [measured: {MEASURED_SOURCE}; reported: LLP test]", "score"])

# %% [markdown]
# In words (computed from the table above, so it stays true for any `results_dir`):

# %%
for (variant, score), row in gains.iterrows():
    if score != "Seg type":
        continue
    verdict = ("distinct from noise" if row["distinct"]
               else "not distinguishable from noise")
    print(f"{variant:<16} segment Type@AV gain {row['measured']:+.2f} "
          f"{row['95% interval']} (paper: {row['reported']:+.1f}): {verdict}; "
          + (f"a gain of the paper's size needs {row['seeds needed']:.0f} seeds a model"
             if row["reported"] else "the paper reports no gain"))

# %% [markdown]
# ## Controls: LINK's S-LOSS against the prior work's
#
# The paper takes L_label and the similarity term from the works it cites and adds the
# adaptive weight λ(s; μ). Five controls, trained with the same recipe and seeds, separate
# the parts (book: decisions page, "S-LOSS: the form of the similarity term"): `+S/label`
# (L_label alone, no similarity term), `+S/leap-mu1` (LEAP's form of the similarity term,
# μ frozen at 1 so λ = 1: exactly the prior work's loss), `+S/leap` (LEAP's form with the
# paper's adaptive weight), `+S/paper-mu1` (the paper's form with λ = 1), and `link/leap`
# (LINK with LEAP's form). Rows are measured only; the paper reports none of them.

# %%
from linkpaper.errors import UserError
from linkpaper.models import list_controls

try:
    control_runs = analysis.find_run_dirs(results_dir,
                                          ["valor++", "+S"] + list_controls())
    controls = analysis.measured_rows(control_runs)
except UserError as err:
    controls = []
    print(err)
if controls:
    display(tables.paper_table([], controls, "segment", title="S-LOSS controls"))
    display(analysis.gain_report(controls, paper.reported_rows("II"), test_annotations,
                                 resamples=bootstrap_resamples).rename_axis(
        [f"control [measured: {MEASURED_SOURCE}]", "score"]))

# %% [markdown]
# **Reading the committed recipe grid** (this paragraph describes the default `results_dir`
# as committed when it was written: VALOR++ seeds 87-89, LINK seeds 87-88, the S-LOSS
# controls seed 87; the grid is trained across several sessions, and the tables above always
# show every run committed since). Under the paper's recipe, VALOR++ on SynthLLP small lands
# within a point of its LLP score (notebook 3 prints the check against 66.2), and its
# validation and test scores agree (no selection bias, notebook 3). LINK ends level with
# VALOR++ in segment Type@AV on average, one seed above and one below, and it gets there by
# another route than the paper reports: a large audio gain that varies widely between seeds
# and a loss in the visual column, where the paper reports small gains in both. The S-LOSS
# runs show the same visual loss, and the controls place most of it in L_label, before any
# similarity term (chapter 6 shows why). With so few seeds, the gain table says which
# differences the test videos alone already separate, and its last column how many seeds a
# gain of the paper's size would need at the measured seed spreads.

# %% [markdown]
# ## What the LLP rows need
#
# The measured rows above come from synthetic features because the released LLP features
# (CLAP, CLIP and R(2+1)D, tens of GB) and the CLIP / CLAP weights were not available where
# this book was built. To put real LLP rows beside the paper's:
#
# 1. Get the released VALOR features in VALOR's folder layout (`linkpaper.data.features`
#    checks it and names any missing file) and the LLP annotations (`python -m linkpaper download`).
# 2. For the PLSIM variants (+P, +S+P, +T+P, LINK), produce the **ungated** teacher labels
#    with the CLAP / CLIP teachers (`python -m linkpaper extract`, in the `[extract]`
#    environment); the released labels are gated by the ground-truth video labels and leak
#    them at test time ({ref}`decision-plsim-labels`).
# 3. Train the grid with the paper's recipe on a GPU, then copy the run records here:
#
# ```bash
# python -m linkpaper grid --variants all,controls --seeds 3 --data llp:/path/to/valor_features \
#     --device cuda --out runs/grid_llp        # the recipe is the default: 60 epochs, 10 warm-up
# python scripts/collect_results.py runs/grid_llp results/llp_grid
# .venv/bin/python scripts/run_notebooks.py 09 10 --output-dir runs/executed -p results_dir ../results/llp_grid
# ```
#
# Each measured row then reads "LLP features (real), 60 epochs, seeds 87/88/89", and only
# then is it comparable with the reported row above it.
