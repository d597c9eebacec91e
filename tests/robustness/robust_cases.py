"""The command-line cases of the robustness suite: every subcommand, bad options, bad files, bad output paths,
impossible results, Ctrl-C and a full disk. {c} is the corpus folder (robust_corpus.py), {o} the case's own
empty output folder. Codes: 0 done, 1 the work failed, 2 usage error (refused before any work), 130 Ctrl-C.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from robust_runner import Case

USAGE, FAIL, OK = (2,), (1,), (0,)
# /proc: a normal user is refused before the work (2); root passes the access check, but creating a file there
# fails (1)
UNWRITABLE = (1, 2)


def _readonly(corpus: Path, out: Path) -> None:
    (out / "ro").mkdir()
    (out / "ro").chmod(0o555)


def _edit_in_mm(corpus: Path, out: Path) -> str | None:
    """A millimetre head must get a millimetre-sized edit (not 1000x too small, not a km-sized nose)."""
    from face_addon.core.mesh_files import load_mesh

    a, b = load_mesh(corpus / "head_mm.obj").vertices, load_mesh(out / "mm.obj").vertices
    moved = float(np.linalg.norm(a - b, axis=1).max())
    return None if 0.5 < moved < 30.0 else f"largest move {moved:.4g} mm for nose_height=1.5 σ"


def _with_index(corpus: Path, out: Path) -> None:
    (out / "ds").mkdir()
    (out / "ds" / "index.json").write_text(json.dumps({"mine": True}))


def _copy_sphere(corpus: Path, out: Path) -> None:
    (out / "scan.ply").write_bytes((corpus / "sphere.ply").read_bytes())


def _unreadable_inputs(command: str, out: str, **inputs: tuple[str, str]) -> list[Case]:
    """`<command>_<kind>` for each unreadable input (kind=(corpus file, expected message)): the command fails
    with that message and writes nothing at `out`."""
    return [Case(f"{command}_{kind}", (command, f"{{c}}/{name}", "--out", out), FAIL, message, (out,))
            for kind, (name, message) in inputs.items()]


def _cases() -> list[Case]:
    s = "{c}/sphere.ply"
    cases = [
        # -- global / info
        Case("no_command", (), USAGE, "required"),
        Case("unknown_command", ("bogus",), USAGE, "invalid choice"),
        Case("info", ("info",), OK, "face_addon"),
        Case("info_extra_arg", ("info", "extra"), USAGE, "unrecognized"),
        # -- check
        Case("check_ok", ("check", s), OK, "vertices"),
        Case("check_missing", ("check", "{c}/missing.obj"), FAIL, "no such file"),
        Case("check_input_is_folder", ("check", "{c}"), FAIL, "a folder, not a file"),
        Case("check_empty", ("check", "{c}/empty.obj"), FAIL, "empty.obj"),
        Case("check_garbage", ("check", "{c}/garbage.ply"), FAIL, "garbage.ply"),
        Case("check_truncated", ("check", "{c}/truncated.ply"), FAIL, "truncated.ply"),
        Case("check_nan", ("check", "{c}/nan.obj"), FAIL, "NaN"),
        Case("check_bad_index", ("check", "{c}/badindex.obj"), FAIL, "indices|badindex"),
        Case("check_unknown_format", ("check", "{c}/mesh.xyz"), FAIL, "unsupported format"),
        Case("check_folder", ("check", "{c}/a folder.obj"), FAIL, "a folder.obj"),
        Case("check_micrometre_units", ("check", "{c}/tiny_um.ply"), FAIL, "unit"),
        Case("check_kilometre_units", ("check", "{c}/huge_km.ply"), FAIL, "unit"),
        # -- edit
        Case("edit_sigma_huge", ("edit", "{c}/head.obj", "--set", "nose_height=1e9", "--out", "{o}/e.obj"), USAGE,
             "-3..3", ("{o}/e.obj",)),
        Case("edit_sigma_nan", ("edit", "{c}/head.obj", "--set", "nose_height=nan", "--out", "{o}/e.obj"), USAGE,
             "-3..3", ("{o}/e.obj",)),
        Case("edit_sigma_inf", ("edit", "{c}/head.obj", "--set", "nose_height=-inf", "--out", "{o}/e.obj"), USAGE,
             "-3..3", ("{o}/e.obj",)),
        Case("edit_set_no_value", ("edit", "{c}/head.obj", "--set", "nose_height", "--out", "{o}/e.obj"), USAGE,
             "NAME=SIGMA", ("{o}/e.obj",)),
        Case("edit_unknown_controller", ("edit", "{c}/head.obj", "--set", "nose_lenght=1", "--out", "{o}/e.obj"),
             USAGE, "nose_lenght.*did you mean", ("{o}/e.obj",)),  # before any work (94c7dce)
        Case("edit_no_out", ("edit", "{c}/head.obj", "--set", "nose_height=1"), USAGE, "--out"),
        Case("edit_out_unknown_ext", ("edit", "{c}/head.obj", "--set", "nose_height=1", "--out", "{o}/e.xyz"),
             USAGE, "extension", ("{o}/e.xyz",)),
        Case("edit_out_is_input", ("edit", "{c}/head.obj", "--set", "nose_height=1", "--out", "{c}/head.obj"),
             USAGE, "input file"),
        Case("edit_out_is_folder", ("edit", "{c}/head.obj", "--set", "nose_height=1", "--out", "{c}/a folder.obj"),
             USAGE, "folder"),
        Case("edit_out_under_file", ("edit", "{c}/head.obj", "--out", "{c}/not_a_folder/e.obj"), USAGE,
             "not a folder"),
        Case("edit_not_facekit", ("edit", s, "--set", "nose_height=1", "--out", "{o}/e.obj"), FAIL, "FaceKit",
             ("{o}/e.obj",)),
        Case("edit_mm_head", ("edit", "{c}/head_mm.obj", "--set", "nose_height=1.5", "--out", "{o}/mm.obj"), OK,
             "edited", ("{o}/mm.obj",), check=_edit_in_mm),
        Case("edit_full_disk", ("edit", "{c}/head.obj", "--set", "nose_height=1", "--out", "{o}/e.obj"), FAIL,
             "too large|no space", ("{o}/e.obj",), file_size_limit=20_000),
        *([] if os.geteuid() == 0 else [  # root writes into read-only folders: the /proc case covers root
            Case("edit_readonly_folder", ("edit", "{c}/head.obj", "--set", "nose_height=1", "--out", "{o}/ro/e.obj"),
                 USAGE, "writable", ("{o}/ro/e.obj",), setup=_readonly)]),
        Case("edit_proc_folder", ("edit", "{c}/head.obj", "--out", "/proc/face_addon_e.obj"), UNWRITABLE,
             "proc", ("/proc/face_addon_e.obj",)),
        # -- landmarks (CLI surface: arguments, paths, bad files)
        *_unreadable_inputs("landmarks", "{o}/l.json", missing=("missing.obj", "no such file"),
                            garbage=("garbage.ply", "garbage"), empty=("empty.obj", "empty")),
        Case("landmarks_out_unknown_ext", ("landmarks", s, "--out", "{o}/l.txt"), USAGE, "extension",
             ("{o}/l.txt",)),
        Case("landmarks_out_is_input", ("landmarks", "{c}/lm_ok.json", "--out", "{c}/lm_ok.json"), USAGE,
             "input file"),
        Case("landmarks_corrupt_weights", ("landmarks", s, "--out", "{o}/l.json", "--weights", "{c}/corrupt.pt"),
             FAIL, r"^(?!.*weights_only).*corrupt", ("{o}/l.json",)),
        Case("landmarks_seed_text", ("landmarks", s, "--out", "{o}/l.json", "--seed", "abc"), USAGE, "seed"),
        # -- segment (CLI surface)
        *[Case(f"segment_{name}", ("segment", s, "--out", "{o}/s.ply", option, value), USAGE, option[2:],
               ("{o}/s.ply",))
          for name, option, value in (("max_vertices_zero", "--max-vertices", "0"),
                                      ("max_vertices_2m", "--max-vertices", "2000000"),
                                      ("threshold_nan", "--threshold", "nan"), ("threshold_2", "--threshold", "2"),
                                      ("views_typo", "--views", "nnone"))],
        Case("segment_out_json", ("segment", s, "--out", "{o}/s.json"), USAGE, "extension", ("{o}/s.json",)),
        Case("segment_json_is_out", ("segment", s, "--out", "{o}/s.ply", "--json", "{o}/s.ply"), USAGE,
             "extension|same file", ("{o}/s.ply",)),
        Case("segment_out_is_input", ("segment", "{o}/scan.ply", "--out", "{o}/scan.ply"), USAGE, "input file",
             setup=_copy_sphere),
        Case("segment_missing", ("segment", "{c}/missing.ply", "--out", "{o}/s.ply"), FAIL, "no such file",
             ("{o}/s.ply",)),
        Case("segment_corrupt_weights", ("segment", s, "--out", "{o}/s.ply", "--views", "none", "--weights",
                                         "{c}/corrupt.pt"), FAIL, r"^(?!.*weights_only).*corrupt", ("{o}/s.ply",)),
        # -- register
        Case("register_iterations_zero", ("register", s, "--skin", "{c}/skin_ok.npy", "--out", "{o}/r.ply",
                                          "--iterations", "0"), USAGE, "iterations", ("{o}/r.ply",)),
        Case("register_out_obj", ("register", s, "--skin", "{c}/skin_ok.npy", "--out", "{o}/r.obj"), USAGE,
             "extension", ("{o}/r.obj",)),
        Case("register_json_is_out", ("register", s, "--skin", "{c}/skin_ok.npy", "--out", "{o}/r.ply", "--json",
                                      "{o}/r.ply"), USAGE, "extension|same file", ("{o}/r.ply",)),
        Case("register_out_is_skin", ("register", s, "--skin", "{o}/scan.ply", "--out", "{o}/scan.ply"), USAGE,
             "input file", setup=_copy_sphere),
        *[Case(f"register_skin_{kind}", ("register", s, "--skin", f"{{c}}/skin_{kind}.npy", "--out", "{o}/r.ply"),
               FAIL, msg, ("{o}/r.ply",))
          for kind, msg in (("pickle", "not a skin file"), ("text", "not a skin file"), ("strings", "not numbers"),
                            ("short", "skin values for a scan"), ("nan", "finite"), ("range", "0..1"))],
        Case("register_skin_ply_without_quality", ("register", s, "--skin", "{c}/sphere.ply", "--out", "{o}/r.ply"),
             FAIL, "quality", ("{o}/r.ply",)),
        *[Case(f"register_landmarks_{name}", ("register", s, "--skin", "{c}/skin_ok.npy", "--out", "{o}/r.ply",
                                              "--landmarks", f"{{c}}/lm_{name}"), FAIL, msg, ("{o}/r.ply",))
          for name, msg in (("list.json", "landmark file"), ("noindex.json", "landmark file"),
                            ("empty.json", "landmark file"), ("short.json", "68"), ("nan.json", "NaN|landmark file"),
                            ("bad.csv", "landmark file"), ("bad.pp", "landmark file"),
                            ("latin1.json", "landmark file"), ("missing.json", "no such"),
                            ("mm.json", "units"))],
        # -- reconstruct
        *_unreadable_inputs("reconstruct", "{o}/r.obj", missing=("nope.png", "no such photo"),
                            garbage=("garbage.png", "garbage.png"), empty=("empty.jpg", "empty.jpg"),
                            folder=(".", "a folder, not a photo")),
        Case("reconstruct_out_xyz", ("reconstruct", "{c}/garbage.png", "--out", "{o}/r.xyz"), USAGE, "extension",
             ("{o}/r.xyz",)),
        Case("reconstruct_json_is_out", ("reconstruct", "{c}/garbage.png", "--out", "{o}/r.obj", "--json",
                                         "{o}/r.obj"), USAGE, "extension|same file", ("{o}/r.obj",)),
        Case("reconstruct_face_negative", ("reconstruct", "{c}/garbage.png", "--out", "{o}/r.obj", "--face", "-1"),
             USAGE, "face"),
        Case("reconstruct_method_typo", ("reconstruct", "{c}/garbage.png", "--out", "{o}/r.obj", "--method", "fitt"),
             USAGE, "method"),
        # -- synth
        Case("synth_res_zero", ("synth", "--out", "{o}/ds", "--res", "0"), USAGE, "res", ("{o}/ds",)),
        Case("synth_seed_negative", ("synth", "--out", "{o}/ds", "--seed", "-5"), USAGE, "seed", ("{o}/ds",)),
        Case("synth_target_verts_zero", ("synth", "--out", "{o}/ds", "--target-verts", "0"), USAGE, "target-verts",
             ("{o}/ds",)),
        Case("synth_count_zero", ("synth", "--out", "{o}/ds", "--count", "0"), USAGE, "count", ("{o}/ds",)),
        Case("synth_views_14", ("synth", "--out", "{o}/ds", "--views", "14"), USAGE, "views", ("{o}/ds",)),
        Case("synth_bad_shard", ("synth", "--out", "{o}/ds", "--shard", "3/2"), USAGE, "shard", ("{o}/ds",)),
        Case("synth_seed_overflow", ("synth", "--out", "{o}/ds", "--seed", "9999999", "--count", "5"), USAGE,
             "below", ("{o}/ds",)),
        Case("synth_no_out", ("synth",), USAGE, "--out"),
        Case("synth_out_is_file", ("synth", "--out", "{c}/not_a_folder"), USAGE, "is a file"),
        Case("synth_user_index", ("synth", "--out", "{c}/user_folder", "--profile", "scan", "--count", "1"), FAIL,
             "not written by face synth"),
        Case("synth_foreign_index_in_output", ("synth", "--out", "{o}/ds", "--profile", "scan", "--count", "1"),
             FAIL, "not written by face synth", setup=_with_index),
        Case("synth_verify_missing", ("synth", "verify", "{c}/missing_ds"), FAIL, "no such dataset"),
        Case("synth_preview_empty", ("synth", "preview", "{o}"), FAIL, "no complete samples"),
        Case("synth_preview_jpg", ("synth", "preview", "{o}", "--png", "{o}/p.jpg"), USAGE, "extension",
             ("{o}/p.jpg",)),
        Case("synth_ctrl_c", ("synth", "--out", "{o}/ds", "--profile", "scan", "--count", "1", "--seed", "3"),
             (130,), "interrupted", ("{o}/ds/0000003",), interrupt_after_s=2.0),
        # -- demo (options only: a full demo takes minutes)
        Case("demo_res_zero", ("demo", "--out", "{o}/demo", "--res", "0"), USAGE, "res", ("{o}/demo",)),
        Case("demo_samples_zero", ("demo", "--out", "{o}/demo", "--samples", "0"), USAGE, "samples", ("{o}/demo",)),
        Case("demo_samples_nan", ("demo", "--out", "{o}/demo", "--samples", "nan"), USAGE, "samples",
             ("{o}/demo",)),
        Case("demo_out_is_file", ("demo", "--out", "{c}/not_a_folder"), USAGE, "is a file"),
        # -- train (options, and one CI preset on generated data)
        Case("train_no_model", ("train",), USAGE, "required"),
        Case("train_unknown_model", ("train", "gpt"), USAGE, "invalid choice"),
        Case("train_no_data", ("train", "landmarks", "--out", "{o}/run"), USAGE, "--data DIR is required",
             ("{o}/run",)),
        Case("train_data_missing", ("train", "skin", "--out", "{o}/run", "--data", "{c}/missing_ds"), USAGE,
             "no such folder", ("{o}/run",)),
        Case("train_max_hours", ("train", "landmarks", "--out", "{o}/run", "--smoke", "--max-hours", "1"), USAGE,
             "unrecognized", ("{o}/run",)),
        Case("train_minutes_nan", ("train", "skin", "--out", "{o}/run", "--smoke", "--minutes", "nan"), USAGE,
             "minutes", ("{o}/run",)),
        Case("train_no_out", ("train", "skin_image", "--smoke"), USAGE, "--out"),
        Case("train_smoke", ("train", "skin_image", "--out", "{o}/run", "--smoke"), OK, "skin_image.pt",
             ("{o}/run/skin_image.pt",)),
    ]
    return cases


CASES: list[Case] = _cases()
