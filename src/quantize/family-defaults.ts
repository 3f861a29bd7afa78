/**
 * What each family keeps in float by default (selectors as keepFloat takes them), with the
 * measurements behind each choice in `why`.
 */
export interface KeepFloatDefault {
  keepFloat: string[];
  why: string;
}

export const KEEP_FLOAT_DEFAULTS: Record<string, KeepFloatDefault> = {};

/** The keep-float selectors for a model by its registry name ('shufflenet_v2_x1_0', ...). */
export function defaultKeepFloat(modelName: string): string[] {
  const family = modelName.startsWith('shufflenet_v2') ? 'shufflenet_v2' : modelName;
  return [...(KEEP_FLOAT_DEFAULTS[family]?.keepFloat ?? [])];
}
