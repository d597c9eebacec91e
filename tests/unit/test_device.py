"""The Compute Device preference (core/device.py): a device torch does not offer here falls back to the CPU, and
the networks the pipelines run land on the configured device with their inputs.

No GPU here, so "lands on the configured device" is checked two ways: on the CPU for real, and with torch's
`meta` device standing in for a GPU (a device the parameters and inputs visibly move to; reading a result back
from it fails, which the test expects).
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from face_addon.core import device  # noqa: E402


@pytest.fixture(autouse=True)
def restore_device(monkeypatch):
    monkeypatch.setattr(device, "_chosen", device._chosen)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", ["cuda", "CUDA", "mps", "tpu", "cpu"])
def test_a_device_torch_does_not_offer_here_falls_back_to_the_cpu(name):
    chosen = device.configure(name)
    expected = "cuda" if name.lower() == "cuda" and torch.cuda.is_available() else "cpu"
    assert chosen.type == expected and device.current_device() == chosen
    assert "mps" not in device.available_devices()  # sparse products of DiffusionNet / 2S-SGCN: no MPS


def test_threads_are_applied():
    threads = 1 if torch.get_num_threads() != 1 else 2
    device.configure("cpu", threads)
    assert torch.get_num_threads() == threads


class Probe(torch.nn.Module):
    """Stands in for a network: records the devices of its inputs."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))
        self.register_buffer("prototype", torch.zeros(68, 3))
        self.seen: set[str] = set()

    def forward(self, *inputs):
        self.seen |= {x.device.type for x in inputs if isinstance(x, torch.Tensor)}
        return inputs[0][..., :1].float() * self.weight


def _prepared():
    from face_addon.core.pipelines.detect_landmarks import PreparedInput

    n = 50
    return PreparedInput(points=np.zeros((n, 3)), normals=np.zeros((n, 3)),
                         neighbours=np.zeros((n, 4), np.int64), coarse=np.arange(8), standardization=None)


def test_landmark_network_runs_on_the_configured_device():
    from face_addon.core.pipelines.detect_landmarks import predict_heatmaps

    net = Probe()
    device.configure("cpu")
    assert predict_heatmaps(net, _prepared()).shape == (50, 1)
    assert net.seen == {"cpu"} and net.weight.device.type == "cpu"

    device._chosen = "meta"  # as configure() leaves it for a GPU
    net = Probe()
    with pytest.raises((NotImplementedError, RuntimeError)):  # a meta result cannot be read back
        predict_heatmaps(net, _prepared())
    assert net.seen == {"meta"}
    assert net.weight.device.type == "meta" and net.prototype.device.type == "meta"


def test_place_moves_a_module_to_the_current_device():
    net = torch.nn.Linear(2, 2)
    device._chosen = "meta"
    assert device.place(net).type == "meta" and net.weight.device.type == "meta"


class EncoderProbe(Probe):
    """Stands in for Segment Skin's image encoder: (features, class logits) per image."""

    def forward(self, images):
        self.seen |= {images.device.type}
        return images * self.weight, images.repeat(1, 6, 1, 1) * self.weight


class SkinProbe(Probe):
    """Stands in for the skin DiffusionNet: two class logits per vertex, given the features and the operators."""

    def forward(self, x, ops):
        self.seen |= {x.device.type, ops.mass.device.type}
        return x[:, :1].repeat(1, 2) * self.weight


def test_skin_networks_run_on_the_configured_device():
    import trimesh

    from face_addon.core.pipelines.segment_skin import predict, prepare_shape
    from face_addon.core.pipelines.skin_image import encode_views

    views = type("Views", (), {"images": np.zeros((2, 8, 8, 3), np.float32)})()
    s = trimesh.creation.icosphere(subdivisions=2, radius=0.1)
    shape = prepare_shape(np.asarray(s.vertices), np.asarray(s.faces), None, k_eig=8)
    meta = {"features": ("sigma30",), "feature_mean": [0.0], "feature_std": [1.0]}

    device.configure("cpu")
    encoder, skin_net = EncoderProbe(), SkinProbe()
    feats, skin = encode_views((encoder, {"n_classes": 18}), views)
    assert feats.shape == (2, 3, 8, 8) and skin.shape == (2, 8, 8) and encoder.seen == {"cpu"}
    assert predict(skin_net, meta, shape).shape == (len(shape.sigma),) and skin_net.seen == {"cpu"}

    device._chosen = "meta"
    encoder, skin_net = EncoderProbe(), SkinProbe()
    for call in (lambda: encode_views((encoder, {"n_classes": 18}), views), lambda: predict(skin_net, meta, shape)):
        with pytest.raises((NotImplementedError, RuntimeError)):
            call()
    assert encoder.seen == {"meta"} and encoder.weight.device.type == "meta"
    assert skin_net.seen == {"meta"} and skin_net.weight.device.type == "meta"
