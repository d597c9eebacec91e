"""The reliability building blocks without bpy: error root and messages, atomic writes, option and output-path
checks, memory cap, the synth index guard. The end-to-end behaviour is tests/robustness."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from face_addon.cli.args import check_outputs, choice_or_folder, finite_float, int_range
from face_addon.core.atomic_write import atomic_outputs, atomic_path, write_text_atomic
from face_addon.core.errors import (MeshError, PhotoError, UsageError, UserError, WeightsError, internal_error_message,
                                    one_line, os_error_message)
from face_addon.core.memory_budget import SEGMENT_HARD_MAX, check_network_vertices, max_network_vertices


def test_one_error_root_keeps_the_old_import_paths():
    from face_addon.core.mesh import MeshError as M
    from face_addon.core.photo import PhotoError as P
    from face_addon.core.weights import WeightsError as W

    assert (M, P, W) == (MeshError, PhotoError, WeightsError)
    for cls in (MeshError, PhotoError, WeightsError, UsageError):
        assert issubclass(cls, UserError)
    assert issubclass(MeshError, ValueError) and issubclass(PhotoError, ValueError)  # old `except ValueError` works


def test_messages_are_one_line_and_internal_errors_leave_a_report(tmp_path):
    assert one_line("a\n  b\tc") == "a b c" and len(one_line("x" * 1000)) == 400
    try:
        {}["missing"]
    except KeyError as exc:
        message = internal_error_message(exc, "face test")
    assert "\n" not in message and message.startswith("internal error (KeyError")
    report = Path(message.rsplit("full report: ", 1)[1])
    assert "Traceback" in report.read_text()
    report.unlink()
    assert os_error_message(PermissionError(13, "Permission denied", "/x/y.ply")) == "/x/y.ply: Permission denied"
    assert os_error_message(FileNotFoundError("no samples in d")) == "no samples in d"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "sub" / "out.json"
    write_text_atomic(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            assert tmp.parent == path.parent and tmp.suffix == ".json"
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert path.read_text() == "old" and sorted(p.name for p in path.parent.iterdir()) == ["out.json"]


def test_atomic_outputs_appear_together_or_not_at_all(tmp_path):
    a, b = tmp_path / "a.ply", tmp_path / "b.json"
    with pytest.raises(KeyboardInterrupt):
        with atomic_outputs() as outs:
            outs.path(a).write_text("mesh")
            outs.path(b)
            raise KeyboardInterrupt
    assert not list(tmp_path.iterdir())
    with atomic_outputs() as outs:
        outs.path(a).write_text("mesh")
        outs.path(b).write_text("{}")
    assert a.read_text() == "mesh" and b.read_text() == "{}" and len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "2", "-0.1", "abc", ""])
def test_finite_float_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError):
        finite_float(0.0, 1.0)(text)


def test_option_types_accept_what_is_valid(tmp_path):
    assert finite_float(0.0, 1.0)("0.25") == 0.25 and math.isfinite(finite_float(-3, 3)("-3"))
    assert int_range(1, 10)("10") == 10
    for bad in ("0", "11", "1.5", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            int_range(1, 10)(bad)
    views = choice_or_folder("render", "none")
    assert views("none") == "none" and views(str(tmp_path)) == str(tmp_path)
    with pytest.raises(argparse.ArgumentTypeError, match="nnone"):
        views("nnone")


def test_output_paths_are_checked_before_the_work(tmp_path):
    scan = tmp_path / "scan.ply"
    scan.write_text("x")
    (tmp_path / "afile").write_text("x")
    ok = [("--out", tmp_path / "new" / "deeper" / "o.ply", (".ply",)), ("--json", tmp_path / "o.json", (".json",))]
    check_outputs([scan], ok)
    for outputs, match in (
            ([("--out", tmp_path / "o.xyz", (".ply",))], "extension"),
            ([("--out", tmp_path, (".ply", ""))], "folder"),
            ([("--out", tmp_path / "afile" / "o.ply", (".ply",))], "not a folder"),
            ([("--out", tmp_path / "x" / ".." / "scan.ply", (".ply",))], "input file"),
            ([("--out", tmp_path / "o.ply", (".ply",)), ("--json", tmp_path / "o.ply", (".ply",))], "same file")):
        with pytest.raises(UsageError, match=match):
            check_outputs([scan], outputs)


def test_network_vertices_are_capped_by_memory():
    assert max_network_vertices(available=None) <= SEGMENT_HARD_MAX
    assert max_network_vertices(available=2 * 10**9) < 100_000
    assert check_network_vertices(10_000, available=2 * 10**9) == 10_000
    with pytest.raises(UserError, match="GB of memory"):
        check_network_vertices(2_000_000, available=2 * 10**9)


def test_sigma_values_are_finite_and_bounded():
    from face_addon.core.pipelines.edit_face import SIGMA_RANGE, check_sigma

    assert check_sigma("nose_height", SIGMA_RANGE[1]) == SIGMA_RANGE[1]
    for bad in (float("nan"), float("inf"), 1e9, SIGMA_RANGE[0] - 0.01):
        with pytest.raises(MeshError, match="nose_height"):
            check_sigma("nose_height", bad)


def test_synth_never_replaces_a_foreign_index(tmp_path):
    from face_addon.core.dataset import FORMAT_VERSION, check_own_index, write_index

    (tmp_path / "index.json").write_text('{"mine": 1}')
    with pytest.raises(UserError, match="not written by face synth"):
        write_index(tmp_path)
    assert json.loads((tmp_path / "index.json").read_text()) == {"mine": 1}
    (tmp_path / "index.json").write_text(json.dumps({"format": FORMAT_VERSION, "samples": []}))
    check_own_index(tmp_path)
    assert write_index(tmp_path) == []
