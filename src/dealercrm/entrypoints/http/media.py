"""HTTP API of repair media (issue 18 §2): photos and videos of repair records, settlement
claims, major repair cases and knowledge articles.

Upload as ``multipart/form-data`` (part ``file``, optional ``caption``) to
``/api/v1/media/owners/{owner_type}/{owner_id}``; the type is read from the bytes (JPEG, PNG,
WebP photos; MP4, MOV, WebM videos), the sizes and a photo's dimensions are bounded by the
``DEALERCRM_MEDIA_*`` settings, and a refused upload (422 naming ``file``) stores nothing. The
file and a photo's thumbnail are served to those who may see the owner; to anyone else the
media does not exist (404).
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_201_CREATED

from dealercrm.application.services.media import MediaService
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http import aftersales_schemas as s
from dealercrm.entrypoints.http.aftersales import media_out
from dealercrm.entrypoints.http.security import ANY_USER, requires
from dealercrm.entrypoints.http.schemas import Page

User = Request[Principal, Any, Any]

# The route's hard ceiling on a request body; the real limits are the settings, checked first
# against Content-Length and then on the bytes read.
BODY_CEILING = 512 * 1024 * 1024
_CACHE = {"Cache-Control": "private, max-age=86400, immutable", "X-Content-Type-Options": "nosniff"}


def _missing() -> InvalidValue:
    return InvalidValue("file", "请以 multipart/form-data 上传，文件字段名为 file", code="media.file_missing")


class MediaController(Controller):
    path = "/api/v1/media"
    tags = ["after-sales 售后服务"]

    @post("/owners/{owner_type:str}/{owner_id:int}", guards=[requires(*ANY_USER)], status_code=HTTP_201_CREATED,
          request_max_body_size=BODY_CEILING,
          summary="上传照片/视频 Upload a photo or video to a repair record, claim, major repair, article or part (photos only)")
    async def upload(self, owner_type: str, owner_id: int, request: User, media: MediaService) -> s.MediaOut:
        if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            raise _missing()
        limit = media.limits.max_upload_bytes
        declared_length = request.headers.get("content-length", "")
        if declared_length.isdigit() and int(declared_length) > limit + 64 * 1024:
            raise InvalidValue("file", f"文件不能超过{limit // (1024 * 1024)}MB", code="media.too_large",
                               max_bytes=limit)
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _missing()
        data = await upload.read(limit + 1)
        await upload.close()
        caption = form.get("caption")
        row = await anyio.to_thread.run_sync(lambda: media.upload(
            request.user, owner_type, owner_id, data, upload.content_type,
            caption if isinstance(caption, str) else None))
        return media_out(row)

    @get("/owners/{owner_type:str}/{owner_id:int}", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="附件列表 The media of a record, claim, major repair or article")
    def of_owner(self, owner_type: str, owner_id: int, request: User, media: MediaService) -> Page[s.MediaOut]:
        return Page([media_out(m) for m in media.of_owner(request.user, owner_type, owner_id)], None)

    @get("/{media_id:int}", guards=[requires(*ANY_USER)], sync_to_thread=True, summary="附件信息 One media's metadata")
    def detail(self, media_id: int, request: User, media: MediaService) -> s.MediaOut:
        return media_out(media.get(request.user, media_id))

    @get("/{media_id:int}/content", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="附件内容 The photo or video itself",
         responses={200: ResponseSpec(data_container=bytes, media_type="*/*", generate_examples=False,
                                      description="The file as stored: image/jpeg, image/png, image/webp, video/mp4, "
                                                  "video/quicktime or video/webm (the type read from its bytes)")})
    def content(self, media_id: int, request: User, media: MediaService) -> Response[bytes]:
        content_type, data = media.content(request.user, media_id)
        return Response(data, media_type=content_type, headers=_CACHE)

    @get("/{media_id:int}/thumbnail", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="缩略图 A photo's thumbnail (JPEG)",
         responses={200: ResponseSpec(data_container=bytes, media_type="image/jpeg", generate_examples=False,
                                      description="A JPEG at most DEALERCRM_MEDIA_THUMBNAIL_SIDE pixels a side")})
    def thumbnail(self, media_id: int, request: User, media: MediaService) -> Response[bytes]:
        content_type, data = media.content(request.user, media_id, thumbnail=True)
        return Response(data, media_type=content_type, headers=_CACHE)


MEDIA_CONTROLLERS = [MediaController]
