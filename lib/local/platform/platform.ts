import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { loadFleet } from '../../config/load';
import type { Fleet } from '../../config/types';
import { CELL_REGISTRY_TABLE, ROUTES_TABLE } from '../../contracts/names';
import type { InvokeTargetModel, LocalStack } from '../assembly/model';
import { readAssembly } from '../assembly/template-model';
import { ComplianceSimulator } from '../compliance/compliance-simulator';
import { isPortFree } from '../services/ports';
import { stopAll } from '../services/process-registry';

import { StackRuntime } from './cell-runtime';
import { applyFault, type Fault } from './faults';
import { cellEnvironment, routerEnvironment, scaled } from './function-environments';
import {
  type LocalCellState,
  platformHome,
  type PlatformState,
  readState,
  stateFile,
  writeState,
} from './platform-state';
import { listRoutes, seedRoutingStore } from './routing-store';
import { freshAssembly, recordAssembly, synthesize } from './synth';

export interface PlatformOptions {
  /** The project root (holds `bin/`, `lib/`, `lambdas/` and `.bulkhead/`). */
  readonly root: string;
  /** Fleet file. @default `<root>/cells.config.ts` */
  readonly configFile?: string;
  /** Router port; 0 picks a free one. @default 8080 */
  readonly routerPort?: number;
  /** Status page and control API port. @default 0 */
  readonly statusPort?: number;
  /** Minutes of schedules and waits per real minute (60: a 5-minute schedule runs every 5 s). @default 1 */
  readonly timeScale?: number;
  /** State, databases, logs and the synthesized app. @default platformHome() (`BULKHEAD_HOME` or `.bulkhead/local`) */
  readonly home?: string;
  /** Use this cloud assembly instead of synthesizing (a planted fault, a test). */
  readonly assemblyDir?: string;
  readonly log?: (line: string) => void;
}

export { FAULTS, type Fault } from './faults';

/**
 * What the router stack's HTTP API invokes: its integration's target alias, read from the template
 * (the API Gateway resources themselves have no local counterpart).
 */
export function httpApiTarget(stack: LocalStack): InvokeTargetModel {
  const template = JSON.parse(fs.readFileSync(stack.templateFile, 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  };
  const integrations = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::ApiGatewayV2::Integration',
  );
  if (integrations.length !== 1) {
    throw new Error(`${stack.stackName}: expected one HTTP API integration, found ${integrations.length}`);
  }
  const ref = (integrations[0].Properties?.IntegrationUri as { Ref?: string } | undefined)?.Ref;
  const alias = stack.aliases.find((a) => a.logicalId === ref);
  if (alias) return { functionLogicalId: alias.functionLogicalId, alias: alias.name };
  const fn = stack.functions.find((f) => f.logicalId === ref);
  if (fn) return { functionLogicalId: fn.logicalId };
  throw new Error(
    `${stack.stackName}: the HTTP API integrates with ${String(ref)}, which is no function or alias`,
  );
}

/**
 * The whole fleet on one machine, built from the synthesized templates: per cell its own DynamoDB
 * Local and fauxqs, its functions behind their aliases, event sources and schedules; the routing
 * store, the router, the compliance simulator. What runs is what `cdk synth` packaged.
 */
export class LocalPlatform {
  readonly root: string;
  readonly dataDir: string;
  readonly fleet: Fleet;
  readonly timeScale: number;
  simulator: ComplianceSimulator = new ComplianceSimulator();
  readonly cells = new Map<string, StackRuntime>();
  router?: StackRuntime;
  private readonly secrets = new Map<string, string>();
  private readonly tenantKeys = new Map<string, string>();
  private readonly complianceKeys: Record<string, string> = {};
  private readonly log: (line: string) => void;
  private readonly configFile: string;
  private routerDoc?: DynamoDBDocumentClient;
  private state?: PlatformState;
  private building?: Promise<unknown>;

  constructor(private readonly options: PlatformOptions) {
    this.root = options.root;
    this.dataDir = platformHome(options.home);
    this.configFile = path.resolve(options.configFile ?? path.join(options.root, 'cells.config.ts'));
    this.fleet = loadFleet(this.configFile);
    this.timeScale = options.timeScale ?? 1;
    this.log = options.log ?? ((line) => console.error(line));
  }

  /** Refuses to start beside another platform, on a busy port, or without Java. */
  async preflight(): Promise<void> {
    const running = readState(stateFile(this.dataDir));
    if (running) {
      throw new Error(
        `a local platform is already running (pid ${running.pid}, router ${running.router}); stop it first`,
      );
    }
    const port = this.options.routerPort ?? 8080;
    if (port !== 0 && !(await isPortFree(port))) {
      throw new Error(`port ${port} is busy: stop what uses it or pass --port N (0 picks a free port)`);
    }
  }

  /** Synthesizes into `<home>/cdk.out` unless that is newer than every source. */
  private async synthesize(): Promise<string> {
    if (this.options.assemblyDir) return this.options.assemblyDir;
    const out = path.join(this.dataDir, 'cdk.out');
    const marker = path.join(out, 'bulkhead-local.json');
    if (freshAssembly(marker, this.root, this.configFile)) {
      this.log('local: cdk.out is up to date, reusing it');
      return out;
    }
    this.log('local: synthesizing the app (cdk synth) ...');
    const started = Date.now();
    await synthesize({ root: this.root, configFile: this.configFile, outDir: out });
    recordAssembly(marker, out, this.configFile, started);
    this.log(`local: synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return out;
  }

  /**
   * The current build of the sources for a release (`bulkhead release --target local`): synthesized with
   * `-c release=<label>` into a new assembly under `<home>/builds/`, never over one whose bundles a
   * running version may load. While no source changed since the last build, that build is reused: the
   * label (set on each new version as `RELEASE`) is then all that differs between the two.
   */
  build(release: string): Promise<{ readonly dir: string; readonly reused: boolean }> {
    const previous = this.building ?? Promise.resolve(undefined);
    const next = previous.then(() => this.buildNow(release));
    this.building = next.catch(() => undefined);
    return next;
  }

  private async buildNow(release: string): Promise<{ dir: string; reused: boolean }> {
    const builds = path.join(this.dataDir, 'builds');
    const marker = path.join(builds, 'latest.json');
    const reusable = freshAssembly(marker, this.root, this.configFile);
    if (reusable) return { dir: reusable, reused: true };
    const started = Date.now();
    const dir = path.join(builds, `${started}-${release}`);
    fs.mkdirSync(dir, { recursive: true });
    await synthesize({
      root: this.root,
      configFile: this.configFile,
      outDir: dir,
      release,
      lowPriority: true,
    });
    recordAssembly(marker, dir, this.configFile, started);
    return { dir, reused: false };
  }

  async start(): Promise<PlatformState> {
    await this.preflight();
    const assembly = readAssembly(await this.synthesize());
    // Every start is a fresh fleet: new keys, empty tables (cell-down/up keeps data within a run), and
    // every function on its first version (so no earlier release build is needed any more).
    fs.rmSync(path.join(this.dataDir, 'db'), { recursive: true, force: true });
    fs.rmSync(path.join(this.dataDir, 'builds'), { recursive: true, force: true });
    this.simulator = this.newSimulator();
    const simulatorUrl = await this.simulator.start();

    this.log(`local: starting ${assembly.cells.length} cells and the routing store ...`);
    for (const stack of assembly.cells) {
      this.cells.set(
        stack.cellId!,
        new StackRuntime({ stack, dataDir: this.dataDir, timeScale: this.timeScale, log: this.log }),
      );
      this.secrets.set(stack.cellId!, randomBytes(24).toString('base64url'));
    }
    this.router = new StackRuntime({
      stack: assembly.router,
      dataDir: this.dataDir,
      timeScale: this.timeScale,
      log: this.log,
      urlPort: this.options.routerPort ?? 8080,
      httpTarget: httpApiTarget(assembly.router),
    });
    // Cells first: the router's registry needs their endpoints.
    // Every cell settles before a failure is reported, so stop() never races a cell still starting.
    const started = await Promise.allSettled(
      [...this.cells.entries()].map(([id, runtime]) =>
        runtime.start(() =>
          cellEnvironment({
            runtime,
            secret: this.secrets.get(id)!,
            timeScale: this.timeScale,
            complianceKeys: this.complianceKeys,
            simulatorUrl,
          }),
        ),
      ),
    );
    const failed = started.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message).join('; '));
    await this.startRouter();
    await this.seed();
    this.state = this.describe();
    writeState(stateFile(this.dataDir), this.state);
    return this.state;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(
      [...this.cells.values(), ...(this.router ? [this.router] : [])].map((r) => r.shutdown()),
    );
    await this.simulator.stop();
    await stopAll();
    const file = stateFile(this.dataDir);
    if (readState(file)?.pid === process.pid || fs.existsSync(file)) fs.rmSync(file, { force: true });
  }

  /** Drills: take a piece down or bring it back. */
  async fault(fault: Fault, cellId?: string): Promise<string> {
    await applyFault({ cells: this.cells, router: this.router!, simulator: this.simulator }, fault, cellId);
    this.state = this.describe();
    writeState(stateFile(this.dataDir), this.state);
    return `${fault}${cellId ? ` ${cellId}` : ''}: done`;
  }

  get current(): PlatformState {
    if (!this.state) throw new Error('the platform is not started');
    return this.state;
  }

  secretOf(cellId: string): string {
    return this.secrets.get(cellId)!;
  }

  /**
   * The compliance simulator knows every integrated tenant's key and enforces the fleet file's
   * fastest configured rate per key (a tenant configured slower stays under it anyway).
   */
  private newSimulator(): ComplianceSimulator {
    const integrations = this.fleet.cells.flatMap((c) => c.tenants.filter((t) => t.integration));
    for (const t of integrations) this.complianceKeys[t.id] = `metrc-${randomBytes(12).toString('hex')}`;
    const fastest = integrations.reduce((max, t) => Math.max(max, t.integration!.ratePerSecond), 0);
    const burst = integrations.reduce((max, t) => Math.max(max, t.integration!.burst), 1);
    return new ComplianceSimulator({
      apiKeys: this.complianceKeys,
      ...(fastest > 0 && { ratePerSecond: fastest, burst }),
    });
  }

  private async startRouter(): Promise<void> {
    const router = this.router!;
    const cells = Object.fromEntries(
      [...this.cells].map(([id, r]) => [id, { endpoint: r.address, secret: this.secrets.get(id)! }]),
    );
    await router.start(() =>
      routerEnvironment({ runtime: router, routeCacheTtlSeconds: this.routeCacheTtlSeconds, cells }),
    );
    this.routerDoc = DynamoDBDocumentClient.from(router.clients().dynamo);
  }

  /** The registry gets each cell's local endpoint and secret; the fleet's tenants get fresh keys. */
  private async seed(): Promise<void> {
    const keys = await seedRoutingStore({
      fleet: this.fleet,
      cells: this.cells,
      secrets: this.secrets,
      routerDoc: this.routerDoc!,
    });
    for (const [tenant, key] of keys) this.tenantKeys.set(tenant, key);
  }

  /** Tenants as the routing store has them (the CLI may have placed or moved some). */
  routes(): Promise<{ tenantId: string; cellId: string; status: string }[]> {
    return listRoutes(this.routerDoc!);
  }

  private describe(): PlatformState {
    const cells: Record<string, LocalCellState> = {};
    for (const cell of this.fleet.cells) {
      const r = this.cells.get(cell.id)!;
      const { queueUrl, dlqUrl } = r.queues();
      cells[cell.id] = {
        wave: cell.wave,
        endpoint: r.address,
        secret: this.secrets.get(cell.id)!,
        dynamodb: r.dynamo.endpoint,
        tableName: r.tableName(),
        sqs: r.sqs.endpoint,
        queueUrl,
        dlqUrl,
        status: r.healthy ? 'up' : 'down',
      };
    }
    const tenants: Record<string, { cell: string; apiKey: string }> = {};
    for (const cell of this.fleet.cells) {
      for (const t of cell.tenants) tenants[t.id] = { cell: cell.id, apiKey: this.tenantKeys.get(t.id)! };
    }
    return {
      pid: process.pid,
      control: this.state?.control ?? '',
      router: this.router!.address,
      statusPage: this.state?.statusPage ?? '',
      compliance: this.simulator.url,
      routingStore: {
        endpoint: this.router!.dynamo.endpoint,
        routesTable: ROUTES_TABLE,
        registryTable: CELL_REGISTRY_TABLE,
      },
      cells,
      tenants,
      configFile: this.configFile,
      timeScale: this.timeScale,
      routeCacheTtlSeconds: this.routeCacheTtlSeconds,
    };
  }

  /** The router's route cache TTL, scaled like every other wait (30 s at scale 1). */
  get routeCacheTtlSeconds(): number {
    return scaled(30, this.timeScale);
  }

  /** Records where the status page and control API listen (they start after the fleet). */
  publish(urls: { statusPage: string; control: string }): PlatformState {
    this.state = { ...this.describe(), ...urls };
    writeState(stateFile(this.dataDir), this.state);
    return this.state;
  }
}
