"""``edge-agent`` — the kiosk / gatehouse program.

    edge-agent devices list [--config kiosk.toml | --simulate]
    edge-agent devices print-test [--simulate] [--qr-mode auto|native|raster]
    edge-agent devices read-test [--simulate] [--badge]
    edge-agent run --config kiosk.toml
    edge-agent run --simulate --server http://127.0.0.1:8000 --device-key dk_… [--cards cards.toml]

``run`` starts the kiosk (ID card → print gate pass) and/or guard (scan QR → confirm exit)
flows with the offline journal; see docs/edge-agent.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


EXAMPLES = """examples:
  edge-agent devices list --simulate
  edge-agent devices print-test --simulate --qr-mode raster
  edge-agent run --config /etc/edge-agent/kiosk.toml
  EDGE_AGENT_DEVICE_KEY=dk_… edge-agent run --simulate --server http://127.0.0.1:8000 --cards examples/sim-cards.toml
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-agent", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The kiosk / gatehouse program: ID card → printed gate pass, QR scan → confirmed exit, with an "
                    "offline journal (docs/edge-agent.md).", epilog=EXAMPLES)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("devices", help="check the gate devices: list, print-test, read-test (edge-agent devices --help)",
                   add_help=False)
    sub.add_parser("run", help="run the kiosk and/or guard flows (edge-agent run --help)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["devices"]:
        from edge_agent.devices_cli import main_devices

        return main_devices(args[1:])
    if args[:1] == ["run"]:
        from edge_agent.runner import main_run

        return main_run(args[1:])
    build_parser().parse_args(args)  # --help → stdout, exit 0; anything else → usage on stderr, exit 2
    return 2

if __name__ == "__main__":
    raise SystemExit(main())
