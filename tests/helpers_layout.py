"""Write small, valid VALOR-layout folders with random data, for tests that round-trip them.

``write_layout(tmp_path, names)`` returns every array it wrote, stacked in ``names`` order, so a
test can compare what ``linkpaper.data.features`` loads with what was written, or break one file
(``feature_path``) and check the error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from linkpaper.classes import CLASSES, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.features import SPLIT_CSV, TEXT_TABLE_FILES, VALOR_LAYOUT

AUDIO_SHAPES = {"maps": (64, 768), "pooled": (NUM_SEGMENTS, 768)}


def fake_filenames(count: int, prefix: str = "vid") -> list[str]:
    """``count`` LLP-style names ``<11-char id>_<start>_<end>`` (ids with ``_`` and ``-`` as in LLP)."""
    return [f"{prefix}-{i:04d}_x"[:11].ljust(11, "a") + f"_{i % 50}_{i % 50 + 10}" for i in range(count)]


def feature_path(root, stream: str, filename: str) -> Path:
    """Where ``stream``'s file of video ``filename`` lives under ``root``."""
    return Path(root) / VALOR_LAYOUT[stream] / f"{filename[:11]}.npy"


def write_split_csv(path, filenames, weak: np.ndarray) -> None:
    """A TAB-separated ``filename<TAB>event_labels`` file from (N, C) multi-hot labels."""
    lines = ["filename\tevent_labels"]
    for name, row in zip(filenames, weak):
        lines.append(f"{name}\t{','.join(CLASSES[c] for c in np.flatnonzero(row))}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")


def write_layout(
    root,
    filenames,
    audio_form: str = "pooled",
    seed: int = 0,
    ungated: bool = True,
    text_tables: bool = True,
    splits: dict[str, list[str]] | None = None,
    weak: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Write one ``.npy`` per video and stream under ``root``; return the arrays written.

    filenames: N full LLP names (ids are ``[:11]``). weak: optional (N, C) multi-hot labels (else
    1-3 random classes per video). Gated pseudo labels are random segments AND weak, so they
    respect the gating invariant; ungated ones add random off-label classes. splits: optional
    {split: [filenames]} written as ``root/splits/<AVVP csv>`` with the weak labels.
    Returns {stream: (N, ...) stacked as written (labels int64), "weak": (N, C) float32,
    "text_audio": (25, 512), "text_visual": (25, 768) when written, "filenames": list}.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    n = len(filenames)
    if weak is None:
        weak = np.zeros((n, NUM_CLASSES), np.float32)
        for i in range(n):
            weak[i, rng.choice(NUM_CLASSES, size=rng.integers(1, 4), replace=False)] = 1
    teacher = rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) < 0.3
    written: dict = {
        "audio": rng.standard_normal((n, *AUDIO_SHAPES[audio_form]), dtype=np.float32),
        "visual": rng.standard_normal((n, NUM_SEGMENTS, 768), dtype=np.float32),
        "visual_3d": rng.random((n, NUM_SEGMENTS, 512), dtype=np.float32),
        "pseudo_audio": (teacher & (weak[:, None, :] > 0)).astype(np.int64),
        "pseudo_visual": (np.roll(teacher, 1, axis=1) & (weak[:, None, :] > 0)).astype(np.int64),
    }
    if ungated:
        written["pseudo_audio_ungated"] = teacher.astype(np.int64)
        written["pseudo_visual_ungated"] = np.roll(teacher, 1, axis=1).astype(np.int64)
    for stream, stack in written.items():
        (root / VALOR_LAYOUT[stream]).mkdir(parents=True, exist_ok=True)
        for name, array in zip(filenames, stack):
            np.save(feature_path(root, stream, name), array)
    if text_tables:
        written["text_audio"] = rng.standard_normal((NUM_CLASSES, 512), dtype=np.float32)
        written["text_visual"] = rng.standard_normal((NUM_CLASSES, 768), dtype=np.float32)
        for modality, rel in TEXT_TABLE_FILES.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            np.save(root / rel, written[f"text_{modality}"])
    if splits:
        row = {name: i for i, name in enumerate(filenames)}
        for split, names in splits.items():
            write_split_csv(root / "splits" / SPLIT_CSV[split], names, weak[[row[m] for m in names]])
    written["weak"] = weak
    written["filenames"] = list(filenames)
    return written
