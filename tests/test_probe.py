"""linkpaper.chapters.probe: traced intermediate tensors agree with the model's outputs."""

from __future__ import annotations

import json

import pytest
import torch
from helpers_sizes import SMALL_MODEL as SMALL

from linkpaper.chapters.probe import epoch_series, grid_records, parameter_counts, sloss_terms, trace_forward
from linkpaper.errors import UserError
from linkpaper.losses import similarity_loss
from linkpaper.models import build_model


def _inputs(batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    audio = torch.randn(batch, 64, 768, generator=g)
    visual = torch.randn(batch, 10, 768, generator=g)
    visual_3d = torch.randn(batch, 10, 512, generator=g)
    labels = (torch.rand(batch, 10, 25, generator=g) > 0.8).float()
    return audio, visual, visual_3d, labels


def test_parameter_counts_sum_to_the_model_total():
    model = build_model("valor++")
    counts = parameter_counts(model, expand=("hat_encoder",))
    assert sum(counts.values()) == sum(p.numel() for p in model.parameters()) == 4_888_395
    assert counts["hat_encoder.layers.0"] == 1_052_928
    assert counts["fc_a"] == 196_864
    link = build_model("link", **SMALL)
    link_counts = parameter_counts(link)
    assert link_counts["sloss_mu"] == 1 and "cmim" in link_counts and "plsim" in link_counts
    assert sum(link_counts.values()) == sum(p.numel() for p in link.parameters())


def test_trace_reconstructs_the_heads_of_valor():
    torch.manual_seed(0)
    model = build_model("valor++", **SMALL)
    model.train()
    audio, visual, visual_3d, _ = _inputs()
    output, trace = trace_forward(model, audio, visual, visual_3d)
    assert model.training  # restored
    assert trace["x_a"].shape == (3, 10, 32) and torch.equal(trace["x_a"], trace["encoder_in_a"])
    assert torch.equal(trace["hidden_a"], output.audio_hidden)
    assert torch.allclose(trace["frame_att"].sum(1), torch.ones(3, 2, 25))
    assert torch.allclose(trace["av_att"].sum(2), torch.ones(3, 10, 25))
    rebuilt = (trace["frame_att"] * output.frame_prob * trace["av_att"]).sum(dim=(1, 2))
    assert torch.allclose(rebuilt, output.global_prob, atol=1e-6)
    assert not any(name.startswith(("tsam", "cmim", "plsim")) for name in trace)


def test_trace_of_link_records_every_module():
    torch.manual_seed(0)
    model = build_model("link", **SMALL, text_dim_audio=7, text_dim_visual=5)
    model.set_text_tables(torch.randn(25, 7), torch.randn(25, 5))
    audio, visual, visual_3d, labels = _inputs()
    output, trace = trace_forward(model, audio, visual, visual_3d, labels, labels)
    assert trace["tsam_W_a"].shape == (3, 10, 1) and trace["tsam_S_v"].shape == (3, 1, 32)
    assert torch.equal(trace["tsam_out_a"], trace["cmim_in_a"])
    assert trace["cmim_attn_av"].shape == (3, 10, 10)
    assert torch.allclose(trace["cmim_attn_av"].sum(-1), torch.ones(3, 10))
    # eq 4-6 from the recorded maps and scalars
    cmim = model.cmim
    f_a, f_v = trace["cmim_in_a"], trace["cmim_in_v"]
    expected_a = f_a + (f_a + cmim.alpha2 * trace["cmim_attn_av"] @ (cmim.beta2 * f_v))
    assert torch.allclose(trace["cmim_out_a"], expected_a, atol=1e-5)
    assert trace["plsim_e_a"].shape == (3, 10, 7) and trace["plsim_e_v"].shape == (3, 10, 5)
    # zero-initialised last layers: PLSIM starts as the identity
    assert torch.equal(trace["plsim_gamma1"], torch.zeros(3, 10, 32))
    assert torch.equal(trace["plsim_in_a"], trace["cmim_out_a"])
    assert torch.equal(trace["plsim_out_a"], trace["cmim_out_a"])
    assert torch.equal(trace["encoder_in_v"], trace["plsim_out_v"])
    assert torch.equal(trace["hidden_v"], output.visual_hidden)


def test_sloss_terms_mean_is_the_loss():
    g = torch.Generator().manual_seed(1)
    a, v = torch.randn(2, 10, 16, generator=g), torch.randn(2, 10, 16, generator=g)
    pa, pv = (torch.rand(2, 10, 25, generator=g) > 0.7).float(), (torch.rand(2, 10, 25, generator=g) > 0.7).float()
    terms = sloss_terms(a, v, pa, pv, torch.tensor(0.3))
    assert terms["s"].shape == (2, 10, 10)
    assert torch.allclose(terms["weighted"].mean(), similarity_loss(a, v, pa, pv, torch.tensor(0.3)))
    assert float(terms["s"].abs().max()) <= 1.0 + 1e-6


def _record(model, seed, mus):
    return {
        "config": {"model": model},
        "seed": seed,
        "epochs": [
            {
                "epoch": i + 1,
                "lr": 1e-4,
                "val_type_av": 10.0 * i,
                "train_loss": {"total": 1.0 / (i + 1)},
                "diagnostics": {"mu": mu},
            }
            for i, mu in enumerate(mus)
        ],
    }


def test_grid_records_and_epoch_series(tmp_path):
    for slug, model, seed, mus in (("valorpp_S", "+S", 87, [0.1, 0.2]), ("link", "link", 88, [0.3])):
        run = tmp_path / slug / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "results.json").write_text(json.dumps(_record(model, seed, mus)))
    records = grid_records(tmp_path, ["+S", "+T", "link"], [87, 88])
    assert sorted(records) == [("+S", 87), ("link", 88)]
    mu = epoch_series(records, "mu")
    assert mu[("+S", 87)].tolist() == [0.1, 0.2]
    assert mu.loc[1, ("link", 88)] == 0.3 and mu.index.name == "epoch"
    assert epoch_series(records, "train_loss.total")[("+S", 87)].tolist() == [1.0, 0.5]
    assert epoch_series(records, "val_type_av")[("link", 88)].dropna().tolist() == [0.0]  # aligned on epochs
    with pytest.raises(UserError, match="alpha1"):
        epoch_series(records, "alpha1")


def test_video_label_prf_counts_pairs():
    from linkpaper.chapters.probe import video_label_prf

    labels = torch.zeros(2, 10, 25)
    labels[0, 3, 0] = 1  # class 0 flagged in video 0 (true)
    labels[0, 5, 1] = 1  # class 1 flagged in video 0 (false)
    labels[1, :, 2] = 0.7  # class 2 flagged in video 1 (true)
    weak = torch.zeros(2, 25)
    weak[0, 0] = weak[1, 2] = weak[1, 3] = 1
    prf = video_label_prf(labels, weak)
    assert prf["precision"] == pytest.approx(2 / 3) and prf["recall"] == pytest.approx(2 / 3)
    assert prf["flagged"] == 3 and prf["outside weak labels"] == 1


def test_a_missing_grid_gives_no_records_and_a_runnable_hint(tmp_path):
    from linkpaper.chapters.probe import missing_grid_message

    assert grid_records(tmp_path / "absent", ["+S"], [87]) == {}
    message = missing_grid_message("../results/some_grid")
    assert "python -m linkpaper grid --variants book --seeds 3 --data synth:small" in message
    assert "--out results/some_grid)" in message


def _write(root, slug, model, seed, mus, **extra):
    run = root / slug / f"seed{seed}"
    run.mkdir(parents=True)
    record = {**_record(model, seed, mus), **extra}
    (run / "results.json").write_text(json.dumps(record))


def test_find_grid_records_takes_whatever_seeds_a_folder_holds(tmp_path):
    from linkpaper.chapters.probe import find_grid_records, records_runs, seed_text

    for seed in (87, 88, 89):
        _write(tmp_path, "valorpp", "valor++", seed, [0.0])
    _write(tmp_path, "link", "link", 88, [0.3])
    (tmp_path / "link" / "seed87").mkdir()  # an unfinished run: no results.json
    records = find_grid_records(tmp_path, ["link", "+T", "valor++"])
    assert list(records) == [("link", 88), ("valor++", 87), ("valor++", 88), ("valor++", 89)]
    assert records_runs(records) == "link seed 88; valor++ seeds 87-89"
    assert seed_text([89, 87]) == "87, 89" and seed_text([87, 88]) == "87, 88" and seed_text([3, 1, 2]) == "1-3"
    assert find_grid_records(tmp_path / "absent", ["link"]) == {}
    from linkpaper.chapters.probe import grid_section

    found, source, text = grid_section(str(tmp_path), ["link"])
    assert list(found) == [("link", 88)] and source.endswith(": link seed 88") and "1 run record" in text
    found, source, text = grid_section(str(tmp_path / "absent"), ["link"])
    assert found == {} and source == "no grid records" and "No grid run records under" in text


def test_records_say_their_schedule_and_data(tmp_path):
    from linkpaper.chapters.probe import describe_records, records_schedule, records_source, source_difference_words

    source = {"kind": "synth", "preset": "small", "seed": 0, "config": {"class_noise": 0.25}}
    config = {"model": "+S", "epochs": 6, "warmup_epochs": 1, "batch_size": 64}
    records = {
        ("+S", 87): {
            **_record("+S", 87, [0.1]),
            "config": config,
            "complete": True,
            "data": {"source": source, "description": "SynthLLP small"},
        }
    }
    assert records_schedule(records) == "6 epochs (1 warm-up), batch 64"
    assert records_source(records) == "SynthLLP small (synthetic), 6 epochs (1 warm-up), batch 64: +S seed 87"
    here = {**source, "config": {"class_noise": 0.37}, "donors": {"rule": "val-half"}}
    assert source_difference_words(source, here) == [
        "feature noise 0.25 (this page: 0.37)",
        "donors: all of LLP val (this page: the donor half)",
    ]
    assert source_difference_words(source, source) == []
    assert source_difference_words(source, {**source, "seed": 1, "extra": {"a": 1}}) == [
        "seed 0 (this page: 1)",
        "a absent (this page: 1)",
    ]
    text = describe_records(records, here)
    assert "1 run record (1 finished)" in text and "6 epochs (1 warm-up)" in text
    assert "feature noise 0.25 (this page: 0.37); donors: all of LLP val (this page: the donor half)" in text
    many = {**here, "config": {f"knob{i}": i for i in range(6)}}  # more differences than shown
    words = source_difference_words(source, many)
    assert len(words) > 5
    text = describe_records(records, many)
    assert "; ".join(words[:4]) + f"; and {len(words) - 4} other settings. They therefore" in text
    assert words[4] not in text
    assert source_difference_words({"sizes": {"val": 649}}, {"sizes": {"val": 321}}) == [
        "649 validation videos for model selection (this page: 321)"
    ]
    assert "trained on the data loaded on this page" in describe_records(records, source)
    assert describe_records({}) == "No run records were found."


def test_paired_differences_match_seeds_and_skip_missing_partners():
    from linkpaper.chapters.probe import paired_differences

    records = {
        ("+P", 87): _record("+P", 87, [0.5, 0.7]),
        ("valor++", 87): _record("valor++", 87, [0.1, 0.2]),
        ("+P", 88): _record("+P", 88, [0.4]),
        ("link", 87): _record("link", 87, [0.9]),
    }
    diff = paired_differences(records, "mu", [("+P", "valor++"), ("link", "+T+S")])
    assert list(diff.columns) == [("+P − valor++", 87)]
    assert diff[("+P − valor++", 87)].tolist() == pytest.approx([0.4, 0.5])
    with pytest.raises(UserError, match="shares a seed"):
        paired_differences(records, "mu", [("link", "+T+S")])


def test_the_misaligned_example_disagrees_where_it_says():
    from linkpaper.chapters.probe import misaligned_example
    from linkpaper.classes import CLASS_INDEX
    from linkpaper.losses import iou_targets

    clip = misaligned_example()
    speech, car, dog = (CLASS_INDEX[n] for n in ("Speech", "Car", "Dog"))
    assert clip["audio"][:, speech].nonzero()[0].tolist() == list(range(8))
    assert clip["visual"][:, speech].sum() == 0 and clip["audio"][:, car].sum() == 0
    assert clip["visual"][:, dog].nonzero()[0].tolist() == [8, 9]
    assert sorted(clip["weak"].nonzero()[0].tolist()) == sorted(clip["classes"])
    r = iou_targets(torch.as_tensor(clip["audio"])[None], torch.as_tensor(clip["visual"])[None])[0]
    assert r[9, 9] == 1 and r[7, 8] == 0.5 and r[0, 4] == 0 and r[0, 0] == 0  # dog, dog+speech, speech/car


def test_lr_budget_of_a_schedule_and_of_a_record():
    from linkpaper.chapters.probe import lr_budget, record_budget
    from linkpaper.training.recipe import lr_at_epoch

    budget = lr_budget(60, 157, 10)
    assert budget.shape == (60,) and budget[0] == pytest.approx(lr_at_epoch(1, 60) * 157)
    assert budget[39] > 1 > budget[19]  # LLP's 157 steps per epoch carry a scalar past 1 by epoch 40
    record = {
        **_record("+S", 87, [0.0]),
        "data": {"sizes": {"train": 2000}},
        "config": {"model": "+S", "epochs": 6, "warmup_epochs": 1, "batch_size": 64},
    }
    assert record_budget(record) == pytest.approx(lr_budget(6, 32, 1))
