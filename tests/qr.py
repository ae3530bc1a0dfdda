"""Reading QR codes in tests with a real decoder (zxing-cpp)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def decode_qr(image: bytes | Image.Image) -> str:
    """The text of the one QR code in `image` (PNG bytes or a Pillow image).

    Only QR codes are looked for: across all formats zxing-cpp now and then
    reads a few QR modules as a short Codabar symbol as well (seen with
    zxing-cpp 3.1 on about one image in 150).
    """
    picture = Image.open(io.BytesIO(image)) if isinstance(image, bytes) else image
    found = zxingcpp.read_barcodes(
        picture, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    texts = {result.text for result in found}
    assert len(texts) == 1, f"expected one QR code, found {len(found)}"
    return texts.pop()
