"""Unpacked function code and layers: each zip blob extracted once, in a worker thread, under a scratch directory.

Directories are named by blob id (never by function name or path in the zip), reused by every environment of
every version that shares the code, and removed with the runtime. Executable bits recorded in the zip are kept:
a custom runtime's `bootstrap` must stay executable.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

ReadBlob = Callable[[str], Awaitable[bytes]]


class BadZip(ValueError):
    """The code is not a zip file we can unpack safely."""


class CodeCache:
    def __init__(self, read_blob: ReadBlob, root: Path | None = None) -> None:
        self._read_blob = read_blob
        self.root = root or Path(tempfile.mkdtemp(prefix="miniaws-functions-"))
        self._pending: dict[str, asyncio.Future[Path]] = {}

    async def path(self, blob_id: str) -> Path:
        """The directory holding blob_id's unpacked contents (extracted on first use)."""
        return await self._unpacked(blob_id, (blob_id,))

    async def layers_path(self, blob_ids: tuple[str, ...]) -> Path | None:
        """One directory standing for /opt: the layers unpacked in order, a later one overwriting an earlier
        one's files, as Lambda does; None without layers."""
        if not blob_ids:
            return None
        name = "opt-" + hashlib.sha1("/".join(blob_ids).encode()).hexdigest()[:24]
        return await self._unpacked(name, blob_ids)

    async def _unpacked(self, name: str, blob_ids: tuple[str, ...]) -> Path:
        target = self.root / name
        if target.is_dir():
            return target
        pending = self._pending.get(name)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._pending[name] = future
        try:
            archives = [await self._read_blob(blob_id) for blob_id in blob_ids]
            await asyncio.to_thread(extract, archives, target)
            future.set_result(target)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a failure with no other waiter must not be logged as unhandled
            raise
        finally:
            self._pending.pop(name, None)
        return target

    def clear(self) -> None:
        for child in self.root.iterdir():
            shutil.rmtree(child, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def check_zip(data: bytes) -> int:
    """Validate a code zip without extracting it; returns the unpacked size. Raises BadZip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = 0
            for info in archive.infolist():
                _safe_name(info.filename)
                total += info.file_size
            return total
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise BadZip(str(exc)) from None


def extract(archives: list[bytes], target: Path) -> None:
    """Unpack zips in order into a temp sibling, then rename it into place (no reader sees half a tree)."""
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        for data in archives:
            _extract_one(data, staging)
        os.replace(staging, target)
    except (zipfile.BadZipFile, EOFError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BadZip(str(exc)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _extract_one(data: bytes, staging: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name = _safe_name(info.filename)
            dest = staging / name
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(dest, mode | 0o400)


def _safe_name(name: str) -> str:
    cleaned = name.replace("\\", "/")
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if cleaned.startswith("/") or ".." in parts:
        raise BadZip(f"unsafe path in zip: {name!r}")
    return "/".join(parts) or "."
