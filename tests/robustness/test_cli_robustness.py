"""Every command-line case of robust_cases.py: exit code, one line, no traceback, inputs unchanged, no partial
output, sane results (see robust_runner.run_case)."""
from __future__ import annotations

import pytest
from robust_cases import CASES
from robust_runner import run_case


def test_enough_cases():
    commands = {c.argv[0] for c in CASES if c.argv}
    assert len(CASES) >= 60
    assert {"info", "check", "edit", "landmarks", "segment", "register", "reconstruct", "synth", "demo"} <= commands


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_case(case, corpus, registered, tmp_path):
    outcome = run_case(case, corpus, tmp_path)
    assert not outcome.problems, f"{case.id}: {outcome.problems}\nstdout: {outcome.stdout[-500:]}\nstderr: {outcome.stderr[-1500:]}"
