/** Upper bound on what one checkpoint may expand to in memory (archive entries, storages, materialized tensors). */
export const MAX_CHECKPOINT_BYTES = 4 * 1024 ** 3;
