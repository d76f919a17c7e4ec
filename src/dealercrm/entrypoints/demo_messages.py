"""Demo messages (issue 21): a dealer's order thread where the dealer, the procurement reviewer
and the technical reviewer agree a change (twelve messages, an @mention, a photo), a one-to-one
with the region's sales representative, and a short thread on another dealer's order."""

from __future__ import annotations

from typing import Any

from dealercrm.application.services.messages import Upload
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.demo_aftersales import _demo_png
from dealercrm.entrypoints.http.security import load_principal

ORDER_THREAD = (
    ("dealer", "您好，这台车客户要求把罐体容积从 10 方改成 12 方，底盘不变，能做吗？", False),
    ("procurement", "收到。12 方需要确认底盘承载，@technical 请帮忙看一下。", False),
    ("technical", "底盘额定载质量够，但需要加强副车架，单价会上浮。", False),
    ("dealer", "大概上浮多少？客户比较在意价格。", False),
    ("procurement", "初步估算每台加 3,800 元，正式报价以审核结果为准。", False),
    ("dealer", "可以接受。客户现场车辆的副车架照片发给你们参考。", True),
    ("technical", "照片看到了，原车副车架有锈蚀，建议一起更换。", False),
    ("dealer", "好的，按更换处理，交期会受影响吗？", False),
    ("procurement", "交期顺延 5 个工作日，我在订单里备注。", False),
    ("dealer", "明白，我跟客户确认后修改订单。", False),
    ("technical", "修改后我会在技术评审里一起确认图纸。", False),
    ("procurement", "@dealer01 订单修改后请直接提交，我们优先处理。", False),
)


def _principal(container: Any, username: str) -> Principal | None:
    row = next((u for u in container.identity.list_users(Principal.system(), limit=500)
                if u["username"] == username), None)
    return load_principal(container.identity, row["id"]) if row is not None else None


def _dealer_user(container: Any, dealer_id: int) -> Principal | None:
    row = next((u for u in container.identity.list_users(Principal.system(), limit=500)
                if u["dealer_id"] == dealer_id and str(u["role"]) == "dealer"), None)
    return load_principal(container.identity, row["id"]) if row is not None else None


def seed_messages(container: Any) -> None:
    """Needs the demo's users and orders (the thread is on the newest orders' dealers); does
    nothing when they are missing."""
    svc, system = container.messages, Principal.system()
    procurement, technical = _principal(container, "procurement"), _principal(container, "technical")
    orders = container.orders.list_orders(system, limit=200)
    if procurement is None or technical is None or not orders:
        return
    own = orders[0]
    dealer = _dealer_user(container, _field(own, "dealer_id"))
    if dealer is None:
        return
    cid = svc.record_thread(dealer, "order", _field(own, "id"))
    svc.record_thread(procurement, "order", _field(own, "id"))
    svc.record_thread(technical, "order", _field(own, "id"))
    who = {"dealer": dealer, "procurement": procurement, "technical": technical}
    photo = _demo_png((120, 110, 100))
    for speaker, text, with_photo in ORDER_THREAD:
        svc.post(who[speaker], cid, text.replace("@dealer01", f"@{dealer.username}"),
                 [Upload(photo, "image/png")] if with_photo else ())
    sales = _principal(container, "sales_huazhong")
    if sales is not None and sales.user_id is not None:
        direct = svc.start_direct(dealer, sales.user_id)
        svc.post(dealer, direct, "王经理，下个月的展会我们报名了，资料什么时候发？")
        svc.post(sales, direct, "本周五前发到你们邮箱。")
    theirs = next((o for o in orders if _field(o, "dealer_id") != dealer.dealer_id), None)
    other = _dealer_user(container, _field(theirs, "dealer_id")) if theirs is not None else None
    if other is not None and theirs is not None:
        thread = svc.record_thread(other, "order", _field(theirs, "id"))
        svc.post(other, thread, "请问这台车的合同什么时候能签？", [Upload(_demo_png((60, 90, 140)), "image/png")])
        svc.post(procurement, thread, "评审通过后当天发出电子合同。")


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)
