"""HTTP API of the parts catalogue (产品配件展示, issue 18 §5): parts with prices in fen and their
substitutes, and per vehicle model the quantity of each part it carries. Editors replace a
model's fitment or a part's substitutes as a whole; an unknown part number is 422 naming it."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import Parameter
from msgspec import Meta

from dealercrm.application.services.media import MediaService
from dealercrm.application.services.parts_catalog import (
    EDITORS,
    READERS,
    PartsCatalogService,
)
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.aftersales import media_out
from dealercrm.entrypoints.http.aftersales_schemas import MediaOut
from dealercrm.entrypoints.http.schemas import Request as Body
from dealercrm.entrypoints.http.security import requires

User = Request[Principal, Any, Any]
PartNo = Annotated[str, Meta(min_length=2, max_length=40)]


class FitmentLineBody(Body):
    part_no: PartNo
    quantity: Annotated[int, Meta(ge=1, le=10_000)]


class FitmentBody(Body):
    parts: Annotated[list[FitmentLineBody], Meta(max_length=500)]


class SubstituteBody(Body):
    part_no: PartNo
    note: Annotated[str, Meta(max_length=200)] | None = None


class SubstitutesBody(Body):
    substitutes: Annotated[list[SubstituteBody], Meta(max_length=50)]


class SubstituteOut(msgspec.Struct):
    part_no: str
    name: str
    note: str | None


class CatalogPartOut(msgspec.Struct):
    part_no: str
    name: str
    unit: str
    standard_cost_fen: int
    retail_price_fen: int
    quantity: int | None  # per vehicle of the model asked for; null without a model
    substitutes: list[SubstituteOut]


class CatalogPage(msgspec.Struct):
    items: list[CatalogPartOut]
    next_cursor: str | None


class FittedOn(msgspec.Struct):
    model_code: str
    quantity: int


class PartDetailOut(msgspec.Struct):
    part_no: str
    name: str
    unit: str
    standard_cost_fen: int
    retail_price_fen: int
    substitutes: list[SubstituteOut]
    fitted_on: list[FittedOn]
    id: int | None = None  # the owner id of its pictures: POST /api/v1/media/owners/part/{id}
    pictures: list[MediaOut] = msgspec.field(default_factory=list)  # 配件图片, oldest first


class ModelOut(msgspec.Struct):
    model_code: str
    parts: int
    pieces: int


class ModelPage(msgspec.Struct):
    items: list[ModelOut]
    next_cursor: str | None


def _encode(part_no: str) -> str:
    return base64.urlsafe_b64encode(f"pn:{part_no}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    if not raw.startswith("pn:") or not 2 <= len(raw) - 3 <= 40:
        raise InvalidValue("cursor", "分页游标无效", code="cursor.invalid")
    return raw[3:]


def _detail(row: dict[str, Any], actor: Principal, media: MediaService) -> PartDetailOut:
    out = msgspec.convert(row, PartDetailOut, strict=False)
    out.pictures = [media_out(m) for m in media.of_owner(actor, "part", row["id"])]
    return out


class PartsCatalogController(Controller):
    path = "/api/v1/parts-catalog"
    tags = ["parts catalog 产品配件展示"]

    @get("/", guards=[requires(*READERS)], sync_to_thread=True,
         summary="配件目录 Parts with prices and substitutes; with model_code only that model's, with its quantity")
    def parts(self, request: User, parts_catalog: PartsCatalogService,
              model_code: Annotated[str | None, Parameter(max_length=40)] = None,
              q: Annotated[str | None, Parameter(max_length=60)] = None, cursor: str | None = None,
              limit: Annotated[int, Parameter(ge=1, le=200)] = 50) -> CatalogPage:
        rows = parts_catalog.parts(request.user, model_code=model_code, q=q, after=_decode(cursor), limit=limit + 1)
        nxt = _encode(rows[limit - 1]["part_no"]) if len(rows) > limit else None
        return CatalogPage([msgspec.convert(r, CatalogPartOut, strict=False) for r in rows[:limit]], nxt)

    @get("/models", guards=[requires(*READERS)], sync_to_thread=True,
         summary="车型配件清单 Models whose fitment is kept, with their number of parts")
    def models(self, request: User, parts_catalog: PartsCatalogService) -> ModelPage:
        return ModelPage([msgspec.convert(r, ModelOut, strict=False) for r in parts_catalog.models(request.user)],
                         None)

    @get("/parts/{part_no:str}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="配件 One part with its substitutes and the models that carry it")
    def part(self, part_no: str, request: User, parts_catalog: PartsCatalogService, media: MediaService) -> PartDetailOut:
        return _detail(parts_catalog.part(request.user, part_no), request.user, media)

    @put("/models/{model_code:str}/parts", guards=[requires(*EDITORS)], sync_to_thread=True,
         summary="维护车型配件装配数量 Replace the model's fitment (part and quantity per vehicle)")
    def put_fitment(self, model_code: str, data: FitmentBody, request: User,
                    parts_catalog: PartsCatalogService) -> CatalogPage:
        model = parts_catalog.put_fitment(request.user, model_code, [(x.part_no, x.quantity) for x in data.parts])
        rows = parts_catalog.parts(request.user, model_code=model, limit=500)
        return CatalogPage([msgspec.convert(r, CatalogPartOut, strict=False) for r in rows], None)

    @put("/parts/{part_no:str}/substitutes", guards=[requires(*EDITORS)], sync_to_thread=True,
         summary="维护替代件 Replace the part's substitutes")
    def put_substitutes(self, part_no: str, data: SubstitutesBody, request: User,
                        parts_catalog: PartsCatalogService, media: MediaService) -> PartDetailOut:
        no = parts_catalog.put_substitutes(request.user, part_no, [(s.part_no, s.note) for s in data.substitutes])
        return _detail(parts_catalog.part(request.user, no), request.user, media)
