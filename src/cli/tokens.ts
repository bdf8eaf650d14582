import { tokenCommandsVia, TOKENS_CHANNEL, type TokenCommands } from '../auth/token-control.js';
import { TokenStore, type TokenInfo } from '../auth/tokens.js';
import { loadConfig, MIGRATIONS_DIR } from '../config.js';
import { stderrLogger } from '../observability/logger.js';
import { askDataDirOwner, DataDirBusyError } from '../storage/data-dir-lock.js';
import { openDatabase } from '../storage/database.js';
import { command, subcommands, UsageError } from './args.js';

const USAGE = `Usage: stylegraph tokens <command>

  create --name NAME [--admin] [--owner TOKEN]
                   make an API token and print it (only once: only its hash is stored).
                   Runs and images belong to the token's own owner, unless --owner
                   (another token's id or name) shares that token's owner.
                   --admin: sees and manages every owner's runs and images.
  list             the tokens: id, name, owner, admin, created, last used, revoked
  revoke ID|NAME   refuse the token from now on (within 2 s on running servers)

Clients send "Authorization: Bearer <token>" (graphql-ws: connectionParams
{ authorization: "Bearer <token>" }) to a server started with STYLEGRAPH_AUTH=required.
The database is the service's (STYLEGRAPH_DATA_DIR or DATABASE_URL). The embedded
one can only be opened by one process: while a server holds it, the command is
sent to that server (through a socket in the data directory) and it does the work.`;

function describe(token: TokenInfo): string {
  const state = token.revokedAt ? `revoked ${token.revokedAt.toISOString()}` : 'active';
  return [
    token.id, JSON.stringify(token.name), `owner ${token.ownerId}`, token.admin ? 'admin' : 'user',
    `created ${token.createdAt.toISOString()}`, `last used ${token.lastUsedAt?.toISOString() ?? 'never'}`, state,
  ].join('  ');
}

/** No server holds the embedded database: the command may open it itself. */
class NoServer extends Error {}

function notAnswering(dataDir: string, pid: number, host?: string): Error {
  return new Error(
    `${dataDir} is held by process ${pid}${host ? ` on host ${host}` : ''}, which does not answer token commands: `
    + 'if it is a server that is still starting, try again once it serves; if it is an older version or another '
    + 'command, stop it first (or use PostgreSQL with DATABASE_URL)',
  );
}

/**
 * The service's tokens while `use` runs: on the embedded database held by a
 * running server, that server's (each command makes one call, so a NoServer
 * comes before anything was done or printed); else the database, opened here.
 */
async function withTokens<T>(use: (tokens: TokenCommands) => Promise<T>): Promise<T> {
  const { database } = loadConfig();
  if (database.kind === 'pglite') {
    const server = tokenCommandsVia(async (request) => {
      const answer = await askDataDirOwner(database.dataDir, TOKENS_CHANNEL, request);
      if (answer.kind === 'answered') return answer.value;
      if (answer.kind === 'no-owner') throw new NoServer();
      throw notAnswering(database.dataDir, answer.pid, answer.host);
    });
    try {
      return await use(server);
    } catch (err) {
      if (!(err instanceof NoServer)) throw err;
    }
  }
  let db;
  try {
    db = await openDatabase(database, MIGRATIONS_DIR, stderrLogger());
  } catch (err) {
    // A process took the directory after we asked (a server starting, or this command elsewhere).
    if (err instanceof DataDirBusyError) throw notAnswering(err.dataDir, err.pid, err.host);
    throw err;
  }
  try {
    return await use(new TokenStore(db.prisma));
  } finally {
    await db.close();
  }
}

/** `stylegraph tokens create|list|revoke`. */
export const tokensCommand = subcommands('tokens', USAGE, {
  create: command({
    name: 'tokens create',
    usage: USAGE,
    options: { name: { type: 'string' }, admin: { type: 'boolean' }, owner: { type: 'string' } },
    run: ({ values }) => {
      const { name, admin, owner } = values;
      if (!name) throw new UsageError('--name NAME is required');
      return withTokens(async (tokens) => {
        const { token, info } = await tokens.create({ name, admin, owner });
        console.error(`created ${info.admin ? 'admin ' : ''}token ${info.id} "${info.name}" (owner ${info.ownerId}); it is shown only now:`);
        console.log(token);
        return 0;
      });
    },
  }),
  list: command({
    name: 'tokens list',
    usage: USAGE,
    options: {},
    run: () => withTokens(async (tokens) => {
      for (const token of await tokens.list()) console.log(describe(token));
      return 0;
    }),
  }),
  revoke: command({
    name: 'tokens revoke',
    usage: USAGE,
    options: {},
    positionals: true,
    run: ({ positionals }) => {
      if (positionals.length !== 1) throw new UsageError("give the token's id or name");
      const [idOrName] = positionals;
      return withTokens(async (tokens) => {
        const revoked = await tokens.revoke(idOrName);
        if (!revoked) {
          console.error(`stylegraph tokens revoke: no token has the id or name "${idOrName}"`);
          return 1;
        }
        console.log(`revoked ${describe(revoked)}`);
        return 0;
      });
    },
  }),
});
