"""Install the built extension zip into the bpy module with Blender's own extension machinery.

`test_install_minimal_zip` builds the `--minimal` zip for the running Python (build.py functions, into a
temp dir; CI runs it on bpy 5.0.1 / Python 3.11 and on bpy 5.3.0 / Python 3.13) and runs the
install cycle in two child Python processes whose Blender user folders live in a temp dir
(BLENDER_USER_RESOURCES and HOME are set before bpy is imported, so ~/.config/blender is never touched):

1. "install": add a local user repository (`preferences.extensions.repos.new`), install and enable the zip
   with `bpy.ops.extensions.package_install_files(enable_on_install=True)` (the operator behind "Install
   from Disk"; Blender extracts the bundled wheels into `<user extensions>/.local/lib/python3.X/
   site-packages`), check the `face.*` operators and `FACE_PT_*` panels are registered, run
   `bpy.ops.face.info()`, save the preferences.
2. "restart": load the preferences as Blender does at startup, check the add-on is enabled again and the
   bundled wheels import from the extracted folder, run `face.info`, disable it
   (`bpy.ops.preferences.addon_disable`), uninstall it (`bpy.ops.extensions.package_uninstall`) and check
   nothing is left: no FACE_ classes, no `face.*` operators, no package folder, no extracted wheels.

Each child is this file run as a script; it writes a JSON report and the parent asserts on it
(`check_report`). tests/bench/bench_install_full.py reuses `run_install_roundtrip` with the full zip.
The other tests check build.py's pieces without Blender.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG_ID = "face_addon"
REPO_ID = "face_install_test"


def load_build_module():
    """build.py at the repository root, loaded by path (it is a script, not a package)."""
    if "face_addon_build" in sys.modules:
        return sys.modules["face_addon_build"]
    spec = importlib.util.spec_from_file_location("face_addon_build", ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_install_roundtrip(zip_path: Path, workdir: Path, *, imports: tuple[str, ...] = ("trimesh",),
                          timeout: float = 600) -> dict:
    """Run the cycle in two child processes sharing one isolated Blender user folder; return the report.

    Child 1 ("install") installs + enables the zip, checks registration, runs `face.info` and saves the
    preferences. Child 2 ("restart") is the next Blender session: it loads those preferences (the bpy
    module does not at import, so it calls `wm.read_userpref`), checks the add-on is enabled again and that
    `imports` now resolve to the wheels Blender extracted (in child 1 they can resolve to the venv's copies:
    Blender appends a site-packages folder it creates mid-session to the end of sys.path), then disables and
    uninstalls it and checks nothing is left.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_")}
    env.update(BLENDER_USER_RESOURCES=str(workdir / "user"), HOME=str(workdir / "home"),
               PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)  # the child must load the installed package, not the working tree's
    (workdir / "home").mkdir(exist_ok=True)
    report: dict = {}
    for phase in ("install", "restart"):
        report_path = workdir / f"{phase}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), phase, str(zip_path), str(workdir), ",".join(imports)]
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
        if not report_path.exists():
            raise AssertionError(f"{phase} child failed (rc {proc.returncode}) without a report:\n"
                                 f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
        part = json.loads(report_path.read_text())
        part["process_s"] = time.perf_counter() - t
        part["returncode"] = proc.returncode
        part["output"] = (proc.stdout + proc.stderr)[-8000:]
        report[phase] = part
        if part["errors"]:
            break
    return report


# ------------------------------------------------------------------------------------------------
# Child side: runs inside a fresh interpreter with isolated Blender user folders.

def _face_state(bpy) -> dict:
    return {
        "operators": sorted(f"face.{name}" for name in dir(bpy.ops.face) if not name.startswith("_")),
        "panels": sorted(n for n in dir(bpy.types) if n.startswith("FACE_PT_")),
        "classes": sorted(n for n in dir(bpy.types) if n.startswith("FACE_")),
    }


def _child(phase: str, zip_path: str, workdir: str, imports: list[str]) -> int:
    report: dict = {"errors": []}
    work = Path(workdir)
    repo_dir = work / "repo"
    module = f"bl_ext.{REPO_ID}.{PKG_ID}"
    try:
        start = time.perf_counter()
        import bpy  # first: it puts Blender's script modules (addon_utils) on sys.path

        import addon_utils

        report["import_bpy_s"] = time.perf_counter() - start
        report["blender"] = bpy.app.version_string
        site_packages = Path(bpy.utils.user_resource("EXTENSIONS")) / ".local" / "lib" / (
            f"python{sys.version_info[0]}.{sys.version_info[1]}") / "site-packages"

        def wheel_dirs() -> list[str]:
            return sorted(p.name for p in site_packages.iterdir()) if site_packages.is_dir() else []

        prefs = bpy.context.preferences
        if phase == "install":
            report["before"] = _face_state(bpy)
            prefs.extensions.repos.new(name="Face Install Test", module=REPO_ID,
                                       custom_directory=str(repo_dir), source="USER")
            t = time.perf_counter()
            result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo=REPO_ID,
                                                              enable_on_install=True)
            report["install_s"] = time.perf_counter() - t
            report["install_result"] = sorted(result)
            report["installed_manifest"] = (repo_dir / PKG_ID / "blender_manifest.toml").is_file()
            report["enabled"] = module in prefs.addons and addon_utils.check(module)[1]
            report["wheel_dirs"] = wheel_dirs()
            report["installed_mb"] = sum(f.stat().st_size for d in (site_packages, repo_dir / PKG_ID)
                                         for f in d.rglob("*") if f.is_file()) / 2**20
            report["state"] = _face_state(bpy)
            report["info_result"] = sorted(bpy.ops.face.info())
            report["save_prefs_result"] = sorted(bpy.ops.wm.save_userpref())
        else:
            t = time.perf_counter()
            bpy.ops.wm.read_userpref()  # what Blender does at startup
            report["load_prefs_s"] = time.perf_counter() - t
            report["enabled"] = module in prefs.addons and addon_utils.check(module)[1]
            report["state"] = _face_state(bpy)
            report["imports"] = {}
            for name in imports:
                t = time.perf_counter()
                mod = __import__(name)
                report["imports"][name] = {
                    "file": mod.__file__,
                    "version": str(getattr(mod, "__version__", "")),
                    "from_extension": Path(mod.__file__).resolve().is_relative_to(site_packages.resolve()),
                    "seconds": time.perf_counter() - t,
                }
            t = time.perf_counter()
            report["info_result"] = sorted(bpy.ops.face.info())
            report["info_s"] = time.perf_counter() - t

            report["disable_result"] = sorted(bpy.ops.preferences.addon_disable(module=module))
            report["enabled_after_disable"] = module in prefs.addons
            report["after_disable"] = _face_state(bpy)
            t = time.perf_counter()
            result = bpy.ops.extensions.package_uninstall(repo_directory=str(repo_dir), pkg_id=PKG_ID)
            report["uninstall_s"] = time.perf_counter() - t
            report["uninstall_result"] = sorted(result)
            report["package_dir_left"] = (repo_dir / PKG_ID).exists()
            report["wheel_dirs_after_uninstall"] = wheel_dirs()
            report["after_uninstall"] = _face_state(bpy)
            prefs.extensions.repos.remove(next(r for r in prefs.extensions.repos if r.module == REPO_ID))
            report["repo_removed"] = REPO_ID not in {r.module for r in prefs.extensions.repos}
    except Exception as ex:  # the parent reports it together with the child's output
        import traceback

        report["errors"].append("".join(traceback.format_exception(ex)))
    (work / f"{phase}.json").write_text(json.dumps(report, indent=1, default=str))
    return 0 if not report["errors"] else 1


# ------------------------------------------------------------------------------------------------
# Parent side

def check_report(report: dict) -> None:
    """Assertions shared by the test and the benchmark."""
    empty = {"operators": [], "panels": [], "classes": []}
    for phase, part in report.items():
        assert not part["errors"], f"{phase}: {part['errors'][0]}\n{part['output']}"
    inst, again = report["install"], report["restart"]
    assert inst["before"] == empty, f"face_addon registered before the install: {inst['before']}"
    assert inst["install_result"] == ["FINISHED"], inst["output"]
    assert inst["installed_manifest"], "package folder missing from the repository after install"
    assert inst["enabled"], f"not enabled after install:\n{inst['output']}"
    for part in (inst, again):
        assert "face.info" in part["state"]["operators"], part["state"]
        assert part["state"]["panels"], f"no FACE_PT_* panel registered: {part['state']}"
        assert part["info_result"] == ["FINISHED"], part["output"]
    assert inst["save_prefs_result"] == ["FINISHED"]
    assert again["enabled"], f"not enabled after a restart:\n{again['output']}"
    for name, facts in again["imports"].items():
        assert facts["from_extension"], f"{name} imported from {facts['file']}, not the extension's wheels"
    assert again["disable_result"] == ["FINISHED"] and not again["enabled_after_disable"]
    assert again["after_disable"] == empty, f"left registered after disable: {again['after_disable']}"
    assert again["uninstall_result"] == ["FINISHED"], again["output"]
    assert not again["package_dir_left"], "package folder left behind after uninstall"
    assert again["wheel_dirs_after_uninstall"] == [], again["wheel_dirs_after_uninstall"]
    assert again["after_uninstall"] == empty
    assert again["repo_removed"]


def test_committed_manifest_is_valid_and_matches_pins():
    build = load_build_module()
    manifest = build.load_manifest()
    build.validate_manifest(manifest)  # Blender's strict validator when bpy is installed
    assert manifest["id"] == PKG_ID and len(manifest["tagline"]) <= 64
    assert set(manifest["platforms"]) == set(build.PLATFORMS)
    pinned = sorted((build._normalize(p.name), p.version_for("linux-x64")) for p in build.PINS)
    for python in build.PYTHONS:  # the linux-x64 set of each Blender Python, one wheel per pin
        fitting = [w.rsplit("/", 1)[1] for w in manifest["wheels"] if build.wheel_fits(w, "linux-x64", python)]
        listed = sorted((build._normalize(n), v) for n, v, *_ in map(build.wheel_tags, fitting))
        assert listed == pinned, f"blender_manifest.toml CPython {python} wheels and build.PINS disagree"
    assert all(w.startswith("./wheels/") and any(build.wheel_fits(w, "linux-x64", py) for py in build.PYTHONS)
               for w in manifest["wheels"])
    assert "blender_version_max" not in manifest or manifest["blender_version_max"] > "5.3"
    assert manifest["blender_version_min"] == "4.2.0"


def test_pins_skip_what_blender_ships():
    build = load_build_module()
    names = [build._normalize(p.name).replace("_", "-") for p in build.PINS]
    assert len(set(names)) == len(names)
    assert not set(names) & build.BLENDER_BUNDLED
    assert [p.name for p in build.pins_for(minimal=True)] == ["trimesh"]


@pytest.mark.parametrize("path, stray", [
    ("core/mesh.py", False), ("assets/facekit.npz", False), ("models/skin.pt", False),
    ("core/__pycache__/mesh.cpython-311.pyc", True), ("core/mesh.pyc", True), ("tests/test_x.py", True),
    (".venv/lib/x.py", True), ("dist/a.zip", True), (".DS_Store", True), ("core/.hidden", True),
])
def test_stray_files(path, stray):
    assert load_build_module().is_stray(path) is stray


def test_zip_manifest_is_rewritten_per_platform(tmp_path):
    build = load_build_module()
    wheels = [tmp_path / "scipy-1.17.1-cp311-cp311-win_amd64.whl", tmp_path / "trimesh-5.2.0-py3-none-any.whl"]
    out = build.manifest_for_zip(build.load_manifest(), "windows-x64", wheels)
    assert out["platforms"] == ["windows-x64"]
    assert out["wheels"] == ["./wheels/scipy-1.17.1-cp311-cp311-win_amd64.whl",
                             "./wheels/trimesh-5.2.0-py3-none-any.whl"]
    import tomllib

    assert tomllib.loads(build.dump_manifest(out).decode()) == out
    build.validate_manifest(out)
    with pytest.raises(build.BuildError, match="not bundled"):
        build.validate_wheels(out, wheels[1:], "windows-x64")


@pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy module")
def test_install_minimal_zip(tmp_path):
    build = load_build_module()
    result = build.build(build.host_platform(), minimal=True, out_dir=tmp_path / "dist")
    assert result.pythons == (f"{sys.version_info[0]}.{sys.version_info[1]}",)
    with __import__("zipfile").ZipFile(result.zip_path) as zf:
        names = zf.namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert not any(build.is_stray(n) for n in names)
    assert all(not n.startswith("wheels/") or "torch" not in n for n in names)

    report = run_install_roundtrip(result.zip_path, tmp_path / "blender")
    check_report(report)
    assert any(d.startswith("trimesh") for d in report["install"]["wheel_dirs"]), report["install"]["wheel_dirs"]


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2], sys.argv[3], [m for m in sys.argv[4].split(",") if m]))
