export { loadCheckpoint, loadStateDictFile, saveFileAtomic, saveSafetensorsFile, stripPrefix } from './checkpoint.js';
export { MAX_CHECKPOINT_BYTES, readCheckpointObject, readPth, stateDictFromObject } from './pth.js';
export { readSafetensors, readSafetensorsMetadata, writeSafetensors } from './safetensors.js';
export { writeNpy } from './npy.js';
export { BASE_GLOBALS, PyGlobal, unpickle, type GlobalImpl, type UnpickleOptions } from './pickle.js';
export type { StorageDType } from './dtypes.js';
