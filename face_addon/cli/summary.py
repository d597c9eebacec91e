"""The `--json` summary of a command (`face segment`, `face register`, `face reconstruct`, `face train`).

One header (`format` = "face_addon.<kind>", `version`), one encoding (numpy values become plain JSON numbers
and lists; indent 1; a final newline) and one atomic writer, so the commands cannot drift apart: before, each
built and wrote its document its own way. `print_warnings` is the one way a command prints its warnings.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..core.atomic_write import write_text_atomic


def print_warnings(warnings: Iterable[str]) -> None:
    """Each warning as one 'warning: ...' line on stderr (stdout keeps the command's result line)."""
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def plain(value: Any) -> Any:
    """`value` with numpy arrays/scalars and tuples turned into JSON's lists and numbers (recursively)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def summary_document(kind: str, fields: Mapping[str, Any], version: int = 1) -> dict[str, Any]:
    """{"format": "face_addon.<kind>", "version": version, **fields} with plain JSON values."""
    return {"format": f"face_addon.{kind}", "version": version, **plain(fields)}


def summary_text(kind: str, fields: Mapping[str, Any], version: int = 1) -> str:
    """The summary document as the text every command writes."""
    return json.dumps(summary_document(kind, fields, version), indent=1) + "\n"


def write_summary(path: Path | str, kind: str, fields: Mapping[str, Any], version: int = 1) -> Path:
    """Write the summary atomically (a temp file renamed when complete)."""
    return write_text_atomic(path, summary_text(kind, fields, version))
