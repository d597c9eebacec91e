"""The Compute Device and Threads preferences reach torch where the long operators start work
(operator_base.use_thread_setting -> core.device.configure)."""
from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")
torch = pytest.importorskip("torch")

from face_addon.blender import operator_base, preferences  # noqa: E402
from face_addon.core.device import available_devices  # noqa: E402


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("device", ["cpu", "cuda", "mps"])
def test_preferences_set_threads_and_pick_a_device_torch_sees(scene, monkeypatch, restore_threads, device):
    threads = 1 if torch.get_num_threads() != 1 else 2
    monkeypatch.setattr(preferences, "settings", lambda context=None: preferences.Settings(device=device,
                                                                                             threads=threads))
    chosen = operator_base.use_thread_setting(bpy.context)
    assert torch.get_num_threads() == threads
    assert chosen.type == (device if device in available_devices() else "cpu")


def test_defaults_leave_torch_threads_alone(scene, restore_threads):
    before = torch.get_num_threads()
    assert operator_base.use_thread_setting(bpy.context).type == "cpu"  # Settings() default: CPU, 0 threads
    assert torch.get_num_threads() == before
