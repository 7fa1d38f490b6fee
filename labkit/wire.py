"""The judge's wire format: values a check emits from the kernel, as plain JSON.

Graded checks never decide inside the student's kernel: each one *emits* the value it
received and the grader, outside the sandbox, compares it with the answer recorded from
the solution (see ``autograde.judge``). This module turns values into JSON and back:

* no pickle, no code: tensors are ``{"$tensor": {"dtype", "shape", "b64"}}`` of raw bytes,
  tuples and dicts are tagged, everything else must be a plain JSON value;
* types are kept exactly (``type(v) is int``, ``type(t) is torch.Tensor``): a subclass or an
  object with a forged ``__eq__`` becomes ``{"$unsupported": "module.Type"}``, which no check accepts;
* sizes are capped on both sides, so a submission cannot flood the grader.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import numpy as np
import torch

VERSION = 1
MIME = "application/vnd.labkit.check+json"
MAX_EMISSION_BYTES = 8 * 1024**2  # one check's value, encoded
MAX_ELEMENTS = 2_000_000  # elements of one decoded tensor
_MAX_DEPTH = 8

# dtypes that travel; anything else is sent as float64 with its real name kept
_DTYPES = {
    "float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32, "int16": torch.int16,
    "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


class WireError(ValueError):
    """An emitted value could not be decoded (malformed, too large, unknown dtype, ...)."""


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value of a type checks never accept (the type's qualified name)."""

    type_name: str

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def _type_name(value: object) -> str:
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


def encode(value: object, depth: int = 0) -> object:
    """A JSON-able form of ``value`` (tensors, numbers, strings, None, lists, tuples, dicts)."""
    if depth > _MAX_DEPTH:
        return {"$unsupported": "too deeply nested"}
    t = type(value)
    if value is None or t in (bool, int, str):
        return value
    if t is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if t is torch.Tensor:
        tensor = value.detach().to("cpu")
        name = _NAMES.get(tensor.dtype)
        data = tensor.to(torch.float32) if tensor.dtype == torch.bfloat16 else tensor
        if name is None:  # complex or exotic: compare as float64 of the real part
            name, data = str(tensor.dtype).replace("torch.", ""), tensor.real.to(torch.float64)
        raw = data.contiguous().numpy().tobytes()
        return {"$tensor": {"dtype": name, "shape": list(tensor.shape), "b64": base64.b64encode(raw).decode()}}
    if t in (list, tuple):
        items = [encode(v, depth + 1) for v in value]
        return items if t is list else {"$tuple": items}
    if t is dict:
        return {"$dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    return {"$unsupported": _type_name(value)}


def decode(obj: object, depth: int = 0) -> object:
    """The value :func:`encode` produced ``obj`` from; raises :class:`WireError` if malformed."""
    if depth > _MAX_DEPTH + 1:
        raise WireError("value nested too deeply")
    if obj is None or type(obj) in (bool, int, str, float):
        return obj
    if type(obj) is list:
        return [decode(v, depth + 1) for v in obj]
    if type(obj) is not dict or len(obj) != 1:
        raise WireError(f"malformed value of type {type(obj).__name__}")
    (tag, body), = obj.items()
    if tag == "$tuple" and type(body) is list:
        return tuple(decode(v, depth + 1) for v in body)
    if tag == "$dict" and type(body) is list:
        pairs = [decode(p, depth + 1) for p in body]
        if not all(type(p) is list and len(p) == 2 for p in pairs):
            raise WireError("malformed dict")
        try:
            return {k: v for k, v in pairs}
        except TypeError as err:
            raise WireError(f"malformed dict key: {err}") from None
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$unsupported" and type(body) is str:
        return Unsupported(body[:200])
    if tag == "$tensor" and type(body) is dict:
        return _decode_tensor(body)
    raise WireError(f"unknown tag {str(tag)[:40]!r}")


def _decode_tensor(body: dict) -> torch.Tensor:
    name, shape, b64 = body.get("dtype"), body.get("shape"), body.get("b64")
    if type(shape) is not list or not all(type(s) is int and s >= 0 for s in shape) or type(b64) is not str:
        raise WireError("malformed tensor")
    numel = math.prod(shape)
    if numel > MAX_ELEMENTS:
        raise WireError(f"tensor of {numel} elements is larger than the judge accepts ({MAX_ELEMENTS})")
    dtype = _DTYPES.get(name)
    wire_np = {torch.bfloat16: np.float32}.get(dtype) if dtype is not None else np.float64
    if dtype is not None and wire_np is None:
        wire_np = torch.empty(0, dtype=dtype).numpy().dtype
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        raise WireError("tensor data is not base64") from None
    if len(raw) != numel * np.dtype(wire_np).itemsize:
        raise WireError(f"tensor data has {len(raw)} bytes, shape {tuple(shape)} needs {numel * np.dtype(wire_np).itemsize}")
    tensor = torch.from_numpy(np.frombuffer(raw, dtype=wire_np).copy()).reshape(shape)
    if dtype is None:
        raise WireError(f"unsupported tensor dtype {str(name)[:40]!r}")
    return tensor.to(dtype)


def emission(kind: str, name: str, value: object, params: dict | None = None) -> dict:
    """The JSON document one check emits (capped: an oversized value is replaced by a note)."""
    doc = {"v": VERSION, "kind": kind, "name": str(name)[:300], "value": encode(value), "params": params or {}}
    if len(json.dumps(doc["value"])) > MAX_EMISSION_BYTES:
        doc["value"] = {"$unsupported": f"value larger than {MAX_EMISSION_BYTES // 1024**2} MiB"}
    return doc


def parse_emission(data: object) -> dict:
    """Validate one emitted document (as read from the kernel's output) and decode its value."""
    try:  # plain JSON types only (notebook readers hand out dict subclasses)
        text = data if type(data) is str else json.dumps(data)
        if len(text) > MAX_EMISSION_BYTES * 2:
            raise WireError("emission too large")
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError) as err:
        raise WireError(f"emission is not JSON: {str(err)[:100]}") from None
    if type(data) is not dict or data.get("v") != VERSION:
        raise WireError("emission of an unknown version")
    kind, name, params = data.get("kind"), data.get("name"), data.get("params", {})
    if type(kind) is not str or type(name) is not str or type(params) is not dict:
        raise WireError("emission without kind, name or params")
    return {"kind": kind, "name": name, "value": decode(data.get("value")), "params": params}
