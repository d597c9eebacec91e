"""Landmark naming/mirror tables and capability readiness (no bpy)."""
import numpy as np

from face_addon.core import ibug68
from face_addon.core.capabilities import CAPABILITIES, Capability, capability


def test_ibug_mirror_is_involution_and_regions_cover_68():
    assert (ibug68.MIRROR[ibug68.MIRROR] == np.arange(68)).all()
    assert sorted(i for r in ibug68.REGIONS.values() for i in r) == list(range(68))
    assert [len(ibug68.REGIONS[k]) for k in ("contour", "brows", "eyes", "nose", "mouth")] == [17, 10, 12, 9, 20]
    # mirrored points stay in their region; midline points map to themselves
    for idx in ibug68.REGIONS.values():
        assert set(ibug68.MIRROR[list(idx)]) == set(idx)
    assert all(ibug68.MIRROR[i] == i for i in (8, 27, 28, 29, 30, 33, 51, 57, 62, 66))


def test_empty_names_unique_and_informative():
    names = ibug68.empty_names()
    assert len(set(names)) == 68
    assert names[30] == "LM_30_nose_tip" and names[8] == "LM_08_chin"


def test_capability_status_reflects_files(tmp_path):
    cap = Capability("x", "X", "face.x", ("models/x.pt",), True)
    assert cap.status(tmp_path) == "missing: models/x.pt"
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "x.pt").write_bytes(b"0")
    assert cap.ready(tmp_path)
    assert Capability("y", "Y", "", (), False).status(tmp_path) == "not implemented yet"
    assert capability("inspect") in CAPABILITIES
