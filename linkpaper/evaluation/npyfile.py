"""Reading ``.npy`` headers safely: the shape a header claims is checked against the bytes the
file really holds before anything is allocated, so a crafted header that claims 10^11 rows gets
a clear error instead of a ``MemoryError`` (or a huge allocation)."""

from __future__ import annotations

import math

import numpy as np


class NpyHeaderError(ValueError):
    """A ``.npy`` header that is unreadable or does not fit the data that follows it."""


def read_npy_header(handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from an open ``.npy`` stream positioned at its start."""
    try:
        major, _ = np.lib.format.read_magic(handle)
        if major == 1:
            return np.lib.format.read_array_header_1_0(handle)
        if major in (2, 3):
            return np.lib.format.read_array_header_2_0(handle)
    except Exception as err:  # ValueError for a bad magic or header, EOFError when truncated
        raise NpyHeaderError(
            f"unreadable .npy header ({type(err).__name__}: {str(err).splitlines()[0][:120]})"
        ) from None
    raise NpyHeaderError(f"unsupported .npy format version {major}")


def check_npy_size(shape: tuple[int, ...], dtype: np.dtype, available: int) -> None:
    """Raise NpyHeaderError unless ``shape`` x ``dtype`` is exactly ``available`` bytes of data."""
    if dtype.hasobject:
        raise NpyHeaderError(f"holds Python objects (dtype {dtype}); only plain numeric arrays are read")
    claimed = math.prod(int(n) for n in shape) * dtype.itemsize
    if claimed != available:
        raise NpyHeaderError(
            f"the header claims shape {tuple(shape)} {dtype} ({claimed:,} bytes) but {available:,} bytes of data "
            "follow: truncated or forged"
        )
