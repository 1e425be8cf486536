import { describe, expect, it } from 'vitest'
import { ApiClient, decodeError, newRequestId, type KeyValueStore } from './client'
import { apiFieldErrors } from '../components/AuthScreen'

class Mem implements KeyValueStore {
  m = new Map<string, string>()
  getItem(k: string) {
    return this.m.get(k) ?? null
  }
  setItem(k: string, v: string) {
    this.m.set(k, v)
  }
  removeItem(k: string) {
    this.m.delete(k)
  }
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

describe('decodeError', () => {
  it('reads the gateway error JSON with every field violation', () => {
    const e = decodeError(400, {
      code: 'INVALID_ARGUMENT',
      message: 'login: must be at least 3 characters; password: must be at least 8 characters',
      field: 'login',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'INVALID_ARGUMENT' },
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          field_violations: [
            { field: 'login', description: 'must be at least 3 characters' },
            { field: 'password', description: 'must be at least 8 characters' },
          ],
        },
      ],
    })
    expect(e.code).toBe('INVALID_ARGUMENT')
    expect(e.field).toBe('login')
    expect(e.fields).toEqual({ login: 'must be at least 3 characters', password: 'must be at least 8 characters' })
    expect(apiFieldErrors(e)).toEqual({ login: 'Login must be at least 3 characters.', password: 'Password must be at least 8 characters.' })
  })

  it('reads numeric google.rpc.Status codes and nested field paths', () => {
    const e = decodeError(400, { code: 3, message: 'bad', details: [{ field_violations: [{ field: 'user.display_name', description: 'too long' }] }] })
    expect(e.code).toBe('INVALID_ARGUMENT')
    expect(e.field).toBe('display_name')
    expect(decodeError(503, null).transient).toBe(true)
    expect(decodeError(409, { code: 'ALREADY_EXISTS', message: 'taken' }).transient).toBe(false)
  })
})

describe('ApiClient', () => {
  const session = (access: string, refresh: string, expMs: number) => ({
    user: { id: 'u1', login: 'u' },
    tokens: { access_token: access, access_token_expire_time: new Date(expMs).toISOString(), refresh_token: refresh },
  })

  it('refreshes the access token before it expires, once for concurrent callers', async () => {
    const storage = new Mem()
    const now = Date.parse('2026-01-01T00:00:00Z')
    storage.setItem('accord.session', JSON.stringify(session('old', 'r1', now + 30_000)))
    const calls: string[] = []
    const fetchImpl = (async (url: string, init: RequestInit) => {
      calls.push(`${init.method} ${url} ${(init.headers as Record<string, string>).Authorization ?? ''}`)
      if (url === '/v1/auth:refresh') return json(200, session('new', 'r2', now + 900_000))
      return json(200, { user: { id: 'u1' } })
    }) as typeof fetch
    const c = new ApiClient({ storage, fetchImpl, now: () => now })
    await Promise.all([c.get('/v1/me'), c.get('/v1/me')])
    expect(calls.filter((x) => x.includes('refresh'))).toHaveLength(1)
    expect(calls.filter((x) => x.includes('/v1/me')).every((x) => x.endsWith('Bearer new'))).toBe(true)
    expect(JSON.parse(storage.getItem('accord.session')!).tokens.refresh_token).toBe('r2')
  })

  it('retries once after a 401 with a fresh token, and signs out when refresh is refused', async () => {
    const storage = new Mem()
    const now = Date.parse('2026-01-01T00:00:00Z')
    storage.setItem('accord.session', JSON.stringify(session('a1', 'r1', now + 900_000)))
    let refreshOk = true
    const fetchImpl = (async (url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization
      if (url === '/v1/auth:refresh') return refreshOk ? json(200, session('a2', 'r2', now + 900_000)) : json(401, { code: 'UNAUTHENTICATED', message: 'revoked' })
      return auth === 'Bearer a2' ? json(200, { ok: true }) : json(401, { code: 'UNAUTHENTICATED', message: 'expired' })
    }) as typeof fetch
    const c = new ApiClient({ storage, fetchImpl, now: () => now })
    expect(await c.get('/v1/me')).toEqual({ ok: true })
    refreshOk = false
    storage.setItem('accord.session', JSON.stringify(session('a3', 'r3', now + 900_000)))
    const d = new ApiClient({ storage, fetchImpl, now: () => now })
    await expect(d.get('/v1/me')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' })
    expect(d.current).toBeNull()
    expect(storage.getItem('accord.session')).toBeNull()
  })

  it('refreshes with the token another tab rotated even when its localStorage copy is stale', async () => {
    // Two tabs: each has its own (possibly stale) localStorage view, and both
    // share the store every tab reads consistently (IndexedDB in the browser).
    let shared: string | null = null
    const sharedStore = {
      get: async () => shared,
      set: async (v: string | null) => {
        shared = v
      },
    }
    const now = Date.parse('2026-01-01T00:00:00Z')
    let n = 1
    const spent = new Set<string>()
    const presented: string[] = []
    const fetchImpl = (async (url: string, init: RequestInit) => {
      if (url === '/v1/auth:refresh') {
        const token = (JSON.parse(String(init.body)) as { refresh_token: string }).refresh_token
        presented.push(token)
        // The server: a spent token means theft and ends the session.
        if (spent.has(token)) return json(401, { code: 'UNAUTHENTICATED', message: 'refresh token reused' })
        spent.add(token)
        n++
        return json(200, session(`a${n}`, `r${n}`, now + 30_000))
      }
      return json(200, { ok: true })
    }) as typeof fetch
    const first = session('a1', 'r1', now + 30_000)
    const tabA = new Mem()
    const tabB = new Mem()
    tabA.setItem('accord.session', JSON.stringify(first))
    tabB.setItem('accord.session', JSON.stringify(first))
    shared = JSON.stringify(first)
    const a = new ApiClient({ storage: tabA, shared: sharedStore, fetchImpl, now: () => now })
    const b = new ApiClient({ storage: tabB, shared: sharedStore, fetchImpl, now: () => now })
    await a.refresh()
    // tabB's localStorage still holds r1 (not yet propagated); its refresh must not present it.
    expect(JSON.parse(tabB.getItem('accord.session')!).tokens.refresh_token).toBe('r1')
    await b.refresh()
    expect(presented).toEqual(['r1', 'r2'])
    expect(b.current?.tokens.refresh_token).toBe('r3')
    expect(JSON.parse(shared!).tokens.refresh_token).toBe('r3')
    // Without the shared store, the same staleness presents the spent token and ends the session.
    const c = new ApiClient({ storage: tabB, fetchImpl, now: () => now })
    tabB.setItem('accord.session', JSON.stringify(first))
    await expect(c.refresh()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' })
  })

  it('makes request ids the API accepts', () => {
    const a = newRequestId()
    expect(a).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
    expect(newRequestId()).not.toBe(a)
  })
})
