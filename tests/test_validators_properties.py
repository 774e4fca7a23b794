"""Property-based tests (hypothesis) of the predictions- and feature-file validators.

Any generated array of a wrong shape, dtype or value gets a ``UserError`` (PredictionsError /
FeatureError) naming the file; a valid one loads. No other exception type ever escapes.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers_layout import fake_filenames, feature_path, write_layout
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from linkpaper.data.features import AUDIO_SHAPES, FIXED_SHAPES, LABEL_STREAMS, FeatureError, load_split
from linkpaper.evaluation.predictions import PredictionsError, check_probabilities, load_predictions

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

DTYPES = st.sampled_from(
    [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8, np.bool_, np.complex64, ">f4", "<f8", "U3", "S2"]
)


def _arrays(shapes, dtypes=DTYPES):
    """Arrays of any of ``shapes`` and ``dtypes``, values anywhere (NaN, inf, negatives, > 1)."""
    return st.tuples(shapes, dtypes).flatmap(lambda sd: hnp.arrays(np.dtype(sd[1]), sd[0]))


def _near(shape):
    """``shape`` or a shape one step away from it (a dimension changed, added or dropped)."""
    dims = st.sampled_from([0, 1, 2, 3, 9, 10, 11, 24, 25, 26])
    return st.one_of(
        st.just(shape),
        st.tuples(*[st.one_of(st.just(d), dims) for d in shape]),
        st.just(shape[:-1]),
        st.just((*shape, 1)),
        st.just(()),
    )


def _probabilities_ok(array: np.ndarray, tail: tuple) -> bool:
    return (
        array.dtype.fields is None
        and np.issubdtype(array.dtype, np.floating)
        and array.ndim == len(tail) + 1
        and array.shape[1:] == tail
        and bool(np.isfinite(array).all())
        and (array.size == 0 or (array.min() >= 0 and array.max() <= 1))
    )


def _probability_arrays(tail):
    valid = st.integers(0, 3).flatmap(lambda n: hnp.arrays(np.float32, (n, *tail), elements=st.floats(0, 1, width=32)))
    return st.one_of(valid, _arrays(st.integers(0, 3).flatmap(lambda n: _near((n, *tail)))))


@SETTINGS
@given(frame=_probability_arrays((10, 2, 25)), video=_probability_arrays((25,)))
def test_check_probabilities_accepts_exactly_the_valid_arrays(frame, video):
    valid = (
        _probabilities_ok(frame, (10, 2, 25)) and _probabilities_ok(video, (25,)) and frame.shape[0] == video.shape[0]
    )
    if valid:
        out_frame, out_video = check_probabilities(frame, video, source="gen.npz")
        assert out_frame.shape == frame.shape and out_video.shape == video.shape
    else:
        with pytest.raises(PredictionsError, match=r"^gen\.npz: "):
            check_probabilities(frame, video, source="gen.npz")


NAMES = st.one_of(
    st.lists(st.text(min_size=0, max_size=6), min_size=0, max_size=4).map(lambda v: np.array(v, dtype=str)),
    st.lists(st.binary(min_size=0, max_size=4), min_size=0, max_size=4).map(lambda v: np.array(v, dtype="S")),
    _arrays(st.sampled_from([(0,), (1,), (2,), (2, 1), ()]), st.sampled_from([np.int64, np.float32, "U4", "S4"])),
)


@SETTINGS
@given(names=NAMES, frame=_probability_arrays((10, 2, 25)), video=_probability_arrays((25,)))
def test_a_predictions_file_loads_or_gets_a_predictions_error(tmp_path, names, frame, video):
    path = tmp_path / "pred.npz"
    np.savez(path, filename=names, frame_prob=frame, video_prob=video)
    try:
        loaded = load_predictions(path)
    except PredictionsError as err:
        assert str(err).startswith(f"{path}: ")
        return
    # Loaded: everything the validators promise holds.
    assert _probabilities_ok(loaded.frame_prob, (10, 2, 25)) and _probabilities_ok(loaded.video_prob, (25,))
    assert len(loaded.filenames) == len(set(loaded.filenames)) == loaded.frame_prob.shape[0]
    assert all(isinstance(name, str) and name for name in loaded.filenames)
    assert names.ndim == 1 and names.dtype.kind in "US"


# --------------------------------------------------------------------------- feature files

STREAMS = ["audio", "visual", "visual_3d", *LABEL_STREAMS]
NAMES_3 = fake_filenames(3)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    root = tmp_path_factory.mktemp("layout")
    write_layout(root, NAMES_3, splits={"train": NAMES_3})
    return root


def _feature_ok(array: np.ndarray, stream: str) -> bool:
    if stream == "audio":
        shape_ok = array.shape == AUDIO_SHAPES["pooled"]  # the other two videos are pooled
    else:
        shape_ok = array.shape == FIXED_SHAPES[stream]
    if not shape_ok:
        return False
    if stream in LABEL_STREAMS:
        return (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_) and bool(
            np.isin(array, (0, 1)).all()
        )
    return array.dtype == np.float32 and bool(np.isfinite(array).all())


def _feature_arrays():
    def for_stream(stream):
        shape = AUDIO_SHAPES["pooled"] if stream == "audio" else FIXED_SHAPES[stream]
        if stream in LABEL_STREAMS:
            valid = hnp.arrays(
                st.sampled_from([np.int64, np.int32, np.uint8, np.bool_]).map(np.dtype),
                shape,
                elements=st.integers(0, 1),
            )
        else:
            valid = hnp.arrays(np.float32, shape, elements=st.floats(-3, 3, width=32))
        near = st.one_of(_near(shape), st.just((64, 768)))
        return st.tuples(st.just(stream), st.one_of(valid, _arrays(near)))

    return st.sampled_from(STREAMS).flatmap(for_stream)


@SETTINGS
@given(case=_feature_arrays())
def test_a_feature_file_loads_or_gets_a_feature_error(layout, case):
    stream, array = case
    path = feature_path(layout, stream, NAMES_3[1])
    original = path.read_bytes()
    try:
        np.save(path, array)
        try:
            split = load_split(layout, "train", progress=False, cache=False)
        except FeatureError as err:
            assert not _feature_ok(array, stream), err
            assert str(path) in str(err)
            return
        assert _feature_ok(array, stream)
        assert np.array_equal(getattr(split, stream)[1].numpy(), array.astype(np.float32))
    finally:
        path.write_bytes(original)
