"""The released VALOR feature layout on disk -> validated ``AVVPSplit`` tensors, with a fast cache.

The layout (folders, shapes, dtypes) is defined once, in :mod:`linkpaper.data.layout`
(book/decisions.md#ref-feature-layout); SynthLLP and the teacher extraction write it.

Every file is validated on the first load (exists, is a readable .npy, shape, dtype, finite,
labels in {0, 1}); all problems are collected and reported in one ``FeatureError``. The stacked
streams are then written to a memory-mapped cache keyed by the file list and each file's size
and mtime, so the second load opens a handful of arrays instead of tens of thousands of files.
Dense ground truth always comes from the official eval CSVs in the data directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.annotations import (
    DENSE_SPLITS,
    AnnotationError,
    annotation_path,
    dense_ground_truth,
    read_dense_events,
    read_weak_labels,
    video_id,
)
from linkpaper.data.download import sha256_of
from linkpaper.data.files import ANNOTATION_FILES
from linkpaper.data.layout import (
    LABEL_STREAMS,
    OPTIONAL_STREAMS,
    SPLIT_CSV,
    SPLITS_DIR,
    TEXT_TABLE_FILES,
    TEXT_TABLES_DIR,
    VALOR_LAYOUT,
    feature_file,
)
from linkpaper.data.split import AVVPData, AVVPSplit
from linkpaper.errors import UserError
from linkpaper.safe_io import parse_json

AUDIO_SHAPES: dict[str, tuple[int, int]] = {"maps": (64, 768), "pooled": (NUM_SEGMENTS, 768)}
FIXED_SHAPES: dict[str, tuple[int, int]] = {
    "visual": (NUM_SEGMENTS, 768),
    "visual_3d": (NUM_SEGMENTS, 512),
    **{name: (NUM_SEGMENTS, NUM_CLASSES) for name in LABEL_STREAMS},
}
CACHE_DIRNAME = ".linkpaper-cache"
CACHE_VERSION = 1
MAX_LISTED = 3  # paths shown per kind of problem


_FIX_HINT = "Fix or re-extract those files"
_FIX_HINT_REST = " (python -m linkpaper extract, or re-download the release); see the layout in linkpaper.data.layout."
SYNTH_PROVENANCE = "synthllp.json"
SYNTH_PARTIAL = "synthllp.partial.json"
"""``python -m linkpaper synth`` writes ``synthllp.partial.json`` first and ``synthllp.json`` last."""
SYNTH_PROVENANCE_COPY = f"{TEXT_TABLES_DIR}/{SYNTH_PROVENANCE}"
"""A second copy of the provenance (``synth`` writes both): a folder whose ``synthllp.json`` was
removed is still recorded as synthetic, never as real LLP features."""


class FeatureError(UserError, ValueError):
    """Missing or malformed feature files; the message counts each kind of problem and names files."""


# --------------------------------------------------------------------------- validation


class Problems:
    """Collects every problem of a load so one error can report them all at once."""

    def __init__(self) -> None:
        self.by_stream: dict[str, dict[str, list[str]]] = {}

    def add(self, stream: str, kind: str, detail: str) -> None:
        self.by_stream.setdefault(stream, {}).setdefault(kind, []).append(detail)

    def __bool__(self) -> bool:
        return bool(self.by_stream)

    def count(self) -> int:
        return sum(len(v) for kinds in self.by_stream.values() for v in kinds.values())

    def message(self, root: Path, split: str, total: int) -> str:
        count = self.count()
        lines = [f"{root}: {count} problem{'s' if count != 1 else ''} in the {split} features ({total} videos):"]
        for stream, kinds in self.by_stream.items():
            parts = []
            for kind, details in kinds.items():
                shown = "; ".join(details[:MAX_LISTED])
                more = f"; ... {len(details) - MAX_LISTED} more" if len(details) > MAX_LISTED else ""
                noun = "file" if len(details) == 1 else "files"
                parts.append(f"{len(details)} {noun} {kind} (first: {shown}{more})")
            lines.append(f"  {stream}: " + ", ".join(parts))
        lines.append(_FIX_HINT + _FIX_HINT_REST)
        return "\n".join(lines)


def _load_npy(path: Path) -> np.ndarray:
    """np.load without pickles; every failure becomes one short ``ValueError`` line."""
    from linkpaper.evaluation.npyfile import NpyHeaderError, check_npy_size, read_npy_header

    with open(path, "rb") as f:  # FileNotFoundError propagates: the caller reports "missing"
        if f.read(6) != b"\x93NUMPY":
            raise ValueError("not a .npy file: no NUMPY header")
        f.seek(0)
        try:  # the header's shape must fit the file before anything is allocated
            shape, _, dtype = read_npy_header(f)
            check_npy_size(shape, dtype, os.fstat(f.fileno()).st_size - f.tell())
        except NpyHeaderError as err:
            raise ValueError(str(err)) from None
    try:
        return np.load(path, allow_pickle=False)
    except Exception as err:  # truncated data, bad header, pickled objects
        raise ValueError(f"unreadable .npy: {type(err).__name__}: {err}".splitlines()[0][:160]) from None


def _check_array(array: np.ndarray, stream: str, expected: tuple[int, ...]) -> tuple[str, str] | None:
    """(kind, detail) of the first problem of one per-video array, or None when it is valid."""
    if array.shape != expected:
        return "wrong shape", f"has {tuple(array.shape)}, expected {expected}"
    if stream in LABEL_STREAMS:
        if not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
            return "wrong dtype", f"has {array.dtype}, expected integer or bool labels"
        if array.dtype != np.bool_ and not np.isin(array, (0, 1)).all():
            found = np.unique(array[~np.isin(array, (0, 1))])[:5].tolist()
            return "labels outside {0,1}", f"has values {found}"
    else:
        if array.dtype != np.float32:
            return "wrong dtype", f"has {array.dtype}, expected float32"
        if not np.isfinite(array).all():
            return "non-finite", f"has {int((~np.isfinite(array)).sum())} NaN/inf values"
    return None


def _read_header_shape(path: Path) -> tuple[int, ...] | None:
    """The shape stored in a .npy header without reading the data (None if unreadable)."""
    try:
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, _ = read_header(f)
        return tuple(shape)
    except Exception:
        return None


def _resolve_audio_form(audio_form: str, audio_dir: Path, ids: list[str]) -> str:
    """``maps`` or ``pooled``; with ``auto``, the form of the first readable audio file."""
    if audio_form in AUDIO_SHAPES:
        return audio_form
    if audio_form != "auto":
        raise FeatureError(f"audio_form={audio_form!r}: expected 'auto', 'maps' or 'pooled'")
    for vid in ids:
        shape = _read_header_shape(audio_dir / feature_file(vid))
        for form, expected in AUDIO_SHAPES.items():
            if shape == expected:
                return form
    return "pooled"  # nothing readable: every file will be reported anyway


# --------------------------------------------------------------------------- cache


def _streams_present(root: Path) -> list[str]:
    """The streams to load: the five required ones plus the optional ones whose folder exists."""
    return [s for s in VALOR_LAYOUT if s not in OPTIONAL_STREAMS or (root / VALOR_LAYOUT[s]).is_dir()]


def _cache_key(root: Path, split: str, ids: list[str], streams: list[str], audio_form: str) -> str:
    """Hash of the file list plus each file's size and mtime: any change gives a new key."""
    digest = hashlib.sha256(f"v{CACHE_VERSION}|{split}|{audio_form}|{','.join(streams)}".encode())
    for stream in streams:
        folder = root / VALOR_LAYOUT[stream]
        for vid in ids:
            try:
                st = os.stat(folder / feature_file(vid))
                stamp = f"{st.st_size}:{st.st_mtime_ns}"
            except OSError:
                stamp = "missing"
            digest.update(f"{stream}/{vid}={stamp};".encode())
    return digest.hexdigest()[:20]


def _writable_dir(path: Path) -> bool:
    """True when ``path`` can be created and written to (checked by writing a probe file)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def _cache_base(root: Path, cache_dir: str | os.PathLike | None) -> Path | None:
    """Where caches go: ``cache_dir``, else ``<root>/.linkpaper-cache``, else the user cache."""
    tag = f"{root.resolve().name}-{hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:12]}"  # any bytes
    if cache_dir is not None:  # shared by several feature folders: one sub-folder per root
        mine = Path(cache_dir).expanduser() / tag
        if not _writable_dir(mine):
            raise FeatureError(f"cache_dir {cache_dir}: cannot create or write {mine}; pass a writable folder")
        return mine
    local = root / CACHE_DIRNAME
    if _writable_dir(local):
        return local
    fallback = Path.home() / ".cache" / "linkpaper" / "features" / tag
    if _writable_dir(fallback):
        warnings.warn(f"{root} is read-only; caching the stacked features in {fallback}", stacklevel=3)
        return fallback
    warnings.warn(f"{root} and {fallback} are not writable: loading without a cache (slow)", stacklevel=3)
    return None


@dataclass
class _Stacked:
    """The stacked arrays of one split, as loaded or as opened from the cache."""

    arrays: dict[str, np.ndarray]
    audio_form: str
    from_cache: bool


def _open_cache(folder: Path, ids: list[str]) -> _Stacked | None:
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("ids") != ids:
            return None
        arrays = {s: np.load(folder / f"{s}.npy", mmap_mode="c") for s in meta["streams"]}
    except (OSError, ValueError, KeyError):
        return None
    return _Stacked(arrays, meta["audio_form"], from_cache=True)


def _finish_cache(tmp: Path, final: Path, meta: dict) -> None:
    """Write meta.json last and rename the folder into place (atomic: no half-written cache)."""
    (tmp / "meta.json").write_text(json.dumps(meta))
    for stale in final.parent.glob(f"{meta['split']}-*"):
        if stale not in (tmp, final) and stale.is_dir() and ".tmp-" not in stale.name:
            shutil.rmtree(stale, ignore_errors=True)  # an older key of the same split
    try:
        os.replace(tmp, final)
    except OSError:  # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- loading


def _read_all(
    root: Path,
    split: str,
    ids: list[str],
    streams: list[str],
    audio_form: str,
    out_dir: Path | None,
    progress: bool,
) -> dict[str, np.ndarray]:
    """Read, validate and stack every file; raise one ``FeatureError`` listing all problems.

    With ``out_dir`` the stacks are written straight into ``.npy`` memmaps there (no second copy
    in memory); without it they are plain arrays.
    """
    from tqdm.auto import tqdm

    shapes = {s: AUDIO_SHAPES[audio_form] if s == "audio" else FIXED_SHAPES[s] for s in streams}
    stacks: dict[str, np.ndarray] = {}
    for stream in streams:
        shape = (len(ids), *shapes[stream])
        if out_dir is not None:
            stacks[stream] = np.lib.format.open_memmap(out_dir / f"{stream}.npy", "w+", np.float32, shape)
        else:
            stacks[stream] = np.empty(shape, np.float32)

    problems = Problems()
    for stream in streams:
        if not (root / VALOR_LAYOUT[stream]).is_dir():
            problems.add(VALOR_LAYOUT[stream], "missing", f"the whole folder {root / VALOR_LAYOUT[stream]}")
    bad_streams = set(problems.by_stream)
    bar = tqdm(
        ids,
        desc=f"{split}: reading {len(ids)} videos x {len(streams)} streams",
        disable=not progress,
        unit="video",
        leave=False,
    )
    for n, vid in enumerate(bar):
        for stream in streams:
            subdir = VALOR_LAYOUT[stream]
            if subdir in bad_streams:
                continue
            path = root / subdir / feature_file(vid)
            try:
                array = _load_npy(path)
            except FileNotFoundError:
                problems.add(subdir, "missing", str(path))
                continue
            except ValueError as err:
                problems.add(subdir, "corrupt", f"{path} ({err})")
                continue
            except OSError as err:  # a folder in place of a file, no read permission, I/O error
                problems.add(subdir, "unreadable", f"{path} ({err.strerror or err})")
                continue
            issue = _check_array(array, stream, shapes[stream])
            if stream == "audio" and issue and issue[0] == "wrong shape" and array.shape in AUDIO_SHAPES.values():
                issue = ("wrong shape", issue[1] + f" (audio_form={audio_form!r}: one form per split)")
            if issue:
                problems.add(subdir, issue[0], f"{path} {issue[1]}")
                continue
            stacks[stream][n] = array
    bar.close()
    if problems:
        raise FeatureError(problems.message(root, split, len(ids)))
    for array in stacks.values():
        if isinstance(array, np.memmap):
            array.flush()
    return stacks


def _stacked_streams(root, split, ids, audio_form, cache, cache_dir, progress) -> _Stacked:
    streams = _streams_present(root)
    form = _resolve_audio_form(audio_form, root / VALOR_LAYOUT["audio"], ids)
    base = _cache_base(root, cache_dir) if cache else None
    if base is None:
        return _Stacked(_read_all(root, split, ids, streams, form, None, progress), form, False)
    key = _cache_key(root, split, ids, streams, audio_form)
    final = base / f"{split}-{key}"
    hit = _open_cache(final, ids)
    if hit is not None:
        return hit
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f"{split}-{key}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _read_all(root, split, ids, streams, form, tmp, progress)
        meta = {
            "split": split,
            "key": key,
            "ids": ids,
            "streams": streams,
            "audio_form": form,
            "version": CACHE_VERSION,
        }
        _finish_cache(tmp, final, meta)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # interrupted or invalid: leave nothing behind
        raise
    hit = _open_cache(final, ids)
    if hit is None:  # pragma: no cover - the rename raced with a delete
        raise FeatureError(f"{final}: the feature cache vanished while loading; run again")
    hit.from_cache = False
    return hit


def split_csv_path(root: str | os.PathLike, split: str, data_dir=None) -> Path:
    """The split list used: ``<root>/splits/<file>`` when present, else the LLP annotation CSV."""
    if split not in SPLIT_CSV:
        raise FeatureError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_CSV)}")
    local = Path(root) / SPLITS_DIR / SPLIT_CSV[split]
    return local if local.is_file() else annotation_path(split, data_dir)


def _gating_violations(pseudo: np.ndarray, weak: np.ndarray) -> int:
    """Videos whose gated labels (N, T, C) switch on a class outside their weak labels (N, C)."""
    outside = np.asarray(pseudo, dtype=np.float32) > weak[:, None, :]
    return int(outside.any(axis=(1, 2)).sum())


def load_split(
    root: str | os.PathLike,
    split: str,
    data_dir: str | os.PathLike | None = None,
    audio_form: str = "auto",
    cache: bool = True,
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> AVVPSplit:
    """Load one split (``train``, ``val`` or ``test``) of the VALOR layout under ``root``.

    Returns an ``AVVPSplit`` whose streams are float32 tensors: audio (N, 64, 768) or (N, 10, 768)
    (``audio_form`` "maps" / "pooled"; "auto" takes whichever the files hold, one form per split),
    visual (N, 10, 768), visual_3d (N, 10, 512), pseudo labels (N, 10, 25) in {0, 1}, weak (N, 25),
    and for val/test dense ground truth (N, 10, 25) bool from the eval CSVs in ``data_dir``.
    Raises ``FeatureError`` listing every problem at once. The first load writes a memory-mapped
    cache (``<root>/.linkpaper-cache`` or ``cache_dir``); later loads open it, copy-on-write.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FeatureError(
            f"{root}: the features folder does not exist (expected the VALOR layout: "
            f"{', '.join(VALOR_LAYOUT[s] for s in VALOR_LAYOUT if s not in OPTIONAL_STREAMS)})"
        )
    csv_path = split_csv_path(root, split, data_dir)
    try:
        weak = read_weak_labels(csv_path)
    except ValueError as err:  # an unknown class name surfaces as a plain ValueError
        if isinstance(err, UserError):
            raise
        raise AnnotationError(str(err)) from None
    ids = [video_id(name) for name in weak.filenames]
    stacked = _stacked_streams(root, split, ids, audio_form, cache, cache_dir, progress)
    tensors = {name: torch.from_numpy(array) for name, array in stacked.arrays.items()}

    for stream in LABEL_STREAMS[:2]:
        violations = _gating_violations(stacked.arrays[stream], weak.labels)
        if violations:
            warnings.warn(
                f"{root / VALOR_LAYOUT[stream]}: {violations} of {len(ids)} {split} videos have gated pseudo "
                "labels outside their weak labels (expected gated = teacher AND weak)",
                stacklevel=2,
            )
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
        **tensors,
    )


def _text_tables(root: Path, data_dir, text_table) -> tuple[torch.Tensor | None, torch.Tensor | None, str]:
    """(text_audio (25, D_a), text_visual (25, D_v), source) following ``load_llp``'s rule."""
    from linkpaper.data.text_tables import glove_table, load_text_table

    if text_table == "none":
        return None, None, "none"
    if text_table is None:
        paths = {m: root / rel for m, rel in TEXT_TABLE_FILES.items()}
        if all(p.is_file() for p in paths.values()):
            audio, audio_src = load_text_table(paths["audio"])
            visual, visual_src = load_text_table(paths["visual"])
            return torch.from_numpy(audio), torch.from_numpy(visual), f"text_tables: {audio_src}, {visual_src}"
        text_table = "glove"
    if text_table == "glove":
        table, source = glove_table(data_dir)
    else:
        table, source = load_text_table(text_table)
    tensor = torch.from_numpy(table)
    return tensor, tensor.clone(), f"{source} (both modalities)"


def load_llp(
    root: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    audio_form: str = "auto",
    text_table: str | os.PathLike | None = None,
    cache: bool = True,
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> AVVPData:
    """All three LLP splits from the VALOR layout at ``root`` plus class text tables.

    ``text_table``: None (``root/text_tables/{clap,clip}_text.npy`` when both exist, else the LEAP
    GloVe table for both modalities), ``"glove"``, ``"none"``, or a .npy/.pt path used for both.
    ``source`` records the root, the sha256 of every annotation CSV used and the audio form.
    """
    root = Path(root).expanduser()
    synthetic = synth_provenance(root)
    splits, failures = {}, []
    for name in SPLIT_CSV:  # every split's problems are reported together, in one error
        try:
            splits[name] = load_split(
                root, name, data_dir, audio_form, cache=cache, progress=progress, cache_dir=cache_dir
            )
        except FeatureError as err:
            failures.append(str(err))
    if failures:
        lines = [line for failure in failures for line in failure.splitlines() if not line.startswith(_FIX_HINT)]
        raise FeatureError("\n".join(lines + [_FIX_HINT + _FIX_HINT_REST]))
    forms = {s.audio_form for s in splits.values()}
    if len(forms) > 1:
        raise FeatureError(
            f"{root / VALOR_LAYOUT['audio']}: splits mix audio forms "
            f"({', '.join(f'{n}={s.audio_form}' for n, s in splits.items())}); use one form"
        )
    used = [split_csv_path(root, name, data_dir) for name in SPLIT_CSV]
    used += [annotation_path("eval_audio", data_dir), annotation_path("eval_visual", data_dir)]
    checksums = {}
    for path in used:
        label = f"{SPLITS_DIR}/{path.name}" if path.parent == root / SPLITS_DIR else path.name
        checksums[label] = sha256_of(path)
    pinned = {spec.relpath.split("/")[-1]: spec.sha256 for spec in ANNOTATION_FILES.values()}
    text_audio, text_visual, text_source = _text_tables(root, data_dir, text_table)
    source = {
        "kind": "llp",
        "root": str(root.resolve()),
        "checksums": checksums,
        "official_annotations": all(pinned.get(k) == v for k, v in checksums.items()),
        "audio_form": forms.pop(),
        "text_source": text_source,
    }
    ungated = ungated_label_check(root, splits)
    if ungated is not None:
        source["ungated_labels"] = ungated
    if synthetic is not None:  # SynthLLP written by `synth`: say so in every record and caption
        source = {**synthetic, **source, "kind": "synth", "read_from": f"llp:{root}"}
    return AVVPData(
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        text_audio=text_audio,
        text_visual=text_visual,
        text_source=text_source,
        source=source,
    )


def synth_provenance(root: Path) -> dict | None:
    """The ``synthllp.json`` provenance of a folder ``python -m linkpaper synth`` wrote, else None.

    A folder whose write did not finish (``synthllp.partial.json``) or whose provenance is not
    readable raises FeatureError: its files may be a mix of generations.
    """
    if (root / SYNTH_PARTIAL).exists():
        raise FeatureError(
            f"{root}: an unfinished SynthLLP write ({SYNTH_PARTIAL} is there, {SYNTH_PROVENANCE} is not); "
            "run the same 'python -m linkpaper synth --out' command again to finish it"
        )
    path = root / SYNTH_PROVENANCE
    if not path.exists():
        path = root / SYNTH_PROVENANCE_COPY  # synthllp.json removed: the copy still says what it is
        if not path.exists():
            return None
    try:
        provenance = parse_json(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as err:  # (UnicodeDecodeError and JSON limits are ValueErrors)
        raise FeatureError(
            f"{path}: unreadable SynthLLP provenance ({str(err).splitlines()[0][:200]}); write "
            "the folder again with 'python -m linkpaper synth --out ... --overwrite'"
        ) from None
    if not isinstance(provenance, dict) or provenance.get("kind") != "synth":
        raise FeatureError(
            f"{path}: not a SynthLLP provenance record (no kind 'synth'); write the folder again "
            "with 'python -m linkpaper synth --out ... --overwrite'"
        )
    return provenance


UNGATED_CHECK_SPLITS = ("val", "test")


def ungated_label_check(root: Path, splits: dict[str, AVVPSplit]) -> dict | None:
    """Whether the ``*_ungated`` labels of val/test are really ungated; warns when they are not.

    Released gated labels are AND-ed with the ground-truth video labels; real ungated teacher
    labels switch on some class outside the weak labels in some video. Returns, per split and
    modality, the number of videos whose ungated labels do (None without ungated folders), and
    ``looks_gated``: the folders where no video of a split does (a leak if PLSIM reads them).
    """
    result: dict = {"videos_outside_weak": {}, "looks_gated": []}
    for name in UNGATED_CHECK_SPLITS:
        split = splits[name]
        for stream in ("pseudo_audio_ungated", "pseudo_visual_ungated"):
            labels = getattr(split, stream)
            if labels is None or len(split) == 0:
                continue
            outside = _gating_violations(labels.numpy(), split.weak.numpy())
            result["videos_outside_weak"].setdefault(name, {})[VALOR_LAYOUT[stream]] = outside
            if outside == 0:
                result["looks_gated"].append(f"{name}: {VALOR_LAYOUT[stream]}")
                warnings.warn(
                    f"{root / VALOR_LAYOUT[stream]}: no {name} video has an ungated label outside its weak "
                    f"labels ({len(split)} videos), so these labels look gated by the ground-truth video labels; "
                    "PLSIM reading them would see the answers. Re-extract them (python -m linkpaper extract) or "
                    "train with --plsim-labels self. The run record notes it (data.source.ungated_labels).",
                    stacklevel=3,
                )
    return result if result["videos_outside_weak"] else None
