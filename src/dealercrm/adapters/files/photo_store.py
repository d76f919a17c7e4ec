"""Content-addressed photo stores: a local directory (the default) and its in-memory twin.

``LocalDirectoryPhotoStore`` keeps each photo once under ``<root>/<aa>/<bb>/<sha256>``: written
to a temporary file in the same directory, fsynced, then renamed into place, so a reader never
sees a half-written photo and a crash leaves at most a stray temporary file. Writing the same
bytes twice is a no-op. Point ``DEALERCRM_PHOTO_DIR`` at shared storage (NFS, a mounted bucket)
when several API processes run on different hosts.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")


class LocalDirectoryPhotoStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if not _SHA.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._path(sha256)
        if path.exists():
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes | None:
        try:
            return self._path(sha256).read_bytes()
        except (FileNotFoundError, ValueError):
            return None


class MemoryPhotoStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        self.blobs.setdefault(sha256, bytes(data))
        return sha256

    def get(self, sha256: str) -> bytes | None:
        return self.blobs.get(sha256)
