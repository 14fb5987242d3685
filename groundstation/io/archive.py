"""SigMF archives: a plain tar holding one recording's pair.

In: ``NAME.sigmf``, an uncompressed tar with ``NAME/NAME.sigmf-meta`` and
``NAME/NAME.sigmf-data``. Out: a :class:`~groundstation.io.recording.Recording` over the
archive's own bytes (the tar blocks around the data member become ``core:header_bytes`` and
``core:trailing_bytes``; nothing is extracted) and the span of bytes ``core:sha512`` covers.
Member names that would leave a folder, compressed archives and archives of several
recordings are refused.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path, PurePosixPath
from typing import Final

from groundstation.errors import DataFileError, MetadataError, RecordingError
from groundstation.io import keys
from groundstation.io.facts import SourceOptions, needs_patch, patched, virtual_meta_path
from groundstation.io.recording import DATA_SUFFIX, META_SUFFIX, Recording, recording_from_metadata
from groundstation.io.samples import SAMPLE_FORMATS

#: Largest metadata file read from an archive (bytes).
MAX_META_BYTES: Final = 16 * 1024 * 1024
#: Most tar members examined in an archive.
MAX_ARCHIVE_MEMBERS: Final = 1024


def _safe_member_name(name: str) -> PurePosixPath | None:
    member = PurePosixPath(name)
    if member.is_absolute() or ".." in member.parts or "\\" in name or not member.parts:
        return None
    return member


def open_archive(path: Path, options: SourceOptions) -> tuple[Recording, tuple[int, int]]:
    """A SigMF archive: a plain tar with ``NAME/NAME.sigmf-meta`` and ``NAME/NAME.sigmf-data``.

    The data member is read in place: an uncompressed tar member is contiguous bytes of the
    archive, so it becomes ``core:header_bytes`` / ``core:trailing_bytes`` around the
    samples. Nothing is extracted; member names that would leave a folder are refused.
    """
    where = path.name
    if not path.is_file():
        raise DataFileError(f"no such recording: {path}")
    try:
        archive = tarfile.open(path, mode="r:")
    except tarfile.ReadError:
        try:
            with tarfile.open(path, mode="r:*"):
                pass
        except tarfile.ReadError:
            raise DataFileError(f"{where}: not a SigMF archive (not a tar file)") from None
        raise DataFileError(
            f"{where}: a compressed archive; a SigMF archive is a plain tar (decompress it)"
        ) from None
    try:
        with archive:
            members: dict[PurePosixPath, tarfile.TarInfo] = {}
            for count, member in enumerate(archive):
                if count >= MAX_ARCHIVE_MEMBERS:
                    raise DataFileError(f"{where}: more than {MAX_ARCHIVE_MEMBERS} archive members")
                name = _safe_member_name(member.name)
                if name is None:
                    raise DataFileError(
                        f"{where}: archive member {member.name!r} leaves the archive"
                    )
                members[name] = member
            metas = sorted(n for n, m in members.items() if n.name.endswith(META_SUFFIX))
            if not metas:
                raise MetadataError(f"{where}: the archive holds no {META_SUFFIX} member")
            if len(metas) > 1:
                listed = ", ".join(str(n) for n in metas[:5])
                raise MetadataError(
                    f"{where}: the archive holds {len(metas)} recordings ({listed}); "
                    "this station decodes archives of one"
                )
            meta_name = metas[0]
            meta_member = members[meta_name]
            if not meta_member.isfile() or meta_member.size > MAX_META_BYTES:
                raise MetadataError(
                    f"{where}: {meta_name} is not a metadata file of at most 16 MiB"
                )
            handle = archive.extractfile(meta_member)
            assert handle is not None  # a regular member
            try:
                metadata = json.loads(handle.read(MAX_META_BYTES).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise MetadataError(f"{where}: {meta_name} is not JSON text ({exc})") from None
            stem = meta_name.name[: -len(META_SUFFIX)]
            data_name = meta_name.with_name(stem + DATA_SUFFIX)
            data_member = members.get(data_name)
            if data_member is None:
                raise DataFileError(f"{where}: the archive holds no {data_name}")
            if not data_member.isfile() or data_member.issparse():
                raise DataFileError(f"{where}: {data_name} is not a regular file in the archive")
            offset, length = data_member.offset_data, data_member.size
    except tarfile.TarError as exc:  # a member announces more bytes than the file holds
        raise DataFileError(f"{where}: a damaged SigMF archive ({exc})") from None
    size = path.stat().st_size
    if offset + length > size:
        raise DataFileError(f"{where}: {data_name} runs past the end of the archive (truncated)")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("global"), dict):
        raise MetadataError(f"{where}: {meta_name} lacks the 'global' object")
    captures = metadata.get("captures")
    if not isinstance(captures, list) or not captures or not isinstance(captures[0], dict):
        raise MetadataError(f"{where}: {meta_name} lacks a 'captures' list with one capture")
    inner_header = captures[0].get(keys.HEADER_BYTES, 0)
    inner_trailing = metadata["global"].get(keys.TRAILING_BYTES, 0)
    if not all(isinstance(v, int) and v >= 0 for v in (inner_header, inner_trailing)):
        raise MetadataError(f"{where}: header or trailing bytes are not byte counts")
    metadata = json.loads(json.dumps(metadata))
    metadata["captures"][0][keys.HEADER_BYTES] = offset + inner_header
    metadata["global"][keys.TRAILING_BYTES] = size - offset - length + inner_trailing
    metadata["global"][keys.DATASET] = path.name
    if needs_patch(options):
        metadata = patched(metadata, options)
    virtual = virtual_meta_path(path, stem)
    recording = recording_from_metadata(metadata, virtual, path, shown_name=path.name)
    if options.sample_format is not None and SAMPLE_FORMATS[options.sample_format] != (
        recording.datatype
    ):
        raise RecordingError(f"{where}: --format applies to raw files only")
    return recording, (offset, offset + length)
