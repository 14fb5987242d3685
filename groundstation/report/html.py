"""What every page of the report shares: the Jinja2 templates, and images as data URIs.

The session, mission and sputnik22 pages (:mod:`groundstation.report.pages`) and the decode
page (:mod:`groundstation.report.decode_page`) render through :func:`render` and embed
their images as :class:`Img`, so every page is self-contained in the same way.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from groundstation.report.images import Picture


@dataclass(frozen=True)
class Img:
    """An image as the templates embed it: a data URI, its text, its shown width."""

    src: str
    alt: str
    caption: str = ""
    width_px: int | None = None
    css: str = ""


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def picture_img(picture: Picture | None, caption: str = "") -> Img | None:
    """A picture (its PNG, text and shown width) as an :class:`Img`; None for None."""
    if picture is None:
        return None
    return Img(data_uri(picture.png), picture.alt, caption, picture.width_px, picture.css)


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("groundstation.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    """The page ``template`` (a file of ``report/templates/``) rendered with ``context``."""
    return _templates().get_template(template).render(**context)
