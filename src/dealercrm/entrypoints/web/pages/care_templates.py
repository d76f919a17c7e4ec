"""市场与客服 · 关怀消息模板: the care message templates (e-mail, SMS or letter) that customer-care
batches are sent with — the list and a creation form that checks the placeholders the engine
knows ({name} …) and shows a refused field beside it in Chinese, keeping what was typed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect, Template

from dealercrm.application.care import CARE_STAFF
from dealercrm.application.services.care import CareService
from dealercrm.domain.care import MAX_BODY, MAX_SMS_BODY, VARIABLES
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import new_form_token, posted_form_token
from dealercrm.entrypoints.web.layout import page

CHANNELS = (("email", "邮件"), ("sms", "短信"), ("letter", "信函"))
FIELDS = ("name", "channel", "subject", "body")


def _decorate(row: dict[str, Any]) -> dict[str, Any]:
    row["channel_label"] = dict(CHANNELS).get(str(row["channel"]), str(row["channel"]))
    return row


class CareTemplatePages(Controller):
    path = "/care/templates"

    @get("/", guards=[requires(*CARE_STAFF)], sync_to_thread=True)
    def templates(self, request: Request[Principal, Any, Any], care: CareService) -> Template:
        rows = [_decorate(r) for r in care.templates(request.user)]
        created = request.query_params.get("created")
        return page(request, "care_templates.html", title="关怀消息模板", section="care_templates",
                    crumbs=(("关怀消息模板", None),), rows=rows, created=created)

    def _form(self, request: Request[Principal, Any, Any], *, values: dict[str, str], errors: dict[str, str],
              status_code: int = 200) -> Template:
        return page(request, "care_template_new.html", title="新建关怀消息模板", section="care_templates",
                    crumbs=(("关怀消息模板", "/care/templates"), ("新建", None)), values=values, errors=errors,
                    channels=CHANNELS, variables=[f"{{{k}}}（{label}）" for k, label in VARIABLES.items()],
                    max_body=MAX_BODY, max_sms=MAX_SMS_BODY, form_token=new_form_token(), status_code=status_code)

    @get("/new", guards=[requires(*CARE_STAFF)], sync_to_thread=False)
    def new(self, request: Request[Principal, Any, Any]) -> Template:
        return self._form(request, values={"name": "", "channel": "sms", "subject": "", "body": ""}, errors={})

    @post("/new", guards=[requires(*CARE_STAFF)], status_code=303)
    async def create(self, request: Request[Principal, Any, Any], care: CareService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "")[:MAX_BODY + 100] for k in FIELDS}
        try:
            if values["channel"] not in dict(CHANNELS):
                raise InvalidValue("channel", "请选择发送渠道", code="care.template_invalid")
            token = posted_form_token(form)
            template_id = await sync_to_thread(lambda: care.create_template_once(
                request.user, values["name"], values["channel"], values["subject"], values["body"], form_token=token))
        except InvalidValue as exc:
            field = exc.field if exc.field in FIELDS else "form"
            return self._form(request, values=values, errors={field: exc.message}, status_code=422)
        return Redirect(path=f"/care/templates?created={template_id}", status_code=303)
