"""Validation experiments: do the advisor's picks train better? (docs/THEORY.md §12).

Two experiments from the papers, run with PyTorch on CPU, each followed by asking the advisor:

* :mod:`bench.validate.pooling_geometry` — [CS17] blob images, closedness vs symmetry, contiguous
  vs mirror pooling;
* :mod:`bench.validate.width_allocation` — [LYCS18] digits on a 64x64 canvas, local vs global,
  wide-base vs wide-tip channel profiles.

Data are generated (:mod:`~bench.validate.blobs`) or come from scikit-learn's bundled digits
(:mod:`~bench.validate.canvases`); nothing is downloaded. Results go to ``bench/validate/results``
and, through :mod:`~bench.validate.report`, to ``docs/VALIDATION.md``.
"""

__all__: list[str] = []
