/**
 * Optical flow between two frames: where each pixel of one frame was in the
 * other. Dense pyramidal Lucas–Kanade (Bouguet's scheme) on luminance, so
 * that temporal coherence can follow a camera move or a moving object
 * instead of holding strokes fixed on the screen (Ruder et al. 2016 carry
 * the previous painted frame along the flow).
 *
 * Plain arrays: a 2x2 solve per pixel over window sums, cheap beside one
 * optimisation step, and deterministic on every backend.
 */
import type { RgbImage } from './types';

/** For each pixel (x, y) of the frame the flow was estimated for: it was at (x + dx, y + dy) in the other frame. */
export interface Flow {
  width: number;
  height: number;
  dx: Float32Array;
  dy: Float32Array;
}

/** One channel of floats, row by row. */
interface Plane {
  width: number;
  height: number;
  data: Float32Array;
}

/** Half the side of the window whose gradients one pixel's motion is solved over (7x7). */
const WINDOW_RADIUS = 3;
/** Solves per pyramid level. */
const ITERATIONS = 5;
/** The coarsest level keeps its shorter side at least this long; at most MAX_LEVELS levels (motion up to ~3 * 2^levels px). */
const MIN_LEVEL_SIDE = 12;
const MAX_LEVELS = 5;
/**
 * Added to the window's structure tensor: where the window has no texture
 * (sky, a wall) the solve then keeps the motion found at the coarser level
 * around it instead of amplifying noise. In window sums of squared
 * gradients of 0..1 luminance: a gradient of about 1/200 a pixel.
 */
const FLAT = 1e-3;
/**
 * How much the frame's dominant motion weighs in each pixel's smoothing,
 * against its window's texture (summed smaller eigenvalues of the structure
 * tensor): a flat region far from texture moves as most of the frame does
 * (with the camera on a pan, not at all on a still shot), not as the nearest
 * edge does, which may be a moving object's. Measured on a 48 px moving
 * square over a still photo: the still sky beside it took 0.83 px of the
 * square's motion with the nearest-edge rule alone, 0.26 with this.
 */
const DOMINANT_PRIOR = 1e-2;
/** At most this many pixels are sorted for the dominant motion: a grid over the frame. */
const DOMINANT_SAMPLES = 4096;
/**
 * Sundaram et al. 2010's forward-backward test, as Ruder et al. use it: going
 * there and back may miss by this (px^2), plus a share of the motion's length,
 * before a pixel counts as occluded or its flow as wrong.
 */
const ROUND_TRIP_SLACK = 0.5;
const ROUND_TRIP_SHARE = 0.01;

function luminance(image: RgbImage): Plane {
  const data = new Float32Array(image.width * image.height);
  for (let pixel = 0, i = 0; pixel < data.length; pixel++, i += 3) {
    data[pixel] = (0.299 * image.data[i] + 0.587 * image.data[i + 1] + 0.114 * image.data[i + 2]) / 255;
  }
  return { width: image.width, height: image.height, data };
}

/** A [1 2 1]/4 blur along both axes, edges repeated: takes the noise off before gradients and halving. */
function blur(plane: Plane): Plane {
  const { width, height, data } = plane;
  const rows = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      rows[row + x] = (data[row + Math.max(0, x - 1)] + 2 * data[row + x] + data[row + Math.min(width - 1, x + 1)]) / 4;
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    const above = Math.max(0, y - 1) * width;
    const below = Math.min(height - 1, y + 1) * width;
    for (let x = 0; x < width; x++) out[y * width + x] = (rows[above + x] + 2 * rows[y * width + x] + rows[below + x]) / 4;
  }
  return { width, height, data: out };
}

/** Half the size (2x2 means of the blurred plane); pixel centres map as x' = (x + 0.5) / 2 - 0.5. */
function halve(plane: Plane): Plane {
  const smooth = blur(plane).data;
  const width = Math.max(1, plane.width >> 1);
  const height = Math.max(1, plane.height >> 1);
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const [top, bottom] = [Math.min(2 * y, plane.height - 1), Math.min(2 * y + 1, plane.height - 1)];
    for (let x = 0; x < width; x++) {
      const [left, right] = [Math.min(2 * x, plane.width - 1), Math.min(2 * x + 1, plane.width - 1)];
      data[y * width + x] = (smooth[top * plane.width + left] + smooth[top * plane.width + right]
        + smooth[bottom * plane.width + left] + smooth[bottom * plane.width + right]) / 4;
    }
  }
  return { width, height, data };
}

/** The plane at (x, y), bilinear, edges repeated beyond the frame. */
function sample(plane: Plane, x: number, y: number): number {
  const { width, height, data } = plane;
  const cx = Math.min(width - 1, Math.max(0, x));
  const cy = Math.min(height - 1, Math.max(0, y));
  const [x0, y0] = [Math.floor(cx), Math.floor(cy)];
  const [x1, y1] = [Math.min(width - 1, x0 + 1), Math.min(height - 1, y0 + 1)];
  const [fx, fy] = [cx - x0, cy - y0];
  return lerp(lerp(data[y0 * width + x0], data[y0 * width + x1], fx), lerp(data[y1 * width + x0], data[y1 * width + x1], fx), fy);
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

/** Sums over the (2r+1)^2 window around each pixel, cut at the frame's edges. */
function windowSums(values: Float32Array, width: number, height: number, r: number): Float32Array {
  const rows = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    for (let x = 0; x < Math.min(r, width); x++) sum += values[row + x];
    for (let x = 0; x < width; x++) {
      if (x + r < width) sum += values[row + x + r];
      if (x - r - 1 >= 0) sum -= values[row + x - r - 1];
      rows[row + x] = sum;
    }
  }
  const out = new Float32Array(values.length);
  for (let x = 0; x < width; x++) {
    let sum = 0;
    for (let y = 0; y < Math.min(r, height); y++) sum += rows[y * width + x];
    for (let y = 0; y < height; y++) {
      if (y + r < height) sum += rows[(y + r) * width + x];
      if (y - r - 1 >= 0) sum -= rows[(y - r - 1) * width + x];
      out[y * width + x] = sum;
    }
  }
  return out;
}

/**
 * Refines `flow` (at this level) so that `from` at (x + dx, y + dy) matches
 * `to` at (x, y): Gauss-Newton steps with the structure tensor of `to`'s own
 * gradients (the inverse-compositional form: one tensor per level), then the
 * motion smoothed over the window, each pixel weighted by how well its
 * window pins the motion down (the tensor's smaller eigenvalue), so that
 * textured neighbours decide for flat ones, and the frame's dominant motion
 * for flat regions with no texture near.
 */
function refine(from: Plane, to: Plane, flow: Flow): void {
  const { width, height } = to;
  const size = width * height;
  const gx = new Float32Array(size);
  const gy = new Float32Array(size);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      gx[i] = (to.data[y * width + Math.min(width - 1, x + 1)] - to.data[y * width + Math.max(0, x - 1)]) / 2;
      gy[i] = (to.data[Math.min(height - 1, y + 1) * width + x] - to.data[Math.max(0, y - 1) * width + x]) / 2;
    }
  }
  const sxx = windowSums(gx.map((g) => g * g), width, height, WINDOW_RADIUS);
  const syy = windowSums(gy.map((g) => g * g), width, height, WINDOW_RADIUS);
  const sxy = windowSums(gx.map((g, i) => g * gy[i]), width, height, WINDOW_RADIUS);
  const confidence = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const half = (sxx[i] + syy[i]) / 2;
    confidence[i] = half - Math.sqrt(((sxx[i] - syy[i]) / 2) ** 2 + sxy[i] ** 2) + 1e-9;
  }
  const ex = new Float32Array(size);
  const ey = new Float32Array(size);
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const error = sample(from, x + flow.dx[i], y + flow.dy[i]) - to.data[i];
        ex[i] = gx[i] * error;
        ey[i] = gy[i] * error;
      }
    }
    const bx = windowSums(ex, width, height, WINDOW_RADIUS);
    const by = windowSums(ey, width, height, WINDOW_RADIUS);
    for (let i = 0; i < size; i++) {
      const [a, b, d] = [sxx[i] + FLAT, sxy[i], syy[i] + FLAT];
      const det = a * d - b * b;
      flow.dx[i] -= (d * bx[i] - b * by[i]) / det;
      flow.dy[i] -= (a * by[i] - b * bx[i]) / det;
    }
    const weight = windowSums(confidence, width, height, WINDOW_RADIUS);
    const wx = windowSums(flow.dx.map((v, i) => v * confidence[i]), width, height, WINDOW_RADIUS);
    const wy = windowSums(flow.dy.map((v, i) => v * confidence[i]), width, height, WINDOW_RADIUS);
    const [mx, my] = [dominant(flow.dx, confidence), dominant(flow.dy, confidence)];
    for (let i = 0; i < size; i++) {
      flow.dx[i] = (wx[i] + DOMINANT_PRIOR * mx) / (weight[i] + DOMINANT_PRIOR);
      flow.dy[i] = (wy[i] + DOMINANT_PRIOR * my) / (weight[i] + DOMINANT_PRIOR);
    }
  }
}

/**
 * The motion most of the frame makes: the median, over a grid of at most
 * DOMINANT_SAMPLES pixels, of each pixel's motion where its window pins it
 * down (texture above FLAT) and of no motion where it does not, so that a
 * flat background counts as still rather than taking a moving object's
 * motion; robust to a moving object's share.
 */
function dominant(values: Float32Array, confidence: Float32Array): number {
  const stride = Math.max(1, Math.floor(values.length / DOMINANT_SAMPLES));
  const votes = Float32Array.from({ length: Math.ceil(values.length / stride) }, (_, k) => (confidence[k * stride] > FLAT ? values[k * stride] : 0));
  votes.sort();
  return votes[votes.length >> 1];
}

/** The flow of a coarser level at this level's size, its vectors doubled. */
function upsample(coarse: Flow, width: number, height: number): Flow {
  const dx = new Float32Array(width * height);
  const dy = new Float32Array(width * height);
  const planeX = { width: coarse.width, height: coarse.height, data: coarse.dx };
  const planeY = { width: coarse.width, height: coarse.height, data: coarse.dy };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [cx, cy] = [(x + 0.5) / 2 - 0.5, (y + 0.5) / 2 - 0.5];
      dx[y * width + x] = 2 * sample(planeX, cx, cy);
      dy[y * width + x] = 2 * sample(planeY, cx, cy);
    }
  }
  return { width, height, dx, dy };
}

/** For each pixel of `to`: where it was in `from` (two frames of the same size). */
export function estimateFlow(from: RgbImage, to: RgbImage): Flow {
  if (from.width !== to.width || from.height !== to.height) {
    throw new Error(`frames of different sizes (${from.width}x${from.height}, ${to.width}x${to.height})`);
  }
  const pyramids: Array<{ from: Plane; to: Plane }> = [{ from: blur(luminance(from)), to: blur(luminance(to)) }];
  while (pyramids.length < MAX_LEVELS && Math.min(pyramids[0].to.width, pyramids[0].to.height) >= 2 * MIN_LEVEL_SIDE) {
    pyramids.unshift({ from: halve(pyramids[0].from), to: halve(pyramids[0].to) });
  }
  let flow: Flow | undefined;
  for (const level of pyramids) {
    const { width, height } = level.to;
    flow = flow ? upsample(flow, width, height) : { width, height, dx: new Float32Array(width * height), dy: new Float32Array(width * height) };
    refine(level.from, level.to, flow);
  }
  return flow!;
}

/** `image` carried along `flow`: each pixel takes the colour at (x + dx, y + dy), bilinear, edges repeated. */
export function warp(image: RgbImage, flow: Flow): RgbImage {
  if (image.width !== flow.width || image.height !== flow.height) {
    throw new Error(`a ${image.width}x${image.height} image and a ${flow.width}x${flow.height} flow`);
  }
  const channels = [0, 1, 2].map((c) => ({
    width: image.width,
    height: image.height,
    data: Float32Array.from({ length: image.width * image.height }, (_, pixel) => image.data[pixel * 3 + c]),
  }));
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const pixel = y * image.width + x;
      for (let c = 0; c < 3; c++) data[pixel * 3 + c] = Math.round(sample(channels[c], x + flow.dx[pixel], y + flow.dy[pixel]));
    }
  }
  return { width: image.width, height: image.height, data };
}

/**
 * 1 where `backward` (for each pixel of the later frame, where it was in the
 * earlier one) can be trusted, else 0: the pixel came from inside the
 * earlier frame, and `forward` (the other way) brings it back to where it
 * started. What fails is occluded, uncovered or mismatched.
 */
export function trustedFlow(backward: Flow, forward: Flow): Uint8Array {
  const { width, height } = backward;
  const trusted = new Uint8Array(width * height);
  const planeX = { width, height, data: forward.dx };
  const planeY = { width, height, data: forward.dy };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const [sx, sy] = [x + backward.dx[i], y + backward.dy[i]];
      if (sx < -0.5 || sy < -0.5 || sx > width - 0.5 || sy > height - 0.5) continue;
      const [fx, fy] = [sample(planeX, sx, sy), sample(planeY, sx, sy)];
      const miss = (backward.dx[i] + fx) ** 2 + (backward.dy[i] + fy) ** 2;
      const length = backward.dx[i] ** 2 + backward.dy[i] ** 2 + fx ** 2 + fy ** 2;
      trusted[i] = miss <= ROUND_TRIP_SHARE * length + ROUND_TRIP_SLACK ? 1 : 0;
    }
  }
  return trusted;
}
