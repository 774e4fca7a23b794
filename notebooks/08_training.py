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
# # 8. Training
#
# :::{admonition} In this chapter
# :class: tip
# **You will learn**
# * the training recipe every model of this book uses (AdamW, a linear warm-up, a cosine
#   decay, the best epoch chosen on validation) and why each part is there;
# * what a run records: the learning rate, every loss term and the ten validation scores
#   per epoch, the selected epoch, and the test scores of that epoch with their caption;
# * how to run the same page with the paper's full recipe, on a GPU, for real numbers.
#
# **Prerequisites**: {doc}`04_valor` (the model trained here and its three loss terms),
# {doc}`02_evaluation` (segment-level Type@AV, the selection score) and {doc}`03_synthllp`
# (the data, and its selection half).
#
# **Run time**: about 1 min on two idle CPU cores with the default parameters (up to 2 min
# on a busy machine; a short run of three epochs).
# :::
#
# This page trains one model end to end with `linkpaper.training.engine.train`, the same function
# behind `python -m linkpaper train` and `python -m linkpaper grid`, and shows what a run
# records.
#
# ## Why this recipe
#
# LINK's paper reports no training recipe of its own, so every variant here is trained with
# VALOR++'s, unchanged: any difference between two variants is then the modules', not the
# recipe's ({ref}`decision-recipe`). Each part has a reason.
#
# * **AdamW** (learning rate 3·10⁻⁴, betas (0.5, 0.999), weight decay 10⁻³), batch 64,
#   gradient norm clipped at 1: an adaptive optimiser with mild regularisation, and a cap
#   on the size of any single update.
# * **A linear warm-up** (the paper's recipe: the first 10 of 60 epochs). At the start,
#   Adam's running estimates of the gradient statistics rest on a handful of steps and the
#   attention layers of the encoder are random; full-size steps then can throw the model
#   somewhere it does not recover from. Starting small and growing the rate linearly
#   avoids that; it is the usual practice for Transformer layers like VALOR++'s.
# * **A cosine decay** to 3·10⁻⁶ over the remaining epochs: large steps while the model
#   still has far to go, then ever smaller ones so that the weights settle instead of
#   bouncing around a good region. The curve has no step dates to tune.
# * **Model selection on validation.** The supervision is weak and noisy (weak labels and
#   the teachers' pseudo labels, {doc}`03_synthllp`), and a model can start fitting the
#   teachers' mistakes before the last epoch. So after every epoch the model is scored on
#   the validation split, and the epoch with the best segment-level Type@AV (strictly
#   greater than all before it) is kept. Test is scored **once**, with that epoch's
#   weights: no choice ever sees a test label.
#
# **Data and schedule of this page.** By default SynthLLP `small` (2,000 synthetic training
# videos; validation and test use LLP's *real* annotations with simulated features, see
# {doc}`03_synthllp`), VALOR++, on the CPU, for **three epochs with a one-epoch warm-up**.
# With a warm-up of one epoch the first epoch already runs at the full rate, so this short
# run is in effect a cosine decay from 3·10⁻⁴ down to 3·10⁻⁶ over three epochs. These are
# **synthetic** numbers from a deliberately short run: they show the machinery, not the
# paper's results. The full recipe (60 epochs, 10 of warm-up, on SynthLLP `full` or on the
# released LLP features) needs a GPU; {doc}`../book/reproduce` gives the commands, and the
# last section says how to run this page with it.

# %% [markdown]
# The parameters: `model` is the variant trained (`valor++`, `+T`, `+S`, `+P`, `+T+S`,
# `+S+P`, `+T+P` or `link`), `data` the data spec (`synth:PRESET[:SEED]` or
# `llp:/path/to/valor_features`), `epochs` and `warmup_epochs` the schedule, `seed` the
# training seed, `device` and `num_threads` where it runs, `precision` the number format of
# the forward pass (`fp32`, or `bf16` where the hardware has it), `out_dir` the run folder
# (emptied first) and `data_dir` the folder with LLP's annotation files. `fp32_dir` and
# `bf16_dir` are the committed recipe runs in each precision that the section on bf16 reads
# (relative to `notebooks/`).

# %% tags=["parameters"]
data = "synth:small"  # synth:PRESET[:SEED] or llp:/path/to/valor_features
device = "cpu"  # cpu or cuda
epochs = 3  # training epochs; the paper uses 60
warmup_epochs = 1  # linear warm-up epochs; the paper's recipe uses 10 (with 60 epochs)
model = "valor++"  # variant: valor++, +T, +S, +P, +T+S, +S+P, +T+P or link
seed = 87  # training seed (VALOR++'s)
num_threads = 1  # torch CPU threads; 1 keeps CPU results identical on every machine
precision = "fp32"  # fp32, or bf16 (faster on CPUs with bf16 instructions, recent GPUs)
out_dir = "../runs/book_training"  # run folder (ignored by git); emptied first
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache
fp32_dir = "../results/synth_small_valor_teachers"  # recipe runs in fp32 (the grid)
bf16_dir = "../results/synth_small_bf16"  # the same runs in bf16 (the parity runs)

# %%
import shutil
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from linkpaper.chapters import run_records, viz
from linkpaper.training.engine import train
from linkpaper.training.recipe import TrainConfig, lr_at_epoch

warnings.filterwarnings(
    "ignore", message="IProgress not found"
)  # tqdm without ipywidgets; bars are off here

# %% [markdown]
# ## The learning-rate schedule
#
# The rate of epoch *e* is set before the epoch starts (`linkpaper.training.recipe.lr_at_epoch`):
# `e / W · 3e-4` while *e* < *W* (the warm-up), then a cosine from 3·10⁻⁴ at epoch *W* down
# to 3·10⁻⁶ at the last epoch. The paper trains 60 epochs with *W* = 10. The whole recipe is
# one `TrainConfig`; what is not set here keeps the recipe's value.

# %%
config = TrainConfig(
    model=model,
    data=data,
    data_dir=data_dir,
    epochs=epochs,
    warmup_epochs=warmup_epochs,
    seed=seed,
    device=device,
    num_threads=num_threads if device == "cpu" else None,
    precision=precision,
).validate()
recipe = ("epochs", "warmup_epochs", "batch_size", "lr", "lr_min", "betas",
          "weight_decay", "clip_norm")
pd.Series({name: getattr(config, name) for name in recipe}, name="value").astype(
    str
).to_frame().rename_axis("TrainConfig of this run")

# %% tags=["hide-input"]
fig, ax = viz.pyplot().subplots(figsize=(8, 3))  # the book's figure style
paper_epochs = range(1, 61)
ax.plot(
    paper_epochs,
    [lr_at_epoch(e, 60) for e in paper_epochs],
    ".-",
    label="the paper's recipe: 60 epochs, warm-up 10",
)
this_run = range(1, config.epochs + 1)
ax.plot(
    this_run,
    [lr_at_epoch(e, config.epochs, warmup_epochs=config.warmup_epochs)
     for e in this_run],
    "o-",
    label=f"this run: {config.epochs} epochs, warm-up {config.warmup_epochs}",
)
ax.set_xlabel("epoch")
ax.set_ylabel("learning rate")
ax.legend(frameon=False)
ax.set_title(
    viz.titled(
        "Learning rate per epoch",
        "linkpaper.training.recipe.lr_at_epoch (no data)",
    ),
    fontsize=10,
)
plt.show()

# %% tags=["hide-input"]
rates = [lr_at_epoch(e, config.epochs, warmup_epochs=config.warmup_epochs)
         for e in this_run]
Markdown(
    "**What to look at.** The paper's curve (dots) climbs linearly for ten epochs, "
    "then falls along a half cosine to its floor at epoch 60. This run (circles) has "
    f"{config.epochs} epochs with {config.warmup_epochs} of warm-up: its rates are "
    + ", ".join(f"{r:.2g}" for r in rates)
    + ". The same function draws both; only the number of epochs and the warm-up "
    "differ."
)

# %% [markdown]
# ## Training
#
# The run folder gets a checkpoint after every epoch (`checkpoint_last.pt`, with optimiser and
# random-number states, so `resume=True` continues an interrupted run to the same numbers),
# the best epoch's weights (`checkpoint_best.pt`), the run record `results.json` and the
# test predictions `test_predictions.npz`. The folder is emptied first so that this page
# always trains from scratch.

# %%
run_dir = Path(out_dir)
if run_dir.exists():
    shutil.rmtree(run_dir)
tic = time.perf_counter()
record = train(config, run_dir, progress=False)
seconds = time.perf_counter() - tic
source = record.caption()  # record: a linkpaper.training.runs.RunRecord, typed fields
print(
    f"{record.model}: {record.parameters:,} parameters; data {record.description}, "
    f"{record.data['sizes']}; best epoch {record.best_epoch} of {config.epochs}"
)
print("files in the run folder:", ", ".join(sorted(p.name for p in run_dir.iterdir())))

# %% [markdown]
# How long it took on this machine, and on which hardware (not checked by the tests: timings
# and hardware vary). The run record keeps the same information, with the code's commit.

# %% tags=["nbval-ignore-output"]
per_epoch = pd.DataFrame(
    {e["epoch"]: e["seconds"] for e in record.epochs}
).T.rename_axis("epoch")
print(
    f"whole run (data, training, validation, test) took {seconds:.1f} s on "
    f"{record.hardware_text()}, torch {record.hardware['torch']}; "
    f"commit {record.commit[:12]}{' (dirty)' if record.dirty else ''}"
)
per_epoch.round(1).rename(columns={"train": "train (s)", "val": "validation (s)"})

# %% [markdown]
# ## What the run recorded, epoch by epoch
#
# Per epoch: the learning rate, the mean of every loss term over the training batches, and
# the ten validation scores. VALOR++ has three loss terms, weighted 1:1:1: the video-level
# binary cross-entropy against the weak labels and the audio and visual segment
# cross-entropies against the teachers' gated pseudo labels. A variant with S-LOSS adds two
# more, both from the prior work LINK cites: the label term and the audio-visual similarity
# term, the latter weighted by LINK's adaptive weight ({doc}`06_sloss`). The row marked
# `best` is the epoch whose weights are tested.

# %%
history = run_records.history_frame(record)
shown = (
    ["lr"]
    + [c for c in history.columns if c.startswith("loss ")]
    + [
        "val segment type",
        "val segment event",
        "val event type",
        "val event event",
        "best",
    ]
)
history[shown].round(4).assign(lr=history["lr"]).rename_axis(f"epoch [{source}]")

# %% tags=["hide-input"]
fig = run_records.history_figure(history, source=source)
plt.show()

# %% tags=["hide-input"]
val_type = history["val segment type"]
total = history["loss total"]
Markdown(
    "**What to look at.** Left, the schedule the run actually used; middle, the loss "
    f"terms (the total went from {total.iloc[0]:.3f} in the first epoch to "
    f"{total.iloc[-1]:.3f} in the last); right, the validation scores and the dotted "
    "line at the selected epoch. Validation segment Type@AV went from "
    f"{val_type.iloc[0]:.2f} after the first epoch to {val_type.iloc[-1]:.2f} after "
    f"the last, and epoch {record.best_epoch} was selected. In a run this short the "
    "best epoch is usually the last one; under the full recipe it often comes well "
    "before the end, which is why selection on validation matters."
)

# %% [markdown]
# ## Test scores of the selected epoch
#
# The ten F-scores of the paper's tables, on the 1,200 test videos, with the caption every
# results table of this book carries: model, seed and data source (and a warning if PLSIM
# read labels that leak the ground truth).

# %%
viz.scores_frame(
    {f"{record.model} (epoch {record.best_epoch})": record.test_row},
    source=source,
)

# %% [markdown]
# ## The full recipe
#
# The engine moves the whole split to the device and runs one fused AdamW step per batch,
# so the same code trains the full recipe on a GPU: the paper's 60 epochs with 10 of
# warm-up, on SynthLLP `full` (10,000 training videos) or on the released LLP features,
# which give real LLP numbers. This page runs it by changing its parameters (the exercises
# show the command); without the notebook, one run or the whole ablation grid (every
# variant, several seeds, resumable; the results chapter reads its run records) is
#
# ```bash
# python -m linkpaper train --model link --data llp:/path/to/valor_features \
#     --device cuda --out runs/link_s87
# python -m linkpaper grid --variants all --seeds 3 --seed-base 87 \
#     --data llp:/path/to/valor_features --device cuda --out runs/grid_llp
# ```
#
# The train and grid commands use the paper's recipe by default. {doc}`../book/reproduce`
# (section "Full runs with papermill") lists every command, and how long a run takes.

# %% [markdown]
# ## Precision: what bf16 costs and buys
#
# `--precision bf16` (this page's precision parameter takes the same value) runs the
# forward pass under `torch.autocast` with **bfloat16**: matrix products compute with 8 bits
# of mantissa instead of fp32's 24, while the weights, their gradients, AdamW's state, the losses and the
# metric stay fp32 (`linkpaper.training.precision`). bf16 keeps fp32's exponent range, so
# nothing overflows and no loss scaling is needed; what it costs is rounding, about three
# significant digits per product. Where the hardware computes bf16 (x86 CPUs with
# `avx512_bf16` or `amx_bf16`, Ampere or newer GPUs) each product is cheaper; elsewhere torch
# emulates it and it is slower than fp32. fp32 stays the default and gives the same numbers,
# bit for bit, as before the option existed; a run never resumes, and a grid folder never
# takes runs, in another precision.
#
# Whether the rounding changes the answer is measured, not assumed: VALOR++ and LINK were
# trained under the recipe in bf16 at the grid's seeds, beside the same runs in fp32. Our
# rule: bf16 is **at parity** on a score when the mean of its seeds lies within the fp32
# seeds' range. The table pairs runs of the same variant and seed; only seeds finished in
# both precisions count.

# %%
from linkpaper.chapters import precision_parity
from linkpaper.errors import UserError

try:
    pairs = precision_parity.parity_runs(fp32_dir, bf16_dir, ("valor++", "link"))
except UserError as error:
    pairs = []
    display(Markdown(f"No parity runs to read: {error}"))
if pairs:
    parity = precision_parity.parity_frame(pairs)
    speed = precision_parity.speed_frame(pairs)
    caption = precision_parity.parity_caption(pairs)
    display(Markdown(f"Test scores at the epoch each run selected: {caption}."))
    display(parity)
    display(Markdown(precision_parity.parity_verdict(parity)))

# %% [markdown]
# Each run keeps the epoch with the best validation score, and bf16's rounding changes the
# path training takes, so the two precisions of one seed may select different epochs (last
# column above). Every record also holds its last epoch's test scores, which leave model
# selection out:

# %%
if pairs:
    last = precision_parity.parity_frame(pairs, epoch="last")
    display(last.drop(columns="selected epochs fp32 / bf16"))
    display(Markdown(precision_parity.parity_verdict(last)))
    display(Markdown(precision_parity.parity_summary(parity, last)))

# %% [markdown]
# What bf16 buys, in the same runs' own epoch times:

# %%
if pairs:
    display(speed)
    display(Markdown(precision_parity.speed_reading(speed)))

# %% [markdown]
# The speed table is measured inside the grid's runs, two of them sharing a two-core
# machine, so it is what a grid meets rather than a clean benchmark;
# `benchmarks/bench_train.py` times both precisions side by side in one process
# (`benchmarks/README.md` has its figures: about 1.7x for a bf16 training epoch on a Xeon
# with AMX, in two alternating runs on one machine). On a CPU without bf16 instructions, or
# a GPU older than Ampere, keep fp32.

# %% [markdown]
# ## Summary
#
# 1. Every variant is trained with VALOR++'s recipe, unchanged: AdamW, a linear warm-up that
#    protects the first steps, a cosine decay that lets the weights settle, and the best
#    epoch chosen by validation segment-level Type@AV; test is scored once, with that epoch.
# 2. A run folder holds checkpoints (resumable to the same numbers), the best weights, the
#    test predictions and a run record with the schedule, every loss term and the ten
#    validation scores per epoch, the hardware and the code's commit.
# 3. This page's default run is three short epochs on synthetic data, to show the machinery;
#    the paper's 60-epoch recipe runs from the same page or the command line on a GPU, and
#    in bf16 where the hardware computes it (the parity runs above say whether the answer
#    moves).

# %% [markdown]
# ## Exercises
#
# 1. **A real warm-up.** Run the page with a longer schedule on the CPU,
#    `python scripts/run_notebooks.py 08 -p epochs 8 -p warmup_epochs 3 --output-dir
#    runs/executed` (about three minutes). Compare the learning-rate curve and the loss
#    curves with the default run: is the first epoch's loss higher or lower with a warm-up,
#    and which epoch is selected now? Is it still the last one?
# 2. **Switch on the modules.** Train LINK instead of VALOR++ with the same schedule
#    (`-p model link`), then `-p model +S`. Which new loss terms appear in the history
#    table, and how large are they next to VALOR++'s three? Compare the test tables of
#    the three runs, and remember that one seed of a three-epoch run on SynthLLP cannot
#    tell the variants apart ({doc}`09_results` shows why several seeds are needed).
# 3. **The full recipe (optional: needs a GPU).** On a machine with a GPU, run
#    `python scripts/run_notebooks.py 08 --output-dir runs/executed -p device cuda
#    -p data synth:full -p epochs 60 -p warmup_epochs 10 -p model link`. Where does the
#    best epoch fall, and how much higher is its validation score than the last
#    epoch's? With the released features, `-p data llp:/path/to/valor_features` gives real LLP
#    numbers to set beside the paper's reported ones.
