import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { RgbImage } from '../../src/engine';
import { estimateFlow, trustedFlow, warp, type Flow } from '../../src/engine/flow';
import { crop } from '../helpers/images';
import { readSharedImage } from '../helpers/shared-data';

/** Mean distance of `flow` from (dx, dy) over the pixels `where` picks. */
function meanError(flow: Flow, dx: number, dy: number, where: (x: number, y: number, i: number) => boolean): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < flow.height; y++) {
    for (let x = 0; x < flow.width; x++) {
      const i = y * flow.width + x;
      if (!where(x, y, i)) continue;
      sum += Math.hypot(flow.dx[i] - dx, flow.dy[i] - dy);
      count++;
    }
  }
  return sum / count;
}

describe('optical flow', () => {
  let photo: RgbImage;
  before(async () => {
    photo = await readSharedImage('tubingen.jpg', 96);
  });

  it('follows a camera pan to a tenth of a pixel and trusts what stayed in frame', () => {
    // The window moves 3 px right and 1 px down: each pixel of the later frame was 3 px right, 1 px down in the earlier.
    const [earlier, later] = [crop(photo, 4, 4, 64, 48), crop(photo, 7, 5, 64, 48)];
    const backward = estimateFlow(earlier, later);
    const trusted = trustedFlow(backward, estimateFlow(later, earlier));
    const inFrame = (x: number, y: number) => x + 3 <= 63 && y + 1 <= 47;
    const error = meanError(backward, 3, 1, (x, y, i) => inFrame(x, y) && trusted[i] === 1);
    assert.ok(error < 0.1, `endpoint error ${error.toFixed(3)} px`);
    let [kept, total, cameIn] = [0, 0, 0];
    for (let y = 0; y < 48; y++) {
      for (let x = 0; x < 64; x++) {
        if (inFrame(x, y)) [kept, total] = [kept + trusted[y * 64 + x], total + 1];
        else if (x >= 64 - 2) cameIn += trusted[y * 64 + x];
      }
    }
    assert.ok(kept / total > 0.85, `${((100 * kept) / total).toFixed(0)}% of what stayed in frame trusted`);
    assert.equal(cameIn, 0, 'what came into the frame was nowhere in the earlier one');
  });

  it('finds no motion between equal frames, and a flat region next to a moving object stays still', () => {
    const still = estimateFlow(photo, photo);
    assert.ok(still.dx.every((v) => v === 0) && still.dy.every((v) => v === 0));
    // A red 12 px square moving 4 px right over the still photo.
    const background = crop(photo, 0, 0, 48, 48);
    const square = (left: number) => {
      const data = Uint8Array.from(background.data);
      for (let y = 18; y < 30; y++) for (let x = left; x < left + 12; x++) data.set([230, 40, 40], (y * 48 + x) * 3);
      return { ...background, data };
    };
    const backward = estimateFlow(square(10), square(14));
    const far = (x: number, y: number) => y < 10 || y >= 38 || x >= 36;
    const error = meanError(backward, 0, 0, (x, y) => far(x, y));
    assert.ok(error < 0.3, `the still background moved ${error.toFixed(2)} px on average`);
    // At a motion boundary the window sees both motions: the square's edges follow it to within half its 4 px.
    const edge = meanError(backward, -4, 0, (x, y) => y >= 20 && y < 28 && (x === 14 || x === 25));
    assert.ok(edge < 2, `the square's left and right edges are ${edge.toFixed(2)} px off its motion`);
  });

  it('warps an image along a flow, bilinear, and refuses mismatched sizes', () => {
    const image = crop(photo, 0, 0, 8, 4);
    const flow = { width: 8, height: 4, dx: new Float32Array(32).fill(2), dy: new Float32Array(32) };
    const moved = warp(image, flow);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 6; x++) {
        assert.deepEqual(moved.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3), image.data.subarray((y * 8 + x + 2) * 3, (y * 8 + x + 2) * 3 + 3));
      }
    }
    flow.dx.fill(0.5);
    const half = warp(image, flow);
    assert.equal(half.data[0], Math.round((image.data[0] + image.data[3]) / 2));
    assert.throws(() => warp(crop(photo, 0, 0, 4, 4), flow), /a 4x4 image and a 8x4 flow/);
    assert.throws(() => estimateFlow(image, crop(photo, 0, 0, 4, 8)), /different sizes/);
  });
});
