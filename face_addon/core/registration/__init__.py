"""Fitting FaceKit to the skin of a scan, as a library: the model arranged for fitting (`fit_model`), the skin
points (`skin_points`), correspondences (`correspondence`), the bounded linear step (`solver`), the ICP-style
alternation and the non-rigid refinement (`icp`), and the d_surface error (`metric`). The pipeline
`core/pipelines/register_head.py` orchestrates them; the method is described there and in docs/registration.md."""
