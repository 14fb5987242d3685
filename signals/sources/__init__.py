"""What the spacecraft has to send: image sources (test patterns and a procedural Mars).

In: sizes and options. Out: 6-bit grey images (``numpy`` arrays) for the PPM modulator.
"""
