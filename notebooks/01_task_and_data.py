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
# # 1. The task and the data
#
# **Audio-visual video parsing (AVVP)** asks, for every one-second segment of a 10-second
# clip, which of 25 event classes can be *heard* and which can be *seen*. Training clips carry
# only **weak labels**: the set of classes somewhere in the clip, with no time and no
# modality. Models are scored on the dense, per-modality annotations of the validation and
# test clips (notebook 2 gives the protocol).
#
# The dataset is **LLP** (Look, Listen and Parse; Tian et al., ECCV 2020): 11,849 YouTube
# clips, 10,000 for training (weak labels only), 649 for validation and 1,200 for test
# (weak labels plus dense audio and visual event timelines).
#
# Everything on this page is computed from LLP's **real annotation files** (the CSVs of
# `YapengTian/AVVP-ECCV20`, found through `LINKPAPER_DATA`); no feature and no model is
# involved. The statistics come from `linkpaper.data.stats.label_statistics`, the same code
# that describes SynthLLP in notebook 3.

# %% tags=["parameters"]
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %%
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import display

from linkpaper.classes import CLASSES
from linkpaper.data.annotations import load_annotations, video_id
from linkpaper.data.download import MissingDataError
from linkpaper.data.stats import label_statistics, per_class_table
from linkpaper.book import viz

REAL = "LLP annotations (real)"
annotations = {
    split: load_annotations(split, data_dir) for split in ("train", "val", "test")
}
pd.DataFrame(
    {
        "clips": {s: len(a.filenames) for s, a in annotations.items()},
        "dense labels": {s: a.gt_audio is not None for s, a in annotations.items()},
        "weak labels per clip (mean)": {
            s: round(float(a.weak.sum(1).mean()), 3) for s, a in annotations.items()
        },
    }
).rename_axis(f"split [{REAL}]")

# %% [markdown]
# ## The 25 classes and how often they occur
#
# Weak-label frequency per split. *Speech* is in half of all clips and is never alone in a
# training clip; the label distribution shifts between train and val/test (val/test clips
# carry more labels; *Clapping* is four times as frequent there).

# %%
counts = {split: a.weak.sum(axis=0) for split, a in annotations.items()}
sizes = {split: len(a.filenames) for split, a in annotations.items()}
fig = viz.class_frequency_figure(
    counts, sizes, source="LLP train / val / test weak labels (real)"
)
plt.show()

# %% [markdown]
# ## Heard, seen, or both?
#
# The dense annotations say, for each segment, which classes are audible and which are
# visible. Pooled over val and test (the only splits with dense labels), a large share of the
# active (segment, class) cells is present in **one modality only**: speech is mostly heard
# but not seen (the speaker is off-screen), cars and cats are often seen but silent.

# %%
val, test = annotations["val"], annotations["test"]
real = label_statistics(
    np.concatenate([val.gt_audio, test.gt_audio]),
    np.concatenate([val.gt_visual, test.gt_visual]),
    np.concatenate([val.weak, test.weak]),
)
DENSE = f"LLP val+test dense annotations, {real['n_videos']} clips (real)"
fig = viz.modality_share_figure(
    real["seg_cell_shares_per_class"], source=DENSE, overall=real["seg_cell_shares"]
)
plt.show()

# %% [markdown]
# ## How often audio and visual disagree
#
# The rates that make AVVP hard, and that LINK's modules target: in almost half of all
# segments the set of audible classes differs from the set of visible classes, and more than
# half of the clips have at least one weak label present in only one modality.

# %%
table = viz.comparison_frame({DENSE: real})
table

# %% [markdown]
# ## Event durations
#
# An *event* is a maximal run of one class in one modality (the unit of the event-level
# metric). Many events span the whole clip (10 s); audio events are shorter on average than
# visual ones (speech comes and goes, objects stay in view).

# %%
fig = viz.duration_figure({"LLP val+test": real}, source=DENSE)
plt.show()

# %% [markdown]
# Per class: number of weak labels in val+test and mean event duration (seconds) per
# modality.

# %%
print(f"[{DENSE}]")
print(per_class_table(real))

# %% [markdown]
# ## One clip: the public frames of `BjCEufrlXm4`
#
# The AVVP-ECCV20 repository ships the frames of one training clip (82 frames at about 8 per
# second). Its weak labels come from the training CSV; as a training clip it has no dense
# annotation, so we do not know *when* the dog is heard or seen: this is exactly the weak
# supervision a model learns from. The frames are read at run time from
# `LINKPAPER_DATA/llp/demo_frames/` and are not part of this repository.

# %%
train = annotations["train"]
row = next(
    i for i, name in enumerate(train.filenames) if video_id(name) == viz.DEMO_VIDEO
)
labels = [CLASSES[c] for c in np.nonzero(train.weak[row])[0]]
print(f"{train.filenames[row]}: weak labels {labels} [LLP train annotations (real)]")

# %% [markdown]
# Ten of its frames, one from the middle of each one-second segment. (The frames are optional
# data: without them this cell says where to put them, so its output is not compared by nbval.)

# %% tags=["nbval-ignore-output"]
try:
    paths = viz.demo_frame_paths(data_dir)
except MissingDataError as err:
    print(f"frames not shown: {err}")
else:
    fig = viz.frames_figure(
        paths,
        labels,
        source=f"LLP train clip {train.filenames[row]}, public demo frames (real)",
    )
    display(viz.as_jpeg(fig))
