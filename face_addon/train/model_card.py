"""One model-card builder for every trainer's `ship()`: the card JSON beside the weights and the file's row in
face_addon/models/MODEL_CARD.md.

Why: each trainer wrote its card as its own dict literal and JSON dump, and the MODEL_CARD.md rows were
written by hand, so the two drifted. Here a card is assembled from what the run already recorded (the weights'
metadata: training progress and settings), the benchmark results, and what only the trainer can say (the
model, its paper, its loader, the data and its licence). In the row, "what" and "status" are a person's words
(a description and a judgement) and are kept from the existing row; size, training and held-out result are
rewritten from the run and the benchmark, so they cannot go stale.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

CARD_INDEX = "MODEL_CARD.md"
NEW_STATUS = "**new**: review this row"


@dataclass(frozen=True)
class About:
    """What a trainer says about its model that the run metadata cannot."""
    model: str
    paper: str
    load: str


@dataclass(frozen=True)
class Row:
    """A MODEL_CARD.md row's summary cells, written by the trainer from the run metadata and the benchmark."""
    trained_on: str
    held_out: str


def build_card(about: About, file: str, size_mb: float, sections: dict[str, Any]) -> dict[str, Any]:
    """The card: the header every shipped network's card starts with, then the trainer's sections in order."""
    return {"model": about.model, "paper": about.paper, "file": file, "size_mb": size_mb, "load": about.load,
            **sections}


def run_record(meta: dict[str, Any]) -> dict[str, Any]:
    """The training progress and settings the weights' metadata carries (None where a run did not record one)."""
    return {"training": meta.get("training"), "settings": meta.get("settings")}


def picked(bench: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The benchmark results of these keys that the results file holds, in the order asked."""
    return {k: bench[k] for k in keys if k in bench}


def write_card(models_dir: Path, file: str, card: dict[str, Any], row: Row | None = None) -> Path:
    """Write models_dir/<stem>.json (one format: indent 1, UTF-8, final newline) and, given a row and a
    MODEL_CARD.md in models_dir, put the file's row there. Returns the card's path."""
    path = models_dir / f"{Path(file).stem}.json"
    path.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    index = models_dir / CARD_INDEX
    if row is not None and index.is_file():
        index.write_text(with_row(index.read_text(encoding="utf-8"), file, card, row), encoding="utf-8")
    return path


def table_row(file: str, card: dict[str, Any], row: Row, what: str, status: str) -> str:
    """One MODEL_CARD.md table row: file (size), what, trained on, held-out result, status."""
    cells = [f"`{file}` ({card['size_mb']:.1f} MB)", what, row.trained_on, row.held_out, status]
    return "| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |"


def with_row(text: str, file: str, card: dict[str, Any], row: Row) -> str:
    """MODEL_CARD.md text with the row of `file` replaced (its "what" and status cells kept) or, when it has
    none, added after the table's last row (what: the card's model)."""
    lines = text.splitlines()
    mine = re.compile(r"^\|\s*`" + re.escape(file) + r"`")
    for i, line in enumerate(lines):
        if mine.match(line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            lines[i] = table_row(file, card, row, cells[1], cells[-1])
            return "\n".join(lines) + "\n"
    last = max((i for i, line in enumerate(lines) if line.startswith("|")), default=len(lines) - 1)
    lines.insert(last + 1, table_row(file, card, row, card["model"], NEW_STATUS))
    return "\n".join(lines) + "\n"


def seed_text(seeds: Any) -> str:
    """Training seeds as the metadata records them ([first, last] runs, one run, or a text) in a few words:
    a scattered subset is named by its span (the card lists every run)."""
    if isinstance(seeds, str):
        return seeds
    if not seeds:
        return "not recorded"
    runs = seeds if isinstance(seeds[0], list) else [seeds]
    if len(runs) > 2:
        return f"within {runs[0][0]}–{runs[-1][1]}, the card lists them"
    return ", ".join(f"{a}–{b}" if a != b else f"{a}" for a, b in runs)
