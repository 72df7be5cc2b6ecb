"""How tables leave as files: CSV or XLSX attachments, and the report's language choice."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path, Query, Response

from services.metrics.reporting import export
from services.metrics.reporting.cells import Table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ExportForm = Annotated[str, Path(pattern="^(csv|xlsx)$")]
Lang = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
        description="zh-CN or en; else Accept-Language, else the company language",
    ),
]
AcceptLanguage = Annotated[str | None, Header(max_length=500)]


def download(tables: list[Table], name: str, form: str, currency: str | None) -> Response:
    """The tables as a CSV or XLSX attachment."""
    if form == "csv":
        return Response(
            export.to_csv(tables).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        export.to_xlsx(tables, currency or "CNY", "en"),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
