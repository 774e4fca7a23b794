"""HAN's feature release on disk -> ``AVVPData`` (``--data han:DIR``), for the field's methods.

The layout of HAN's release (Tian et al., ECCV 2020; the folders its ``main_avvp.py`` reads;
``linkpaper.data.layout.HAN_LAYOUT``), one ``<first 11 characters of the filename>.npy`` per
video and stream::

    <root>/feats/vggish/          (10, 128) float32   VGGish, one vector per second
    <root>/feats/res152/          (80, 2048) float32  ResNet-152, 8 frames per second
    <root>/feats/r2plus1d_18/     (10, 512) float32   R(2+1)D-18 (the same files as VALOR's)
    <root>/CLAP/segment_pseudo_labels/, <root>/CLIP/segment_pseudo_labels/   optional (10, 25)
    <root>/splits/AVVP_train.csv ...                   optional split lists (as for llp:DIR)

The 80 ResNet frames are averaged 8 by 8 while loading, so a split holds (N, 10, 2048): the
networks apply ``fc_v`` before averaging, and an affine map commutes with an average, so the
result is the released computation exactly (up to float rounding) at an eighth of the memory.
VALOR's segment pseudo labels, when the folder holds them, are the teacher labels LEAP trains
on; without them every segment carries the video's weak labels (``source["segment_labels"]``
says which), which HAN, MM-Pyramid and JoMoLD never read. Every file is validated and all
problems are reported in one ``FeatureError``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.annotations import (
    DENSE_SPLITS,
    annotation_path,
    dense_ground_truth,
    read_dense_events,
    read_weak_labels,
    video_id,
)
from linkpaper.data.features import FeatureError, _check_array, _load_npy, split_csv_path
from linkpaper.data.layout import HAN_LAYOUT, RESNET_FRAMES, SPLIT_CSV, VALOR_LAYOUT, feature_file
from linkpaper.data.split import AVVPData, AVVPSplit

TEACHER_LABELS = ("pseudo_audio", "pseudo_visual")  # VALOR's gated segment labels, optional here
MAX_LISTED = 3


def _read_stream(root: Path, folder: str, shape: tuple, ids: list[str], stream: str, problems: list) -> np.ndarray:
    out = np.zeros((len(ids), *shape), dtype=np.float32 if stream not in TEACHER_LABELS else np.int64)
    for i, vid in enumerate(ids):
        path = root / folder / feature_file(vid)
        try:
            array = _load_npy(path)
        except FileNotFoundError:
            problems.append(f"{path}: missing")
            continue
        except ValueError as err:
            problems.append(f"{path}: {err}")
            continue
        problem = _check_array(array, stream, shape)
        if problem:
            problems.append(f"{path}: {problem[0]}: {problem[1]}")
            continue
        out[i] = array
    return out


def load_han_split(root: str | os.PathLike, split: str, data_dir=None, teacher_labels: bool = True) -> AVVPSplit:
    """One split of HAN's release: audio (N, 10, 128), visual (N, 10, 2048) (the 80 frames
    averaged 8 by 8), visual_3d (N, 10, 512), weak (N, 25), segment labels (N, 10, 25) and, for
    val / test, dense ground truth. Raises FeatureError listing every bad or missing file."""
    root = Path(root).expanduser()
    weak = read_weak_labels(split_csv_path(root, split, data_dir))
    ids = [video_id(name) for name in weak.filenames]
    problems: list[str] = []
    arrays = {
        stream: _read_stream(root, folder, shape, ids, stream, problems)
        for stream, (folder, shape) in HAN_LAYOUT.items()
    }
    weak_segments = np.repeat(weak.labels[:, None, :], NUM_SEGMENTS, axis=1).astype(np.float32)
    for stream in TEACHER_LABELS:
        if teacher_labels:
            arrays[stream] = _read_stream(
                root, VALOR_LAYOUT[stream], (NUM_SEGMENTS, NUM_CLASSES), ids, stream, problems
            ).astype(np.float32)
        else:
            arrays[stream] = weak_segments
    if problems:
        shown = problems[:MAX_LISTED] + (
            [f"... and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else []
        )
        raise FeatureError(
            f"HAN feature release at {root}, {split} split: {len(problems)} problem(s):\n" + "\n".join(shown)
        )
    frames = arrays["visual"]
    arrays["visual"] = frames.reshape(len(ids), NUM_SEGMENTS, RESNET_FRAMES // NUM_SEGMENTS, -1).mean(axis=2)
    gt_audio = gt_visual = None
    if split in DENSE_SPLITS:
        gt_audio = dense_ground_truth(weak.filenames, read_dense_events(annotation_path("eval_audio", data_dir)))
        gt_visual = dense_ground_truth(weak.filenames, read_dense_events(annotation_path("eval_visual", data_dir)))
    return AVVPSplit(
        name=split,
        filenames=list(weak.filenames),
        weak=torch.from_numpy(weak.labels.astype(np.float32)),
        gt_audio=gt_audio,
        gt_visual=gt_visual,
        **{name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in arrays.items()},
    )


def load_han_release(root: str | os.PathLike, data_dir=None) -> AVVPData:
    """All three splits of HAN's release at ``root`` (see the module docstring)."""
    root = Path(root).expanduser()
    if not all((root / folder).is_dir() for folder, _ in HAN_LAYOUT.values()):
        raise FeatureError(
            f"{root}: not HAN's feature release (expected the folders "
            f"{', '.join(folder for folder, _ in HAN_LAYOUT.values())})"
        )
    teacher = all((root / VALOR_LAYOUT[stream]).is_dir() for stream in TEACHER_LABELS)
    splits = {name: load_han_split(root, name, data_dir, teacher_labels=teacher) for name in SPLIT_CSV}
    source = {
        "kind": "han",
        "root": str(root.resolve()),
        "features": "VGGish, ResNet-152 (8 fps, averaged per second), R(2+1)D-18",
        "segment_labels": "VALOR's CLAP / CLIP pseudo labels"
        if teacher
        else "the weak labels at every segment (no teacher labels in this folder)",
    }
    return AVVPData(train=splits["train"], val=splits["val"], test=splits["test"], source=source)
