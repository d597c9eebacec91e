"""Atomic file output: a file is written under a temp name in its own folder and renamed into place only when
complete, so a failure (full disk, Ctrl-C, a bug half-way through) leaves either the old file or nothing,
never a truncated one. No bpy.

    with atomic_path("out/head.ply") as tmp:      # one file, written by any writer that takes a path
        writer(tmp)
    write_text_atomic("summary.json", text)       # the common cases
    with atomic_outputs() as outs:                # several files of one command: all or none
        save_mesh(mesh, outs.path(args.out)); write_json(outs.path(args.json))

The temp name keeps the suffix (writers such as trimesh pick the format from it), starts with a dot and
carries the process id, so concurrent writers of the same file never share a temp file.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temp_path_for(path: Path | str) -> Path:
    """The temp name used while `path` is being written: same folder, hidden, same suffix."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temp path in `path`'s folder (created if needed); rename it to `path` when the block succeeds,
    delete it when the block raises (including KeyboardInterrupt)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise


def write_bytes_atomic(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path` atomically (see the module doc); returns the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a full disk raises here or at close: the temp file is removed
            fh.write(data)
    return Path(path)


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically; returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


class OutputSet:
    """The temp paths of one command's outputs, renamed together by `atomic_outputs`."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def path(self, final: Path | str) -> Path:
        """Where to write the output that will become `final` (its folder is created)."""
        final = Path(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path_for(final)
        self._pending.append((tmp, final))
        return tmp

    def commit(self) -> None:
        for tmp, final in self._pending:
            os.replace(tmp, final)

    def discard(self) -> None:
        for tmp, _ in self._pending:
            _discard(tmp)


@contextmanager
def atomic_outputs() -> Iterator[OutputSet]:
    """Several outputs that appear together: each is written to `outs.path(final)`; when the block succeeds
    all are renamed into place, when it raises none is (a failed --json never leaves the mesh behind)."""
    outs = OutputSet()
    try:
        yield outs
        outs.commit()
    except BaseException:
        outs.discard()
        raise
