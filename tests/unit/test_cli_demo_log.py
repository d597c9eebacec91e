"""The demo's log lines: the landmark summary without a face frame ends cleanly (QA: a dangling '; ')."""
from face_addon.cli.demo import detail_line


def test_detail_line_skips_missing_parts():
    assert detail_line("68 landmarks (sgcn)", None) == "  68 landmarks (sgcn)"
    assert detail_line("68 landmarks (sgcn)", "") == "  68 landmarks (sgcn)"


def test_detail_line_joins_present_parts():
    assert detail_line("68 landmarks (views)", "face looks along -Y") == "  68 landmarks (views); face looks along -Y"
