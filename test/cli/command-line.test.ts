import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { stylegraph } from '../helpers/cli-process';
import { REPO_ROOT } from '../helpers/shared-data';

/** Every command and subcommand, as typed after `stylegraph`. */
const COMMANDS = [
  ['stylize'], ['run'], ['weights', 'fetch'], ['weights', 'where'], ['serve'],
  ['tokens', 'create'], ['tokens', 'list'], ['tokens', 'revoke'], ['healthcheck'],
];

describe('the stylegraph command line', () => {
  it("--version prints package.json's version", async () => {
    const { version } = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(await stylegraph(['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('--help prints the usage on stdout, for stylegraph and every command', async () => {
    const helps = [[], ['weights'], ['tokens'], ...COMMANDS].map((command) => [...command, '--help']);
    const results = await Promise.all(helps.map((args) => stylegraph(args)));
    results.forEach((result, i) => {
      assert.equal(result.code, 0, `${helps[i].join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, /^Usage: stylegraph /, helps[i].join(' '));
      assert.equal(result.stderr, '');
    });
  });

  it('refuses an unknown flag with exit code 2 in every command, before doing anything', async () => {
    const results = await Promise.all(COMMANDS.map((command) => stylegraph([...command, '--frobnicate'], { DATABASE_URL: 'postgresql://nowhere.invalid/x' })));
    results.forEach((result, i) => {
      assert.equal(result.code, 2, `${COMMANDS[i].join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^stylegraph ${COMMANDS[i][0] === 'run' ? 'stylize' : COMMANDS[i].join(' ')}: Unknown option '--frobnicate'`));
      assert.equal(result.stdout, '');
    });
  });

  it('refuses unknown commands and missing arguments with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^stylegraph: needs a command/],
      [['frobnicate'], /^stylegraph: unknown command "frobnicate"/],
      [['--frobnicate'], /^stylegraph: unknown option "--frobnicate"/],
      [['tokens', 'frobnicate'], /^stylegraph tokens: unknown command "frobnicate"/],
      [['weights'], /^stylegraph weights: needs a command/],
      // --name stays required: a token's name is how `tokens list` and `tokens revoke` find it.
      [['tokens', 'create'], /^stylegraph tokens create: --name NAME is required/],
      [['tokens', 'revoke'], /^stylegraph tokens revoke: give the token's id or name/],
      [['stylize', 'content.png'], /^stylegraph stylize: needs a content image and at least one style image/],
      [['run', 'content.png', 'style.png'], /^stylegraph stylize: needs -o\/--output FILE/],
      [['serve', '--role', 'cook'], /^stylegraph serve: --role: must be one of api, worker, all/],
      [['serve', '--role'], /^stylegraph serve: Option '--role <value>' argument missing/],
      [['healthcheck', 'http://a', 'http://b'], /^stylegraph healthcheck: takes at most one URL/],
    ];
    const results = await Promise.all(cases.map(([args]) => stylegraph(args, { DATABASE_URL: 'postgresql://nowhere.invalid/x' })));
    results.forEach((result, i) => {
      assert.equal(result.code, 2, `${cases[i][0].join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, cases[i][1]);
    });
  });
});
