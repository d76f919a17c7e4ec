"""Ports of repair media: the image inspector (dimensions and thumbnails). The bytes go to the
content-addressed ``PhotoStore`` of ``ports.supplied_parts``; the rows are on the after-sales
unit of work."""

from __future__ import annotations

from typing import Protocol

from dealercrm.application.ports.supplied_parts import PhotoStore


class ImageInspector(Protocol):
    """Reads images without trusting them."""

    def dimensions(self, data: bytes) -> tuple[int, int]:
        """(width, height) from the image's header, without decoding its pixels; raises
        ``InvalidValue`` (``media.undecodable``) when the header cannot be read."""

    def thumbnail(self, data: bytes, side: int) -> bytes:
        """A JPEG at most ``side`` pixels on its longer edge. Decodes the whole image, so a
        truncated or corrupt file raises ``InvalidValue`` (``media.truncated``)."""


__all__ = ["ImageInspector", "PhotoStore"]
