"""Prediction files: what a model says about a split, saved as one ``.npz``.

A predictions file holds, for N videos of one split (modality 0 audio, 1 visual):

==============  ====================  ==================================================
key             shape / dtype         meaning
==============  ====================  ==================================================
``filename``    (N,) str              full LLP filenames (any order; matched by name)
``frame_prob``  (N, 10, 2, 25) float  segment probabilities per modality, in [0, 1]
``video_prob``  (N, 25) float         video-level (global) probabilities, in [0, 1]
==============  ====================  ==================================================

The training engine writes one with ``save_predictions``; ``python -m linkpaper evaluate``
reads it with ``load_predictions`` and scores it (``linkpaper.evaluation.metrics``).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.errors import UserError

PREDICTION_KEYS = ("filename", "frame_prob", "video_prob")


class PredictionsError(UserError, ValueError):
    """A predictions file (or arrays meant for one) is malformed; the message names it."""


@dataclass
class Predictions:
    """The content of a predictions file; see the module docstring for shapes."""

    filenames: list[str]
    frame_prob: np.ndarray
    video_prob: np.ndarray
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.filenames)

    def aligned_to(
        self, filenames: list[str], split: str = "evaluated", allow_subset: bool = False, subset_hint: bool = True
    ) -> Predictions:
        """The rows reordered to ``filenames`` (a split's annotation order).

        Raises ``PredictionsError`` naming the file when a name is missing or extra. With
        ``allow_subset`` missing videos are allowed (never extra ones): the result holds the
        covered videos only, in split order, and ``len()`` tells how many. ``subset_hint``: the
        message suggests ``--subset`` (only for commands that have that flag, i.e. ``evaluate``).
        """
        source = self.path if self.path is not None else "predictions"
        row_of = {name: n for n, name in enumerate(self.filenames)}
        wanted = set(filenames)
        missing = [name for name in filenames if name not in row_of]
        extra = [name for name in self.filenames if name not in wanted]
        problems = []
        if missing and not allow_subset:
            problems.append(
                f"{len(missing)} video(s) of the {split} split have no prediction (e.g. {_examples(missing)})"
            )
        if extra:
            problems.append(f"{len(extra)} filename(s) are not in the {split} split (e.g. {_examples(extra)})")
        if problems:
            hint = (
                " To score a run on part of the split, pass --subset."
                if missing and not allow_subset and not extra and subset_hint
                else ""
            )
            raise PredictionsError(
                f"{source}: {'; '.join(problems)}. A predictions file must hold exactly one row per "
                f"video of the {split} split ({len(filenames)} videos).{hint}"
            )
        covered = [name for name in filenames if name in row_of]
        if not covered:
            raise PredictionsError(f"{source}: no row is a video of the {split} split; nothing to score")
        order = np.array([row_of[name] for name in covered], dtype=np.int64)
        return Predictions(covered, self.frame_prob[order], self.video_prob[order], self.path)


def _examples(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (", ..." if len(names) > limit else "")


class Probabilities(NamedTuple):
    """What :func:`check_probabilities` returns: ``(frame_prob, video_prob)``, validated, numpy."""

    frame_prob: np.ndarray  # (N, 10, 2, 25)
    video_prob: np.ndarray  # (N, 25)


def check_probabilities(frame_prob, video_prob, source: str = "predictions") -> Probabilities:
    """Validate ``frame_prob`` (N, 10, 2, 25) and ``video_prob`` (N, 25): finite floats in [0, 1].

    Accepts numpy arrays or torch tensors; returns numpy arrays. Raises ``PredictionsError``.
    """
    try:
        frame_prob = _as_numpy(frame_prob)
        video_prob = _as_numpy(video_prob)
    except (TypeError, ValueError) as err:  # ragged lists, objects numpy cannot hold
        raise PredictionsError(f"{source}: probabilities are not numeric arrays ({err})") from None
    for name, array, shape in (
        ("frame_prob", frame_prob, f"(N, {NUM_SEGMENTS}, 2, {NUM_CLASSES})"),
        ("video_prob", video_prob, f"(N, {NUM_CLASSES})"),
    ):
        if array.dtype.fields is not None or not np.issubdtype(array.dtype, np.floating):
            raise PredictionsError(f"{source}: {name} has dtype {array.dtype}; expected floating-point probabilities")
        expected_tail = (NUM_SEGMENTS, 2, NUM_CLASSES) if name == "frame_prob" else (NUM_CLASSES,)
        if array.ndim != len(expected_tail) + 1 or array.shape[1:] != expected_tail:
            raise PredictionsError(f"{source}: {name} has shape {array.shape}; expected {shape}")
        if not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).sum())
            raise PredictionsError(
                f"{source}: {name} holds {bad} NaN or infinite value(s); expected probabilities in [0, 1]"
            )
        if array.size and (array.min() < 0 or array.max() > 1):
            raise PredictionsError(
                f"{source}: {name} has values in [{array.min():.4g}, {array.max():.4g}]; expected probabilities "
                "in [0, 1] (apply a sigmoid to logits first)"
            )
    if frame_prob.shape[0] != video_prob.shape[0]:
        raise PredictionsError(
            f"{source}: frame_prob has {frame_prob.shape[0]} videos but video_prob has {video_prob.shape[0]}"
        )
    return Probabilities(frame_prob, video_prob)


def _as_numpy(array) -> np.ndarray:
    if hasattr(array, "detach"):  # a torch tensor, on any device
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def _check_filenames(filenames, n_videos: int, source: str) -> list[str]:
    """The filenames as a list of str (UTF-8 byte strings decoded); PredictionsError otherwise."""
    if isinstance(filenames, np.ndarray):
        if filenames.ndim != 1:
            raise PredictionsError(f"{source}: filename has shape {filenames.shape}; expected (N,) strings")
        filenames = filenames.tolist()
    if isinstance(filenames, (str, bytes)) or not hasattr(filenames, "__iter__"):
        raise PredictionsError(f"{source}: filenames must be a list of strings, got {type(filenames).__name__}")
    names = []
    for name in filenames:
        if isinstance(name, (bytes, np.bytes_)):
            try:
                name = bytes(name).decode("utf-8")
            except UnicodeDecodeError:
                raise PredictionsError(f"{source}: filename {name!r} is not UTF-8 text") from None
        elif not isinstance(name, str):
            raise PredictionsError(f"{source}: filename {name!r} is a {type(name).__name__}; expected strings")
        if not name:
            raise PredictionsError(f"{source}: an empty filename; expected LLP names such as 'abc123XYZ_0_10'")
        names.append(str(name))
    if len(names) != n_videos:
        raise PredictionsError(f"{source}: {len(names)} filenames for {n_videos} rows of probabilities")
    seen: dict[str, int] = {}
    duplicated = []
    for n, name in enumerate(names):
        if name in seen:
            duplicated.append(name)
        seen[name] = n
    if duplicated:
        raise PredictionsError(
            f"{source}: {len(duplicated)} duplicated filename(s) (e.g. {_examples(duplicated)}); each video "
            "must appear once"
        )
    return names


def save_predictions(path: str | os.PathLike, filenames, frame_prob, video_prob) -> Path:
    """Write a predictions file (see the module docstring) atomically; return its path.

    frame_prob: (N, 10, 2, 25), video_prob: (N, 25), numpy or torch, stored as float32.
    """
    path = Path(path)
    frame_prob, video_prob = check_probabilities(frame_prob, video_prob, source=str(path))
    names = _check_filenames(filenames, frame_prob.shape[0], str(path))
    write_npz_atomically(
        path,
        filename=np.array(names, dtype=str),
        frame_prob=frame_prob.astype(np.float32),
        video_prob=video_prob.astype(np.float32),
    )
    return path


def write_npz_atomically(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """``np.savez_compressed(path, **arrays)`` through ``<name>.partial`` and a rename: a failed
    write (disk full, no permission) removes the partial file, leaves an existing ``path`` as it
    was and raises one UserError naming the file."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except OSError as err:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        raise UserError(
            f"{path}: cannot write ({err.strerror or err}); free disk space or make the folder "
            "writable, then run the same command again"
        ) from None
    except BaseException:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    return path


def load_predictions(path: str | os.PathLike) -> Predictions:
    """Read and validate a predictions file; errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise PredictionsError(
            f"{path}: no such predictions file (expected a .npz with keys {', '.join(PREDICTION_KEYS)})"
        )
    try:
        arrays = _read_npz(path)
    except PredictionsError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, MemoryError) as err:
        raise PredictionsError(
            f"{path}: not a readable .npz predictions file ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:160] if str(err) else 'no detail'})"
        ) from None
    frame_prob, video_prob = check_probabilities(arrays["frame_prob"], arrays["video_prob"], source=str(path))
    filename = arrays["filename"]
    if filename.ndim != 1 or filename.dtype.kind not in "US":
        raise PredictionsError(
            f"{path}: filename has shape {filename.shape} and dtype {filename.dtype}; expected (N,) strings"
        )
    names = _check_filenames(filename, frame_prob.shape[0], str(path))
    return Predictions(names, frame_prob, video_prob, path)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The three arrays of a predictions ``.npz``; each member's header is checked against its
    size before it is read (a forged shape never allocates), and pickles are refused."""
    from linkpaper.evaluation.npyfile import NpyHeaderError, check_npy_size, read_npy_header

    if not zipfile.is_zipfile(path):
        raise PredictionsError(
            f"{path}: not a readable .npz predictions file (not a zip archive); "
            f"expected keys {', '.join(PREDICTION_KEYS)} "
            "as written by linkpaper.evaluation.predictions.save_predictions or numpy.savez"
        )
    with zipfile.ZipFile(path) as archive:
        members = {name.removesuffix(".npy"): name for name in archive.namelist()}
        missing = [key for key in PREDICTION_KEYS if key not in members]
        if missing:
            raise PredictionsError(
                f"{path}: missing key(s) {', '.join(missing)}; found {', '.join(members) or 'none'} "
                f"(expected {', '.join(PREDICTION_KEYS)})"
            )
        headers = {}
        for key in PREDICTION_KEYS:  # every header first: a shape they show is refused before any read
            info = archive.getinfo(members[key])
            with archive.open(info) as member:
                try:
                    shape, fortran, dtype = read_npy_header(member)
                    check_npy_size(shape, dtype, info.file_size - member.tell())
                except NpyHeaderError as err:
                    raise PredictionsError(f"{path}: {key}: {err}") from None
            headers[key] = (info, shape, fortran, dtype)
        _check_header_shapes(path, {key: (shape, dtype) for key, (_, shape, _, dtype) in headers.items()})
        arrays = {}
        for key, (info, shape, fortran, dtype) in headers.items():
            with archive.open(info) as member:
                read_npy_header(member)
                data = member.read()
            array = np.frombuffer(data, dtype=dtype)
            arrays[key] = array.reshape(shape, order="F" if fortran else "C").copy()
    return arrays


MAX_ROWS = 100_000
"""The most videos a predictions file may hold (LLP has 11,849 in all): a header claiming more
is refused before its data is read (a small, highly compressed member can claim gigabytes)."""


def _check_header_shapes(path: Path, headers: dict[str, tuple[tuple, np.dtype]]) -> None:
    """The shapes and dtypes the three headers claim, checked against the module docstring's table
    (the same messages as :func:`check_probabilities`, before any data is read)."""
    shape, dtype = headers["filename"]
    if len(shape) != 1 or dtype.kind not in "US":
        raise PredictionsError(f"{path}: filename has shape {tuple(shape)} and dtype {dtype}; expected (N,) strings")
    for name, tail, text in (
        ("frame_prob", (NUM_SEGMENTS, 2, NUM_CLASSES), f"(N, {NUM_SEGMENTS}, 2, {NUM_CLASSES})"),
        ("video_prob", (NUM_CLASSES,), f"(N, {NUM_CLASSES})"),
    ):
        shape, dtype = headers[name]
        if dtype.fields is not None or dtype.kind != "f":
            raise PredictionsError(f"{path}: {name} has dtype {dtype}; expected floating-point probabilities")
        if len(shape) != len(tail) + 1 or tuple(shape[1:]) != tail:
            raise PredictionsError(f"{path}: {name} has shape {tuple(shape)}; expected {text}")
    rows = {key: shape[0] for key, (shape, _) in headers.items()}
    if rows["frame_prob"] != rows["video_prob"]:
        raise PredictionsError(
            f"{path}: frame_prob has {rows['frame_prob']} videos but video_prob has {rows['video_prob']}"
        )
    if rows["filename"] != rows["frame_prob"]:
        raise PredictionsError(f"{path}: {rows['filename']} filenames for {rows['frame_prob']} rows of probabilities")
    if rows["frame_prob"] > MAX_ROWS:
        raise PredictionsError(
            f"{path}: {rows['frame_prob']:,} videos (from its headers); a predictions file holds "
            f"one split of LLP, at most {MAX_ROWS:,} videos"
        )
