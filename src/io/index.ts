/**
 * `mobilezoo/io`: torch.save files read (zip and legacy formats, through a restricted unpickler) and
 * written, safetensors, .npy, and the checkpoint loaders over them.
 *
 * @module mobilezoo/io
 */
export {
  loadStateDictFile,
  openStateDictFile,
  readExpected,
  readSafetensorsFileMetadata,
  saveFileAtomic,
  savePthFile,
  saveSafetensorsFile,
  type LoadStateDictFileOptions,
} from './checkpoint.js';
export { loadCheckpoint, openCheckpoint, stripPrefix } from './state-dict-bytes.js';
export { checkHubHash, hubHashPrefix } from './hub-hash.js';
export { MAX_CHECKPOINT_BYTES, isTorchSave, openCheckpointObject, readAll, readCheckpointObject, readPth, stateDictFromObject } from './pth.js';
export { ReadBudget } from './limits.js';
export { type InputFile, MAX_RECORD_BYTES, readInputFile, readInputText, referencedFile, withInputFile } from './input-file.js';
export { plainFileName } from './file-names.js';
export { writePth } from './pth-writer.js';
export { openSafetensors, readSafetensors, readSafetensorsMetadata, writeSafetensors } from './safetensors.js';
export { writeNpy } from './npy.js';
export { BASE_GLOBALS, PyGlobal, unpickle, unpickleAt, type GlobalImpl, type UnpickleOptions } from './pickle.js';
export type { StorageDType } from './dtypes.js';
