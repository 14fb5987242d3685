"""Errors raised by the spacecraft side.

Every error carries a one-line message meant for a person; the command line shows it
as it is and exits non-zero.
"""


class SignalsError(Exception):
    """Base class of every error raised by :mod:`signals`."""


class ConfigError(SignalsError):
    """A configuration value (band table, scenario, parameter) is missing or invalid."""


class GeometryError(ConfigError):
    """A time or an orbit problem the geometry model cannot answer."""


class SpacecraftError(SignalsError):
    """The spacecraft emulator was driven inconsistently (e.g. commands out of time order)."""


class ReceiverConfigError(SpacecraftError):
    """The spacecraft's command receiver cannot work on the samples it was given."""
