/**
 * The project in the browser's IndexedDB (one database, one record): saved after every change, so a
 * reload or a closed tab loses nothing. Blobs and byte arrays are stored as they are (structured clone).
 */
import type { Project } from './project.js';

const DB = 'mobilezoo-teach';
const STORE = 'projects';
const KEY = 'current';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new Error(`cannot open the browser's storage (IndexedDB): ${r.error?.message ?? 'unknown error'}`));
  });
}

async function request<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const r = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(r.result as T);
      tx.onerror = () => reject(new Error(`the browser's storage (IndexedDB) failed: ${tx.error?.message ?? 'unknown error'}`));
      tx.onabort = () => reject(new Error(`the browser's storage (IndexedDB) refused the project: ${tx.error?.message ?? 'aborted (out of space?)'}`));
    });
  } finally {
    db.close();
  }
}

export const loadProject = (): Promise<Project | undefined> => request('readonly', (s) => s.get(KEY));
export const saveProject = (p: Project): Promise<void> => request('readwrite', (s) => s.put(p, KEY));
export const deleteProject = (): Promise<void> => request('readwrite', (s) => s.delete(KEY));
