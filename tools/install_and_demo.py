"""The README's main job: install the built extension zip into the bpy module and run `face demo` from it.

    python tools/install_and_demo.py [--zip dist/face_addon-<version>-<platform>-py3XX.zip] [--out out/demo]

Blender's user folders are redirected to `<out>/blender_user` before bpy is imported (your own Blender
config is never touched); the zip is installed with `bpy.ops.extensions.package_install_files` exactly as
"Install from Disk" does, enabled, and the demo runs through the installed package — not the source tree.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPO_ID = "face_demo"


def default_zip() -> Path:
    """The host platform's full zip for this Python, as `python build.py` names it."""
    version = tomllib.loads((ROOT / "blender_manifest.toml").read_text())["version"]
    sys.path.insert(0, str(ROOT))
    import build  # noqa: E402 - build.py at the repository root

    return ROOT / "dist" / build.zip_name(version, build.host_platform(), False, (build.default_python(),))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo")
    args, demo_args = parser.parse_known_args()
    zip_path = (args.zip or default_zip()).resolve()
    if not zip_path.is_file():
        print(f"{zip_path} not found: run `python build.py` first", file=sys.stderr)
        return 1
    out = args.out.resolve()
    user = out / "blender_user"
    os.environ["BLENDER_USER_RESOURCES"] = str(user)
    sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT]  # use the installed copy only

    import bpy

    repos = bpy.context.preferences.extensions.repos
    repo = next((r for r in repos if r.module == REPO_ID), None) or repos.new(
        name="Face Demo", module=REPO_ID, custom_directory=str(user / "repo"), source="USER")
    print(f"installing {zip_path.name} ({zip_path.stat().st_size / 2**20:.1f} MB) into {repo.custom_directory}")
    bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=REPO_ID, enable_on_install=True)
    module = f"bl_ext.{REPO_ID}.face_addon"
    if module not in bpy.context.preferences.addons:
        print(f"the extension did not enable ({module}); see the messages above", file=sys.stderr)
        return 1
    cli = importlib.import_module(f"{module}.cli.main")
    print(f"running `face demo` from {Path(cli.__file__).parent.parent}")
    return cli.main(["demo", "--out", str(out), *demo_args])


if __name__ == "__main__":
    sys.exit(main())
