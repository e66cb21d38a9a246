/**
 * The release log: who released, rolled back or drilled what, when, why, from and to which versions.
 * With a shared log (the releases table in the router's account) every operator reads the same history;
 * the local file (`releases.jsonl`) is its cache, read synchronously by the commands and the status page.
 * A command first `sync`s (the table into the cache, and any entry that never reached the table into it),
 * appends as it goes (the cache at once, the table in the background), and `flush`es before it ends.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { DrillRecord } from '../../domain/release';

import type { SharedLog } from './release-store';
import type { NewLogEntry, ReleaseLogEntry } from './release-target';

const keyOf = (e: ReleaseLogEntry): string | undefined => (e.id ? `${e.at}#${e.id}` : undefined);

function parseLines(text: string): ReleaseLogEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as ReleaseLogEntry];
      } catch {
        return [];
      }
    });
}

/** Appended to by every release, rollback and drill; read by `status`, the status page and the drill gate. */
export class ReleaseLog {
  private pending: Promise<void>[] = [];
  private failures: string[] = [];

  constructor(
    readonly file: string,
    private readonly target: 'aws' | 'local',
    private readonly who: string = os.userInfo().username,
    /** @default - none: the file is the only copy */
    private readonly shared?: SharedLog,
  ) {}

  append(entry: NewLogEntry): ReleaseLogEntry {
    const line: ReleaseLogEntry = {
      at: new Date().toISOString(),
      id: crypto.randomBytes(6).toString('hex'),
      who: this.who,
      target: this.target,
      ...entry,
    };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    // One write per line with O_APPEND: concurrent writers never interleave within a line.
    fs.appendFileSync(this.file, `${JSON.stringify(line)}\n`);
    if (this.shared) this.send(this.shared, line);
    return line;
  }

  private send(shared: SharedLog, line: ReleaseLogEntry): void {
    this.pending.push(
      shared
        .put(keyOf(line)!, JSON.stringify(line))
        .catch((error: Error) => void this.failures.push(error.message)),
    );
  }

  /**
   * The shared log into the cache, and cached entries the table lacks (a send that failed) into the table.
   * Without a shared log, nothing to do.
   */
  async sync(): Promise<void> {
    if (!this.shared) return;
    const remote = (await this.shared.entries()).flatMap(({ entry }) => parseLines(entry));
    const known = new Set(remote.map(keyOf));
    const localOnly = this.entries().filter((e) => !known.has(keyOf(e)));
    for (const e of localOnly) if (keyOf(e)) this.send(this.shared, e);
    const merged = [...remote, ...localOnly].sort((a, b) => a.at.localeCompare(b.at));
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, merged.map((e) => `${JSON.stringify(e)}\n`).join(''));
    fs.renameSync(tmp, this.file);
  }

  /** Waits for every entry sent to the shared log; the reasons of those that did not reach it. */
  async flush(): Promise<string[]> {
    while (this.pending.length > 0) {
      const sending = this.pending;
      this.pending = [];
      await Promise.all(sending);
    }
    const failed = this.failures;
    this.failures = [];
    return failed;
  }

  /** Oldest first; lines that do not parse are skipped. */
  entries(): ReleaseLogEntry[] {
    try {
      return parseLines(fs.readFileSync(this.file, 'utf8'));
    } catch {
      return [];
    }
  }

  drills(): DrillRecord[] {
    return this.entries()
      .filter((e) => e.kind === 'drill' && e.drill === 'rollback' && e.release !== undefined)
      .map((e) => ({
        release: e.release!,
        ok: e.ok === true,
        at: e.at,
        ...(e.cell && { cell: e.cell }),
        ...(e.detail && { reason: e.detail }),
      }));
  }
}
