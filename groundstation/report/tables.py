"""Tables as the report templates render them, each defined as a list of columns.

A :class:`Column` says what heads it (a header and a unit) and how an item becomes its
cell; :func:`build_table` applies a list of columns to a list of items. Adding a column
to a table is one edit: one more :class:`Column` in its list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Cell:
    """One table cell: plain text (escaped by the template) and how to show it."""

    text: str
    numeric: bool = False
    strong: bool = False
    muted: bool = False
    href: str = ""
    #: A second, muted line (an error message under a reason).
    note: str = ""
    #: Wrap between words only, never at a hyphen inside one (a date and a time).
    whole_words: bool = False


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column of a table: ``header (unit)`` and the cell of an item.

    Attributes
    ----------
    header : str
        Column heading.
    unit : str
        Unit of the values ("" for none); shown under the heading.
    cell : callable
        The item's value as text (or a :class:`Cell`).
    numeric : bool
        Right-aligned, tabular figures.
    optional : bool
        Left out of a table where it would be empty on every row.
    """

    header: str
    unit: str
    cell: Callable[[T], str | Cell]
    numeric: bool = True
    optional: bool = False


@dataclass(frozen=True)
class Row:
    """A table row; ``status`` is ``good``, ``bad`` or ``""`` (row colour)."""

    cells: tuple[Cell, ...]
    status: str = ""


@dataclass(frozen=True)
class Table:
    """A table as the templates render it."""

    headers: tuple[tuple[str, str, bool], ...]
    rows: tuple[Row, ...]
    css: str = ""


def build_table(
    columns: Sequence[Column[T]],
    items: Sequence[T],
    *,
    status: Callable[[T], str] | None = None,
    css: str = "",
) -> Table:
    """The table of ``items`` under ``columns`` (optional columns only where not empty)."""
    grid = [
        [v if isinstance(v := c.cell(item), Cell) else Cell(v, c.numeric) for c in columns]
        for item in items
    ]
    keep = [
        j
        for j, c in enumerate(columns)
        if not c.optional or any(row[j].text or row[j].note for row in grid)
    ]
    rows = tuple(
        Row(tuple(row[j] for j in keep), status(item) if status else "")
        for row, item in zip(grid, items, strict=True)
    )
    headers = tuple((columns[j].header, columns[j].unit, columns[j].numeric) for j in keep)
    return Table(headers, rows, css)


@dataclass(frozen=True)
class Fact:
    """A line of a facts table: what, and its value."""

    name: str
    value: str
