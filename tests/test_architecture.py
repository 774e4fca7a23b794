"""linkpaper.chapters.architecture: the committed diagram is what the code draws, and names the modules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pytest.importorskip("seaborn")

from linkpaper.chapters import architecture

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "book" / "figures" / "architecture.svg"
REGENERATE = "python -m linkpaper.chapters.architecture book/figures/architecture.svg"


def _creator(svg: str) -> str:
    match = re.search(r"<dc:creator>\s*<cc:Agent>\s*<dc:title>(.*?)</dc:title>", svg, re.S)
    return match.group(1) if match else ""


def _texts(svg: str) -> list[str]:
    """The strings drawn in the SVG: matplotlib writes each one as a comment before its glyphs."""
    return re.findall(r"<!-- (.*?) -->", svg)


def test_committed_svg_is_what_the_code_draws(tmp_path):
    fresh = architecture.write_svg(tmp_path / "architecture.svg").read_text(encoding="utf-8")
    committed = COMMITTED.read_text(encoding="utf-8")
    if _creator(fresh) == _creator(committed):
        assert fresh == committed, f"{COMMITTED.name} is stale: run {REGENERATE}"
    else:  # another matplotlib may place glyphs differently; the drawn text must still agree
        assert _texts(fresh) == _texts(committed), f"{COMMITTED.name} is stale: run {REGENERATE}"


def test_svg_is_deterministic(tmp_path):
    first = architecture.write_svg(tmp_path / "a.svg").read_bytes()
    second = architecture.write_svg(tmp_path / "b.svg").read_bytes()
    assert first == second
    assert b"<dc:date>" not in first


def test_figure_names_every_module_and_each_decision_has_a_mark():
    fig = architecture.architecture_figure()
    try:
        drawn = " ".join(text.get_text() for ax in fig.axes for text in ax.texts)
        for name in architecture.MODULE_NAMES:
            assert name in drawn, f"the diagram does not name {name}"
        badges = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text().isdigit()]
        assert sorted(set(badges)) == [str(n) for n in range(1, len(architecture.DECISIONS) + 1)]
        description = architecture.architecture_figure.__doc__
        assert description and "book's reading" in description
        assert fig._linkpaper_description["alt"].startswith("Block diagram")
    finally:
        matplotlib.pyplot.close(fig)
    svg = COMMITTED.read_text(encoding="utf-8")
    for name in ("TSAM", "CMIM", "PLSIM", "HAN encoder", "MMIL heads", "S-LOSS"):
        assert any(name in text for text in _texts(svg)), f"{COMMITTED.name} does not name {name}"


def test_every_decision_mark_has_an_anchor_on_the_decisions_page():
    page = (ROOT / "book" / "decisions.md").read_text(encoding="utf-8")
    for _, anchor in architecture.DECISIONS:
        assert f"({anchor})=" in page, f"book/decisions.md has no anchor {anchor}"


def test_main_writes_the_file(tmp_path, capsys):
    out = tmp_path / "sub" / "arch.svg"
    assert architecture.main([str(out)]) == 0
    assert out.read_bytes().startswith(b"<?xml")
    assert str(out) in capsys.readouterr().out


def test_text_is_readable_at_the_column_width():
    """Shown 672 px wide, no text may fall under about 11 px (MIN_FONT points)."""
    fig = architecture.architecture_figure()
    try:
        scale = 672 / (fig.get_figwidth() * 96)  # CSS px per px of the natural size
        sizes = [t.get_fontsize() for ax in fig.axes for t in ax.texts]
        sizes += [t.get_fontsize() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        assert min(sizes) >= architecture.MIN_FONT
        assert architecture.MIN_FONT * 96 / 72 * scale >= 11
    finally:
        matplotlib.pyplot.close(fig)


def test_intro_lists_every_numbered_mark():
    page = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    for _, anchor in architecture.DECISIONS:
        assert f"{{ref}}`{anchor}`" in page, f"the intro's list of marks lacks {anchor}"
