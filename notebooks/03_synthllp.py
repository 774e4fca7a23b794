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
# # 3. SynthLLP: an offline benchmark with LLP's structure
#
# The released LLP features (CLAP, CLIP and R(2+1)D, tens of GB) and the CLIP/CLAP weights
# cannot be downloaded where this book is built. To run the whole pipeline anyway, with
# numbers that mean something, `linkpaper.data.synth` builds **SynthLLP**:
#
# * **Labels are LLP's.** Validation and test use LLP's *real* weak labels and *real* dense
#   audio and visual timelines, so SynthLLP is scored on LLP's 1,200 test videos with LLP's
#   ground truth. Training videos use LLP's real weak labels; since LLP has no dense labels
#   for them, each (video, class) copies the audio row and the visual row of that class from
#   a random *donor*, a validation video carrying the class ("donor sampling"). LLP's 649
#   validation videos are split once, stratified by class, into a **donor half** (328
#   videos) and a **selection half** (321 videos): donors come from the donor half only, and
#   SynthLLP's validation split, which picks the best epoch, is the selection half. The
#   modality split, durations, onsets and audio-visual disagreement follow LLP, no training
#   timeline is copied from a video that selects the model, and test timelines never touch
#   training data.
# * **Features are simulated.** Each class has an audio, a visual and a 3-D visual prototype
#   (correlated across classes through LEAP's GloVe class table). A segment's audio feature is
#   the sum of the prototypes of the classes *heard* in it, its visual features those of the
#   classes *seen*, plus a per-video background, faint distractor classes and noise. A class
#   that is only visible leaves no trace in the audio, as in LLP.
# * **Teachers are simulated.** A CLAP-like and a CLIP-like teacher score every segment
#   against their class text tables, with per-video and per-segment errors and a share of
#   the other modality's signal (CLIP "sees" a narrator who is only heard). Thresholded over
#   all 25 classes they give the **ungated** labels; AND-ed with the weak labels, the
#   **gated** labels that VALOR++ trains on, exactly like the released files.
#
# Numbers trained on SynthLLP measure the code and compare variants under LLP-like
# conditions. They are **synthetic**, never LLP results.

# %% tags=["parameters"]
preset = "small"  # SynthLLP preset: tiny, small (2,000 train videos) or full (10,000)
seed = 0  # SynthLLP generation seed
calibration_dir = "../results/synth_calibration"  # VALOR++ calibration runs
recipe_dir = "../results/synth_small_recipe"  # the recipe grid (its VALOR++ runs)
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %%
import dataclasses

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch

from linkpaper.classes import CLASSES
from linkpaper.data.synth import (
    SynthConfig,
    make_synth,
    real_statistics,
    teacher_quality,
    train_statistics,
)
from linkpaper.book import viz

synth = make_synth(preset, seed=seed, data_dir=data_dir, return_timelines=True)
data = synth.data
SYNTH = f"SynthLLP {preset}, seed {seed} (synthetic)"
print(data.describe(), "| GloVe-correlated prototypes:", data.source["glove"])
pd.DataFrame(
    {
        split.name: {
            "videos": len(split),
            "audio": str(tuple(split.audio.shape)),
            "visual": str(tuple(split.visual.shape)),
            "visual_3d": str(tuple(split.visual_3d.shape)),
            "pseudo labels": str(tuple(split.pseudo_audio.shape)),
            "dense GT": (
                "LLP (real)"
                if split.gt_audio is not None
                else "none (donor timelines are internal)"
            ),
        }
        for split in (data.train, data.val, data.test)
    }
).rename_axis(SYNTH)

# %% [markdown]
# ## Model selection that SynthLLP does not flatter
#
# A timeline is a short pattern (ten segments, two modalities), and many are common: "all ten
# segments, heard and seen" is a third of LLP's. So even an honest split shares patterns
# between training and evaluation videos. What must not happen is that *selection* shares
# more of them than *test* does, which is what the first-round rule did: with donors drawn
# from all of val, every training (video, class) row was copied from a video that then
# picked the best epoch. `timeline_overlap` counts, for every training row, whether some
# selection video (some test video) carrying the class has exactly the same audio and visual
# rows.

# %%
from linkpaper.data.synth import generate, timeline_overlap

first_round = generate(preset, seed, data_dir, donors="val", n_val=None)
pd.DataFrame(
    {"donors: all of LLP val (first round)": timeline_overlap(first_round),
     "donors: the donor half (now)": timeline_overlap(synth)},
).T.rename(columns={"rows": "training rows",
                    "selection": "share equal to a selection row",
                    "test": "share equal to a test row"}).round(3).rename_axis(
    f"SynthLLP {preset} train rows, seed {seed}")

# %% [markdown]
# With the donor half, a training row equals a selection row no more often than it equals
# a test row: the selection half is as foreign to training as test is. The selection set is
# smaller (321 videos instead of 649), which makes its scores noisier from epoch to epoch;
# the best epoch is still chosen by it, as in VALOR.

# %% [markdown]
# Every knob of the generator, with the value used here (the meaning of each is documented in
# `linkpaper.data.synth.SynthConfig`):

# %%
knobs = pd.Series(
    {k: repr(v) for k, v in dataclasses.asdict(synth.config).items()}, name="value"
).rename_axis(f"SynthConfig [{SYNTH}]")
knobs.to_frame()

# %% [markdown]
# ## Label statistics: SynthLLP train against LLP
#
# The training timelines of SynthLLP are synthetic (donor-sampled); the statistics below
# compare them with LLP's real val+test annotations, using the same
# `linkpaper.data.stats.label_statistics` as notebook 1. Val and test of SynthLLP *are* LLP's
# annotations, so only the training side can differ.

# %%
real = real_statistics(data_dir)
synth_train = train_statistics(synth)
REAL = "LLP val+test annotations (real)"
TRAIN = f"SynthLLP {preset} train timelines, seed {seed} (synthetic)"
viz.comparison_frame({REAL: real, TRAIN: synth_train})

# %%
fig = viz.duration_figure(
    {"LLP val+test (real)": real, "SynthLLP train (synthetic)": synth_train},
    source=f"{REAL} vs {TRAIN}",
)
plt.show()

# %%
fig = viz.modality_share_figure(synth_train["seg_cell_shares_per_class"], source=TRAIN,
                                overall=synth_train["seg_cell_shares"])
plt.show()

# %% [markdown]
# ## Teacher quality
#
# Cell-level precision, recall and F of the simulated teachers' labels against the real dense
# ground truth of val+test. The ungated labels (all 25 classes) are noisy, as a zero-shot
# teacher thresholded over 25 classes is; the AND with the weak labels removes most false
# positives. The released CLIP/CLAP labels' own scores on LLP could not be measured offline,
# so this calibration is a judgement (documented in `SynthConfig`), not a fit.

# %%
quality = teacher_quality(data)
pd.DataFrame(
    {
        (modality, kind): prf
        for modality, kinds in quality.items()
        for kind, prf in kinds.items()
    }
).T.round(3).rename_axis(["teacher", f"labels [{SYNTH}, val+test GT (real)]"])

# %% [markdown]
# ## Difficulty under the paper's recipe: what moved and why
#
# SynthLLP's feature knobs were first set for a 6-epoch schedule: VALOR++ (chapter 4) then
# scored 65.6 segment Type@AV on test, close to its 66.2 on LLP. Under the paper's recipe
# (60 epochs, 10 warm-up epochs) it reached 71.2 (seed 87): only 1.6 points below what its
# own teachers' gated labels score when used directly as predictions. The longer schedule
# had learned almost everything the features hold, so SynthLLP was easier than LLP.
#
# **One knob moved, with VALOR++ alone** (no LINK variant was trained before the value was
# fixed): `class_noise`, the per-segment noise on the 25 class coefficients of a feature,
# from 0.25 to **0.37**. Why this knob: the isotropic noise (`audio_noise`,
# `visual_noise`) is spread over 768 dimensions, and a longer schedule learns to average it
# away; noise *inside* the class-prototype subspace confuses one class with another at any
# schedule length. It also leaves the teachers untouched (they see the clean signal), so
# every pseudo label, PLSIM's input and S-LOSS's targets are bit for bit what they were,
# and so are the teacher scores above. The value comes from two 60-epoch VALOR++ runs
# (seed 87, `scripts/calibrate_synth.py`, records in `results/synth_calibration/`),
# interpolated to 66.2; the three VALOR++ seeds of the recipe grid check it:

# %%
from pathlib import Path

from linkpaper.book import analysis
from linkpaper.errors import UserError
from linkpaper.runs import RunRecord


def calibration_row(run) -> dict:
    record = RunRecord.read(run)
    knobs = record.data["source"]["config"]  # the SynthConfig of the run's data
    test = record.test["segment"]
    return {"class_noise": knobs["class_noise"], "seed": record.seed,
            "epochs": record.train_config().epochs, "best epoch": record.best_epoch,
            "val Type@AV": record.best_val["segment"]["type"],
            "test A": test["audio"], "test V": test["visual"],
            "test AV": test["audio_visual"], "test Type@AV": test["type"]}


calibration_runs = sorted(Path(calibration_dir).glob("*/seed*"))
try:
    calibration_runs += analysis.find_run_dirs(recipe_dir, ["valor++"])
except UserError as err:
    print(err)
calibration = pd.DataFrame([calibration_row(run) for run in calibration_runs])
chosen = calibration[calibration["class_noise"] == SynthConfig().class_noise]
if len(chosen):
    print(f"class_noise {SynthConfig().class_noise}: test Type@AV "
          f"{chosen['test Type@AV'].mean():.2f} over seeds "
          f"{', '.join(map(str, chosen['seed']))} (VALOR++ on LLP: 66.2); val "
          f"{chosen['val Type@AV'].mean():.2f} on the selection half")
calibration.round(2).set_index(["class_noise", "seed"]).rename_axis(
    ["class_noise [VALOR++, SynthLLP small (synthetic)]", "seed"])

# %% [markdown]
# The paper's VALOR++ on the real LLP test set: 68.1 / 68.4 / 61.9 / 66.2 (A / V / AV /
# Type@AV). The target was Type@AV within about 1.5 points; the balance between the
# columns was not tuned (SynthLLP's audio is harder and its visual easier than LLP's).

# %% [markdown]
# ## Example timelines
#
# One validation video: its real ground truth, and the simulated teachers' gated and ungated
# labels. The ungated labels contain classes outside the weak labels; the gated ones cannot.

# %%
val = data.val
index = int(
    np.argmax((val.gt_audio.any(1) ^ val.gt_visual.any(1)).any(1))
)  # first video with a one-modality class
rows = {
    "GT audio": val.gt_audio[index],
    "teacher audio (gated)": val.pseudo_audio[index].numpy() > 0.5,
    "teacher audio (ungated)": val.pseudo_audio_ungated[index].numpy() > 0.5,
    "GT visual": val.gt_visual[index],
    "teacher visual (gated)": val.pseudo_visual[index].numpy() > 0.5,
    "teacher visual (ungated)": val.pseudo_visual_ungated[index].numpy() > 0.5,
}
weak = np.nonzero(val.weak[index].numpy())[0].tolist()
ungated_only = (rows["teacher audio (ungated)"] | rows["teacher visual (ungated)"]).sum(
    0
)
ungated_only[weak] = 0  # the two classes outside the weak labels the teachers flag most
shown = weak + [
    int(c) for c in np.argsort(-ungated_only, kind="stable")[:2] if ungated_only[c] > 0
]
print(
    f"{val.filenames[index]}: weak labels {[CLASSES[c] for c in weak]}; "
    "ungated teachers also flag "
    f"{int((ungated_only > 0).sum())} other classes (the two most frequent shown)"
)
fig = viz.timeline_figure(
    rows,
    source=f"{val.filenames[index]}: LLP val GT (real), teachers of {SYNTH}",
    classes=shown,
    title=f"Weak labels {', '.join(CLASSES[c] for c in weak)}",
)
plt.show()

# %% [markdown]
# The same video's simulated features: the cosine similarity of each segment's audio and
# visual feature with each class prototype. The audible classes light up in the audio
# stream, the visible ones in the visual stream.

# %%
def prototype_similarity(features: torch.Tensor, prototypes: np.ndarray) -> np.ndarray:
    return (
        torch.nn.functional.normalize(features, dim=-1)
        @ torch.nn.functional.normalize(
            torch.as_tensor(prototypes, dtype=features.dtype), dim=-1
        ).T
    ).numpy()


fig = viz.segment_class_heatmap(
    {
        "GT audio": val.gt_audio[index],
        "audio feature vs prototypes": prototype_similarity(
            val.audio[index], synth.prototypes["audio"]
        ),
        "GT visual": val.gt_visual[index],
        "visual feature vs prototypes": prototype_similarity(
            val.visual[index], synth.prototypes["visual"]
        ),
    },
    source=f"{val.filenames[index]}: LLP val GT (real), features of {SYNTH}",
    title="Simulated features carry the classes of their own modality",
)
plt.show()
