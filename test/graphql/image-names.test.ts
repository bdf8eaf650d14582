import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AuthApi, imageDataUrl } from '../helpers/auth-api.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { makePng } from '../helpers/images.js';
import { errorCodes, TestApi, uploadImage } from './harness.js';

const CREATE = 'mutation($dataUrl: String!, $fileName: String) { createImage(dataUrl: $dataUrl, fileName: $fileName) { id fileName } }';
const IMAGE = 'query($id: ID!) { image(id: $id) { fileName } }';
const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { contentImage { fileName } styleImages { fileName } } }';
const TINY = { maxDim: 24, epochs: 1, stepsPerEpoch: 1 };

/** uploadImage of a PNG named `fileName`. */
function upload(graphqlUrl: string, png: Buffer, fileName: string, token?: string) {
  return uploadImage<{ id: string; fileName: string | null }>(graphqlUrl, { bytes: png, type: 'image/png', fileName }, 'id fileName', token);
}

let seed = 100;
/** A PNG no other test stored: each test decides itself which bytes are the same. */
const freshPng = () => makePng(24, 24, seed++);

// Auth off: the one anonymous caller's names are kept on the image itself.
for (const kind of DATABASE_KINDS) {
  describe(`image file names on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await TestApi.start(kind, { role: 'api' });
    });
    after(() => api?.close());

    const create = async (png: Buffer, fileName?: string | null) => (await api.query(CREATE, { dataUrl: await imageDataUrl(png), fileName })).createImage;
    const fileNameOf = async (id: string) => (await api.query(IMAGE, { id })).image.fileName;

    test('uploadImage keeps the uploaded file\'s name, createImage its fileName; image(id) and a run\'s images read them back', async () => {
      const uploaded = (await upload(api.graphqlUrl, await freshPng(), 'portrait.png')).data!.uploadImage;
      assert.equal(uploaded.fileName, 'portrait.png');
      // Decomposed, as macOS sends it: kept composed.
      const created = await create(await freshPng(), 'Cafe\u0301 study.png');
      assert.equal(created.fileName, 'Caf\u00e9 study.png');
      assert.equal((await create(await freshPng())).fileName, null);
      assert.equal(await fileNameOf(uploaded.id), 'portrait.png');
      assert.equal(await fileNameOf(created.id), 'Caf\u00e9 study.png');
      const run = (await api.query(START, { input: { contentImageId: uploaded.id, styleImageIds: [created.id], ...TINY } })).startRun;
      assert.deepEqual(run, { contentImage: { fileName: 'portrait.png' }, styleImages: [{ fileName: 'Caf\u00e9 study.png' }] });
    });

    test('a path is cut to its file name; a blank or directory-only name is no name', async () => {
      assert.equal((await upload(api.graphqlUrl, await freshPng(), '../../shots/2024/beach.png')).data!.uploadImage.fileName, 'beach.png');
      assert.equal((await create(await freshPng(), 'C:\\Users\\me\\Pictures\\dunes.png')).fileName, 'dunes.png');
      // Only the name counts against the limit.
      assert.equal((await create(await freshPng(), `${'deep/'.repeat(100)}cliff.png`)).fileName, 'cliff.png');
      for (const blank of ['', '   ', '/tmp/', 'photos/..', '.']) assert.equal((await create(await freshPng(), blank)).fileName, null, JSON.stringify(blank));
    });

    test('an over-long or unprintable name is refused naming fileName (file for uploads), and nothing is stored or renamed', async () => {
      const longest = `${'a'.repeat(251)}.png`;
      const namedPng = await freshPng();
      const named = await create(namedPng, longest);
      assert.equal(named.fileName, longest);
      const images = await api.service.db.prisma.image.count();
      const png = await freshPng();
      for (const fileName of [`${'a'.repeat(252)}.png`, 'two\nlines.png', 'nul\u0000.png', 'bell\u0007.png', 'c1\u0085.png', 'half\ud800.png', 'invoice\u202Egnp.exe', 'zero\u200Bwidth.png', 'x'.repeat(10_000)]) {
        const created = await api.request(CREATE, { dataUrl: await imageDataUrl(png), fileName });
        assert.deepEqual(errorCodes(created.errors), [{ code: 'BAD_USER_INPUT', field: 'fileName' }], JSON.stringify(fileName));
        // The same name for the bytes already stored: refused, and their name stays.
        const renamed = await api.request(CREATE, { dataUrl: await imageDataUrl(namedPng), fileName });
        assert.deepEqual(errorCodes(renamed.errors), [{ code: 'BAD_USER_INPUT', field: 'fileName' }], JSON.stringify(fileName));
      }
      for (const fileName of [`${'b'.repeat(256)}.png`, 'bell\u0007.png', 'tab\tand\u0001.png']) {
        const uploaded = await upload(api.graphqlUrl, png, fileName);
        assert.deepEqual(errorCodes(uploaded.errors), [{ code: 'BAD_USER_INPUT', field: 'file' }], JSON.stringify(fileName));
        assert.match((uploaded.errors![0] as { message: string }).message, /^file: the file name /);
      }
      const refused = await api.request(CREATE, { dataUrl: await imageDataUrl(png), fileName: 'x'.repeat(300) });
      assert.equal(refused.errors![0].message, 'fileName: the file name is 300 characters long; this server keeps names of at most 255');
      assert.equal(await api.service.db.prisma.image.count(), images);
      assert.equal(await fileNameOf(named.id), longest);
    });

    test('the same bytes uploaded again under a new name are renamed (the latest name wins); again without a name keep it', async () => {
      const png = await freshPng();
      const first = await create(png, 'first.png');
      const second = (await upload(api.graphqlUrl, png, 'second.png')).data!.uploadImage;
      assert.deepEqual(second, { id: first.id, fileName: 'second.png' });
      assert.equal(await fileNameOf(first.id), 'second.png');
      assert.equal((await create(png)).fileName, 'second.png');
      assert.equal(await api.service.db.prisma.image.count({ where: { sha256: first.id } }), 1);
    });

    test('a preset\'s painting has no file name: nobody uploaded it, the preset names it', async () => {
      const { presets } = await api.query('{ presets { name painting { fileName } } }');
      const wave = presets.find((preset: { name: string }) => preset.name === 'wave');
      assert.equal(wave.painting.fileName, null);
    });
  });
}

describe('image file names per owner', () => {
  let api: AuthApi;
  let alice: string;
  let bob: string;
  let admin: string;
  before(async () => {
    api = await AuthApi.start({ role: 'api' });
    [alice, bob, admin] = [await api.token('alice'), await api.token('bob'), await api.token('root', true)];
  });
  after(() => api?.close());

  const fileNameOf = async (token: string, id: string) => (await api.query(token, IMAGE, { id })).image.fileName;

  test('two owners uploading the same bytes under different names each read their own, and no one else\'s', async () => {
    const png = await freshPng();
    const alices = (await upload(api.graphqlUrl, png, 'holiday.png', alice)).data!.uploadImage;
    const bobs = (await api.query(bob, CREATE, { dataUrl: await imageDataUrl(png), fileName: 'from-alice.png' })).createImage;
    assert.deepEqual([alices.fileName, bobs.fileName, bobs.id], ['holiday.png', 'from-alice.png', alices.id]);
    assert.equal(await fileNameOf(alice, alices.id), 'holiday.png');
    assert.equal(await fileNameOf(bob, alices.id), 'from-alice.png');
    // An admin sees the image but did not upload it: no one's name.
    assert.equal(await fileNameOf(admin, alices.id), null);

    // Bob renames his copy; alice's name stays.
    assert.equal((await upload(api.graphqlUrl, png, 'renamed.png', bob)).data!.uploadImage.fileName, 'renamed.png');
    assert.equal(await fileNameOf(alice, alices.id), 'holiday.png');
    const style = (await api.query(bob, CREATE, { dataUrl: await imageDataUrl(await freshPng()) })).createImage;
    const run = (await api.query(bob, START, { input: { contentImageId: alices.id, styleImageIds: [style.id], ...TINY } })).startRun;
    assert.deepEqual(run, { contentImage: { fileName: 'renamed.png' }, styleImages: [{ fileName: null }] });
    // Owners' names are on their claims, never on the image all share.
    const row = await api.service.db.prisma.image.findUniqueOrThrow({ where: { sha256: alices.id }, select: { fileName: true } });
    assert.equal(row.fileName, null);
  });
});
