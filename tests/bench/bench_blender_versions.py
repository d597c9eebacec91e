"""face_addon on each tested Blender: zip sizes per platform and Python, install + `face demo` per bpy module,
and the test counts CI recorded.

    .venv/bin/python tests/bench/bench_blender_versions.py [--offline] [--no-demo] [--junit-dir out/ci]

For each tested bpy module (bpy 5.0.1 in .venv, Python 3.11; bpy 5.3.0 in .venv313, Python 3.13) it builds
that Python's host zip, installs it with Blender's own "Install from Disk" operator and runs `face demo`
from the installed package (tools/install_and_demo.py, in a child process: out/versions/<bpy>/demo.png).
Where no CPU torch for a Python is reachable (Linux, CPython 3.13, without download.pytorch.org) the
`--no-torch` test zip is installed instead and torch comes from the venv; `torch_bundled` says which.
Test counts come from the JUnit files `./dev test` writes (out/ci/py311.xml, py313.xml), so the suites
are not run twice. Writes tests/bench/results/blender_versions.json and .md.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# (venv, Python, Blender releases on that Python, JUnit file of ./dev test, what CI ran there)
TESTED = (
    (".venv", "3.11", "4.2 LTS, 4.5 LTS, 5.0", "py311.xml", "unit + integration"),
    (".venv313", "3.13", "5.1, 5.2 LTS, 5.3", "py313.xml", "integration"),
)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def junit_counts(path: Path) -> dict:
    """passed / failed / skipped from a pytest JUnit XML file (errors count as failed)."""
    if not path.is_file():
        return {"tests_passed": None, "tests_failed": None, "tests_skipped": None, "junit": None}
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total, failed = int(suite.get("tests")), int(suite.get("failures")) + int(suite.get("errors"))
    skipped = int(suite.get("skipped"))
    return {"tests_passed": total - failed - skipped, "tests_failed": failed, "tests_skipped": skipped,
            "tests_s": round(float(suite.get("time")), 1), "junit": str(path.relative_to(ROOT))}


def zip_sizes(build, offline: bool) -> tuple[dict, dict, dict]:
    """MB of every platform's zip per Python, of the combined (both Pythons) zip, and why any is missing."""
    per_python: dict = {}
    combined: dict = {}
    missing: dict = {}
    for plat in build.PLATFORMS:
        for group in [(py,) for py in build.PYTHONS] + [tuple(build.PYTHONS)]:
            key = "-".join(f"py{p.replace('.', '')}" for p in group)
            target = per_python.setdefault(plat, {}) if len(group) == 1 else combined
            try:
                result = build.build(plat, group, offline=offline)
            except build.BuildError as ex:
                missing[f"{plat} {key}"] = str(ex).splitlines()[0][:300]
                if len(group) == 1:  # size of the same zip without torch, to estimate the full one
                    result = build.build(plat, group, offline=offline, torch=False)
                    target[f"{key}-notorch"] = round(result.size_bytes / 2**20, 1)
                continue
            if len(group) == 1:
                target[key] = round(result.size_bytes / 2**20, 1)
            else:
                combined[plat] = round(result.size_bytes / 2**20, 1)
    return per_python, combined, missing


def install_and_demo(venv: str, python: str, build, out: Path, offline: bool) -> dict:
    """Build this Python's host zip (without torch where none is reachable), install it, run `face demo`."""
    py = str(ROOT / venv / "bin" / "python")
    bpy_version = subprocess.run([py, "-c", "import bpy; print(bpy.app.version_string)"], capture_output=True,
                                 text=True, cwd=ROOT).stdout.strip().split()[-1]
    host = build.host_platform()
    build_cmd = [py, "build.py", "--platform", host, "--python", python] + (["--offline"] if offline else [])
    torch_bundled = subprocess.run(build_cmd, cwd=ROOT, capture_output=True, text=True).returncode == 0
    if not torch_bundled:
        subprocess.run(build_cmd + ["--no-torch"], cwd=ROOT, check=True, capture_output=True)
    version = build.load_manifest()["version"]
    zip_path = build.DIST_DIR / build.zip_name(version, host, False, (python,), torch_bundled)
    demo_out = out / bpy_version
    t = time.perf_counter()
    proc = subprocess.run([py, "tools/install_and_demo.py", "--zip", str(zip_path), "--out", str(demo_out)],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    seconds = time.perf_counter() - t
    log = proc.stdout + proc.stderr
    (out / f"{bpy_version}.log").write_text(log)
    return {
        "bpy": bpy_version,
        "zip": zip_path.name,
        "torch_bundled": torch_bundled,
        "installed": "running `face demo` from" in log,  # printed once the extension is installed and enabled
        "demo_ok": proc.returncode == 0 and (demo_out / "demo.png").is_file(),
        "demo_png": str((demo_out / "demo.png").relative_to(ROOT)),
        "install_and_demo_s": round(seconds, 1),
        "demo_tail": log.strip().splitlines()[-3:] if proc.returncode else [],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true", help="use only the wheel cache")
    parser.add_argument("--no-demo", action="store_true", help="only zip sizes and test counts")
    parser.add_argument("--junit-dir", type=Path, default=ROOT / "out" / "ci")
    args = parser.parse_args(argv)

    build = _load("face_addon_build", ROOT / "build.py")
    common = _load("face_addon_bench_common", HERE / "common.py")
    per_python, combined, missing = zip_sizes(build, args.offline)
    out = ROOT / "out" / "versions"
    out.mkdir(parents=True, exist_ok=True)

    versions = []
    for venv, python, releases, junit, suites in TESTED:
        if not (ROOT / venv / "bin" / "python").exists():
            continue
        key = f"py{python.replace('.', '')}"
        row = {"python": python, "blender_releases": releases, "ci_suites": suites,
               "zip_mb": {plat: sizes.get(key) for plat, sizes in per_python.items()}}
        if not args.no_demo:
            row.update(install_and_demo(venv, python, build, out, args.offline))
        row.update(junit_counts(args.junit_dir / junit))
        versions.append(row)

    data = {"versions": versions, "zip_mb_per_python": per_python, "zip_mb_combined": combined,
            "not_built": missing}
    rows = "\n".join(
        f"| bpy {v.get('bpy', '?')} | {v['python']} | {v['blender_releases']} | {v.get('installed')} | "
        f"{v.get('demo_ok')} | {v.get('torch_bundled')} | {v['tests_passed']} / {v['tests_failed']} / "
        f"{v['tests_skipped']} ({v['ci_suites']}) | "
        + " / ".join(f"{v['zip_mb'][p]}" for p in build.PLATFORMS) + " |" for v in versions)
    table = ("| module | Python | Blender | installed | demo_ok | torch in zip | tests passed / failed / skipped | "
             f"zip MB ({' / '.join(build.PLATFORMS)}) |\n|---|---|---|---|---|---|---|---|\n{rows}\n\n"
             "Zip MB per platform: " + "; ".join(
                 f"{p} " + ", ".join(f"{k} {mb}" for k, mb in s.items()) + f", both Pythons in one zip "
                 f"{combined.get(p, 'not built')}" for p, s in per_python.items()) + ".\n")
    if missing:
        table += "\nNot built: " + "; ".join(f"{k}: {v}" for k, v in missing.items()) + "\n"
    common.write_results("blender_versions", data, table, "python tests/bench/bench_blender_versions.py"
                         + (" --offline" if args.offline else ""))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
