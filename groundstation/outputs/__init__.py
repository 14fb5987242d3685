"""Sinks: decoded results to the files a user opens.

In: a recording and the receiver's results. Out: an output folder: PNG images and masks,
``telemetry.csv``/``.jsonl``, plots, ``summary.json`` and the annotated SigMF metadata.
"""
