/**
 * Names that cross stack, account or region boundaries. They are fixed (not generated) because a
 * cell in another account must be able to name the router's pieces before either is deployed.
 */
export const ROUTER_STACK = 'Bulkhead-Router';
export const cellStackName = (cellId: string): string => `Bulkhead-Cell-${cellId}`;

export const CELL_REGISTRY_TABLE = 'bulkhead-cell-registry';
export const ROUTES_TABLE = 'bulkhead-routes';
/** Role the router function runs as; cells grant it `lambda:InvokeFunctionUrl`. */
export const ROUTER_ROLE = 'bulkhead-router';
/** Role cells assume, at deploy time, to register their endpoint in the router's registry. */
export const CELL_REGISTRAR_ROLE = 'bulkhead-cell-registrar';
export const cellApiFunctionName = (cellId: string): string => `bulkhead-${cellId}-api`;
/** The name of the alias that takes traffic; a release moves it from one version to the next. */
export const LIVE_ALIAS = 'live';

export const TAG_CELL = 'bulkhead:cell';
export const TAG_WAVE = 'bulkhead:wave';

/** Reserved: placement refuses this id, so no real tenant can ever share its data. */
export const SMOKE_TENANT = 'bulkhead-smoke';
export const SMOKE_SKU = 'smoke-test-sku';
