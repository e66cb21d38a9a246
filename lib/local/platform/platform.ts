import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { loadFleet } from '../../config/load';
import type { Fleet } from '../../config/types';
import { CELL_REGISTRY_TABLE, ROUTES_TABLE } from '../../contracts/names';
import type { InvokeTargetModel, LocalStack } from '../assembly/model';
import { readAssembly } from '../assembly/template-model';
import type { ComplianceSimulator } from '../compliance/compliance-simulator';
import { LocalIam } from '../iam/local-iam';
import { isPortFree } from '../services/ports';
import { stopAll } from '../services/process-registry';

import { StackRuntime } from './cell-runtime';
import { LocalCompliance } from './compliance';
import { runCustomResources } from './custom-resources';
import { applyFault, type Fault } from './faults';
import { cellEnvironment, routerEnvironment, scaled } from './function-environments';
import {
  type LocalCellState,
  PERSISTED,
  pidFile,
  platformHome,
  type PlatformState,
  readKeys,
  readState,
  runningPid,
  stateFile,
  writeKeys,
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
  /** Start empty: remove the data, keys, versions and release log an earlier run left in the home. @default false */
  readonly fresh?: boolean;
  /**
   * Authorize every AWS call of the fleet against its IAM policies (SigV4 on every local endpoint); off
   * only for debugging, and said so loudly. @default true
   */
  readonly enforceIam?: boolean;
  readonly log?: (line: string) => void;
}

export { FAULTS, type Fault } from './faults';

/** Said on every start without enforcement, and shown on the status page. */
export const IAM_OFF_WARNING =
  'local: WARNING: IAM enforcement is OFF (--no-enforce-iam): every local call is allowed, whatever the policies say; what passes here may be refused on AWS';

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
  /** The state system (a Metrc simulator) every integration is pointed at, with its keys. */
  readonly compliance: LocalCompliance;
  readonly cells = new Map<string, StackRuntime>();
  router?: StackRuntime;
  /** IAM of the running fleet; undefined while enforcement is off. */
  iam?: LocalIam;
  readonly enforceIam: boolean;
  private readonly secrets = new Map<string, string>();
  private readonly tenantKeys = new Map<string, string>();
  /** The cell each of the fleet's tenants is routed to (a move may have changed the fleet file's). */
  private readonly tenantCells = new Map<string, string>();
  private readonly log: (line: string) => void;
  private readonly configFile: string;
  private routerDoc?: DynamoDBDocumentClient;
  private state?: PlatformState;
  private building?: Promise<unknown>;
  private stopping = false;
  /** This platform wrote the home's pid file (and so may remove it and the state file). */
  private claimed = false;

  constructor(private readonly options: PlatformOptions) {
    this.root = options.root;
    this.dataDir = platformHome(options.home);
    this.configFile = path.resolve(options.configFile ?? path.join(options.root, 'cells.config.ts'));
    this.fleet = loadFleet(this.configFile);
    this.timeScale = options.timeScale ?? 1;
    this.log = options.log ?? ((line) => console.error(line));
    this.enforceIam = options.enforceIam ?? true;
    this.compliance = new LocalCompliance(this.fleet);
  }

  get simulator(): ComplianceSimulator {
    return this.compliance.simulator;
  }

  /** Refuses to start beside another platform, on a busy port, or without Java. */
  async preflight(): Promise<void> {
    const running = readState(stateFile(this.dataDir));
    const pid = running?.pid ?? runningPid(this.dataDir);
    if (pid !== undefined && pid !== process.pid) {
      throw new Error(
        `a local platform is already running in ${this.dataDir} (pid ${pid}${running ? `, router ${running.router}` : ', starting'}); ` +
          'stop it first with `npx bulkhead local down`' +
          (this.options.home ? ` --home ${this.options.home}` : ''),
      );
    }
    const port = this.options.routerPort ?? 8080;
    if (port !== 0 && !(await isPortFree(port))) {
      throw new Error(`port ${port} is busy: stop what uses it or pass --port N (0 picks a free port)`);
    }
  }

  /** Synthesizes into `<home>/cdk.out` unless that is newer than every source. */
  private async synthesize(): Promise<string> {
    const given = this.options.assemblyDir;
    if (given) {
      if (!fs.existsSync(path.join(given, 'manifest.json')))
        throw new Error(`${given} is not a cloud assembly (no manifest.json): give the cdk.out of a synth`);
      this.log(`local: running the cloud assembly in ${given} as it is (no synth)`);
      return given;
    }
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

  /** The assembly the last release build made, which the next one may reuse. */
  latestBuild(): string | undefined {
    try {
      return (
        JSON.parse(fs.readFileSync(path.join(this.dataDir, 'builds', 'latest.json'), 'utf8')) as {
          dir: string;
        }
      ).dir;
    } catch {
      return undefined;
    }
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

  /** The fleet file gives the tenants and keys of each cell: it must be the one the assembly came from. */
  private checkCells(assemblyCells: readonly string[]): void {
    const fleetCells = this.fleet.cells.map((c) => c.id);
    const differ = (a: readonly string[], b: readonly string[]) => a.filter((id) => !b.includes(id));
    if (differ(assemblyCells, fleetCells).length === 0 && differ(fleetCells, assemblyCells).length === 0)
      return;
    throw new Error(
      `the assembly has cells ${assemblyCells.join(', ')} but the fleet file ${this.configFile} has ` +
        `${fleetCells.join(', ')}: pass the fleet file it was synthesized from (--config)`,
    );
  }

  async start(): Promise<PlatformState> {
    await this.preflight();
    fs.mkdirSync(this.dataDir, { recursive: true });
    fs.writeFileSync(pidFile(this.dataDir), String(process.pid));
    this.claimed = true;
    // Data, keys, versions and the release log stay from the last run unless --fresh.
    if (this.options.fresh) {
      for (const name of PERSISTED)
        fs.rmSync(path.join(this.dataDir, name), { recursive: true, force: true });
    }
    // The router's registry kept from an earlier run: this start redeploys the stacks, not creates them.
    const redeploy = fs.existsSync(path.join(this.dataDir, 'db', 'router'));
    const assembly = readAssembly(await this.synthesize());
    this.checkCells(assembly.cells.map((c) => c.cellId!));
    const { url: simulatorUrl, sandboxUrl } = await this.compliance.start();
    this.iam = this.enforceIam ? new LocalIam(assembly.stacks, this.dataDir) : undefined;
    if (!this.iam) this.log(IAM_OFF_WARNING);

    this.log(`local: starting ${assembly.cells.length} cells and the routing store ...`);
    const common = { dataDir: this.dataDir, timeScale: this.timeScale, log: this.log, iam: this.iam };
    for (const stack of assembly.cells) {
      const cellId = stack.cellId!;
      this.cells.set(
        cellId,
        new StackRuntime({ stack, ...common, onProcessExit: (what) => this.processDied(cellId, what) }),
      );
      // With IAM enforced the router proves itself with SigV4, as on AWS: no shared secret.
      this.secrets.set(cellId, this.iam ? '' : randomBytes(24).toString('base64url'));
    }
    this.router = new StackRuntime({
      stack: assembly.router,
      ...common,
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
            ...(!this.iam && { secret: this.secrets.get(id)! }),
            timeScale: this.timeScale,
            compliance: this.compliance,
            simulatorUrl,
            sandbox: { url: sandboxUrl, licenseNumber: this.compliance.sandboxLicense },
            integrationsDir: path.join(this.dataDir, 'integrations'),
          }),
        ),
      ),
    );
    const failed = started.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message).join('; '));
    await this.startRouter();
    this.log('local: running the deploy-time custom resources (cell registrations) ...');
    await runCustomResources([this.router, ...this.cells.values()], this.iam, redeploy);
    await this.seed();
    this.state = this.describe();
    writeState(stateFile(this.dataDir), this.state);
    return this.state;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(
      [...this.cells.values(), ...(this.router ? [this.router] : [])].map((r) => r.shutdown()),
    );
    await this.compliance.stop();
    this.iam?.close();
    await stopAll();
    if (!this.claimed) return;
    for (const file of [stateFile(this.dataDir), pidFile(this.dataDir)]) fs.rmSync(file, { force: true });
  }

  /**
   * A cell's database or queue process died by itself: the cell is down now, in the state file and for
   * `status`, without waiting for a command (`local fault cell-up` brings it back).
   */
  private processDied(cellId: string, what: string): void {
    if (this.stopping || !this.state) return;
    this.log(
      `local: cell ${cellId} is down: ${what} (\`npx bulkhead local fault cell-up ${cellId}\` restarts it)`,
    );
    this.state = { ...this.describe(), statusPage: this.state.statusPage, control: this.state.control };
    writeState(stateFile(this.dataDir), this.state);
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

  /**
   * The registry gets each cell's local endpoint and secret; the fleet's tenants keep their routes and
   * keys from the last run, and those not routed yet get new ones.
   */
  private async seed(): Promise<void> {
    const seeded = await seedRoutingStore({
      fleet: this.fleet,
      cells: this.cells,
      secrets: this.secrets,
      routerDoc: this.routerDoc!,
      knownKeys: readKeys(this.dataDir),
    });
    for (const [tenant, { key, cellId }] of seeded.tenants) {
      this.tenantKeys.set(tenant, key);
      this.tenantCells.set(tenant, cellId);
    }
    writeKeys(this.dataDir, this.tenantKeys);
    const kept = seeded.tenants.size - seeded.newKeys.length;
    this.log(
      `local: ${kept} tenant(s) kept their routes and keys` +
        (seeded.newKeys.length > 0 ? `; new keys for ${seeded.newKeys.join(', ')}` : ''),
    );
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
        region: cell.region,
        account: r.stack.iam.account,
        dynamodb: r.dynamo.endpoint,
        tableName: r.tableName(),
        sqs: r.sqs.endpoint,
        queueUrl,
        dlqUrl,
        status: r.healthy ? 'up' : 'down',
        ...(r.problem && { reason: r.problem }),
      };
    }
    const tenants: Record<string, { cell: string; apiKey: string }> = {};
    for (const [tenant, apiKey] of this.tenantKeys)
      tenants[tenant] = { cell: this.tenantCells.get(tenant)!, apiKey };
    return {
      pid: process.pid,
      control: this.state?.control ?? '',
      router: this.router!.address,
      statusPage: this.state?.statusPage ?? '',
      compliance: this.compliance.state(),
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
      iam: {
        enforced: this.iam !== undefined,
        ...(this.iam && { operators: this.operatorCredentials(this.iam) }),
      },
    };
  }

  private operatorCredentials(iam: LocalIam) {
    return Object.fromEntries(
      iam.operatorAccounts().map((account) => {
        const { accessKeyId, secretAccessKey, sessionToken } = iam.operator(account);
        return [account, { accessKeyId, secretAccessKey, sessionToken }];
      }),
    );
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
