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
# :::{admonition} In this chapter
# :class: tip
# **You will learn**
# * what audio-visual video parsing asks of a model: per one-second segment, which of 25
#   classes are heard and which are seen, learned from clip-level labels only;
# * why this is hard: in real videos sound and picture often disagree, and the training labels
#   do not say when or in which modality an event happens;
# * what the LLP dataset holds, and how often its audio and visual annotations differ.
#
# **Prerequisites**: none beyond multi-label classification and the F-score;
# {doc}`the introduction <../book/intro>` places this chapter in the book.
#
# **Run time**: about 10 s on two CPU cores with the default parameters (no training).
# :::
#
# **Audio-visual video parsing (AVVP)** asks, for every one-second segment of a 10-second
# clip, which of 25 event classes can be *heard* and which can be *seen*. Training clips carry
# only **{term}`weak labels <weak label>`**: the set of classes somewhere in the clip, with no time and no
# modality. Models are scored on the dense, per-modality annotations of the validation and
# test clips ({doc}`02_evaluation` gives the protocol).
#
# **Why the modality matters.** A video is not one stream: what the microphone records and
# what the camera shows are two views that often disagree. A narrator speaks off-screen, a
# guitar stands in the picture without being played, a car is heard before it drives into
# view. A weak label such as "Speech, Car" cannot tell a model which of these it
# is looking at; it must find out from the sound and the picture themselves, segment by
# segment. LINK, the method this book reproduces, is built around exactly this disagreement
# between the two modalities. The first section below shows a real test clip where it
# happens.
#
# The dataset is **{term}`LLP`** (Look, Listen and Parse; Tian et al., ECCV 2020): YouTube clips of 10
# seconds, split into a large training set (weak labels only) and validation and test sets
# with weak labels plus dense audio and visual event timelines (the first table below counts
# them).
#
# Everything on this page is computed from LLP's **real annotation files** (the CSVs of
# `YapengTian/AVVP-ECCV20`, found through `LINKPAPER_DATA`); no feature and no model is
# involved. The statistics come from `linkpaper.data.stats.label_statistics`, the same code
# that describes SynthLLP in {doc}`03_synthllp`.

# %% [markdown]
# The only parameter is `data_dir`, the folder that holds LLP's annotation files (`None`:
# `$LINKPAPER_DATA` or the download cache).

# %% tags=["parameters"]
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from linkpaper.chapters import viz
from linkpaper.classes import CLASSES
from linkpaper.data.annotations import load_annotations, video_id
from linkpaper.data.files import MissingDataError
from linkpaper.data.stats import label_statistics, per_class_table

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
# ## A clip where sound and picture disagree
#
# The test set's dense annotations say, for every segment, which classes are audible and
# which are visible. `linkpaper.chapters.viz.disagreement_example` picks the first test clip (in
# the order of LLP's files) that has all three cases at once: a class heard but never seen,
# a class seen but never heard, and a class both heard and seen.

# %%
test = annotations["test"]
index, kinds = viz.disagreement_example(test.gt_audio, test.gt_visual)
clip = test.filenames[index]
{kind: [CLASSES[c] for c in classes] for kind, classes in kinds.items()}

# %% tags=["hide-input"]
fig = viz.timeline_figure(
    {
        "GT audio": test.gt_audio[index],
        "GT visual": test.gt_visual[index],
        "GT av (heard and seen)": test.gt_audio[index] & test.gt_visual[index],
    },
    source=f"LLP test clip {clip}, dense annotations (real)",
    classes=[c for classes in kinds.values() for c in classes],
    title=f"What is heard and what is seen in {clip}",
)
plt.show()


# %% tags=["hide-input"]
def names(classes):
    return ", ".join(CLASSES[c].replace("_", " ") for c in classes)


def pct(share):
    return f"{100 * share:.0f} %"


heard_only, seen_only, both = kinds.values()
audio, visual = test.gt_audio[index], test.gt_visual[index]
weak = np.nonzero(test.weak[index])[0]
Markdown(
    f"**What to look at.** The weak label of `{clip}` is the set {{{names(weak)}}}, "
    "the same for all ten seconds and both modalities. The dense annotation tells a "
    f"different story: {names(heard_only)} is heard in "
    f"{audio[:, heard_only].any(1).sum()} of the ten segments and never seen; "
    f"{names(seen_only)} is seen in {visual[:, seen_only].any(1).sum()} segments and "
    f"never heard; only {names(both)} is both heard and seen, in "
    f"{(audio & visual)[:, both].any(1).sum()} segments. A model trained on weak "
    "labels must discover all of this: the audio-visual row (green), what the metric "
    f"calls audio-visual events, holds {len(both)} of the {len(weak)} weak labels."
)

# %% [markdown]
# The rest of the chapter asks how typical this clip is: which classes occur, how often they
# are heard only or seen only, how often the two modalities disagree, and how long events
# last.
#
# ## The 25 classes and how often they occur
#
# Weak-label frequency per split: the share of clips of each split that carry each class.

# %% tags=["hide-input"]
counts = {split: a.weak.sum(axis=0) for split, a in annotations.items()}
sizes = {split: len(a.filenames) for split, a in annotations.items()}
fig = viz.class_frequency_figure(
    counts, sizes, source="LLP train / val / test weak labels (real)"
)
plt.show()

# %% tags=["hide-input"]
share = {split: counts[split] / sizes[split] for split in counts}
speech = CLASSES.index("Speech")
train_weak = annotations["train"].weak > 0
alone = int((train_weak[:, speech] & (train_weak.sum(1) == 1)).sum())
ratio = share["test"] / np.maximum(share["train"], 1e-9)
shifted = int(np.argmax(ratio))
Markdown(
    f"**What to look at.** Speech dominates: it is in {pct(share['train'][speech])} of "
    f"the training clips and {pct(share['test'][speech])} of the test clips, and it is "
    f"{'never' if alone == 0 else f'in {alone} training clips'} the only label of a "
    "training clip. The distribution shifts between train and val/test (val and test "
    "clips carry more labels, first table): the largest shift is "
    f"{names([shifted])}, {ratio[shifted]:.1f} times as frequent in test as in train."
)

# %% [markdown]
# ## Heard, seen, or both?
#
# Pooled over val and test (the only splits with dense labels), each active (segment, class)
# cell is heard only, seen only, or both.

# %%
val = annotations["val"]
real = label_statistics(
    np.concatenate([val.gt_audio, test.gt_audio]),
    np.concatenate([val.gt_visual, test.gt_visual]),
    np.concatenate([val.weak, test.weak]),
)
DENSE = f"LLP val+test dense annotations, {real['n_videos']} clips (real)"

# %% tags=["hide-input"]
fig = viz.modality_share_figure(
    real["seg_cell_shares_per_class"], source=DENSE, overall=real["seg_cell_shares"]
)
plt.show()

# %% tags=["hide-input"]
cells = np.asarray(real["seg_cell_shares_per_class"])  # audio only, visual only, both
audio_only, visual_only = real["seg_cell_shares"][:2]
Markdown(
    f"**What to look at.** The top bar: {pct(audio_only)} of all active cells are "
    f"heard only and {pct(visual_only)} seen only, so a large share of what is "
    "annotated is in **one modality only**. The most 'heard only' class is "
    f"{names([np.argmax(cells[:, 0])])} ({pct(cells[:, 0].max())} of its cells: a "
    "voice whose speaker is off-screen), the most 'seen only' is "
    f"{names([np.argmax(cells[:, 1])])} ({pct(cells[:, 1].max())})."
)

# %% [markdown]
# ## How often audio and visual disagree
#
# The rates that make AVVP hard, and that LINK's modules target, for the same val+test
# clips. Rows (A) and (B) count segments whose set of audible classes differs from its set
# of visible classes; row (E) counts clips with at least one weak label present in only one
# modality.

# %%
table = viz.comparison_frame({DENSE: real})
table

# %% tags=["remove-input"]
Markdown(
    f"**What to look at.** In {pct(real['mismatch_all'])} of all segments "
    f"({pct(real['mismatch_labelled'])} of the segments with any label) what is heard "
    f"is not what is seen, and {pct(real['videos_ge1_single_modality'])} of the clips "
    "have at least one weak label in one modality only. A model that copies a "
    "segment's audio labels to its visual stream, or the reverse, is wrong in every "
    "one of those segments."
)

# %% [markdown]
# ## Event durations
#
# An *event* is a maximal run of one class in one modality (the unit of the event-level
# metric in {doc}`02_evaluation`).

# %% tags=["hide-input"]
fig = viz.duration_figure({"LLP val+test": real}, source=DENSE)
plt.show()

# %% tags=["hide-input"]
full = {
    m: real["duration_hist"][m][-1] / max(real["n_events"][m], 1)
    for m in ("audio", "visual")
}
Markdown(
    "**What to look at.** The last bar of each panel: many events span the whole clip "
    f"({pct(full['audio'])} of the audio events, {pct(full['visual'])} of the visual "
    "ones last 10 s). Audio events are shorter on average "
    f"({real['mean_duration']['audio']:.2f} s against "
    f"{real['mean_duration']['visual']:.2f} s for visual ones): speech comes and goes, "
    f"objects stay in view."
)

# %% [markdown]
# Per class: number of weak labels in val+test and mean event duration (seconds) per
# modality.

# %%
print(f"[{DENSE}]")
print(per_class_table(real))

# %% [markdown]
# ## One training clip: the public frames of `BjCEufrlXm4`
#
# The AVVP-ECCV20 repository ships the frames of one training clip (82 frames at about 8 per
# second). Its weak labels come from the training CSV; as a training clip it has no dense
# annotation, so nobody knows *when* its classes are heard or seen: this is exactly the weak
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

# %% tags=["nbval-ignore-output", "hide-input"]
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

# %% [markdown]
# **What to look at.** The frames show what can be seen; nothing in them says what is heard.
# A model sees these pictures, the clip's audio and the weak labels above, and must place
# each label in time and in a modality.

# %% [markdown]
# ## Summary
#
# 1. AVVP labels each one-second segment of a 10-second clip with the classes heard and the
#    classes seen; training clips only say which classes occur somewhere in the clip.
# 2. In LLP's real annotations sound and picture often disagree: many annotated cells are in
#    one modality only, and in a large share of segments the audible and visible classes
#    differ, as in the test clip shown first.
# 3. Events vary from one second to the whole clip, and audio events are shorter than visual
#    ones; the evaluation ({doc}`02_evaluation`) scores both single segments and whole events.

# %% [markdown]
# ## Exercises
#
# 1. **Another disagreeing clip.** `viz.disagreement_example` returns the first test clip
#    with a class heard only, one seen only and one in both. In a copy of this notebook, call
#    it on the validation annotations (`annotations["val"]`) and draw that clip with
#    `viz.timeline_figure`. Is the "heard only" class Speech again? Use the per-class bars
#    of "Heard, seen, or both?" to explain why it so often is.
# 2. **A property of the data, not of one split.** This page pools val and test. Compute
#    `label_statistics` for each split on its own and put both in one
#    `viz.comparison_frame`. Do the disagreement rates (A), (B) and (E) differ between the
#    splits by more than a few points? What does your answer mean for a model selected on
#    val and scored on test?
# 3. **Copying labels across modalities.** A model that predicts, in every segment, the same
#    classes for the picture as for the sound can only be right where the two sets agree.
#    Which row of the comparison table bounds how often it is wrong? Compare with the
#    "weak labels, full length" baseline of {doc}`02_evaluation` (same labels in both
#    modalities): which of its scores suffers most? To check that the page does not depend
#    on where the files live, rerun it on a copy of the annotations folder with
#    `python scripts/run_notebooks.py 01 -p data_dir /path/to/copy --output-dir
#    runs/executed` and compare the tables.
