"""The report's tables as CSV (one file, a titled block per section) and XLSX (one sheet per
section; numbers as numbers, money in the plan currency's format, ratios as percentages)."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from io import BytesIO, StringIO

from babel.numbers import get_currency_symbol
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from services.metrics.reporting.cells import Cell, Table

_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def _raw(cell: Cell) -> str:
    if isinstance(cell.value, Decimal):
        # A ratio to four places (66.67 %): enough for a percentage, no 28-digit tails.
        value = cell.value.quantize(Decimal("0.0001")) if cell.kind == "percent" else cell.value
        return f"{value.normalize():f}"
    if isinstance(cell.value, date):
        return cell.value.isoformat()
    return cell.text


def to_csv(sections: Sequence[Table]) -> str:
    """Each section's title, header and rows; numbers plain (``0.9`` for 90 %), then a blank."""
    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for table in sections:
        writer.writerow([table.title])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([_raw(cell) + (f" ({cell.note})" if cell.note else "") for cell in row])
        writer.writerow([])
    return out.getvalue()


def to_xlsx(sections: Sequence[Table], currency: str, locale: str) -> bytes:
    """One worksheet per section, header bold and frozen."""
    symbol = get_currency_symbol(currency, locale=locale)
    formats = {
        "money": f'"{symbol}"#,##0.00',
        "percent": "0.00%",
        "number": "#,##0.####",
        "date": "yyyy-mm-dd",
    }
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for table in sections:
        # Excel allows 31 characters and none of []:*?/\ in a sheet name.
        name = " ".join(_SHEET_NAME.sub(" ", table.title).split())[:31] or table.key[:31]
        while name in used:
            name = name[:28] + f"~{len(used)}"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append(table.columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(
                [
                    float(cell.value)
                    if isinstance(cell.value, Decimal) and cell.kind != "text"
                    else cell.value
                    if isinstance(cell.value, date)
                    else cell.text
                    for cell in row
                ]
            )
            for written, cell in zip(sheet[sheet.max_row], row, strict=True):
                if cell.kind in formats and not isinstance(written.value, str):
                    written.number_format = formats[cell.kind]
                else:
                    written.alignment = Alignment(wrap_text=True, vertical="top")
        for column in sheet.columns:
            letter = column[0].column_letter
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[letter].width = min(max(width + 2, 10), 60)
        sheet.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    return out.getvalue()
