"""Which weights file runs: where a model file is found, and which model a capability picks for its input.

    path = resolve("landmarks.pt", models_dir)          # the user's folder wins, else the shipped file
    choice = skin_model(has_colors=True, has_views=True)  # SkinChoice(path=…/skin_p2p.pt, uses_views=True)

Written once here so the operators, the pipelines and the command line cannot disagree: before, the Segment
Skin operator decided twice (loading a model only to read its feature list), the skin pipeline decided again and
the CLI had a fourth rule; three operators held private copies of the model-folder override, and Face Edit and
the landmark model inside Register Head ignored it (issue 20).

The override is a folder (the 'Model Overrides' preference): a file of the same name there replaces the shipped
one, anything it lacks comes from `face_addon/models/`. A file found nowhere is one WeightsError naming both
places, never a FileNotFoundError deep inside a loader.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .capabilities import MODELS_DIR
from .errors import WeightsError

SKIN_IMAGE_MODEL = "skin_p2p.pt"     # lifted image features + σ30 + HKS + colour: Pixels2Points
SKIN_COLOR_MODEL = "skin_3d.pt"      # σ30 + HKS + colour: the paper's best 3D-only baseline
SKIN_GEOMETRY_MODEL = "skin_geom.pt"  # σ30 + HKS: for scans without colours


def resolve(name: str, overrides: Path | str | None = None) -> Path:
    """The weights file `name` (e.g. "skin_3d.pt"): `overrides/name` when that folder holds it, else the shipped
    file; WeightsError when neither exists. An empty `overrides` ("" from an unset preference) means none."""
    if overrides:
        candidate = Path(overrides) / name
        if candidate.is_file():
            return candidate
    shipped = MODELS_DIR / name
    if shipped.is_file():
        return shipped
    where = f"in the model folder {overrides} nor " if overrides else ""
    raise WeightsError(f"model file {name} was found neither {where}among the shipped models ({MODELS_DIR}): "
                       "reinstall the add-on or put the file in the Model Overrides folder (Preferences)")


def available(name: str, overrides: Path | str | None = None) -> bool:
    """Whether `resolve(name, overrides)` finds a file."""
    if overrides and (Path(overrides) / name).is_file():
        return True
    return (MODELS_DIR / name).is_file()


@dataclass(frozen=True)
class SkinChoice:
    """The skin model for one scan, and whether it needs views (so a caller renders them only when it does)."""

    path: Path
    uses_views: bool
    warnings: tuple[str, ...] = ()


def skin_model(has_colors: bool, has_views: bool, overrides: Path | str | None = None,
               weights: Path | str | None = None) -> SkinChoice:
    """Segment Skin's model: `weights` when given (a user's file: its own feature list says whether it reads
    views); else skin_p2p when there are views and colours (an untextured scan with views counts as coloured: the
    pipeline reads it in a neutral skin tone), skin_3d with colours, skin_geom otherwise; each step down says why
    in `warnings`."""
    if weights:
        from .pipelines.segment_skin import IMAGE_FEATURES, load_skin_model  # lazy: the pipeline imports this module

        meta = load_skin_model(weights)[1]  # cached per file version: the pipeline's own load costs nothing more
        return SkinChoice(Path(weights), bool(set(meta["features"]) & set(IMAGE_FEATURES)))
    if has_views and has_colors and available(SKIN_IMAGE_MODEL, overrides):
        return SkinChoice(resolve(SKIN_IMAGE_MODEL, overrides), True)
    warnings = []
    if has_views:
        warnings.append("the views were not used: the image skin model needs vertex colours too" if not has_colors
                        else f"{SKIN_IMAGE_MODEL} is missing: the 3D-only skin model ran")
    if not has_colors:
        warnings.append("the scan has no vertex colours: the geometry-only skin model ran (less accurate, "
                        "see docs/skin.md)")
        return SkinChoice(resolve(SKIN_GEOMETRY_MODEL, overrides), False, tuple(warnings))
    if not available(SKIN_COLOR_MODEL, overrides):
        warnings.append(f"{SKIN_COLOR_MODEL} is missing: the geometry-only skin model ran, colours unused")
        return SkinChoice(resolve(SKIN_GEOMETRY_MODEL, overrides), False, tuple(warnings))
    return SkinChoice(resolve(SKIN_COLOR_MODEL, overrides), False, tuple(warnings))
