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
# # 2. The evaluation protocol
#
# :::{admonition} In this chapter
# :class: tip
# **You will learn**
# * why AVVP is scored at two levels (single segments and whole events) and summarised by
#   two averages (Type@AV and Event@AV);
# * how a model's probabilities become decisions (the 0.5 thresholds and the gate by the
#   predicted video label) and how the ten F-scores of every results table are computed;
# * what predictors that need no model score on LLP's real test annotations, so that you
#   can read any AVVP number against them.
#
# **Prerequisites**: {doc}`01_task_and_data` (segments, the two modalities, events as
# maximal runs of one class); the F-score (2TP / (2TP + FP + FN)).
#
# **Run time**: about 10 s on two CPU cores with the default parameters (no training).
# :::
#
# Every AVVP paper (HAN, VALOR, LEAP, LINK) reports the same ten F-scores, computed by the
# same `eval_metrics.py`. This page explains why the protocol looks the way it does, runs it
# step by step on one hand-made video, then scores three sanity baselines on LLP's real
# test annotations.
#
# ## Why two levels, and why Type@AV and Event@AV
#
# A parse of a video is a set of (class, modality, time) statements, and there are two
# natural ways to check it, which the protocol both uses.
#
# * **Segment level: is each second right?** Each (segment, class, modality) cell is a
#   yes/no decision, compared cell by cell with the ground truth. This rewards a model for
#   every second it gets right, even when its predictions flicker on and off.
# * **Event level: is each event found as a whole?** An event (a maximal run of one class in
#   one modality) counts as found only if a predicted run overlaps it by at least half of
#   their union. A prediction that breaks one ten-second event into scraps, or that starts
#   far too early, can score well per second and still find no event. Since LLP's events run
#   from one second to the whole clip ({doc}`01_task_and_data`), both views matter: one
#   measures tagging, the other parsing.
#
# Each level is computed for three **event types**: audio (heard), visual (seen) and
# audio-visual (heard *and* seen in the same segment, the AND of the two). Two summaries
# then turn the three into one number:
#
# * **{term}`Type@AV`** is the plain mean of the audio, visual and audio-visual scores. Each type
#   weighs the same, so a model cannot hide a weak modality behind a strong one. The
#   segment-level Type@AV is the number that selects the best training epoch
#   ({doc}`08_training`).
# * **{term}`Event@AV`** pools, for each class, the audio and visual counts (true positives, false
#   positives, misses) before taking one F-score. It judges the parse of a class in both
#   streams at once: within a class, each modality counts in proportion to its events (at
#   segment level, its active segments) instead of one third per type as in Type@AV.
#
# ## The protocol in five steps
#
# `linkpaper.evaluation.metrics` reimplements the official code, vectorised over videos, with a plain
# per-video loop (`evaluate_predictions_loop`) kept as the readable version; the two agree
# exactly. For each video (10 segments, 25 classes):
#
# 1. **Gating.** A segment prediction of class *c* in modality *m* counts only if the frame
#    probability is ≥ 0.5 **and** the predicted video-level probability of *c* is ≥ 0.5.
#    The audio-visual prediction is the AND of the audio and visual predictions, and the
#    audio-visual ground truth the AND of the audio and visual ground truth.
# 2. **Segment level.** Per class: TP, FP, FN over the 10 segments; F = 2TP / (2TP + FP + FN).
# 3. **Event level.** An event is a maximal run of one class; a predicted event is a TP if its
#    IoU with *any* ground-truth event is ≥ 0.5, else an FP; a ground-truth event matched by
#    no prediction is an FN.
# 4. **Per video.** The mean F over the classes with any prediction or ground truth; **1.0 if
#    there is none** ("all true negatives").
# 5. **Event@AV** pools audio and visual counts per class before taking F; **Type@AV** is the
#    mean of the audio, visual and audio-visual scores. Everything is averaged over videos.

# %% [markdown]
# The only parameter is `data_dir`, the folder that holds LLP's annotation files (`None`:
# `$LINKPAPER_DATA` or the download cache).

# %% tags=["parameters"]
data_dir = None  # folder with llp/ and leap/; None = $LINKPAPER_DATA or the cache

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown

from linkpaper.chapters import viz
from linkpaper.classes import CLASSES, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.annotations import load_annotations
from linkpaper.evaluation import metrics

HAND = "hand-made example video (illustrative)"
SPEECH, CAR, DOG, CAT = (
    CLASSES.index(name) for name in ("Speech", "Car", "Dog", "Cat")
)

# %% [markdown]
# ## A hand-made video
#
# Ground truth: speech is heard in seconds 0-4 and 6-8, a dog is heard from second 5 and seen
# from second 2 to the end. The model's probabilities: it believes in speech and dog at video
# level, and only weakly (0.3) in a cat that its visual stream sees everywhere.

# %%
gt_audio = np.zeros((1, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
gt_visual = np.zeros_like(gt_audio)
gt_audio[0, 0:4, SPEECH] = gt_audio[0, 6:8, SPEECH] = gt_audio[0, 5:10, DOG] = True
gt_visual[0, 2:10, DOG] = True

video_prob = np.zeros((1, NUM_CLASSES))
video_prob[0, [SPEECH, DOG, CAT]] = [0.9, 0.8, 0.3]
frame_prob = np.zeros((1, NUM_SEGMENTS, 2, NUM_CLASSES))  # modality 0 audio, 1 visual
frame_prob[0, 0:4, 0, SPEECH] = 0.7  # audio speech 0-4: exactly the first GT event
frame_prob[0, 6:7, 0, SPEECH] = 0.6  # audio speech 6-7: IoU 1/2 with the GT event 6-8
frame_prob[0, 4:10, 0, DOG] = 0.8  # audio dog 4-10: IoU 5/6 with the GT event 5-10
frame_prob[0, 0:2, 1, SPEECH] = 0.6  # visual speech 0-2: the speaker is never on screen
frame_prob[0, [2, 3, 4, 7, 8, 9], 1, DOG] = 0.9  # visual dog with a gap: two events
# visual cat everywhere, but video_prob 0.3 < 0.5: gated out
frame_prob[0, :, 1, CAT] = 0.9

pred_audio, pred_visual = metrics.binarize_predictions(frame_prob, video_prob)
print(
    "cat frames above 0.5:",
    int((frame_prob[0, :, 1, CAT] >= 0.5).sum()),
    "-> cat segments predicted after gating:",
    int(pred_visual[0, :, CAT].sum()),
)

# %% tags=["hide-input"]
fig = viz.timeline_figure(
    {
        "GT audio": gt_audio[0],
        "pred audio": pred_audio[0],
        "GT visual": gt_visual[0],
        "pred visual": pred_visual[0],
        "GT av": gt_audio[0] & gt_visual[0],
        "pred av": pred_audio[0] & pred_visual[0],
    },
    source=HAND,
    classes=[SPEECH, DOG, CAT],
    title="Ground truth and gated predictions",
)
plt.show()

# %% [markdown]
# **What to look at.** Each panel is one class; compare each "pred" line with the "GT" line
# above it. The audio predictions are close to the truth; the visual stream wrongly sees
# speech in the first two seconds and breaks the dog into two runs; no cat is predicted at
# all, because the video-level probability gates it out. The "av" lines are the AND of the
# two modalities, in the ground truth and in the prediction.

# %% [markdown]
# ## Segment level
#
# Per class, TP / FP / FN over the ten segments. Only the classes with a prediction or a
# ground truth are *kept*; the cat, gated out and absent from the ground truth, is not.

# %%
scores = metrics.evaluate_predictions(pred_audio, pred_visual, gt_audio, gt_visual)
for name in ("audio", "visual"):
    print(f"segment level, {name} [{HAND}]")
    print(viz.class_counts_frame(scores.per_class["segment"][name]), end="\n\n")

# %% [markdown]
# ## Event level: extraction and IoU matching
#
# Events are maximal runs. The audio speech prediction 6-7 overlaps the ground-truth event 6-8
# with IoU exactly 0.5, which counts (the threshold is inclusive). The visual dog prediction
# is broken into two events by a gap; each covers less than half of the ground-truth event
# 2-10, so both are false positives and the ground-truth event is missed, although 6 of its 8
# segments are predicted.

# %%
for name, pred, gt, c in (
    ("audio", pred_audio, gt_audio, SPEECH),
    ("audio", pred_audio, gt_audio, DOG),
    ("visual", pred_visual, gt_visual, DOG),
):
    p_events, g_events = metrics.extract_events(pred[0, :, c]), metrics.extract_events(
        gt[0, :, c]
    )
    ious = [[round(metrics.event_iou(p, g), 3) for g in g_events] for p in p_events]
    tp, fp, fn = metrics.match_events(p_events, g_events)
    print(
        f"{name} {CLASSES[c]:<7} pred {p_events}  GT {g_events}  IoU {ious}  "
        f"-> TP {tp} FP {fp} FN {fn}"
    )

# %% [markdown]
# ## Event@AV pools the two modalities
#
# Event@AV adds the audio and visual counts of each class and takes one F per class, so a
# class that is good in one modality and bad in the other gets one blended F (not the mean
# of two F-scores). Below: the event-level counts of the dog, separately and pooled.

# %%
for name in ("audio", "visual", "event"):
    dog = scores.per_class["event"][name]
    title = "pooled (Event@AV)" if name == "event" else name
    print(
        f"dog, event level, {title:<18} TP {dog.tp[DOG]} FP {dog.fp[DOG]} "
        f"FN {dog.fn[DOG]}  F {dog.f[DOG]:.2f} %"
    )

# %% [markdown]
# ## The ten scores of this video
#
# The vectorised implementation and the per-video loop give the same numbers.

# %%
from_probs = metrics.evaluate_probs(
    frame_prob, video_prob, gt_audio, gt_visual
)  # gating included
loop = metrics.evaluate_predictions_loop(pred_audio, pred_visual, gt_audio, gt_visual)
viz.scores_frame({"hand-made video": scores}, source=HAND)

# %% tags=["hide-cell"]
# the three routes give exactly the same ten numbers
assert scores.row() == from_probs.row() == loop.row()

# %% [markdown]
# ## An empty video scores 1.0
#
# With no ground truth and no prediction, no class is kept and every per-video score is 1.0.
# This is why "predict nothing" scores above zero on LLP: every video without (say) an
# audio-visual event contributes a perfect audio-visual score.

# %%
empty = np.zeros((1, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
viz.scores_frame(
    {
        "empty video, empty prediction": metrics.evaluate_predictions(
            empty, empty, empty, empty
        )
    },
    source=HAND,
)

# %% [markdown]
# ## Sanity baselines on LLP's real test annotations
#
# Three predictors that need no model, scored against the real dense ground truth of the
# 1,200 test videos (and the 649 validation videos):
#
# * **oracle**: the ground truth itself (must give 100 everywhere);
# * **nothing**: no prediction at all (scores only through the empty-video rule);
# * **weak labels, full length**: every weak label of the video, in every segment, in both
#   modalities. This *leaks* the ground-truth video labels and is **not a legal baseline**; it
#   shows how much the video-level labels alone are worth, and where a model must do better
#   (localising in time and in modality).

# %%
per_split = {}
for split in ("test", "val"):
    ann = load_annotations(split, data_dir)
    nothing = np.zeros_like(ann.gt_audio)
    weak_full = np.repeat(ann.weak[:, None, :] > 0, NUM_SEGMENTS, axis=1)
    per_split[split] = {
        "oracle": metrics.evaluate_predictions(
            ann.gt_audio, ann.gt_visual, ann.gt_audio, ann.gt_visual
        ),
        "nothing": metrics.evaluate_predictions(
            nothing, nothing, ann.gt_audio, ann.gt_visual
        ),
        "weak labels, full length (leaks GT)": metrics.evaluate_predictions(
            weak_full, weak_full, ann.gt_audio, ann.gt_visual
        ),
    }
tables = {
    split: viz.scores_frame(per_split[split], source=f"LLP {split} annotations (real)")
    for split in per_split
}
tables["test"]

# %% [markdown]
# The same on the validation split:

# %%
tables["val"]

# %% [markdown]
# **What to look at.** "Nothing" scores above zero only through the empty-video rule
# (videos with no event of a type give a perfect score for that type). The weak-label
# baseline is far from 100 although it knows every class of every video: knowing *which*
# classes occur is not knowing *when* and *in which modality*, and the audio-visual and
# event-level columns, which need both, suffer most.
#
# Event@AV is the exception: "nothing" scores exactly 0.00 there, at both levels. Event@AV
# pools the audio and the visual counts of a video into one F, so a video escapes a zero
# only if it has no event in either modality; counted on the annotations:

# %% tags=["remove-input"]
lines = []
for split in ("test", "val"):
    ann = load_annotations(split, data_dir)
    has_a = ann.gt_audio.any(axis=(1, 2))  # the video has an audio event
    has_v = ann.gt_visual.any(axis=(1, 2))
    lines.append(
        f"* LLP {split}: **{int((has_a | has_v).sum()):,} of {len(has_a):,}** videos "
        f"have at least one event (audio or visual); {int((~has_a).sum())} have no "
        f"audio event and {int((~has_v).sum())} no visual event."
    )
Markdown("\n".join(lines))

# %% [markdown]
# Every video has an event, so every video's pooled counts contain at least one miss and no
# hit: its Event@AV F is 0, and so is the mean. The audio, visual and audio-visual columns
# are above zero because some videos have no event of that one kind.
#
# These values agree with an independent reimplementation of the official code run on the
# same CSV files ({ref}`ref-metric`, rounded to 0.01), which the hidden cell below
# checks.

# %% tags=["hide-cell"]
# the reference values (book/decisions.md#ref-metric):
# Seg a, v, av, type, event | Event a, v, av, type, event
LEAKS = "weak labels, full length (leaks GT)"
independent = {
    "test": {"nothing": [0.50, 10.08, 14.50, 8.36, 0.00] * 2,
             LEAKS: [76.12, 60.35, 52.61, 63.03, 71.73,
                     63.03, 55.75, 44.69, 54.49, 61.60]},
    "val": {"nothing": [0.62, 10.79, 14.33, 8.58, 0.00] * 2,
            LEAKS: [77.07, 58.65, 52.07, 62.60, 71.53,
                    63.85, 53.48, 44.15, 53.82, 61.12]},
}
for split, expected in independent.items():
    difference = tables[split].loc[list(expected)].to_numpy() - np.array(
        list(expected.values())
    )
    assert np.abs(difference).max() <= 0.005 + 1e-9, (split, difference)
    assert (tables[split].loc["oracle"].to_numpy() == 100).all()
    print(
        f"{split}: largest difference from the independent reimplementation "
        f"{np.abs(difference).max():.4f}"
    )

# %% [markdown]
# Per class, the weak-label baseline shows which classes are hard to localise even with the
# right video labels.

# %% tags=["hide-input"]
fig = viz.per_class_figure(
    per_split["test"]["weak labels, full length (leaks GT)"],
    source="LLP test annotations (real)",
    title="Weak labels, full length (leaks GT): per-class segment-level F",
)
plt.show()

# %% tags=["hide-input"]
weak_full_test = per_split["test"]["weak labels, full length (leaks GT)"]
audio_f = weak_full_test.per_class["segment"]["audio"].f
visual_f = weak_full_test.per_class["segment"]["visual"].f
gap = np.nan_to_num(audio_f - visual_f, nan=-np.inf)
worst = [int(c) for c in np.argsort(-gap, kind="stable")[:3]]
Markdown(
    "**What to look at.** The classes whose visual bar falls far below their audio bar "
    "are the ones often heard but not seen (chapter 1): the largest gaps "
    "are "
    + ", ".join(
        f"{CLASSES[c].replace('_', ' ')} "
        f"(audio {audio_f[c]:.0f}, visual {visual_f[c]:.0f})"
        for c in worst
    )
    + ". Predicting such a class in the picture because it is in the weak label is "
    "exactly the error a model must unlearn."
)

# %% [markdown]
# ## Speed
#
# The vectorised metric scores the whole test set in milliseconds; the loop is the readable
# reference. (Timings vary between machines and are not checked.)

# %% tags=["nbval-ignore-output"]
ann = load_annotations("test", data_dir)
weak_full = np.repeat(ann.weak[:, None, :] > 0, NUM_SEGMENTS, axis=1)
start = time.perf_counter()
fast = metrics.evaluate_predictions(weak_full, weak_full, ann.gt_audio, ann.gt_visual)
fast_s = time.perf_counter() - start
start = time.perf_counter()
slow = metrics.evaluate_predictions_loop(
    weak_full, weak_full, ann.gt_audio, ann.gt_visual
)
slow_s = time.perf_counter() - start
print(
    f"1200 test videos: vectorised {1000 * fast_s:.1f} ms, "
    f"loop {1000 * slow_s:.1f} ms (same scores)"
)

# %% tags=["remove-cell"]
assert fast.row() == slow.row()

# %% [markdown]
# ## Summary
#
# 1. AVVP is scored per segment (is each second right?) and per event (is each event found
#    as a whole, with IoU ≥ 0.5?), for audio, visual and audio-visual events; Type@AV
#    averages the three types, Event@AV pools audio and visual counts per class.
# 2. A segment prediction counts only when its own probability and the predicted
#    video-level probability of its class are both at least 0.5; a video with nothing to
#    find and nothing predicted scores 1.0, which is why predicting nothing scores above 0.
# 3. Even the ground-truth weak labels, spread over the whole clip and both modalities, are
#    far from 100 on LLP test: the task is localisation in time and modality, and every
#    model number in this book should be read against these baselines.

# %% [markdown]
# ## Exercises
#
# 1. **The gate.** In a copy of this notebook, raise the cat's video-level probability in
#    the hand-made video from 0.3 to 0.6 and rerun the cells. Which of the ten scores
#    change, and why does the audio-visual score not change? Why does the official protocol
#    gate on the *predicted* video label, never on the ground-truth one?
# 2. **Segments or events.** Fill the gap in the visual dog prediction (predict segments 5
#    and 6 as well) and compare the visual segment-level and event-level F of the dog before
#    and after. Explain with the IoU rule why one extra segment can change an event score
#    from 0 to 100 and the segment score by much less.
# 3. **A one-modality baseline.** Score, on LLP test, the weak labels predicted in the audio
#    stream only (an empty visual prediction) with `metrics.evaluate_predictions`, and add
#    it to the baseline table. Which scores rise and which fall against "weak labels, full
#    length", and what does that say about how much of LLP is heard only? To rerun the whole
#    chapter on another copy of the annotations, use `python scripts/run_notebooks.py 02 -p
#    data_dir /path/to/data --output-dir runs/executed`.
