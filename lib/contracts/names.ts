/**
 * Names that cross stack, account or region boundaries. They are fixed (not generated) because a
 * cell in another account must be able to name the router's pieces before either is deployed.
 */
export const ROUTER_STACK = 'Bulkhead-Router';
export const cellStackName = (cellId: string): string => `Bulkhead-Cell-${cellId}`;

export const CELL_REGISTRY_TABLE = 'bulkhead-cell-registry';
export const ROUTES_TABLE = 'bulkhead-routes';
/** The shared release log and the cells' release locks, in the router's account (lib/targets/release/release-store.ts). */
export const RELEASES_TABLE = 'bulkhead-releases';
/** The router's per-tenant counters (requests this second, requests in flight), shared by its instances. */
export const ROUTER_LIMITS_TABLE = 'bulkhead-router-limits';
/** Role the router function runs as; cells grant it `lambda:InvokeFunctionUrl`. */
export const ROUTER_ROLE = 'bulkhead-router';
/**
 * One registrar role per cell, in the router's account: it may update that cell's registry row only, and
 * only the cell's registration role (below) may assume it. One role per cell rather than one for the
 * fleet, so that no cell can rewrite another's endpoint (and so be sent its tenants).
 */
export const cellRegistrarRole = (cellId: string): string => `bulkhead-registrar-${cellId}`;
/** The role the cell stack's registration custom resource runs as, in the cell's account. */
export const cellRegistrationRole = (cellId: string): string => `bulkhead-registration-${cellId}`;
/**
 * The role the release CLI assumes in a cell's account (created by the cell stack, trusting the fleet's
 * operator account), and in the router's for the release log. One per stack: a role name is unique in
 * its account, and cells may share an account with each other and with the router.
 */
export const cellOperatorRole = (cellId: string): string => `bulkhead-${cellId}-operator`;
export const ROUTER_OPERATOR_ROLE = 'bulkhead-router-operator';
export const cellApiFunctionName = (cellId: string): string => `bulkhead-${cellId}-api`;
/** The name of the alias that takes traffic; a release moves it from one version to the next. */
export const LIVE_ALIAS = 'live';

export const TAG_CELL = 'bulkhead:cell';
export const TAG_WAVE = 'bulkhead:wave';

/** Reserved: placement refuses this id, so no real tenant can ever share its data. */
export const SMOKE_TENANT = 'bulkhead-smoke';
export const SMOKE_SKU = 'smoke-test-sku';
/**
 * Reserved: the synthetic tenant every cell's drills read and write as (never a real tenant), whose
 * integration is a sandbox, and whose data a drill removes when it is done.
 */
export const DRILL_TENANT = 'bulkhead-drill';
/** Tenants that only drills and smoke tests use: the cell lets their data be removed. */
export const isSyntheticTenant = (tenantId: string): boolean =>
  tenantId === SMOKE_TENANT || tenantId === DRILL_TENANT;

/**
 * A function's name as operators read it: the name the stack gave it (`bulkhead-use1-a-api`), else its
 * role from the CDK logical id, whether bare (`SyncWorker519C607D`, as the local platform names it) or
 * in the physical name CloudFormation generates (`Bulkhead-Cell-use1-a-SyncWorker519C607D-AbCd1234EfGh`):
 * `sync-worker`. Data and JSON keep the real name; this is for lines a person reads.
 */
export function functionRole(name: string): string {
  if (/^[a-z0-9-]+$/.test(name)) return name;
  const logicalId = name
    .replace(/^Bulkhead-(Router|Cell-[a-z0-9-]+?)-(?=[A-Z])/, '')
    .replace(/-[A-Za-z0-9]{8,}$/, '')
    .replace(/[0-9A-F]{8}$/, '');
  return logicalId.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase() || name;
}
