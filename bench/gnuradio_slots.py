"""A bare PPM slot detector as a GNU Radio flowgraph, the peer the decode is timed against.

Run by the system Python that has Debian's ``gnuradio``, in its own process::

    /usr/bin/python3 bench/gnuradio_slots.py FILE.sigmf-data FS_HZ

``file_source → complex_to_mag_squared → moving_average_ff (one chip) → keep_one_in_n
(one value per chip) → stream_to_vector (one period) → argmax_fs``: the energy of every
chip and the largest of each period, with the timing known and nothing else (no
acquisition, no tracking, no carrier, no header, no image). It reads every sample once,
as the decode does.
"""

from __future__ import annotations

import sys


def main(path: str, fs_hz: float) -> None:
    from gnuradio import blocks, gr

    chip = max(1, round(fs_hz / 45_000.0))  # samples per chip, rounded
    top = gr.top_block()
    source = blocks.file_source(gr.sizeof_gr_complex, path, False)
    power = blocks.complex_to_mag_squared(1)
    chip_sum = blocks.moving_average_ff(chip, 1.0, 4000, 1)
    per_chip = blocks.keep_one_in_n(gr.sizeof_float, chip)
    period = blocks.stream_to_vector(gr.sizeof_float, 500)
    argmax = blocks.argmax_fs(500)
    top.connect(source, power, chip_sum, per_chip, period, argmax)
    top.connect((argmax, 0), blocks.null_sink(gr.sizeof_short))
    top.connect((argmax, 1), blocks.null_sink(gr.sizeof_short))
    top.run()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
