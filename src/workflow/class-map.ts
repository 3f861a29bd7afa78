/**
 * Which model output each dataset class is: the same list, or the same names up to case and
 * punctuation (`ankle_boot` is `Ankle boot`, `tshirt_top` is `T-shirt/top`), so a folder named by hand
 * and a subset of the model's classes are evaluated on the right outputs.
 */

/** Lower case, letters and digits only. */
export function normalizeClassName(name: string): string {
  return name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

export class ClassMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassMappingError';
  }
}

/**
 * model index of each dataset class. Identical lists map by position; otherwise by normalized name,
 * which must match exactly one model class for every dataset class (else a ClassMappingError listing
 * both sets; `byIndex` maps by position instead, for classes named differently on purpose).
 */
export function mapClasses(datasetNames: string[], modelNames: string[], o: { byIndex?: boolean; dataset?: string; model?: string } = {}): number[] {
  const identity = () => datasetNames.map((_, i) => i);
  if (o.byIndex || datasetNames.every((n, i) => n === modelNames[i])) {
    if (datasetNames.length > modelNames.length) {
      throw new ClassMappingError(`${o.dataset ?? 'the dataset'} has ${datasetNames.length} classes, ${o.model ?? 'the model'} only ${modelNames.length} outputs`);
    }
    return identity();
  }
  const byName = new Map<string, number[]>();
  modelNames.forEach((n, i) => byName.set(normalizeClassName(n), [...(byName.get(normalizeClassName(n)) ?? []), i]));
  const unmapped: string[] = [];
  const ambiguous: string[] = [];
  const map = datasetNames.map((n) => {
    const hits = byName.get(normalizeClassName(n)) ?? [];
    if (hits.length === 0) unmapped.push(n);
    if (hits.length > 1) ambiguous.push(`${n} (${hits.map((i) => modelNames[i]).join(' / ')})`);
    return hits[0] ?? -1;
  });
  if (unmapped.length || ambiguous.length) {
    const list = (v: string[]) => v.map((s) => JSON.stringify(s)).join(', ');
    throw new ClassMappingError(
      [
        `the classes of ${o.dataset ?? 'the dataset'} do not match those of ${o.model ?? 'the model'}`,
        ...(unmapped.length ? [`  no model class for: ${list(unmapped)}`] : []),
        ...(ambiguous.length ? [`  more than one model class for: ${ambiguous.join(', ')}`] : []),
        `  dataset classes: ${list(datasetNames)}`,
        `  model classes:   ${list(modelNames)}`,
        '  (names match ignoring case and everything but letters and digits; --by-index maps classes by position instead)',
      ].join('\n'),
    );
  }
  const seen = new Map<number, string>();
  datasetNames.forEach((n, i) => {
    const other = seen.get(map[i]!);
    if (other !== undefined) throw new ClassMappingError(`dataset classes ${JSON.stringify(other)} and ${JSON.stringify(n)} are both model class ${JSON.stringify(modelNames[map[i]!])}`);
    seen.set(map[i]!, n);
  });
  return map;
}
