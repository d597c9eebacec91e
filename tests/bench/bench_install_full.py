"""Build the full extension zips and time installing the linux-x64 one (torch included) into the bpy module.

    .venv/bin/python tests/bench/bench_install_full.py [--platforms all|linux-x64,...] [--offline] [--no-install]

Writes tests/bench/results/build.json (`zip_mb` per platform built, `minimal_zip_mb`, the wheels per
platform, install/restart/uninstall timings) and build.md. The install runs the same two-process cycle as
tests/integration/test_install.py (isolated Blender user folders, Blender's own install operator) with
`torch`, `scipy` and `trimesh` imported from the wheels Blender extracted.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platforms", default="all", help="'all' or a comma list of platforms to build")
    parser.add_argument("--offline", action="store_true", help="use only the wheel cache")
    parser.add_argument("--no-install", action="store_true", help="only build and measure sizes")
    args = parser.parse_args(argv)

    install_test = _load("face_addon_test_install", ROOT / "tests" / "integration" / "test_install.py")
    build = install_test.load_build_module()
    common = _load("face_addon_bench_common", HERE / "common.py")
    platforms = list(build.PLATFORMS) if args.platforms == "all" else args.platforms.split(",")

    data: dict = {"version": build.load_manifest()["version"], "zip_mb": {}, "minimal_zip_mb": {},
                  "build_s": {}, "wheels": {}, "not_bundled": build.NOT_BUNDLED,
                  "blender_bundled": sorted(build.BLENDER_BUNDLED)}
    results = {}
    for plat in platforms:
        full = build.build(plat, offline=args.offline)
        minimal = build.build(plat, minimal=True, offline=args.offline)
        build.print_summary(full)
        results[plat] = full
        data["zip_mb"][plat] = round(full.size_bytes / 2**20, 1)
        data["minimal_zip_mb"][plat] = round(minimal.size_bytes / 2**20, 2)
        data["build_s"][plat] = round(full.seconds, 1)
        data["wheels"][plat] = {w.name: round(w.stat().st_size / 2**20, 2) for w in full.wheels}

    host = build.host_platform()
    if not args.no_install and host in results:
        with tempfile.TemporaryDirectory(prefix="face_install_bench_") as tmp:
            t = time.perf_counter()
            report = install_test.run_install_roundtrip(results[host].zip_path, Path(tmp),
                                                        imports=("torch", "scipy", "trimesh"), timeout=1800)
            total = time.perf_counter() - t
            install_test.check_report(report)
            extracted = sum(f.stat().st_size for f in Path(tmp, "user").rglob("*") if f.is_file())
        inst, again = report["install"], report["restart"]
        data["install"] = {
            "platform": host,
            "zip": results[host].zip_path.name,
            "install_operator_s": round(inst["install_s"], 2),
            "install_process_s": round(inst["process_s"], 2),
            "installed_mb": round(inst["installed_mb"], 1),
            "restart_load_prefs_s": round(again["load_prefs_s"], 2),
            "import_s": {k: round(v["seconds"], 2) for k, v in again["imports"].items()},
            "imported_versions": {k: v["version"] for k, v in again["imports"].items()},
            "uninstall_s": round(again["uninstall_s"], 2),
            "cycle_s": round(total, 1),
            "user_dir_mb_after_uninstall": round(extracted / 2**20, 1),
        }

    rows = "\n".join(
        f"| {p} | {data['zip_mb'][p]} | {data['minimal_zip_mb'][p]} | {len(data['wheels'][p])} | "
        f"{max(data['wheels'][p].items(), key=lambda kv: kv[1])[0]} |" for p in data["zip_mb"])
    table = ("| platform | full zip (MB) | minimal zip (MB) | wheels | largest wheel |\n"
             "|---|---|---|---|---|\n" + rows + "\n")
    if "install" in data:
        i = data["install"]
        table += (f"\nInstall of `{i['zip']}` into bpy {report['install']['blender']} with "
                  f"`bpy.ops.extensions.package_install_files`: {i['install_operator_s']} s "
                  f"(whole process {i['install_process_s']} s, {i['installed_mb']} MB on disk); after a restart torch imports from the "
                  f"extracted wheels in {i['import_s'].get('torch')} s; uninstall {i['uninstall_s']} s.\n")
    command = "python tests/bench/bench_install_full.py" + (f" --platforms {args.platforms}"
                                                              if args.platforms != "all" else "")
    common.write_results("build", data, table, command)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
