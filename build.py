"""Build the face_addon Blender extension: one zip per platform and Python with its wheels bundled.

    python build.py [--platform linux-x64|windows-x64|macos-arm64|all] [--python 3.11|3.13|all]
                    [--offline] [--assets-only] [--minimal] [--torch-index URL] [--find-links DIR]

Blender 4.2 LTS - 5.0 run CPython 3.11, Blender 5.1 - 5.3 run CPython 3.13 (`PYTHONS`); compiled wheels
load in one of them only. `--python 3.11` / `3.13` (default: both, one zip each) picks the wheel sets;
`--combined` puts both sets in one zip per platform instead (Blender installs only the wheels that match
its Python). docs/build.md says why one zip per Python is the default.

Steps (each one a function, so tests can call them; see docs/build.md):

1. `download_wheels`: `pip download --only-binary=:all: --no-deps --python-version 3.X --platform <tag>`
   for every pin in `PINS` into `wheels/<platform>/` (a cache: present wheels are verified against the
   SHA-256 recorded when they were downloaded, not fetched again). Wheels Blender already ships
   (`BLENDER_BUNDLED`) are never pinned. Every torch wheel must be a CPU build (`torch_cuda_evidence`):
   a CUDA one (the PyPI Linux torch) is refused, never bundled.
2. `build_assets`: `face_addon.core.facekit.assets.ensure_facekit()` writes `face_addon/assets/facekit.npz`,
   `face_addon.core.photo.mediapipe_assets.ensure_mediapipe_face()` writes `face_addon/assets/mediapipe_face.npz`.
3. `manifest_for_zip`: the repository's `blender_manifest.toml`, parsed with tomllib, with `platforms` and
   `wheels` replaced for this zip and written back with tomli_w (never string-formatted TOML).
4. `validate_*`: Blender's own manifest validator (`blender_ext.py` from the installed bpy module, loaded by
   path without importing bpy), every listed wheel present and made for the platform and the zip's Pythons,
   no stray files (`__pycache__`, `.pyc`, tests, `.venv`, dist, dot-files).
5. `write_zip`: `dist/face_addon-<version>-<platform>-<py311|py313>[-minimal].zip`, laid out as Blender's installer
   expects: `blender_manifest.toml` and the package's `__init__.py` at the root, wheels under `wheels/`.
   Entries get a fixed timestamp, so the same inputs give the same zip.

`--minimal` bundles only the small pure-Python wheels (`Pin.minimal`) and skips the asset step: it is the
zip the CI install test uses. `--offline` never calls pip and fails if a wheel is not in the cache.
`--no-torch` leaves torch out: a test zip for a bpy module whose venv already has torch (how the Linux
Python 3.13 zip is tested where no CPU torch for it can be downloaded).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform as _host_platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "face_addon"
MANIFEST_PATH = ROOT / "blender_manifest.toml"
WHEEL_CACHE = ROOT / "wheels"
DIST_DIR = ROOT / "dist"

# Blender's CPython -> the wheel ABI tag built for it.
PYTHONS: dict[str, str] = {
    "3.11": "cp311",  # Blender 4.2 LTS, 4.3, 4.4, 4.5 LTS, 5.0
    "3.13": "cp313",  # Blender 5.1, 5.2 LTS, 5.3
}

# Blender platform -> pip `--platform` tags. pip also accepts older tags of the same family
# (manylinux_2_17 for manylinux_2_28, macosx_11_0 for macosx_14_0).
# linux: Blender 5.0 needs glibc 2.28. macOS: torch 2.13 only has macosx_14_0_arm64 wheels.
PLATFORMS: dict[str, tuple[str, ...]] = {
    "linux-x64": ("manylinux_2_28_x86_64",),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_14_0_arm64",),
}


TORCH = "torch"


@dataclass(frozen=True)
class Pin:
    """One bundled distribution at an exact version (`versions` overrides it per platform)."""

    name: str
    version: str
    why: str
    minimal: bool = False  # small pure-Python wheel: also in the `--minimal` zip
    versions: dict[str, str] = field(default_factory=dict)

    def version_for(self, platform: str) -> str:
        return self.versions.get(platform, self.version)


# The one place versions are pinned, the same for both Pythons. They match the development venvs
# (requirements-dev.txt: bpy 5.0.1, numpy 1.26.4; requirements-313.txt: bpy 5.3.0, numpy 2.5.5).
PINS: tuple[Pin, ...] = (
    Pin(TORCH, "2.13.0", "networks; CPU build (Linux: the +cpu wheel, the PyPI one pulls in CUDA)",
        versions={"linux-x64": "2.13.0+cpu"}),
    Pin("scipy", "1.17.1", "sparse Laplacians, eigenbases, kNN"),
    Pin("robust-laplacian", "1.1.0", "DiffusionNet operators: Laplacian of scan meshes and point clouds"),
    Pin("fast-simplification", "0.2.0", "Segment Skin: quadric decimation of scans before the network"),
    Pin("trimesh", "5.2.0", "mesh file I/O and queries", minimal=True),
    Pin("pillow", "13.0.0", "reading photos (JPEG/PNG/..., EXIF orientation, ICC profiles)"),
    # torch's runtime requirements that Blender does not ship:
    Pin("filelock", "4.2.11", "torch requirement"),
    Pin("typing-extensions", "4.16.0", "torch requirement"),
    Pin("sympy", "1.14.0", "torch requirement"),
    Pin("mpmath", "1.3.0", "sympy requirement"),
    Pin("networkx", "3.6.1", "torch requirement"),
    Pin("jinja2", "3.1.6", "torch requirement"),
    Pin("markupsafe", "3.0.4", "jinja2 requirement"),
    Pin("fsspec", "2026.9.0", "torch requirement"),
)

# Distributions Blender already ships in its Python (the bpy modules declare the same set as
# `Requires-Dist`: 5.0 numpy 1.26, 5.3 numpy 2.x and cattrs + attrs); bundling them would shadow
# Blender's copies, so they are never pinned.
BLENDER_BUNDLED = frozenset({
    "numpy", "requests", "certifi", "charset-normalizer", "idna", "urllib3", "zstandard", "cython",
    "cattrs", "attrs",
})

# Requirements of the pinned wheels that are deliberately left out.
NOT_BUNDLED = {
    "setuptools": "torch lists it, only torch.utils.cpp_extension (JIT C++ builds) imports it",
    "nvidia-*, cuda-*, triton": "CUDA runtime of the PyPI Linux torch; we bundle the CPU build",
}

# What a zip must never contain (checked on the final list of entries, too).
STRAY_DIRS = frozenset({"__pycache__", "tests", ".venv", "venv", "dist", ".git", ".pytest_cache", ".cache"})
STRAY_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".blend1")

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
CHECKSUMS = "SHA256SUMS.json"


class BuildError(RuntimeError):
    """A build step failed; the message says what to do."""


@dataclass
class BuildResult:
    platform: str
    minimal: bool
    zip_path: Path
    wheels: list[Path]
    package_files: list[str]
    seconds: float
    pythons: tuple[str, ...] = ("3.11",)

    @property
    def size_bytes(self) -> int:
        return self.zip_path.stat().st_size


# --------------------------------------------------------------------------------------------------
# Blender's own extension tooling

_blender_ext: ModuleType | None = None


def blender_ext() -> ModuleType | None:
    """Blender's extension CLI module (`bl_pkg/cli/blender_ext.py`, pure stdlib) from the bpy module.

    Loaded by file path, so bpy itself is not imported. None when no bpy module is installed.
    """
    global _blender_ext
    if _blender_ext is None:
        spec = importlib.util.find_spec("bpy")
        if spec is None or spec.origin is None:
            return None
        found = sorted(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if not found:
            return None
        mod_spec = importlib.util.spec_from_file_location("_face_addon_blender_ext", found[-1])
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
        _blender_ext = module
    return _blender_ext


def host_platform() -> str:
    ext = blender_ext()
    if ext is not None:
        name = ext.platform_from_this_system()
    else:
        system = {"darwin": "macos"}.get(sys.platform, "windows" if sys.platform == "win32" else sys.platform)
        machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(
            _host_platform.machine().lower(), _host_platform.machine().lower())
        name = f"{system}-{machine}"
    if name not in PLATFORMS:
        raise BuildError(f"host platform {name} is not one we build for; pass --platform {'|'.join(PLATFORMS)}")
    return name


# --------------------------------------------------------------------------------------------------
# Wheels

def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def pins_for(minimal: bool, *, torch: bool = True, torch_version: str = "") -> list[Pin]:
    """The pins a zip bundles: all, or the `minimal` ones; without torch when `torch` is false;
    `torch_version` (e.g. "2.13.0+cpu") replaces the torch pin's version on every platform."""
    pins = [p for p in PINS if (p.minimal or not minimal) and (torch or p.name != TORCH)]
    if torch_version:
        pins = [replace(p, version=torch_version, versions={}) if p.name == TORCH else p for p in pins]
    return pins


def default_python() -> str:
    """The running interpreter's Python when Blender uses it (so a bpy venv builds for itself), else 3.11."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return running if running in PYTHONS else "3.11"


def wheel_tags(filename: str) -> tuple[str, str, str, str, str]:
    """(name, version, python tag, abi tag, platform tag) of a wheel file name (build tag dropped)."""
    parts = filename[:-len(".whl")].split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        raise BuildError(f"not a wheel file name: {filename}")
    return parts[0], parts[1], parts[-3], parts[-2], parts[-1]


def wheel_fits(filename: str, platform: str, python: str = "3.11") -> bool:
    """True when the wheel loads in Blender's CPython `python` (3.11 or 3.13) on `platform`."""
    _, _, py_tag, abi_tag, plat_tag = wheel_tags(filename)
    abi, minor = PYTHONS[python], int(python.split(".")[1])
    py_ok = any(
        (t in ("py3", f"py3{minor}", abi) and abi_tag in ("none", abi))
        or (abi_tag == "abi3" and t.startswith("cp3") and t[3:].isdigit() and int(t[3:]) <= minor)
        for t in py_tag.split("."))
    ext = blender_ext()
    if ext is not None:
        plat_ok = ext.blender_platform_compatible_with_wheel_platform_from_filepath(platform, filename)
    else:
        plat_ok = any(t == "any" or _FALLBACK_PLATFORM_TEST[platform](t) for t in plat_tag.split("."))
    return py_ok and plat_ok


_FALLBACK_PLATFORM_TEST = {  # only used when bpy (and so Blender's own check) is not installed
    "linux-x64": lambda t: "linux" in t and t.endswith("x86_64"),
    "windows-x64": lambda t: t == "win_amd64",
    "macos-arm64": lambda t: t.startswith("macosx") and t.endswith(("arm64", "universal2")),
}


def find_cached_wheel(cache_dir: Path, pin: Pin, platform: str, python: str = "3.11") -> Path | None:
    """The cached wheel for `pin` on `platform` and CPython `python`, or None."""
    version = pin.version_for(platform)
    hits = []
    for path in sorted(cache_dir.glob("*.whl")):
        name, ver, *_ = wheel_tags(path.name)
        if (_normalize(name) == _normalize(pin.name) and ver == version
                and wheel_fits(path.name, platform, python)):
            hits.append(path)
    if len(hits) > 1:
        raise BuildError(f"{cache_dir} holds several wheels for {pin.name}=={version}: "
                         f"{[h.name for h in hits]}; delete the extra ones")
    return hits[0] if hits else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_checksums(cache_dir: Path) -> dict[str, str]:
    path = cache_dir / CHECKSUMS
    return json.loads(path.read_text()) if path.exists() else {}


def _write_checksums(cache_dir: Path, sums: dict[str, str]) -> None:
    tmp = cache_dir / (CHECKSUMS + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(sums.items())), indent=1) + "\n")
    tmp.replace(cache_dir / CHECKSUMS)


def verify_wheel(path: Path, expected_sha256: str | None) -> str:
    """Check a wheel is intact (its SHA-256 matches the recorded one, or it is a readable wheel zip with
    a .dist-info/WHEEL when nothing was recorded). Returns its SHA-256."""
    sha = _sha256(path)
    if expected_sha256 is not None:
        if sha != expected_sha256:
            raise BuildError(f"{path} changed since it was downloaded (sha256 {sha} != {expected_sha256}); "
                             "delete it and build again")
        return sha
    try:
        with zipfile.ZipFile(path) as zf:
            if not any(n.endswith(".dist-info/WHEEL") for n in zf.namelist()):
                raise BuildError(f"{path} has no .dist-info/WHEEL: not a wheel")
    except zipfile.BadZipFile as ex:
        raise BuildError(f"{path} is not a readable zip ({ex}); delete it and build again") from ex
    return sha


TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


# Environment markers of each Blender platform, to tell which Requires-Dist lines apply to a wheel there.
MARKER_ENV = {
    "linux-x64": {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64",
                  "os_name": "posix"},
    "windows-x64": {"platform_system": "Windows", "sys_platform": "win32", "platform_machine": "AMD64",
                    "os_name": "nt"},
    "macos-arm64": {"platform_system": "Darwin", "sys_platform": "darwin", "platform_machine": "arm64",
                    "os_name": "posix"},
}


def _requirement_applies(requirement: str, platform: str, python: str) -> bool:
    """Whether a Requires-Dist line (with its `; marker`, if any) applies on `platform` / `python`."""
    marker = requirement.partition(";")[2].strip()
    if not marker:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # pip always carries a copy; build.py needs pip anyway
        from pip._vendor.packaging.markers import Marker
    env = {**MARKER_ENV[platform], "python_version": python, "python_full_version": f"{python}.0",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    return Marker(marker).evaluate(env)


def torch_cuda_evidence(wheel: Path, platform: str, python: str) -> list[str]:
    """Why the torch `wheel` is a GPU (CUDA/ROCm) build on `platform`, or [] for a CPU build.

    Checked on the wheel itself, not on where it came from: a `+cu…`/`+rocm…` local version, GPU runtime
    wheels (nvidia-*, cuda-*, triton) among the Requires-Dist of its METADATA that apply on `platform`
    (the Windows and macOS wheels list them for Linux only), or CUDA/HIP libraries inside. The PyPI Linux
    torch is such a build: ~0.5 GB plus ~20 NVIDIA wheels, and it does not import without them.
    """
    evidence = []
    local = wheel_tags(wheel.name)[1].partition("+")[2]
    if local.startswith(("cu", "rocm")):
        evidence.append(f"local version +{local}")
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            meta = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
            text = zf.read(meta).decode("utf-8", "replace") if meta else ""
    except zipfile.BadZipFile as ex:
        raise BuildError(f"{wheel} is not a readable zip ({ex}); delete it and build again") from ex
    requires = [line.split(":", 1)[1].strip() for line in text.splitlines()
                if line.startswith("Requires-Dist:") and _requirement_applies(line.split(":", 1)[1], platform, python)]
    required = {_normalize(re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0]) for r in requires}
    gpu = sorted(n for n in required if n.startswith(("nvidia_", "cuda_", "triton")))
    if gpu:
        evidence.append(f"Requires-Dist {', '.join(gpu[:4])}{' …' if len(gpu) > 4 else ''} ({len(gpu)} GPU wheels)")
    libs = sorted({Path(n).name for n in names if re.search(r"(torch|c10)_(cuda|hip)[^/]*\.(so|dll|dylib)", n)})
    if libs:
        evidence.append(f"contains {', '.join(libs[:3])}")
    return evidence


def check_cpu_torch(wheels: list[Path], platform: str) -> None:
    """Refuse any torch wheel that is not a CPU build (the zip would be ~0.5 GB and fail to import)."""
    for wheel in wheels:
        if _normalize(wheel_tags(wheel.name)[0]) != TORCH:
            continue
        python = next((py for py in PYTHONS if wheel_fits(wheel.name, platform, py)), "3.11")
        if evidence := torch_cuda_evidence(wheel, platform, python):
            raise BuildError(
                f"refusing {wheel.name}: a GPU build ({'; '.join(evidence)}); the extension bundles the CPU "
                f"build. Delete it and point --torch-index (e.g. {TORCH_CPU_INDEX}) or --find-links at the "
                "+cpu wheel")


def _pip_download(pins: list[Pin], platform: str, python: str, dest: Path, *, find_links: list[str],
                  index_url: str) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--python-version", python, "--implementation", "cp", "--abi", PYTHONS[python],
           "--disable-pip-version-check", "--dest", str(dest)]
    for tag in PLATFORMS[platform]:
        cmd += ["--platform", tag]
    for link in find_links:
        cmd += ["--find-links", link]
    if index_url:
        cmd += ["--extra-index-url", index_url]
    cmd += [f"{p.name}=={p.version_for(platform)}" for p in pins]
    print("  $ " + " ".join(cmd[2:]), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        hint = ""
        if any(p.name == TORCH for p in pins):
            torch_pin = next(p for p in pins if p.name == TORCH)
            hint = (f"\nNo wheel for {TORCH}=={torch_pin.version_for(platform)} (CPython {python}, {platform}) is "
                    f"reachable: pass --torch-index {TORCH_CPU_INDEX} or --find-links DIR holding it, build "
                    f"another --python, or --no-torch for a test zip (docs/build.md).")
        raise BuildError(f"pip download failed for {platform} / CPython {python} "
                         f"({', '.join(p.name for p in pins)}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}{hint}")


def download_wheels(platform: str, python: str = "3.11", pins: list[Pin] | None = None, *, offline: bool = False,
                    cache_root: Path = WHEEL_CACHE, find_links: list[str] | tuple[str, ...] = (),
                    torch_index: str = "") -> list[Path]:
    """Make sure `cache_root/<platform>/` holds the wheel of every pin in `pins` (default: all) for
    CPython `python`; return their paths (sorted by name).

    Present wheels are verified (SHA-256 recorded at download time) and reused; missing ones are
    fetched with pip in two batches (torch alone, from `torch_index` too when set), unless `offline`.
    A GPU torch build is refused before it enters the cache.
    """
    if platform not in PLATFORMS:
        raise BuildError(f"unknown platform {platform!r}; choose from {', '.join(PLATFORMS)}")
    if python not in PYTHONS:
        raise BuildError(f"unknown Python {python!r}; choose from {', '.join(PYTHONS)}")
    cache_dir = cache_root / platform
    cache_dir.mkdir(parents=True, exist_ok=True)
    sums = _read_checksums(cache_dir)
    pins = pins_for(False) if pins is None else pins

    missing = [p for p in pins if find_cached_wheel(cache_dir, p, platform, python) is None]
    if missing and offline:
        raise BuildError(f"--offline: {cache_dir} lacks " + ", ".join(
            f"{p.name}=={p.version_for(platform)}" for p in missing)
            + f" for CPython {python}; build once with network access")
    if missing:
        print(f"[{platform} cp{python.replace('.', '')}] downloading {len(missing)} wheel(s): "
              f"{', '.join(p.name for p in missing)}", flush=True)
        batches: dict[str, list[Pin]] = {}
        for pin in missing:
            batches.setdefault(pin.name == TORCH, []).append(pin)  # torch alone: its failure is its own
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as tmp:
            for is_torch, batch in sorted(batches.items()):
                _pip_download(batch, platform, python, Path(tmp), find_links=list(find_links),
                              index_url=torch_index if is_torch else "")
            downloaded = sorted(Path(tmp).glob("*.whl"))
            check_cpu_torch(downloaded, platform)
            for path in downloaded:
                sums[path.name] = verify_wheel(path, None)
                path.replace(cache_dir / path.name)
        _write_checksums(cache_dir, sums)

    wheels = []
    for pin in pins:
        path = find_cached_wheel(cache_dir, pin, platform, python)
        if path is None:
            raise BuildError(f"pip did not produce a {platform} CPython {python} wheel for "
                             f"{pin.name}=={pin.version_for(platform)}")
        sums[path.name] = verify_wheel(path, sums.get(path.name))
        wheels.append(path)
    _write_checksums(cache_dir, sums)
    return sorted(wheels, key=lambda p: p.name.lower())


# --------------------------------------------------------------------------------------------------
# Assets

_assets_built: list[Path] = []


def build_assets() -> Path:
    """Run the asset builds once per process: FaceKit (`face_addon/assets/facekit.npz`) and MediaPipe's face
    detector + mesh (`face_addon/assets/mediapipe_face.npz`); return the FaceKit path."""
    if _assets_built:
        return _assets_built[0]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from face_addon.core.facekit.assets import ensure_facekit
        from face_addon.core.photo.mediapipe_assets import ensure_mediapipe_face
    except ImportError as ex:
        raise BuildError(
            f"cannot import the asset builders, which write face_addon/assets/ ({ex}). They must exist before "
            "a full build; use --minimal for a zip without assets.") from ex
    for label, ensure, name in (("FaceKit", ensure_facekit, "facekit.npz"),
                                ("MediaPipe face", ensure_mediapipe_face, "mediapipe_face.npz")):
        print(f"[assets] {ensure.__name__}()", flush=True)
        start = time.perf_counter()
        try:
            result = ensure()
        except Exception as ex:  # noqa: BLE001 - any failure of the asset step stops the build with its message
            raise BuildError(f"the {label} asset build failed: {type(ex).__name__}: {ex}") from ex
        path = Path(result) if isinstance(result, (str, os.PathLike)) else PACKAGE_DIR / "assets" / name
        if not path.is_file():
            raise BuildError(f"{ensure.__name__}() finished but {path} does not exist")
        print(f"[assets] {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
              f"{path.stat().st_size / 2**20:.1f} MB ({time.perf_counter() - start:.1f} s)", flush=True)
        _assets_built.append(path)
    return _assets_built[0]


# --------------------------------------------------------------------------------------------------
# Manifest and validation

def load_manifest(path: Path = MANIFEST_PATH) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as ex:
        raise BuildError(f"cannot read {path}: {ex}") from ex


def manifest_for_zip(manifest: dict, platform: str, wheels: list[Path]) -> dict:
    """A copy of `manifest` for one zip: `platforms` = [platform], `wheels` = exactly `wheels`."""
    out = {k: v for k, v in manifest.items() if k != "build"}  # [build] only drives Blender's own builder
    out["platforms"] = [platform]
    if wheels:
        out["wheels"] = [f"./wheels/{w.name}" for w in wheels]
    else:
        out.pop("wheels", None)
    return out


def dump_manifest(manifest: dict) -> bytes:
    try:
        import tomli_w
    except ImportError as ex:
        raise BuildError("build.py writes TOML with tomli_w: pip install tomli-w") from ex
    return tomli_w.dumps(manifest).encode()


def validate_manifest(manifest: dict) -> None:
    """Blender's strict manifest check (the one `blender --command extension validate` runs)."""
    ext = blender_ext()
    if ext is None:
        required = ("schema_version", "id", "version", "name", "tagline", "maintainer", "type", "license",
                    "blender_version_min")
        errors = [f'missing "{k}"' for k in required if k not in manifest]
        print("warning: bpy is not installed, only a basic manifest check was run", file=sys.stderr)
    else:
        result = ext.pkg_manifest_from_dict_and_validate_all_errros(manifest, from_repo=False, strict=True)
        errors = result if isinstance(result, list) else []
        if not errors and manifest.get("tags"):
            tags_py = Path(ext.__file__).parents[4] / "modules" / "_bpy_internal" / "extensions" / "tags.py"
            if tags_py.exists():
                valid = ext.pkg_manifest_tags_load_valid_map(str(tags_py))
                if isinstance(valid, str):
                    errors = [valid]
                elif (err := ext.pkg_manifest_tags_valid_or_error(valid, manifest["type"], manifest["tags"])):
                    errors = [err]
    if errors:
        raise BuildError("invalid blender_manifest.toml:\n  " + "\n  ".join(errors))


def validate_wheels(manifest: dict, wheels: list[Path], platform: str, pythons: tuple[str, ...] = ("3.11",)) -> None:
    """Every listed wheel is bundled (and vice versa) and loads on `platform` with one of the CPythons
    `pythons`; nothing Blender ships is bundled; torch is a CPU build."""
    listed = [w.removeprefix("./") for w in manifest.get("wheels", [])]
    bundled = [f"wheels/{w.name}" for w in wheels]
    errors = []
    if sorted(listed) != sorted(bundled):
        errors.append(f"manifest lists {sorted(set(listed) - set(bundled))} that are not bundled, "
                      f"bundles {sorted(set(bundled) - set(listed))} that are not listed")
    for w in wheels:
        if not w.is_file():
            errors.append(f"missing wheel {w}")
        elif not any(wheel_fits(w.name, platform, py) for py in pythons):
            errors.append(f"{w.name} does not load on {platform} with CPython {' or '.join(pythons)}")
        if _normalize(wheel_tags(w.name)[0]).replace("_", "-") in BLENDER_BUNDLED:
            errors.append(f"{w.name}: Blender already ships this distribution")
    if errors:
        raise BuildError("wheel check failed:\n  " + "\n  ".join(errors))
    check_cpu_torch(wheels, platform)


def is_stray(rel_path: str) -> bool:
    """True for paths a release zip must not hold (caches, tests, venvs, build output, dot-files)."""
    parts = rel_path.split("/")
    return (any(p in STRAY_DIRS or p.startswith(".") for p in parts)
            or rel_path.endswith(STRAY_SUFFIXES))


def collect_package_files(package_dir: Path = PACKAGE_DIR, *, include_assets: bool = True) -> list[tuple[Path, str]]:
    """(absolute path, zip path) for every file of the package, stray files skipped."""
    if not (package_dir / "__init__.py").is_file():
        raise BuildError(f"{package_dir} is not a Python package (no __init__.py)")
    files = []
    for dirpath, dirnames, filenames in os.walk(package_dir):
        rel_dir = Path(dirpath).relative_to(package_dir).as_posix()
        dirnames[:] = sorted(d for d in dirnames if not is_stray(d))
        if not include_assets and (rel_dir == "assets" or rel_dir.startswith("assets/")):
            continue
        for name in sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if not is_stray(rel):
                files.append((Path(dirpath) / name, rel))
    return files


def validate_zip(zip_path: Path, platform: str) -> None:
    """Re-open the finished zip: no stray entries, every manifest wheel present, and Blender's own
    archive validation (`blender_ext.py validate <zip>`) passes."""
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        bad = zf.testzip() if zip_path.stat().st_size < 2**26 else None  # CRC check of small zips
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
    errors = [f"stray entry {n}" for n in names if is_stray(n)]
    if bad:
        errors.append(f"corrupt entry {bad}")
    if "__init__.py" not in names:
        errors.append("no __init__.py at the zip root")
    for w in manifest.get("wheels", []):
        if w.removeprefix("./") not in names:
            errors.append(f"manifest wheel {w} is not in the zip")
    if manifest.get("platforms") != [platform]:
        errors.append(f"manifest platforms {manifest.get('platforms')} != [{platform!r}]")
    ext = blender_ext()
    if ext is not None:
        result = ext.pkg_manifest_from_archive_and_validate(str(zip_path), strict=True)
        if isinstance(result, str):
            errors.append(f"Blender rejects the archive: {result}")
    if errors:
        raise BuildError(f"{zip_path} failed validation:\n  " + "\n  ".join(errors))


# --------------------------------------------------------------------------------------------------
# Zip

def _stored(rel: str) -> bool:
    """Already-compressed files are stored, not deflated again."""
    ext = blender_ext()
    if ext is not None:
        return ext.filepath_skip_compress(rel)
    return rel.endswith((".whl", ".zip", ".png", ".jpg", ".npz", ".gz"))


def write_zip(zip_path: Path, manifest_bytes: bytes, package_files: list[tuple[Path, str]],
              wheels: list[Path]) -> None:
    """Write the extension zip (to a temp name, renamed when complete)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name("." + zip_path.name + ".tmp")
    entries = [(None, "blender_manifest.toml"), *package_files, *((w, f"wheels/{w.name}") for w in wheels)]
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for src, rel in entries:
                info = zipfile.ZipInfo(rel, date_time=ZIP_DATE)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_STORED if _stored(rel) else zipfile.ZIP_DEFLATED
                if src is None:
                    zf.writestr(info, manifest_bytes, compresslevel=9)
                    continue
                info.file_size = src.stat().st_size
                with open(src, "rb") as fin, zf.open(info, "w", force_zip64=True) as fout:
                    shutil.copyfileobj(fin, fout, 1 << 22)
        tmp.replace(zip_path)
    finally:
        tmp.unlink(missing_ok=True)


def zip_name(version: str, platform: str, minimal: bool, pythons: tuple[str, ...] = ("3.11",),
             torch: bool = True) -> str:
    """`face_addon-0.1.0-linux-x64-py311.zip`; `-py311-py313` for a combined zip, `-notorch` for a test
    zip without torch, `-minimal` for the CI install test's zip."""
    py = "-".join(f"py{p.replace('.', '')}" for p in pythons)
    return f"face_addon-{version}-{platform}-{py}{'' if torch else '-notorch'}{'-minimal' if minimal else ''}.zip"


def check_committed_wheel_list(manifest: dict, platform: str, python: str, wheels: list[Path]) -> None:
    """Warn when the committed manifest's wheels for `python` are not the linux-x64 full set just built
    (the committed file lists the linux-x64 wheels of every Python)."""
    if platform != "linux-x64":
        return
    committed = sorted(w for w in manifest.get("wheels", [])
                       if wheel_fits(w.rsplit("/", 1)[-1], platform, python))
    built = sorted(f"./wheels/{w.name}" for w in wheels)
    if committed != built:
        print(f"warning: blender_manifest.toml `wheels` for CPython {python} differs from the linux-x64 "
              "build; it should hold:\n" + "".join(f'  "{w}",\n' for w in built), file=sys.stderr)


def build(platform: str, pythons: tuple[str, ...] | None = None, *, minimal: bool = False, offline: bool = False,
          out_dir: Path = DIST_DIR, cache_root: Path = WHEEL_CACHE, package_dir: Path = PACKAGE_DIR,
          manifest_path: Path = MANIFEST_PATH, find_links: list[str] | tuple[str, ...] = (),
          torch_index: str = "", torch: bool = True, torch_version: str = "",
          assets: bool | None = None) -> BuildResult:
    """Build one extension zip for `platform` holding the wheels of every CPython in `pythons`
    (default: the running one if Blender uses it, else 3.11) and return what went into it.

    `assets` (default: not `minimal`) runs the FaceKit asset step and bundles `assets/`;
    the minimal zip holds neither the generated assets nor the big wheels. `torch=False` leaves torch out
    (a test zip); `torch_version` replaces the torch pin (e.g. to take a differently named CPU build).
    """
    start = time.perf_counter()
    pythons = tuple(pythons or (default_python(),))
    assets = (not minimal) if assets is None else assets
    manifest = load_manifest(manifest_path)
    validate_manifest(manifest)

    pins = pins_for(minimal, torch=torch, torch_version=torch_version)
    wheels: list[Path] = []
    for python in pythons:
        got = download_wheels(platform, python, pins, offline=offline, cache_root=cache_root,
                              find_links=find_links, torch_index=torch_index)
        if not minimal and torch and not torch_version:
            check_committed_wheel_list(manifest, platform, python, got)
        wheels += [w for w in got if w not in wheels]  # pure-Python wheels serve both Pythons
    wheels.sort(key=lambda w: w.name.lower())
    if assets:
        build_assets()

    zip_manifest = manifest_for_zip(manifest, platform, wheels)
    validate_manifest(zip_manifest)
    validate_wheels(zip_manifest, wheels, platform, pythons)
    package_files = collect_package_files(package_dir, include_assets=assets)
    clash = {rel for _, rel in package_files} & {"blender_manifest.toml", "wheels"}
    if clash or any(rel.startswith("wheels/") for _, rel in package_files):
        raise BuildError(f"{package_dir} holds paths reserved for the zip root: {sorted(clash)}")

    zip_path = Path(out_dir) / zip_name(manifest["version"], platform, minimal, pythons, torch)
    write_zip(zip_path, dump_manifest(zip_manifest), package_files, wheels)
    validate_zip(zip_path, platform)
    return BuildResult(platform, minimal, zip_path, wheels, [rel for _, rel in package_files],
                       time.perf_counter() - start, pythons)


def print_summary(result: BuildResult) -> None:
    top: dict[str, list[int]] = {}
    with zipfile.ZipFile(result.zip_path) as zf:
        for info in zf.infolist():
            key = info.filename.split("/", 1)[0] + ("/" if "/" in info.filename else "")
            count_size = top.setdefault(key, [0, 0])
            count_size[0] += 1
            count_size[1] += info.compress_size
    print(f"\n{result.zip_path}  {result.size_bytes / 2**20:.1f} MB  ({result.seconds:.1f} s)")
    for key, (count, size) in sorted(top.items(), key=lambda kv: -kv[1][1]):
        print(f"  {key:<28} {count:>5} file(s) {size / 2**20:>9.2f} MB")
    for w in result.wheels:
        print(f"    {w.name:<92} {w.stat().st_size / 2**20:>8.2f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default="host", choices=["host", "all", *PLATFORMS],
                        help="platform to build (default: this machine's)")
    parser.add_argument("--offline", action="store_true", help="use only the wheel cache, never pip")
    parser.add_argument("--assets-only", action="store_true", help="only build face_addon/assets")
    parser.add_argument("--minimal", action="store_true",
                        help="small zip: pure-Python wheels only, no torch/scipy, no generated assets")
    parser.add_argument("--out-dir", type=Path, default=DIST_DIR, help="where zips go (default: dist/)")
    parser.add_argument("--cache-dir", type=Path, default=WHEEL_CACHE, help="wheel cache (default: wheels/)")
    parser.add_argument("--find-links", action="append", default=[],
                        help="extra pip --find-links location (repeatable), e.g. a folder with the torch +cpu wheel")
    parser.add_argument("--torch-index", default="",
                        help=f"extra index for torch only, e.g. {TORCH_CPU_INDEX}")
    parser.add_argument("--python", default="all", choices=["all", *PYTHONS],
                        help="Blender's Python to bundle wheels for: 3.11 = Blender 4.2-5.0, 3.13 = 5.1-5.3 "
                             "(default: all, one zip each)")
    parser.add_argument("--combined", action="store_true",
                        help="one zip per platform with the wheels of every --python (Blender picks its own)")
    parser.add_argument("--no-torch", action="store_true",
                        help="test zip without torch, for a bpy module whose venv already has torch")
    parser.add_argument("--torch-version", default="",
                        help="replace the torch pin (2.13.0, 2.13.0+cpu on Linux); a GPU build is refused")
    args = parser.parse_args(argv)

    try:
        if args.assets_only:
            build_assets()
            return 0
        platforms = list(PLATFORMS) if args.platform == "all" else [
            host_platform() if args.platform == "host" else args.platform]
    except BuildError as ex:
        print(f"build.py: error: {ex}", file=sys.stderr)
        return 1
    pythons = tuple(PYTHONS) if args.python == "all" else (args.python,)
    groups = [pythons] if args.combined else [(py,) for py in pythons]
    failed = []
    for plat in platforms:
        for group in groups:
            try:  # one zip failing (e.g. no CPU torch reachable for it) does not stop the others
                result = build(plat, group, minimal=args.minimal, offline=args.offline, out_dir=args.out_dir,
                               cache_root=args.cache_dir, find_links=args.find_links,
                               torch_index=args.torch_index, torch=not args.no_torch,
                               torch_version=args.torch_version)
            except BuildError as ex:
                print(f"build.py: error: {plat} / CPython {', '.join(group)}: {ex}", file=sys.stderr)
                failed.append(f"{plat} / CPython {', '.join(group)}")
                continue
            print_summary(result)
    if failed:
        print(f"build.py: not built: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
