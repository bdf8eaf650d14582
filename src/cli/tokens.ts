import { TokenStore, type TokenInfo } from '../auth/tokens.js';
import { loadConfig, MIGRATIONS_DIR } from '../config.js';
import { stderrLogger } from '../observability/logger.js';
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
The database is the service's (STYLEGRAPH_DATA_DIR or DATABASE_URL); the embedded
one can only be opened by one process: stop the server first, or use PostgreSQL.`;

function describe(token: TokenInfo): string {
  const state = token.revokedAt ? `revoked ${token.revokedAt.toISOString()}` : 'active';
  return [
    token.id, JSON.stringify(token.name), `owner ${token.ownerId}`, token.admin ? 'admin' : 'user',
    `created ${token.createdAt.toISOString()}`, `last used ${token.lastUsedAt?.toISOString() ?? 'never'}`, state,
  ].join('  ');
}

/** The service's token store, open while `use` runs. */
async function withTokens<T>(use: (tokens: TokenStore) => Promise<T>): Promise<T> {
  const db = await openDatabase(loadConfig().database, MIGRATIONS_DIR, stderrLogger());
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
