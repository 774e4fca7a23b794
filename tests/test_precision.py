"""--precision, --compile and --log: bf16 autocast, records that name it, refusals, live curves."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers_sizes import SMALL_MODEL
from helpers_sizes import tiny_run_config as config

from linkpaper.cli import main
from linkpaper.data.sources import load_data
from linkpaper.errors import ConfigError, UserError
from linkpaper.models import build_model
from linkpaper.training.engine import train
from linkpaper.training.precision import apply_precision, as_float32, bf16_support, check_precision, compile_model
from linkpaper.training.runs import CHECKPOINT_LAST, RunRecord, config_differences


@pytest.fixture(scope="module")
def tiny():
    return load_data("synth:tiny")


def _inputs(batch=3):
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(batch, 10, 768, generator=g),
        torch.randn(batch, 10, 768, generator=g),
        torch.randn(batch, 10, 512, generator=g),
    )


def test_fp32_leaves_the_model_as_it_was_and_bf16_computes_the_products_in_bf16():
    torch.manual_seed(0)
    model = build_model("valor++", **SMALL_MODEL).eval()
    assert apply_precision(model, "fp32") is model and "forward" not in vars(model)
    reference = model(*_inputs())
    seen = []
    model.fc_prob.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    apply_precision(model, "bf16")
    output = model(*_inputs())
    assert seen == [torch.bfloat16]  # the head's product ran in bf16 ...
    for name in ("global_prob", "a_prob", "v_prob", "frame_prob", "frame_logits", "audio_hidden", "visual_hidden"):
        assert getattr(output, name).dtype == torch.float32, name  # ... and the output is handed back in fp32
    # bf16 keeps about 3 significant digits: close to the fp32 forward, not equal to it.
    assert not torch.equal(output.frame_prob, reference.frame_prob)
    torch.testing.assert_close(output.frame_prob, reference.frame_prob, atol=3e-2, rtol=0)
    # The weights stay fp32, and a deep copy runs its own weights (the forward is rebound).
    assert all(p.dtype == torch.float32 for p in model.parameters())
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for p in twin.parameters():
            p.zero_()
    assert not torch.equal(twin(*_inputs()).frame_logits, output.frame_logits)


def test_as_float32_keeps_the_gradient_path():
    from linkpaper.models.valor import AVVPOutput

    x = torch.ones(2, requires_grad=True)

    half = (x * 3).to(torch.bfloat16)
    output = AVVPOutput(*(half for _ in range(7)), diagnostics={"mu": half[0]})
    cast = as_float32(output)
    assert cast.global_prob.dtype == torch.float32 and cast.diagnostics["mu"].dtype == torch.float32
    cast.global_prob.sum().backward()
    assert torch.equal(x.grad, torch.full((2,), 3.0))


def test_bf16_run_is_recorded_repeatable_and_near_the_fp32_run(tiny):
    fp32 = train(config(epochs=1, model="link"), None, data=tiny, progress=False)
    bf16 = train(config(epochs=1, model="link", precision="bf16"), None, data=tiny, progress=False)
    again = train(config(epochs=1, model="link", precision="bf16"), None, data=tiny, progress=False)
    assert fp32.config["precision"] == "fp32" and bf16.config["precision"] == "bf16"
    assert bf16.test_row == again.test_row  # same seed on the CPU: same numbers, in bf16 too
    loss32, loss16 = fp32.epochs[0]["train_loss"]["total"], bf16.epochs[0]["train_loss"]["total"]
    assert loss16 != loss32 and loss16 == pytest.approx(loss32, rel=1e-2)
    assert bf16.epochs[0]["diagnostics"]["mu"] == pytest.approx(fp32.epochs[0]["diagnostics"]["mu"], rel=1e-2)


def test_a_run_never_resumes_in_another_precision(tmp_path, tiny):
    run = tmp_path / "run"
    train(config(), run, data=tiny, stop_after=1, progress=False)
    with pytest.raises(ConfigError, match="precision: 'fp32' -> 'bf16'"):
        train(config(precision="bf16"), run, data=tiny, resume=True, progress=False)
    # A record written before the field existed is fp32: it resumes as fp32 and refuses bf16.
    record = json.loads((run / "results.json").read_text())
    del record["config"]["precision"], record["config"]["compile"], record["config"]["log"]
    (run / "results.json").write_text(json.dumps(record))
    state = torch.load(run / CHECKPOINT_LAST, weights_only=True)
    for key in ("precision", "compile", "log"):
        del state["config"][key]
    torch.save(state, run / CHECKPOINT_LAST)
    with pytest.raises(ConfigError, match="precision: 'fp32' -> 'bf16'"):
        train(config(precision="bf16"), run, data=tiny, resume=True, progress=False)
    assert train(config(), run, data=tiny, resume=True, progress=False)["complete"]


def test_config_differences_read_a_missing_field_as_its_first_value():
    old = {"model": "valor++", "epochs": 3}
    assert config_differences(old, {**old, "precision": "fp32", "compile": False, "log": "tensorboard"}) == []
    assert config_differences(old, {**old, "precision": "bf16"}) == ["precision: 'fp32' -> 'bf16'"]
    assert config_differences(old, {**old, "compile": True}) == ["compile: False -> True"]


def test_grid_refuses_to_mix_precisions_and_runs_bf16(tmp_path, capsys):
    out = tmp_path / "grid"
    common = [
        "grid",
        "--variants",
        "valor++",
        "--seeds",
        "1",
        "--data",
        "synth:tiny",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--out",
        str(out),
        "--quiet",
        "--threads",
        "1",
        "--model-override",
        "hidden_dim=16",
        "--model-override",
        "num_layers=1",
        "--model-override",
        "ff_dim=32",
    ]
    assert main([*common, "--precision", "bf16"]) == 0
    record = RunRecord.read(out / "valorpp" / "seed87")
    assert record.config["precision"] == "bf16" and record.complete
    assert "trained in bf16 (autocast)" in (out / "summary.md").read_text()
    assert json.loads((out / "summary.json").read_text())["precision"] == "bf16"
    capsys.readouterr()
    assert main(common) == 2  # the fp32 grid would join bf16 runs
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "precision: 'bf16' -> 'fp32'" in err and "Traceback" not in err


def test_bad_precision_and_unsupported_options_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="--precision: unknown 'fp16'; choose one of fp32, bf16"):
        check_precision("fp16", "cpu")
    with pytest.raises(ConfigError, match="--precision"):
        config(precision="half").validate()
    with pytest.raises(ConfigError, match="--log: unknown 'wandb'"):
        config(log="wandb").validate()
    result = subprocess.run(
        [sys.executable, "-m", "linkpaper", "train", "--precision", "fp16", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "invalid choice: 'fp16'" in result.stderr and "Traceback" not in result.stderr


def test_bf16_support_reads_the_cpu_flags(tmp_path):
    with_bf16, without = tmp_path / "a", tmp_path / "b"
    with_bf16.write_text("model name\t: X\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile amx_bf16\n")
    without.write_text("model name\t: Y\nflags\t\t: fpu sse avx2\n")
    found = bf16_support("cpu", with_bf16)
    assert found["hardware"] and found["flags"] == ["amx_bf16", "avx512_bf16"] and "in hardware" in found["text"]
    missing = bf16_support("cpu", without)
    assert not missing["hardware"] and "emulated" in missing["text"]
    assert not bf16_support("cpu", tmp_path / "absent")["hardware"]


def test_compile_keeps_parameter_names_and_numbers():
    torch.manual_seed(0)
    model = build_model("valor++", **SMALL_MODEL).eval()
    names = list(model.state_dict())
    expected = model(*_inputs()).frame_prob
    compiled = compile_model(model, backend="eager")  # inductor needs minutes here; the wrapping is the same
    assert compiled is model and list(model.state_dict()) == names
    torch.testing.assert_close(model(*_inputs()).frame_prob, expected)


def test_compile_flag_reaches_the_record(tmp_path, tiny, monkeypatch):
    calls = []
    monkeypatch.setattr("linkpaper.training.engine.compile_model", lambda model: calls.append(model) or model)
    record = train(config(epochs=1, compile=True), None, data=tiny, progress=False)
    assert len(calls) == 1 and record.config["compile"] is True


# --------------------------------------------------------------------------------------------
# --log tensorboard
# --------------------------------------------------------------------------------------------


def test_tensorboard_log_holds_every_curve(tmp_path, tiny):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    record = train(config(model="link", epochs=2, log="tensorboard"), run, data=tiny, progress=False)
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {
        "lr",
        "loss/total",
        "loss/video",
        "val/segment/type",
        "val/event/type",
        "diagnostics/mu",
        "diagnostics/alpha1",
        "diagnostics/beta1",
    } <= tags
    mu = events.Scalars("diagnostics/mu")
    assert [e.step for e in mu] == [1, 2]
    assert [e.value for e in mu] == pytest.approx([e["diagnostics"]["mu"] for e in record.epochs])
    assert [e.value for e in events.Scalars("loss/total")] == pytest.approx(
        [e["train_loss"]["total"] for e in record.epochs]
    )


def test_without_log_tensorboard_is_never_imported(tmp_path):
    code = (
        "import sys; from linkpaper.training.engine import train; from helpers_sizes import tiny_run_config as c; "
        "train(c(epochs=1), None, progress=False); "
        "print(sorted(m for m in sys.modules if 'tensorboard' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(Path(__file__).parent)
    )
    assert result.stdout.strip() == "[]"


def test_log_without_the_extra_or_a_run_folder_is_one_line(tmp_path, tiny, monkeypatch, capsys):
    with pytest.raises(ConfigError, match="give the run an --out folder"):
        train(config(epochs=1, log="tensorboard"), None, data=tiny, progress=False)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the extra were not installed
    with pytest.raises(UserError, match=r"install the \[tracking\] extra"):
        train(config(epochs=1, log="tensorboard"), tmp_path / "run", data=tiny, progress=False)
    assert not (tmp_path / "run").exists()  # nothing left behind
    argv = [
        "train",
        "--data",
        "synth:tiny",
        "--epochs",
        "1",
        "--log",
        "tensorboard",
        "--quiet",
        "--out",
        str(tmp_path / "cli"),
        "--model-override",
        "hidden_dim=16",
        "--model-override",
        "num_layers=1",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[tracking]" in err


def test_cli_options_reach_the_config():
    from linkpaper.cli import build_parser
    from linkpaper.commands.train import config_from_args

    args = build_parser({"train"}).parse_args(
        ["train", "--out", "x", "--precision", "bf16", "--compile", "--log", "tensorboard"]
    )
    made = config_from_args(args, model="link", seed=1)
    assert (made.precision, made.compile, made.log) == ("bf16", True, "tensorboard")
    default = config_from_args(build_parser({"train"}).parse_args(["train", "--out", "x"]), model="link", seed=1)
    assert (default.precision, default.compile, default.log) == ("fp32", False, None)
    assert dataclasses.asdict(default)["precision"] == "fp32"


def test_bit_identity_check_reads_an_added_key_at_its_default_as_absent(tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import check_bit_identity

    old, new, bf16 = tmp_path / "old", tmp_path / "new", tmp_path / "bf16"
    for folder in (old, new, bf16):
        folder.mkdir()
    run = {"config": {"model": "link", "epochs": 2}, "test_row": [1.5]}
    (old / "r.json").write_text(json.dumps({"record": run}))
    (new / "r.json").write_text(
        json.dumps({"record": {**run, "config": {**run["config"], "precision": "fp32", "compile": False, "log": None}}})
    )
    (bf16 / "r.json").write_text(json.dumps({"record": {**run, "config": {**run["config"], "precision": "bf16"}}}))
    assert check_bit_identity.compare(old, new) == 0
    assert (
        "IDENTICAL r.json (added configuration keys at their default: compile, log, precision)"
        in capsys.readouterr().out
    )
    assert check_bit_identity.compare(old, bf16) == 1
    assert "DIFFERENT r.json" in capsys.readouterr().out


def test_dropout_inside_a_compiled_forward_is_torchs_own(monkeypatch):
    """The NumPy mask would break a compiled graph at every dropout: under torch.compile the
    HAN layers' dropout is F.dropout (same expectation, torch's random stream); eager CPU
    training keeps the NumPy masks."""
    from linkpaper.models.dropout import drop

    x = torch.ones(4, 10, 64)
    torch.manual_seed(3)
    eager = drop(x, 0.5, training=True)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    torch.manual_seed(3)
    compiled = drop(x, 0.5, training=True)
    torch.manual_seed(3)
    assert torch.equal(compiled, torch.nn.functional.dropout(x, 0.5, training=True))
    assert not torch.equal(compiled, eager)  # another random stream, as the record's compile flag says
    assert set(compiled.unique().tolist()) <= {0.0, 2.0}
