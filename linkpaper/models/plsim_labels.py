"""Which labels PLSIM reads (``book/decisions.md#decision-plsim-labels``): one object per mode.

A mode knows the split fields it reads (``None``: the model's own first pass), whether those
labels carry the ground-truth video labels into val/test scores (``leaks``), and the leakage
policy: a leaking mode runs only with ``allow_label_leakage``. :func:`plsim_label_mode` is the
one check of a mode's name; the run's configuration, the model's configuration, the engine and
the run record all go through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from linkpaper.errors import ConfigError

_DECISION = "book/decisions.md#decision-plsim-labels"


@dataclass(frozen=True)
class PLSIMLabelMode:
    """One way of giving PLSIM its (audio, visual) labels, each (N, T, C).

    name: the ``--plsim-labels`` value. fields: the split's (audio, visual) label fields, or None
    when the model labels itself (``self``). leaks: True when the labels are AND-ed with the
    ground-truth video labels for val and test too (``gated``).
    """

    name: str
    fields: tuple[str, str] | None
    leaks: bool

    @property
    def from_model(self) -> bool:
        """True when the model makes its own labels (a first pass by the inference rule)."""
        return self.fields is None

    def check_allowed(self, allow_label_leakage: bool) -> None:
        """Refuse a leaking mode unless the run allows label leakage (ConfigError)."""
        if self.leaks and not allow_label_leakage:
            raise ConfigError(
                f"--plsim-labels {self.name}: the released pseudo labels are AND-ed with the ground-truth "
                "video labels, for val and test too, so a model that reads them at evaluation time sees "
                f"the answers ({_DECISION}). Use --plsim-labels ungated or self, or pass "
                "--allow-label-leakage to run it anyway; the results are then marked as having used "
                "ground-truth video labels."
            )

    def labels(self, split, allow_label_leakage: bool = False) -> tuple:
        """The (audio, visual) labels of ``split`` under this mode, each (N, T, C), or (None, None)
        for ``self``. Raises ConfigError for a leaking mode without ``allow_label_leakage`` and for
        a split that lacks the fields."""
        if self.fields is None:
            return None, None
        self.check_allowed(allow_label_leakage)
        audio, visual = (getattr(split, name) for name in self.fields)
        if audio is None or visual is None:
            raise ConfigError(
                f"--plsim-labels {self.name}: the {split.name} split has no {self.name} pseudo labels "
                "(CLAP/segment_pseudo_labels_ungated, CLIP/segment_pseudo_labels_ungated). Produce them "
                "with 'python -m linkpaper extract', or use --plsim-labels self (the model's own first "
                "pass, no leakage), or --plsim-labels gated --allow-label-leakage (leaks ground-truth "
                "video labels into val/test scores)."
            )
        return audio, visual


PLSIM_LABEL_MODES: dict[str, PLSIMLabelMode] = {
    mode.name: mode
    for mode in (
        PLSIMLabelMode("ungated", ("pseudo_audio_ungated", "pseudo_visual_ungated"), leaks=False),
        PLSIMLabelMode("self", None, leaks=False),
        PLSIMLabelMode("gated", ("pseudo_audio", "pseudo_visual"), leaks=True),
    )
}
"""Every mode by name, the default (``ungated``: the teachers' labels over all classes) first."""


def plsim_label_mode(name: str, option: str = "--plsim-labels") -> PLSIMLabelMode:
    """The mode called ``name``; ConfigError naming ``option`` and the choices for any other value."""
    mode = PLSIM_LABEL_MODES.get(name) if isinstance(name, str) else None
    if mode is None:
        raise ConfigError(
            f"{option}: unknown mode {name!r}; choose one of {', '.join(PLSIM_LABEL_MODES)} ({_DECISION})"
        )
    return mode
