"""Build-time helpers of the book (Jupyter Book 1.x / Sphinx), not used by the package itself.

* ``setup(app)``, a Sphinx extension (``_config.yml``: ``sphinx.extra_extensions``): the API
  page renders the package's docstrings with autodoc; they are written as plain text, where a
  ``|`` (as in ``|A_i ∩ V_j|``) would start a reStructuredText substitution, so it is escaped.
* :class:`FigureRenderer`, a myst-nb mime renderer (entry point ``myst_nb.mime_renderers`` in
  ``pyproject.toml``): a notebook image output whose metadata holds ``alt`` and ``caption``
  (every figure of ``linkpaper.chapters.viz`` / ``modelviz`` / the analyses, see ``viz.describe``) is
  rendered as a figure with that alt text and caption.
"""

from __future__ import annotations

import re

_LITERAL = re.compile(r"(``.+?``)")
IMAGE_TYPES = ("image/png", "image/jpeg")


def escape_bars(text: str) -> str:
    """``|`` -> ``\\|`` outside ``double-backtick`` literals (reST substitution syntax)."""
    parts = _LITERAL.split(text)
    return "".join(part if part.startswith("``") else part.replace("|", "\\|") for part in parts)


def _process_docstring(app, what, name, obj, options, lines) -> None:
    lines[:] = [escape_bars(line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _process_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


class FigureRenderer:
    """Renders image outputs that carry ``{"alt", "caption"}`` metadata as captioned figures."""

    mime_priority_overrides = ()

    @staticmethod
    def handle_mime(renderer, data, inline):
        if inline or data.mime_type not in IMAGE_TYPES:
            return None
        meta = data.output_metadata.get(data.mime_type) or {}
        alt, caption = meta.get("alt"), meta.get("caption")
        if not alt and not caption:
            return None
        from docutils import nodes

        rendered = renderer.render_image(data)
        image = rendered[0]
        if alt:
            image["alt"] = str(alt)
        if not caption:
            return rendered
        figure = nodes.figure(classes=["nb-figure"])
        figure += image
        figure += nodes.caption(text=str(caption))
        return [figure]
