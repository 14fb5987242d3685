#!/usr/bin/env python3
"""GNU Radio flowgraph: play a recording's samples into a stream, as a radio would.

    file_source (cf32) -> throttle -> zeromq.pub_sink   (--to zmq://HOST:PORT, binds)
                                   -> network.udp_sink  (--to udp://HOST:PORT, 1472-byte
                                                         datagrams, an empty one at the end)

Run it with the Python that has GNU Radio (Debian: /usr/bin/python3), e.g. to stream a
fixture into ``groundstation listen`` at four times real time::

    groundstation listen zmq://127.0.0.1:5555 --band 5cm-ppm --samp-rate 180000 -o out &
    /usr/bin/python3 tools/gnuradio/send_recording.py \\
        fixtures/ppm/ppm_limits.sigmf-data --samp-rate 180000 --speed 4 \\
        --to zmq://127.0.0.1:5555

The data file must hold ``cf32_le`` samples (GNU Radio's ``gr_complex``). A ZeroMQ PUB
socket drops what a subscriber that has not connected yet would miss, so the flowgraph
binds, waits ``--wait`` seconds for subscribers to connect, then starts.
"""

import argparse
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a file of cf32_le samples (NAME.sigmf-data)")
    parser.add_argument("--samp-rate", type=float, required=True, help="sample rate (Hz)")
    parser.add_argument("--speed", type=float, default=1.0, help="times real time")
    parser.add_argument("--to", required=True, help="zmq://HOST:PORT or udp://HOST:PORT")
    parser.add_argument("--wait", type=float, default=1.0, help="seconds before starting")
    args = parser.parse_args()

    from gnuradio import blocks, gr, network, zeromq

    scheme, rest = args.to.split("://", 1)
    host, port = rest.rsplit(":", 1)
    tb = gr.top_block("send_recording")
    source = blocks.file_source(gr.sizeof_gr_complex, args.data, False)
    throttle = blocks.throttle(gr.sizeof_gr_complex, args.samp_rate * args.speed, True)
    if scheme == "zmq":
        sink = zeromq.pub_sink(gr.sizeof_gr_complex, 1, f"tcp://{host}:{port}", 100, False, -1)
    elif scheme == "udp":
        sink = network.udp_sink(gr.sizeof_gr_complex, 1, host, int(port), 0, 1472, True)
    else:
        print(f"unknown target {args.to}", file=sys.stderr)
        return 2
    tb.connect(source, throttle, sink)
    time.sleep(args.wait)  # the PUB socket is bound: let subscribers join
    tb.start()
    tb.wait()
    time.sleep(0.5)  # let the last messages leave before the sockets close
    tb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
