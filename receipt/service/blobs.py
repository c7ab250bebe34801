"""Content-addressed blob store: uploads and outputs as files named by their SHA-256.

A blob is written to a temporary file in the same directory, fsynced, then hard-linked to
its final name. `link` fails when the name exists, so a blob is never overwritten in place
and readers never see a half-written file; the same content uploaded twice is stored once.
The directory can be shared by several machines (NFS); without a shared disk, STORAGE_URL puts
the blobs in PostgreSQL instead (receipt.service.blobs_db). Callers only see the BlobStore
protocol: put / put_chunks / get / exists / delete.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from receipt.errors import ReceiptError

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...

    def put_chunks(self, chunks: Iterable[bytes]) -> str: ...

    def get(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> bool: ...

    def stored_at(self, sha256: str) -> float | None:
        """When the blob was first stored (Unix seconds), or None when it is not there."""
        ...


def check_sha(sha256: str) -> str:
    if not _SHA_RE.match(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def missing(sha256: str) -> ReceiptError:
    return ReceiptError("BLOB_MISSING", f"stored file {sha256[:12]}… is missing", status=500)


class DirectoryBlobStore:
    """Blobs as files under a directory (the embedded default; NFS for several machines)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        check_sha(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise missing(sha256) from None

    def put(self, data: bytes) -> str:
        return self.put_chunks([data])

    def delete(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
            return True
        except FileNotFoundError:
            return False

    def stored_at(self, sha256: str) -> float | None:
        try:
            return self.path(sha256).stat().st_mtime
        except FileNotFoundError:
            return None

    def put_chunks(self, chunks: Iterable[bytes]) -> str:
        """Store the concatenated chunks; returns the content hash."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    digest.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            sha = digest.hexdigest()
            self._publish(tmp, sha)
            return sha
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _publish(self, tmp: str, sha: str) -> None:
        final = self.path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(tmp, final)  # atomic and refuses to replace an existing blob
        except FileExistsError:
            os.utime(final)  # stored again: retention's purge leaves a freshly touched blob alone
            return  # same content already stored: content addressing makes this a no-op
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the new name durable, not only the data
        finally:
            os.close(dir_fd)
