/**
 * `mobilezoo/report`: metrics, metrics.csv and steps.csv, charts (vega-lite to SVG and PNG), report.html.
 *
 * @module mobilezoo/report
 */
export * from './charts.js';
export * from './metrics.js';
export * from './csv.js';
export * from './html.js';
export * from './steps.js';
