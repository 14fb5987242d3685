"""The formats of the links (ICD §3-§5), each defined once for both ends.

In: nothing. Out: the constants, layouts and frame types that the modulators in
:mod:`signals.modulators` write and the receivers in :mod:`groundstation.receivers` read:
``ppm`` (5 cm image periods, markers, header), ``tlm`` (telemetry word layout, channels and
calibrations), ``tlm_frames`` (frames packed to and from 32 bytes), ``uplink`` (command frames).
"""
