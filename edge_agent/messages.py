"""Every stable code the edge agent shows → the Chinese text people read: one table.

The kiosk console, the guard console, ``status.json`` (each result's ``message``, each device's
``last_error``) all take their text from :data:`MESSAGES`, so one code never reads two ways.
A refusal names the fact once (``出门证 {pass_no} 已作废``) and says what to do next for each
audience: the driver at the kiosk (``driver``) and the guard at the gate (``guard``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

import attrs

OK_LABEL = "正常"
FAULT_LABEL = "设备故障"

Audience = Literal["driver", "guard"]


@attrs.frozen
class Message:
    text: str  # the fact; may name {pass_no}
    driver: str | None = None  # what the driver at the kiosk should do next
    guard: str | None = None  # what the guard does (禁止放行 …)


_GUARD_REFUSES = "禁止放行"

MESSAGES: dict[str, Message] = {
    # a pass the server (or the offline pass book) refuses
    "gate_pass.not_approved": Message("出门证 {pass_no} 尚未审核通过", "请稍后再试或联系发车处", _GUARD_REFUSES),
    "gate_pass.not_handed_over": Message("出门证 {pass_no} 的车辆尚未交车", "请稍后再试或联系发车处",
                                         _GUARD_REFUSES),
    "gate_pass.rejected": Message("出门证 {pass_no} 未通过审核", "请联系经销商", _GUARD_REFUSES),
    "gate_pass.expired": Message("出门证 {pass_no} 已过期", "请联系经销商重新办理", _GUARD_REFUSES),
    "gate_pass.not_yet_valid": Message("出门证 {pass_no} 尚未生效", "请在有效期内再来", _GUARD_REFUSES),
    "gate_pass.voided": Message("出门证 {pass_no} 已作废", "请联系经销商", _GUARD_REFUSES),
    "gate_pass.superseded": Message("出门证 {pass_no} 已重新签发，此证作废", "请重新刷身份证打印新证",
                                    _GUARD_REFUSES),
    "gate_pass.already_exited": Message("出门证 {pass_no} 已使用过（车辆已出厂）", "不能再次打印",
                                        "禁止再次放行"),
    "gate_pass.not_found": Message("系统中没有出门证 {pass_no}", "请联系经销商或发车处", _GUARD_REFUSES),
    "gate_pass.forged": Message("二维码签名无效，不是本厂签发的出门证", guard=_GUARD_REFUSES),
    "gate_pass.invalid": Message("无法识别的二维码", guard="请重新扫描出门证"),
    "gate_pass.malformed": Message("无法识别的二维码，或此二维码不是出门证", guard="请重新扫描出门证，仍无法识别则禁止放行"),
    "gate.no_guard_signed_in": Message("没有门卫签到，不能放行", guard="请先刷工牌签到"),
    "gate.guard_signed_in": Message("门卫已签到（工牌 {badge}）", guard="可以扫码放行"),
    "gate.guard_signed_out": Message("门卫已签退（工牌 {badge}）", guard="放行前请刷工牌签到"),
    "gate.guard_badge_unknown": Message("工牌 {badge} 未登记为门卫工牌，不能签到",
                                        guard="请使用已登记的门卫工牌，或联系管理员登记"),
    "gate.no_verification_keys": Message("本机尚无验签公钥，无法核验出门证",
                                         guard="请联网后重启本机或联系管理员"),
    # the kiosk
    "kiosk.maintenance_on": Message("维护模式已开启（工牌 {badge}）", guard="自助机暂停服务，再刷一次工牌退出维护"),
    "kiosk.maintenance_off": Message("维护模式已关闭（工牌 {badge}）", guard="自助机恢复服务"),
    "gate_pass.none": Message("未找到您的出门证或提车介绍信", "请联系经销商或发车处"),
    "kiosk.id_number_unreadable": Message("身份证号码无法识别", "请到发车处办理"),
    "kiosk.card_read_failed": Message("身份证读取失败", "请将身份证平放在感应区后重试"),
    "kiosk.reader_failed": Message("身份证阅读器故障", "请联系工作人员"),
    "server.unreachable": Message("暂时无法连接服务器", "请稍后再试，或到发车处办理"),
    "print.layout_malformed": Message("出门证版式错误，未能打印", "请到发车处办理"),
    "server.answer_malformed": Message("服务器答复格式不正确，未能打印", "请到发车处办理"),
    "device.printer.failed": Message("打印机故障，未能打印", "请联系工作人员"),
    "device.printer.paper_out": Message("打印机缺纸，暂时无法打印出门证", "请联系工作人员加纸"),
    "device.printer.cover_open": Message("打印机上盖未关好，暂时无法打印", "请联系工作人员"),
    "device.printer.offline": Message("打印机离线，暂时无法打印", "请联系工作人员"),
    # devices and their threads (status.json)
    "device.thread_crashed": Message("设备线程异常退出，正在自动重启"),
    "device.thread_exited": Message("设备线程意外停止，正在自动重启"),
}


def say(code: str, audience: Audience | None = None, *, default: str | None = None, **fields: Any) -> str:
    """The text for ``code`` (with ``fields`` filled in), followed by what ``audience`` should do.

    A code the table does not know gives ``default`` (else the code itself): the server's own
    message is the usual default, so a refusal code new to this agent still reads sensibly.
    """
    entry = MESSAGES.get(code)
    if entry is None:
        return default if default is not None else code
    text = entry.text.format_map(defaultdict(str, fields))
    advice = getattr(entry, audience) if audience else None
    return f"{text}，{advice}" if advice else text


def message_for(code: str, default: str | None = None) -> str:
    """The bare text for ``code`` (no advice), for ``status.json``; ``default`` when unknown."""
    return say(code, default=default)


__all__ = ["FAULT_LABEL", "MESSAGES", "Message", "OK_LABEL", "message_for", "say"]
