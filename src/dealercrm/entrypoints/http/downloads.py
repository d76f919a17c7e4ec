"""An export (``application.exports.Download``) as a streamed file response: the rows are read
and written while the response is sent, so a large export never sits in memory."""

from __future__ import annotations

from urllib.parse import quote

from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Stream

from dealercrm.application.exports import Download


#: The OpenAPI answer of an export route: a CSV (UTF-8 with BOM) or, with ``format=xlsx``, a workbook.
EXPORT_RESPONSES = {200: ResponseSpec(data_container=bytes, media_type="text/csv", generate_examples=False,
                                      description="CSV (UTF-8 with BOM) by default; with format=xlsx an XLSX "
                                                  "workbook. Streamed as it is read.")}


def download(file: Download) -> Stream:
    disposition = f"attachment; filename=\"{file.filename}\"; filename*=UTF-8''{quote(file.filename)}"
    return Stream(file.chunks, media_type=file.media_type,
                  headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})
