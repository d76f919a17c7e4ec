"""What the e-mails invite people to: a training (培训邀请, confirm or decline with a reason) and a
satisfaction survey (满意度问卷, answered once per dealer), the pages the mails link to."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect, Template

from dealercrm.application.services.care import CareService
from dealercrm.application.services.marketing import MarketingService
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.satisfaction import MAX_SCORE, QuestionKind
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

PEOPLE = tuple(r for r in Role if r is not Role.KIOSK)
RESPONSES = {"pending": "待确认", "confirmed": "已确认参加", "declined": "已婉拒"}
SURVEY_READERS = (Role.DEALER, Role.AFTER_SALES, Role.MARKETING, Role.SALES, Role.REGION_MANAGER, Role.ADMIN)


def _training_page(request: Request[Principal, Any, Any], marketing: MarketingService, training_id: int, *,
                   values: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Template:
    t = marketing.training(request.user, training_id)
    mine = next((i for i in t["invitations"] if request.user.role is Role.DEALER
                 and i["dealer_id"] == request.user.dealer_id), None)
    flash = "已回复，谢谢。" if request.query_params.get("done") and status_code == 200 else None
    return page(request, "training.html", title=t["title"], section="home", crumbs=(("培训", None),),
                training=t, mine=mine, responses=RESPONSES, values=values, errors=errors, flash=flash,
                can_respond=bool(mine) and t["status"] == "scheduled", status_code=status_code)


def _survey_page(request: Request[Principal, Any, Any], care: CareService, survey_id: int, *,
                 values: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Template:
    s = care.survey(request.user, survey_id)
    flash = "问卷已提交，感谢您的反馈。" if request.query_params.get("done") and status_code == 200 else None
    return page(request, "survey.html", title=s["title"], section="home", crumbs=(("满意度问卷", None),),
                survey=s, values=values, errors=errors, scores=range(1, MAX_SCORE + 1), flash=flash,
                can_answer=request.user.role is Role.DEALER and not s.get("my_response") and s["status"] == "sent",
                status_code=status_code)


class InvitationPages(Controller):
    path = "/"

    @get("/trainings/{training_id:int}", guards=[requires(*PEOPLE)], sync_to_thread=True)
    def training(self, training_id: int, request: Request[Principal, Any, Any],
                 marketing: MarketingService) -> Template:
        return _training_page(request, marketing, training_id, values={}, errors={})

    @post("/trainings/{training_id:int}/respond", guards=[requires(Role.DEALER)], status_code=303)
    async def respond(self, training_id: int, request: Request[Principal, Any, Any],
                      marketing: MarketingService) -> Any:
        form = await request.form()
        confirm = form.get("response") == "confirm"
        reason = str(form.get("reason") or "").strip()[:500]
        errors: dict[str, str] = {}
        if not confirm and not reason:
            errors["reason"] = "不能参加时请说明原因"
        else:
            try:
                await sync_to_thread(marketing.respond, request.user, training_id, confirm, reason or None)
            except (InvalidValue, Conflict) as exc:
                errors["reason" if getattr(exc, "field", "") == "reason" else "form"] = exc.message
        if errors:
            return await sync_to_thread(lambda: _training_page(request, marketing, training_id,
                                                               values={"reason": reason}, errors=errors,
                                                               status_code=422))
        return Redirect(path=f"/trainings/{training_id}?done=1", status_code=303)

    @get("/dealer/surveys/{survey_id:int}", guards=[requires(*SURVEY_READERS)], sync_to_thread=True)
    def survey(self, survey_id: int, request: Request[Principal, Any, Any], care: CareService) -> Template:
        return _survey_page(request, care, survey_id, values={}, errors={})

    @post("/dealer/surveys/{survey_id:int}", guards=[requires(Role.DEALER)], status_code=303)
    async def answer(self, survey_id: int, request: Request[Principal, Any, Any], care: CareService) -> Any:
        form = await request.form()
        s = await sync_to_thread(care.survey, request.user, survey_id)
        values = {f"q{q['no']}": str(form.get(f"q{q['no']}") or "")[:1000] for q in s["questions"]}
        answers: dict[int, object] = {}
        for q in s["questions"]:
            raw = values[f"q{q['no']}"].strip()
            if not raw:
                continue
            answers[int(q["no"])] = int(raw) if q["kind"] == QuestionKind.SCORE.value and raw.isdigit() else raw
        errors: dict[str, str] = {}
        try:
            await sync_to_thread(care.answer, request.user, survey_id, answers)
        except InvalidValue as exc:
            errors[exc.field.replace("answers.", "q") if exc.field.startswith("answers.") else "form"] = exc.message
        except (Conflict, BusinessRuleViolation) as exc:
            errors["form"] = exc.message
        if errors:
            return await sync_to_thread(lambda: _survey_page(request, care, survey_id, values=values, errors=errors,
                                                             status_code=422))
        return Redirect(path=f"/dealer/surveys/{survey_id}?done=1", status_code=303)
