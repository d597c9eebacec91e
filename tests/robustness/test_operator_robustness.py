"""Every operator case of robust_operators.py: one-line refusals, user data unchanged, nothing left behind,
outputs only on the active object when its mesh is shared, internal errors reported with a report file."""
from __future__ import annotations

import pytest
from robust_operators import OPERATOR_CASES, run_operator_case


@pytest.mark.parametrize("case", OPERATOR_CASES, ids=[c.id for c in OPERATOR_CASES])
def test_operator_case(case, corpus, registered):
    outcome = run_operator_case(case, corpus)
    assert not outcome.problems, f"{case.id}: {outcome.problems}\nstderr: {outcome.stderr[-1500:]}"
