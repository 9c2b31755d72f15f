"""A mixture's member networks as trees of their own, to analyse or rank each alone."""

from __future__ import annotations

from advisor.model.architecture import Architecture


def member_trees(architecture: Architecture) -> list[Architecture]:
    """Return each member of ``architecture``'s mixture as a tree: the main network first.

    A member keeps the mixture's layers, M and head, with its own geometry and widths, so its
    figures are those a mixture's ``members`` report for it (docs/FORMATS.md §3).
    """
    mixture = architecture.mixture
    assert mixture is not None, "a mixture"
    own = [(architecture.geometry, architecture.widths)]
    trees = []
    for geometry, widths in own + [(m.geometry, m.channels) for m in mixture.members]:
        layers = tuple(
            layer.model_copy(update={"channels": width})
            for layer, width in zip(architecture.layers, widths, strict=True)
        )
        trees.append(
            architecture.model_copy(
                update={"geometry": geometry, "layers": layers, "mixture": None}
            )
        )
    return trees
