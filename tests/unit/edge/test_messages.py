"""One table of codes → Chinese messages, read by the kiosk, the guard and status.json."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dealercrm.application.ports.devices import PrinterStatus
from edge_agent.kiosk import printer_message
from edge_agent.messages import MESSAGES, say

AGENT = Path(__file__).resolve().parents[3] / "edge_agent"


def test_a_refusal_reads_the_same_fact_for_the_driver_and_the_guard():
    driver = say("gate_pass.voided", "driver", pass_no="GP-2026-000007")
    guard = say("gate_pass.voided", "guard", pass_no="GP-2026-000007")

    assert driver == "出门证 GP-2026-000007 已作废，请联系经销商"
    assert guard == "出门证 GP-2026-000007 已作废，禁止放行"


@pytest.mark.parametrize("code", [c for c, m in MESSAGES.items() if c.startswith("gate_pass.") and "{pass_no}" in m.text])
def test_every_pass_refusal_tells_the_guard_to_refuse_and_names_the_pass(code):
    assert "禁止" in say(code, "guard", pass_no="GP-1") and "GP-1" in say(code, "driver", pass_no="GP-1")


def test_an_unknown_code_reads_as_the_given_default():
    assert say("gate_pass.brand_new_reason", "driver", default="服务器原文", pass_no="GP-1") == "服务器原文"


def test_the_printer_messages_come_from_the_table():
    assert printer_message(PrinterStatus.PAPER_OUT) == say("device.printer.paper_out", "driver")
    assert "加纸" in printer_message(PrinterStatus.PAPER_OUT)


def test_no_other_module_of_the_agent_keeps_a_table_of_codes_to_messages():
    tables = []
    modules = sorted(AGENT.glob("*.py"))
    for path in modules:
        if path.name == "messages.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and node.keys and all(
                    isinstance(k, ast.Constant) and isinstance(k.value, str) and k.value.startswith("gate_pass.")
                    for k in node.keys) and all(isinstance(v, ast.Constant) and isinstance(v.value, str)
                                                 and not v.value.isascii() for v in node.values):
                tables.append(f"{path.name}:{node.lineno}")

    assert {"kiosk.py", "guard.py", "runner.py"} <= {p.name for p in modules}
    assert tables == []
