"""The emulated spacecraft: its state over the flight and how it obeys commands.

In: an epoch and received uplink samples. Out: every telemetry channel's value
(``flight``, with the space around it in ``environment``), the commands it decoded
(``command_receiver``), its command state and the transmissions it then makes (``craft``),
the images it takes (``camera``) and those transmissions as samples (``downlinks``, one
band from its options; ``session_downlinks``, one band of a session).
"""
