#!/usr/bin/env python3
"""GNU Radio flowgraph: receive a stream from ``groundstation transmit`` into a file.

    zeromq.sub_source (connects to the PUB that transmit binds) -> head -> file_sink (cf32)

Run it with the Python that has GNU Radio (Debian: /usr/bin/python3), then decode the file
with the facts ``transmit`` printed::

    groundstation transmit --band 32cm-tlm --speed 10 --to zmq://127.0.0.1:5556 &
    /usr/bin/python3 tools/gnuradio/receive_stream.py zmq://127.0.0.1:5556 \\
        --samples 368004 -o received.cf32
    groundstation decode received.cf32 --format cf32 --samp-rate 8000 --band 32cm-tlm \\
        --bit-rate 128 -o decoded

It stops after ``--samples`` samples, or when nothing has arrived for ``--idle`` seconds.
"""

import argparse
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="zmq://HOST:PORT (a PUB to connect to)")
    parser.add_argument("--samples", type=int, required=True, help="samples to keep")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of silence to stop")
    parser.add_argument("-o", "--output", required=True, help="cf32 file to write")
    args = parser.parse_args()

    from gnuradio import blocks, gr, zeromq

    host_port = args.source.split("://", 1)[1]
    tb = gr.top_block("receive_stream")
    source = zeromq.sub_source(gr.sizeof_gr_complex, 1, f"tcp://{host_port}", 100, False, -1)
    head = blocks.head(gr.sizeof_gr_complex, args.samples)
    sink = blocks.file_sink(gr.sizeof_gr_complex, args.output, False)
    sink.set_unbuffered(True)
    tb.connect(source, head, sink)
    tb.start()
    size, last = -1, time.monotonic()
    done = False
    while not done:
        time.sleep(0.1)
        now_size = os.path.getsize(args.output) if os.path.exists(args.output) else 0
        if now_size != size:
            size, last = now_size, time.monotonic()
        done = size >= 8 * args.samples or time.monotonic() - last > args.idle
    tb.stop()
    tb.wait()
    print(f"received {os.path.getsize(args.output) // 8} samples", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
