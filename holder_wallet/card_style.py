"""Card colours from issuer metadata, as values that cannot carry CSS (issue 13 item 15).

OpenID4VCI 1.0 §12.2.4 lets an issuer name a card's `background_color` and
`text_color`; the wallet puts them in a `style` attribute. HTML escaping
keeps them inside the attribute but not inside the declaration: a value such
as `red; background-image: url(https://tracker.example/)` would add CSS of the
issuer's choosing. Only hexadecimal colours are taken (`#rgb`, `#rrggbb`,
`#rrggbbaa`; CSS Color 4 §5.2, without the 4-digit form); anything else is
the default. Checked when the metadata is read and again when a card is
drawn, so a record stored by an older wallet is drawn safely too.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["DEFAULT_BACKGROUND", "DEFAULT_TEXT", "css_color"]

DEFAULT_BACKGROUND: Final = "#1f4e79"
DEFAULT_TEXT: Final = "#ffffff"
_HEX_COLOR: Final = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def css_color(value: object, default: str) -> str:
    """`value` when it is a hexadecimal colour, else `default`."""
    if isinstance(value, str) and _HEX_COLOR.fullmatch(value):
        return value
    return default
