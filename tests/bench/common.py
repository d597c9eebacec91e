"""Shared bits of the benchmarks: where results go and the provenance every result file carries."""
from __future__ import annotations

import datetime
import json
import platform
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def provenance() -> dict:
    """Commit, date and machine, so a number can be traced back to what produced it."""
    repo = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    import os

    return {
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, "
                   f"{platform.system()} {platform.release()}".replace("  ", " "),
        "python": platform.python_version(),
    }


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (header, rule, one line per row; cells as given, already formatted)."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def write_results(name: str, data: dict, table: str, command: str) -> None:
    """Write results/<name>.json (numbers + provenance) and results/<name>.md (table + how to reproduce)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    full = {**data, **provenance(), "command": command}
    (RESULTS / f"{name}.json").write_text(json.dumps(full, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(
        f"# {name}\n\n{table.strip()}\n\nCommit {full['commit'][:10]}, {full['date']}, {full['machine']}.\n\n"
        f"Reproduce: `{command}`\n")
