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
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT / "tests" / "integration")]

from common import write_results  # noqa: E402
from test_install import load_build_module  # noqa: E402

# (venv, Python, Blender releases on that Python, JUnit file of ./dev test, what CI ran there)
TESTED = (
    (".venv", "3.11", "4.2 LTS, 4.5 LTS, 5.0", "py311.xml", "unit + integration"),
    (".venv313", "3.13", "5.1, 5.2 LTS, 5.3", "py313.xml", "integration"),
)


def junit_counts(path: Path) -> dict:
    """passed / failed / skipped from a pytest JUnit XML file (errors count as failed)."""
    if not path.is_file():
        return {"tests_passed": None, "tests_failed": None, "tests_skipped": None, "junit": None}
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total, failed = int(suite.get("tests")), int(suite.get("failures")) + int(suite.get("errors"))
    skipped = int(suite.get("skipped"))
    return {"tests_passed": total - failed - skipped, "tests_failed": failed, "tests_skipped": skipped,
            "tests_s": round(float(suite.get("time")), 1), "junit": str(path)}


def zip_sizes(build, offline: bool) -> tuple[dict, dict, dict, dict]:
    """MB of every platform's zip per Python and of the combined (both Pythons) zip, why any is missing,
    and an estimate for each missing one: the same zip built without torch plus, per Python, the size of
    the torch wheel that was reachable for that platform (the cp311 one stands in for a missing cp313 one).
    Keys: platform -> "py311" / "py313" / "py311-py313"."""
    sizes: dict = {plat: {} for plat in build.PLATFORMS}
    missing: dict = {}
    estimates: dict = {}
    for plat in build.PLATFORMS:
        torch_mb: dict = {}
        for group in [(py,) for py in build.PYTHONS] + [tuple(build.PYTHONS)]:
            key = "-".join(f"py{p.replace('.', '')}" for p in group)
            try:
                result = build.build(plat, group, offline=offline)
            except build.BuildError as ex:
                missing[f"{plat} {key}"] = str(ex).splitlines()[0][:300]
                notorch = build.build(plat, group, offline=offline, torch=False)
                sizes[plat][f"{key}-notorch"] = round(notorch.size_bytes / 2**20, 1)
                stand_in = max(torch_mb.values(), default=0.0)
                estimates.setdefault(plat, {})[key] = round(
                    notorch.size_bytes / 2**20 + sum(torch_mb.get(py, stand_in) for py in group), 1)
                continue
            sizes[plat][key] = round(result.size_bytes / 2**20, 1)
            for w in result.wheels:
                if build._normalize(build.wheel_tags(w.name)[0]) == build.TORCH and len(group) == 1:
                    torch_mb[group[0]] = w.stat().st_size / 2**20
    return sizes, missing, estimates


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

    build = load_build_module()
    sizes, missing, estimates = zip_sizes(build, args.offline)
    out = ROOT / "out" / "versions"
    out.mkdir(parents=True, exist_ok=True)

    versions = []
    for venv, python, releases, junit, suites in TESTED:
        if not (ROOT / venv / "bin" / "python").exists():
            continue
        key = f"py{python.replace('.', '')}"
        row = {"python": python, "blender_releases": releases, "ci_suites": suites,
               "zip_mb": {plat: by_key.get(key) for plat, by_key in sizes.items()},
               "zip_mb_estimate": {plat: est[key] for plat, est in estimates.items() if key in est}}
        if not args.no_demo:
            row.update(install_and_demo(venv, python, build, out, args.offline))
        row.update(junit_counts(args.junit_dir / junit))
        versions.append(row)

    data = {"versions": versions, "zip_mb": sizes, "not_built": missing, "zip_mb_estimate": estimates}
    rows = "\n".join(
        f"| bpy {v.get('bpy', '?')} | {v['python']} | {v['blender_releases']} | {v.get('installed')} | "
        f"{v.get('demo_ok')} | {v.get('torch_bundled')} | {v['tests_passed']} / {v['tests_failed']} / "
        f"{v['tests_skipped']} ({v['ci_suites']}) | "
        + " / ".join(f"{v['zip_mb'][p]}" if v["zip_mb"][p] is not None
                     else f"not built (~{v['zip_mb_estimate'].get(p)} est.)" for p in build.PLATFORMS)
        + " |" for v in versions)
    table = ("| module | Python | Blender | installed | demo_ok | torch in zip | tests passed / failed / skipped | "
             f"zip MB ({' / '.join(build.PLATFORMS)}) |\n|---|---|---|---|---|---|---|---|\n{rows}\n\n"
             "Zip MB per platform (py311-py313: both Pythons in one zip, `--combined`): " + "; ".join(
                 f"{p} " + ", ".join(f"{k} {mb}" for k, mb in by_key.items()) for p, by_key in sizes.items())
             + ".\n\nEstimated where not built (zip without torch + the reachable torch wheel's size): "
             + "; ".join(f"{p} {k} ~{mb}" for p, est in estimates.items() for k, mb in est.items()) + ".\n")
    if missing:
        table += "\nNot built: " + "; ".join(f"{k}: {v}" for k, v in missing.items()) + "\n"
    write_results("blender_versions", data, table, "python tests/bench/bench_blender_versions.py"
                         + (" --offline" if args.offline else ""))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
