"""Write the site's icon from one drawing: ``favicon.svg`` (browsers that take SVG) and
``favicon.ico`` (16, 32 and 48 px; ``/favicon.ico`` and older browsers), both under
``challenges/static/challenge_platform/``.

    .venv/bin/python scripts/make_favicon.py [--out DIR]

The drawing is a podium of three bars on the site's accent colour (site.css ``--accent``),
on a 32-unit grid. tests/challenges_tests/test_favicon.py checks that the committed files are
what this script draws.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

ACCENT = "#2f5bd3"
BAR = "#ffffff"
GRID = 32
CORNER = 6
# (x, y, width, height) on the grid: second, first and third place.
BARS = ((4, 14, 7, 13), (12.5, 7, 7, 20), (21, 18, 7, 9))
ICO_SIZES = (16, 32, 48)
OUT = Path(__file__).resolve().parents[1] / "challenges" / "static" / "challenge_platform"


def svg() -> str:
    bars = "".join(
        f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{BAR}"/>'
        for x, y, w, h in BARS
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {GRID} {GRID}">'
        f'<rect width="{GRID}" height="{GRID}" rx="{CORNER}" fill="{ACCENT}"/>{bars}</svg>\n'
    )


def raster(size: int) -> Image.Image:
    """The drawing at ``size`` px: drawn 16 times larger, then reduced (smooth edges)."""
    big = size * 16
    scale = big / GRID
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=CORNER * scale, fill=ACCENT)
    for x, y, w, h in BARS:
        draw.rectangle(
            (round(x * scale), round(y * scale), round((x + w) * scale) - 1,
             round((y + h) * scale) - 1),
            fill=BAR,
        )  # fmt: skip
    return image.resize((size, size), Image.Resampling.LANCZOS)


def write(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    svg_path, ico_path = out / "favicon.svg", out / "favicon.ico"
    svg_path.write_text(svg(), encoding="utf-8")
    largest = raster(max(ICO_SIZES))
    largest.save(
        ico_path,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[raster(s) for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    return [svg_path, ico_path]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    for path in write(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
