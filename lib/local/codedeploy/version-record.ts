/**
 * The released functions' versions, kept in the platform's home (`versions.json`) so a restart runs
 * what the last run ran: each published version's build (assembly) and environment, and the versions
 * that were live in order (the last one is live, the one before it is where a rollback returns).
 * Version 1 is always the start's own build; any later version is published again from its build.
 * A deployment under way when the platform stopped is not resumed: its cell starts on the version
 * that was live before it, as CodeDeploy leaves an alias when a deployment stops.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { readAssembly } from '../assembly/template-model';
import type { StackRuntime } from '../platform/cell-runtime';

interface RecordedVersion {
  /** The cloud assembly the version was built from (under `<home>/builds/`). */
  readonly assembly: string;
  /** What the release added to its environment (`RELEASE` and any drill flag). */
  readonly env: Readonly<Record<string, string>>;
}

interface RecordedFunction {
  readonly versions: Readonly<Record<string, RecordedVersion>>;
  /** Versions that were live, oldest first. */
  readonly lineage: readonly string[];
  /** The highest version number published. */
  readonly highest: number;
}

type RecordFile = Record<string, Record<string, RecordedFunction>>;

/** What a restore brought back for one function. */
export interface RestoredFunction {
  readonly lineage: string[];
  /** Release label of each version brought back. */
  readonly labels: ReadonlyMap<string, string>;
}

export class VersionRecord {
  private data: RecordFile;

  constructor(private readonly file: string) {
    try {
      this.data = JSON.parse(fs.readFileSync(file, 'utf8')) as RecordFile;
    } catch {
      this.data = {};
    }
  }

  static in(home: string): VersionRecord {
    return new VersionRecord(path.join(home, 'versions.json'));
  }

  private fn(cellId: string, logicalId: string): RecordedFunction {
    return this.data[cellId]?.[logicalId] ?? { versions: {}, lineage: ['1'], highest: 1 };
  }

  private put(cellId: string, logicalId: string, fn: RecordedFunction): void {
    this.data = { ...this.data, [cellId]: { ...this.data[cellId], [logicalId]: fn } };
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.data, null, 2));
    fs.renameSync(tmp, this.file);
  }

  published(cellId: string, logicalId: string, version: string, recorded: RecordedVersion): void {
    const fn = this.fn(cellId, logicalId);
    this.put(cellId, logicalId, {
      ...fn,
      versions: { ...fn.versions, [version]: recorded },
      highest: Math.max(fn.highest, Number(version)),
    });
  }

  /**
   * The versions that were live, oldest first; the last three are kept (a rollback, and one more), and so
   * is every build published after the oldest of them: a rollback leaves the version it left, which a roll
   * forward (the release's rehearsal) makes live again.
   */
  lineage(cellId: string, logicalId: string, lineage: readonly string[]): void {
    const fn = this.fn(cellId, logicalId);
    const kept = lineage.slice(-3);
    const oldest = Math.min(...kept.map(Number));
    const versions = Object.fromEntries(Object.entries(fn.versions).filter(([v]) => Number(v) >= oldest));
    this.put(cellId, logicalId, { ...fn, versions, lineage: kept });
  }

  /**
   * Publishes again, on the cell just started, the versions the record has as live and previous, and
   * points each alias at its live one. Says in `log` what could not come back (a build removed by hand).
   */
  async restore(
    runtime: StackRuntime,
    cellId: string,
    log: (line: string) => void,
  ): Promise<Map<string, RestoredFunction>> {
    const restored = new Map<string, RestoredFunction>();
    for (const [logicalId, fn] of Object.entries(this.data[cellId] ?? {})) {
      const alias = runtime.aliases.get(logicalId);
      if (!alias) continue;
      runtime.reserveVersions(logicalId, fn.highest);
      const labels = new Map<string, string>();
      const lineage: string[] = [];
      for (const version of fn.lineage) {
        if (version === '1') {
          lineage.push(version);
          continue;
        }
        const recorded = fn.versions[version];
        const built =
          recorded && fs.existsSync(recorded.assembly) ? readAssembly(recorded.assembly) : undefined;
        const model = built?.cells
          .find((s) => s.cellId === cellId)
          ?.functions.find((f) => f.logicalId === logicalId);
        if (!recorded || !model) {
          log(`local: ${cellId}: version ${version} of ${logicalId} cannot come back (its build is gone)`);
          continue;
        }
        const published = runtime.publishVersion(model, { ...recorded.env }, version);
        await published.warm();
        lineage.push(version);
        if (recorded.env.RELEASE) labels.set(version, recorded.env.RELEASE);
      }
      if (lineage.length === 0) lineage.push('1');
      alias.point(runtime.versionOf(logicalId, lineage.at(-1)!)!);
      restored.set(logicalId, { lineage, labels });
    }
    return restored;
  }

  /** Removes the builds under `buildsDir` that no kept version was built from, except `latest`. */
  pruneBuilds(buildsDir: string, latest: string | undefined): void {
    const kept = new Set(
      Object.values(this.data).flatMap((cell) =>
        Object.values(cell).flatMap((fn) => Object.values(fn.versions).map((v) => path.resolve(v.assembly))),
      ),
    );
    if (latest) kept.add(path.resolve(latest));
    const entries = fs.existsSync(buildsDir) ? fs.readdirSync(buildsDir, { withFileTypes: true }) : [];
    for (const entry of entries) {
      const dir = path.resolve(buildsDir, entry.name);
      if (entry.isDirectory() && !kept.has(dir)) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
