"""A minimal reader for TFLite flatbuffers: just the parts of `schema.fbs` that a float model needs.

Written here (about a hundred lines) instead of depending on the `tflite`/`flatbuffers` packages: it runs only at
build time, reads three files whose content the pinned wheel sha256 fixes, and every field it touches is listed
below, so an unexpected model fails loudly instead of being half understood.

Flatbuffer layout: a table starts with an int32 offset back to its vtable; the vtable lists uint16 offsets of
the table's fields (0 = absent, use the default). Offsets to sub-tables, vectors and strings are uint32,
relative to where they are stored. Vectors start with a uint32 length. A CUSTOM op (MediaPipe's, in the
attention mesh) is named by its OperatorCode's custom_code and checked against its version; its
custom_options are a FlexBuffers map (`mp_flexbuffer`).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from . import mp_flexbuffer

#: BuiltinOperator codes (schema.fbs) of the ops `tflite_torch` executes: all that the three models use
OP_NAMES = {0: "ADD", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 6: "DEQUANTIZE",
            17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 22: "RESHAPE", 34: "PAD", 45: "STRIDED_SLICE", 54: "PRELU"}
CUSTOM = 32
#: MediaPipe's custom ops (the attention mesh) by name -> the one version `mp_custom_ops` implements; an op's
#: name in the op list is its custom name, its options the decoded FlexBuffers map
CUSTOM_OPS = {"Landmarks2TransformMatrix": 2, "TransformTensorBilinear": 2, "TransformLandmarks": 2}
#: TensorType -> numpy dtype
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
PADDING = {0: "SAME", 1: "VALID"}
ACTIVATION = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH"}


class _Table:
    """One flatbuffer table: field `i` of the schema is `self.<kind>(i)`."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        n = (struct.unpack_from("<H", buf, vt)[0] - 4) // 2
        self._fields = struct.unpack_from(f"<{n}H", buf, vt + 4)

    def _at(self, i: int) -> int:
        return self.pos + self._fields[i] if i < len(self._fields) and self._fields[i] else 0

    def scalar(self, i: int, fmt: str, default: int | float = 0) -> int | float:
        at = self._at(i)
        return struct.unpack_from("<" + fmt, self.buf, at)[0] if at else default

    def _target(self, i: int) -> int:
        at = self._at(i)
        return at + struct.unpack_from("<I", self.buf, at)[0] if at else 0

    def table(self, i: int) -> _Table | None:
        at = self._target(i)
        return _Table(self.buf, at) if at else None

    def vector(self, i: int, fmt: str) -> tuple:
        at = self._target(i)
        if not at:
            return ()
        n = struct.unpack_from("<I", self.buf, at)[0]
        return struct.unpack_from(f"<{n}{fmt}", self.buf, at + 4)

    def bytes(self, i: int) -> bytes:
        at = self._target(i)
        if not at:
            return b""
        n = struct.unpack_from("<I", self.buf, at)[0]
        return self.buf[at + 4:at + 4 + n]

    def tables(self, i: int) -> list[_Table]:
        at = self._target(i)
        if not at:
            return []
        n = struct.unpack_from("<I", self.buf, at)[0]
        slots = [at + 4 + 4 * k for k in range(n)]
        return [_Table(self.buf, s + struct.unpack_from("<I", self.buf, s)[0]) for s in slots]


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: type
    data: np.ndarray | None  # constant contents (weights, shapes), None for activations


@dataclass
class Op:
    name: str
    inputs: tuple[int, ...]  # tensor indices, -1 = optional input left out
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def read_tflite(data: bytes) -> Graph:
    """Parse a single-subgraph float TFLite model; unknown ops or quantised tensors raise ValueError."""
    if data[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (file identifier is not TFL3)")
    model = _Table(data, struct.unpack_from("<I", data, 0)[0])
    codes = [(max(int(c.scalar(0, "b")), int(c.scalar(3, "i"))), c.bytes(1).decode(), int(c.scalar(2, "i", 1)))
             for c in model.tables(1)]
    buffers = [b.bytes(0) for b in model.tables(4)]
    subgraphs = model.tables(2)
    if len(subgraphs) != 1:
        raise ValueError(f"expected one subgraph, found {len(subgraphs)}")
    sg = subgraphs[0]
    tensors = []
    for t in sg.tables(0):
        kind = int(t.scalar(1, "b"))
        if kind not in DTYPES:
            raise ValueError(f"tensor type {kind} is not supported")
        quant = t.table(4)
        if quant is not None and quant.vector(2, "f"):  # scale present: a quantised tensor
            raise ValueError(f"quantised tensor {t.bytes(3).decode()} is not supported")
        shape = tuple(int(s) for s in t.vector(0, "i"))
        raw = buffers[int(t.scalar(2, "I"))]
        arr = np.frombuffer(raw, DTYPES[kind]).reshape(shape).copy() if raw else None
        tensors.append(Tensor(t.bytes(3).decode(), shape, DTYPES[kind], arr))
    ops = []
    for o in sg.tables(3):
        code, custom, version = codes[int(o.scalar(0, "I"))]
        if code == CUSTOM:
            if CUSTOM_OPS.get(custom) != version:
                raise ValueError(f"custom operator {custom!r} version {version} is not supported")
            raw = o.bytes(5)  # custom_options: a FlexBuffers map, or nothing
            ops.append(Op(custom, o.vector(1, "i"), o.vector(2, "i"), mp_flexbuffer.loads(raw) if raw else {}))
            continue
        if code not in OP_NAMES:
            raise ValueError(f"TFLite builtin operator {code} is not supported")
        name = OP_NAMES[code]
        ops.append(Op(name, o.vector(1, "i"), o.vector(2, "i"), _options(name, o.table(4))))
    return Graph(tensors, ops, sg.vector(1, "i"), sg.vector(2, "i"))


def _options(name: str, t: _Table | None) -> dict:
    """The builtin options of one op as plain JSON-able values (field numbers from schema.fbs)."""
    if t is None:
        return {}
    act = lambda i: ACTIVATION[int(t.scalar(i, "b"))]  # noqa: E731
    if name == "CONV_2D":
        return {"padding": PADDING[int(t.scalar(0, "b"))], "stride": [int(t.scalar(2, "i")), int(t.scalar(1, "i"))],
                "activation": act(3), "dilation": [int(t.scalar(5, "i", 1)), int(t.scalar(4, "i", 1))]}
    if name == "DEPTHWISE_CONV_2D":
        return {"padding": PADDING[int(t.scalar(0, "b"))], "stride": [int(t.scalar(2, "i")), int(t.scalar(1, "i"))],
                "multiplier": int(t.scalar(3, "i")), "activation": act(4),
                "dilation": [int(t.scalar(6, "i", 1)), int(t.scalar(5, "i", 1))]}
    if name == "MAX_POOL_2D":
        return {"padding": PADDING[int(t.scalar(0, "b"))], "stride": [int(t.scalar(2, "i")), int(t.scalar(1, "i"))],
                "filter": [int(t.scalar(4, "i")), int(t.scalar(3, "i"))], "activation": act(5)}
    if name in ("ADD", "MUL"):
        return {"activation": act(0)}
    if name == "STRIDED_SLICE":  # begin/end/ellipsis/new-axis/shrink masks: none is implemented
        if any(int(t.scalar(i, "i")) for i in range(5)):
            raise ValueError("STRIDED_SLICE with masks is not supported")
        return {}
    if name == "CONCATENATION":
        return {"axis": int(t.scalar(0, "i")), "activation": act(1)}
    if name == "RESHAPE":
        return {"new_shape": [int(s) for s in t.vector(0, "i")]}
    return {}
