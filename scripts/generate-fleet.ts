/**
 * Writes a generated fleet of N cells (JSON, same shape as cells.config.ts) for synth benchmarks:
 * `node --import tsx scripts/generate-fleet.ts 100 > fleet-100.json`.
 */
import type { FleetConfig } from '../lib/config/types';

export function generateFleet(cellCount: number, tenantsPerCell = 10): FleetConfig {
  const regions = ['us-east-1', 'us-west-2', 'eu-west-1'];
  return {
    defaults: { account: '111111111111', region: 'us-east-1' },
    cells: Array.from({ length: cellCount }, (_, i) => ({
      id: `cell-${String(i).padStart(3, '0')}`,
      // Wave 0 is one canary cell, then waves double in size.
      wave: i === 0 ? 0 : Math.floor(Math.log2(i)) + 1,
      maxTenants: 20,
      region: regions[i % regions.length],
      tenants: Array.from({ length: tenantsPerCell }, (_, j) => `tenant-${i}-${j}`),
    })),
  };
}

if (require.main === module) {
  const n = Number(process.argv[2]);
  if (!Number.isInteger(n) || n < 1) {
    console.error('usage: generate-fleet.ts <cell count>');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(generateFleet(n), null, 2));
}
