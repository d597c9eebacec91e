"""A minimal FlexBuffers reader for the custom_options of MediaPipe's custom TFLite ops (build time only).

MediaPipe's attention face mesh stores each custom op's attributes (crop size, landmark subset, ...) as a
FlexBuffers map. Only the value kinds those options use are read — maps, keys, strings, scalars and typed or
untyped vectors — and anything else raises, so an unexpected model fails loudly.

Layout (flatbuffers' flexbuffers.h): the buffer ends with the root's byte width and packed type; a packed type
is `kind << 2 | log2(byte width of the child)`. Scalars are stored inline in their parent's width; everything
else is an unsigned offset back from where it is stored. A vector's length sits one element width before its
first element; an untyped vector (and a map's values) is followed by one packed-type byte per element; a map
also stores, three and two widths before its values, the offset and width of its sorted key vector.
"""
from __future__ import annotations

import struct

_NULL, _INT, _UINT, _FLOAT, _KEY, _STRING = 0, 1, 2, 3, 4, 5
_INDIRECT = {6: "int", 7: "uint", 8: "float"}
_MAP, _VECTOR = 9, 10
_TYPED = {11: "int", 12: "uint", 13: "float"}
_VECTOR_KEY, _BOOL = 14, 26


def loads(buf: bytes) -> object:
    """The value FlexBuffers-encoded in `buf` as plain Python (dict, list, str, int, float, bool, None)."""
    if len(buf) < 3:
        raise ValueError("flexbuffer too short")
    width, packed = buf[-1], buf[-2]
    return _value(buf, len(buf) - 2 - width, width, packed)


def _number(buf: bytes, at: int, width: int, kind: str) -> int | float:
    if kind == "float":
        return struct.unpack_from({4: "<f", 8: "<d"}[width], buf, at)[0]
    return int.from_bytes(buf[at:at + width], "little", signed=kind == "int")


def _c_string(buf: bytes, at: int) -> str:
    return buf[at:buf.index(0, at)].decode()


def _value(buf: bytes, at: int, parent_width: int, packed: int) -> object:
    kind, width = packed >> 2, 1 << (packed & 3)
    if kind == _NULL:
        return None
    if kind in (_INT, _UINT, _FLOAT, _BOOL):
        name = {_INT: "int", _UINT: "uint", _FLOAT: "float", _BOOL: "uint"}[kind]
        value = _number(buf, at, parent_width, name)
        return bool(value) if kind == _BOOL else value
    target = at - _number(buf, at, parent_width, "uint")
    if kind == _KEY:
        return _c_string(buf, target)
    if kind == _STRING:
        return buf[target:target + _number(buf, target - width, width, "uint")].decode()
    if kind in _INDIRECT:
        return _number(buf, target, width, _INDIRECT[kind])
    n = _number(buf, target - width, width, "uint") if kind in (_MAP, _VECTOR, _VECTOR_KEY, *_TYPED) else None
    if kind in _TYPED:
        return [_number(buf, target + i * width, width, _TYPED[kind]) for i in range(n)]
    if kind == _VECTOR_KEY:
        return [_c_string(buf, target + i * width - _number(buf, target + i * width, width, "uint"))
                for i in range(n)]
    if kind in (_MAP, _VECTOR):
        values = [_value(buf, target + i * width, width, buf[target + n * width + i]) for i in range(n)]
        if kind == _VECTOR:
            return values
        keys_slot = target - 3 * width
        keys_at = keys_slot - _number(buf, keys_slot, width, "uint")
        keys_width = _number(buf, target - 2 * width, width, "uint")
        keys = [_c_string(buf, keys_at + i * keys_width - _number(buf, keys_at + i * keys_width, keys_width, "uint"))
                for i in range(n)]
        return dict(zip(keys, values))
    raise ValueError(f"flexbuffer value kind {kind} is not supported")
