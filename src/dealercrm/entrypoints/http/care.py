"""HTTP API of dealer value analysis (经销商价值分析), dealer satisfaction (经销商满意度) and
customer care (客户关怀), under ``/api/v1/care``. Roles are checked here and again in the use
cases (application.care explains who may do what)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import care as ca
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.schemas import Request as Body
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.http.schemas import Page
from dealercrm.application.services.care import CareService
from dealercrm.domain.care import CareChannel, CareKind, TargetKind

User = Request[Principal, Any, Any]
ALL_SURVEY = (*ca.FOLLOW_UP_STAFF, Role.DEALER)


class ModelBody(Body):
    model: dict[str, Any]
    note: str | None = None


class ApplyBody(Body):
    product_lines: list[str]


class RunBody(Body):
    region: str | None = None


class SurveyBody(Body):
    title: str
    questions: list[dict[str, Any]]
    description: str = ""
    threshold: int = 3
    deadline: dt.date | None = None


class SendBody(Body):
    dealer_ids: list[int] | None = None
    region: str | None = None


class AnswerBody(Body):
    answers: dict[int, int | str]


class FollowUpBody(Body):
    action: str
    owner: str


class MoveBody(Body):
    status: str
    result: str | None = None


class TemplateBody(Body):
    name: str
    channel: CareChannel
    body: str
    subject: str = ""


class TaskBody(Body):
    kind: CareKind
    target_kind: TargetKind
    name: str
    due_on: dt.date
    title: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    dealer_id: int | None = None
    vin: str | None = None
    model_code: str | None = None
    related_on: dt.date | None = None


class RecipientBody(Body):
    name: str
    to: str | None = None
    address: str | None = None
    variables: dict[str, str] = {}


class BatchBody(Body):
    template_id: int
    recipients: list[RecipientBody] = []
    task_ids: list[int] = []
    variables: dict[str, str] = {}


class CareController(Controller):
    path = "/api/v1/care"
    tags = ["care 经销商价值·满意度·客户关怀"]

    # -- dealer value analysis (§2.1 6) -----------------------------------------------------------

    @get("/value/model", guards=[requires(*ca.VALUE_READERS)], sync_to_thread=True,
         summary="当前价值评分模型 Current scoring model (weights, bands, suggestions)")
    def model(self, request: User, care: CareService) -> dict[str, Any]:
        return care.model(request.user)

    @put("/value/model", guards=[requires(*ca.MODEL_EDITORS)], sync_to_thread=True, status_code=HTTP_200_OK,
         summary="修改价值评分模型 New model version (admin, marketing)")
    def set_model(self, data: ModelBody, request: User, care: CareService) -> dict[str, Any]:
        care.set_model(request.user, data.model, data.note)
        return care.model(request.user)

    @post("/value/dealers/{dealer_id:int}/evaluate", guards=[requires(*ca.VALUE_RUNNERS)], sync_to_thread=True,
          status_code=HTTP_201_CREATED, summary="立即评估一家经销商 Evaluate one dealer now")
    def evaluate(self, dealer_id: int, request: User, care: CareService) -> dict[str, Any]:
        return care.evaluate(request.user, dealer_id)

    @post("/value/run", guards=[requires(*ca.VALUE_RUNNERS)], sync_to_thread=True, status_code=HTTP_200_OK,
          summary="立即评估全部经销商 Evaluate every approved dealer now")
    def run(self, data: RunBody, request: User, care: CareService) -> dict[str, int]:
        return {"evaluated": care.run_all(request.user, data.region)}

    @get("/value/dealers", guards=[requires(*ca.VALUE_READERS)], sync_to_thread=True,
         summary="经销商价值排名 Latest evaluation per dealer (scoped by region)")
    def ranking(self, request: User, care: CareService, value_class: str | None = None,
                region: str | None = None) -> Page[dict[str, Any]]:
        return Page(care.ranking(request.user, value_class=value_class, region=region), None)

    @get("/value/dealers/{dealer_id:int}/history", guards=[requires(*ca.VALUE_READERS)], sync_to_thread=True,
         summary="经销商价值评估历史 Evaluation history of one dealer")
    def history(self, dealer_id: int, request: User, care: CareService) -> Page[dict[str, Any]]:
        return Page(care.history(request.user, dealer_id), None)

    @get("/value/mine", guards=[requires(Role.DEALER)], sync_to_thread=True,
         summary="本经销商的价值分类 The dealer's own class and suggested level")
    def mine(self, request: User, care: CareService) -> dict[str, Any]:
        return care.my_class(request.user)

    @post("/value/evaluations/{evaluation_id:int}/apply-tier", guards=[requires(Role.ADMIN, Role.REGION_MANAGER)],
          sync_to_thread=True, status_code=HTTP_200_OK,
          summary="应用建议折扣等级 Write the suggested tier into the dealer's price tiers (explicit)")
    def apply_tier(self, evaluation_id: int, data: ApplyBody, request: User, care: CareService) -> dict[str, Any]:
        out = care.apply_tier(request.user, evaluation_id, data.product_lines)
        return {"evaluation_id": out.evaluation_id, "dealer_id": out.dealer_id, "tier_code": out.tier_code,
                "discount_bp": out.discount_bp, "product_lines": list(out.product_lines),
                "price_tier_ids": list(out.price_tier_ids)}

    # -- satisfaction (§4.2.3) ----------------------------------------------------------------

    @post("/surveys", guards=[requires(*ca.SURVEY_EDITORS)], sync_to_thread=True, status_code=HTTP_201_CREATED,
          summary="新建满意度问卷 Create a survey (draft)")
    def create_survey(self, data: SurveyBody, request: User, care: CareService) -> dict[str, Any]:
        sid = care.create_survey(request.user, data.title, data.description, data.questions, data.threshold,
                              data.deadline)
        return care.survey(request.user, sid)

    @get("/surveys", guards=[requires(*ALL_SURVEY)], sync_to_thread=True,
         summary="问卷列表 Surveys (a dealer: those it was invited to)")
    def surveys(self, request: User, care: CareService) -> Page[dict[str, Any]]:
        return Page(care.surveys(request.user), None)

    @get("/surveys/{survey_id:int}", guards=[requires(*ALL_SURVEY)], sync_to_thread=True, summary="问卷 Survey")
    def survey(self, survey_id: int, request: User, care: CareService) -> dict[str, Any]:
        return care.survey(request.user, survey_id)

    @post("/surveys/{survey_id:int}/send", guards=[requires(*ca.SURVEY_EDITORS)], sync_to_thread=True,
          status_code=HTTP_200_OK, summary="发放问卷 Invite dealers and e-mail them a link")
    def send(self, survey_id: int, data: SendBody, request: User, care: CareService) -> dict[str, Any]:
        out = care.send_survey(request.user, survey_id, data.dealer_ids, data.region)
        return {"survey_id": out.survey_id, "invited": out.invited, "notified": out.notified,
                "without_email": list(out.without_email)}

    @post("/surveys/{survey_id:int}/close", guards=[requires(*ca.SURVEY_EDITORS)], sync_to_thread=True,
          status_code=HTTP_200_OK, summary="结束问卷 Close a survey")
    def close(self, survey_id: int, request: User, care: CareService) -> dict[str, str]:
        return {"status": care.close_survey(request.user, survey_id)}

    @post("/surveys/{survey_id:int}/answers", guards=[requires(Role.DEALER)], sync_to_thread=True,
          status_code=HTTP_201_CREATED, summary="提交问卷答复 Answer (once per dealer; 409 the second time)")
    def answer(self, survey_id: int, data: AnswerBody, request: User, care: CareService) -> dict[str, int]:
        return {"response_id": care.answer(request.user, survey_id, dict(data.answers))}

    @get("/satisfaction/service-records", guards=[requires(*ca.VALUE_READERS)], sync_to_thread=True,
         summary="服务记录满意度 Dealer satisfaction derived from the customers' scores on repair records")
    def service_satisfaction(self, request: User, care: CareService, days: int = 90, threshold: int = 3,
                             region: str | None = None) -> dict[str, Any]:
        return care.service_satisfaction(request.user, days=days, threshold=threshold, region=region)

    @get("/surveys/{survey_id:int}/analysis", guards=[requires(*ca.SURVEY_EDITORS)], sync_to_thread=True,
         summary="满意度分析 Averages per question/topic/region; dissatisfied dealers with reasons")
    def analysis(self, survey_id: int, request: User, care: CareService) -> dict[str, Any]:
        return care.analysis(request.user, survey_id)

    @post("/survey-responses/{response_id:int}/follow-ups", guards=[requires(*ca.FOLLOW_UP_STAFF)],
          sync_to_thread=True, status_code=HTTP_201_CREATED, summary="记录处理措施 Record a follow-up action")
    def follow_up(self, response_id: int, data: FollowUpBody, request: User, care: CareService) -> dict[str, int]:
        return {"id": care.add_follow_up(request.user, response_id, data.action, data.owner)}

    @post("/survey-follow-ups/{follow_up_id:int}/status", guards=[requires(*ca.FOLLOW_UP_STAFF)],
          sync_to_thread=True, status_code=HTTP_200_OK, summary="更新处理措施状态 Move a follow-up")
    def move(self, follow_up_id: int, data: MoveBody, request: User, care: CareService) -> dict[str, str]:
        return {"status": care.move_follow_up(request.user, follow_up_id, data.status, data.result)}

    # -- customer care (§4.2.2) ---------------------------------------------------------------

    @post("/templates", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True, status_code=HTTP_201_CREATED,
          summary="新建关怀模板 Care template (variables checked)")
    def create_template(self, data: TemplateBody, request: User, care: CareService) -> dict[str, int]:
        return {"id": care.create_template(request.user, data.name, data.channel, data.subject,
                                                            data.body)}

    @get("/templates", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True, summary="关怀模板 Care templates")
    def templates(self, request: User, care: CareService) -> Page[dict[str, Any]]:
        return Page(care.templates(request.user), None)

    @post("/tasks", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True, status_code=HTTP_201_CREATED,
          summary="新建关怀任务 Care task by hand")
    def create_task(self, data: TaskBody, request: User, care: CareService) -> dict[str, int]:
        cmd = ca.TaskIn(**msgspec.structs.asdict(data))
        return {"id": care.create_task(request.user, cmd)}

    @post("/tasks/generate", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True, status_code=HTTP_200_OK,
          summary="按规则生成关怀任务 Run the care rules now (idempotent)")
    def generate(self, request: User, care: CareService) -> dict[str, int]:
        return {"created": care.generate_tasks(request.user)}

    @get("/tasks", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True, summary="关怀任务 Care tasks")
    def tasks(self, request: User, care: CareService, status: str | None = None, kind: str | None = None,
              due_before: dt.date | None = None, cursor: str | None = None, limit: int = 50) -> Page[dict[str, Any]]:
        limit = max(1, min(limit, 200))
        rows = care.tasks(request.user, status=status, kind=kind, due_before=due_before,
                          after_id=decode_cursor(cursor), limit=limit)
        return Page(rows, encode_cursor(rows[-1]["id"]) if len(rows) == limit else None)

    @post("/tasks/{task_id:int}/status", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True,
          status_code=HTTP_200_OK, summary="完成/取消关怀任务 Finish or cancel a task")
    def finish(self, task_id: int, data: MoveBody, request: User, care: CareService) -> dict[str, str]:
        return {"status": care.finish_task(request.user, task_id, data.status, data.result)}

    @post("/batches", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True, status_code=HTTP_201_CREATED,
          summary="批量发送关怀 Render a template per recipient and queue e-mail/SMS (or letters)")
    def batch(self, data: BatchBody, request: User, care: CareService) -> dict[str, Any]:
        people = [ca.RecipientIn(r.name, r.to, r.address, dict(r.variables)) for r in data.recipients]
        out = care.send_batch(request.user, data.template_id, people, list(data.task_ids),
                                              dict(data.variables))
        return {"batch_id": out.batch_id, "channel": out.channel, "recipients": out.recipients,
                "notification_ids": list(out.notification_ids)}

    @get("/batches/{batch_id:int}", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True,
         summary="关怀批次 A batch with each rendered message")
    def get_batch(self, batch_id: int, request: User, care: CareService) -> dict[str, Any]:
        return care.batch(request.user, batch_id)

    @get("/batches/{batch_id:int}/letters.pdf", guards=[requires(*ca.CARE_STAFF)], sync_to_thread=True,
         summary="打印信封/信函 Envelopes and letters as PDF (layout=both|envelope|letter)")
    def letters(self, batch_id: int, request: User, care: CareService, layout: str = "both") -> Response[bytes]:
        pdf = care.letters_pdf(request.user, batch_id, layout)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="care-letters-{batch_id}.pdf"'})
