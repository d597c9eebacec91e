"""`face reconstruct PHOTO --out OUT.obj [--method fit|regressor|pixel2mesh] [--no-prdl] [--face N] [--json OUT.json]`.

Photo -> FaceKit head as a mesh file (template topology, model space: metres, +Z up, the face looks along −Y),
or with `--method pixel2mesh` the free-form Pixel2Mesh-face mesh in the same space; and, optionally, a JSON with the coefficients, the photo's camera (OpenCV K, R, t: x_cam = R·x + t), score,
timings and warnings. Pure core code (no bpy objects), the same under `blender -b -c face` and
`python -m face_addon`.
"""
from __future__ import annotations

import argparse

from .args import MESH_OUTPUT_SUFFIXES, check_inputs, check_outputs, int_range
from .progress_display import add_quiet_option, stage_progress
from .summary import print_warnings, write_summary


def reconstruction_fields(rec, photo: str, face_index: int) -> dict:
    """The fields of `face reconstruct --json` (also what the docs describe); Pixel2Mesh results have no
    FaceKit coefficients. `models` names the weights files that ran, like the other commands' summaries (the
    parser only when its part masks went into the fit); `masks` says where those masks came from."""
    from ..core.facekit import load_facekit

    fk = load_facekit()
    coefficients = {} if rec.method == "pixel2mesh" else {
        "masks": rec.mask_source,
        "alpha_id": {n: float(v) for n, v in zip(fk.id_names, rec.alpha_id)},
        "alpha_exp": {n: float(v) for n, v in zip(fk.exp_names, rec.alpha_exp)}}
    return {
        "photo": photo, "face_index": face_index, "units": "m",  # the mesh and the camera's t
        "n_faces": int(rec.n_faces), "method": rec.method, "models": rec.models, "score": float(rec.score),
        "width": int(rec.width), "height": int(rec.height),
        "camera": {"K": rec.K.tolist(), "R": rec.rotation.tolist(), "t": rec.translation.tolist(),
                   "convention": "OpenCV: x_cam = R @ x_model + t, pixel centres at integers"},
        **coefficients,
        "timings_s": {k: float(v) for k, v in rec.timings.items()}, "warnings": list(rec.warnings),
    }


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    check_inputs((args.photo, "photo"))  # both checks before the imports below (torch: seconds)
    check_outputs([args.photo], [("--out", args.out, MESH_OUTPUT_SUFFIXES), ("--json", args.json, (".json",))])
    from ..core.atomic_write import atomic_outputs
    from ..core.facekit import load_facekit
    from ..core.mesh import Mesh
    from ..core.mesh_files import save_mesh
    from ..core.photo import PhotoError
    from ..core.pipelines.reconstruct_photo import reconstruct_photo

    try:
        with stage_progress(args) as progress:
            if args.method == "pixel2mesh":
                from ..core.pipelines.pixel2mesh_photo import reconstruct_pixel2mesh

                rec = reconstruct_pixel2mesh(args.photo, face_index=args.face, progress=progress)
            else:
                rec = reconstruct_photo(args.photo, method=args.method, use_prdl=not args.no_prdl,
                                        face_index=args.face, progress=progress)
    except PhotoError as exc:  # the pipeline's messages do not name the file
        raise PhotoError(f"{args.photo}: {exc}") from None
    faces = rec.faces if args.method == "pixel2mesh" else load_facekit().faces
    fields = reconstruction_fields(rec, str(args.photo), args.face) if args.json else None
    with atomic_outputs() as outs:  # mesh and JSON appear together or not at all
        save_mesh(Mesh(rec.vertices, faces), outs.path(args.out))
        if fields is not None:
            write_summary(outs.path(args.json), "photo_reconstruction", fields)
    print_warnings(rec.warnings)
    total = sum(rec.timings.values())
    print(f"face {args.face + 1} of {max(rec.n_faces, 1)} (score {rec.score:.2f}) reconstructed with {rec.method} in "
          f"{total:.1f} s -> {args.out}" + (f", {args.json}" if args.json else ""))
    return 0


def add_subcommands(subparsers) -> None:
    p = subparsers.add_parser("reconstruct", help="photo -> FaceKit head mesh (+ coefficients and camera as JSON)")
    p.add_argument("photo", help=".jpg/.png/.bmp/.tif/.webp photo with a face")
    p.add_argument("--out", required=True, help="output mesh (" + ", ".join(MESH_OUTPUT_SUFFIXES) + "), FaceKit "
                                                "topology, metres")
    p.add_argument("--method", choices=("fit", "regressor", "pixel2mesh"), default="fit",
                   help="fit: regressor + per-photo fitting (default); regressor: the regressor's estimate only; "
                        "pixel2mesh: Pixel2Mesh-face's free-form 8569-vertex mesh")
    p.add_argument("--no-prdl", action="store_true", help="fit without the part alignment term (PRDL)")
    p.add_argument("--face", type=int_range(0, 99), default=0,
                   help="which face: 0 = the largest (default), 1 the next, ... (0-99)")
    p.add_argument("--json", help="also write coefficients, camera (K, R, t), score, timings and warnings")
    add_quiet_option(p)
    p.set_defaults(func=_cmd_reconstruct)
