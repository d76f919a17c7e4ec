"""``edge-agent`` — the kiosk / gatehouse program.

    edge-agent devices list [--config kiosk.toml | --simulate]
    edge-agent devices print-test [--simulate] [--qr-mode raster|native]
    edge-agent devices read-test [--simulate] [--badge]

The kiosk and guard flows (``run``) arrive with the gate issue's kiosk API.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["devices"]:
        from edge_agent.devices_cli import main_devices

        return main_devices(args[1:])
    print(__doc__.strip(), file=sys.stderr)
    return 0 if args[:1] in (["-h"], ["--help"]) else 2


if __name__ == "__main__":
    raise SystemExit(main())
