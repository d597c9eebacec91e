"""Is the face found on any scan a user brings? A sweep of the face search (issue 17) over real and synthetic scans.

    nice -n 10 .venv/bin/python tests/bench/real_robustness.py                 # writes results/face_search_sweep.*
    nice -n 10 .venv/bin/python tests/bench/real_robustness.py --code DIR --raw before.json   # old code, raw only
    nice -n 10 .venv/bin/python tests/bench/real_robustness.py --before before.json   # table: before -> after

Every scan is searched as stored (the reference) and in copies that change one thing at a time but cycle the
rest, so the factors are covered without their full product (which would take hours on one thread):

- orientation: as stored; the other up convention (+Z up for the +Y-up real files, +Y up for the synthetic
  +Z-up ones); lying on the back (face up), on the side, upside down; 3 random rotations;
- unit: m, cm, mm and "arb" (43 units per metre: Lee Perry-Smith's head is ~8.6 units wide), cycled over the
  orientations (each scan starts the cycle at another unit);
- density: as is; quadric-decimated to ~10k and ~5k vertices (vertex colours carried, a texture dropped);
  midpoint-subdivided to ~200k for two scans.

Scans: the 15 Artec faces, humface, Lee Perry-Smith and fran (../shared/real; real scans, evaluation only,
nothing is fitted to them) and the synthetic test scans in /work/data/synth/test (or $FACE_SYNTH_TEST; fewer
copies each: a random turn, 10k upside down, 5k turned). Per copy: face found (a frame, i.e. not "no face"),
the frame's angle to the reference frame turned back (deg), whether the unit is the reference's (within 2 %;
in "arb", where nothing snaps, the face's size), CPU seconds; on the Artec scans Detect Landmarks runs in full
and the 10 clicked points' error is compared with the reference's (for +Y-up files, lying on the back is the
stored pose: that copy repeats the reference). Skips with a message where ../shared/real is absent.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
NAME = "face_search_sweep"
ORIENTATIONS = ("stored", "other_up", "on_back", "on_side", "upside_down", "random1", "random2", "random3")
UNITS = {"m": 1.0, "cm": 100.0, "mm": 1000.0, "arb": 43.0}  # scan units per metre
SYNTH_CASES = (("random1", None), ("upside_down", 10_000), ("random2", 5_000))
DENSE = ("p05_smile", "lee_perry_smith")


def _turn(axis: str, deg: float) -> np.ndarray:
    """Rotation matrix of `deg` degrees about the world axis `axis` ("x" or "y")."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler(axis, deg, degrees=True).as_matrix()


def orientation(name: str, y_up: bool, seed: int) -> np.ndarray:
    """Rotation applied to the stored scan. The named poses are defined on its +Z-up version (face towards -Y):
    a +Y-up file (face towards +Z) is first turned by +90° about x."""
    from real_landmarks import random_rotation

    to_zup = _turn("x", 90.0) if y_up else np.eye(3)
    if name == "stored":
        return np.eye(3)
    if name == "other_up":
        return to_zup if y_up else _turn("x", -90.0)
    if name.startswith("random"):
        return random_rotation(np.random.default_rng([seed, int(name[-1])]))
    pose = {"on_back": _turn("x", -90.0), "on_side": _turn("y", 90.0), "upside_down": _turn("x", 180.0)}[name]
    return pose @ to_zup


def scans(root: Path | None, synth: Path) -> list[tuple[str, str, object, float, bool, np.ndarray | None]]:
    """(name, group, Mesh, native units per metre (None: unknown), +Y up as stored, lm22 clicks or None)."""
    from face_addon.core.mesh_files import load_mesh

    out = []
    if root is not None:
        from real_landmarks import artec_scans

        out += [(n, "artec", m, 1000.0, True, lm) for n, m, lm in artec_scans(root)]
        s = root / "scans"
        out += [("humface", "real", load_mesh(s / "humface" / "humface.ply"), 1000.0, True, None),
                ("lee_perry_smith", "real", load_mesh(s / "lee_perry_smith" / "LeePerrySmith_decoded.obj"), None,
                 True, None),
                ("fran", "real", load_mesh(s / "fran" / "fran_cut_converted.obj"), 1.0, True, None)]
    for d in sorted(synth.glob("*/scan.ply")):
        out.append((f"synth_{d.parent.name}", "synth", load_mesh(d), 1.0, False, None))
    return out


def resampled(mesh, density: int | None):
    """The mesh decimated (quadric, vertex colours carried, texture dropped) or subdivided to ~density."""
    from face_addon.core.geometry.decimate import decimate
    from face_addon.core.mesh import Mesh
    from real_landmarks import subdivided_to

    if density is None:
        return mesh
    if density > mesh.n_vertices:
        return subdivided_to(Mesh(mesh.vertices, mesh.faces), density)
    d = decimate(mesh.vertices, mesh.faces, density)
    return Mesh(d.vertices, d.faces, colors=None if mesh.colors is None else mesh.colors[d.source])


def search(mesh, artec: bool):
    """(frame or None, 68 landmarks or None, CPU s): Detect Landmarks in full on Artec scans, else the face search."""
    from face_addon.core.errors import MeshError
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks
    from face_addon.core.pipelines.face_orientation import find_face_frame

    t0 = time.process_time()
    if artec:
        try:
            r = detect_landmarks(mesh.vertices, mesh.faces, colors=mesh.colors, uv=mesh.uv, texture=mesh.texture)
            frame, lm = r.frame, r.landmarks
        except MeshError:
            frame, lm = None, None
    else:
        frame = find_face_frame(mesh.vertices, mesh.faces, mesh.colors, mesh.uv, mesh.texture)
        lm = None
    return frame, lm, time.process_time() - t0


def cases(i: int, name: str, group: str) -> list[tuple[str, str, int | None]]:
    """(orientation, unit, density) copies of scan number i (module doc)."""
    units = list(UNITS)
    if group == "synth":
        return [(o, units[(i + k + 1) % 4], d) for k, (o, d) in enumerate(SYNTH_CASES)]
    out = [(o, units[(i + k) % 4], None) for k, o in enumerate(ORIENTATIONS)]
    out += [("random1", units[(i + 1) % 4], 10_000), ("random2", units[(i + 2) % 4], 5_000)]
    if name in DENSE:
        out.append(("random3", units[(i + 3) % 4], 200_000))
    return out


def run(root: Path | None, synth: Path, limit: int | None) -> list[dict]:
    """One row per searched copy (the reference rows have orientation 'reference')."""
    from face_addon.core.mesh import Mesh
    from real_landmarks import ARTEC_PAIRS, errors_mm

    rows = []
    for i, (name, group, mesh, native, y_up, lm22) in enumerate(scans(root, synth)[:limit]):
        ref, ref_lm, sec = search(mesh, lm22 is not None)
        ref_unit = None if ref is None else ref.unit_scale
        rows.append({"scan": name, "group": group, "orientation": "reference", "unit": "native", "density": "as is",
                     "vertices": int(mesh.n_vertices), "found": ref is not None, "cpu_s": round(sec, 2)})
        if ref_lm is not None:
            rows[-1]["lm10_err_mm"] = round(float(errors_mm(ref_lm, lm22, ARTEC_PAIRS).mean()), 3)
        print(f"{name}: reference {'found' if ref else 'NO FACE'} {sec:.1f} s", flush=True)
        for orient, unit, density in cases(i, name, group):
            rot = orientation(orient, y_up, i)
            base = resampled(mesh, density)
            k = UNITS[unit] / (native or (1.0 / ref_unit if ref_unit else 1.0))
            copy = Mesh(k * base.vertices @ rot.T, base.faces, colors=base.colors,
                        uv=base.uv if density is None else None, texture=base.texture if density is None else None)
            frame, lm, sec = search(copy, lm22 is not None)
            row = {"scan": name, "group": group, "orientation": orient, "unit": unit,
                   "density": "as is" if density is None else f"{density // 1000}k", "vertices": int(copy.n_vertices),
                   "found": frame is not None, "cpu_s": round(sec, 2)}
            if frame is not None and ref is not None:
                cos = (np.trace((rot.T @ frame.rotation).T @ ref.rotation) - 1) / 2
                row["angle_deg"] = round(float(np.degrees(np.arccos(np.clip(cos, -1, 1)))), 3)
                ratio = (frame.scale / (k * ref.scale) if unit == "arb"  # no unit to snap to: the face's size
                         else frame.unit_scale * k / ref_unit)
                row["unit_ok"] = bool(abs(np.log(ratio)) < np.log(1.02))
            if lm is not None and ref_lm is not None:
                back = (lm / k) @ rot
                row["lm_shift_mm"] = round(float(np.linalg.norm(back - ref_lm, axis=1)[list(ARTEC_PAIRS)].mean()), 3)
                row["lm10_err_change_mm"] = round(float(errors_mm(back, lm22, ARTEC_PAIRS).mean()
                                                        - errors_mm(ref_lm, lm22, ARTEC_PAIRS).mean()), 3)
            rows.append(row)
            print(f"  {orient} {unit} {row['density']}: {'found' if frame else 'NO FACE'} "
                  f"{row.get('angle_deg', '')} {row.get('unit_ok', '')} {row.get('lm_shift_mm', '')} {sec:.1f} s",
                  flush=True)
    return rows


def summarise(rows: list[dict]) -> dict:
    """Face-found rate, frame angle (median / 95th pct / max), unit right, Artec landmark change; per group and
    per factor (copies only: the reference rows count only in 'reference found')."""
    def stats(sel: list[dict]) -> dict:
        ang = [r["angle_deg"] for r in sel if "angle_deg" in r]
        unit = [r["unit_ok"] for r in sel if "unit_ok" in r]
        shift = [r["lm_shift_mm"] for r in sel if "lm_shift_mm" in r]
        return {"copies": len(sel), "found": sum(r["found"] for r in sel),
                "angle_median_deg": round(float(np.median(ang)), 2) if ang else None,
                "angle_p95_deg": round(float(np.percentile(ang, 95)), 2) if ang else None,
                "angle_max_deg": round(float(np.max(ang)), 2) if ang else None,
                "unit_right": sum(unit), "unit_checked": len(unit),
                "lm10_shift_mean_mm": round(float(np.mean(shift)), 2) if shift else None,
                "lm10_shift_max_mm": round(float(np.max(shift)), 2) if shift else None,
                "cpu_s_mean": round(float(np.mean([r["cpu_s"] for r in sel])), 2) if sel else None}

    copies = [r for r in rows if r["orientation"] != "reference"]
    refs = [r for r in rows if r["orientation"] == "reference"]
    out = {"reference_found": f"{sum(r['found'] for r in refs)}/{len(refs)}",
           "reference_missed": [r["scan"] for r in refs if not r["found"]], "all": stats(copies)}
    for key in ("group", "orientation", "unit", "density"):
        for val in dict.fromkeys(r[key] for r in copies):
            out[f"{key}={val}"] = stats([r for r in copies if r[key] == val])
    ref_err = [r["lm10_err_mm"] for r in refs if "lm10_err_mm" in r]
    if ref_err:
        out["artec_reference_lm10_err_mm"] = round(float(np.mean(ref_err)), 3)
    change = [r["lm10_err_change_mm"] for r in copies if "lm10_err_change_mm" in r]
    if change:
        out["artec_lm10_err_change_mm"] = {"mean": round(float(np.mean(change)), 3),
                                           "max": round(float(np.max(change)), 3)}
    out["missed"] = [f"{r['scan']} {r['orientation']} {r['unit']} {r['density']}" for r in copies if not r["found"]]
    out["wrong_unit"] = [f"{r['scan']} {r['orientation']} {r['unit']} {r['density']}" for r in copies
                         if r.get("unit_ok") is False]
    return out


def _cell(s: dict | None) -> str:
    if s is None:
        return "-"
    ang = ("-" if s["angle_median_deg"] is None
           else f"{s['angle_median_deg']} / {s['angle_p95_deg']} / {s['angle_max_deg']}")
    shift = "" if s["lm10_shift_mean_mm"] is None else f"; Artec 10 pts moved {s['lm10_shift_mean_mm']} mm"
    return f"{s['found']}/{s['copies']} found; {ang}°; unit {s['unit_right']}/{s['unit_checked']}{shift}"


def markdown(after: dict, before: dict | None) -> str:
    from common import markdown_table

    keys = [k for k in after if isinstance(after[k], dict) and "copies" in after[k]]
    head = ["copies", "before", "after"] if before else ["copies", "result"]
    rows = [[k] + ([_cell(before.get(k))] if before else []) + [_cell(after[k])] for k in keys]
    lines = ["Cells: copies with a face found; frame angle to the reference (as stored, turned back) median / "
             "95th pct / max; unit the reference's within 2 %; on the Artec scans the mean move of the 10 "
             "landmarks against the reference's.", "", markdown_table(head, rows), ""]
    for label, s in (("before", before), ("after", after)):
        if s is None:
            continue
        lines += [f"**{label}**: reference found {s['reference_found']} "
                  f"(missed: {', '.join(s['reference_missed']) or '-'}); "
                  f"copies missed: {', '.join(s['missed']) or '-'}; wrong unit: {', '.join(s['wrong_unit']) or '-'}; "
                  f"Artec 10-point error as stored {s.get('artec_reference_lm10_err_mm')} mm, "
                  f"its change in the copies (mean, max) {s.get('artec_lm10_err_change_mm')}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", help="run this checkout's face_addon instead (a baseline: git archive of a commit)")
    ap.add_argument("--raw", help="write the raw rows here and nothing else (the baseline's run)")
    ap.add_argument("--before", help="raw rows of the baseline run, shown beside this run's")
    ap.add_argument("--limit", type=int, help="the first N scans only (a quick check)")
    args = ap.parse_args(argv)
    sys.path.insert(0, args.code or str(REPO))
    import torch
    from real_data import real_root

    root = real_root()
    if root is None:
        return 0
    torch.set_num_threads(1)
    synth = Path(os.environ.get("FACE_SYNTH_TEST", "/work/data/synth/test"))
    rows = run(root, synth, args.limit)
    if args.raw:
        Path(args.raw).write_text(json.dumps(rows, indent=1) + "\n")
        return 0
    from common import write_results

    before = summarise(json.loads(Path(args.before).read_text())) if args.before else None
    after = summarise(rows)
    command = "nice -n 10 .venv/bin/python tests/bench/real_robustness.py" + (
        f" --before {Path(args.before).name} (the same copies on the baseline: a copy of the tree with the old "
        "face search, run with --code DIR --raw FILE)" if before else "")
    write_results(NAME, {"after": after, "before": before, "rows": rows}, markdown(after, before), command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
