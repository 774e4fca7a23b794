"""Class text tables: one (C, D) embedding per class, the "text" side PLSIM compares against.

Two sources exist:

* ``<features>/text_tables/clap_text.npy`` (25, D_a) and ``clip_text.npy`` (25, D_v), written by
  ``python -m linkpaper extract`` (CLAP / CLIP text embeddings of the class prompts);
* the LEAP GloVe table ``leap/llp_label_glove_embeddings.pt`` (book/decisions.md#ref-leap-glove): a
  torch-saved OrderedDict of 25 float32 (300,) tensors in class order, keyed by
  ``linkpaper.classes.GLOVE_KEYS``. It is the fallback for both modalities.

Every table is returned as a float32 numpy array of shape (C, D) in ``CLASSES`` order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from linkpaper.classes import GLOVE_KEYS, NUM_CLASSES
from linkpaper.errors import UserError


class TextTableError(UserError, ValueError):
    """A class text table that cannot be read or has the wrong shape; the message names the file."""


def _from_mapping(table: dict, path: Path) -> np.ndarray:
    """Stack a {class key: (D,) tensor} mapping in class order (LEAP's OrderedDict format)."""
    if len(table) != NUM_CLASSES:
        raise TextTableError(f"{path}: a mapping of {len(table)} entries, expected one per class ({NUM_CLASSES})")
    keys = list(table)
    if set(keys) == set(GLOVE_KEYS):
        keys = list(GLOVE_KEYS)  # trust the names over the stored order
    rows = []
    for key in keys:
        value = table[key]
        row = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if row.ndim != 1:
            raise TextTableError(f"{path}: entry {key!r} has shape {tuple(row.shape)}, expected a vector (D,)")
        rows.append(row)
    if len({row.shape for row in rows}) != 1:
        raise TextTableError(f"{path}: entries have different lengths {sorted({r.shape[0] for r in rows})}")
    return np.stack(rows)


class TextTable(NamedTuple):
    """What :func:`load_text_table` and :func:`glove_table` return: ``(table, source)``, the class
    table and the file (or table) name and shape it came from."""

    table: np.ndarray  # (C, D) float32, one row per class
    source: str  # the file (or table) name and shape, for captions


def load_text_table(path: str | os.PathLike) -> TextTable:
    """Read a class text table from ``.npy`` or ``.pt``; return a :class:`TextTable`
    ``(table, source)``: (C, D) float32 and a source string.

    A ``.pt`` file may hold a (C, D) tensor or LEAP's OrderedDict of C (D,) tensors; it is read
    with ``torch.load(weights_only=True)``, so no pickled code runs. Raises ``TextTableError``
    naming the file for a missing, unreadable, mis-shaped or non-finite table.
    """
    path = Path(path)
    if not path.is_file():
        raise TextTableError(f"{path}: text table file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            table = np.load(path, allow_pickle=False)
        elif suffix in (".pt", ".pth"):
            import torch

            loaded = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(loaded, dict):
                table = _from_mapping(loaded, path)
            elif isinstance(loaded, torch.Tensor):
                table = loaded.detach().cpu().numpy()
            else:
                raise TextTableError(
                    f"{path}: holds a {type(loaded).__name__}, expected a (25, D) tensor or a mapping "
                    "of 25 (D,) tensors"
                )
        else:
            raise TextTableError(f"{path}: unknown text table format {suffix!r} (use .npy or .pt)")
    except TextTableError:
        raise
    except Exception as err:  # corrupt or truncated file: one clear line, never a deep traceback
        raise TextTableError(f"{path}: cannot read the text table ({type(err).__name__}: {err})") from None
    table = np.asarray(table)
    if table.ndim != 2 or table.shape[0] != NUM_CLASSES:
        raise TextTableError(f"{path}: shape {tuple(table.shape)}, expected ({NUM_CLASSES}, D): one row per class")
    if not np.issubdtype(table.dtype, np.number) or np.issubdtype(table.dtype, np.complexfloating):
        raise TextTableError(f"{path}: dtype {table.dtype}, expected a real floating-point table")
    table = table.astype(np.float32)
    if not np.isfinite(table).all():
        bad = int((~np.isfinite(table)).sum())
        raise TextTableError(f"{path}: {bad} non-finite values (NaN or inf)")
    return TextTable(table, f"{path.name} {tuple(table.shape)}")


def glove_table(data_dir: str | os.PathLike | None = None) -> TextTable:
    """The LEAP GloVe class table (25, 300) float32 from the data directory, and its source string.

    Raises ``MissingDataError`` (naming the download command) when the file is not there.
    """
    from linkpaper.data.annotations import annotation_path

    table, _ = load_text_table(annotation_path("glove", data_dir))
    return TextTable(table, f"LEAP GloVe {tuple(table.shape)}")
