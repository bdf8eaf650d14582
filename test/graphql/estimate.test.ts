import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorCodes, TestApi } from './harness.js';

const ESTIMATE = `query($input: StartRunInput!) {
  estimateRun(input: $input) { seconds steps peakMemoryBytes heapBytes heapLimitBytes fits largestMaxDim backend device threads measuredRuns }
}`;
const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { id params { optimizer learningRate lbfgsHistory } } }';

describe('estimates, memory limits and optimisers through GraphQL', () => {
  let api: TestApi;
  let content: string;
  let style: string;
  before(async () => {
    api = await TestApi.start('pglite');
    content = await api.createImage(1, 32);
    style = await api.createImage(2, 32);
  });
  after(() => api?.close());

  const estimate = async (input: Record<string, unknown>) =>
    (await api.query(ESTIMATE, { input: { contentImageId: content, styleImageIds: [style], ...input } })).estimateRun;

  test('a run too large for WebAssembly memory is refused at once, naming maxDim and the largest size that fits, and nothing is written', async () => {
    const big = await estimate({ maxDim: 1024 });
    assert.equal(big.fits, false);
    assert.equal(big.backend, 'wasm');
    assert.equal(big.heapLimitBytes, 4294901760);
    assert.ok(big.largestMaxDim > 512 && big.largestMaxDim < 1024, `largest ${big.largestMaxDim}`);
    const { errors } = await api.request(START, { input: { contentImageId: content, styleImageIds: [style], maxDim: 1024 } });
    assert.deepEqual(errorCodes(errors), [{ code: 'BAD_USER_INPUT', field: 'maxDim' }]);
    assert.match(errors![0].message, new RegExp(`^maxDim: 1024 needs about .* GiB of this server's 4.0 GiB of WebAssembly memory; the largest that fits is ${big.largestMaxDim} px$`));
    assert.equal(await api.service.db.prisma.run.count(), 0);
  });

  test('style images scaled past what fits are refused naming styleScale', async () => {
    const { errors } = await api.request(START, { input: { contentImageId: content, styleImageIds: [style], maxDim: 512, styleScale: 8 } });
    assert.deepEqual(errorCodes(errors), [{ code: 'BAD_USER_INPUT', field: 'styleScale' }]);
    assert.match(errors![0].message, /^styleScale: 8 needs about .*; the largest that fits at maxDim 512 is [\d.]+$/);
  });

  test('serviceInfo reports the largest square size per backend', async () => {
    const { serviceInfo } = await api.query('{ serviceInfo { capacity { backend largestSquareMaxDim memoryLimitBytes } } }');
    const byBackend = Object.fromEntries(serviceInfo.capacity.map((c: { backend: string }) => [c.backend, c]));
    assert.ok(byBackend.wasm.largestSquareMaxDim > 512 && byBackend.wasm.largestSquareMaxDim < 1024);
    assert.equal(byBackend.tensorflow.largestSquareMaxDim, null);
  });

  test('L-BFGS takes its own learning rate; a clone that names another optimiser takes that one\'s', async () => {
    const before = await estimate({ maxDim: 32, epochs: 2, stepsPerEpoch: 3, optimizer: 'LBFGS' });
    assert.equal(before.seconds, null, 'no engine has measured itself yet');
    assert.equal(before.steps, 6);
    const { startRun: lbfgs } = await api.query(START, { input: { contentImageId: content, styleImageIds: [style], maxDim: 32, epochs: 2, stepsPerEpoch: 3, optimizer: 'LBFGS' } });
    assert.deepEqual(lbfgs.params, { optimizer: 'LBFGS', learningRate: 1, lbfgsHistory: 100 });
    const { startRun: adam } = await api.query(START, { input: { cloneOf: lbfgs.id, optimizer: 'ADAM' } });
    assert.deepEqual(adam.params, { optimizer: 'ADAM', learningRate: 0.02, lbfgsHistory: 100 });
    for (const id of [lbfgs.id, adam.id]) {
      const results = await api.subscribe('subscription($runId: ID!) { runEvents(runId: $runId) { run { status error } } }', { runId: id });
      assert.equal(results.at(-1)!.data.runEvents.run.status, 'SUCCEEDED', JSON.stringify(results.at(-1)));
    }
  });

  test('once an engine has measured itself and made runs, estimates give seconds on it that grow with the work', async () => {
    const small = await estimate({ maxDim: 32, epochs: 2, stepsPerEpoch: 3 });
    assert.ok(small.seconds > 0);
    assert.match(small.device, /WebAssembly SIMD, \d+ threads?/);
    assert.ok(small.measuredRuns >= 1, 'the runs above corrected it');
    const longer = await estimate({ maxDim: 32, epochs: 4, stepsPerEpoch: 3 });
    const larger = await estimate({ maxDim: 256, epochs: 2, stepsPerEpoch: 3 });
    assert.ok(longer.seconds > small.seconds && larger.seconds > longer.seconds, `${small.seconds} ${longer.seconds} ${larger.seconds}`);
    assert.ok(larger.peakMemoryBytes > small.peakMemoryBytes);
  });
});
