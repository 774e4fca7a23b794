"""Safe files: atomic writes (a temporary file, then ``os.replace``, so an interrupted run never
leaves a half-written file behind), JSON read with size and depth limits, ``torch.load`` of
tensors and plain values only, and writable-folder checks. Every module that writes or reads a
run's files goes through these.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from linkpaper.errors import UserError


def _cannot_write(path: Path, err: OSError) -> UserError:
    return UserError(
        f"{path}: cannot write ({err.strerror or err}); free disk space or make the folder writable, "
        "then run the same command again (with --resume for a training run)"
    )


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and ``os.replace``.

    An OSError (disk full, permissions) becomes a UserError naming the file; the temporary file
    is removed and an existing ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _discard(tmp)
        raise _cannot_write(path, err) from None


MAX_JSON_BYTES = 64 * 2**20
"""The largest JSON file the package reads (a run record of a 60-epoch run is about 150 kB)."""
MAX_JSON_DEPTH = 64
"""The deepest nesting of lists and objects it accepts (run records nest 5 deep)."""


class JSONLimitError(ValueError):
    """A JSON document beyond ``MAX_JSON_BYTES`` / ``MAX_JSON_DEPTH``, or one numbers cannot hold."""


def parse_json(text: str | bytes):
    """``json.loads`` within limits: at most ``MAX_JSON_BYTES``, nesting at most ``MAX_JSON_DEPTH``
    deep, no integer longer than Python converts; anything else raises ``ValueError`` (a
    ``json.JSONDecodeError`` or a ``JSONLimitError``) whose text says what, never RecursionError."""
    if len(text) > MAX_JSON_BYTES:
        raise JSONLimitError(f"{len(text)} bytes, more than the {MAX_JSON_BYTES} a linkpaper JSON file may hold")
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONLimitError(f"nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as err:
        if isinstance(err, json.JSONDecodeError):
            raise
        raise JSONLimitError(str(err).splitlines()[0][:160]) from None  # e.g. a 5,000-digit integer
    stack = [(value, 1)]
    while stack:  # iterative: a deep document must not exhaust the recursion limit here either
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise JSONLimitError(f"nested more than {MAX_JSON_DEPTH} levels deep")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def read_json(path: str | Path, what: str, remedy: str):
    """The JSON value in ``path`` read within :func:`parse_json`'s limits; a missing, unreadable,
    non-UTF-8, malformed or oversized file raises one UserError naming ``path``, ``what`` it is and
    the ``remedy``."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise JSONLimitError(
                f"{path.stat().st_size} bytes, more than the {MAX_JSON_BYTES} a linkpaper JSON file may hold"
            )
        return parse_json(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        detail = err.strerror if isinstance(err, OSError) and err.strerror else str(err).splitlines()[0][:200]
        raise UserError(f"{path}: not a readable {what} ({detail}); {remedy}") from None


def atomic_write_json(path: str | Path, record: dict) -> None:
    """Write ``record`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(record, indent=2, sort_keys=False) + "\n").encode())


def atomic_torch_save(obj, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically (a failed write becomes a UserError naming the file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:  # torch reports a failed zip write as RuntimeError
        _discard(tmp)
        raise _cannot_write(path, err if isinstance(err, OSError) else OSError(str(err).splitlines()[0])) from None


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def safe_torch_load(
    path: str | Path, map_location="cpu", what: str = "checkpoint", remedy: str = "Train the run again."
) -> object:
    """``torch.load(path, weights_only=True)``: tensors and plain values only, never code.

    A missing, unsafe (pickled Python objects), truncated or corrupt file raises one UserError
    naming the file, the problem and ``remedy``.
    """
    import pickle

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {what} not found" + (" (it is a folder)" if path.is_dir() else ""))
    import warnings

    try:
        with warnings.catch_warnings():  # its "pickle protocol" warning precedes the one-line error
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for a truncated zip/pickle
        import re

        detail = re.search(r"WeightsUnpickler error:\s*(.+)", str(err))
        detail = detail.group(1).strip().split(" was not")[0][:160] if detail else None
        blocked = re.search(r"unsupported GLOBAL (\S+) whose module (\S+) is blocked", str(err))
        if blocked:  # torch >= 2.6 words a blocked module this way
            detail = f"Unsupported global: GLOBAL {blocked.group(1)} (module {blocked.group(2)} is blocked)"
        if isinstance(err, pickle.UnpicklingError) and detail and detail.startswith("Unsupported global"):
            raise UserError(
                f"{path}: refused to load: the file holds Python objects beyond tensors and plain values "
                f"({detail}), so loading it could run code. linkpaper's checkpoints never do; this one was "
                f"written by something else (or by linkpaper before its safe format). {remedy}"
            ) from None
        first = detail or f"{type(err).__name__}: {err}".splitlines()[0][:200]
        raise UserError(
            f"{path}: cannot read this {what} ({first}); it is truncated or corrupt (an interrupted write?). {remedy}"
        ) from None


def check_writable_dir(path: str | Path, flag: str = "--out") -> list[Path]:
    """Make sure ``path`` is (or can be made) a writable folder before any work starts.

    Creates the missing folders and returns the ones it created (deepest last), so a run that
    fails can remove them again with :func:`remove_created_dirs`. Raises a UserError naming
    ``flag`` when ``path`` is a file, lies under a file, or cannot be created or written.
    """
    path = Path(path)
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            where = "is a file" if parent == path else f"lies under {parent}, which is a file"
            raise UserError(f"{flag} {path}: {where}, not a folder; choose another {flag} path")
        if parent.exists():
            break
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing.append(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        remove_created_dirs(missing[::-1])
        raise UserError(
            f"{flag} {path}: cannot create the folder ({err.strerror or err}); choose a writable place"
        ) from None
    probe = path / f".linkpaper-write-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        remove_created_dirs(missing[::-1])
        raise UserError(
            f"{flag} {path}: the folder is not writable ({err.strerror or err}); "
            f"choose a writable {flag} or fix its permissions"
        ) from None
    return missing[::-1]


def remove_created_dirs(created: list[Path]) -> None:
    """Remove the folders :func:`check_writable_dir` created, deepest first, if they are empty."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:  # not empty (the run wrote something worth keeping) or already gone
            break
