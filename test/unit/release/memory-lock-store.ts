/** Release locks in memory, with the conditions the DynamoDB store checks (lib/domain `meetsExpectation`). */
import { type CellLock, type LockExpectation, meetsExpectation } from '../../../lib/domain/release';
import type { LockStore } from '../../../lib/targets/release/release-store';

export class MemoryLockStore implements LockStore {
  readonly locks = new Map<string, CellLock>();

  async read(cellId: string): Promise<CellLock | undefined> {
    return this.locks.get(cellId);
  }

  async write(lock: CellLock, expect: LockExpectation): Promise<boolean> {
    if (!meetsExpectation(this.locks.get(lock.cellId), expect)) return false;
    this.locks.set(lock.cellId, lock);
    return true;
  }

  async remove(cellId: string, token: string): Promise<boolean> {
    if (this.locks.get(cellId)?.token !== token) return false;
    this.locks.delete(cellId);
    return true;
  }
}
