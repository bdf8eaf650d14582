const USAGE = `Usage: stylegraph healthcheck [--live] [URL]

Asks a running service whether it is ready (GET /readyz) or, with --live,
alive (GET /healthz); exits 0 when it is, 1 when not. For container health
checks, which need no curl then:
  healthcheck: { test: ["CMD", "node", "bin/stylegraph.js", "healthcheck"] }

URL defaults to http://127.0.0.1:$STYLEGRAPH_OPS_PORT, else http://127.0.0.1:$PORT (4000).`;

/** How long the service has to answer. */
const TIMEOUT_MS = 5_000;

export async function healthcheckCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const live = args.includes('--live');
  const rest = args.filter((arg) => arg !== '--live');
  if (rest.length > 1 || rest.some((arg) => arg.startsWith('-'))) {
    console.error(USAGE);
    return 2;
  }
  const port = process.env.STYLEGRAPH_OPS_PORT || process.env.PORT || '4000';
  const base = (rest[0] ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
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
