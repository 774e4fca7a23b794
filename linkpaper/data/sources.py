"""Resolve a data spec string to an AVVPData: ``synth:PRESET[:SEED]`` or ``llp:DIR``.

Examples: ``synth:small`` (SynthLLP, preset small, seed 0), ``synth:full:3`` (seed 3),
``synth:tiny`` (unit tests), ``llp:/data/valor_features`` (the released VALOR feature layout),
``han:/data/llp`` (HAN's feature release: VGGish, ResNet-152, R(2+1)D; the field's methods).
Synthetic data is cached in-process: the same spec and seed give the same object, so a grid
of runs generates it once.
"""

from __future__ import annotations

from pathlib import Path

from linkpaper.data.split import AVVPData
from linkpaper.errors import ConfigError

EXAMPLES = (
    "synth:small, synth:full, synth:tiny, synth:small:3 (seed 3), llp:/path/to/valor_features, "
    "han:/path/to/han_features"
)

_SYNTH_CACHE: dict[tuple, AVVPData] = {}


def parse_spec(spec: str, seed: int = 0) -> dict:
    """``{"kind": "synth", "preset": str, "seed": int}`` or ``{"kind": "llp", "root": Path}``."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(f"--data {spec!r}: expected KIND:VALUE, e.g. {EXAMPLES}")
    kind, _, rest = spec.partition(":")
    if kind == "synth":
        preset, _, seed_text = rest.partition(":")
        if not preset:
            raise ConfigError(f"--data {spec!r}: name a SynthLLP preset, e.g. {EXAMPLES}")
        if seed_text:
            try:
                seed = int(seed_text)
            except ValueError:
                raise ConfigError(
                    f"--data {spec!r}: the seed {seed_text!r} is not an integer (e.g. synth:small:3)"
                ) from None
        from linkpaper.limits import MAX_SEED

        if not 0 <= int(seed) <= MAX_SEED:
            raise ConfigError(
                f"--data {spec!r}: the seed {seed} is out of range; expected an integer from 0 to {MAX_SEED}"
            )
        return {"kind": "synth", "preset": preset, "seed": int(seed)}
    if kind in ("llp", "han"):
        if not rest:
            raise ConfigError(f"--data {spec!r}: give the features folder, e.g. {kind}:/path/to/features")
        return {"kind": kind, "root": Path(rest).expanduser()}
    raise ConfigError(f"--data {spec!r}: unknown data kind {kind!r}; examples: {EXAMPLES}")


def load_data(spec: str, data_dir: str | Path | None = None, seed: int = 0, progress: bool = True) -> AVVPData:
    """The AVVPData a spec names (see the module docstring). ``seed`` is the SynthLLP seed
    unless the spec carries its own; ``data_dir`` locates the LLP annotation CSVs; ``progress``
    False hides the ``llp:`` loading bar (``--quiet``)."""
    parsed = parse_spec(spec, seed)
    if parsed["kind"] == "synth":
        from linkpaper.data.synth import make_synth

        key = (parsed["preset"], parsed["seed"], str(data_dir) if data_dir else None)
        if key not in _SYNTH_CACHE:
            try:
                _SYNTH_CACHE[key] = make_synth(parsed["preset"], seed=parsed["seed"], data_dir=data_dir)
            except (KeyError, ValueError) as err:
                if isinstance(err, ConfigError):
                    raise
                raise ConfigError(f"--data {spec!r}: {err}; examples: {EXAMPLES}") from None
        return _SYNTH_CACHE[key]
    root = parsed["root"]
    if parsed["kind"] == "han":
        if not root.is_dir():
            raise ConfigError(
                f"--data {spec!r}: the folder {root} does not exist; point han: at HAN's feature "
                "release (feats/vggish, feats/res152, feats/r2plus1d_18)"
            )
        from linkpaper.data.han_release import load_han_release

        return load_han_release(root, data_dir=data_dir)
    if not root.is_dir():
        raise ConfigError(
            f"--data {spec!r}: the folder {root} does not exist; point llp: at the released VALOR "
            "feature layout (see 'python -m linkpaper synth' for a synthetic one in the same layout)"
        )
    from linkpaper.data.features import load_llp

    return load_llp(root, data_dir=data_dir, progress=progress)
