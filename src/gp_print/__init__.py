"""gp-print: the Guernsey Press layout engine.

The pipeline runs load → plan → render → assemble (→ site, proof); each stage is a module
of this package and passes small immutable records from `gp_print.model` to the next.
"""

__version__ = "0.1.0"
