"""Modulators: formatted content to complex baseband, streamed in chunks.

In: images, telemetry frames, commands, carrier plans. Out: ``complex64`` samples at
``fs_hz`` (ICD §2 sampling): ``ppm`` (5 cm impulse transmitter), ``tlm`` (PCM/PSK/PM),
``carrier`` (the coherent 8 cm carrier), ``uplink`` (the ground's metre-band FSK commands).
"""
