"""``edge-agent devices …``: check the gate devices from the kiosk's shell.

    edge-agent devices [--config edge-agent.toml] [--simulate] list
    edge-agent devices … print-test [--qr-mode auto|native|raster]
    edge-agent devices … read-test [--timeout 10] [--badge]

``--simulate`` starts the SAM reader (pty) and ESC/POS printer (TCP) simulators and points
the configuration at them, so the real adapters run end to end without hardware;
``--pcsc`` adds pcscd + a virtual badge (needs Debian pcscd and vsmartcard-vpcd).
Output for people goes to stdout; the card holder's name and ID number are shown masked.
Exit status: 0 ok, 1 a device failed, 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO

import structlog

from dealercrm.domain.errors import DomainError
from edge_agent.config import (
    BadgeConfig,
    ConfigError,
    DeviceConfig,
    PrinterConfig,
    ReaderConfig,
    load_config,
)

log = structlog.get_logger(__name__)

DEFAULT_CONFIG = "edge-agent.toml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-agent devices", description="Check gate devices.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  edge-agent devices list --simulate\n  edge-agent devices read-test --simulate --badge\n"
               "  edge-agent devices print-test --config /etc/edge-agent/kiosk.toml")
    parser.add_argument("--config", default=os.environ.get("EDGE_AGENT_CONFIG", DEFAULT_CONFIG),
                        help="device configuration (TOML)")
    parser.add_argument("--simulate", action="store_true",
                        help="run against the built-in device simulators")
    parser.add_argument("--pcsc", action="store_true",
                        help="with --simulate: also start pcscd and a virtual badge")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="show configured devices and their state")
    printing = sub.add_parser("print-test", help="print a sample gate pass")
    printing.add_argument("--qr-mode", choices=("auto", "native", "raster"), default=None)
    reading = sub.add_parser("read-test", help="read one ID card (and optionally a badge)")
    reading.add_argument("--timeout", type=float, default=10.0)
    reading.add_argument("--badge", action="store_true", help="also read a PC/SC badge")
    return parser


# ---------------------------------------------------------------------------------------------
# Building adapters from the configuration


def build_printer(config: PrinterConfig, qr_mode: str | None = None) -> Any:
    """The configured printer, printing QR codes natively unless its model needs raster
    (``resolve_qr_mode``: ``[printer] profile`` and ``raster_models``)."""
    from dealercrm.adapters.devices.escpos_printer import (
        EscposReceiptPrinter,
        UnknownPrinterProfile,
        resolve_qr_mode,
    )

    try:
        mode, reason = resolve_qr_mode(qr_mode or config.qr_mode, config.profile, config.raster_models)
    except UnknownPrinterProfile as exc:
        raise ConfigError(f"[printer] profile {config.profile!r} is not a python-escpos printer profile "
                          f"(known: {', '.join(exc.details['known'])}); leave it empty or list the model "
                          "in raster_models") from None
    log.info("printer_qr_mode", qr_mode=mode, reason=reason, profile=config.profile or None)
    options: dict[str, Any] = {"qr_mode": mode, "status_timeout": config.status_timeout}
    if config.kind == "network":
        return EscposReceiptPrinter.network(config.host, config.port, **options)
    if config.kind == "serial":
        return EscposReceiptPrinter.serial(config.device, config.baudrate, **options)
    return EscposReceiptPrinter.usb(config.vendor_id, config.product_id, **options)


def build_reader(config: ReaderConfig) -> Any:
    from dealercrm.adapters.devices.sam_serial import SamSerialIdCardReader

    return SamSerialIdCardReader(config.port, config.baudrate, config.timeout, config.retries)


@contextlib.contextmanager
def _environment(args: argparse.Namespace) -> Iterator[tuple[DeviceConfig, Any]]:
    """The configuration to use and, under ``--simulate``, the running simulators."""
    if not args.simulate:
        yield load_config(args.config), None
        return
    from dealercrm.adapters.devices.sim import start_all_simulators

    with start_all_simulators(with_pcsc=args.pcsc) as sims:
        host, port = sims.printer_address
        config = DeviceConfig(
            reader=ReaderConfig(port=sims.reader_path),
            printer=PrinterConfig(kind="network", host=host, port=port, status_timeout=0.5),
            badge=BadgeConfig(reader=sims.pcsc_reader_name) if sims.pcsc_reader_name else None,
        )
        yield config, sims


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_list(config: DeviceConfig, out: TextIO) -> int:
    ok = True
    if config.reader is None:
        out.write("id card reader: not configured\n")
    else:
        present = os.path.exists(config.reader.port)
        ok &= present
        out.write(f"id card reader: {config.reader.port} "
                  f"({'present' if present else 'MISSING'})\n")
    if config.printer is None:
        out.write("printer: not configured\n")
    else:
        printer = build_printer(config.printer)
        status = printer.status()
        ok &= status.value == "online"
        out.write(f"printer: {printer.describe} ({status.value})\n")
    if config.scanner is None:
        out.write("qr scanner: not configured\n")
    elif config.scanner.kind == "keyboard":
        out.write("qr scanner: keyboard wedge on stdin\n")
    else:
        present = os.path.exists(config.scanner.port)
        ok &= present
        out.write(f"qr scanner: {config.scanner.port} ({'present' if present else 'MISSING'})\n")
    if config.badge is not None:
        try:
            from smartcard.System import readers

            names = [str(r) for r in readers()]
        except Exception as exc:  # noqa: BLE001 - pyscard missing or pcscd down: report it
            names = []
            out.write(f"badge reader: PC/SC unavailable ({type(exc).__name__})\n")
            ok = False
        else:
            match = [n for n in names if config.badge.reader.lower() in n.lower()]
            ok &= bool(match)
            out.write(f"badge reader: {match[0] if match else 'MISSING'} "
                      f"(pcsc readers: {', '.join(names) or 'none'})\n")
    try:
        from serial.tools import list_ports

        ports = [p.device for p in list_ports.comports()]
    except ImportError:
        ports = []
    out.write(f"serial ports: {', '.join(ports) or 'none'}\n")
    return 0 if ok else 1


def sample_gate_pass(now: datetime) -> Any:
    """A test slip signed with a throw-away key (it proves the printer, not a pass)."""
    from dealercrm.adapters.signing import Ed25519PassSigner
    from dealercrm.application.ports.signing import gate_pass_claims
    from dealercrm.domain.printing import layout_gate_pass

    vins = ["LFV2A21K8N3000001"]
    valid_to = now + timedelta(hours=1)
    token = Ed25519PassSigner.generate().sign(
        gate_pass_claims("TEST-0001", vins, "110105199003071239", now, valid_to))
    return layout_gate_pass("TEST-0001", "测试打印", vins, now, valid_to, token, now)


def cmd_print_test(config: DeviceConfig, out: TextIO, qr_mode: str | None, sims: Any) -> int:
    if config.printer is None:
        out.write("printer: not configured\n")
        return 2
    printer = build_printer(config.printer, qr_mode)
    document = sample_gate_pass(datetime.now().astimezone())
    outcome = printer.print(document)
    out.write(f"printed test gate pass on {printer.describe} ({outcome.bytes_sent} bytes)\n")
    if sims is not None:
        [job] = sims.printer.wait_for_jobs(1)
        out.write("simulator decoded:\n")
        for line in job.text_lines:
            out.write(f"  | {line}\n")
        out.write(f"  qr codes: {len(job.qr_payloads)}, cuts: {job.cuts}\n")
    return 0


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 0)


def cmd_read_test(config: DeviceConfig, out: TextIO, timeout: float, badge: bool) -> int:
    if config.reader is None:
        out.write("id card reader: not configured\n")
        return 2
    with build_reader(config.reader) as reader:
        out.write(f"place an ID card on {config.reader.port} (waiting {timeout:g} s)…\n")
        card = reader.poll(timeout=timeout)
    if card is None:
        out.write("no card read\n")
        return 1
    valid_to = "长期" if card.valid_to is None else card.valid_to.isoformat()
    out.write(f"card: {_mask_name(card.name)} {card.gender} {card.nation}族 "
              f"id {card.masked_id} valid {card.valid_from.isoformat()}–{valid_to}\n")
    if badge:
        if config.badge is None:
            out.write("badge reader: not configured\n")
            return 2
        from dealercrm.adapters.devices.pcsc_badge import PcscBadgeReader

        uid = PcscBadgeReader(config.badge.reader).wait_for_uid(timeout=timeout)
        out.write(f"badge: {uid or 'none'}\n")
        if uid is None:
            return 1
    return 0


def main_devices(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        args = _parser().parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        with _environment(args) as (config, sims):
            if args.command == "list":
                return cmd_list(config, out)
            if args.command == "print-test":
                return cmd_print_test(config, out, args.qr_mode, sims)
            return cmd_read_test(config, out, args.timeout, args.badge)
    except ConfigError as exc:
        out.write(f"configuration error: {exc}\n")
        return 2
    except DomainError as exc:
        log.warning("device_check_failed", command=args.command, code=exc.code)
        out.write(f"{exc.code}: {exc.message}\n")
        return 1


__all__ = ["main_devices", "build_printer", "build_reader", "sample_gate_pass"]
