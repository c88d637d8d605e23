"""The archive written from a process of its own, a batch behind the caller.

``hazmat check`` on a big file judges on one core; the SQL work of each batch (indexes,
WAL, commit) then runs on another while the next batch is judged. Batches are written in
the order handed over, each in one transaction (:meth:`hazmat.archive._SqlArchive.write`),
so what the archive guarantees (once per event id, append-only) holds unchanged.

The child is a fresh interpreter (``python -c``), not a fork: nothing of the caller's state
(threads, open connections, buffered output) is copied into it. It runs in a session of its
own, so Ctrl-C reaches only the caller, which then hands over what it has and waits; and it
stops when its input closes, so it never outlives the caller. Frames on both pipes are an
8-byte length and a pickle (the child only reads what its own parent wrote).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from hazmat.archive import Batch, Entry, batch_of, open_archive

_CHILD = "from hazmat.archivewriter import serve; serve()"


class ArchiveError(Exception):
    """The archive could not be opened or refused a batch; the message says why."""


class ArchiveWriter:
    """Hands batches to a writer process; :meth:`wait` confirms them one by one, oldest first."""

    def __init__(self, target: str | Path) -> None:
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
            )
        except OSError as exc:
            raise ArchiveError(f"cannot start the archive writer: {exc}") from exc
        self._unconfirmed = 0
        self._send(str(target))  # over the pipe, not argv: a database URL may hold a password

    def submit(self, entries: list[Entry]) -> None:
        """Hand a batch over; blocks only while the writer is still busy with an older one."""
        self._send(batch_of(entries))
        self._unconfirmed += 1

    def wait(self) -> int:
        """Wait until the oldest unconfirmed batch is committed; return how many check-ins were new."""
        if not self._unconfirmed:
            raise ValueError("no batch to wait for")
        self._unconfirmed -= 1
        reply = _read(self._stdout())
        if reply is None:
            raise ArchiveError(f"the archive writer stopped (exit {self._proc.wait()})")
        ok, value = reply
        if not ok:
            raise ArchiveError(value)
        return int(value)

    def close(self) -> None:
        """Stop the writer once it has written what it was given (an unconfirmed batch is still written)."""
        self._proc.communicate()  # closes its input, reads what it still answers, waits for its exit

    def _send(self, obj: Any) -> None:
        assert self._proc.stdin is not None
        try:
            _write(self._proc.stdin, obj)
        except BrokenPipeError:
            raise ArchiveError(f"the archive writer stopped (exit {self._proc.wait()})") from None

    def _stdout(self) -> IO[bytes]:
        assert self._proc.stdout is not None
        return self._proc.stdout


def _write(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big"))
    stream.write(data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    """The next frame, or None at the end of the stream (or where it breaks off: the other side died)."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head, "big")
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


def serve() -> None:
    """The writer process: open the archive named by the first frame, then write each batch and reply."""
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")  # the frames' own pipe; anything printed goes to stderr instead
    os.dup2(2, 1)
    target = _read(stdin)
    if target is None:
        return
    try:
        store = open_archive(target)
        failure = None
    except Exception as exc:  # every batch is then answered with why, so the caller reports it
        store, failure = None, f"cannot open the archive: {exc}"
    try:
        while (batch := _read(stdin)) is not None:
            if store is None:
                _write(stdout, (False, failure))
                continue
            assert isinstance(batch, Batch)
            try:
                _write(stdout, (True, store.write(batch)))
            except Exception as exc:
                _write(stdout, (False, str(exc)))
    except BrokenPipeError:  # the caller is gone: nothing left to answer
        pass
    finally:
        if store is not None:
            store.close()
