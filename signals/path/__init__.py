"""The path from the spacecraft to Earth and back.

In: epochs and transmitted samples. Out: where the probe is (``geometry``, built on
``ephemeris``: DE421 and times, ``injection``: the fitted burn, ``orbit``: the integrated
flight, and ``kepler``: two-body tools), how much of the signal arrives (``link_budget``,
ICD §7) and what the channel adds (``channel``, ``noise``: phase noise, AWGN);
``sputnik22``: the sister craft's parking orbit.
"""
