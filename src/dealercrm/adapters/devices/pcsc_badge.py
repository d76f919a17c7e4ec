"""``PcscBadgeReader``: contactless badge UIDs through PC/SC (pyscard + pcscd).

Each ``read_uid()`` lists the readers, picks the first whose name contains
``reader_name_substring``, connects, sends the PC/SC part 3 ``GET DATA`` pseudo-APDU
(``FF CA 00 00 00``) and disconnects. No card — ``NoCardException``, or the
``CardConnectionException`` "unpowered" that pcscd reports right after a removal — is
``None``. No pcscd, or no matching reader, is a ``DeviceError``.
"""

from __future__ import annotations

import time

import structlog

from dealercrm.application.ports.devices import DeviceError

log = structlog.get_logger(__name__)

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]


class PcscBadgeReader:
    def __init__(self, reader_name_substring: str = "") -> None:
        self.reader_name_substring = reader_name_substring

    def _reader(self):  # type: ignore[no-untyped-def]
        from smartcard.Exceptions import ListReadersException
        from smartcard.pcsc.PCSCExceptions import BaseSCardException
        from smartcard.System import readers

        try:
            available = readers()
        except (BaseSCardException, ListReadersException) as exc:
            raise DeviceError("读卡服务（pcscd）不可用", code="device.badge.pcscd_unavailable",
                              reason=str(exc)) from exc
        for reader in available:
            if self.reader_name_substring.lower() in str(reader).lower():
                return reader
        raise DeviceError("未找到工牌读卡器", code="device.badge.reader_not_found",
                          wanted=self.reader_name_substring,
                          available=[str(r) for r in available])

    def read_uid(self) -> str | None:
        from smartcard.Exceptions import CardConnectionException, NoCardException

        reader = self._reader()
        connection = reader.createConnection()
        try:
            connection.connect()
        except (NoCardException, CardConnectionException):
            return None
        try:
            data, sw1, sw2 = connection.transmit(GET_UID)
        except CardConnectionException:
            return None  # the badge left the field mid-read
        finally:
            try:
                connection.disconnect()
            except CardConnectionException:
                pass
        if (sw1, sw2) != (0x90, 0x00) or not data:
            raise DeviceError("工牌读取失败", code="device.badge.read_failed",
                              sw=f"{sw1:02X}{sw2:02X}")
        uid = bytes(data).hex().upper()
        log.info("badge_read", reader=str(reader), uid_length=len(data))
        return uid

    def wait_for_uid(self, timeout: float, interval: float = 0.1) -> str | None:
        """Poll until a badge is presented or ``timeout`` passes (pcscd notices in ~0.4 s)."""
        deadline = time.monotonic() + timeout
        while True:
            uid = self.read_uid()
            if uid is not None or time.monotonic() >= deadline:
                return uid
            time.sleep(interval)

    def wait_for_removal(self, timeout: float, interval: float = 0.1) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self.read_uid() is None:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)
