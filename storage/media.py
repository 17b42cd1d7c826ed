"""Media files citizens sent: checked, cleaned and stored content-addressed.

A photo's EXIF can hold the GPS position and the phone's serial number, which can identify an
anonymous reporter, so every image is decoded and re-encoded without metadata (the EXIF
orientation is applied to the pixels first, so the photo still shows the right way up). The
stored name is the SHA-256 of the stored bytes: the same photo stored twice is one file.

Synchronous: callers run `store()` in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format -> (mime type, file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
# Voice notes, recognised by their container's signature: format -> (mime type, extension).
AUDIO_FORMATS: dict[str, tuple[str, str]] = {
    "OGG": ("audio/ogg", "ogg"),  # Telegram and WhatsApp voice notes (Opus in Ogg)
    "MP3": ("audio/mpeg", "mp3"),
    "AMR": ("audio/amr", "amr"),
    "MP4": ("audio/mp4", "m4a"),
}
# Formats stored as another: a multi-picture JPEG (MPO, what many phones write: the photo plus
# a depth map or preview) is a JPEG whose first frame is the photo; it is stored as a plain JPEG.
STORED_AS: dict[str, str] = {"MPO": "JPEG"}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_AUDIO_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for audio
DEFAULT_MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding


class MediaRejected(ValueError):
    """The content is not an image (or voice note) we accept; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StoredMedia:
    path: str  # relative to the store's root, with "/" separators
    sha256: str  # of the stored (cleaned) bytes
    mime: str
    size: int  # bytes stored


class MediaStore:
    def __init__(
        self,
        root: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_audio_bytes: int = DEFAULT_MAX_AUDIO_BYTES,
    ) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.max_audio_bytes = max_audio_bytes

    def store(self, content: bytes, *, audio: bool = False) -> StoredMedia:
        """Check, strip metadata and store `content`; raise MediaRejected if unacceptable.

        `audio`: a voice note, stored as received (audio carries no location metadata) when
        its container is one of AUDIO_FORMATS and within `max_audio_bytes`.
        """
        if not audio:
            if (kept := self._kept(content)) is not None:
                return kept  # stored here before, already cleaned (a web chat upload)
            cleaned, fmt = self._clean(content)
            mime, ext = FORMATS[fmt]
            return self._write(cleaned, mime, ext)
        if not content:
            raise MediaRejected("empty file")
        if len(content) > self.max_audio_bytes:
            limit = self.max_audio_bytes
            raise MediaRejected(f"audio too large: {len(content)} bytes (limit {limit})")
        kind = audio_format(content)
        if kind is None:
            raise MediaRejected("not a voice note in a known audio format")
        mime, ext = AUDIO_FORMATS[kind]
        return self._write(content, mime, ext)

    def _write(self, cleaned: bytes, mime: str, ext: str) -> StoredMedia:
        digest = hashlib.sha256(cleaned).hexdigest()
        relative = f"{digest[:2]}/{digest}.{ext}"
        target = self.root / digest[:2] / f"{digest}.{ext}"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=f".{ext}")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(cleaned)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredMedia(path=relative, sha256=digest, mime=mime, size=len(cleaned))

    def _kept(self, content: bytes) -> StoredMedia | None:
        """The stored image whose bytes `content` is, if any: a file named by its own hash was
        written by `store()` after cleaning, so it is kept as it is, not cleaned again."""
        digest = hashlib.sha256(content).hexdigest()
        for mime, ext in FORMATS.values():
            target = self.root / digest[:2] / f"{digest}.{ext}"
            if target.is_file() and target.stat().st_size == len(content):
                return StoredMedia(f"{digest[:2]}/{digest}.{ext}", digest, mime, len(content))
        return None

    def path_of(self, stored_path: str) -> Path:
        """The absolute path of a StoredMedia.path."""
        return self.root / stored_path

    def _clean(self, content: bytes) -> tuple[bytes, str]:
        if not content:
            raise MediaRejected("empty file")
        if len(content) > self.max_bytes:
            raise MediaRejected(f"file too large: {len(content)} bytes (limit {self.max_bytes})")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(content)) as probe:
                    fmt = STORED_AS.get(probe.format or "", probe.format or "")
                    if fmt not in FORMATS:
                        raise MediaRejected(f"unsupported image format: {fmt or 'unknown'}")
                    width, height = probe.size
                    if width * height > self.max_pixels:
                        raise MediaRejected(f"image too large: {width}x{height} pixels")
                    probe.verify()
                with Image.open(io.BytesIO(content)) as image:
                    image.seek(0)  # the first frame (an MPO's photo, an animation's first)
                    image.load()
                    return _reencode(image, fmt), fmt
        except MediaRejected:
            raise
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ):
            raise MediaRejected("not a readable image") from None
        except (OSError, SyntaxError, ValueError, EOFError, TypeError):
            raise MediaRejected("not a readable image (damaged or truncated)") from None


def audio_format(content: bytes) -> str | None:
    """The AUDIO_FORMATS key of `content` by its signature, or None when it is no audio."""
    if content.startswith(b"OggS"):
        return "OGG"
    if content.startswith(b"ID3") or (
        len(content) > 1 and content[0] == 0xFF and content[1] & 0xE0 == 0xE0
    ):
        return "MP3"
    if content.startswith(b"#!AMR"):
        return "AMR"
    if content[4:8] == b"ftyp" and content[8:11] in (b"M4A", b"mp4", b"iso", b"3gp"):
        return "MP4"
    return None


def _reencode(image: Image.Image, fmt: str) -> bytes:
    """The first frame's pixels, upright, without EXIF/XMP/comments (ICC profile kept)."""
    icc = image.info.get("icc_profile")
    transparency = image.info.get("transparency")
    upright = ImageOps.exif_transpose(image)  # a new image with orientation applied
    upright.info = {}  # nothing from the source's metadata may leak into the new file
    options: dict[str, Any] = {}
    if icc and fmt != "GIF":
        options["icc_profile"] = icc
    if fmt == "JPEG":
        if upright.mode not in ("L", "RGB", "CMYK"):
            upright = upright.convert("RGB")
        options.update(quality=90, optimize=True)
    elif fmt == "WEBP":
        options.update(quality=90)
    elif fmt in ("PNG", "GIF") and transparency is not None and upright.mode in ("P", "L", "RGB"):
        options["transparency"] = transparency
    if fmt == "PNG":
        options["optimize"] = True
    out = io.BytesIO()
    upright.save(out, format=fmt, **options)
    return out.getvalue()
