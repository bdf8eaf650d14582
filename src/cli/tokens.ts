import { TokenStore, type TokenInfo } from '../auth/tokens.js';
import { loadConfig, MIGRATIONS_DIR } from '../config.js';
import { openDatabase } from '../storage/database.js';

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

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

function describe(token: TokenInfo): string {
  const state = token.revokedAt ? `revoked ${token.revokedAt.toISOString()}` : 'active';
  return [
    token.id, JSON.stringify(token.name), `owner ${token.ownerId}`, token.admin ? 'admin' : 'user',
    `created ${token.createdAt.toISOString()}`, `last used ${token.lastUsedAt?.toISOString() ?? 'never'}`, state,
  ].join('  ');
}

/** `stylegraph tokens create|list|revoke`. */
export async function tokensCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help')) {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  if (!['create', 'list', 'revoke'].includes(sub)) {
    console.error(`stylegraph tokens: unknown command "${sub}"\n\n${USAGE}`);
    return 2;
  }
  const name = option(rest, '--name');
  if (sub === 'create' && !name) {
    console.error(`stylegraph tokens create: --name NAME is required\n\n${USAGE}`);
    return 2;
  }
  if (sub === 'revoke' && !rest[0]) {
    console.error(`stylegraph tokens revoke: give the token's id or name\n\n${USAGE}`);
    return 2;
  }
  const db = await openDatabase(loadConfig().database, MIGRATIONS_DIR);
  try {
    const tokens = new TokenStore(db.prisma);
    if (sub === 'create') {
      const { token, info } = await tokens.create({ name: name!, admin: rest.includes('--admin'), owner: option(rest, '--owner') });
      console.error(`created ${info.admin ? 'admin ' : ''}token ${info.id} "${info.name}" (owner ${info.ownerId}); it is shown only now:`);
      console.log(token);
    } else if (sub === 'list') {
      for (const token of await tokens.list()) console.log(describe(token));
    } else {
      const revoked = await tokens.revoke(rest[0]);
      if (!revoked) {
        console.error(`stylegraph tokens revoke: no token has the id or name "${rest[0]}"`);
        return 1;
      }
      console.log(`revoked ${describe(revoked)}`);
    }
    return 0;
  } finally {
    await db.close();
  }
}
