"""Reference transmitters written from the ICD alone, to check the decoders against.

Nothing here imports the project's ``signals`` or ``groundstation`` packages: these modules
are a second, independent reading of ``ICD.md`` (§2 recordings, §3 PPM, §4 telemetry), so
that a misreading shared by the project's own modulator and receiver shows up as a failure.
"""
