/**
 * `stylegraph tokens` beside a running server on the embedded database: the
 * data directory can be opened by one process only, so the command is sent to
 * the server that holds it (over the data directory's lock socket) and the
 * server performs it with its own database. Both ends are here, so that the
 * two agree on the requests and on how a token's dates cross.
 */
import type { ControlHandler } from '../storage/data-dir-lock.js';
import type { TokenInfo, TokenStore } from './tokens.js';

/** The channel on the data directory's control socket. */
export const TOKENS_CHANNEL = 'tokens';

/** What `stylegraph tokens` does with tokens: the store itself, or the server's through its socket. */
export type TokenCommands = Pick<TokenStore, 'create' | 'list' | 'revoke'>;

type TokenRequest =
  | { command: 'create'; options: Parameters<TokenStore['create']>[0] }
  | { command: 'list' }
  | { command: 'revoke'; idOrName: string };

type WireInfo = Omit<TokenInfo, 'createdAt' | 'revokedAt' | 'lastUsedAt'> & { createdAt: string; revokedAt: string | null; lastUsedAt: string | null };

const date = (value: string | null) => (value === null ? null : new Date(value));
const fromWire = (info: WireInfo): TokenInfo => ({ ...info, createdAt: new Date(info.createdAt), revokedAt: date(info.revokedAt), lastUsedAt: date(info.lastUsedAt) });

/** The server's end: performs each request with `tokens`. (Dates cross as JSON's ISO strings.) */
export function answerTokenCommands(tokens: TokenCommands): ControlHandler {
  return async (request) => {
    const asked = request as TokenRequest;
    switch (asked.command) {
      case 'create': return tokens.create(asked.options);
      case 'list': return tokens.list();
      case 'revoke': return tokens.revoke(asked.idOrName);
      default: throw new Error(`unknown token command ${JSON.stringify((asked as { command?: unknown }).command)}`);
    }
  };
}

/** The command's end: the same calls, sent with `ask` to the server that holds the database. */
export function tokenCommandsVia(ask: (request: TokenRequest) => Promise<unknown>): TokenCommands {
  return {
    async create(options) {
      const { token, info } = (await ask({ command: 'create', options })) as { token: string; info: WireInfo };
      return { token, info: fromWire(info) };
    },
    async list() {
      return ((await ask({ command: 'list' })) as WireInfo[]).map(fromWire);
    },
    async revoke(idOrName) {
      const info = (await ask({ command: 'revoke', idOrName })) as WireInfo | null;
      return info && fromWire(info);
    },
  };
}
