"""Robustness benchmark: runs every case of the robustness suite (tests/robustness: command line and operators)
on a freshly built corpus and writes tests/bench/results/robustness.json + .md with the counts of cases,
tracebacks, silent wrong results, modified inputs, partial outputs and hangs, plus every case that failed.

    OMP_NUM_THREADS=1 .venv/bin/python tests/bench/bench_robustness.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE), str(HERE.parent / "robustness"), str(HERE.parent / "integration")]
# Blender's user folders go to a throw-away dir before bpy is imported (as in tests/conftest.py)
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="face_addon_blender_user_")

from common import write_results  # noqa: E402


def main() -> int:
    import face_addon
    from robust_cases import CASES
    from robust_corpus import build_corpus
    from robust_operators import OPERATOR_CASES, run_operator_case
    from robust_runner import run_case, summary

    t0 = time.perf_counter()
    face_addon.register()
    try:
        with tempfile.TemporaryDirectory(prefix="face_robustness_") as tmp:
            corpus = build_corpus(Path(tmp) / "corpus")
            cli = [run_case(c, corpus, Path(tmp) / "work") for c in CASES]
            ops = [run_operator_case(c, corpus) for c in OPERATOR_CASES]
    finally:
        face_addon.unregister()
    seconds = time.perf_counter() - t0
    by_command: dict[str, int] = {}
    for c in CASES:
        key = c.argv[0] if c.argv else "(none)"
        by_command[key] = by_command.get(key, 0) + 1
    by_command["operators"] = len(OPERATOR_CASES)
    failures = [{"case": o.case.id, "problems": o.problems} for o in cli if o.problems]
    failures += [{"case": c.id, "problems": o.problems} for c, o in zip(OPERATOR_CASES, ops) if o.problems]
    counts = summary(cli + ops)
    data = {**counts, "cli_cases": len(cli), "operator_cases": len(ops), "cases_by_command": by_command,
            "exit_codes": {str(k): sum(o.code == k for o in cli) for k in sorted({o.code for o in cli}, key=str)},
            "seconds": round(seconds, 1), "failures": failures}
    rows = "\n".join(f"| {k} | {v} |" for k, v in counts.items())
    table = (f"| measure | value |\n|---|---|\n{rows}\n\nCases per command: "
             + ", ".join(f"{k} {v}" for k, v in by_command.items())
             + f". All cases in {seconds:.0f} s, one process.\n\n"
             + ("Failing cases:\n" + "\n".join(f"- {f['case']}: {'; '.join(f['problems'])}" for f in failures)
                if failures else "Every case passed."))
    write_results("robustness", data, table, "OMP_NUM_THREADS=1 .venv/bin/python tests/bench/bench_robustness.py")
    print(table)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
