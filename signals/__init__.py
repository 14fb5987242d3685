"""The synthetic Mars 1 spacecraft: what it transmits and the path the signal travels.

Modules are named for the stage they model: image sources, modulators, the flight's
state model, the geometry and the link budget. Nothing here imports ``groundstation``.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
