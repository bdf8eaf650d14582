// Sweeps the style weight: node examples/sweep-style-weight.mjs CONTENT.jpg STYLE.jpg [WEIGHT...]
// Server: STYLEGRAPH_URL (default http://127.0.0.1:4000). Uploads the two
// images, starts one run, clones it once per further weight (a sweep is a
// loop of one mutation), waits for them all and prints their final losses.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [contentPath, stylePath, ...weightArgs] = process.argv.slice(2);
if (!stylePath) {
  console.error('usage: node examples/sweep-style-weight.mjs CONTENT STYLE [WEIGHT...]');
  process.exit(2);
}
const weights = weightArgs.length > 0 ? weightArgs.map(Number) : [1e-3, 1e-2, 1e-1, 1];
const settings = { maxDim: Number(process.env.MAX_DIM ?? 256), epochs: Number(process.env.EPOCHS ?? 5), stepsPerEpoch: Number(process.env.STEPS ?? 20) };
const server = process.env.STYLEGRAPH_URL ?? 'http://127.0.0.1:4000';

async function graphql(query, variables) {
  const response = await fetch(`${server}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const { data, errors } = await response.json();
  if (errors) throw new Error(errors.map((e) => `${e.extensions?.field ?? e.extensions?.code}: ${e.message}`).join('; '));
  return data;
}

async function createImage(path) {
  const mime = { '.png': 'image/png', '.webp': 'image/webp' }[extname(path).toLowerCase()] ?? 'image/jpeg';
  const dataUrl = `data:${mime};base64,${(await readFile(path)).toString('base64')}`;
  return (await graphql('mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id } }', { dataUrl })).createImage.id;
}

const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { id } }';
const [contentImageId, styleImageId] = await Promise.all([createImage(contentPath), createImage(stylePath)]);
const first = (await graphql(START, { input: { contentImageId, styleImageIds: [styleImageId], styleWeight: weights[0], ...settings } })).startRun.id;
const runIds = [first];
for (const styleWeight of weights.slice(1)) runIds.push((await graphql(START, { input: { cloneOf: first, styleWeight } })).startRun.id);

// Each run's event stream completes after its final status.
const client = createClient({ url: `${server.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket });
await Promise.all(runIds.map(async (runId) => {
  for await (const { errors } of client.iterate({ query: 'subscription($runId: ID!) { runEvents(runId: $runId) { sequence } }', variables: { runId } })) {
    if (errors) throw new Error(errors[0].message);
  }
}));
await client.dispose();

const rows = [];
for (const id of runIds) {
  const { run } = await graphql('query($id: ID!) { run(id: $id) { status error params { styleWeight } epochs { totalLoss styleLoss contentLoss } resultImage { url } } }', { id });
  const last = run.epochs.at(-1);
  rows.push({ styleWeight: run.params.styleWeight, status: run.status, totalLoss: last?.totalLoss, styleLoss: last?.styleLoss, contentLoss: last?.contentLoss, result: run.resultImage?.url ?? run.error });
}
console.table(rows);
