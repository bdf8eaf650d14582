import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, PROJECT_ROOT, ROLES, type Role } from '../../src/config.js';
import { loadApiConfig } from '../../src/http/config.js';
import { loadOpsListen } from '../../src/http/ops-routes.js';

/**
 * docker-compose.yml and deploy/Dockerfile, checked against what the code
 * reads (no engine runs Docker here): each service's environment, the image's
 * and the file's together, is read by the code and loads without error, and
 * ports, health checks, roles, GPUs and volumes agree with it.
 */

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  environment?: Record<string, string>;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number; resources?: { reservations?: { devices?: { driver: string; count: number; capabilities: string[] }[] } } };
}

interface Stage {
  from: string;
  env: Record<string, string>;
  cmd: string[];
}

const compose = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};

/** The stages of a Dockerfile by name: base image, ENV (key=value pairs), CMD (exec form). */
function readStages(file: string): Map<string, Stage> {
  const stages = new Map<string, Stage>();
  let current: Stage | undefined;
  const lines = fs.readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n');
  for (const line of lines) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    const args = rest.join(' ');
    if (instruction === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      current = { from, env: {}, cmd: [] };
      if (name) stages.set(name, current);
    } else if (instruction === 'ENV') {
      for (const pair of args.split(/\s+/)) {
        const [key, value] = pair.split('=');
        current!.env[key] = value;
      }
    } else if (instruction === 'CMD') {
      current!.cmd = JSON.parse(args) as string[];
    }
  }
  return stages;
}

/** Every environment variable the code reads (`env.NAME`, `env, 'NAME'`), and NODE_ENV, which Node libraries read. */
function variablesReadByCode(): Set<string> {
  const names = new Set(['NODE_ENV']);
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        for (const match of fs.readFileSync(full, 'utf8').matchAll(/env\.([A-Z][A-Z0-9_]+)|env,\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(match[1] ?? match[2]);
      }
    }
  };
  walk(path.join(PROJECT_ROOT, 'src'));
  return names;
}

/** What a service runs: its image stage, environment (image's, then the file's) and role. */
function resolve(name: string): { stage: Stage; env: Record<string, string>; role: Role; service: ComposeService } {
  const service = compose.services[name];
  assert.ok(service?.build, `service ${name} is built from the repository`);
  const stages = readStages(path.join(PROJECT_ROOT, service.build.context, service.build.dockerfile));
  const stage = stages.get(service.build.target);
  assert.ok(stage, `${service.build.dockerfile} has a stage ${service.build.target}`);
  const command = service.command ?? stage.cmd;
  const role = /serve --role (\w+)/.exec(command.join(' '))?.[1] as Role;
  assert.ok(ROLES.includes(role), `service ${name} runs stylegraph serve --role <${ROLES.join('|')}> (${command.join(' ')})`);
  return { stage, env: { ...stage.env, ...service.environment }, role, service };
}

function healthcheckPort(service: ComposeService): number {
  const url = /http:\/\/127\.0\.0\.1:(\d+)\/readyz/.exec(service.healthcheck?.test.join(' ') ?? '');
  assert.ok(url, 'the health check asks /readyz');
  return Number(url[1]);
}

test('docker-compose.yml parses and agrees with the configuration the code reads', () => {
  const known = variablesReadByCode();
  const postgres = compose.services.postgres;
  assert.match(postgres.image ?? '', /^postgres:\d+/);
  assert.ok(postgres.healthcheck, 'postgres has a health check');
  const dataVolume = postgres.volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data'))?.split(':')[0];
  assert.ok(dataVolume && dataVolume in compose.volumes, 'postgres keeps its data in a named volume');

  for (const name of ['api', 'worker']) {
    const { stage, env, role, service } = resolve(name);
    assert.equal(role, name, `service ${name} runs role ${name}`);
    for (const variable of Object.keys(env)) assert.ok(known.has(variable), `${name}: ${variable} is not read by the code`);
    assert.equal(service.depends_on?.postgres?.condition, 'service_healthy', `${name} waits for a healthy postgres`);

    const config = loadConfig(env);
    assert.equal(config.database.kind, 'postgres', `${name} uses the PostgreSQL server`);
    const url = new URL(config.database.kind === 'postgres' ? config.database.url : '');
    assert.equal(url.hostname, 'postgres');
    assert.equal(url.username, postgres.environment?.POSTGRES_USER);
    assert.equal(url.password, postgres.environment?.POSTGRES_PASSWORD);
    assert.equal(url.pathname.slice(1), postgres.environment?.POSTGRES_DB);

    if (role === 'api') {
      assert.match(stage.from, /^node:20-slim$/);
      const api = loadApiConfig(env);
      assert.equal(api.host, '0.0.0.0', 'the API listens beyond the container');
      assert.equal(healthcheckPort(service), api.port);
      assert.ok(service.ports?.some((p) => p.endsWith(`:${api.port}`)), 'the API port is published');
      assert.ok((service.deploy?.replicas ?? 1) >= 2, 'several API nodes');
    } else {
      assert.match(stage.from, /^nvidia\/cuda:11\.2(\.\d+)?-cudnn8-runtime-/, 'CUDA 11.2 and cuDNN 8 for tfjs-node-gpu');
      const ops = loadOpsListen(env);
      assert.ok(ops, 'a worker serves /readyz on STYLEGRAPH_OPS_PORT');
      assert.equal(ops.host, '0.0.0.0');
      assert.equal(healthcheckPort(service), ops.port);
      const gpus = service.deploy?.resources?.reservations?.devices ?? [];
      assert.deepEqual(gpus.map((d) => [d.driver, d.capabilities]), [['nvidia', ['gpu']]], 'the worker reserves NVIDIA GPUs');
      assert.equal(config.workerConcurrency, gpus[0].count, 'one run at a time per GPU');
      assert.equal(env.STYLEGRAPH_BACKEND, 'tensorflow');
      const weightsDir = env.STYLEGRAPH_VGG19 ?? env.STYLEGRAPH_CACHE_DIR;
      const volume = service.volumes?.find((v) => weightsDir !== undefined && v.endsWith(`:${weightsDir}`))?.split(':')[0];
      assert.ok(volume && volume in compose.volumes, 'the weights are in a named volume');
      assert.match((service.command ?? stage.cmd).join(' '), /weights where .*\|\| .*weights fetch/, 'the weights are fetched on the first start');
    }
  }
});
