"""DINOv2 ViT that loads a checkpoint FILE the user already has, and the frozen image backbone of Segment Skin.

Pixels2Points lifts features of a frozen DINOv2 ViT onto scan vertices. DINOv2 weights cannot ship with the add-on
and nothing downloads at run time, so this module rebuilds the architecture from the state dict's key names and
shapes: the official facebookresearch/dinov2 ``dinov2_vit{s,b,l,g}14[_reg4]_pretrain.pth`` files (register tokens,
chunked blocks and the SwiGLU ViT-g included) load key for key, as do training checkpoints that wrap them.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LN_EPS = 1e-6
HEAD_DIM = 64  # every official DINOv2 ViT (S/B/L/g) uses 64 channels per attention head
_ARCH_LETTER = {384: "s", 768: "b", 1024: "l", 1536: "g"}
_GLOBAL_KEYS = ("cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight",
                "norm.bias")
_OPTIONAL_KEYS = {"mask_token"}  # training-time masking only; absent from some exported checkpoints
_WRAPPER_KEYS = ("teacher", "model", "state_dict")  # the EMA teacher is the network DINOv2 evaluates
_CHUNKED_BLOCK = re.compile(r"^blocks\.\d+\.(\d+)\.")
_BLOCK_ID = re.compile(r"^blocks\.(\d+)\.")


class Attention(nn.Module):
    """Multi-head self-attention with one fused qkv projection, laid out (3, heads, head_dim) like DINOv2."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    """GELU feed-forward of ViT-S/B/L."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class SwiGLU(nn.Module):
    """Gated SiLU feed-forward of ViT-g: w12 holds the value and gate projections stacked."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


class LayerScale(nn.Module):
    """Per-channel residual-branch scale (key ``gamma``)."""

    def __init__(self, dim: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gamma


class Block(nn.Module):
    """Pre-norm transformer block: x + ls1(attn(norm1 x)), then x + ls2(mlp(norm2 x))."""

    def __init__(self, dim: int, num_heads: int, mlp_hidden: int, swiglu: bool, layerscale: bool):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim) if layerscale else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = (SwiGLU if swiglu else Mlp)(dim, mlp_hidden)
        self.ls2 = LayerScale(dim) if layerscale else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


def interpolate_pos_embed(pos_embed: Tensor, grid: tuple[int, int], antialias: bool = False,
                          offset: float = 0.1) -> Tensor:
    """Resample the (1, 1+M*M, D) table to a (rows, cols) patch grid with bicubic interpolation, as DINOv2 does.

    ``offset`` > 0 reproduces the original release, which passed a scale factor of (n + offset) / M instead of an
    output size (the features it was evaluated with depend on that); the register models use offset 0 and
    antialiasing. The training grid itself is returned unchanged.
    """
    n = pos_embed.shape[1] - 1
    side = math.isqrt(n)
    if grid == (side, side):
        return pos_embed
    dim = pos_embed.shape[-1]
    table = pos_embed[:, 1:].float().reshape(1, side, side, dim).permute(0, 3, 1, 2)
    size_or_scale = ({"scale_factor": tuple((g + offset) / side for g in grid)} if offset
                     else {"size": grid})
    table = F.interpolate(table, mode="bicubic", antialias=antialias, **size_or_scale)
    table = table.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], dim)
    return torch.cat((pos_embed[:, :1].float(), table), dim=1).to(pos_embed.dtype)


class DinoV2(nn.Module):
    """DINOv2 vision transformer whose parameter names and shapes are those of the official checkpoints.

    Tokens are [cls, registers..., patches]; the position table covers cls and the patches of a square
    ``grid_size`` training grid and is interpolated to other inputs.
    """

    def __init__(self, embed_dim: int, depth: int, num_heads: int, patch_size: int = 14, grid_size: int = 37,
                 mlp_hidden: int | None = None, swiglu: bool = False, num_registers: int = 0,
                 layerscale: bool = True, interpolate_antialias: bool = False, interpolate_offset: float = 0.1):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.config = dict(embed_dim=embed_dim, depth=depth, num_heads=num_heads, patch_size=patch_size,
                           grid_size=grid_size, mlp_hidden=mlp_hidden or 4 * embed_dim, swiglu=swiglu,
                           num_registers=num_registers, layerscale=layerscale,
                           interpolate_antialias=interpolate_antialias, interpolate_offset=interpolate_offset)
        self.embed_dim, self.depth, self.patch_size, self.num_registers = embed_dim, depth, patch_size, num_registers
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, embed_dim, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid_size * grid_size, embed_dim))
        if num_registers:
            self.register_tokens = nn.Parameter(torch.zeros(1, num_registers, embed_dim))
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))  # unused at inference; mirrors the checkpoint
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, self.config["mlp_hidden"], swiglu, layerscale)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=LN_EPS)

    @property
    def arch_name(self) -> str:
        """Official model name (``dinov2_vits14``, ``dinov2_vitl14_reg4``…), or a descriptive one for others."""
        letter = _ARCH_LETTER.get(self.embed_dim)
        name = (f"dinov2_vit{letter}{self.patch_size}" if letter
                else f"dinov2_d{self.embed_dim}x{self.depth}_p{self.patch_size}")
        return name + (f"_reg{self.num_registers}" if self.num_registers else "")

    def prepare_tokens(self, images: Tensor) -> Tensor:
        """Normalised (B, 3, H, W) images, H and W multiples of the patch size → (B, 1+R+h*w, D) tokens."""
        h, w = images.shape[-2:]
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(f"image size {h}x{w} is not a multiple of the patch size {self.patch_size}")
        patches = self.patch_embed.proj(images).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(len(images), -1, -1), patches), dim=1)
        cfg = self.config
        x = x + interpolate_pos_embed(self.pos_embed, (h // self.patch_size, w // self.patch_size),
                                      cfg["interpolate_antialias"], cfg["interpolate_offset"])
        if not self.num_registers:
            return x
        return torch.cat((x[:, :1], self.register_tokens.expand(len(images), -1, -1), x[:, 1:]), dim=1)

    def get_intermediate_layers(self, images: Tensor, n: int = 1) -> list[Tensor]:
        """Patch tokens after each of the last ``n`` blocks, passed through the final norm, as (B, D, h, w) maps."""
        if not 1 <= n <= self.depth:
            raise ValueError(f"n must be in 1..{self.depth} (the ViT's depth), got {n}")
        rows, cols = images.shape[-2] // self.patch_size, images.shape[-1] // self.patch_size
        x, outputs = self.prepare_tokens(images), []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i >= self.depth - n:
                patches = self.norm(x)[:, 1 + self.num_registers:]
                outputs.append(patches.transpose(1, 2).reshape(len(images), -1, rows, cols))
        return outputs

    def forward(self, images: Tensor) -> Tensor:
        """Final-layer patch features (B, D, h, w)."""
        return self.get_intermediate_layers(images, 1)[0]

    @classmethod
    def from_state_dict(cls, state_dict: dict[str, Tensor], num_heads: int | None = None) -> DinoV2:
        """Build the ViT described by an official-format state dict (unwrapped) and load it.

        Width, depth, patch size, training grid, registers, feed-forward type and size, and layer scale are read
        from the shapes; the head count is not stored, so it defaults to width / 64 like every DINOv2 model.
        """
        sd = _unchunk_blocks(state_dict)
        config = _infer_config(sd)
        dim = config["embed_dim"]
        if num_heads is None:
            if dim % HEAD_DIM:
                raise ValueError(f"embed_dim {dim} is not a multiple of {HEAD_DIM}; pass num_heads explicitly")
            num_heads = dim // HEAD_DIM
        model = cls(num_heads=num_heads, **config)
        expected = model.state_dict().keys()
        missing = sorted(expected - sd.keys() - _OPTIONAL_KEYS)
        if missing:
            raise ValueError(f"not a complete DINOv2 ViT state dict: missing {_listing(missing)}")
        try:
            model.load_state_dict({k: v for k, v in sd.items() if k in expected}, strict=False)
        except RuntimeError as err:
            raise ValueError(f"DINOv2 state dict has inconsistent shapes: {err}") from err
        return model.eval()


def _listing(keys: list[str], limit: int = 8) -> str:
    """Name the first few keys, so an error stays readable for a 40-block model."""
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(repr(k) for k in keys[:limit]) + more


def _unchunk_blocks(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    """``blocks.<chunk>.<i>.…`` → ``blocks.<i>.…``: FSDP block chunks keep the global block index inside."""
    return {_CHUNKED_BLOCK.sub(r"blocks.\1.", k): v for k, v in sd.items()}


def _infer_config(sd: dict[str, Tensor]) -> dict:
    """Architecture hyper-parameters from key names and tensor shapes."""
    needed = ["pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight"]
    missing = [k for k in needed if k not in sd]
    swiglu = "blocks.0.mlp.w12.weight" in sd
    if not swiglu and "blocks.0.mlp.fc1.weight" not in sd:
        missing.append("blocks.0.mlp.fc1.weight (GELU MLP) or blocks.0.mlp.w12.weight (SwiGLU)")
    if missing:
        raise ValueError(f"not a DINOv2 ViT state dict: missing {_listing(missing)}")
    proj = sd["patch_embed.proj.weight"]
    if proj.dim() != 4 or proj.shape[1] != 3 or proj.shape[2] != proj.shape[3]:
        raise ValueError(f"patch_embed.proj.weight must be (D, 3, P, P), got {tuple(proj.shape)}")
    n_patches = sd["pos_embed"].shape[1] - 1
    grid_size = math.isqrt(n_patches)
    if grid_size * grid_size != n_patches:
        raise ValueError(f"pos_embed covers {n_patches} patches, not a square training grid")
    hidden = sd["blocks.0.mlp.w12.weight"].shape[0] // 2 if swiglu else sd["blocks.0.mlp.fc1.weight"].shape[0]
    registers = sd["register_tokens"].shape[1] if "register_tokens" in sd else 0
    block_ids = {int(m.group(1)) for m in map(_BLOCK_ID.match, sd) if m}
    return dict(embed_dim=proj.shape[0], depth=max(block_ids) + 1, patch_size=proj.shape[-1],
                grid_size=grid_size, mlp_hidden=hidden, swiglu=swiglu, num_registers=registers,
                layerscale="blocks.0.ls1.gamma" in sd,
                # the register releases resample positions by output size with antialiasing, the first ones not
                interpolate_antialias=registers > 0, interpolate_offset=0.0 if registers else 0.1)


def _unwrap(obj: object) -> dict[str, Tensor]:
    """Dig the backbone's state dict out of a checkpoint: nested ``teacher``/``model``/``state_dict`` dicts,
    then a key prefix such as ``backbone.``, ``module.`` or ``teacher.backbone.`` (teacher preferred)."""
    while isinstance(obj, dict) and not any(str(k).endswith("cls_token") for k in obj):
        inner = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict):
        raise ValueError(f"expected a state dict (a dict of tensors), found {type(obj).__name__}")
    sd = {str(k): v for k, v in obj.items() if isinstance(v, Tensor)}
    prefixes = sorted({k[: -len("cls_token")] for k in sd if k == "cls_token" or k.endswith(".cls_token")},
                      key=lambda p: (p != "", "teacher" not in p, len(p)))
    if not prefixes or not prefixes[0]:
        return sd
    return {k[len(prefixes[0]):]: v for k, v in sd.items() if k.startswith(prefixes[0])}


def load_dinov2_checkpoint(path: str | Path, num_heads: int | None = None) -> DinoV2:
    """Read a DINOv2 checkpoint file (tensors only, never arbitrary pickled code) into an eval-mode ``DinoV2``.

    Raises ``ValueError`` saying what is wrong for a missing or unreadable file or a non-DINOv2 state dict.
    """
    from ..weights import read_tensor_file

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"DINOv2 checkpoint not found: {path}")
    obj = read_tensor_file(path)  # WeightsError (a ValueError) for a damaged file
    try:
        return DinoV2.from_state_dict(_unwrap(obj), num_heads=num_heads)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


class DinoV2Backbone(nn.Module):
    """Frozen DINOv2 as the Segment Skin image backbone: sRGB (B, 3, H, W) in [0, 1] → (B, C, H, W) features.

    Like Pixels2Points, it concatenates several internal layers (the last ``n_layers``), each L2-normalised per
    token so no layer dominates by magnitude; C = n_layers * D. The image is resampled so the long side spans
    ``patch_grid`` patches: the default 16 maps a 128-px render to a 16x16 grid (224 px, DINOv2's training crop
    size), i.e. one feature per 8 px; None keeps the input size, rounded to multiples of 14. The patch map is
    upsampled bilinearly back to (H, W) (so per-pixel vectors are blends of unit vectors, not unit vectors).
    """

    def __init__(self, vit: DinoV2, n_layers: int = 4, patch_grid: int | None = 16):
        super().__init__()
        if not 1 <= n_layers <= vit.depth:
            raise ValueError(f"n_layers must be in 1..{vit.depth} (the ViT's depth), got {n_layers}")
        if patch_grid is not None and patch_grid < 1:
            raise ValueError(f"patch_grid must be a positive number of patches or None, got {patch_grid}")
        self.vit = vit.eval().requires_grad_(False)
        self.n_layers, self.patch_grid = n_layers, patch_grid
        self.name: str = vit.arch_name
        self.out_channels: int = n_layers * vit.embed_dim
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_checkpoint(cls, path: str | Path, n_layers: int = 4, patch_grid: int | None = 16,
                        num_heads: int | None = None) -> DinoV2Backbone:
        """Backbone over a user-supplied DINOv2 checkpoint file (see ``load_dinov2_checkpoint``)."""
        return cls(load_dinov2_checkpoint(path, num_heads=num_heads), n_layers=n_layers, patch_grid=patch_grid)

    def train(self, mode: bool = True) -> DinoV2Backbone:
        """Keep the ViT in eval mode whatever the enclosing model does: it is frozen."""
        super().train(mode)
        self.vit.eval()
        return self

    def patch_grid_for(self, height: int, width: int) -> tuple[int, int]:
        """(rows, cols) of patches for an input size, preserving its aspect ratio."""
        if self.patch_grid is None:
            scale = 1.0 / self.vit.patch_size
        else:
            scale = self.patch_grid / max(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        height, width = images.shape[-2:]
        rows, cols = self.patch_grid_for(height, width)
        size = (rows * self.vit.patch_size, cols * self.vit.patch_size)
        x = (images.to(self.mean.dtype) - self.mean) / self.std
        if size != (height, width):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        layers = self.vit.get_intermediate_layers(x, self.n_layers)
        features = torch.cat([F.normalize(layer, dim=1) for layer in layers], dim=1)
        return F.interpolate(features, size=(height, width), mode="bilinear", align_corners=False)
