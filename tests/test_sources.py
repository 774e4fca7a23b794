"""Data specs: ``synth:PRESET[:SEED]`` and ``llp:DIR`` resolve to AVVPData, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkpaper.data.sources import load_data, parse_spec
from linkpaper.data.split import AVVPData
from linkpaper.errors import ConfigError, UserError


def test_parse_spec_forms():
    assert parse_spec("synth:small") == {"kind": "synth", "preset": "small", "seed": 0}
    assert parse_spec("synth:full:3") == {"kind": "synth", "preset": "full", "seed": 3}
    assert parse_spec("synth:tiny", seed=7)["seed"] == 7
    assert parse_spec("llp:/data/valor") == {"kind": "llp", "root": Path("/data/valor")}


@pytest.mark.parametrize(
    "spec, message",
    [
        ("small", "expected KIND:VALUE.*synth:small"),
        ("imagenet:train", "unknown data kind 'imagenet'.*llp:"),
        ("synth:", "name a SynthLLP preset"),
        ("synth:small:x", "seed 'x' is not an integer"),
        ("llp:", "give the features folder"),
    ],
)
def test_bad_specs_name_the_problem_and_give_examples(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_spec(spec)


def test_synthetic_data_is_cached_per_spec_and_seed():
    first = load_data("synth:tiny")
    assert isinstance(first, AVVPData) and first.source["preset"] == "tiny"
    assert load_data("synth:tiny") is first
    assert load_data("synth:tiny:0") is first
    other = load_data("synth:tiny:1")
    assert other is not first and other.source["seed"] == 1


def test_unknown_preset_is_a_user_error():
    with pytest.raises(UserError, match="nonexistent"):
        load_data("synth:nonexistent")


def test_missing_llp_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=str(tmp_path / "absent")):
        load_data(f"llp:{tmp_path / 'absent'}")
