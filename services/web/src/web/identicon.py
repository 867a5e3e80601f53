"""Identicons drawn here (SVG), for when Gravatar can't be reached: the same hash, the same picture."""

from __future__ import annotations

import re

HASH = re.compile(r"^[0-9a-f]{32}$")
GRID = 5


def identicon_svg(digest: str, size: int = 80) -> str:
    """A symmetric 5x5 pattern coloured from the MD5 hex digest (as Gravatar's identicons are)."""
    if not HASH.match(digest):
        raise ValueError("an identicon needs an MD5 hex digest")
    size = max(8, min(size, 512))
    hue = int(digest[25:28], 16) * 360 // 4096
    colour = f"hsl({hue}, 55%, 50%)"
    cell = size / (GRID + 1)
    margin = cell / 2
    cells = []
    for row in range(GRID):
        for column in range((GRID + 1) // 2):
            nibble = int(digest[row * 3 + column], 16)
            if nibble % 2 == 0:
                for x in {column, GRID - 1 - column}:
                    cells.append(
                        f'<rect x="{margin + x * cell:.2f}" y="{margin + row * cell:.2f}" '
                        f'width="{cell:.2f}" height="{cell:.2f}"/>'
                    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}"><rect width="{size}" height="{size}" fill="#f0f0f0"/>'
        f'<g fill="{colour}">{"".join(sorted(cells))}</g></svg>'
    )
