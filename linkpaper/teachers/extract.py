"""The resumable extraction loop: clips on disk -> the released VALOR layout (book/decisions.md#ref-feature-layout).

``run_extraction(config, clip_teacher, clap_teacher)`` finds the clips, loads frames / audio in
DataLoader workers, runs each teacher in batches of clips, and writes per clip (id = the first
11 characters of the file or folder name)::

    <out>/<T>/features/<id>.npy                        CLIP (10, 768); CLAP (64, 768) float32
    <out>/<T>/segment_logits/<id>.npy                  (10, 25) float32: scale x cosine
    <out>/<T>/segment_pseudo_labels_ungated/<id>.npy   (10, 25) int64: logit > threshold
    <out>/<T>/segment_pseudo_labels/<id>.npy           (10, 25) int64: ungated AND weak label
    <out>/text_tables/{clip,clap}_text.npy             (25, 768) / (25, 512) float32

``<T>`` is ``CLIP`` or ``CLAP``. Gated labels are written only for clips whose weak label is
known (a weak-label file was given and lists the clip). Every file is written atomically and
a clip counts as done when its features, logits and ungated labels exist, so an interrupted run
resumes where it stopped; a done clip that lacks gated labels (first run without weak labels)
gets them from its saved ungated labels, without running the model.
The teachers are duck-typed (see ``clip_teacher.CLIPTeacher`` / ``clap_teacher.CLAPTeacher``),
so tests can pass small random-weight ones.

``ExtractConfig.shard = (I, N)`` restricts a run to shard I of N of the clips
(``linkpaper.training.cluster.in_shard``: a hash of the clip id, so N jobs listing the folders on their
own still cover every clip exactly once). Shards write into the same layout; each writes its
own manifest, ``extract_manifest.shard-I-of-N.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.annotations import video_id
from linkpaper.data.layout import FEATURES, GATED, TEACHER_TEXT_TABLES, UNGATED, feature_file
from linkpaper.errors import UserError
from linkpaper.teachers.labels import THRESHOLDS, gate, pseudo_labels

LOGITS = "segment_logits"  # the extraction's own extra output (the thresholds can be re-applied)
TEXT_TABLES = TEACHER_TEXT_TABLES


@dataclass
class ExtractConfig:
    """What to extract. ``frames`` / ``audio``: input folders (either may be None, not both)."""

    out: Path
    frames: Path | None = None
    audio: Path | None = None
    labels: Path | None = None  # LLP weak-label file (TAB); None -> ungated labels only
    # clips per forward pass (CLIP: x10 images; CLAP: x11 10-s inputs). A clip's features can
    # differ in the last float bit with the batch it shares (BLAS blocking); 1 makes each
    # clip's files independent of the others, e.g. to compare a sharded run bit for bit.
    batch_size: int = 8
    workers: int = 0  # DataLoader workers decoding frames / audio
    overwrite: bool = False
    limit: int | None = None  # process at most this many clips per teacher (trial runs)
    shard: tuple[int, int] | None = None  # (I, N): only shard I of N of the clips (a job array)


@dataclass
class Clip:
    """One clip: its 11-char id, the name it was found under, and its inputs."""

    id: str
    name: str
    frames: Path | None = None
    audio: Path | None = None


@dataclass
class TeacherReport:
    """What one teacher did in a run."""

    teacher: str
    found: int = 0
    skipped_done: int = 0
    regated: int = 0  # done clips whose gated labels were added from their saved ungated ones
    extracted: int = 0
    gated: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    done: int = 0  # clips of this run whose files all exist at the end (done before or now)

    @property
    def missing(self) -> int:
        """Clips of this run that are neither done nor failed (e.g. left out by ``limit``)."""
        return self.found - self.done - len(self.failed)

    def summary(self, shard: tuple[int, int] | None = None) -> str:
        """One line: how many clips are done, missing or failed."""
        where = f" in shard {shard[0]}/{shard[1]}" if shard else ""
        return (
            f"{self.teacher}: {self.found} clips{where}: {self.done} done, {self.missing} missing, "
            f"{len(self.failed)} failed"
        )


def find_clips(frames_dir: Path | None, audio_dir: Path | None) -> dict[str, Clip]:
    """Clips keyed by id11: frame folders ``frames_dir/<name>/`` and audio files ``audio_dir/<name>.<ext>``."""
    from linkpaper.teachers.audio import find_audio

    clips: dict[str, Clip] = {}

    def add(name: str, path: Path, kind: str) -> None:
        clip_id = video_id(name)
        clip = clips.setdefault(clip_id, Clip(clip_id, name))
        previous = getattr(clip, kind)
        if previous is not None:
            raise UserError(
                f"{previous} and {path} give the same clip id {clip_id!r} (the first 11 "
                "characters of the name); keep one of them"
            )
        setattr(clip, kind, path)

    for folder, option in ((frames_dir, "--frames"), (audio_dir, "--audio")):
        if folder is not None and not Path(folder).is_dir():
            raise UserError(f"{option} {folder}: not a directory")
    if frames_dir is not None:
        for path in sorted(Path(frames_dir).iterdir()):
            if path.is_dir():
                add(path.name, path, "frames")
    if audio_dir is not None:
        for path in find_audio(audio_dir):
            add(path.stem, path, "audio")
    return dict(sorted(clips.items()))


def read_weak_table(path: Path | None) -> dict[str, np.ndarray]:
    """LLP weak-label file -> {id11: (25,) float32 multi-hot}; {} when ``path`` is None."""
    if path is None:
        return {}
    from linkpaper.data.annotations import read_weak_labels

    weak = read_weak_labels(path)
    return {video_id(name): row for name, row in zip(weak.filenames, weak.labels)}


def select_clips(clips: dict[str, Clip], shard: tuple[int, int] | None) -> dict[str, Clip]:
    """The clips of shard ``(I, N)`` (all of them for None), keyed and ordered as given."""
    if shard is None:
        return dict(clips)
    from linkpaper.training.cluster import in_shard

    return {cid: clip for cid, clip in clips.items() if in_shard(cid, *shard)}


def is_done(out: Path, teacher: str, clip_id: str) -> bool:
    """Whether a clip's features, logits and ungated labels for ``teacher`` are all on disk."""
    return all(p.is_file() for p in expected_outputs(out, teacher, clip_id, has_weak=False))


def manifest_name(shard: tuple[int, int] | None) -> str:
    """``extract_manifest.json``, or one file per shard so that shards never overwrite each other."""
    return "extract_manifest.json" if shard is None else f"extract_manifest.shard-{shard[0]}-of-{shard[1]}.json"


def output_path(out: Path, teacher: str, kind: str, clip_id: str) -> Path:
    return Path(out) / teacher / kind / feature_file(clip_id)


def _writer_tag() -> str:
    """Host and pid: unique among the shard jobs that may write the same file (the text tables)
    side by side on a shared file system."""
    import socket

    return f"{socket.gethostname()}.{os.getpid()}"


def save_atomic(path: Path, array: np.ndarray) -> None:
    """np.save through a temporary file and a rename, so a killed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{_writer_tag()}.tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def expected_outputs(out: Path, teacher: str, clip_id: str, has_weak: bool) -> list[Path]:
    kinds = [FEATURES, LOGITS, UNGATED] + ([GATED] if has_weak else [])
    return [output_path(out, teacher, kind, clip_id) for kind in kinds]


def write_clip(
    out: Path,
    teacher: str,
    clip_id: str,
    features: np.ndarray,
    segment_emb: np.ndarray,
    text_table: np.ndarray,
    logit_scale: float,
    weak: np.ndarray | None,
) -> bool:
    """Write one clip's four files; return True if gated labels were written.

    features: (10 | 64, 768) the model input; segment_emb: (10, D) L2-normalised joint-space
    embeddings; text_table: (25, D) L2-normalised; logits = logit_scale * segment_emb @ text_table.T.
    """
    logits = (logit_scale * segment_emb.astype(np.float64) @ text_table.astype(np.float64).T).astype(np.float32)
    ungated, gated = pseudo_labels(logits, THRESHOLDS[teacher], weak)
    # the features go last: resuming keys on all files existing, so order only limits rework
    save_atomic(output_path(out, teacher, LOGITS, clip_id), logits)
    save_atomic(output_path(out, teacher, UNGATED, clip_id), ungated)
    if gated is not None:
        save_atomic(output_path(out, teacher, GATED, clip_id), gated)
    save_atomic(output_path(out, teacher, FEATURES, clip_id), np.ascontiguousarray(features, dtype=np.float32))
    return gated is not None


class _FrameClips(Dataset):
    """Item i -> (id, (10, 3, S, S) images or None, error message or None)."""

    def __init__(self, clips: list[Clip], image_size: int):
        self.clips, self.image_size = clips, image_size

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i):
        from linkpaper.teachers.frames import load_clip_frames

        clip = self.clips[i]
        try:
            return clip.id, load_clip_frames(clip.frames, self.image_size)[0], None
        except UserError as err:
            return clip.id, None, str(err)


class _AudioClips(Dataset):
    """Item i -> (id, (N,) 48 kHz waveform or None, error message or None)."""

    def __init__(self, clips: list[Clip]):
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i):
        from linkpaper.teachers.audio import load_waveform

        clip = self.clips[i]
        try:
            return clip.id, load_waveform(clip.audio), None
        except UserError as err:
            return clip.id, None, str(err)


def _run_teacher(
    teacher, name: str, clips: list[Clip], make_dataset, config: ExtractConfig, weak_table: dict[str, np.ndarray]
) -> TeacherReport:
    report = TeacherReport(name, found=len(clips))
    text_table = np.asarray(teacher.text_table(), dtype=np.float32)
    if text_table.shape[0] != NUM_CLASSES:
        raise ValueError(f"{name} text table has shape {text_table.shape}, expected ({NUM_CLASSES}, D)")
    save_atomic(Path(config.out) / TEXT_TABLES[name], text_table)
    todo = []
    for clip in clips:
        paths = expected_outputs(config.out, name, clip.id, has_weak=False)
        if config.overwrite or not all(p.is_file() for p in paths):
            todo.append(clip)
            continue
        report.skipped_done += 1
        gated_path = output_path(config.out, name, GATED, clip.id)
        if clip.id in weak_table and not gated_path.is_file():  # e.g. a first run without weak labels
            ungated = np.load(output_path(config.out, name, UNGATED, clip.id))
            save_atomic(gated_path, gate(ungated, weak_table[clip.id]))
            report.regated += 1
    if config.limit is not None:
        todo = todo[: config.limit]
    if todo:
        _extract_todo(teacher, name, todo, make_dataset, config, weak_table, text_table, report)
    report.done = sum(clip.id not in report.failed and is_done(config.out, name, clip.id) for clip in clips)
    return report


def _extract_todo(teacher, name, todo, make_dataset, config, weak_table, text_table, report) -> None:
    loader = DataLoader(
        make_dataset(todo), batch_size=config.batch_size, num_workers=config.workers, collate_fn=list, shuffle=False
    )
    scale = float(teacher.logit_scale)
    with tqdm(total=len(todo), desc=f"{name} teacher", unit="clip") as bar:
        for batch in loader:
            good = [(cid, x) for cid, x, err in batch if err is None]
            for cid, _, err in batch:
                if err is not None:
                    report.failed[cid] = err
                    tqdm.write(f"skipped {cid}: {err}")
            if good:
                with torch.inference_mode():
                    features, segment_emb = teacher.encode_clips([x for _, x in good])
                for (cid, _), feat, emb in zip(good, features, segment_emb):
                    weak = weak_table.get(cid)
                    report.gated += write_clip(config.out, name, cid, feat, emb, text_table, scale, weak)
                    report.extracted += 1
            bar.update(len(batch))


def run_extraction(config: ExtractConfig, clip_teacher=None, clap_teacher=None) -> list[TeacherReport]:
    """Extract with whichever teachers are given (CLIP needs ``config.frames``, CLAP ``config.audio``).

    Returns one ``TeacherReport`` per teacher; also writes ``<out>/extract_manifest.json``
    (``extract_manifest.shard-I-of-N.json`` for a shard).
    """
    if (clip_teacher is None) != (config.frames is None) or (clap_teacher is None) != (config.audio is None):
        raise ValueError("pass a CLIP teacher exactly when frames are given, a CLAP one exactly when audio is")
    clips = select_clips(find_clips(config.frames, config.audio), config.shard)
    weak_table = read_weak_table(config.labels)
    Path(config.out).mkdir(parents=True, exist_ok=True)
    reports = []
    if clip_teacher is not None:
        with_frames = [c for c in clips.values() if c.frames is not None]
        reports.append(
            _run_teacher(
                clip_teacher,
                "CLIP",
                with_frames,
                lambda todo: _FrameClips(todo, clip_teacher.image_size),
                config,
                weak_table,
            )
        )
    if clap_teacher is not None:
        with_audio = [c for c in clips.values() if c.audio is not None]
        reports.append(_run_teacher(clap_teacher, "CLAP", with_audio, _AudioClips, config, weak_table))
    manifest = {
        "labels": None if config.labels is None else str(config.labels),
        "teachers": {
            name: t.describe() for name, t in (("CLIP", clip_teacher), ("CLAP", clap_teacher)) if t is not None
        },
        "segments": NUM_SEGMENTS,
        "shard": None if config.shard is None else list(config.shard),
        "reports": [{**vars(r), "missing": r.missing} for r in reports],
    }
    save_text_atomic(Path(config.out) / manifest_name(config.shard), json.dumps(manifest, indent=2, default=str))
    return reports


def save_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` through a temporary file and a rename (shards may write side by side)."""
    tmp = path.with_name(f".{path.name}.{_writer_tag()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
