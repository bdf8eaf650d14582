import { command, UsageError } from './args';

const USAGE = `Usage: stylegraph healthcheck [--live] [URL]

Asks a running service whether it is ready (GET /readyz) or, with --live,
alive (GET /healthz); exits 0 when it is, 1 when not. For container health
checks, which need no curl then:
  healthcheck: { test: ["CMD", "node", "bin/stylegraph.js", "healthcheck"] }

URL defaults to http://127.0.0.1:$STYLEGRAPH_OPS_PORT, else http://127.0.0.1:$PORT (4000).`;

/** How long the service has to answer. */
const TIMEOUT_MS = 5_000;

export const healthcheckCommand = command({
  name: 'healthcheck',
  usage: USAGE,
  options: { live: { type: 'boolean' } },
  positionals: true,
  run: ({ values, positionals }) => {
    if (positionals.length > 1) throw new UsageError('takes at most one URL');
    return check(positionals[0], values.live ?? false);
  },
});

async function check(server: string | undefined, live: boolean): Promise<number> {
  const port = process.env.STYLEGRAPH_OPS_PORT || process.env.PORT || '4000';
  const base = (server ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const url = `${base}${live ? '/healthz' : '/readyz'}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = (await response.text()).trim();
    (response.ok ? console.log : console.error)(`${url}: ${response.status} ${body}`);
    return response.ok ? 0 : 1;
  } catch (err) {
    console.error(`${url}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
