"""The bare telemetry demodulation as a GNU Radio flowgraph, for a peer comparison.

Run by the system Python that has GNU Radio (a separate process; not the project's Python):

    /usr/bin/python3 bench/gnuradio_tlm_demod.py REC.sigmf-data FS_HZ BIT_RATE OUT.f32

file_source (cf32) -> pll_carriertracking_cc (±2.1 kHz) -> complex_to_imag -> multiply by a
1024 Hz sine (sig_source_f) -> integrate_ff over one bit -> file_sink (one float per bit).
It is the arithmetic a receiver cannot do without (carrier tracking, the subcarrier's mixer,
the bit integrator), with none of the acquisition, timing or frame logic: a floor for the
time a whole decode can take.
"""

import math
import sys

from gnuradio import analog, blocks, gr


def main() -> None:
    data_path, fs_hz, bit_rate, out_path = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
    samples_per_bit = round(fs_hz / float(bit_rate))
    tb = gr.top_block()
    source = blocks.file_source(gr.sizeof_gr_complex, data_path, False)
    max_w = 2 * math.pi * 2100.0 / fs_hz
    pll = analog.pll_carriertracking_cc(2 * math.pi * 2.0 / fs_hz, max_w, -max_w)
    imag = blocks.complex_to_imag()
    sine = analog.sig_source_f(fs_hz, analog.GR_SIN_WAVE, 1024.0, 1.0, 0.0)
    mixer = blocks.multiply_ff()
    integrate = blocks.integrate_ff(samples_per_bit)
    sink = blocks.file_sink(gr.sizeof_float, out_path, False)
    tb.connect(source, pll, imag, (mixer, 0))
    tb.connect(sine, (mixer, 1))
    tb.connect(mixer, integrate, sink)
    tb.run()


if __name__ == "__main__":
    main()
