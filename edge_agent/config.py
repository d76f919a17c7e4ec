"""Gate device configuration for the edge agent, read from a TOML file (``tomllib``) and
structured by cattrs into typed sections; a wrong value is named ``[section] key: why``.

Example ``edge-agent.toml``::

    [reader]                       # GA/T 467 SAM ID card reader
    port = "/dev/ttyUSB0"
    baudrate = 115200
    timeout = 1.0
    retries = 2

    [printer]                      # ESC/POS receipt printer
    kind = "network"               # network | serial | usb
    host = "192.168.10.20"
    port = 9100
    # device = "/dev/ttyS1"; baudrate = 9600        (serial)
    # vendor_id = 0x0416; product_id = 0x5011       (usb)
    qr_mode = "auto"               # auto (default) | native | raster
    # profile = "TM-T20II"         # the printer's model as a python-escpos profile; auto picks
    #                              # raster for a profile without native QR (POS-5890, ZJ-5870 …)
    # raster_models = ["XP-58IIH"] # models known to print no native QR: auto → raster for them
    status_timeout = 1.5

    [scanner]                      # QR scanner at the guard post
    kind = "keyboard"              # keyboard (stdin wedge) | serial
    # port = "/dev/ttyACM0"; baudrate = 9600

    [badge]                        # PC/SC staff badge reader at the guard station (optional):
    reader = "ACS ACR122U"         # with it, exits need a guard signed in by badge

    [screen]                       # the kiosk / guard screens, served on 127.0.0.1 for Chromium
    port = 8765                    # kiosk screen http://127.0.0.1:8765/, guard screen …/guard
    help = "发车处 分机 8001"        # whom the screens tell people to call
    idle_timeout = 20              # seconds a result stays on the kiosk screen
    # enabled = false              # no screens (console and status.json only)

    [server]                       # the dealercrm kiosk API (needed by `edge-agent run`)
    url = "http://10.0.0.5:8000"
    device_key_file = "/etc/edge-agent/device.key"   # or device_key = "dk_…" (or EDGE_AGENT_DEVICE_KEY)
    timeout = 5.0

    [agent]
    roles = ["kiosk", "guard"]     # what this box does: kiosk (card → print), guard (scan → exit)
    state_dir = "/var/lib/edge-agent"                 # journal.db, keys.json, badges.json, status.json
    # status_file = "/run/edge-agent/status.json"
    report_every = 30              # seconds between status reports to the server (POST /kiosk/status)
    log_level = "INFO"

Every section is optional; a device without a section is "not configured".
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError


class ConfigError(ValueError):
    """The device configuration file is missing a value or has a wrong one."""


@attrs.frozen
class ReaderConfig:
    port: str
    baudrate: int = 115200
    timeout: float = 1.0
    retries: int = 2


@attrs.frozen
class PrinterConfig:
    kind: str = "network"
    host: str = ""
    port: int = 9100
    device: str = ""
    baudrate: int = 9600
    vendor_id: int = 0
    product_id: int = 0
    qr_mode: str = "auto"
    profile: str = ""
    raster_models: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    status_timeout: float = 1.5


@attrs.frozen
class ScannerConfig:
    kind: str = "keyboard"
    port: str = ""
    baudrate: int = 9600


@attrs.frozen
class BadgeConfig:
    reader: str = ""


@attrs.frozen
class ScreenConfig:
    port: int = 8765
    help: str = ""
    idle_timeout: float = attrs.field(default=20.0, converter=float)
    maintenance_timeout: float = attrs.field(default=300.0, converter=float)
    enabled: bool = True


@attrs.frozen
class ServerConfig:
    url: str
    device_key: str = attrs.field(default="", repr=False)
    device_key_file: str = ""
    timeout: float = 5.0

    def resolve_key(self) -> str:
        """The device key: ``device_key``, else the file's content, else ``EDGE_AGENT_DEVICE_KEY``."""
        if self.device_key:
            return self.device_key
        if self.device_key_file:
            try:
                return Path(self.device_key_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"[server] cannot read device_key_file {self.device_key_file}: "
                                  f"{exc.strerror}") from None
        key = os.environ.get("EDGE_AGENT_DEVICE_KEY", "")
        if not key:
            raise ConfigError("[server] needs device_key, device_key_file or EDGE_AGENT_DEVICE_KEY")
        return key


@attrs.frozen
class AgentConfig:
    roles: tuple[str, ...] = attrs.field(default=("kiosk", "guard"), converter=tuple)
    state_dir: str = "/var/lib/edge-agent"
    status_file: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    report_every: float = attrs.field(default=30.0, converter=float)  # seconds between status reports

    @report_every.validator
    def _report_every_positive(self, _attribute: Any, value: float) -> None:
        if value < 1:
            raise ConfigError("[agent] report_every must be at least 1 second")

    @property
    def status_path(self) -> Path:
        return Path(self.status_file) if self.status_file else Path(self.state_dir) / "status.json"


@attrs.frozen
class DeviceConfig:
    reader: ReaderConfig | None = None
    printer: PrinterConfig | None = None
    scanner: ScannerConfig | None = None
    badge: BadgeConfig | None = None
    server: ServerConfig | None = None
    agent: AgentConfig = AgentConfig()
    screen: ScreenConfig | None = None  # None: no screens (a file without [screen] gets the defaults)


def _strict(kind: type) -> Any:
    """TOML values are typed: a string where a number belongs is an error, not a cast."""
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}

    def structure(value: object, _type: type) -> Any:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        raise ValueError(f"expected {names[kind]}, got {value!r}")

    return structure


def _names(value: object, _type: type) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
        return tuple(value)
    raise ValueError(f"expected a list of names, got {value!r}")


@functools.lru_cache(maxsize=1)
def _converter() -> cattrs.Converter:
    """cattrs, strict: unknown keys refused, every field's problem collected with its name."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for kind in (str, int, float, bool):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _names)
    return converter


def _section(cls: type, raw: Any, name: str) -> Any:
    """One TOML table structured into its typed section; errors name ``[section] key``."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    unknown = set(raw) - {f.name for f in attrs.fields(cls)}
    if unknown:
        raise ConfigError(f"[{name}] has unknown keys: {', '.join(sorted(unknown))}")
    try:
        return _converter().structure(raw, cls)
    except ClassValidationError as exc:
        with_notes, without = exc.group_exceptions()
        problems = [f"[{name}] {note.name}: " + ("required" if isinstance(error, KeyError) else str(error))
                    for error, note in with_notes]
        problems += [str(error) if isinstance(error, ConfigError) else f"[{name}] {error}" for error in without]
        raise ConfigError("; ".join(problems)) from None


def parse_config(raw: dict[str, Any]) -> DeviceConfig:
    config = DeviceConfig(
        reader=_section(ReaderConfig, raw.get("reader"), "reader"),
        printer=_section(PrinterConfig, raw.get("printer"), "printer"),
        scanner=_section(ScannerConfig, raw.get("scanner"), "scanner"),
        badge=_section(BadgeConfig, raw.get("badge"), "badge"),
        server=_section(ServerConfig, raw.get("server"), "server"),
        agent=_section(AgentConfig, raw.get("agent"), "agent") or AgentConfig(),
        screen=_section(ScreenConfig, raw.get("screen"), "screen") or ScreenConfig(),
    )
    unknown = set(raw) - {"reader", "printer", "scanner", "badge", "server", "agent", "screen"}
    if unknown:
        raise ConfigError(f"unknown sections: {', '.join(sorted(unknown))}")
    if config.server is not None and not config.server.url.startswith(("http://", "https://")):
        raise ConfigError("[server] url must start with http:// or https://")
    if not set(config.agent.roles) <= {"kiosk", "guard"} or not config.agent.roles:
        raise ConfigError("[agent] roles must be kiosk and/or guard")
    printer = config.printer
    if printer is not None:
        if printer.kind not in ("network", "serial", "usb"):
            raise ConfigError("[printer] kind must be network, serial or usb")
        if printer.qr_mode not in ("auto", "native", "raster"):
            raise ConfigError("[printer] qr_mode must be auto, native or raster")
        if not all(isinstance(model, str) for model in printer.raster_models):
            raise ConfigError("[printer] raster_models must be a list of model names")
        if printer.kind == "network" and not printer.host:
            raise ConfigError("[printer] network printer needs host")
        if printer.kind == "serial" and not printer.device:
            raise ConfigError("[printer] serial printer needs device")
        if printer.kind == "usb" and not (printer.vendor_id and printer.product_id):
            raise ConfigError("[printer] usb printer needs vendor_id and product_id")
    screen = config.screen
    if screen is not None:
        if not isinstance(screen.port, int) or not 0 <= screen.port <= 65535:
            raise ConfigError("[screen] port must be a port number (0 picks a free one)")
        if screen.idle_timeout < 3 or screen.maintenance_timeout < 30:
            raise ConfigError("[screen] idle_timeout must be at least 3 s, maintenance_timeout at least 30 s")
    scanner = config.scanner
    if scanner is not None:
        if scanner.kind not in ("keyboard", "serial"):
            raise ConfigError("[scanner] kind must be keyboard or serial")
        if scanner.kind == "serial" and not scanner.port:
            raise ConfigError("[scanner] serial scanner needs port")
    return config


def load_config(path: str | os.PathLike[str]) -> DeviceConfig:
    try:
        with Path(path).open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_config(raw)
