import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { MovingImages } from '../../src/images/moving-images.js';
import { decodeVideo, probeVideo } from '../../src/images/video.js';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits.js';
import { locateVideoTools, runTool } from '../../src/images/video-tools.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { makeAnimation, makePng, makeVideo } from '../helpers/images.js';
import { errorCodes, TestApi, uploadImage } from './harness.js';

const FIELDS = 'id mimeType width height frames durationMs fps';
const CREATE = `mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { ${FIELDS} } }`;
const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { id totalFrames } }';
const EVENTS = 'subscription($runId: ID!) { runEvents(runId: $runId) { kind status frame { frame delayMs image { url } } } }';
const RUN = `query($id: ID!) {
  run(id: $id) { status error totalFrames currentFrame totalEpochs flicker frames { frame delayMs image { url } } resultImage { ${FIELDS} url } }
}`;
const FAST = { mode: 'FAST', preset: 'wave', maxDim: 32 };
const tools = locateVideoTools();

const dataUrl = (type: string, bytes: Buffer) => `data:${type};base64,${bytes.toString('base64')}`;

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return Buffer.from(await response.arrayBuffer());
}

/** ffprobe's word on a video's streams: codec and, for video, size, rate and frames counted by decoding. */
async function streams(bytes: Buffer, format: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stylegraph-probe-'));
  try {
    await writeFile(path.join(dir, `v.${format}`), bytes);
    const { stdout } = await runTool(tools!.ffprobe, [
      '-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,width,height,avg_frame_rate,nb_read_frames', '-of', 'compact=p=0:nk=1', path.join(dir, `v.${format}`),
    ], { maxStdoutBytes: 1 << 16, timeoutMs: 300_000 });
    return stdout.toString().trim().split('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Mean absolute difference (0-255) between two images of one size, RGB, over
 * 2x2 blocks: 4:2:0 video keeps one colour a block (a tiny painted frame's
 * pixel-sized strokes of colour are lost, and meant to be).
 */
async function difference(a: Uint8Array, b: Uint8Array): Promise<number> {
  const blocks = async (image: Uint8Array) => {
    const { width, height } = await sharp(image).metadata();
    return sharp(image).removeAlpha().resize(width / 2, height / 2, { kernel: 'linear' }).raw().toBuffer();
  };
  const [pa, pb] = await Promise.all([a, b].map(blocks));
  assert.equal(pa.length, pb.length);
  let sum = 0;
  for (let i = 0; i < pa.length; i++) sum += Math.abs(pa[i] - pb[i]);
  return sum / pa.length;
}

describe('videos in', { skip: tools ? false : 'no ffmpeg here (npm ci installs @ffmpeg-installer/ffmpeg)' }, () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api' });
  });
  after(() => api?.close());

  for (const format of ['mp4', 'webm'] as const) {
    test(`a ${format.toUpperCase()} uploads with its frames, duration and rate, counted by decoding it; GET serves the same bytes`, async () => {
      const video = await makeVideo(format, 48, 32, 10, 10, { audio: true });
      const uploaded = await uploadImage(api.graphqlUrl, { bytes: video, type: `video/${format}`, fileName: `square.${format}` }, FIELDS);
      assert.equal(uploaded.errors, undefined, JSON.stringify(uploaded.errors));
      const { id, ...image } = uploaded.data!.uploadImage;
      assert.deepEqual(image, { mimeType: `video/${format}`, width: 48, height: 32, frames: 10, durationMs: 1000, fps: 10 });
      const served = await fetch(`${api.server.url}/images/${id}`);
      assert.equal(served.headers.get('content-type'), `video/${format}`);
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), video);
    });
  }

  test('a video is painted only as a run\'s content, and of more than one frame; refused otherwise, naming the field, and no run is made', async () => {
    const video = (await api.query(CREATE, { dataUrl: dataUrl('video/webm', await makeVideo('webm', 24, 24, 3, 10)) })).createImage.id;
    const single = (await api.query(CREATE, { dataUrl: dataUrl('video/mp4', await makeVideo('mp4', 24, 24, 1, 10)) })).createImage.id;
    const png = (await api.query(CREATE, { dataUrl: dataUrl('image/png', await makePng(24, 24, 1)) })).createImage.id;
    const runs = await api.service.db.prisma.run.count();
    const style = await api.request(START, { input: { contentImageId: png, styleImageIds: [video] } });
    assert.deepEqual(errorCodes(style.errors), [{ code: 'BAD_USER_INPUT', field: 'styleImageIds[0]' }]);
    assert.match(style.errors![0].message, /^styleImageIds\[0\]: is a video \(3 frames\); runs paint still PNG, JPEG or WebP images$/);
    const still = await api.request(START, { input: { contentImageId: single, styleImageIds: [png] } });
    assert.deepEqual(errorCodes(still.errors), [{ code: 'BAD_USER_INPUT', field: 'contentImageId' }]);
    assert.match(still.errors![0].message, /^contentImageId: is a video of one frame; .* and videos \(MP4, WebM\) as the content$/);
    assert.equal(await api.service.db.prisma.run.count(), runs);
  });

  test('serviceInfo lists the video types this server accepts', async () => {
    const { serviceInfo } = await api.query('{ serviceInfo { acceptedTypes } }');
    assert.deepEqual(serviceInfo.acceptedTypes, ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'video/mp4', 'video/webm']);
  });

  test('a truncated video is refused as corrupt, naming the field; a declared type that is not the content\'s is refused', async () => {
    const video = await makeVideo('mp4', 48, 32, 10, 10);
    const images = await api.service.db.prisma.image.count();
    const cut = await api.request(CREATE, { dataUrl: dataUrl('video/mp4', video.subarray(0, video.length - 2000)) });
    assert.deepEqual(errorCodes(cut.errors), [{ code: 'BAD_USER_INPUT', field: 'dataUrl' }]);
    assert.match(cut.errors![0].message, /^dataUrl: corrupt or truncated MP4 video: /);
    const mislabelled = await api.request(CREATE, { dataUrl: dataUrl('video/webm', video) });
    assert.match(mislabelled.errors![0].message, /^dataUrl: is declared as video\/webm but holds video\/mp4/);
    assert.equal(await api.service.db.prisma.image.count(), images);
  });

  test('a file of a few bytes is no video, nor anything else: refused, naming the field', async () => {
    for (const bytes of [Buffer.from([0x1a]), Buffer.from('ftyp')]) {
      const response = await api.request(CREATE, { dataUrl: dataUrl('application/octet-stream', bytes) });
      assert.deepEqual(errorCodes(response.errors), [{ code: 'BAD_USER_INPUT', field: 'dataUrl' }]);
    }
  });
});

describe('videos over the limits', { skip: tools ? false : 'no ffmpeg here' }, () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api', limits: { maxFrames: 5, maxImagePixels: 48 * 32, maxTotalPixels: 48 * 32 * 5, maxDurationMs: 800 } });
  });
  after(() => api?.close());

  async function refused(bytes: Buffer, type: string): Promise<string> {
    const images = await api.service.db.prisma.image.count();
    const response = await api.request(CREATE, { dataUrl: dataUrl(type, bytes) });
    assert.deepEqual(errorCodes(response.errors), [{ code: 'BAD_USER_INPUT', field: 'dataUrl' }]);
    assert.equal(await api.service.db.prisma.image.count(), images, 'nothing stored');
    return response.errors![0].message;
  }

  test('frames over the limit are refused from the header: an MP4 whose frames are cut off is refused for its count, not as corrupt', async () => {
    const video = await makeVideo('mp4', 16, 16, 10, 20);
    assert.match(await refused(video, 'video/mp4'), /^dataUrl: has more than 5 frames; this server accepts animations of at most 5 frames/);
    // Its index (written first) declares 10 frames; their data is gone. Decoding would find it corrupt: it is not decoded.
    assert.match(await refused(video.subarray(0, 1200), 'video/mp4'), /more than 5 frames/);
  });

  test('a WebM, whose header gives no frame count, is measured by its duration and rate', async () => {
    assert.match(await refused(await makeVideo('webm', 16, 16, 12, 20), 'video/webm'), /more than 5 frames/);
  });

  test('a header that understates its frames decodes one frame past the limit, and is refused for it', async () => {
    const bytes = await makeVideo('webm', 16, 16, 12, 20);
    const limits = { ...DEFAULT_API_LIMITS, maxFrames: 5 };
    const declared = await probeVideo(bytes, 'webm', 'file', DEFAULT_API_LIMITS, tools!);
    assert.equal(declared.frames, 12);
    await assert.rejects(decodeVideo(bytes, { ...declared, frames: 1, durationMs: 50 }, 'file', limits, tools!), /^ParamError: file: has more than 5 frames/);
    assert.deepEqual(await decodeVideo(bytes, declared, 'file', DEFAULT_API_LIMITS, tools!), { frames: 12, durationMs: 600 });
  });

  test('a frame over the pixel limit and a video over the duration limit are refused, naming the field', async () => {
    assert.match(await refused(await makeVideo('mp4', 64, 32, 2, 10), 'video/mp4'), /each frame is 64x32 = 2048 pixels, more than the limit of 1536/);
    assert.match(await refused(await makeVideo('webm', 16, 16, 4, 4), 'video/webm'), /lasts 1000 ms; this server accepts animations of at most 800 ms/);
  });
});

describe('a server without ffmpeg', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api', video: null });
  });
  after(() => api?.close());

  test('refuses videos saying why, and still takes GIF and WebP animations', { skip: tools ? false : 'no ffmpeg here to make a video' }, async () => {
    const response = await uploadImage(api.graphqlUrl, { bytes: await makeVideo('mp4', 16, 16, 2, 10), type: 'video/mp4', fileName: 'clip.mp4' }, 'id');
    assert.deepEqual(errorCodes(response.errors), [{ code: 'BAD_USER_INPUT', field: 'file' }]);
    assert.match(response.errors![0].message, /is an MP4 video; this server has no ffmpeg to read videos with \(GIF and animated WebP images work\)/);
    const gif = await api.query(CREATE, { dataUrl: dataUrl('image/gif', await makeAnimation('gif', 16, 16, [100, 100], 1)) });
    assert.equal(gif.createImage.frames, 2);
    const { serviceInfo } = await api.query('{ serviceInfo { acceptedTypes } }');
    assert.deepEqual(serviceInfo.acceptedTypes, ['image/png', 'image/jpeg', 'image/webp', 'image/gif']);
  });
});

for (const kind of DATABASE_KINDS) {
  describe(`runs over videos on ${kind}`, { skip: tools ? false : 'no ffmpeg here' }, () => {
    let api: TestApi;
    before(async () => {
      api = await TestApi.start(kind);
    });
    after(() => api?.close());

    async function paint(type: string, video: Buffer, input: object) {
      const content = (await api.query(CREATE, { dataUrl: dataUrl(type, video) })).createImage.id;
      const { startRun } = await api.query(START, { input: { contentImageId: content, ...input } });
      const results = await api.subscribe<{ runEvents: { kind: string; frame: { frame: number } | null } }>(EVENTS, { runId: startRun.id });
      const { run } = await api.query(RUN, { id: startRun.id });
      assert.equal(run.status, 'SUCCEEDED', run.error);
      return { run, events: results.map((result) => result.data!.runEvents) };
    }

    test('FAST over an MP4 with sound: a FRAME event per frame, then an MP4 of the painted frames at the same rate, the sound kept', async () => {
      const { run, events } = await paint('video/mp4', await makeVideo('mp4', 40, 32, 6, 12, { audio: true, seed: 3 }), FAST);
      assert.deepEqual(events.flatMap((e) => e.frame ? [e.frame.frame] : []), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual([run.totalFrames, run.currentFrame], [6, 6]);
      // 1000 / 12 fps, to the ms.
      assert.deepEqual(run.frames.map((f: { delayMs: number }) => f.delayMs), [83, 83, 83, 83, 83, 83]);
      const { url, id, ...result } = run.resultImage;
      // 40x32 fitted to maxDim 32 is 32x25, and 4:2:0 video is made of 2x2 blocks: 32x24.
      assert.deepEqual(result, { mimeType: 'video/mp4', width: 32, height: 24, frames: 6, durationMs: 500, fps: 12 });
      const bytes = await download(url);
      const probed = await streams(bytes, 'mp4');
      assert.equal(probed[0], 'h264|video|32|24|12/1|6');
      assert.match(probed[1], /^aac\|audio\|/);
      // Its frames are the painted ones, within what H.264 loses (cropped to 32x24 as the video is).
      const frames = (await new MovingImages(tools).read(bytes)).frames;
      for (const [i, frame] of run.frames.entries()) {
        const painted = await sharp(await download(frame.image.url)).extract({ left: 0, top: 0, width: 32, height: 24 }).png().toBuffer();
        const off = await difference(painted, frames[i]);
        const next = await difference(painted, frames[(i + 1) % frames.length]);
        assert.ok(off < 10 && off < next, `frame ${i + 1} is ${off} off its painted frame on average, ${next} off the next`);
      }
    });

    test('OPTIMIZE over a WebM: epochs within each frame, a WebM out', async () => {
      const style = (await api.query(CREATE, { dataUrl: dataUrl('image/png', await makePng(32, 32, 3)) })).createImage.id;
      const { run } = await paint('video/webm', await makeVideo('webm', 32, 32, 3, 10, { seed: 4 }), { styleImageIds: [style], mode: 'OPTIMIZE', maxDim: 32, epochs: 1, stepsPerEpoch: 3 });
      assert.deepEqual([run.totalFrames, run.totalEpochs], [3, 3]);
      assert.deepEqual([run.resultImage.mimeType, run.resultImage.frames, run.resultImage.durationMs], ['video/webm', 3, 300]);
      assert.ok(run.flicker >= 0, `flicker ${run.flicker}`);
      assert.equal((await streams(await download(run.resultImage.url), 'webm'))[0], 'vp9|video|32|32|10/1|3');
    });
  });
}
