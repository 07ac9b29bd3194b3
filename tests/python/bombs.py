"""Decompression bombs and hostile headers, made in memory: files that promise far more pixels,
strips or tiles than they hold, in every format the library reads."""

import struct
import zlib


def _png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png(width, height, idat):
    return (b"\x89PNG\r\n\x1a\n" +
            _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))


def tiff(entries, data=b""):
    """Little-endian TIFF, one IFD at offset 8; an entry whose value is None points at `data`
    (placed right after the IFD)."""
    ifd_bytes = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_bytes
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in sorted(entries):
        ifd += struct.pack("<HHII", tag, kind, count, data_offset if value is None else value)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + data


def _rgb_tiff(width, height, extra):
    return [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
            (262, 3, 1, 2), (277, 3, 1, 3), (284, 3, 1, 1)] + extra


BOMBS = {
    # headers that promise billions of pixels
    "png-100000x100000.png": png(100000, 100000, zlib.compress(b"\0" * 1000)),
    "jpeg-65535x65535.jpg": b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65535, 65535, 3)
    + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00\xff\xd9",
    "tiff-1000000x1000000.tif": tiff([(256, 4, 1, 10**6), (257, 4, 1, 10**6), (258, 3, 1, 8),
                                      (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, None),
                                      (277, 3, 1, 1), (278, 4, 1, 1), (279, 4, 1, 1)], b"\0"),
    "webp-16384x16384.webp": b"RIFF" + struct.pack("<I", 22) + b"WEBPVP8X" + struct.pack("<I", 10)
    + b"\0\0\0\0" + (16383).to_bytes(3, "little") * 2,
    "bmp-1000000x1000000.bmp": b"BM" + struct.pack("<IHHI", 70, 0, 0, 54)
    + struct.pack("<IiiHHIIiiII", 40, 10**6, 10**6, 1, 24, 0, 0, 0, 0, 0, 0) + b"\0" * 16,
    "bmp-height-int-min.bmp": b"BM" + struct.pack("<IHHI", 70, 0, 0, 54)
    + struct.pack("<IiiHHIIiiII", 40, 4, -2**31, 1, 24, 0, 0, 0, 0, 0, 0) + b"\0" * 16,
    # a 16×16 image declaring 65536×65536 tiles (12 GiB each) or a 4 GiB strip
    "tiff-huge-tiles.tif": tiff(_rgb_tiff(16, 16, [(322, 4, 1, 65536), (323, 4, 1, 65536),
                                                   (324, 4, 1, None), (325, 4, 1, 16)]),
                                b"\0" * 16),
    "tiff-huge-strip.tif": tiff(_rgb_tiff(16, 16, [(273, 4, 1, None), (278, 4, 1, 16),
                                                   (279, 4, 1, 0xfffffff0)]), b"\0" * 16),
}

# Within the pixel limit, but small on disk: 46 KB that inflate to 48 MB of pixels. Legitimate:
# it decodes, with memory bounded by its (allowed) size.
INFLATE = png(4000, 4000, zlib.compress((b"\0" + b"\0" * 12000) * 4000, 9))


# within the pixel limit, but one side longer than any real photo: 300,000 × 1 (0.3 MP)
THIN = png(300_000, 1, zlib.compress(b"\0" * 900_001))
