"""HTTP API of the sales regions (大区, issue 15 §5): every signed-in staff member reads the list;
administrators add a region and change one (name, order, provinces, active flag) with the
version they read — another change since is 409 with the current region."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import Meta

from dealercrm.application.services.regions import ADMINS, READERS, RegionIn, RegionsService
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http import schemas
from dealercrm.entrypoints.http.security import requires

User = Request[Principal, Any, Any]
Province = Annotated[str, Meta(min_length=1, max_length=20)]
Provinces = Annotated[list[Province], Meta(max_length=40)]
SortOrder = Annotated[int, Meta(ge=0, le=9999)]


class RegionBody(schemas.Request):
    code: Annotated[str, Meta(min_length=2, max_length=20)]
    name: Annotated[str, Meta(min_length=1, max_length=8)]
    sort_order: SortOrder = 0
    provinces: Provinces = []


class RegionPatch(schemas.Request):
    version: Annotated[int, Meta(ge=1)]  # the version read; another change since is 409
    name: Annotated[str, Meta(min_length=1, max_length=8)] | None = None
    sort_order: SortOrder | None = None
    provinces: Provinces | None = None
    active: bool | None = None


class RegionOut(msgspec.Struct):
    id: int
    code: str
    name: str
    sort_order: int
    provinces: list[str]
    active: bool
    version: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


class RegionPage(msgspec.Struct):
    items: list[RegionOut]
    next_cursor: str | None = None  # the regions fit on one page: always null


def _out(row: dict[str, Any]) -> RegionOut:
    return msgspec.convert(row, RegionOut, strict=False)


class RegionsController(Controller):
    path = "/api/v1/regions"
    tags = ["regions 大区"]

    @get("/", guards=[requires(*READERS)], sync_to_thread=True,
         summary="大区列表 The sales regions by sort order (active_only: those a region field may hold)")
    def regions_list(self, request: User, regions: RegionsService, active_only: bool = False) -> RegionPage:
        return RegionPage([_out(r) for r in regions.list_regions(request.user, include_inactive=not active_only)])

    @get("/{region_id:int}", guards=[requires(*READERS)], sync_to_thread=True, summary="大区 One region")
    def view(self, region_id: int, request: User, regions: RegionsService) -> RegionOut:
        return _out(regions.region(request.user, region_id))

    @post("/", guards=[requires(*ADMINS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="添加大区 Add an active region (code and name unique; a province belongs to one active region)")
    def create(self, data: RegionBody, request: User, regions: RegionsService) -> RegionOut:
        return _out(regions.create_region(request.user, RegionIn(name=data.name, sort_order=data.sort_order,
                                                                 provinces=tuple(data.provinces), code=data.code)))

    @patch("/{region_id:int}", guards=[requires(*ADMINS)], status_code=HTTP_200_OK, sync_to_thread=True,
           summary="修改大区 Rename, reorder, set provinces, deactivate or reactivate (409 with the current region when stale)")
    def change(self, region_id: int, data: RegionPatch, request: User, regions: RegionsService) -> RegionOut:
        return _out(regions.change_region(request.user, region_id, version=data.version, name=data.name,
                                          sort_order=data.sort_order,
                                          provinces=None if data.provinces is None else tuple(data.provinces),
                                          active=data.active))
