"""The path from the spacecraft to Earth and back.

In: epochs and transmitted samples. Out: where the probe is (``geometry``: DE421 Earth and
Mars, the transfer orbit, range, range rate, light time, elevation), how much of the signal
arrives (``link_budget``, ICD §7) and what the channel adds (``channel``: phase noise, AWGN).
"""
