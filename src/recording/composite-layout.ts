/** The composite's picture: 720p at 15 frames a second. */
export const COMPOSITE_WIDTH = 1280;
export const COMPOSITE_HEIGHT = 720;
export const COMPOSITE_FPS = 15;

export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

const even = (n: number) => Math.floor(n / 2) * 2;

/** Where each of `count` videos goes: a grid as square as it gets, filled row by row. */
export function gridOf(count: number): Tile[] {
  const columns = Math.max(1, Math.ceil(Math.sqrt(count)));
  const rows = Math.max(1, Math.ceil(count / columns));
  const [width, height] = [even(COMPOSITE_WIDTH / columns), even(COMPOSITE_HEIGHT / rows)];
  return Array.from({ length: count }, (_, i) => ({
    x: (i % columns) * width,
    y: Math.floor(i / columns) * height,
    width,
    height,
  }));
}
