// Follows a run's events live: node examples/follow-run.mjs RUN_ID [SINCE_EPOCH]
// Server: STYLEGRAPH_URL (default http://127.0.0.1:4000). Prints the stored
// epochs first (all of them, or those after SINCE_EPOCH), then live ones, and
// exits after the run's final status.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [runId, sinceEpoch = '0'] = process.argv.slice(2);
if (!runId) {
  console.error('usage: node examples/follow-run.mjs RUN_ID [SINCE_EPOCH]');
  process.exit(2);
}
const server = process.env.STYLEGRAPH_URL ?? 'http://127.0.0.1:4000';
const client = createClient({ url: `${server.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket });

// graphql-ws sends this object again when it reconnects: with afterSequence kept at the last
// event seen, the new subscription starts after it and no event is printed twice.
const variables = { runId, sinceEpoch: Number(sinceEpoch), afterSequence: 0 };
const events = client.iterate({
  query: `subscription($runId: ID!, $sinceEpoch: Int, $afterSequence: Int) {
    runEvents(runId: $runId, sinceEpoch: $sinceEpoch, afterSequence: $afterSequence) {
      sequence kind status
      run { error }
      epoch { epoch step totalLoss styleLoss contentLoss elapsedMs preview { url } }
    }
  }`,
  variables,
});
try {
  for await (const { data, errors } of events) {
    if (errors) throw new Error(errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
    const { sequence, kind, status, run, epoch } = data.runEvents;
    if (sequence <= variables.afterSequence) continue;
    variables.afterSequence = sequence;
    console.log(kind === 'EPOCH'
      ? `#${sequence} epoch ${epoch.epoch} (step ${epoch.step}, ${epoch.elapsedMs} ms): total ${epoch.totalLoss.toExponential(3)}, `
        + `style ${epoch.styleLoss.toExponential(3)}, content ${epoch.contentLoss.toExponential(3)}  ${epoch.preview.url}`
      : `#${sequence} ${status}${status === 'FAILED' ? `: ${run.error}` : ''}`);
  }
} finally {
  await client.dispose();
}
