"""The root key that wraps every KMS key's material before it reaches the journal (key material at rest is
never plaintext). Persistent servers keep it in `<data dir>/kms-root.key` (mode 0600, created on first use);
--ephemeral servers hold a random one in memory. Its bytes are never logged.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger("miniaws.kms")

ROOT_KEY_FILE = "kms-root.key"
_MAGIC = b"miniaws-kms-root-v1\n"
_KEY_BYTES = 32
_NONCE_BYTES = 12


class RootKeyError(RuntimeError):
    """The root key file is missing, unreadable or not the one the journal's key material was wrapped with."""


class RootKey:
    """AES-256-GCM key wrapping under one root key, loaded (or created) the first time it is needed."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._cipher: AESGCM | None = None

    def _load(self, create: bool) -> AESGCM:
        if self._cipher is not None:
            return self._cipher
        if self.path is None:
            self._cipher = AESGCM(os.urandom(_KEY_BYTES))
            return self._cipher
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise RootKeyError(f"{self.path} is missing: the KMS keys in this data directory cannot be "
                                   "unwrapped without it") from None
            data = self._create()
        if not data.startswith(_MAGIC) or len(data) != len(_MAGIC) + _KEY_BYTES:
            raise RootKeyError(f"{self.path} is not a miniaws KMS root key file")
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o); restricting it to 0600", self.path, mode)
            os.chmod(self.path, 0o600)
        self._cipher = AESGCM(data[len(_MAGIC):])
        return self._cipher

    def _create(self) -> bytes:
        assert self.path is not None
        data = _MAGIC + os.urandom(_KEY_BYTES)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL + 0600 from the start: the key is never readable by others, not even briefly
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the file's directory entry must be durable before any material wrapped under it
        finally:
            os.close(dir_fd)
        log.info("created KMS root key %s", self.path)
        return data

    def wrap(self, material: bytes, label: str) -> bytes:
        """Encrypt `material`, bound to `label` (which key and version it belongs to)."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._load(create=True).encrypt(nonce, material, label.encode())

    def unwrap(self, wrapped: bytes, label: str) -> bytes:
        try:
            return self._load(create=False).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], label.encode())
        except InvalidTag:
            raise RootKeyError(f"key material for {label} does not unwrap under {self.path}: "
                               "the root key file was replaced") from None
