"""The real-data benchmark of every capability: `tests/bench/results/real.json` and `real.md`.

    nice -n 10 .venv/bin/python tests/bench/bench_real.py [--part landmarks|photo|skin ...]

Each part lives in its own module (`real_<part>.py`) with `run(root: Path) -> tuple[dict, str]` returning
its keys for real.json and its section of real.md. A run of some parts keeps the other parts' keys and
sections from the previous run, so each capability can be re-measured on its own. Skips with a message
where `../shared/real` is absent (see real_data.py).
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, write_results  # noqa: E402
from real_data import real_root  # noqa: E402

PARTS = ("landmarks", "photo", "skin")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", action="append", choices=PARTS, help="run only these parts (repeatable)")
    args = ap.parse_args(argv)
    root = real_root()
    if root is None:
        return 0
    old_path = RESULTS / "real.json"
    old = json.loads(old_path.read_text()) if old_path.exists() else {}
    data: dict = {k: v for k, v in old.items() if k not in ("commit", "date", "machine", "python", "command")}
    sections: dict = dict(old.get("sections_md", {}))
    for part in args.part or PARTS:
        keys, section = importlib.import_module(f"real_{part}").run(root)
        data.update(keys)
        sections[part] = section
    data["sections_md"] = sections
    table = "\n\n".join(sections[p] for p in PARTS if p in sections)
    write_results("real", data, table, "nice -n 10 .venv/bin/python tests/bench/bench_real.py [--part P]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
