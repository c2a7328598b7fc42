"""An exclusive, non-blocking lock so two runs never write the same output folder at once."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from huntbrief.errors import HuntbriefError


class RunLock:
    """`with RunLock(folder):` holds `folder/.huntbrief.lock`; a second holder gets a HuntbriefError.

    The lock is released by the OS when the process exits, so a killed run never leaves it stuck.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".huntbrief.lock"
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise HuntbriefError(
                "another huntbrief run is writing this folder", location=str(self.path)
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
