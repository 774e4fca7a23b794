"""linkpaper.data.stats against hand-made timelines and the LLP numbers computed from the annotation
files (book/decisions.md#llp-statistics)."""

import numpy as np
import pytest

from linkpaper.data.stats import event_runs, format_comparison, label_statistics, stat_value


def test_event_runs_finds_maximal_runs():
    timeline = np.zeros((2, 10, 25), dtype=bool)
    timeline[0, 0:3, 4] = True
    timeline[0, 5:10, 4] = True
    timeline[1, :, 0] = True
    timeline[1, 9, 24] = True
    video, cls, onset, duration = event_runs(timeline)
    assert video.tolist() == [0, 0, 1, 1]
    assert cls.tolist() == [4, 4, 0, 24]
    assert onset.tolist() == [0, 5, 0, 9]
    assert duration.tolist() == [3, 5, 10, 1]


def test_label_statistics_on_a_hand_made_video():
    audio = np.zeros((1, 10, 25), dtype=bool)
    visual = np.zeros_like(audio)
    weak = np.zeros((1, 25), dtype=np.float32)
    weak[0, [0, 3, 9]] = 1  # Speech audio only, Dog AV, Cello in neither
    audio[0, 0:4, 0] = True
    audio[0, 2:6, 3] = True
    visual[0, 2:10, 3] = True
    s = label_statistics(audio, visual, weak)
    # cells: Speech a-only 4, Dog a-only 0, Dog v-only 4 (6..9), Dog AV 4 (2..5)
    assert s["seg_cell_shares"] == pytest.approx([4 / 12, 4 / 12, 4 / 12])
    assert s["weak_label_shares"] == pytest.approx([1 / 3, 1 / 3, 0.0, 1 / 3])
    # segments 0,1 (speech only), 2,3 (speech+dog vs dog), 6..9 (dog visual only) differ; 4,5 agree
    assert s["mismatch_all"] == pytest.approx(0.8)
    assert s["mismatch_labelled"] == pytest.approx(0.8)
    assert s["videos_ge1_single_modality"] == 1.0
    assert s["mean_duration"] == {"audio": 4.0, "visual": 8.0, "av": 4.0}
    assert s["duration_hist"]["audio"][3] == 2 and s["onset_hist"]["visual"][2] == 1
    assert s["labels_per_video_hist"][3] == 1
    assert s["seg_cell_shares_per_class"][0] == [1.0, 0.0, 0.0]
    assert s["seg_cell_shares_per_class"][3] == pytest.approx([0.0, 0.5, 0.5])
    assert s["seg_cell_shares_per_class"][1] == [0.0, 0.0, 0.0]
    assert s["weak_label_shares_per_class"][9] == [0.0, 0.0, 0.0, 1.0]


def test_label_statistics_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes disagree"):
        label_statistics(np.zeros((2, 10, 25), bool), np.zeros((3, 10, 25), bool), np.zeros((2, 25)))


def test_real_llp_statistics_match_llp_stats_md(llp_data_dir):
    from linkpaper.data.synth import real_statistics

    s = real_statistics(llp_data_dir)
    assert s["n_videos"] == 1849
    assert s["mismatch_all"] == pytest.approx(0.4679, abs=5e-5)
    assert s["mismatch_labelled"] == pytest.approx(0.4884, abs=5e-5)
    assert s["seg_cell_shares"] == pytest.approx([0.3087, 0.1249, 0.5664], abs=5e-5)
    assert s["weak_label_shares"] == pytest.approx([0.6027, 0.3441, 0.0418, 0.0114], abs=5e-5)
    assert s["videos_ge1_single_modality"] == pytest.approx(0.5522, abs=5e-5)
    assert s["mean_duration"]["audio"] == pytest.approx(5.558, abs=5e-4)
    assert s["mean_duration"]["visual"] == pytest.approx(7.216, abs=5e-4)
    assert s["duration_hist"]["audio"] == [710, 550, 416, 322, 200, 158, 160, 126, 117, 1319]
    assert s["onset_hist"]["visual"] == [1775, 91, 83, 84, 71, 73, 95, 79, 62, 68]
    assert s["n_events"] == {"audio": 4078, "visual": 2481, "av": 2489}
    assert s["seg_cell_shares_per_class"][0] == pytest.approx([0.7933, 0.0036, 0.2031], abs=5e-5)  # Speech
    assert s["seg_cell_shares_per_class"][4] == pytest.approx([0.044, 0.6356, 0.3204], abs=5e-5)  # Cat
    assert s["weak_label_shares_per_class"][24] == pytest.approx([0.535, 0.403, 0.047, 0.016], abs=5e-4)
    table = format_comparison({"real": s})
    assert "0.4679" in table and stat_value(s, "seg_cell_shares.2") == s["seg_cell_shares"][2]
