"""``python -m linkpaper evaluate``: predictions files round trip and every bad-file error."""

import json
import re

import numpy as np
import pytest
import torch

from linkpaper.cli import main
from linkpaper.evaluation.predictions import PredictionsError, load_predictions, save_predictions


@pytest.fixture(scope="module")
def test_split(llp_data_dir):
    root = llp_data_dir
    from linkpaper.data.annotations import load_annotations

    return root, load_annotations("test", root)


def oracle_arrays(annotations):
    """Probabilities that reproduce the GT: frames = GT, video = any GT in either modality."""
    frame = np.stack([annotations.gt_audio, annotations.gt_visual], axis=2).astype(np.float32)
    video = (annotations.gt_audio | annotations.gt_visual).any(axis=1).astype(np.float32)
    return list(annotations.filenames), frame, video


def evaluate(capsys, path, root, *extra):
    code = main(["evaluate", str(path), "--split", "test", "--data-dir", str(root), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_oracle_round_trip_scores_100_in_any_row_order(tmp_path, capsys, test_split):
    root, annotations = test_split
    names, frame, video = oracle_arrays(annotations)
    order = np.random.default_rng(0).permutation(len(names))
    path = save_predictions(
        tmp_path / "pred.npz", [names[i] for i in order], torch.from_numpy(frame[order]), video[order]
    )
    loaded = load_predictions(path)
    assert loaded.frame_prob.dtype == np.float32 and loaded.frame_prob.shape == (1200, 10, 2, 25)
    assert loaded.filenames == [names[i] for i in order]
    assert not (tmp_path / "pred.npz.partial").exists()

    code, out, err = evaluate(capsys, path, root, "--json")
    assert code == 0 and err == ""
    table = json.loads(out)
    assert list(table) == ["segment", "event"]
    for level in table:
        assert list(table[level]) == ["audio", "visual", "audio_visual", "type", "event"]
        assert all(value == pytest.approx(100.0) for value in table[level].values())

    code, out, _ = evaluate(capsys, path, root)
    assert code == 0 and "Type@AV" in out and "100.00" in out and "1200 videos" in out


def test_nothing_predicted_matches_the_reference_numbers(tmp_path, capsys, test_split):
    root, annotations = test_split
    names, frame, video = oracle_arrays(annotations)
    path = save_predictions(tmp_path / "zero.npz", names, np.zeros_like(frame), np.zeros_like(video))
    code, out, _ = evaluate(capsys, path, root, "--json")
    seg = json.loads(out)["segment"]
    assert code == 0
    assert [round(seg[k], 2) for k in ("audio", "visual", "audio_visual", "type", "event")] == [
        0.5,
        10.08,
        14.5,
        8.36,
        0.0,
    ]


def write_raw(path, **arrays):
    with open(path, "wb") as f:  # no validation: the CLI must catch what is wrong
        np.savez(f, **arrays)
    return path


def bad_file(path, case, names, frame, video):
    """Write the predictions file of one error case (no validation: the CLI must catch it)."""
    names = np.array(names)
    if case == "missing":
        names, frame, video = names[1:], frame[1:], video[1:]
    elif case == "extra":
        names[1] = "zzzzzzzzzzz_0_10"
    elif case == "duplicated":
        names[1] = names[2]
    elif case == "out_of_range":
        frame[0, 2, 1, 0] = 1.2
    elif case == "nan":
        video[0, 0] = np.nan
    elif case == "wrong_shape":
        frame = frame[:, :, 0]
    elif case == "rows_mismatch":
        video = video[1:]
    if case == "not_npz":
        path.write_text("filename,frame_prob\n")
    elif case == "missing_key":
        write_raw(path, filename=names, frame_prob=frame)
    elif case != "no_file":
        write_raw(path, filename=names, frame_prob=frame, video_prob=video)
    return path


def check_exit_2(capsys, path, root, message):
    code, out, err = evaluate(capsys, path, root)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}") and "Traceback" not in err
    assert re.search(message, err), err


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", r"1 video\(s\) of the test split have no prediction \(e.g. '"),
        ("extra", r"1 filename\(s\) are not in the test split \(e.g. 'zzzzzzzzzzz_0_10'\)"),
    ],
)
def test_videos_not_matching_the_split_exit_2(tmp_path, capsys, test_split, case, message):
    root, annotations = test_split
    path = bad_file(tmp_path / f"{case}.npz", case, *oracle_arrays(annotations))
    check_exit_2(capsys, path, root, message)


@pytest.mark.parametrize(
    "case, message",
    [
        ("duplicated", r"1 duplicated filename\(s\) \(e.g. 'ccccccccccc_0_10'\)"),
        ("out_of_range", r"frame_prob has values in \[0, 1.2\]; expected probabilities in \[0, 1\]"),
        ("nan", r"video_prob holds 1 NaN or infinite value"),
        ("wrong_shape", r"frame_prob has shape \(3, 10, 25\); expected \(N, 10, 2, 25\)"),
        ("rows_mismatch", r"frame_prob has 3 videos but video_prob has 2"),
        ("missing_key", r"missing key\(s\) video_prob"),
        ("not_npz", r"not a readable .npz predictions file"),
        ("no_file", r"no such predictions file"),
    ],
)
def test_malformed_predictions_exit_2_before_reading_annotations(tmp_path, capsys, case, message):
    names = ["aaaaaaaaaaa_0_10", "bbbbbbbbbbb_0_10", "ccccccccccc_0_10"]
    frame = np.zeros((3, 10, 2, 25), dtype=np.float32)
    video = np.zeros((3, 25), dtype=np.float32)
    path = bad_file(tmp_path / f"{case}.npz", case, names, frame, video)
    check_exit_2(capsys, path, tmp_path / "no_data_needed", message)


def test_save_predictions_refuses_bad_arrays(tmp_path):
    frame = np.zeros((2, 10, 2, 25), dtype=np.float32)
    video = np.zeros((2, 25), dtype=np.float32)
    with pytest.raises(PredictionsError, match="duplicated filename"):
        save_predictions(tmp_path / "p.npz", ["a" * 11 + "_0_10"] * 2, frame, video)
    with pytest.raises(PredictionsError, match="3 filenames for 2 rows"):
        save_predictions(tmp_path / "p.npz", ["a", "b", "c"], frame, video)
    with pytest.raises(PredictionsError, match="expected floating-point"):
        save_predictions(tmp_path / "p.npz", ["a", "b"], frame.astype(np.int64), video)
    assert not (tmp_path / "p.npz").exists()


def test_missing_annotations_name_the_download_command(tmp_path, capsys):
    path = save_predictions(tmp_path / "p.npz", ["a" * 11 + "_0_10"], np.zeros((1, 10, 2, 25)), np.zeros((1, 25)))
    code = main(["evaluate", str(path), "--split", "val", "--data-dir", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2 and "AVVP_val_pd.csv is missing" in err
    assert "python -m linkpaper download annotations" in err
