"""大区 for the administrators: the list of sales regions with their provinces, a form that adds
one (booked once per form), and a region's page where it is renamed, reordered, given its
provinces, deactivated or reactivated — the same region use cases the API calls. Errors sit
beside their field; a form posted over a region someone else changed meanwhile answers 409 with
the current state (已被他人修改)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application.exports import Column, ColumnKind, Exporter, Table
from dealercrm.application.services.regions import RegionIn, RegionsService
from dealercrm.domain.errors import Conflict, DomainError, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import new_form_token, posted_form_token
from dealercrm.entrypoints.web.layout import page

ADMINS = (Role.ADMIN,)
REGION_FIELDS = ("code", "name", "sort_order", "provinces")
CRUMB = ("大区", "/admin/regions")
STALE = "已被他人修改，以下是当前内容，请确认后再操作"
DONE = {"created": "大区已添加。", "saved": "大区已保存。", "deactivated": "大区已停用，新登记的经销商和服务站不再能选择它。",
        "reactivated": "大区已恢复使用。"}
REGIONS_TABLE = Table("大区", (
    Column("sort_order", "排序", ColumnKind.INTEGER, 8), Column("code", "编码", ColumnKind.TEXT, 14),
    Column("name", "名称", ColumnKind.TEXT, 10), Column("provinces_text", "覆盖省份", ColumnKind.TEXT, 40),
    Column("state_text", "状态", ColumnKind.TEXT, 8), Column("updated_at", "最后修改", ColumnKind.DATETIME, 18),
))


def provinces_of(raw: str) -> tuple[str, ...]:
    """The provinces as typed: separated by commas (either width), 顿号 or white space."""
    for sep in ("，", "、", "\n", " ", "\u3000"):
        raw = raw.replace(sep, ",")
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _sort_order(raw: str) -> int:
    text = raw.strip()
    if not text.isdigit() or len(text) > 4:
        raise InvalidValue("sort_order", "排序须为0到9999的整数", code="region.sort_order_invalid")
    return int(text)


def _version(raw: str) -> int | None:
    text = raw.strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _field_of(exc: DomainError, fields: tuple[str, ...], default: str) -> str:
    field = getattr(exc, "field", None) or exc.details.get("field")
    return str(field) if field in fields else default


def _values(form: Any) -> dict[str, str]:
    return {k: str(form.get(k) or "").strip()[:2000 if k == "provinces" else 40] for k in (*REGION_FIELDS, "version")}


def _form_values(region: dict[str, Any]) -> dict[str, str]:
    return {"name": region["name"], "sort_order": str(region["sort_order"]), "provinces": "、".join(region["provinces"]),
            "version": str(region["version"])}


class AdminRegionPages(Controller):
    path = "/admin/regions"
    guards = (requires(*ADMINS),)

    @get("/", sync_to_thread=True)
    def regions_list(self, request: Request[Principal, Any, Any], regions: RegionsService,
                     done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._list_page(request, regions, values={}, errors={}, done=DONE.get(done or ""))

    @get("/export", sync_to_thread=True)
    def regions_export(self, request: Request[Principal, Any, Any], regions: RegionsService, exports: Exporter,
                       file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        exports.check_format(file_format)
        rows = [{**r, "provinces_text": "、".join(r["provinces"]), "state_text": "在用" if r["active"] else "已停用"}
                for r in regions.list_regions(request.user)]
        return download(exports.download(file_format, "regions", REGIONS_TABLE, rows))

    def _list_page(self, request: Request[Principal, Any, Any], regions: RegionsService, *, values: dict[str, str],
                   errors: dict[str, str], done: str | None = None, status_code: int = 200) -> Template:
        rows = regions.list_regions(request.user)
        next_order = max((r["sort_order"] for r in rows), default=0) + 10
        values = {"code": "", "name": "", "sort_order": str(min(next_order, 9999)), "provinces": "", **values}
        return page(request, "admin_regions.html", title="大区", section="admin_regions", crumbs=(("大区", None),),
                    rows=rows, values=values, errors=errors, done=done, form_token=new_form_token(),
                    status_code=status_code)

    @post("/", status_code=303)
    async def create(self, request: Request[Principal, Any, Any], regions: RegionsService) -> Any:
        form = await request.form()
        values = _values(form)
        try:
            cmd = RegionIn(name=values["name"], sort_order=_sort_order(values["sort_order"]),
                           provinces=provinces_of(values["provinces"]), code=values["code"])
            token = posted_form_token(form)
            row = await sync_to_thread(lambda: regions.create_region_once(request.user, cmd, form_token=token))
        except DomainError as exc:
            errors = {_field_of(exc, REGION_FIELDS, "form"): exc.message}
            code = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._list_page(request, regions, values=values, errors=errors,
                                                                status_code=code))
        return Redirect(path=f"/admin/regions/{row['id']}?done=created", status_code=303)

    @get("/{region_id:int}", sync_to_thread=True)
    def region(self, region_id: int, request: Request[Principal, Any, Any], regions: RegionsService,
               done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._region_page(request, regions, region_id, values={}, errors={}, done=DONE.get(done or ""))

    def _region_page(self, request: Request[Principal, Any, Any], regions: RegionsService, region_id: int, *,
                     values: dict[str, str], errors: dict[str, str], done: str | None = None,
                     notice: str | None = None, status_code: int = 200) -> Template:
        r = regions.region(request.user, region_id)
        return page(request, "admin_region.html", title=f"大区：{r['name']}", section="admin_regions",
                    crumbs=(CRUMB, (r["name"], None)), r=r, values={**_form_values(r), **values}, errors=errors,
                    done=done, notice=notice, status_code=status_code)

    async def _act(self, request: Request[Principal, Any, Any], regions: RegionsService, region_id: int,
                   action: Any, *, done: str, values: dict[str, str], default_field: str) -> Any:
        try:
            await sync_to_thread(action)
        except NotFound:
            raise
        except DomainError as exc:
            if isinstance(exc, Conflict) and exc.code == "region.stale":  # show what is there now
                return await sync_to_thread(lambda: self._region_page(request, regions, region_id, values={},
                                                                      errors={}, notice=STALE, status_code=409))
            errors = {_field_of(exc, (*REGION_FIELDS, "active"), default_field): exc.message}
            code = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._region_page(request, regions, region_id, values=values,
                                                                  errors=errors, status_code=code))
        return Redirect(path=f"/admin/regions/{region_id}?done={done}", status_code=303)

    @post("/{region_id:int}", status_code=303)
    async def edit(self, region_id: int, request: Request[Principal, Any, Any], regions: RegionsService) -> Any:
        values = _values(await request.form())
        values.pop("code")

        def act() -> None:
            cmd = RegionIn(name=values["name"], sort_order=_sort_order(values["sort_order"]),
                           provinces=provinces_of(values["provinces"]))
            regions.edit_region(request.user, region_id, cmd, version=_version(values["version"]))

        return await self._act(request, regions, region_id, act, done="saved", values=values, default_field="name")

    @post("/{region_id:int}/deactivate", status_code=303)
    async def deactivate(self, region_id: int, request: Request[Principal, Any, Any], regions: RegionsService) -> Any:
        version = _version(str((await request.form()).get("version") or ""))
        return await self._act(request, regions, region_id,
                               lambda: regions.set_active(request.user, region_id, False, version=version),
                               done="deactivated", values={}, default_field="active")

    @post("/{region_id:int}/reactivate", status_code=303)
    async def reactivate(self, region_id: int, request: Request[Principal, Any, Any], regions: RegionsService) -> Any:
        version = _version(str((await request.form()).get("version") or ""))
        return await self._act(request, regions, region_id,
                               lambda: regions.set_active(request.user, region_id, True, version=version),
                               done="reactivated", values={}, default_field="active")
