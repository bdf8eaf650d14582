import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { stylegraph } from '../helpers/cli-process.js';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

const ID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('stylegraph tokens beside a running server on the embedded database', () => {
  let database: TestDatabase;
  let served: ServeProcess | undefined;

  before(async () => {
    database = await freshDatabase('pglite');
    served = await startServe('api', { ...database.env, STYLEGRAPH_AUTH: 'required' });
  });
  after(async () => {
    await served?.stop();
    await database?.drop();
  });

  const ask = (token: string | null) => fetch(served!.graphql!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: '{ serviceInfo { version } }' }),
  }).then((response) => response.status);

  test('create, list and revoke are done by the server, which takes the token at once; the output is the same as without it', async () => {
    const created = await stylegraph(['tokens', 'create', '--name', 'x'], database.env);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^sg_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, new RegExp(`^created token ${ID} "x" \\(owner ${ID}\\); it is shown only now:\\n$`));
    assert.equal(await ask(null), 401);
    assert.equal(await ask(token), 200);

    const listed = await stylegraph(['tokens', 'list'], database.env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${ID}  "x"  owner ${ID}  user  created \\S+  last used \\S+  active\\n$`));

    const revoked = await stylegraph(['tokens', 'revoke', 'x'], database.env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^revoked .*"x".*revoked \S+\n$/);
    const unknown = await stylegraph(['tokens', 'revoke', 'nobody'], database.env);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'stylegraph tokens revoke: no token has the id or name "nobody"\n');
    const sharing = await stylegraph(['tokens', 'create', '--name', 'y', '--owner', 'nobody'], database.env);
    assert.equal(sharing.code, 1);
    assert.equal(sharing.stderr, 'stylegraph: no token has the id or name "nobody"\n');
    let status = 200;
    for (const started = Date.now(); status === 200 && Date.now() - started < 5_000; await new Promise((r) => setTimeout(r, 250))) status = await ask(token);
    assert.equal(status, 401, 'the revoked token is refused within the cache time');

    const whileServed = await stylegraph(['tokens', 'list'], database.env);
    assert.equal(await served!.stop(), 0);
    served = undefined;
    const alone = await stylegraph(['tokens', 'list'], database.env);
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(whileServed.stdout, alone.stdout);
  });
});

test('stylegraph tokens beside a process that holds the data directory but does not answer: says what to do', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stylegraph-tokens-'));
  const holder = spawn(process.execPath, [path.join(__dirname, '../helpers/lock-holder.js'), dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise((resolve) => readline.createInterface({ input: holder.stdout! }).once('line', resolve));
    const listed = await stylegraph(['tokens', 'list'], { STYLEGRAPH_DATA_DIR: dataDir, DATABASE_URL: '' });
    assert.equal(listed.code, 1);
    assert.match(listed.stderr, new RegExp(`^stylegraph: ${dataDir} is held by process ${holder.pid} on host .+, which does not answer token commands: if it is a server that is still starting, try again once it serves; .*stop it first`));
  } finally {
    holder.stdin!.write('release\n');
    await new Promise((resolve) => holder.once('exit', resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
