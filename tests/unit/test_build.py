"""build.py's Python/platform logic without pip or Blender: which wheels fit which Blender Python, how
zips are named, and that a GPU torch build is refused however it is named."""
import zipfile
from pathlib import Path

import pytest

import build  # build.py at the repository root (on sys.path via conftest)


def fake_wheel(folder: Path, filename: str, requires: list[str] = (), files: list[str] = ()) -> Path:
    """A minimal wheel: METADATA with `requires` as Requires-Dist lines, plus empty `files`."""
    name, version = filename.split("-")[:2]
    dist_info = f"{name}-{version}.dist-info"
    path = folder / filename
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{dist_info}/METADATA", "Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0\n"
                    + "".join(f"Requires-Dist: {r}\n" for r in requires))
        zf.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\n")
        for f in files:
            zf.writestr(f, b"")
    return path


@pytest.mark.parametrize("filename, fits_311, fits_313", [
    ("scipy-1.17.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", True, False),
    ("scipy-1.17.1-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", False, True),
    ("trimesh-5.2.0-py3-none-any.whl", True, True),
    ("zstd-1.0-cp38-abi3-manylinux_2_28_x86_64.whl", True, True),   # stable ABI: any newer CPython
    ("new-1.0-cp312-abi3-manylinux_2_28_x86_64.whl", False, True),  # needs 3.12+
    ("scipy-1.17.1-cp313-cp313t-manylinux_2_28_x86_64.whl", False, False),  # free-threaded build
    ("scipy-1.17.1-cp313-cp313-win_amd64.whl", False, False),  # other platform
])
def test_wheel_fits_each_blender_python(filename, fits_311, fits_313):
    assert build.wheel_fits(filename, "linux-x64", "3.11") is fits_311
    assert build.wheel_fits(filename, "linux-x64", "3.13") is fits_313


def test_zip_names_say_platform_and_python():
    assert build.zip_name("0.1.0", "linux-x64", False, ("3.11",)) == "face_addon-0.1.0-linux-x64-py311.zip"
    assert build.zip_name("0.1.0", "macos-arm64", True, ("3.13",)) == "face_addon-0.1.0-macos-arm64-py313-minimal.zip"
    assert (build.zip_name("0.1.0", "windows-x64", False, ("3.11", "3.13"), torch=False)
            == "face_addon-0.1.0-windows-x64-py311-py313-notorch.zip")


def test_pins_without_torch_or_with_another_torch():
    assert build.TORCH not in [p.name for p in build.pins_for(False, torch=False)]
    torch = next(p for p in build.pins_for(False, torch_version="2.13.0") if p.name == build.TORCH)
    assert {torch.version_for(plat) for plat in build.PLATFORMS} == {"2.13.0"}
    default = next(p for p in build.PINS if p.name == build.TORCH)
    assert default.version_for("linux-x64").endswith("+cpu")  # the PyPI Linux torch is a CUDA build


def test_cpu_torch_passes(tmp_path):
    cpu = fake_wheel(tmp_path, "torch-2.13.0+cpu-cp313-cp313-manylinux_2_28_x86_64.whl",
                     ["filelock", "sympy>=1.13.3", "fsspec>=0.8.5", 'opt-einsum>=3.3; extra == "opt-einsum"'],
                     ["torch/lib/libtorch_cpu.so"])
    assert build.torch_cuda_evidence(cpu, "linux-x64", "3.13") == []
    build.check_cpu_torch([cpu], "linux-x64")


def test_windows_torch_with_linux_only_cuda_requirements_passes(tmp_path):
    # the PyPI Windows/macOS wheels list the NVIDIA wheels behind a `platform_system == "Linux"` marker
    win = fake_wheel(tmp_path, "torch-2.13.0-cp311-cp311-win_amd64.whl",
                     ['nvidia-cudnn-cu13==9.20.0.48; platform_system == "Linux" and platform_machine == "x86_64"',
                      "sympy>=1.13.3"])
    assert build.torch_cuda_evidence(win, "windows-x64", "3.11") == []
    assert build.torch_cuda_evidence(win.rename(tmp_path / "torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
                                     "linux-x64", "3.11")


@pytest.mark.parametrize("filename, requires, files, expect", [
    ("torch-2.13.0+cu130-cp313-cp313-manylinux_2_28_x86_64.whl", [], [], "local version +cu130"),
    ("torch-2.13.0-cp313-cp313-manylinux_2_28_x86_64.whl",
     ['nvidia-cublas==13.1.1.3; platform_system == "Linux"', "triton==3.7.1; platform_system == 'Linux'"], [],
     "Requires-Dist nvidia_cublas, triton"),
    # named like the CPU build, but CUDA libraries inside
    ("torch-2.13.0+cpu-cp313-cp313-manylinux_2_28_x86_64.whl", [], ["torch/lib/libtorch_cuda.so"],
     "contains libtorch_cuda.so"),
])
def test_gpu_torch_is_refused(tmp_path, filename, requires, files, expect):
    wheel = fake_wheel(tmp_path, filename, requires, files)
    assert any(expect in e for e in build.torch_cuda_evidence(wheel, "linux-x64", "3.13"))
    with pytest.raises(build.BuildError, match="refusing .*GPU build"):
        build.check_cpu_torch([wheel], "linux-x64")


def test_offline_build_names_the_python_it_lacks(tmp_path):
    with pytest.raises(build.BuildError, match="lacks scipy==1.17.1 for CPython 3.13"):
        build.download_wheels("linux-x64", "3.13", [p for p in build.PINS if p.name == "scipy"], offline=True,
                              cache_root=tmp_path)
