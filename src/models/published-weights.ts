/**
 * Weights published for the reference implementations, as data, from torchvision 0.14's weight enums
 * (torchvision/models/mobilenetv2.py, mobilenetv3.py, shufflenetv2.py): where they are, which model
 * they fit, torchvision's enum name and DEFAULT, the categories, the ImageNet-1K metrics and the
 * evaluation preprocessing they were measured with (the `-V2` recipes resize to 232 before the 224 crop,
 * the others to 256). A file with one of these names gets that model and preprocessing by default, and
 * `<model>` / `<model>.<ENUM>` name them (`mobilezoo weights`). megvii's ShuffleNetV1 weights have no
 * direct download URL (cloud-drive links), so they are not listed; they load from a file.
 */
export interface PublishedWeights {
  /** The file name as published (torchvision's names end in a prefix of the file's sha256). */
  file: string;
  url: string;
  model: string;
  /** torchvision's enum member, e.g. IMAGENET1K_V1 (`MobileNet_V3_Large_Weights.IMAGENET1K_V1`). */
  name: string;
  /** torchvision's weights enum class. */
  enumClass: string;
  /** The model's DEFAULT weights in torchvision. */
  isDefault: boolean;
  /** torchvision's `categories`: the 1000 ImageNet-1K classes (IMAGENET_CLASSES in src/data/imagenet.ts). */
  categories: 'ImageNet-1K';
  numClasses: number;
  /** ImageNet-1K top-1 and top-5 as published (torchvision's `_metrics`). */
  top1: number;
  top5: number;
  numParams: number;
  /** File size in MB as torchvision's metadata of 0.15 lists it (`_file_size`; 0.14 does not list it). */
  fileSizeMb: number;
  /** Shorter side before the center crop. */
  resize: number;
  crop: number;
  /** How the weights were trained (torchvision's `recipe`). */
  recipe?: string;
}

const TV = 'https://download.pytorch.org/models/';
const CLASSIC = 'https://github.com/pytorch/vision/tree/main/references/classification';
const NEW_RECIPE = 'https://github.com/pytorch/vision/issues/3995#new-recipe-with-reg-tuning';
const SHUFFLE_RECIPE = 'https://github.com/pytorch/vision/pull/5906';

type Row = Omit<PublishedWeights, 'url' | 'categories' | 'numClasses' | 'crop'>;

const row = (w: Row): PublishedWeights => ({ ...w, url: `${TV}${w.file}`, categories: 'ImageNet-1K', numClasses: 1000, crop: 224 });

export const PUBLISHED_WEIGHTS: readonly PublishedWeights[] = [
  row({ file: 'mobilenet_v2-b0353104.pth', model: 'mobilenet_v2', name: 'IMAGENET1K_V1', enumClass: 'MobileNet_V2_Weights', isDefault: false, top1: 71.878, top5: 90.286, numParams: 3504872, fileSizeMb: 13.555, resize: 256, recipe: `${CLASSIC}#mobilenetv2` }),
  row({ file: 'mobilenet_v2-7ebf99e0.pth', model: 'mobilenet_v2', name: 'IMAGENET1K_V2', enumClass: 'MobileNet_V2_Weights', isDefault: true, top1: 72.154, top5: 90.822, numParams: 3504872, fileSizeMb: 13.598, resize: 232, recipe: NEW_RECIPE }),
  row({ file: 'mobilenet_v3_large-8738ca79.pth', model: 'mobilenet_v3_large', name: 'IMAGENET1K_V1', enumClass: 'MobileNet_V3_Large_Weights', isDefault: false, top1: 74.042, top5: 91.34, numParams: 5483032, fileSizeMb: 21.114, resize: 256, recipe: `${CLASSIC}#mobilenetv3-large--small` }),
  row({ file: 'mobilenet_v3_large-5c1a4163.pth', model: 'mobilenet_v3_large', name: 'IMAGENET1K_V2', enumClass: 'MobileNet_V3_Large_Weights', isDefault: true, top1: 75.274, top5: 92.566, numParams: 5483032, fileSizeMb: 21.107, resize: 232, recipe: NEW_RECIPE }),
  row({ file: 'mobilenet_v3_small-047dcff4.pth', model: 'mobilenet_v3_small', name: 'IMAGENET1K_V1', enumClass: 'MobileNet_V3_Small_Weights', isDefault: true, top1: 67.668, top5: 87.402, numParams: 2542856, fileSizeMb: 9.829, resize: 256, recipe: `${CLASSIC}#mobilenetv3-large--small` }),
  row({ file: 'shufflenetv2_x0.5-f707e7126e.pth', model: 'shufflenet_v2_x0_5', name: 'IMAGENET1K_V1', enumClass: 'ShuffleNet_V2_X0_5_Weights', isDefault: true, top1: 60.552, top5: 81.746, numParams: 1366792, fileSizeMb: 5.282, resize: 256 }),
  row({ file: 'shufflenetv2_x1-5666bf0f80.pth', model: 'shufflenet_v2_x1_0', name: 'IMAGENET1K_V1', enumClass: 'ShuffleNet_V2_X1_0_Weights', isDefault: true, top1: 69.362, top5: 88.316, numParams: 2278604, fileSizeMb: 8.791, resize: 256 }),
  row({ file: 'shufflenetv2_x1_5-3c479a10.pth', model: 'shufflenet_v2_x1_5', name: 'IMAGENET1K_V1', enumClass: 'ShuffleNet_V2_X1_5_Weights', isDefault: true, top1: 72.996, top5: 91.086, numParams: 3503624, fileSizeMb: 13.557, resize: 232, recipe: SHUFFLE_RECIPE }),
  row({ file: 'shufflenetv2_x2_0-8be3c8ee.pth', model: 'shufflenet_v2_x2_0', name: 'IMAGENET1K_V1', enumClass: 'ShuffleNet_V2_X2_0_Weights', isDefault: true, top1: 76.23, top5: 93.006, numParams: 7393996, fileSizeMb: 28.433, resize: 232, recipe: SHUFFLE_RECIPE }),
];

/** The published weights a file is, by its name (any folder). */
export function publishedWeightsOf(path: string): PublishedWeights | undefined {
  const name = path.split(/[\\/]/).pop();
  return PUBLISHED_WEIGHTS.find((w) => w.file === name);
}

/** `<model>.<ENUM>`, the name `mobilezoo weights` lists. */
export function weightsName(w: PublishedWeights): string {
  return `${w.model}.${w.name}`;
}

/**
 * The published weights a name means, as torchvision's `weights=` does: `mobilenet_v3_large` (its
 * DEFAULT), `mobilenet_v3_large.IMAGENET1K_V1`, `mobilenet_v3_large.DEFAULT`, the enum's own spelling
 * `MobileNet_V3_Large_Weights.IMAGENET1K_V1`, or the published file name; case does not matter.
 */
export function findPublishedWeights(name: string, table: readonly PublishedWeights[] = PUBLISHED_WEIGHTS): PublishedWeights | undefined {
  const n = name.trim().toLowerCase();
  const byFile = table.find((w) => w.file.toLowerCase() === n);
  if (byFile) return byFile;
  const dot = n.lastIndexOf('.');
  const [owner, member] = dot < 0 ? [n, 'default'] : [n.slice(0, dot), n.slice(dot + 1)];
  const candidates = table.filter((w) => w.model === owner || w.enumClass.toLowerCase() === owner);
  return member === 'default' ? candidates.find((w) => w.isDefault) : candidates.find((w) => w.name.toLowerCase() === member);
}
