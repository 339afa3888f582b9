#!/usr/bin/env python3
"""Draws the deepnb kernel logos: a small 3-4-2 neural network on a rounded dark square.
Writes logo-svg.svg and, with Pillow, logo-32x32.png and logo-64x64.png beside this script.
Run with Debian's python3 (it has Pillow): python3 kernelspec/make_logos.py"""
import os

from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
BG, EDGE, NODE, OUT = "#1f2a44", "#8fb3ff", "#ffffff", "#ffb347"
# layers of nodes in a 64-unit box: x, then the y of each node
LAYERS = [(14, [16, 32, 48]), (32, [12, 25, 39, 52]), (50, [24, 40])]


def nodes():
    return [[(x, y) for y in ys] for x, ys in LAYERS]


def svg():
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">',
             f'<rect x="1" y="1" width="62" height="62" rx="12" fill="{BG}"/>']
    layers = nodes()
    for a, b in zip(layers, layers[1:]):
        for (x1, y1) in a:
            for (x2, y2) in b:
                parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
                             f'stroke="{EDGE}" stroke-width="1.2" stroke-opacity="0.7"/>')
    for i, layer in enumerate(layers):
        for (x, y) in layer:
            fill = OUT if i == len(layers) - 1 else NODE
            parts.append(f'<circle cx="{x}" cy="{y}" r="4.2" fill="{fill}"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(size):
    k = 8  # draw large, then shrink: cheap antialiasing
    s = size * k / 64
    img = Image.new("RGBA", (size * k, size * k), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([1 * s, 1 * s, 63 * s, 63 * s], radius=12 * s, fill=BG)
    layers = nodes()
    for a, b in zip(layers, layers[1:]):
        for (x1, y1) in a:
            for (x2, y2) in b:
                d.line([x1 * s, y1 * s, x2 * s, y2 * s], fill=EDGE, width=max(1, round(1.4 * s)))
    for i, layer in enumerate(layers):
        for (x, y) in layer:
            r = 4.2 * s
            d.ellipse([x * s - r, y * s - r, x * s + r, y * s + r],
                      fill=OUT if i == len(layers) - 1 else NODE)
    return img.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    with open(os.path.join(HERE, "logo-svg.svg"), "w") as f:
        f.write(svg())
    for n in (32, 64):
        png(n).save(os.path.join(HERE, f"logo-{n}x{n}.png"), optimize=True)
