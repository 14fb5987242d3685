"""Recording and file I/O.

In: SigMF pairs on disk. Out: :class:`~groundstation.io.recording.Recording` objects that
yield chunks of ``complex64`` samples with what is known about them; atomic writers for
every output file (``files``).
"""
