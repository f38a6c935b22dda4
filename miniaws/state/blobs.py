"""Object bodies: small ones kept in memory and journaled with the metadata, large ones as files named by id.

A large body is written to a temp file, fsynced and renamed into place before the metadata that references it
is journaled, so a crash never exposes half a body. File names are random ids, never object keys. Bodies are
reference-counted (CopyObject and multipart completion share them), and a file is unlinked only after the
commit that dropped its last reference.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from miniaws.core.ids import hex_id
from miniaws.state.journal import Journal

BLOB_NS = "blob"

log = logging.getLogger("miniaws.state")


class BlobStore:
    def __init__(self, directory: Path | None, journal: Journal, inline_limit: int) -> None:
        self._temporary = directory is None
        #: body files are fsynced (and their directory) before they are referenced, except in memory-only mode.
        #: Also with durability "process": its log reaches the disk at any checkpoint, so a record synced before
        #: its body would come back from a power loss without that body.
        self.fsync = directory is not None
        self.directory = Path(tempfile.mkdtemp(prefix="miniaws-blobs-")) if directory is None else directory
        (self.directory / "tmp").mkdir(parents=True, exist_ok=True)
        self._journal = journal
        self.inline_limit = inline_limit
        self._inline: dict[str, bytes] = {}
        self._refs: dict[str, int] = {}

    # -- identity ---------------------------------------------------------------------------------
    def path_of(self, blob_id: str) -> Path:
        return self.directory / blob_id[:2] / blob_id

    def inline(self, blob_id: str) -> bytes | None:
        return self._inline.get(blob_id)

    # -- writing ----------------------------------------------------------------------------------
    def put_inline(self, data: bytes) -> str:
        blob_id = "i" + hex_id(15)
        self._inline[blob_id] = data
        self._journal.put(BLOB_NS, blob_id, data)
        return blob_id

    def open_writer(self) -> "BlobWriter":
        return BlobWriter(self)

    # -- reference counting -----------------------------------------------------------------------
    def incref(self, blob_id: str) -> None:
        self._refs[blob_id] = self._refs.get(blob_id, 0) + 1

    def decref(self, blob_id: str) -> None:
        count = self._refs.get(blob_id, 0) - 1
        if count > 0:
            self._refs[blob_id] = count
            return
        self._refs.pop(blob_id, None)
        if blob_id in self._inline:
            del self._inline[blob_id]
            # no tombstone: should a crash come before the journal discards the row, replay finds it unreferenced
            # and collect_garbage drops it
            self._journal.forget(BLOB_NS, blob_id)
        else:
            path = self.path_of(blob_id)
            self._journal.after_commit(lambda: _unlink_off_the_loop(path))

    # -- reading ----------------------------------------------------------------------------------
    async def read_all(self, blob_id: str) -> bytes:
        """A whole body: from memory, or read off the event loop (size and bytes in one worker call)."""
        data = self._inline.get(blob_id)
        if data is not None:
            return data
        return await asyncio.to_thread(self.path_of(blob_id).read_bytes)

    async def read(self, blob_id: str, offset: int, length: int) -> bytes:
        data = self._inline.get(blob_id)
        if data is not None:
            return data[offset:offset + length]
        return await asyncio.to_thread(_pread, self.path_of(blob_id), offset, length)

    # -- lifecycle --------------------------------------------------------------------------------
    def restore_inline(self, blob_id: str, data: bytes) -> None:
        self._inline[blob_id] = data

    def collect_garbage(self, referenced: Iterable[str]) -> int:
        """After replay: drop inline rows and files nothing references (a crash between body and metadata)."""
        live = set(referenced)
        removed = 0
        for blob_id in [b for b in self._inline if b not in live]:
            del self._inline[blob_id]
            self._journal.forget(BLOB_NS, blob_id)
            removed += 1
        for sub in self.directory.iterdir():
            if sub.name == "tmp":
                for leftover in sub.iterdir():
                    _unlink_quietly(leftover)
                continue
            if sub.is_dir():
                for file in sub.iterdir():
                    if file.name not in live:
                        _unlink_quietly(file)
                        removed += 1
        return removed

    def clear(self) -> None:
        self._inline.clear()
        self._refs.clear()
        for sub in self.directory.iterdir():
            if sub.is_dir() and sub.name != "tmp":
                shutil.rmtree(sub, ignore_errors=True)

    def close(self) -> None:
        if self._temporary:
            shutil.rmtree(self.directory, ignore_errors=True)


class BlobWriter:
    """Writes one large body to a temp file; `finish_sync()` fsyncs and renames it into place.

    The *_sync methods do file I/O and are meant to run in a worker thread (asyncio.to_thread), in order.
    """

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._fd: int | None = None
        self._tmp_path: Path | None = None
        self.size = 0

    def write_sync(self, data: bytes | memoryview) -> None:
        if self._fd is None:
            self._tmp_path = self._store.directory / "tmp" / hex_id(16)
            self._fd = os.open(self._tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        _write_all(self._fd, data)
        self.size += len(data)

    def write_pieces_sync(self, pieces: list[bytes]) -> None:
        """Append the pieces in order, with as few system calls as the kernel allows (writev)."""
        if self._fd is None:
            self.write_sync(b"")
        assert self._fd is not None
        views = [memoryview(piece) for piece in pieces if piece]
        while views:
            written = os.writev(self._fd, views[:_IOV_MAX])
            self.size += written
            while views and written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            if views and written:
                views[0] = views[0][written:]

    def finish_sync(self) -> str:
        if self._fd is None:
            self.write_sync(b"")
        blob_id = "f" + hex_id(15)
        fd, tmp = self._fd, self._tmp_path
        self._fd = None
        assert fd is not None and tmp is not None
        _finish_file(fd, tmp, self._store.path_of(blob_id), self._store.fsync)
        return blob_id

    def abort_sync(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if self._tmp_path is not None:
                _unlink_quietly(self._tmp_path)


#: buffers per writev() call (POSIX guarantees at least 16; Linux allows 1,024)
_IOV_MAX = 512


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _finish_file(fd: int, tmp: Path, final: Path, durable: bool) -> None:
    try:
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    final.parent.mkdir(exist_ok=True)
    os.replace(tmp, final)
    if not durable:
        return
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _pread(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb", buffering=0) as fh:
        fh.seek(offset)
        return fh.read(length)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _unlink_off_the_loop(path: Path) -> None:
    """Unlink a replaced body file in a worker thread: freeing a large file's pages held the event loop for
    hundreds of µs (a 1 MiB PutObject overwrite). Without a running loop (replay, tools) it is unlinked at once."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _unlink_logged(path)
        return
    loop.run_in_executor(None, _unlink_logged, path)


def _unlink_logged(path: Path) -> None:
    try:
        _unlink_quietly(path)
    except OSError:
        log.exception("could not remove the replaced body file %s", path)
