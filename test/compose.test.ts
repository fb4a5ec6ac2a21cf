import { loadClientConnectConfig } from '@temporalio/envconfig';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../shared/config';
import { CASE_SEARCH_ATTRIBUTES, CLI_TYPE } from '../shared/search-attributes';

/**
 * Static checks of docker-compose.yml and the Dockerfile: every address, port and credential the
 * containers use must agree with the service that provides it and with Recoup's own config parsing.
 * No containers are started. RECOUP_COMPOSE_FILE points the checks at another compose file (used to
 * confirm each check fails on a broken copy).
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMPOSE_FILE = path.resolve(ROOT, process.env.RECOUP_COMPOSE_FILE || 'docker-compose.yml');

type Scalar = string | number | boolean | null;
type PortSpec = string | number | { target?: number | string; published?: number | string };
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, Scalar> | string[];
  ports?: PortSpec[];
  expose?: Array<string | number>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
}
interface ComposeFile {
  services?: Record<string, Service | null>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as ComposeFile;
const services = compose.services ?? {};

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`${path.basename(COMPOSE_FILE)} has no service "${name}"`);
  return s;
}

/** A service's environment as a map, whichever of the two compose spellings it uses. */
function envOf(name: string): Record<string, string> {
  const raw = service(name).environment ?? {};
  const entries: Array<[string, Scalar]> = Array.isArray(raw)
    ? raw.filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])
    : Object.entries(raw);
  // A null value means "take it from the host": the container gets nothing we can check here.
  // `${VAR:-default}` is what `docker compose up` gives it with VAR unset: the default.
  return Object.fromEntries(entries.filter(([, v]) => v !== null).map(([k, v]) => [k, String(v).replace(/\$\{\w+:?-([^}]*)\}/g, '$1')]));
}

function expandPortRange(spec: string): number[] {
  const [from, to] = spec.split('-').map(Number);
  if (from === undefined || Number.isNaN(from)) return [];
  const last = to === undefined || Number.isNaN(to) ? from : to;
  return Array.from({ length: last - from + 1 }, (_, i) => from + i);
}

/** Container-side ports of the `ports` mappings (what other containers and the host reach). */
function publishedContainerPorts(s: Service): number[] {
  return (s.ports ?? []).flatMap((p) => {
    if (typeof p === 'number') return [p];
    if (typeof p === 'object') return p.target === undefined ? [] : [Number(p.target)];
    const withoutProto = p.replace(/\/(tcp|udp|sctp)$/, '');
    return expandPortRange(withoutProto.slice(withoutProto.lastIndexOf(':') + 1));
  });
}

/** Every port the service listens on that compose knows of; the auto-setup frontend listens on 7233. */
function containerPorts(s: Service): number[] {
  const ports = [...publishedContainerPorts(s), ...(s.expose ?? []).flatMap((e) => expandPortRange(String(e).replace(/\/\w+$/, '')))];
  if (s.image?.startsWith('temporalio/auto-setup')) ports.push(7233);
  return ports;
}

/** host:port as Temporal clients spell it; a missing port is Temporal's default 7233. */
function hostPort(address: string): { host: string; port: number } {
  const url = new URL(`grpc://${address}`);
  return { host: url.hostname, port: url.port ? Number(url.port) : 7233 };
}

function expectAddressServedBy(address: string | undefined, who: string, image: RegExp): void {
  expect(address, `${who}: TEMPORAL_ADDRESS`).toBeTruthy();
  const { host, port } = hostPort(address!);
  const target = services[host];
  expect(target, `${who}: TEMPORAL_ADDRESS ${address} names no service "${host}"`).toBeTruthy();
  expect(target!.image, `${who}: "${host}" is not a Temporal server`).toMatch(image);
  expect(containerPorts(target!), `${who}: "${host}" does not listen on ${port}`).toContain(port);
}

function commandText(s: Service): string {
  const parts = [s.entrypoint, s.command].flatMap((c) => (c === undefined ? [] : Array.isArray(c) ? c : [c]));
  return parts.join(' ');
}

function dependsOn(s: Service): Record<string, string | undefined> {
  const d = s.depends_on ?? {};
  return Array.isArray(d)
    ? Object.fromEntries(d.map((n) => [n, undefined]))
    : Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v?.condition]));
}

const TEMPORAL_IMAGE = /^temporalio\/(auto-setup|server):/;
const APP_SERVICES = ['worker', 'api'] as const;

describe('docker-compose.yml', () => {
  it('defines every service the engine needs', () => {
    for (const name of ['temporal-db', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'app-db', 'codec-keys', 'worker', 'api']) {
      expect(services[name], `service "${name}"`).toBeTruthy();
    }
    expect(service('temporal').image).toMatch(TEMPORAL_IMAGE);
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(service('temporal-admin-tools').image).toMatch(/^temporalio\/admin-tools:/);
    expect(service('app-db').image).toMatch(/^postgres:/);
    expect(service('temporal-db').image).toMatch(/^postgres:/);
  });

  it('pins every image to a tag', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s?.image) continue;
      const tag = s.image.includes('@') ? 'digest' : s.image.split('/').pop()!.split(':')[1];
      expect(tag, `${name}: ${s.image} has no tag`).toBeTruthy();
      expect(tag, `${name}: ${s.image}`).not.toBe('latest');
    }
  });

  it('gives worker and api the settings they read', () => {
    for (const name of APP_SERVICES) {
      const env = envOf(name);
      for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'RECOUP_TASK_QUEUE', 'DATABASE_URL']) {
        expect(env[key], `${name}: ${key}`).toBeTruthy();
      }
    }
    expect(envOf('api').RECOUP_API_PORT, 'api: RECOUP_API_PORT').toBeTruthy();
  });

  it.each(APP_SERVICES)('%s environment passes Recoup config validation and Temporal envconfig', (name) => {
    const env = envOf(name);
    const config = loadConfig(env); // throws ConfigError on an invalid value
    expect(config.taskQueue).toBe('recoup-cases');
    expect(config.databaseUrl).toBe('postgres://recoup:recoup@app-db:5432/recoup');
    if (name === 'api') expect(config.apiPort).toBe(3000);
    expect(config.logLevel).toMatch(/^(debug|info|warn|error)$/);

    // The Temporal connection is read by @temporalio/envconfig (worker/temporal.ts), not loadConfig.
    const temporal = loadClientConnectConfig({ overrideEnvVars: env, disableFile: true });
    expect(temporal.connectionOptions.address).toBe('temporal:7233');
    expect(temporal.namespace).toBe('default');
  });

  it('worker and api read the key ring codec-keys makes, from the same volume; the UI decodes through the API', () => {
    const volumeAt = (s: Service, target: string) =>
      (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target])).find(([, t]) => t === target)?.[0];
    const made = commandText(service('codec-keys')).match(/codec-key\.ts add (\S+)/)?.[1];
    expect(made, 'codec-keys makes a key ring file').toBeTruthy();
    const dir = path.posix.dirname(made!);
    const volume = volumeAt(service('codec-keys'), dir);
    expect(volume, `codec-keys mounts a volume at ${dir}`).toBeTruthy();
    for (const name of APP_SERVICES) {
      const config = loadConfig(envOf(name));
      expect(config.codec.encryption, `${name}: encryption on`).toBe(true);
      expect(config.codec.keysFile, `${name}: RECOUP_CODEC_KEYS_FILE`).toBe(made);
      expect(volumeAt(service(name), dir), `${name}: the key ring's volume at ${dir}`).toBe(volume);
      expect(dependsOn(service(name))['codec-keys'], `${name} waits for codec-keys`).toBe('service_completed_successfully');
    }
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'), 'the image makes the mount point for its user').toContain(`mkdir ${dir}`);

    // The browser loads the UI from its published port and calls the API's UI codec endpoint from there.
    const api = loadConfig(envOf('api'));
    const endpoint = new URL(envOf('temporal-ui').TEMPORAL_CODEC_ENDPOINT!);
    expect(endpoint.pathname).toBe(`/v1/codec/ui/${api.codec.uiToken}`);
    expect(publishedContainerPorts(service('api'))).toContain(Number(endpoint.port));
    const uiPort = String(service('temporal-ui').ports?.[0]).split(':')[0];
    expect(api.codec.corsOrigins).toContain(`http://localhost:${uiPort}`);
  });

  it('Prometheus scrapes the API and the worker where they serve metrics; Grafana gets the dashboard', () => {
    const prom = parse(readFileSync(path.join(ROOT, 'ops', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(prom.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]));
    expect(targets['recoup-api']).toEqual([`api:${loadConfig(envOf('api')).apiPort}`]);
    const workerMetrics = loadConfig(envOf('worker')).worker.metricsAddress;
    expect(workerMetrics, 'worker: RECOUP_METRICS_ADDRESS').toMatch(/^0\.0\.0\.0:\d+$/);
    expect(targets['recoup-worker']).toEqual([`worker:${workerMetrics!.split(':')[1]}`]);
    for (const name of ['prometheus', 'grafana']) {
      for (const v of service(name).volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : v.source!;
        if (source.startsWith('./')) expect(existsSync(path.join(ROOT, source)), `${name} mounts ${source}`).toBe(true);
      }
    }
    // Every Recoup metric the dashboard plots is one the API defines.
    const dashboard = readFileSync(path.join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8');
    const defined = readFileSync(path.join(ROOT, 'api', 'metrics.ts'), 'utf8');
    const used = new Set([...dashboard.matchAll(/\b(recoup_[a-z_]+?)(?:_bucket)?\b/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(5);
    for (const m of used) if (!m.startsWith('recoup_process_')) expect(defined, `dashboard metric ${m}`).toContain(`'${m}'`);
  });

  it('worker and api agree on the Temporal address, namespace and task queue', () => {
    const [worker, api] = APP_SERVICES.map((n) => envOf(n));
    for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'RECOUP_TASK_QUEUE', 'DATABASE_URL']) {
      expect(api![key], key).toBe(worker![key]);
    }
  });

  it('every TEMPORAL_ADDRESS names the Temporal service on a port it listens on', () => {
    for (const name of [...APP_SERVICES, 'temporal-ui']) {
      expectAddressServedBy(envOf(name).TEMPORAL_ADDRESS, name, TEMPORAL_IMAGE);
    }
  });

  it('the healthcheck and the admin-tools commands use the same Temporal address', () => {
    const texts = {
      'temporal healthcheck': [service('temporal').healthcheck?.test ?? []].flat().join(' '),
      'temporal-admin-tools': commandText(service('temporal-admin-tools')),
    };
    for (const [who, text] of Object.entries(texts)) {
      const addresses = [...text.matchAll(/--address[ =](\S+)/g)].map((m) => m[1]!);
      expect(addresses.length, `${who} passes --address`).toBeGreaterThan(0);
      for (const a of new Set(addresses)) expectAddressServedBy(a, who, TEMPORAL_IMAGE);
    }
  });

  it('DATABASE_URL points at app-db with its port and credentials', () => {
    const db = envOf('app-db');
    for (const name of APP_SERVICES) {
      const url = new URL(envOf(name).DATABASE_URL!);
      expect(url.protocol).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname, `${name}: DATABASE_URL host`).toBe('app-db');
      const port = url.port ? Number(url.port) : 5432;
      expect(port, `${name}: DATABASE_URL port`).toBe(5432);
      // Inside the network the postgres image listens on 5432 whatever the host mapping says.
      const published = publishedContainerPorts(service('app-db'));
      if (published.length) expect(published).toContain(port);
      expect(decodeURIComponent(url.username), `${name}: user`).toBe(db.POSTGRES_USER);
      expect(decodeURIComponent(url.password), `${name}: password`).toBe(db.POSTGRES_PASSWORD);
      expect(decodeURIComponent(url.pathname.replace(/^\//, '')), `${name}: database`).toBe(db.POSTGRES_DB ?? db.POSTGRES_USER);
    }
  });

  it('the API publishes, exposes and health-checks the port it listens on', () => {
    const api = service('api');
    const port = loadConfig(envOf('api')).apiPort;
    expect(publishedContainerPorts(api), 'api ports: container side').toContain(port);
    const test = [api.healthcheck?.test ?? []].flat().join(' ');
    const hc = test.match(/https?:\/\/[^/'"\s]+:(\d+)/);
    if (hc) expect(Number(hc[1]), 'api healthcheck port').toBe(port);
    const exposed = [...readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^EXPOSE\s+(.+)$/gm)].flatMap((m) =>
      m[1]!.split(/\s+/).map((p) => Number(p.replace(/\/\w+$/, ''))),
    );
    expect(exposed, 'Dockerfile EXPOSE').toContain(port);
  });

  it('Temporal reaches temporal-db with its credentials', () => {
    const t = envOf('temporal');
    expect(t.DB).toMatch(/^postgres12(_pgx)?$/);
    const dbName = t.POSTGRES_SEEDS!;
    const db = services[dbName];
    expect(db, `POSTGRES_SEEDS names no service "${dbName}"`).toBeTruthy();
    expect(db!.image).toMatch(/^postgres:/);
    const dbEnv = envOf(dbName);
    expect(t.POSTGRES_USER).toBe(dbEnv.POSTGRES_USER);
    expect(t.POSTGRES_PWD).toBe(dbEnv.POSTGRES_PASSWORD);
    expect(Number(t.DB_PORT ?? 5432)).toBe(5432);
  });

  it('worker and api start only once Temporal and app-db are healthy', () => {
    for (const name of APP_SERVICES) {
      const deps = dependsOn(service(name));
      for (const dep of ['temporal', 'app-db']) {
        expect(deps[dep], `${name} depends_on ${dep}`).toBe('service_healthy');
        const hc = service(dep).healthcheck;
        expect(hc?.test, `${dep} has a healthcheck (service_healthy would wait forever)`).toBeTruthy();
        expect(hc?.disable).not.toBe(true);
      }
      for (const [dep, condition] of Object.entries(deps)) {
        expect(services[dep], `${name} depends_on unknown service ${dep}`).toBeTruthy();
        if (condition === 'service_healthy') expect(service(dep).healthcheck?.test, `${dep} healthcheck`).toBeTruthy();
      }
    }
    expect([service('app-db').healthcheck?.test].flat().join(' ')).toMatch(/pg_isready/);
  });

  it('keeps both databases on named volumes', () => {
    for (const name of ['temporal-db', 'app-db']) {
      const mounts = (service(name).volumes ?? []).map((v) =>
        typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : { source: v.source, target: v.target },
      );
      const data = mounts.find((m) => m.target === '/var/lib/postgresql/data');
      expect(data, `${name} mounts /var/lib/postgresql/data`).toBeTruthy();
      expect(Object.keys(compose.volumes ?? {}), `${name}: ${data!.source} is a declared named volume`).toContain(data!.source);
    }
  });

  it('registers exactly the case search attributes, with their types, on the namespace the app uses', () => {
    const text = commandText(service('temporal-admin-tools'));
    expect(text).toMatch(/temporal operator search-attribute create/);
    const registered = Object.fromEntries([...text.matchAll(/--name[ =](\w+)\s+--type[ =](\w+)/g)].map((m) => [m[1]!, m[2]!]));
    const wanted = Object.fromEntries(CASE_SEARCH_ATTRIBUTES.map((k) => [k.name, CLI_TYPE[k.type]!]));
    expect(registered).toEqual(wanted);
    const namespaces = new Set([...text.matchAll(/--namespace[ =](\S+)/g)].map((m) => m[1]));
    expect([...namespaces]).toEqual([envOf('worker').TEMPORAL_NAMESPACE]);
  });

  it('leaves room for the case search attributes in SQL visibility', () => {
    const t = envOf('temporal');
    if (t.ENABLE_ES === 'true') return; // Elasticsearch has no per-type slots
    // Pre-allocated custom columns of the SQL visibility schema (schema/postgresql/v12/visibility).
    const slots: Record<string, number> = { KEYWORD: 10, INT: 3, BOOL: 3, DOUBLE: 3, DATETIME: 3, TEXT: 3, KEYWORD_LIST: 3 };
    const used: Record<string, number> = {};
    const add = (type: string) => (used[type] = (used[type] ?? 0) + 1);
    CASE_SEARCH_ATTRIBUTES.forEach((k) => add(k.type));
    // auto-setup adds its own Custom*Field attributes unless told not to.
    if (service('temporal').image?.startsWith('temporalio/auto-setup') && t.SKIP_ADD_CUSTOM_SEARCH_ATTRIBUTES !== 'true') {
      ['KEYWORD', 'TEXT', 'TEXT', 'INT', 'DATETIME', 'DOUBLE', 'BOOL'].forEach(add);
    }
    for (const [type, n] of Object.entries(used)) expect(n, `${type} search attributes`).toBeLessThanOrEqual(slots[type]!);
  });
});

describe('the Recoup image', () => {
  const dockerfile = path.join(ROOT, 'Dockerfile');

  it('Dockerfile installs with npm ci from package-lock.json and runs as the node user', () => {
    expect(existsSync(dockerfile), 'Dockerfile').toBe(true);
    const text = readFileSync(dockerfile, 'utf8');
    expect(text).toMatch(/node:20-bookworm-slim/);
    expect(text).toMatch(/^COPY\s+.*package-lock\.json/m);
    expect(text).toMatch(/^RUN\s+.*\bnpm ci\b/m);
    expect(existsSync(path.join(ROOT, 'package-lock.json')), 'package-lock.json').toBe(true);
    const users = [...text.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1), 'last USER').toBe('node');
    const cmd = text.match(/^CMD\s+(\[.*\])\s*$/m);
    expect(cmd, 'exec-form CMD').toBeTruthy();
    const argv = JSON.parse(cmd![1]!) as string[];
    expect(argv).toEqual(['node_modules/.bin/tsx', 'worker/start.ts']);
    expect(existsSync(path.join(ROOT, argv[1]!))).toBe(true);
  });

  it('tsx is a runtime dependency (the image installs without devDependencies)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    expect(pkg.dependencies?.tsx).toBeTruthy();
  });

  it('.dockerignore keeps local state out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, ''));
    for (const entry of ['node_modules', '.tools', '.data', '.git']) expect(ignored, entry).toContain(entry);
  });

  it.each([
    ['worker', 'worker/main.ts'],
    ['api', 'api/main.ts'],
  ])('%s builds this repository and runs %s through tsx', (name, entry) => {
    const s = service(name);
    const context = typeof s.build === 'string' ? s.build : s.build?.context;
    expect(context, `${name}: build`).toBeTruthy();
    expect(path.resolve(path.dirname(COMPOSE_FILE), context!), `${name}: build context`).toBe(ROOT);
    const command = typeof s.command === 'string' ? s.command.split(/\s+/) : (s.command ?? []);
    expect(command).toEqual(['node_modules/.bin/tsx', entry]);
    expect(existsSync(path.join(ROOT, entry)), `${entry} exists`).toBe(true);
  });
});

function succeeds(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 }).status === 0;
}
const hasCompose = succeeds('docker', ['compose', 'version']);
const hasEngine = hasCompose && succeeds('docker', ['info']);
const noDocker = !hasCompose ? 'docker compose is not installed' : !hasEngine ? 'no Docker engine answers `docker info`' : undefined;

describe('docker compose', () => {
  it.skipIf(noDocker !== undefined)(`config -q accepts the file${noDocker ? ` (skipped: ${noDocker})` : ''}`, () => {
    const r = spawnSync('docker', ['compose', '-f', COMPOSE_FILE, 'config', '-q'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
  });
});
