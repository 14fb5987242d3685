"""``groundstation bench`` prints the comparisons with GNU Radio the peer benchmarks measure."""

from __future__ import annotations

from groundstation.cli.bench import format_table


def _report(name: str, **info: float) -> dict:
    return {"benchmarks": [{"name": name, "stats": {"mean": 1.5}, "extra_info": info}]}


def test_the_table_gives_each_peer_ratio() -> None:
    tlm = format_table(
        _report("test_tlm_decode_against_gnuradio", gnuradio_over_groundstation=0.42,
                gnuradio_over_receiver=1.7)
    )  # fmt: skip
    assert "0.42× GNU Radio's speed (1.70× receiver alone)" in tlm
    ppm = format_table(_report("test_ppm_decode_against_gnuradio", speedup_over_gnuradio=3.1))
    assert "3.10× GNU Radio's speed" in ppm
    both = format_table(
        _report("test_decode_against_gnuradio", speedup_over_gnuradio=0.47,
                raw_speedup_over_gnuradio=0.76)
    )  # fmt: skip
    assert "0.47× GNU Radio's speed (0.76× as raw cf32)" in both
    assert "GNU Radio" not in format_table(_report("test_tlm_receiver_throughput"))
