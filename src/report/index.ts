export * from './charts.js';
export * from './metrics.js';
export * from './csv.js';
export * from './html.js';
export * from './steps.js';
