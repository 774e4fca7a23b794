"""Property-based tests (hypothesis) of the readers that take data from outside: the run-record
reader, the weak-label CSV reader and the predictions ``.npz`` reader.

Whatever bytes they are given, each either returns what its contract promises (a record with
every entry it needs; LLP filenames whose ids are safe file names; arrays of the documented
shapes) or raises a ``UserError`` naming the file. No other exception type ever escapes, and a
forged ``.npz`` header never makes the reader allocate what it claims.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkpaper.classes import CLASSES
from linkpaper.data.annotations import LLP_FILENAME, read_weak_labels, video_id
from linkpaper.errors import UserError
from linkpaper.evaluation.predictions import MAX_ROWS, load_predictions
from linkpaper.training.runs import read_results, record_problem

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
RECORD = Path(__file__).resolve().parent.parent / "results" / "synth_small_recipe" / "link" / "seed87" / "results.json"

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _mutated_record(draw_path: list, value) -> dict:
    """The committed record with the entry at ``draw_path`` (a list of choices) replaced by ``value``."""
    record = json.loads(RECORD.read_text())
    node = record
    for choice in draw_path:
        if isinstance(node, dict) and node:
            key = sorted(node)[choice % len(node)]
            if not isinstance(node[key], (dict, list)) or choice % 3 == 0:
                node[key] = value
                return record
            node = node[key]
        elif isinstance(node, list) and node:
            index = choice % len(node)
            if not isinstance(node[index], (dict, list)) or choice % 3 == 0:
                node[index] = value
                return record
            node = node[index]
    return record


RECORD_TEXT = st.one_of(
    st.binary(max_size=64),
    JSON_VALUES.map(lambda v: json.dumps(v)),
    st.tuples(st.lists(st.integers(0, 50), min_size=1, max_size=5), JSON_VALUES).map(
        lambda pv: json.dumps(_mutated_record(*pv))
    ),
    st.integers(1, 5).map(lambda k: "[" * (10**k) + "]" * (10**k)),
)


@SETTINGS
@given(text=RECORD_TEXT)
def test_the_record_reader_returns_a_whole_record_or_names_the_file(tmp_path, text):
    path = tmp_path / "results.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    try:
        record = read_results(tmp_path)
    except UserError as err:
        assert str(err).startswith(f"{path}: ")
        return
    assert record_problem(record) is None
    if record["complete"]:
        assert len(record["test_row"]) == 10
        assert all(not isinstance(x, bool) and math.isfinite(x) and 0 <= x <= 100 for x in record["test_row"])


NAME_CHARS = "abcXYZ019_-./\\ \t:é\x00"
WEAK_LINES = st.lists(
    st.tuples(
        st.one_of(
            st.text(NAME_CHARS, max_size=20),
            st.from_regex(r"[A-Za-z0-9_-]{11}_[0-9]{1,3}(\.[0-9])?_[0-9]{1,3}", fullmatch=True),
            st.just("../../../VV_0_10"),
        ),
        st.lists(st.one_of(st.sampled_from(CLASSES), st.text(max_size=5)), max_size=3).map(",".join),
    ),
    max_size=6,
).map(lambda rows: "filename\tevent_labels\n" + "".join(f"{name}\t{labels}\n" for name, labels in rows))


@SETTINGS
@given(text=st.one_of(WEAK_LINES, st.binary(max_size=80).map(lambda b: b.decode("latin-1"))))
def test_the_weak_label_reader_returns_safe_llp_filenames_or_names_the_file(tmp_path, text):
    path = tmp_path / "AVVP_train.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    try:
        weak = read_weak_labels(path)
    except UserError as err:
        assert str(err).startswith(str(path))
        return
    assert weak.labels.shape == (len(weak.filenames), len(CLASSES)) and len(weak.filenames) >= 1
    for name in weak.filenames:
        assert LLP_FILENAME.fullmatch(name)
        vid = video_id(name)
        assert "/" not in vid and "\\" not in vid and vid not in (".", "..") and len(vid) == 11


def _npy_header(shape, dtype: str) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return header.getvalue()


MEMBER = st.tuples(
    st.lists(st.sampled_from([0, 1, 2, 10, 25, 3 * 10**5, 10**9]), max_size=4),  # the claimed shape
    st.sampled_from(["<f4", "<f8", "<f2", "<i8", "|b1", "<U16", "|S4", "|O"]),
    st.integers(0, 4096),  # the bytes of data that really follow (zeros)
)


@SETTINGS
@given(
    members=st.fixed_dictionaries({"filename": MEMBER, "frame_prob": MEMBER, "video_prob": MEMBER}),
    missing=st.sampled_from([None, "filename", "frame_prob", "video_prob"]),
)
def test_the_npz_reader_refuses_forged_headers_before_allocating(tmp_path, members, missing):
    import tracemalloc

    path = tmp_path / "predictions.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, (shape, dtype, size) in members.items():
            if key != missing:
                archive.writestr(f"{key}.npy", _npy_header(shape, dtype) + bytes(size))
    tracemalloc.start()
    try:
        try:
            predictions = load_predictions(path)
        except UserError as err:
            assert str(err).startswith(f"{path}: ")
            predictions = None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # never what a header claims, only what the file holds
    if predictions is not None:
        n = len(predictions.filenames)
        assert n <= MAX_ROWS and predictions.frame_prob.shape == (n, 10, 2, 25)
        assert predictions.video_prob.shape == (n, 25)
