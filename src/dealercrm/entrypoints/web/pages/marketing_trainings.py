"""市场与客服 · 培训管理: the organisers (marketing, after-sales, administrators — as
``/api/v1/trainings``) list trainings, create one (title, category, Beijing date and time, online
with a meeting from the video-conferencing port or at a place, the dealers or stations invited),
and on its page see the meeting link, the invitation list with who confirmed or declined,
invite more, move it to a new time (改期: invitees confirm again), record attendance with the
feedback and quiz scores, mark it held or cancel it. Invitees answer on ``/trainings/{id}``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application import training as tr
from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.marketing import MarketingService
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import (
    Conflict,
    IllegalTransition,
    InvalidValue,
    PermissionDenied,
)
from dealercrm.domain.identity import Principal
from dealercrm.domain.training import (
    InvitationResponse,
    InviteeKind,
    MeetingStatus,
    TrainingAudience,
    TrainingStatus,
)
from dealercrm.domain.values import SHANGHAI
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import (
    beijing_moment,
    new_form_token,
    posted_form_token,
)
from dealercrm.entrypoints.web.layout import page

ORGANIZERS = tr.ORGANIZERS
PAGE_SIZE = 50
# the web form invites dealers or stations; sales staff are invited through the API
AUDIENCES = (TrainingAudience.DEALERS, TrainingAudience.STATIONS)
FIELDS = ("title", "topic", "audience", "starts_at", "ends_at", "location", "product_line", "description", "vr_url")
STALE = "已被他人修改，以下是培训的当前状态"
MaybeId = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]


def _field(exc: InvalidValue, fields: tuple[str, ...]) -> str:
    field = exc.field
    if field.startswith("invitees"):
        return "invitees"
    if field.startswith("participants["):
        field = field.split(".", 1)[1] if "." in field else "invitation_id"
    return field if field in fields else "form"


def _ids(form: Any, name: str) -> list[int]:
    return [int(v) for v in form.getall(name, [])[:500] if str(v).isdigit() and len(str(v)) <= 18]


def _invitees(audience: str, dealer_ids: list[int], station_ids: list[int],
              stations: dict[int, str]) -> tuple[tr.InviteeIn, ...]:
    if audience == TrainingAudience.STATIONS.value:
        return tuple(tr.InviteeIn(InviteeKind.STATION.value, i, stations.get(i)) for i in station_ids)
    return tuple(tr.InviteeIn(InviteeKind.DEALER.value, i) for i in dealer_ids)


def _score(raw: str, field: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 3:
        raise InvalidValue(field, "请输入整数", code=f"training.{field}_invalid")
    return int(raw)


class MarketingTrainingPages(Controller):
    path = "/marketing/trainings"

    @get("/", guards=[requires(*ORGANIZERS)], sync_to_thread=True)
    def trainings(self, request: Request[Principal, Any, Any], marketing: MarketingService,
                  status: Annotated[str | None, Parameter(max_length=20)] = None, before: MaybeId = None) -> Template:
        error, rows = None, []
        if status and status not in {s.value for s in TrainingStatus}:
            error = {"field": "status", "message": "未知的培训状态"}
        else:
            rows = marketing.trainings(request.user, status=status or None, before_id=before, limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = [{**r, "status_label": TrainingStatus(str(r["status"])).label,
                 "audience_label": TrainingAudience(str(r["audience"])).label,
                 "meeting_label": MeetingStatus(str(r["meeting_status"])).label} for r in rows[:PAGE_SIZE]]
        return page(request, "marketing_trainings.html", title="培训管理", section="marketing_trainings",
                    crumbs=(("培训管理", None),), rows=rows, error=error, status=status or "",
                    action="/marketing/trainings", statuses=[(s.value, s.label) for s in TrainingStatus],
                    next_query=urlencode({"status": status or "", "before": rows[-1]["id"]}) if more and rows else None,
                    status_code=422 if error else 200)

    # -- create ----------------------------------------------------------------------------------

    def _choices(self, request: Request[Principal, Any, Any], channel: ChannelService,
                 aftersales: AftersalesService) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        dealers = channel.list_dealers(request.user, status="approved", limit=500)
        try:
            stations = aftersales.list_stations(request.user, limit=500)
        except PermissionDenied:  # marketing does not read the station network: it invites dealers
            stations = []
        return dealers, stations

    def _form(self, request: Request[Principal, Any, Any], channel: ChannelService, aftersales: AftersalesService, *,
              values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Template:
        dealers, stations = self._choices(request, channel, aftersales)
        return page(request, "marketing_training_new.html", title="发起培训", section="marketing_trainings",
                    crumbs=(("培训管理", "/marketing/trainings"), ("发起培训", None)), values=values, errors=errors,
                    audiences=[(a.value, a.label) for a in AUDIENCES], lines=[(p.value, p.label) for p in ProductLine],
                    dealers=dealers, stations=stations, form_token=new_form_token(), status_code=status_code)

    @get("/new", guards=[requires(*ORGANIZERS)], sync_to_thread=True)
    def new(self, request: Request[Principal, Any, Any], channel: ChannelService,
            aftersales: AftersalesService) -> Template:
        values: dict[str, Any] = {k: "" for k in FIELDS}
        values.update(audience=TrainingAudience.DEALERS.value, online=True, dealer_ids=[], station_ids=[])
        return self._form(request, channel, aftersales, values=values, errors={})

    @post("/new", guards=[requires(*ORGANIZERS)], status_code=303)
    async def create(self, request: Request[Principal, Any, Any], marketing: MarketingService,
                     channel: ChannelService, aftersales: AftersalesService) -> Any:
        form = await request.form()
        values: dict[str, Any] = {k: str(form.get(k) or "").strip()[:5000] for k in FIELDS}
        values.update(online=bool(form.get("online")), dealer_ids=_ids(form, "dealer_ids"),
                      station_ids=_ids(form, "station_ids"))
        try:
            if values["audience"] not in {a.value for a in AUDIENCES}:
                raise InvalidValue("audience", "请选择培训对象", code="audience.unknown")
            _, stations = await sync_to_thread(self._choices, request, channel, aftersales)
            cmd = tr.CreateTraining(
                title=values["title"], topic=values["topic"], audience=values["audience"],
                starts_at=beijing_moment(values["starts_at"], "starts_at", "开始时间"),
                ends_at=beijing_moment(values["ends_at"], "ends_at", "结束时间"), online=values["online"],
                invitees=_invitees(values["audience"], values["dealer_ids"], values["station_ids"],
                                   {int(s["id"]): str(s["name"]) for s in stations}),
                location=values["location"] or None, product_line=values["product_line"] or None,
                description=values["description"] or None, vr_url=values["vr_url"] or None)
            token = posted_form_token(form)
            created = await sync_to_thread(lambda: marketing.create_training_once(request.user, cmd, form_token=token))
        except InvalidValue as exc:
            errors, status_code = {_field(exc, (*FIELDS, "invitees")): exc.message}, 422
        except Conflict as exc:
            errors, status_code = {"invitees": exc.message}, 409
        else:
            return Redirect(path=f"/marketing/trainings/{created.id}?done=created", status_code=303)
        return await sync_to_thread(lambda: self._form(request, channel, aftersales, values=values, errors=errors,
                                                       status_code=status_code))

    # -- one training ----------------------------------------------------------------------------

    def _page(self, request: Request[Principal, Any, Any], marketing: MarketingService, channel: ChannelService,
              aftersales: AftersalesService, training_id: int, *, values: dict[str, Any] | None = None,
              errors: dict[str, str] | None = None, notice: str | None = None, status_code: int = 200) -> Template:
        t = marketing.training(request.user, training_id)
        status = TrainingStatus(str(t["status"]))
        audience = TrainingAudience(str(t["audience"]))
        invited = {(str(i["invitee_kind"]), int(i["invitee_id"])) for i in t["invitations"]}
        invitations = [{**i, "response_label": InvitationResponse(str(i["response"])).label} for i in t["invitations"]]
        names = {i["id"]: i["invitee_name"] for i in t["invitations"]}
        participants = [{**p, "invitee_name": names.get(p["invitation_id"], "—")} for p in t["participants"]]
        scheduled = status is TrainingStatus.SCHEDULED
        dealers, stations = self._choices(request, channel, aftersales) if scheduled else ([], [])
        if audience is TrainingAudience.DEALERS:
            more = [(d["id"], d.get("short_name") or d["legal_name"]) for d in dealers if ("dealer", d["id"]) not in invited]
        elif audience is TrainingAudience.STATIONS:
            more = [(s["id"], s["name"]) for s in stations if ("station", s["id"]) not in invited]
        else:
            more = []
        done = {"created": "培训已发起，邀请已发出。", "invited": "已追加邀请。", "participants": "已登记签到。",
                "rescheduled": "培训已改期，受邀对象需重新确认。", "cancelled": "培训已取消。", "completed": "培训已结束。",
                "meeting": "已重新向视频会议系统申请。"}.get(str(request.query_params.get("done") or "")) \
            if status_code == 200 else None
        base = {"starts_at": f"{t['starts_at'].astimezone(SHANGHAI):%Y-%m-%dT%H:%M}",
                "ends_at": f"{t['ends_at'].astimezone(SHANGHAI):%Y-%m-%dT%H:%M}", "reason": "",
                "invitation_id": "", "name": "", "attended": True, "feedback_score": "", "quiz_score": "", "comment": ""}
        return page(request, "marketing_training.html", title=f"培训 {t['training_no']}", section="marketing_trainings",
                    crumbs=(("培训管理", "/marketing/trainings"), (str(t["training_no"]), None)), training=t,
                    status=status, audience=audience, meeting=MeetingStatus(str(t["meeting_status"])),
                    invitations=invitations, participants=participants,
                    confirmed=sum(1 for i in invitations if i["response"] == InvitationResponse.CONFIRMED.value),
                    effect=marketing.training_effect(request.user, training_id)["summary"],
                    more=more, may_invite=scheduled and audience is not TrainingAudience.SALES, scheduled=scheduled,
                    may_record=status is not TrainingStatus.CANCELLED and marketing.now() >= t["starts_at"],
                    may_complete=scheduled and marketing.now() >= t["ends_at"],
                    values={**base, **(values or {})}, errors=errors or {}, notice=notice, done=done,
                    status_code=status_code)

    @get("/{training_id:int}", guards=[requires(*ORGANIZERS)], sync_to_thread=True)
    def training(self, training_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
                 channel: ChannelService, aftersales: AftersalesService) -> Template:
        return self._page(request, marketing, channel, aftersales, training_id)

    @post("/{training_id:int}/{action:str}", guards=[requires(*ORGANIZERS)], status_code=303)
    async def act(self, training_id: int, action: str, request: Request[Principal, Any, Any],
                  marketing: MarketingService, channel: ChannelService, aftersales: AftersalesService) -> Any:
        form = await request.form()
        keys = ("starts_at", "ends_at", "reason", "invitation_id", "name", "feedback_score", "quiz_score", "comment")
        values: dict[str, Any] = {k: str(form.get(k) or "").strip()[:500] for k in keys}
        values["attended"] = bool(form.get("attended"))
        user = request.user
        try:
            t = await sync_to_thread(marketing.training, user, training_id)
            shown = str(form.get("shown_status") or "")[:20]  # the state the page showed
            if shown and shown != str(t["status"]):
                raise IllegalTransition("training", str(t["status"]), action)
            if action == "invite":
                audience = str(t["audience"])
                _, stations = await sync_to_thread(self._choices, request, channel, aftersales)
                invitees = _invitees(audience, _ids(form, "dealer_ids"), _ids(form, "station_ids"),
                                     {int(s["id"]): str(s["name"]) for s in stations})
                if not invitees:
                    raise InvalidValue("invitees", "请至少选择一个邀请对象", code="training.invitees_required")
                await sync_to_thread(marketing.invite, user, training_id, invitees)
                done = "invited"
            elif action == "participants":
                invitation = values["invitation_id"]
                if not invitation.isdigit() or len(invitation) > 18:
                    raise InvalidValue("invitation_id", "请选择参训单位", code="training.invitation_required")
                person = tr.ParticipantIn(int(invitation), values["name"], values["attended"],
                                          _score(values["feedback_score"], "feedback_score"),
                                          _score(values["quiz_score"], "quiz_score"), values["comment"] or None)
                await sync_to_thread(marketing.record_participants, user, training_id, (person,))
                done = "participants"
            elif action == "reschedule":
                starts_at = beijing_moment(values["starts_at"], "starts_at", "新的开始时间")
                ends_at = beijing_moment(values["ends_at"], "ends_at", "新的结束时间")
                await sync_to_thread(marketing.reschedule_training, user, training_id, starts_at, ends_at)
                done = "rescheduled"
            elif action == "cancel":
                if not values["reason"]:
                    raise InvalidValue("reason", "请填写取消原因", code="reason.required")
                await sync_to_thread(marketing.cancel_training, user, training_id, values["reason"])
                done = "cancelled"
            elif action == "complete":
                await sync_to_thread(marketing.complete_training, user, training_id)
                done = "completed"
            elif action == "meeting":
                await sync_to_thread(marketing.retry_meeting, user, training_id)
                done = "meeting"
            else:
                raise InvalidValue("action", "未知操作", code="training.action_unknown")
        except IllegalTransition as exc:
            if exc.code in ("training.not_started", "training.not_finished"):  # the time, not somebody else
                errors, status_code, notice = {"form": exc.message}, 409, None
            else:
                errors, status_code, notice = {}, 409, STALE
        except InvalidValue as exc:
            errors, status_code, notice = {_field(exc, (*keys, "attended", "invitees")): exc.message}, 422, None
        except Conflict as exc:
            errors, status_code, notice = {"form": exc.message}, 409, None
        else:
            return Redirect(path=f"/marketing/trainings/{training_id}?done={done}", status_code=303)
        return await sync_to_thread(lambda: self._page(request, marketing, channel, aftersales, training_id,
                                                       values=values if notice is None else None, errors=errors,
                                                       notice=notice, status_code=status_code))
