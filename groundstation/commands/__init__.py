"""Command-line glue for each signal chain: options and runners for ``groundstation synth``."""
