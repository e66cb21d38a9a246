export * from './types';
export * from './validate';
export * from './load';
export * from './integrations';
