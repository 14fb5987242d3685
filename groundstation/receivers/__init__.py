"""Receivers (demodulators and deframers): samples in, decisions out.

In: chunks of complex baseband samples and the facts of the recording (``fs_hz``, band,
bit rate). Out: typed results: images and lines (``ppm``), telemetry frames (``tlm``),
carrier estimates (``carrier``). No file is written here.
"""
