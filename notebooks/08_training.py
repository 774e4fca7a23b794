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
# This page trains one model end to end with `linkpaper.engine.train`, the same function
# behind `python -m linkpaper train` and `python -m linkpaper grid`, and shows what a run
# records: the learning-rate schedule, the loss terms and the validation scores per epoch,
# the epoch selected by validation, and the test scores of that epoch with their caption.
#
# **Data.** By default SynthLLP `small` (2,000 synthetic training videos; validation and
# test use LLP's *real* annotations with simulated features, see notebook 3), on the CPU, for
# 3 epochs, so that the page builds in about two minutes on a laptop. These are **synthetic**
# numbers from a deliberately short run: they show the machinery, not the paper's results.
# The same page runs the full recipe on a GPU by changing its parameters (last section).
#
# The recipe (VALOR++'s, unchanged for every variant; {ref}`decision-recipe`): AdamW (lr
# 3·10⁻⁴, betas (0.5, 0.999), weight decay 10⁻³), batch 64, gradient norm clipped at 1, the
# learning rate set once per epoch by a linear warm-up and a cosine decay to 3·10⁻⁶, and the
# best epoch chosen by validation segment-level Type@AV (strictly greater). Test is scored
# once, with the weights of that epoch.

# %% tags=["parameters"]
data = "synth:small"  # synth:PRESET[:SEED] or llp:/path/to/valor_features
device = "cpu"  # cpu or cuda
epochs = 3  # training epochs; the paper uses 60
warmup_epochs = 1  # linear warm-up epochs; the paper's recipe uses 10 (with 60 epochs)
model = "valor++"  # variant: valor++, +T, +S, +P, +T+S, +S+P, +T+P or link
seed = 87  # training seed (VALOR++'s)
num_threads = 1  # torch CPU threads; 1 keeps CPU results identical on every machine
out_dir = "../runs/book_training"  # run folder (ignored by git); emptied first
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %%
import shutil
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from linkpaper.book import analysis, viz
from linkpaper.engine import TrainConfig, lr_at_epoch, train

warnings.filterwarnings(
    "ignore", message="IProgress not found"
)  # tqdm without ipywidgets; bars are off here

# %% [markdown]
# ## The learning-rate schedule
#
# The rate of epoch *e* is set before the epoch starts (`linkpaper.engine.lr_at_epoch`):
# `e / W · 3e-4` while *e* < *W* (the warm-up), then a cosine from 3·10⁻⁴ at epoch *W* down
# to 3·10⁻⁶ at the last epoch. The paper trains 60 epochs with *W* = 10; a short run keeps
# the shape with a shorter warm-up (with *W* = 1 the first epoch already runs at 3·10⁻⁴).

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
).validate()
fig, ax = plt.subplots(figsize=(8, 3))
paper_epochs = range(1, 61)
ax.plot(
    paper_epochs,
    [lr_at_epoch(e, 60) for e in paper_epochs],
    ".-",
    label="the paper's recipe: 60 epochs, warm-up 10",
)
this_run = range(1, epochs + 1)
ax.plot(
    this_run,
    [lr_at_epoch(e, epochs, warmup_epochs=warmup_epochs) for e in this_run],
    "o-",
    label=f"this run: {epochs} epochs, warm-up {warmup_epochs}",
)
ax.set_xlabel("epoch")
ax.set_ylabel("learning rate")
ax.legend(frameon=False)
ax.set_title(
    viz.titled("Learning rate per epoch", "linkpaper.engine.lr_at_epoch (no data)"),
    fontsize=10,
)
plt.show()

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
source = record.caption()  # record: a linkpaper.runs.RunRecord, typed fields
print(
    f"{record.model}: {record.parameters:,} parameters; data {record.description}, "
    f"{record.data['sizes']}; best epoch {record.best_epoch} of {epochs}"
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
# Per epoch: the learning rate, the mean of every loss term over the training batches
# (VALOR++ has three, weighted 1:1:1: the video-level BCE against the weak labels and the
# audio and visual segment BCEs against the teachers' pseudo labels; LINK adds the label
# term and S-LOSS), and the ten validation scores. The row marked `best` is the epoch whose
# weights are tested.

# %%
history = analysis.history_frame(record)
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

# %%
fig = analysis.history_figure(history, source=source)
plt.show()

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
# ## The full recipe on a GPU
#
# The engine moves the whole split to the device and runs one fused AdamW step per batch,
# so the same code trains the full recipe on a GPU. Execute this page with other parameters
# (`--output-dir` keeps the committed, default copy untouched):
#
# ```bash
# # SynthLLP full (10,000 training videos), the paper's 60 epochs and warm-up 10
# .venv/bin/python scripts/run_notebooks.py 08 --output-dir runs/executed \
#     -p device cuda -p data synth:full -p epochs 60 -p warmup_epochs 10 -p model link
# # the released LLP features (VALOR's layout): real LLP numbers
# .venv/bin/python scripts/run_notebooks.py 08 --output-dir runs/executed \
#     -p device cuda -p data llp:/path/to/valor_features -p epochs 60 -p warmup_epochs 10
# ```
#
# or without the notebook, one run or the whole ablation grid (every variant, several
# seeds, resumable; the results chapter reads its run records):
#
# ```bash
# python -m linkpaper train --model link --data llp:/path/to/valor_features --device cuda --out runs/link_s87
# python -m linkpaper grid --variants all --seeds 3 --seed-base 87 --data llp:/path/to/valor_features \
#     --device cuda --out runs/grid_llp
# ```
