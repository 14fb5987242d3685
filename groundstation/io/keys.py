"""Every SigMF key the station reads or writes, named once (ICD §2).

``core:`` keys are those of the SigMF specification that the project uses; ``mars1:`` keys
are the project's extension (``core:extensions`` lists it as :data:`MARS1_EXTENSION`).
Code refers to these constants, never to the string, so a typo is an import error and a
renamed key is one edit. Grouped by where they appear in a metadata file: the global object,
``captures[0]`` and each annotation.
"""

from __future__ import annotations

from typing import Final

#: Namespace prefix of the project's keys.
MARS1_PREFIX: Final = "mars1:"
#: The ``core:extensions`` entry declaring the namespace.
MARS1_EXTENSION: Final = {"name": "mars1", "version": "1.0.0", "optional": True}

# ---------------------------------------------------------------- sections of a metadata file
GLOBAL: Final = "global"
CAPTURES: Final = "captures"
ANNOTATIONS: Final = "annotations"

# ---------------------------------------------------------------- core, global
DATATYPE: Final = "core:datatype"
SAMPLE_RATE: Final = "core:sample_rate"
VERSION: Final = "core:version"
EXTENSIONS: Final = "core:extensions"
RECORDER: Final = "core:recorder"
DESCRIPTION: Final = "core:description"
SHA512: Final = "core:sha512"
DATASET: Final = "core:dataset"
NUM_CHANNELS: Final = "core:num_channels"
HEADER_BYTES: Final = "core:header_bytes"
TRAILING_BYTES: Final = "core:trailing_bytes"
METADATA_ONLY: Final = "core:metadata_only"

# ---------------------------------------------------------------- core, captures
FREQUENCY: Final = "core:frequency"
DATETIME: Final = "core:datetime"
#: Byte offset of the capture in the data file (written by the sigmf library, always 0 here).
OFFSET: Final = "core:offset"

# ---------------------------------------------------------------- core, annotations
SAMPLE_START: Final = "core:sample_start"
SAMPLE_COUNT: Final = "core:sample_count"
LABEL: Final = "core:label"
#: Who wrote an annotation: the station's own are replaced, not repeated, by a re-decode.
GENERATOR: Final = "core:generator"
FREQ_LOWER_EDGE: Final = "core:freq_lower_edge"  # Hz, absolute
FREQ_UPPER_EDGE: Final = "core:freq_upper_edge"  # Hz, absolute

# ---------------------------------------------------------------- mars1, global
BAND: Final = "mars1:band"
NOMINAL_FREQUENCY: Final = "mars1:nominal_frequency"  # Hz
BIT_RATE: Final = "mars1:bit_rate"  # bit/s
COHERENT_MODE: Final = "mars1:coherent_mode"  # "one-way" | "two-way"
UPLINK_FREQUENCY: Final = "mars1:uplink_frequency"  # Hz

# ---------------------------------------------------------------- mars1, PPM annotations
IMAGE_ID: Final = "mars1:image_id"
LINE: Final = "mars1:line"
LINE_NUMBER_CORRECTED: Final = "mars1:line_number_corrected"
LINES: Final = "mars1:lines"
PIXELS: Final = "mars1:pixels"
MODE: Final = "mars1:mode"
HEADER_COPY: Final = "mars1:header_copy"

# ---------------------------------------------------------------- mars1, telemetry annotations
FRAME_COUNTER: Final = "mars1:frame_counter"
FRAME_TYPE: Final = "mars1:frame_type"
PARITY_OK: Final = "mars1:parity_ok"
INVERTED: Final = "mars1:inverted"
QUALITY_DB: Final = "mars1:quality_db"
TRUNCATED: Final = "mars1:truncated"
BITS_RECEIVED: Final = "mars1:bits_received"

# ---------------------------------------------------------------- mars1, any annotation
SNR_DB: Final = "mars1:snr_db"

# ---------------------------------------------------------------- mars1, carrier annotation
FREQUENCY_OFFSET_HZ: Final = "mars1:frequency_offset_hz"
RATE_HZ_PER_S: Final = "mars1:rate_hz_per_s"
CN0_DBHZ: Final = "mars1:cn0_dbhz"
