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

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["devices"]:
        from edge_agent.devices_cli import main_devices

        return main_devices(args[1:])
    if args[:1] == ["run"]:
        from edge_agent.runner import main_run

        return main_run(args[1:])
    print(__doc__.strip(), file=sys.stderr)
    return 0 if args[:1] in (["-h"], ["--help"]) else 2


if __name__ == "__main__":
    raise SystemExit(main())
