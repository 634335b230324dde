"""Graph errors: shown to the user without a traceback, like every DistillError."""

from distill.errors import DistillError


class GraphError(DistillError):
    """A graph store cannot be opened, written or queried as asked."""
