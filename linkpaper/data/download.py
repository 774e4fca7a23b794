"""Fetching and verifying the public data files: ``python -m linkpaper download annotations``
downloads them from their pinned GitHub commits and checks their sha256. Which files, and the
data directory they go to, are defined in ``linkpaper.data.files``.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

from linkpaper.data.files import (
    ANNOTATION_FILES,
    DATA_ENV_VAR,
    MissingDataError,
    annotation_path,
    resolve_data_dir,
)
from linkpaper.errors import UserError


class ChecksumError(UserError, ValueError):
    """A downloaded or local file does not have the sha256 it should have."""


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(key: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Check that file ``key`` exists and has its pinned sha256; return its path."""
    path = annotation_path(key, data_dir)
    found = sha256_of(path)
    if found != ANNOTATION_FILES[key].sha256:
        raise ChecksumError(
            f"{path}: sha256 {found} does not match the pinned {ANNOTATION_FILES[key].sha256}. "
            "Delete the file and download it again (python -m linkpaper download annotations --force)."
        )
    return path


def download_annotations(
    data_dir: str | os.PathLike | None = None, *, force: bool = False, timeout: float = 60.0
) -> dict[str, str]:
    """Fetch the six LLP CSVs and the GloVe table into ``data_dir``, verifying each sha256.

    Files already present with the right checksum are kept (status ``"present"``). Returns
    ``{key: "present" | "downloaded"}``. A network failure or checksum mismatch raises with the
    URL and the file in the message; a partial download never replaces a good file.
    """
    root = resolve_data_dir(data_dir)
    status: dict[str, str] = {}
    for key, spec in ANNOTATION_FILES.items():
        target = root / spec.relpath
        if target.is_file() and not force and sha256_of(target) == spec.sha256:
            status[key] = "present"
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(
                f"--data-dir {root}: cannot create {target.parent} ({err.strerror or err}); "
                "choose a writable --data-dir (or $LINKPAPER_DATA)"
            ) from None
        try:
            with urllib.request.urlopen(spec.url, timeout=timeout) as response:
                payload = response.read()
        except OSError as err:
            raise MissingDataError(
                f"could not download {spec.url} to {target}: {err}.\n"
                f"Without internet access, copy the file there by hand, or set {DATA_ENV_VAR} "
                "to a folder that holds a copy (llp/ and leap/ subfolders)."
            ) from err
        found = hashlib.sha256(payload).hexdigest()
        if found != spec.sha256:
            raise ChecksumError(f"{spec.url}: downloaded sha256 {found} != pinned {spec.sha256}")
        from linkpaper.safe_io import atomic_write_bytes

        atomic_write_bytes(target, payload)  # disk full or read-only: one UserError naming the file
        status[key] = "downloaded"
    return status
