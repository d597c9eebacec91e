"""The layer rules of face_addon (docs/architecture.md), checked by reading the source, not by importing it.

Shared by tests/unit/test_layers.py (fails on a new violation) and tests/bench/bench_architecture.py (counts
them), so the rule is written once. Reading with `ast` sees every import, also the lazy ones inside functions,
and needs neither bpy nor torch.

Layers, decided from the path alone:
  core      face_addon/core/**
  blender   face_addon/blender/**
  synth     face_addon/synth/**
  train     face_addon/train/**
  cli       face_addon/cli/** (one module per command) and face_addon/__main__.py
  entry     face_addon/__init__.py, the composition root: register() hands the CLI entry to blender.registration
Allowed imports of our own modules (a layer may always import itself):
  core <- nothing of ours; blender <- core; synth <- blender, core; train <- core; cli <- all; entry <- blender, cli.
  So synth is imported only by cli (and itself), and nothing but cli and entry imports cli.
Third-party: core and train never import Blender's modules (bpy, mathutils, bmesh, gpu, ...).
Operators (blender/operators/*.py) never import another operator module; the package __init__ lists them all.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "face_addon"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
BLENDER_MODULES = frozenset({"bpy", "mathutils", "bmesh", "gpu", "gpu_extras", "bpy_extras", "bl_math", "aud",
                             "freestyle", "idprop", "imbuf", "blf", "bgl"})
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "blender": frozenset({"blender", "core"}),
    "synth": frozenset({"synth", "blender", "core"}),
    "train": frozenset({"train", "core"}),
    "cli": frozenset({"cli", "blender", "core", "synth", "train", "entry"}),
    "entry": frozenset({"entry", "blender", "cli"}),
}
NO_BLENDER = frozenset({"core", "train"})
OPERATORS = f"{PACKAGE}.blender.operators"


@dataclass(frozen=True)
class Violation:
    """One forbidden import: `module` (dotted) imports `target` at `line`; `rule` says which rule it breaks."""

    module: str
    line: int
    target: str
    rule: str

    def key(self) -> tuple[str, str]:
        """(importer, imported): what an allowlist names, stable when lines move."""
        return self.module, self.target

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target} ({self.rule})"


def module_name(path: Path, root: Path = ROOT) -> str:
    """face_addon/cli/main.py -> face_addon.cli.main; a package __init__ is the package itself."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """The layer of one of our dotted module names (see the module docstring for the rule)."""
    parts = module.split(".")
    if parts == [PACKAGE]:
        return "entry"
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def iter_modules(root: Path = ROOT) -> list[tuple[str, Path]]:
    """Every module of the package as (dotted name, path), sorted."""
    return sorted((module_name(p, root), p) for p in root.rglob("*.py"))


def _resolve(module: str, is_package: bool, node: ast.ImportFrom, known: set[str]) -> list[str]:
    """Absolute names a `from ... import ...` pulls in; `from .pkg import mod` counts as the module pkg.mod."""
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        stem = ".".join(base + ([node.module] if node.module else []))
    else:
        stem = node.module or ""
    names = [f"{stem}.{a.name}" for a in node.names if f"{stem}.{a.name}" in known]
    return names or [stem]


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, at any depth (lazy imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, name) for name in _resolve(module, is_package, node, known)]
    return sorted(found)


def _check(module: str, target: str) -> str | None:
    """Why `module` may not import `target`, or None when it may."""
    layer = layer_of(module)
    top = target.split(".")[0]
    if top != PACKAGE:
        return f"{layer} imports Blender" if layer in NO_BLENDER and top in BLENDER_MODULES else None
    if target == PACKAGE:
        return None  # the package root only holds the version and register()
    to = layer_of(target)
    if to not in ALLOWED[layer]:
        return f"{layer} -> {to}"
    if (module.startswith(OPERATORS + ".") and target.startswith(OPERATORS + ".") and target != module):
        return "operator -> operator"
    return None


def violations(root: Path = ROOT) -> list[Violation]:
    """Every forbidden import in the package under `root`, in module order."""
    modules = iter_modules(root)
    known = {name for name, _ in modules}
    found = []
    for name, path in modules:
        for line, target in imports_of(name, path, known):
            rule = _check(name, target)
            if rule:
                found.append(Violation(name, line, target, rule))
    return found


def layer_counts(root: Path = ROOT) -> dict[str, int]:
    """How many modules each layer holds (the test checks that every layer is populated)."""
    counts: dict[str, int] = {}
    for name, _ in iter_modules(root):
        counts[layer_of(name)] = counts.get(layer_of(name), 0) + 1
    return counts
