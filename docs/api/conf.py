"""Sphinx configuration that renders the public API of drift_constructs to Markdown.

``make docs`` runs ``sphinx-build -b markdown`` on this folder and copies the output
to API.md at the repository root. The output must not depend on the machine or the
date, because a test compares a fresh build with the committed API.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sphinx.util.inspect import signature as inspect_signature
from sphinx.util.inspect import stringify_signature
from sphinx_markdown_builder.translator import (  # type: ignore[import-untyped]
    MarkdownTranslator,
)

# Document the source tree, not whatever copy of the package is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from constructs import Construct

project = "drift-constructs"
author = "The drift-constructs authors"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_markdown_builder",
]

root_doc = "index"
exclude_patterns: list[str] = []

# Members come from drift_constructs.__all__, in source order.
autodoc_member_order = "bysource"
autodoc_default_options = {
    "members": True,
    "show-inheritance": False,
}
# Show defaults as written in the source (``logs.RetentionDays.ONE_MONTH``) rather
# than the repr of the object, which can contain a memory address.
autodoc_preserve_defaults = True
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
# Show no docstring copied from a base class, such as constructs.Construct.
autodoc_inherit_docstrings = False

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = False
napoleon_attr_annotations = True

# No page footer with a date, and no anchors, so the output does not vary by build.
html_last_updated_fmt: str | None = None
markdown_anchor_sections = False
markdown_anchor_signatures = False


# Sphinx calls event handlers with positional arguments, so their signatures are fixed.
def _construct_signature(  # noqa: PLR0917
    app: Any,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    """Read a construct's signature from ``__init__``.

    jsii gives every construct class a metaclass whose ``__call__`` takes
    ``*args, **kwargs``, and autodoc would show that instead of the real parameters.
    """
    if what != "class" or not isinstance(obj, type) or not issubclass(obj, Construct):
        return None
    init_signature = inspect_signature(obj.__init__, bound_method=True)
    return stringify_signature(init_signature, show_return_annotation=False), None


def _drop_builtin_docstring(  # noqa: PLR0917
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Drop the docstring a module constant inherits from its type (``tuple``)."""
    if what == "data" and getattr(obj, "__doc__", None) == type(obj).__doc__:
        lines.clear()


def setup(app: Any) -> dict[str, Any]:
    """Connect the signature fix and the Markdown translator fix."""

    class _Translator(MarkdownTranslator):  # type: ignore[misc]
        # The keyword-only marker ``*`` of a signature is an abbreviation node, which
        # the Markdown builder would drop. Writing its text keeps the marker.
        def visit_abbreviation(self, node: Any) -> None:
            pass

        def depart_abbreviation(self, node: Any) -> None:
            pass

    app.set_translator("markdown", _Translator, override=True)
    app.connect("autodoc-process-signature", _construct_signature)
    app.connect("autodoc-process-docstring", _drop_builtin_docstring)
    return {"parallel_read_safe": True}
