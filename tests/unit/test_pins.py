"""The dev environment and the extension bundle use the same versions, and the package version matches."""
import re
import tomllib
from pathlib import Path

import pytest

import face_addon

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("requirements", ["requirements-dev.txt", "requirements-313.txt"])
def test_dev_requirements_match_bundled_pins(requirements):
    dev = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", (ROOT / requirements).read_text(), re.M))
    import build  # build.py at the repository root (on sys.path via conftest)

    pins = {p.name: p.version for p in build.PINS}
    shared = set(dev) & set(pins)
    assert {"torch", "scipy", "trimesh"} <= shared
    assert {k: dev[k] for k in shared} == {k: pins[k] for k in shared}


def test_package_version_matches_manifest():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    assert manifest["version"] == face_addon.__version__ and manifest["id"] == "face_addon"
