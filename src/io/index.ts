export { loadStateDictFile, saveFileAtomic, savePthFile, saveSafetensorsFile, type LoadStateDictFileOptions } from './checkpoint.js';
export { loadCheckpoint, stripPrefix } from './state-dict-bytes.js';
export { checkHubHash, hubHashPrefix } from './hub-hash.js';
export { MAX_CHECKPOINT_BYTES, isTorchSave, readCheckpointObject, readPth, stateDictFromObject } from './pth.js';
export { writePth } from './pth-writer.js';
export { readSafetensors, readSafetensorsMetadata, writeSafetensors } from './safetensors.js';
export { writeNpy } from './npy.js';
export { BASE_GLOBALS, PyGlobal, unpickle, unpickleAt, type GlobalImpl, type UnpickleOptions } from './pickle.js';
export type { StorageDType } from './dtypes.js';
