"""DINOv2 checkpoint loading and the frozen Segment Skin image backbone, on tiny random official-format weights."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from face_addon.core.nets.dinov2 import DinoV2, DinoV2Backbone, interpolate_pos_embed, load_dinov2_checkpoint

D, DEPTH, HEADS, GRID, PATCH, HIDDEN = 32, 3, 2, 4, 14, 64


def tiny_state_dict(registers: int = 0, swiglu: bool = False, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights under the official facebookresearch/dinov2 key names (pos_embed for a 4x4 grid)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, scale: float = 0.2) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    sd = {"cls_token": rnd(1, 1, D), "pos_embed": rnd(1, 1 + GRID * GRID, D), "mask_token": torch.zeros(1, D),
          "patch_embed.proj.weight": rnd(D, 3, PATCH, PATCH, scale=0.05), "patch_embed.proj.bias": rnd(D),
          "norm.weight": 1 + rnd(D), "norm.bias": rnd(D)}
    if registers:
        sd["register_tokens"] = rnd(1, registers, D)
    mlp = ({"mlp.w12.weight": rnd(2 * HIDDEN, D), "mlp.w12.bias": rnd(2 * HIDDEN),
            "mlp.w3.weight": rnd(D, HIDDEN), "mlp.w3.bias": rnd(D)} if swiglu else
           {"mlp.fc1.weight": rnd(HIDDEN, D), "mlp.fc1.bias": rnd(HIDDEN),
            "mlp.fc2.weight": rnd(D, HIDDEN), "mlp.fc2.bias": rnd(D)})
    for i in range(DEPTH):
        block = {"norm1.weight": 1 + rnd(D), "norm1.bias": rnd(D), "attn.qkv.weight": rnd(3 * D, D),
                 "attn.qkv.bias": rnd(3 * D), "attn.proj.weight": rnd(D, D), "attn.proj.bias": rnd(D),
                 "ls1.gamma": 1 + rnd(D), "norm2.weight": 1 + rnd(D), "norm2.bias": rnd(D), "ls2.gamma": 1 + rnd(D),
                 **{k: v + rnd(*v.shape, scale=0.05) for k, v in mlp.items()}}
        sd.update({f"blocks.{i}.{k}": v for k, v in block.items()})
    return sd


def naive_block(sd: dict[str, torch.Tensor], i: int, x: torch.Tensor) -> torch.Tensor:
    """One block written out head by head from the raw weights: q, k, v are rows [0:D], [D:2D], [2D:3D] of qkv
    and head h owns channels [h*hd, (h+1)*hd) of each."""
    p = {k[len(f"blocks.{i}."):]: v for k, v in sd.items() if k.startswith(f"blocks.{i}.")}
    hd = D // HEADS
    y = F.layer_norm(x, (D,), p["norm1.weight"], p["norm1.bias"], eps=1e-6)
    qkv = y @ p["attn.qkv.weight"].T + p["attn.qkv.bias"]
    heads = []
    for h in range(HEADS):
        q, k, v = (qkv[..., s * D + h * hd: s * D + (h + 1) * hd] for s in range(3))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        heads.append(weights @ v)
    attn = torch.cat(heads, dim=-1) @ p["attn.proj.weight"].T + p["attn.proj.bias"]
    x = x + p["ls1.gamma"] * attn
    y = F.layer_norm(x, (D,), p["norm2.weight"], p["norm2.bias"], eps=1e-6)
    if "mlp.w12.weight" in p:
        a, b = (y @ p["mlp.w12.weight"].T + p["mlp.w12.bias"]).chunk(2, dim=-1)
        mlp = (F.silu(a) * b) @ p["mlp.w3.weight"].T + p["mlp.w3.bias"]
    else:
        mlp = F.gelu(y @ p["mlp.fc1.weight"].T + p["mlp.fc1.bias"]) @ p["mlp.fc2.weight"].T + p["mlp.fc2.bias"]
    return x + p["ls2.gamma"] * mlp


def naive_last_layers(sd: dict[str, torch.Tensor], images: torch.Tensor, n: int) -> list[torch.Tensor]:
    """Whole ViT at the training grid: [cls, registers, patches] tokens, position table added before the
    registers are inserted, final norm applied to the patch tokens of the last n blocks."""
    patches = F.conv2d(images, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=PATCH)
    b, _, rows, cols = patches.shape
    x = torch.cat((sd["cls_token"].expand(b, -1, -1), patches.flatten(2).transpose(1, 2)), 1) + sd["pos_embed"]
    regs = sd.get("register_tokens", torch.zeros(1, 0, D))
    x = torch.cat((x[:, :1], regs.expand(b, -1, -1), x[:, 1:]), dim=1)
    outputs = []
    for i in range(DEPTH):
        x = naive_block(sd, i, x)
        if i >= DEPTH - n:
            tokens = F.layer_norm(x, (D,), sd["norm.weight"], sd["norm.bias"], eps=1e-6)[:, 1 + regs.shape[1]:]
            outputs.append(tokens.transpose(1, 2).reshape(b, D, rows, cols))
    return outputs


@pytest.fixture(params=[0, 4], ids=["plain", "reg4"])
def registers(request) -> int:
    return request.param


def test_load_infers_architecture(tmp_path, registers):
    torch.save(tiny_state_dict(registers), tmp_path / "vit.pth")
    vit = load_dinov2_checkpoint(tmp_path / "vit.pth", num_heads=HEADS)
    assert (vit.embed_dim, vit.depth, vit.patch_size, vit.num_registers) == (D, DEPTH, PATCH, registers)
    assert vit.config["mlp_hidden"] == HIDDEN and vit.config["grid_size"] == GRID and not vit.training
    assert vit.arch_name == f"dinov2_d{D}x{DEPTH}_p{PATCH}" + (f"_reg{registers}" if registers else "")


@pytest.mark.parametrize("swiglu", [False, True], ids=["gelu", "swiglu"])
def test_block_matches_naive_attention(swiglu):
    sd = tiny_state_dict(swiglu=swiglu)
    vit = DinoV2.from_state_dict(sd, num_heads=HEADS)
    x = torch.randn(2, 7, D, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(vit.blocks[1](x), naive_block(sd, 1, x), atol=1e-5, rtol=1e-5)


def test_vit_matches_naive_forward(registers):
    sd = tiny_state_dict(registers)
    vit = DinoV2.from_state_dict(sd, num_heads=HEADS)
    images = torch.randn(2, 3, GRID * PATCH, GRID * PATCH, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        for got, want in zip(vit.get_intermediate_layers(images, 2), naive_last_layers(sd, images, 2)):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_pos_embed_interpolation():
    table = torch.randn(1, 1 + GRID * GRID, D)
    for antialias, offset in [(False, 0.1), (True, 0.0)]:
        assert torch.equal(interpolate_pos_embed(table, (GRID, GRID), antialias, offset), table)
        resized = interpolate_pos_embed(table, (6, 3), antialias, offset)
        assert resized.shape == (1, 1 + 18, D) and torch.equal(resized[:, 0], table[:, 0])


@pytest.mark.parametrize("wrap", ["plain", "teacher", "chunked"])
def test_backbone_features(tmp_path, registers, wrap):
    sd = tiny_state_dict(registers)
    saved = {"plain": sd, "teacher": {"teacher": {f"backbone.{k}": v for k, v in sd.items()}, "iteration": 7},
             "chunked": {k.replace("blocks.", f"blocks.{int(k.split('.')[1]) // 2}.", 1) if k.startswith("blocks.")
                         else k: v for k, v in sd.items()}}[wrap]
    torch.save(saved, tmp_path / "ckpt.pth")
    backbone = DinoV2Backbone.from_checkpoint(tmp_path / "ckpt.pth", n_layers=DEPTH, num_heads=HEADS)
    assert backbone.out_channels == DEPTH * D and backbone.name.startswith("dinov2_")
    images = torch.rand(2, 3, 64, 48, generator=torch.Generator().manual_seed(3))
    features = backbone(images)
    assert features.shape == (2, backbone.out_channels, 64, 48) and torch.isfinite(features).all()
    assert torch.equal(features, backbone(images)) and not features.requires_grad
    reference = DinoV2Backbone(DinoV2.from_state_dict(sd, num_heads=HEADS), n_layers=DEPTH)
    torch.testing.assert_close(features, reference(images))


def test_backbone_patch_grid_and_frozen():
    backbone = DinoV2Backbone(DinoV2.from_state_dict(tiny_state_dict(), num_heads=HEADS), n_layers=2)
    assert backbone.patch_grid_for(128, 128) == (16, 16) and backbone.patch_grid_for(64, 48) == (16, 12)
    assert DinoV2Backbone(backbone.vit, n_layers=1, patch_grid=None).patch_grid_for(128, 100) == (9, 7)
    assert not backbone.train().vit.training
    assert not any(p.requires_grad for p in backbone.parameters())
    with pytest.raises(ValueError, match="n_layers"):
        DinoV2Backbone(backbone.vit, n_layers=DEPTH + 1)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_dinov2_checkpoint(tmp_path / "absent.pth")


def test_garbage_file_is_a_clear_error(tmp_path):
    (tmp_path / "garbage.pth").write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(ValueError, match="not a readable weights file"):
        load_dinov2_checkpoint(tmp_path / "garbage.pth")


def test_non_dinov2_state_dicts_name_the_missing_keys(tmp_path):
    sd = tiny_state_dict()
    del sd["blocks.0.attn.qkv.weight"]
    torch.save(sd, tmp_path / "no_qkv.pth")
    with pytest.raises(ValueError, match=r"missing .*blocks\.0\.attn\.qkv\.weight"):
        load_dinov2_checkpoint(tmp_path / "no_qkv.pth", num_heads=HEADS)
    sd = tiny_state_dict()
    del sd["blocks.2.ls2.gamma"]
    with pytest.raises(ValueError, match=r"missing 'blocks\.2\.ls2\.gamma'"):
        DinoV2.from_state_dict(sd, num_heads=HEADS)
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    with pytest.raises(ValueError, match="expected a state dict"):
        load_dinov2_checkpoint(tmp_path / "tensor.pth")
    with pytest.raises(ValueError, match="num_heads"):
        DinoV2.from_state_dict(tiny_state_dict())
