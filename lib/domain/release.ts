/**
 * Releases, as plain data and functions over injected ports (no AWS, no HTTP here), one concern a file in
 * `release/`: the plan, traffic steps, canary analysis, readiness, the drill gate, running a release with
 * stop-the-line, and the decisions the targets and drills make (deployment outcome, re-anchoring, the
 * bad-release verdict, the cell's release lock). This index is what the rest of the code imports.
 */
export * from './release/bad-release-verdict';
export * from './release/canary';
export * from './release/cell-lock';
export * from './release/deployment-outcome';
export * from './release/drill-gate';
export * from './release/outcomes';
export * from './release/plan';
export * from './release/re-anchor';
export * from './release/readiness';
export * from './release/run-release';
export * from './release/traffic-steps';
