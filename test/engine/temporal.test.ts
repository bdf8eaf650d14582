import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initBackend, paint, resolveParams, type PreviousFrame, type RgbImage, type TransferParams, type Vgg19 } from '../../src/engine';
import { flicker, staticMask } from '../../src/engine/temporal';
import { readSharedImage, sharedVgg19 } from '../helpers/shared-data';

const SIZE = 40;

/** `count` frames of a red 10 px square moving 6 px a frame over a still photo. */
function movingSquare(background: RgbImage, count: number): RgbImage[] {
  return Array.from({ length: count }, (_, frame) => {
    const data = Uint8Array.from(background.data);
    for (let y = 14; y < 24; y++) {
      for (let x = 2 + frame * 6; x < 12 + frame * 6; x++) data.set([230, 40, 40], (y * background.width + x) * 3);
    }
    return { ...background, data };
  });
}

function solid(width: number, height: number, value: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

async function lastImage(vgg: Vgg19, content: RgbImage, style: RgbImage, params: TransferParams, previous?: PreviousFrame): Promise<RgbImage> {
  let image: RgbImage | undefined;
  for await (const event of paint(vgg, { content, styles: [style], params, previous })) if (event.kind === 'epoch') image = event.image;
  return image!;
}

/** Each frame painted after the one before, as the worker paints an animation. */
async function paintFrames(vgg: Vgg19, contents: RgbImage[], style: RgbImage, params: TransferParams): Promise<RgbImage[]> {
  const results: RgbImage[] = [];
  for (const [i, content] of contents.entries()) {
    results.push(await lastImage(vgg, content, style, params, i > 0 ? { content: contents[i - 1], result: results[i - 1] } : undefined));
  }
  return results;
}

/** Mean absolute difference (0-255) of two images over the pixels where `where` is true. */
function meanDifference(a: RgbImage, b: RgbImage, where: (x: number, y: number) => boolean): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (!where(x, y)) continue;
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[(y * a.width + x) * 3 + c] - b.data[(y * a.width + x) * 3 + c]);
      count += 3;
    }
  }
  return sum / count;
}

describe('temporal coherence', () => {
  it('staticMask marks what stood still, above noise of a few levels', () => {
    const before = solid(4, 2, 100);
    const after = solid(4, 2, 100);
    after.data.set([110, 95, 104], 0); // 19 levels in all: noise
    after.data.set([180, 100, 100], 3 * 5); // 80 levels: it moved
    assert.deepEqual(Array.from(staticMask(before, after)), [1, 1, 1, 1, 1, 0, 1, 1]);
    assert.throws(() => staticMask(before, solid(2, 4, 100)), /different sizes/);
  });

  it('flicker averages the change between results where the content stood still, over the pairs', () => {
    const contents = [solid(4, 4, 0), solid(4, 4, 0), solid(4, 4, 0)];
    contents[2].data.fill(255, 0, 8 * 3); // the top half of the last content frame changes
    const results = [solid(2, 2, 10), solid(2, 2, 16), solid(2, 2, 16)];
    results[2].data.fill(200, 0, 2 * 3); // ... and its result there, which does not count
    results[2].data[3 * 3] = 22; // one static pixel's channel changes by 6 of the 6 values counted
    // Results half the contents' size: each result pixel takes the mask of the content pixel it comes from.
    assert.equal(flicker(contents, results), (6 + 1) / 2);
    assert.equal(flicker([contents[0]], [results[0]]), null, 'one frame has no pair');
    assert.throws(() => flicker(contents, results.slice(1)), /3 content frames for 2 results/);
  });

  describe('with the real VGG19', () => {
    let vgg: Vgg19;
    let contents: RgbImage[];
    let style: RgbImage;
    before(async () => {
      await initBackend({ backend: 'wasm' });
      vgg = await sharedVgg19();
      contents = movingSquare(await readSharedImage('tubingen.jpg', SIZE), 3);
      style = await readSharedImage('starry_night.jpg', SIZE);
    });
    const params = (temporalWeight?: number) => resolveParams({ maxDim: SIZE, epochs: 1, stepsPerEpoch: 24, temporalWeight });

    it('holds what stood still to the previous result (flicker several times lower) and leaves what moved free', async () => {
      const independent = await paintFrames(vgg, contents, style, params(0));
      const coherent = await paintFrames(vgg, contents, style, params());
      const [without, withCoherence] = [flicker(contents, independent)!, flicker(contents, coherent)!];
      assert.ok(withCoherence < without / 3, `flicker ${withCoherence.toFixed(2)} with coherence, ${without.toFixed(2)} without`);
      // Where the square arrives, the painted frame changes as the content did.
      const arrived = (x: number, y: number) => y >= 14 && y < 24 && x >= 12 && x < 18;
      const moved = meanDifference(coherent[1], coherent[0], arrived);
      assert.ok(moved > 5 * withCoherence, `the painted frame changed by ${moved.toFixed(2)} where the square arrived, ${withCoherence.toFixed(2)} where nothing moved`);
    });

    it('at temporalWeight 0 a previous frame changes nothing', async () => {
      const previous = { content: contents[0], result: await lastImage(vgg, contents[0], style, params(0)) };
      assert.deepEqual(await lastImage(vgg, contents[1], style, params(0), previous), await lastImage(vgg, contents[1], style, params(0)));
    });

    it('a frame resumed from a checkpoint ends as one painted in one go', async () => {
      const frame = { ...params(), epochs: 2, stepsPerEpoch: 3 };
      const previous = { content: contents[0], result: await lastImage(vgg, contents[0], style, params()) };
      const events = [];
      for await (const event of paint(vgg, { content: contents[1], styles: [style], params: frame, previous })) if (event.kind === 'epoch') events.push(event);
      let resumed: RgbImage | undefined;
      for await (const event of paint(vgg, { content: contents[1], styles: [style], params: frame, previous, resume: events[0].checkpoint! })) {
        if (event.kind === 'epoch') resumed = event.image;
      }
      assert.deepEqual(resumed, events[1].image);
    });
  });
});
