"""LLP annotation CSVs -> weak labels (N, C) and dense ground truth (N, T, C).

All six files are TAB-separated despite their ``.csv`` name (book/decisions.md#ref-llp-files).
The parsers reproduce the official evaluation code's behaviour on every quirk:

* a video's id is ``filename[:11]`` (ids may contain ``_`` and ``-``; never ``split('_')``);
  start/end times may be fractional and are never parsed;
* duplicated weak labels (``Clapping,Clapping``) collapse into one;
* dense rows are matched to a split by the *exact* full filename, so orphan rows (typos,
  stripped ids) are ignored, as in the official code;
* a dense row paints ``GT[int(onset):int(offset), class] = 1``: zero-length and reversed rows
  (``9 9``, ``9 0``) paint nothing, duplicates and overlaps merge;
* dense classes outside the weak labels are kept (the official GT keeps them).

Malformed input (wrong header, missing column, unknown class, non-integer onset, duplicated
filename in a weak file, empty split) raises ``AnnotationError`` naming the file and line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linkpaper.classes import CLASS_INDEX, NUM_CLASSES, NUM_SEGMENTS, class_names_to_multihot
from linkpaper.data.files import annotation_path
from linkpaper.errors import UserError

WEAK_HEADER = ("filename", "event_labels")
DENSE_HEADER = ("filename", "onset", "offset", "event_labels")
SPLIT_FILES = {"train": "train", "val": "val", "test": "test", "full": "full"}
DENSE_SPLITS = ("val", "test")


class AnnotationError(UserError, ValueError):
    """A malformed annotation file; the message names the file, the line and the problem."""


LLP_FILENAME = re.compile(r"[A-Za-z0-9_-]{11}_[0-9]+(?:\.[0-9]+)?_[0-9]+(?:\.[0-9]+)?")
"""An LLP filename: the 11-character YouTube id (letters, digits, ``_``, ``-``), then
``_<start>_<end>`` in seconds (possibly fractional). Every weak file of the release matches."""
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")


def video_id(filename: str) -> str:
    """The 11-character YouTube id of an LLP filename (``<id>_<start>_<end>``); features key on it.

    The id becomes a file name (``<id>.npy``), so anything but YouTube id characters is refused
    (an ``AnnotationError``): a name from a CSV never reaches outside its folder.
    """
    vid = filename[:11]
    if not VIDEO_ID.fullmatch(vid):
        raise AnnotationError(
            f"filename {filename!r}: its first 11 characters {vid!r} are not a YouTube id "
            "(letters, digits, '_' and '-'); LLP filenames look like 'abc123XYZ-_30_40'"
        )
    return vid


def check_llp_filename(filename: str, source: str) -> str:
    """``filename`` if it has the LLP form (``LLP_FILENAME``); else an AnnotationError naming ``source``."""
    if not LLP_FILENAME.fullmatch(filename):
        raise AnnotationError(
            f"{source}: filename {filename!r} is not an LLP filename (an 11-character YouTube id of "
            "letters, digits, '_' and '-', then _<start>_<end>, e.g. 'abc123XYZ-_30_40')"
        )
    return filename


@dataclass
class WeakLabels:
    """Video-level labels of one split.

    filenames: N full LLP filenames, in file order.
    labels: (N, C) float32 multi-hot.
    """

    path: Path
    filenames: list[str]
    labels: np.ndarray


@dataclass
class DenseEvent:
    """One row of an eval CSV: class ``class_index`` active in segments [onset, offset)."""

    filename: str
    onset: int
    offset: int
    class_index: int
    line: int


@dataclass
class SplitAnnotations:
    """Everything the annotations say about one split.

    filenames: N names; weak: (N, C) float32; gt_audio / gt_visual: (N, T, C) bool dense ground
    truth (None for train, which has no dense labels). ``gt_audio & gt_visual`` is the AV GT.
    """

    split: str
    filenames: list[str]
    weak: np.ndarray
    gt_audio: np.ndarray | None = None
    gt_visual: np.ndarray | None = None

    @property
    def gt_av(self) -> np.ndarray | None:
        if self.gt_audio is None or self.gt_visual is None:
            return None
        return self.gt_audio & self.gt_visual


def _read_rows(path: Path, header: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """(line number, fields) for every data row of a TAB-separated file with ``header``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(f"{path}: cannot read the file as UTF-8 text ({err})") from err
    lines = text.splitlines()
    if not lines:
        raise AnnotationError(f"{path}: the file is empty (expected a header {'<TAB>'.join(header)})")
    found = tuple(field.strip() for field in lines[0].split("\t"))
    if found != header:
        hint = " (the LLP files are TAB-separated)" if len(found) == 1 else ""
        raise AnnotationError(f"{path}, line 1: header {found} != expected {header}{hint}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise AnnotationError(
                f"{path}, line {number}: {len(fields)} TAB-separated fields, expected "
                f"{len(header)} ({', '.join(header)}): {line!r}"
            )
        rows.append((number, [field.strip() for field in fields]))
    return rows


def read_weak_labels(path: str | os.PathLike) -> WeakLabels:
    """Parse a weak-label file (``filename<TAB>event_labels``) into names and (N, C) multi-hots."""
    path = Path(path)
    filenames: list[str] = []
    labels: list[np.ndarray] = []
    seen: dict[str, int] = {}
    for number, (filename, label_text) in _read_rows(path, WEAK_HEADER):
        check_llp_filename(filename, f"{path}, line {number}")
        if filename in seen:
            raise AnnotationError(f"{path}, line {number}: filename {filename!r} repeats line {seen[filename]}")
        names = [name for name in label_text.split(",") if name]
        if not names:
            raise AnnotationError(f"{path}, line {number}: no event labels for {filename!r}")
        try:
            labels.append(class_names_to_multihot(names, source=f"{path}, line {number}"))
        except ValueError as err:
            raise AnnotationError(str(err)) from None
        seen[filename] = number
        filenames.append(filename)
    if not filenames:
        raise AnnotationError(f"{path}: the split is empty (a header and no rows)")
    return WeakLabels(path=path, filenames=filenames, labels=np.stack(labels))


def read_dense_events(path: str | os.PathLike) -> list[DenseEvent]:
    """Parse an eval CSV (``filename onset offset event_labels``) into one event per row."""
    path = Path(path)
    events = []
    for number, (filename, onset, offset, name) in _read_rows(path, DENSE_HEADER):
        try:
            onset_i, offset_i = int(onset), int(offset)
        except ValueError:
            raise AnnotationError(
                f"{path}, line {number}: onset/offset must be integer seconds, found {onset!r} / {offset!r}"
            ) from None
        if name not in CLASS_INDEX:
            raise AnnotationError(
                f"{path}, line {number}: unknown class name {name!r} (one class per dense row, "
                "one of linkpaper.classes.CLASSES)"
            )
        events.append(DenseEvent(filename, onset_i, offset_i, CLASS_INDEX[name], number))
    return events


def dense_ground_truth(filenames: list[str], events: list[DenseEvent]) -> np.ndarray:
    """Paint events into a (N, T, C) bool array exactly as the official evaluation does.

    Rows whose filename is not in ``filenames`` are ignored; ``GT[n, onset:offset, c] = 1`` with
    Python slice semantics, so zero-length and reversed rows paint nothing.
    """
    row_of = {name: n for n, name in enumerate(filenames)}
    gt = np.zeros((len(filenames), NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    for event in events:
        n = row_of.get(event.filename)
        if n is not None:
            gt[n, event.onset : event.offset, event.class_index] = True
    return gt


def load_annotations(split: str, data_dir: str | os.PathLike | None = None) -> SplitAnnotations:
    """Weak labels and (for val/test) dense ground truth of an LLP split from the data directory."""
    if split not in SPLIT_FILES:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_FILES)}")
    weak = read_weak_labels(annotation_path(SPLIT_FILES[split], data_dir))
    result = SplitAnnotations(split=split, filenames=weak.filenames, weak=weak.labels)
    if split in DENSE_SPLITS:
        audio_events = read_dense_events(annotation_path("eval_audio", data_dir))
        visual_events = read_dense_events(annotation_path("eval_visual", data_dir))
        result.gt_audio = dense_ground_truth(weak.filenames, audio_events)
        result.gt_visual = dense_ground_truth(weak.filenames, visual_events)
    return result
