// A session record every tab of the origin reads consistently.
//
// localStorage is cached per renderer process in Chromium: a tab can read its
// stale copy for a moment after another tab wrote a rotated refresh token. A
// tab that refreshed with that stale token would present a spent token, which
// the server takes as theft and answers by revoking the session (both tabs
// signed out). IndexedDB transactions are committed by the browser for the
// whole origin, so a tab that takes the refresh lock after another tab's
// write has completed reads the new token.

/** SharedSessionStore holds the session's JSON where every tab sees the last write. */
export interface SharedSessionStore {
  get(): Promise<string | null>
  set(value: string | null): Promise<void>
}

const DB = 'accord'
const STORE = 'session'
const KEY = 'current'

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE)
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

/** indexedDBSessionStore returns a store on IndexedDB, or undefined where there is none. */
export function indexedDBSessionStore(): SharedSessionStore | undefined {
  if (typeof indexedDB === 'undefined') return undefined
  let db: Promise<IDBDatabase> | null = null
  const run = async <T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T> | void): Promise<T | undefined> => {
    db ??= open()
    const tx = (await db).transaction(STORE, mode)
    const req = op(tx.objectStore(STORE))
    // Resolve once the transaction is committed, so the next tab to take the
    // refresh lock reads this write.
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
      tx.onabort = () => reject(tx.error)
    })
    return req ? req.result : undefined
  }
  return {
    async get() {
      const v = await run<unknown>('readonly', (s) => s.get(KEY))
      return typeof v === 'string' ? v : null
    },
    async set(value) {
      await run<unknown>('readwrite', (s) => {
        if (value === null) s.delete(KEY)
        else s.put(value, KEY)
      })
    },
  }
}
