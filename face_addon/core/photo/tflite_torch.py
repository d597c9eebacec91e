"""Run a converted TFLite op list (see `mediapipe_assets`) in torch, float32 on the CPU.

TFLite is NHWC; torch convolutions want NCHW. Every 4-D tensor is kept NCHW inside the executor and the ops
whose meaning depends on the axis order (PAD, CONCATENATION, RESHAPE, PRELU's alpha) translate their NHWC
arguments; inputs and outputs are NHWC, as the model defines them. TF 'SAME' padding puts the odd pixel
after (bottom/right), so stride-2 convolutions on even sizes are padded asymmetrically with F.pad. Ops whose
inputs are all constants (DEQUANTIZE of the float16 weights) are evaluated once, when the model is built.
The graphs are written for batch 1 and run a batch of crops: RESHAPE and STRIDED_SLICE keep the batch axis
whole. MediaPipe's custom ops (the attention mesh) are in `mp_custom_ops`.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from . import mp_custom_ops

_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}
_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "NONE": lambda x: x, "RELU": F.relu, "RELU6": lambda x: x.clamp(0, 6),
    "RELU_N1_TO_1": lambda x: x.clamp(-1, 1), "TANH": torch.tanh}


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF 'SAME' padding (before, after) of one spatial axis: the output has ceil(size / stride) pixels and
    the extra pixel, if any, is padded after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class TFLiteGraph:
    """A converted TFLite graph: `graph(x)` maps NHWC float32 inputs to the list of NHWC outputs."""

    def __init__(self, spec: dict, constants: dict[int, np.ndarray]) -> None:
        self.inputs: list[int] = spec["inputs"]
        self.outputs: list[int] = spec["outputs"]
        self.shapes = [tuple(t["shape"]) for t in spec["tensors"]]
        self.values = {i: _to_internal(torch.from_numpy(np.ascontiguousarray(a))) for i, a in constants.items()}
        self.ops = []
        for op in spec["ops"]:
            if all(i < 0 or i in self.values for i in op["inputs"]):
                self._run(op, self.values)  # constant folding
            else:
                self.ops.append(op)
        self._prepare_weights()

    def _prepare_weights(self) -> None:
        """Turn TFLite filter layouts into torch's once: CONV_2D [O, kh, kw, I] and DEPTHWISE [1, kh, kw, C·m]
        both become [O, I/groups, kh, kw]; PRELU alphas become broadcastable against NCHW."""
        self.weights: dict[int, torch.Tensor] = {}
        for op in self.ops:
            name, inputs = op["op"], op["inputs"]
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                w = self.values[inputs[1]]  # stored internal: 4-D constants are NCHW = [O, I, kh, kw] already
                if name == "DEPTHWISE_CONV_2D":
                    w = w.permute(1, 0, 2, 3)  # [1, C·m, kh, kw] -> [C·m, 1, kh, kw]
                self.weights[op["outputs"][0]] = w.contiguous()
            elif name == "PRELU":
                alpha = self.values[inputs[1]]
                if alpha.dim() == 3:  # (h|1, w|1, C) -> (C, h|1, w|1)
                    alpha = alpha.permute(2, 0, 1)
                self.weights[op["outputs"][0]] = alpha.contiguous()

    @torch.inference_mode()
    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        env = dict(self.values)
        for idx, x in zip(self.inputs, inputs):
            if tuple(x.shape[1:]) != self.shapes[idx][1:]:
                raise ValueError(f"input shape {tuple(x.shape)} does not match the model's {self.shapes[idx]}")
            env[idx] = _to_internal(x.float())
        for op in self.ops:
            self._run(op, env)
        return [_to_external(env[i]) for i in self.outputs]

    def _run(self, op: dict, env: dict[int, torch.Tensor]) -> None:
        name, opt = op["op"], op["options"]
        x = [env[i] if i >= 0 else None for i in op["inputs"]]
        out_idx = op["outputs"][0]
        if name == "DEQUANTIZE":
            y = x[0].float()
        elif name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = self.weights[out_idx]
            sh, sw = opt["stride"]
            dh, dw = opt["dilation"]
            groups = x[0].shape[1] if name == "DEPTHWISE_CONV_2D" else 1
            inp, pad = x[0], (0, 0)
            if opt["padding"] == "SAME":
                ph = same_padding(inp.shape[2], w.shape[2], sh, dh)
                pw = same_padding(inp.shape[3], w.shape[3], sw, dw)
                if ph[0] == ph[1] and pw[0] == pw[1]:
                    pad = (ph[0], pw[0])
                else:
                    inp = F.pad(inp, (*pw, *ph))
            y = F.conv2d(inp, w, x[2], (sh, sw), pad, (dh, dw), groups)
            y = _ACTIVATIONS[opt["activation"]](y)
        elif name == "MAX_POOL_2D":
            (kh, kw), (sh, sw), inp = opt["filter"], opt["stride"], x[0]
            if opt["padding"] == "SAME":  # padded pixels never win the max
                ph = same_padding(inp.shape[2], kh, sh)
                pw = same_padding(inp.shape[3], kw, sw)
                inp = F.pad(inp, (*pw, *ph), value=float("-inf"))
            y = _ACTIVATIONS[opt["activation"]](F.max_pool2d(inp, (kh, kw), (sh, sw)))
        elif name in ("ADD", "MUL"):
            if x[0].dim() != x[1].dim() and x[1].numel() > 1:
                raise ValueError(f"{name} broadcasting a {x[1].dim()}-D tensor is not supported")
            y = _ACTIVATIONS[opt["activation"]](x[0] + x[1] if name == "ADD" else x[0] * x[1])
        elif name == "RELU":
            y = F.relu(x[0])
        elif name == "PRELU":
            alpha = self.weights[out_idx]
            y = torch.where(x[0] >= 0, x[0], x[0] * alpha)
        elif name == "PAD":
            pads = x[1].tolist()
            if x[0].dim() == 4:
                pads = [pads[0], pads[3], pads[1], pads[2]]  # NHWC -> NCHW
            y = F.pad(x[0], [p for pair in reversed(pads) for p in pair])
        elif name == "RESHAPE":
            shape = opt.get("new_shape") or x[1].tolist()
            y = _to_internal(_to_external(x[0]).reshape(x[0].shape[0], *shape[1:]))
        elif name == "STRIDED_SLICE":
            begin, end, strides = (t.tolist() for t in x[1:4])
            if begin[0] != 0:
                raise ValueError("STRIDED_SLICE along the batch axis is not supported")
            y = _to_internal(_to_external(x[0])[(slice(None), *map(slice, begin[1:], end[1:], strides[1:]))])
        elif name == "Landmarks2TransformMatrix":
            y = mp_custom_ops.landmarks_to_transform_matrix(x[0], opt)
        elif name == "TransformTensorBilinear":
            y = mp_custom_ops.transform_tensor_bilinear(x[0], x[1], opt)
        elif name == "TransformLandmarks":
            y = mp_custom_ops.transform_landmarks(x[0], x[1])
        elif name == "CONCATENATION":
            axis = opt["axis"] % x[0].dim()
            if x[0].dim() == 4:
                axis = _NHWC_TO_NCHW_AXIS[axis]
            y = _ACTIVATIONS[opt["activation"]](torch.cat(x, axis))
        else:
            raise ValueError(f"op {name} is not supported")
        env[out_idx] = y


def _to_internal(t: torch.Tensor) -> torch.Tensor:
    return t.permute(0, 3, 1, 2) if t.dim() == 4 else t


def _to_external(t: torch.Tensor) -> torch.Tensor:
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t
