"""The emulated spacecraft: its state over the flight and how it obeys commands.

In: an epoch and received uplink samples. Out: every telemetry channel's value
(``flight``), the commands it decoded and the transmissions it then makes (``craft``).
"""
