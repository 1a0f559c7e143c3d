import { encodePng } from './png.js';

/**
 * The two icons a Teams app package needs, drawn here: a portcullis (the gate in Gatehouse). `color`
 * is 192×192, white on the accent colour; `outline` is 32×32, white on transparent, as Teams requires.
 */

export const ACCENT_COLOR = '#1F4E79';

type Rgba = readonly [number, number, number, number];
const WHITE: Rgba = [255, 255, 255, 255];
const CLEAR: Rgba = [0, 0, 0, 0];

/** The portcullis in a unit square: an arch-topped frame with three bars down and two across. */
function isGate(x: number, y: number): boolean {
  const inside = x >= 0.22 && x <= 0.78 && y >= 0.2 && y <= 0.84;
  if (!inside) return false;
  // The arch: its crown at the middle, 0.12 higher than its springing at the sides.
  const top = 0.32 - 0.12 * Math.sin(((x - 0.22) / 0.56) * Math.PI);
  if (y < top) return false;
  const near = (value: number, at: number, half: number) => Math.abs(value - at) <= half;
  const frame = near(x, 0.22, 0.04) || near(x, 0.78, 0.04) || near(y, 0.84, 0.04) || y - top <= 0.07;
  const bars =
    [0.36, 0.5, 0.64].some((at) => near(x, at, 0.03)) || [0.48, 0.66].some((at) => near(y, at, 0.03));
  return frame || bars;
}

function draw(size: number, background: Rgba, foreground: Rgba): Buffer {
  const pixels = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const colour = isGate((px + 0.5) / size, (py + 0.5) / size) ? foreground : background;
      pixels.set(colour, (py * size + px) * 4);
    }
  }
  return encodePng(size, size, pixels);
}

export function colorIcon(): Buffer {
  const hex = ACCENT_COLOR.slice(1);
  const accent: Rgba = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgba;
  return draw(192, [accent[0], accent[1], accent[2], 255], WHITE);
}

export function outlineIcon(): Buffer {
  return draw(32, CLEAR, WHITE);
}
