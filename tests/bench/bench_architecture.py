"""Architecture numbers of issue 20, computed from the source: layer violations (the rules of
tests/layer_rules.py, allowlisted ones included), repeated-code pairs (`duplicates`, runs of six or more lines:
in the package, and in the whole repository's code with the tests, tools and build script), the largest module
and the modules over 400 lines. With --before REV the same numbers for that commit too (its code exported with
`git archive` to a temporary folder), so a change shows before and after.

Run: .venv/bin/python tests/bench/bench_architecture.py [--before REV]
     (writes tests/bench/results/architecture.json and architecture.md)
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import write_results  # noqa: E402
from tests.layer_rules import violations  # noqa: E402
from tests.unit.test_layers import ALLOWED_VIOLATIONS  # noqa: E402

BIG_MODULE_LINES = 400
MIN_SHARED_LINES = 6
#: the repository's code (what the whole-repository duplicate count reads in an exported commit)
CODE = ("face_addon", "tests", "tools", "build.py")


def duplicate_pairs(package: Path) -> tuple[int, str]:
    """(pairs of places sharing >= 6 lines, the tool's first line) from `duplicates` over the package."""
    run = subprocess.run(["duplicates", "--repo", str(package), "--min-lines", str(MIN_SHARED_LINES),
                          "--seconds", "300"], capture_output=True, text=True, check=True)
    if "incomplete:" in run.stdout:
        raise RuntimeError(f"duplicates did not read everything: {run.stdout.strip().splitlines()[-1]}")
    head = run.stdout.strip().splitlines()[0]
    if head.startswith("no duplicates"):
        return 0, head
    match = re.match(r"(\d+) pairs? of places", head)
    if match is None:
        raise RuntimeError(f"unexpected duplicates output: {head}")
    return int(match.group(1)), head


def measure(package: Path) -> dict:
    """The numbers for one copy of the face_addon package (its folder's parent: the repository's code)."""
    found = violations(package)
    lines = {str(p.relative_to(package.parent)): len(p.read_text(encoding="utf-8").splitlines())
             for p in sorted(package.rglob("*.py"))}
    largest = max(lines, key=lines.get)
    big = {k: v for k, v in sorted(lines.items(), key=lambda kv: -kv[1]) if v > BIG_MODULE_LINES}
    pairs, head = duplicate_pairs(package)
    repo_pairs, repo_head = duplicate_pairs(package.parent)
    return {
        "layer_violations": len(found),
        "layer_violation_pairs": len({v.key() for v in found}),
        "layer_violations_allowlisted": sum(v.key() in ALLOWED_VIOLATIONS for v in found),
        "layer_violation_list": [str(v) for v in found],
        "duplicate_pairs": pairs,
        "duplicates_summary": head,
        "duplicate_pairs_repository": repo_pairs,
        "duplicates_summary_repository": repo_head,
        "modules": len(lines),
        "largest_module": largest,
        "largest_module_lines": lines[largest],
        "modules_over_400": len(big),
        "modules_over_400_list": big,
    }


def exported(rev: str, into: Path) -> Path:
    """The code of commit `rev` (face_addon/, tests/, tools/, build.py), written below `into`; returns its
    face_addon/."""
    tar = subprocess.run(["git", "archive", rev, *CODE], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as tf:
        tf.extractall(into, filter="data")
    return into / "face_addon"


def table(now: dict, before: dict | None, rev: str | None) -> str:
    keys = ("layer_violations", "layer_violation_pairs", "layer_violations_allowlisted", "duplicate_pairs",
            "duplicate_pairs_repository", "largest_module_lines", "modules_over_400", "modules")
    head = "| measure | now |" + (f" before ({rev}) |" if before else "")
    rows = [head, "|---|---|" + ("---|" if before else "")]
    for k in keys:
        rows.append(f"| {k} | {now[k]} |" + (f" {before[k]} |" if before else ""))
    rows.append("\nLayer violations now (rules: docs/architecture.md; the allowlist is in tests/unit/test_layers.py):\n")
    rows += [f"- {v}" for v in now["layer_violation_list"]] or ["- none"]
    rows.append(f"\nLargest module: {now['largest_module']} ({now['largest_module_lines']} lines). Over "
                f"{BIG_MODULE_LINES} lines: " + ", ".join(f"{k} ({v})" for k, v in now["modules_over_400_list"].items()))
    rows.append(f"\n`duplicates` (face_addon/): {now['duplicates_summary']}")
    rows.append(f"\n`duplicates` (repository): {now['duplicates_summary_repository']}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", metavar="REV", help="also measure face_addon/ at this commit")
    a = ap.parse_args(argv)
    now = measure(REPO / "face_addon")
    before = None
    if a.before:
        with tempfile.TemporaryDirectory() as tmp:
            before = measure(exported(a.before, Path(tmp)))
    data = {**now, **({"before": {"rev": a.before, **before}} if before else {})}
    command = ".venv/bin/python tests/bench/bench_architecture.py" + (f" --before {a.before}" if a.before else "")
    write_results("architecture", data, table(now, before, a.before), command)
    print(table(now, before, a.before))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
