"""产品配件展示 in the web UI (issue 18 §5): the parts master with prices and substitutes, and for a
chosen vehicle model the quantity of each part one vehicle carries; a part's page with its pictures
(配件图片, in the media store), which after-sales and technical staff upload there. Read by every
internal role, dealers and stations; the lists are edited over the API by after-sales and technical staff."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application.services.media import MediaService
from dealercrm.application.services.parts_catalog import (
    EDITORS,
    READERS,
    PartsCatalogService,
)
from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.aftersales import UPLOAD_CEILING, media_file

PAGE_SIZE = 50


class PartsCatalogPages(Controller):
    path = "/parts-catalog"

    @get("/", guards=[requires(*READERS)], sync_to_thread=True)
    def catalog(self, request: Request[Principal, Any, Any], parts_catalog: PartsCatalogService,
                model_code: Annotated[str | None, Parameter(max_length=40)] = None,
                q: Annotated[str | None, Parameter(max_length=60)] = None,
                after: Annotated[str | None, Parameter(max_length=40)] = None) -> Template:
        errors: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        try:
            rows = parts_catalog.parts(request.user, model_code=model_code or None, q=q, after=after or None,
                                       limit=PAGE_SIZE + 1)
        except InvalidValue as exc:
            errors[exc.field or "model_code"] = exc.message
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        filters = {k: v for k, v in (("model_code", model_code), ("q", q)) if v}
        next_query = urlencode({**filters, "after": rows[-1]["part_no"]}) if more else None
        return page(request, "parts_catalog.html", title="产品配件展示", section="parts_catalog",
                    crumbs=(("产品配件展示", None),), rows=rows, models=parts_catalog.models(request.user),
                    values=filters, errors=errors, next_query=next_query, status_code=422 if errors else 200)

    @get("/parts/{part_no:str}", guards=[requires(*READERS)], sync_to_thread=True)
    def part(self, part_no: str, request: Request[Principal, Any, Any], parts_catalog: PartsCatalogService,
             media: MediaService) -> Template:
        return self._part_page(request, parts_catalog, media, part_no, errors={}, values={})

    def _part_page(self, request: Request[Principal, Any, Any], parts_catalog: PartsCatalogService,
                   media: MediaService, part_no: str, *, errors: dict[str, str], values: dict[str, str],
                   status_code: int = 200) -> Template:
        row = parts_catalog.part(request.user, part_no)
        return page(request, "parts_catalog_part.html", title=f"配件 {row['part_no']}", section="parts_catalog",
                    crumbs=(("产品配件展示", "/parts-catalog/"), (row["part_no"], None)), part=row,
                    pictures=media.of_owner(request.user, "part", row["id"]),
                    can_upload=request.user.role in EDITORS, max_photo_mb=media.limits.max_photo_bytes // (1024 * 1024),
                    errors=errors, values=values, status_code=status_code)

    @post("/parts/{part_no:str}/pictures", guards=[requires(*EDITORS)], status_code=303,
          request_max_body_size=UPLOAD_CEILING)
    async def upload_picture(self, part_no: str, request: Request[Principal, Any, Any],
                             parts_catalog: PartsCatalogService, media: MediaService) -> Any:
        """配件图片: a photo of a catalogue part, into the media store (photos only)."""
        values: dict[str, str] = {}
        try:
            if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
                raise InvalidValue("file", "请选择要上传的图片", code="media.file_missing")
            form = await request.form()
            caption = form.get("caption")
            values["caption"] = caption[:200] if isinstance(caption, str) else ""
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise InvalidValue("file", "请选择要上传的图片", code="media.file_missing")
            data = await upload.read(media.limits.max_upload_bytes + 1)
            await upload.close()
            row = await sync_to_thread(parts_catalog.part, request.user, part_no)
            await sync_to_thread(lambda: media.upload(request.user, "part", row["id"], data, upload.content_type,
                                                      values["caption"].strip() or None))
        except (InvalidValue, Conflict) as exc:
            errors, status = {"file": exc.message}, 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._part_page(request, parts_catalog, media, part_no,
                                                                errors=errors, values=values, status_code=status))
        return Redirect(path=f"/parts-catalog/parts/{quote(part_no)}#pictures", status_code=303)

    @get("/pictures/{media_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def picture(self, media_id: int, request: Request[Principal, Any, Any], media: MediaService) -> Response[bytes]:
        return media_file(media, request.user, media_id)

    @get("/pictures/{media_id:int}/thumbnail", guards=[requires(*READERS)], sync_to_thread=True)
    def picture_thumbnail(self, media_id: int, request: Request[Principal, Any, Any],
                          media: MediaService) -> Response[bytes]:
        return media_file(media, request.user, media_id, thumbnail=True)
