"""CSV for spreadsheets: RFC 4180 quoting, UTF-8 with a byte-order mark (so Excel reads the
accents of "Kelurahan Nambangan Lor" right), and no formulas.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or a
carriage return) as a formula: a citizen who writes `=HYPERLINK("http://...")` as a complaint
would otherwise put a link, or worse, into an officer's spreadsheet. Such a text cell is
written with an apostrophe in front, which spreadsheets show as the text itself. Numbers
(coordinates, counts) are written as numbers: `-7.63` is a number, not a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """A text cell that no spreadsheet reads as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value: object) -> str:
    """The CSV text of a value: empty for None, true/false, numbers as written, texts made
    safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return safe_text(str(value))


def csv_lines(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text (quoted where needed, CRLF line ends), every cell through `cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
