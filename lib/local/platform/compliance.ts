/**
 * The local platform's state system: one Metrc simulator for the whole fleet, wired as Metrc is — one
 * vendor key (Bulkhead is one integrator), a user key and a license number per integrated tenant — and
 * what `bulkhead local compliance receipts <tenant>` shows of it. Beside it, a second simulator is the
 * sandbox (Metrc's `sandbox-api-*` hosts), with one facility: the drill tenant's, which every cell's drills
 * report to. It takes the same vendor key: locally there is one integrator.
 */
import { randomBytes } from 'node:crypto';

import type { Fleet } from '../../config/types';
import { DRILL_TENANT } from '../../contracts/names';
import { ComplianceSimulator } from '../compliance/compliance-simulator';

/** The ready file's `compliance` section. */
export interface ComplianceState {
  readonly url: string;
  readonly vendorKey: string;
  /** Tenant id → its user key. */
  readonly userKeys: Readonly<Record<string, string>>;
  /** Tenant id → its facility's license number. */
  readonly licenseNumbers: Readonly<Record<string, string>>;
  /** The sandbox the drill tenant reports to: nothing real is ever sent there. */
  readonly sandbox: { readonly url: string; readonly licenseNumber: string };
}

/** The write limit of the local sandbox when the fleet file gives the drill no integration. */
const SANDBOX_WRITES = { ratePerSecond: 5, burst: 1 };

/** One receipt as `local compliance receipts` lists it. */
export interface ReceiptLine {
  readonly id: number;
  readonly externalNumber: string | null;
  /** Dollars, as Metrc has it. */
  readonly total: number;
  readonly lines: number;
  readonly voided: boolean;
}

const key = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;

export class LocalCompliance {
  readonly simulator: ComplianceSimulator;
  readonly sandbox: ComplianceSimulator;
  /** The drill tenant's facility at the sandbox: the fleet file's, or the drill tenant's id. */
  readonly sandboxLicense: string;
  readonly vendorKey = key('vendor');
  readonly userKeys: Record<string, string> = {};
  readonly licenseNumbers: Record<string, string> = {};

  /** Every integrated tenant is a facility; its configured write rate is what the simulator allows it. */
  constructor(fleet: Fleet) {
    const facilities: Record<string, { userKey: string }> = {};
    const facilityWrites: Record<string, { ratePerSecond: number; burst: number }> = {};
    for (const t of fleet.cells.flatMap((c) => c.tenants)) {
      if (!t.integration) continue;
      const license = t.integration.licenseNumber;
      this.userKeys[t.id] = key('user');
      this.licenseNumbers[t.id] = license;
      facilities[license] = { userKey: this.userKeys[t.id] };
      facilityWrites[license] = { ratePerSecond: t.integration.ratePerSecond, burst: t.integration.burst };
    }
    this.simulator = new ComplianceSimulator({ vendorKeys: [this.vendorKey], facilities, facilityWrites });
    const drill = fleet.cells.find((c) => c.drill)?.drill?.integration;
    this.sandboxLicense = drill?.licenseNumber ?? DRILL_TENANT;
    this.userKeys[DRILL_TENANT] = key('user');
    this.sandbox = new ComplianceSimulator({
      vendorKeys: [this.vendorKey],
      facilities: { [this.sandboxLicense]: { userKey: this.userKeys[DRILL_TENANT] } },
      facilityWrites: { [this.sandboxLicense]: drill ?? SANDBOX_WRITES },
    });
  }

  /** Starts the state system and its sandbox; resolves with where each listens. */
  async start(): Promise<{ url: string; sandboxUrl: string }> {
    const [url, sandboxUrl] = await Promise.all([this.simulator.start(), this.sandbox.start()]);
    return { url, sandboxUrl };
  }

  async stop(): Promise<void> {
    await Promise.all([this.simulator.stop(), this.sandbox.stop()]);
  }

  state(): ComplianceState {
    return {
      url: this.simulator.url,
      vendorKey: this.vendorKey,
      userKeys: { ...this.userKeys },
      licenseNumbers: { ...this.licenseNumbers },
      sandbox: { url: this.sandbox.url, licenseNumber: this.sandboxLicense },
    };
  }

  /**
   * What the state system holds for the tenant's license: every receipt, voided ones included; for the
   * drill tenant, what the sandbox holds.
   */
  receipts(tenantId: string): { licenseNumber: string; receipts: ReceiptLine[] } {
    if (tenantId === DRILL_TENANT) {
      return { licenseNumber: this.sandboxLicense, receipts: lines(this.sandbox, this.sandboxLicense) };
    }
    const licenseNumber = this.licenseNumbers[tenantId];
    if (!licenseNumber) {
      const known = Object.keys(this.licenseNumbers);
      throw new Error(
        `tenant '${tenantId}' has no compliance integration; integrated tenants: ${known.join(', ') || 'none'}`,
      );
    }
    return { licenseNumber, receipts: lines(this.simulator, licenseNumber) };
  }
}

function lines(simulator: ComplianceSimulator, licenseNumber: string): ReceiptLine[] {
  return simulator.receipts(licenseNumber).map((r) => ({
    id: r.Id,
    externalNumber: r.ExternalReceiptNumber ?? null,
    total: r.TotalPrice,
    lines: r.Transactions.length,
    voided: r.ArchivedDate !== null,
  }));
}

/** `local compliance receipts` as a table: one line per receipt, then the count per external number. */
export function formatReceipts(
  tenantId: string,
  found: { licenseNumber: string; receipts: ReceiptLine[] },
): string {
  const header = `${tenantId} (license ${found.licenseNumber}): ${found.receipts.length} receipts`;
  const rows = found.receipts.map(
    (r) =>
      `${String(r.id).padStart(6)}  ${(r.externalNumber ?? '-').padEnd(24)}  ${r.total.toFixed(2).padStart(10)}  ` +
      `${String(r.lines).padStart(5)}  ${r.voided ? 'voided' : ''}`,
  );
  const titles = `${'id'.padStart(6)}  ${'external number'.padEnd(24)}  ${'total'.padStart(10)}  ${'lines'.padStart(5)}`;
  return [header, ...(rows.length > 0 ? [titles, ...rows] : [])].join('\n');
}
