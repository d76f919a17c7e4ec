"""Every stable code the edge agent shows → the Chinese text people read.

One table, used by the console, ``status.json`` and everything else the agent shows, so the
same code never reads two ways.
"""

from __future__ import annotations

OK_LABEL = "正常"
FAULT_LABEL = "设备故障"

MESSAGES: dict[str, str] = {
    # devices and their threads
    "device.thread_crashed": "设备线程异常退出，正在自动重启",
    "device.thread_exited": "设备线程意外停止，正在自动重启",
}


def message_for(code: str, default: str | None = None) -> str:
    """The message for ``code``; ``default`` (else the code itself) when the table has none."""
    return MESSAGES.get(code, default if default is not None else code)


__all__ = ["FAULT_LABEL", "MESSAGES", "OK_LABEL", "message_for"]
