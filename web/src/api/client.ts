// The REST client: JSON over fetch, access-token management (refreshed before
// it expires and once on a 401) and error decoding into ApiError.
import type { SharedSessionStore } from './sharedSession'
import type { AuthResponse, Tokens, User } from './types'

const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]

/** ApiError is a refused or failed request, decoded from the gateway's error JSON. */
export class ApiError extends Error {
  /** HTTP status; 0 when the request never got an answer. */
  readonly status: number
  /** gRPC code name such as INVALID_ARGUMENT. */
  readonly code: string
  /** The request field the error is about, if any. */
  readonly field?: string
  /** ErrorInfo reason, if any. */
  readonly reason?: string
  /** Every field violation: field (leaf name) -> description. */
  readonly fields: Record<string, string>
  /** How long a rate-limited request asks to wait (ErrorInfo metadata retry_after_ms). */
  readonly retryAfterMs?: number

  constructor(
    status: number,
    code: string,
    message: string,
    field?: string,
    reason?: string,
    fields: Record<string, string> = {},
    retryAfterMs?: number,
  ) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field
    this.reason = reason
    this.fields = fields
    this.retryAfterMs = retryAfterMs
  }

  /** Whether retrying the same request later may succeed. */
  get transient(): boolean {
    return this.status === 0 || this.status >= 502 || this.code === 'UNAVAILABLE'
  }
}

interface Detail {
  '@type'?: string
  reason?: string
  metadata?: Record<string, string>
  field_violations?: { field?: string; description?: string }[]
  fieldViolations?: { field?: string; description?: string }[]
}

/** decodeError turns an error body (either {code,message,field} or google.rpc.Status JSON) into an ApiError. */
export function decodeError(status: number, body: unknown): ApiError {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>
  let code = 'UNKNOWN'
  if (typeof b.code === 'string') code = b.code.toUpperCase()
  else if (typeof b.code === 'number') code = GRPC_CODES[b.code] ?? 'UNKNOWN'
  else if (status === 401) code = 'UNAUTHENTICATED'
  else if (status === 404) code = 'NOT_FOUND'
  else if (status >= 500) code = 'UNAVAILABLE'
  let message = typeof b.message === 'string' && b.message ? b.message : `request failed (${status})`
  let field = typeof b.field === 'string' && b.field ? b.field : undefined
  let reason = typeof b.reason === 'string' ? b.reason : undefined
  const details = Array.isArray(b.details) ? (b.details as Detail[]) : []
  const fields: Record<string, string> = {}
  let retryAfterMs: number | undefined
  // Field paths may be nested ("user.display_name"); forms care about the leaf.
  const leaf = (f: string) => (f.includes('.') ? f.slice(f.lastIndexOf('.') + 1) : f)
  for (const d of details) {
    const violations = d.field_violations ?? d.fieldViolations ?? []
    for (const v of violations) {
      if (v.field && !(leaf(v.field) in fields)) fields[leaf(v.field)] = v.description ?? 'is invalid'
    }
    if (violations.length > 0 && !field) {
      field = violations[0].field
      if (violations[0].description && !b.message) message = violations[0].description
    }
    if (d.reason && !reason) reason = d.reason
    const ms = Number(d.metadata?.retry_after_ms)
    if (d.metadata?.retry_after_ms && Number.isFinite(ms)) retryAfterMs = ms
  }
  if (field) field = leaf(field)
  if (field && !(field in fields)) fields[field] = message
  return new ApiError(status, code, message, field, reason, fields, retryAfterMs)
}

/** Session is what a signed-in tab keeps. */
export interface Session {
  user: User
  tokens: Tokens
}

/** KeyValueStore is the part of Storage the client needs (localStorage in the browser). */
export interface KeyValueStore {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

const SESSION_KEY = 'accord.session'

/** parseSession decodes a stored session; null when there is none or it is unusable. */
function parseSession(raw: string | null | undefined): Session | null {
  if (!raw) return null
  try {
    const s = JSON.parse(raw) as Session
    return s?.tokens?.refresh_token && s.user?.id ? s : null
  } catch {
    return null
  }
}
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000

export interface ApiClientOptions {
  baseUrl?: string
  storage?: KeyValueStore
  /** Where tabs hand each other a rotated refresh token (IndexedDB in the browser). */
  shared?: SharedSessionStore
  fetchImpl?: typeof fetch
  now?: () => number
}

type Query = Record<string, string | number | boolean | string[] | undefined>

/** ApiClient talks to the gateway's REST API. */
export class ApiClient {
  private readonly baseUrl: string
  private readonly storage?: KeyValueStore
  private readonly shared?: SharedSessionStore
  private readonly fetchImpl: typeof fetch
  private readonly now: () => number
  private session: Session | null
  private refreshing: Promise<Session> | null = null
  private listeners = new Set<(s: Session | null) => void>()

  constructor(opts: ApiClientOptions = {}) {
    this.baseUrl = opts.baseUrl ?? ''
    this.storage = opts.storage
    this.shared = opts.shared
    this.fetchImpl = opts.fetchImpl ?? ((...a) => fetch(...a))
    this.now = opts.now ?? Date.now
    this.session = this.load()
  }

  /** The current session (null when signed out). */
  get current(): Session | null {
    return this.session
  }

  /** onSession registers a listener for sign-in, refresh and sign-out. */
  onSession(fn: (s: Session | null) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private load(): Session | null {
    return parseSession(this.storage?.getItem(SESSION_KEY))
  }

  private setSession(s: Session | null): void {
    this.session = s
    if (s) this.storage?.setItem(SESSION_KEY, JSON.stringify(s))
    else this.storage?.removeItem(SESSION_KEY)
    for (const fn of this.listeners) fn(s)
  }

  /** share records the session for the other tabs (best effort: localStorage still has it). */
  private async share(s: Session | null): Promise<void> {
    try {
      await this.shared?.set(s ? JSON.stringify(s) : null)
    } catch {
      // Without IndexedDB the tabs fall back on localStorage alone.
    }
  }

  /** latest is the newest session any tab recorded: the shared store's, else localStorage's. */
  private async latest(): Promise<Session | null> {
    if (this.shared) {
      try {
        const s = parseSession(await this.shared.get())
        if (s && s.user.id === this.session?.user.id) return s
      } catch {
        // Fall back on localStorage.
      }
    }
    return this.load()
  }

  /** setUser updates the cached profile (after an edit or a user_updated event). */
  setUser(u: User): void {
    if (this.session) this.setSession({ ...this.session, user: u })
  }

  async register(login: string, password: string, displayName: string): Promise<Session> {
    const r = await this.call<AuthResponse>('POST', '/v1/auth:register', {
      body: { login, password, display_name: displayName, client: 'web' },
      auth: false,
    })
    this.setSession({ user: r.user, tokens: r.tokens })
    await this.share(this.session)
    return this.session!
  }

  async login(login: string, password: string): Promise<Session> {
    const r = await this.call<AuthResponse>('POST', '/v1/auth:login', {
      body: { login, password, client: 'web' },
      auth: false,
    })
    this.setSession({ user: r.user, tokens: r.tokens })
    await this.share(this.session)
    return this.session!
  }

  /** logout revokes the session on the server (best effort) and forgets it here. */
  async logout(): Promise<void> {
    if (this.session) {
      try {
        await this.call('POST', '/v1/auth:logout', { body: {} })
      } catch {
        // Signing out locally must work even when the server cannot be reached.
      }
    }
    this.setSession(null)
    await this.share(null)
  }

  /** accessToken returns a token valid for at least a minute, refreshing it if needed. */
  async accessToken(force = false): Promise<string> {
    const s = this.session
    if (!s) throw new ApiError(401, 'UNAUTHENTICATED', 'not signed in')
    const exp = Date.parse(s.tokens.access_token_expire_time)
    if (!force && Number.isFinite(exp) && exp - this.now() > REFRESH_MARGIN_MS) return s.tokens.access_token
    return (await this.refresh()).tokens.access_token
  }

  /** refresh rotates the refresh token once, however many callers ask at the same time. */
  refresh(): Promise<Session> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null
      })
    }
    return this.refreshing
  }

  private async doRefresh(): Promise<Session> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
    // Tabs share the refresh token: rotating it in two tabs at once would look
    // like reuse and revoke the session, so tabs take turns and adopt a token
    // another tab already rotated.
    if (locks) return locks.request('accord.refresh', () => this.refreshLocked())
    return this.refreshLocked()
  }

  private async refreshLocked(): Promise<Session> {
    const stored = await this.latest()
    const mine = this.session
    if (!mine) throw new ApiError(401, 'UNAUTHENTICATED', 'not signed in')
    if (stored && stored.tokens.refresh_token !== mine.tokens.refresh_token) {
      const exp = Date.parse(stored.tokens.access_token_expire_time)
      if (exp - this.now() > REFRESH_MARGIN_MS) {
        this.setSession(stored)
        return stored
      }
    }
    const token = (stored ?? mine).tokens.refresh_token
    try {
      const r = await this.call<AuthResponse>('POST', '/v1/auth:refresh', { body: { refresh_token: token }, auth: false })
      this.setSession({ user: r.user, tokens: r.tokens })
      // Recorded before the lock is released: the next tab to refresh reads it.
      await this.share(this.session)
      return this.session!
    } catch (e) {
      if (e instanceof ApiError && !e.transient) {
        this.setSession(null)
        await this.share(null)
      }
      throw e
    }
  }

  /** get, post, patch and del call an authenticated endpoint. */
  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, { query })
  }
  post<T>(path: string, body: unknown = {}, keepalive = false): Promise<T> {
    return this.call<T>('POST', path, { body, keepalive })
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PATCH', path, { body })
  }
  del<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path, {})
  }

  /** blob fetches a binary resource (an SVG chart) with the Authorization header. */
  async blob(path: string, query?: Query): Promise<Blob> {
    const res = await this.send('GET', path, { query })
    return res.blob()
  }

  /** putBytes uploads a file as the request body (an avatar, a server icon) and returns the JSON answer. */
  async putBytes<T>(path: string, body: Blob): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const headers = { Authorization: 'Bearer ' + (await this.accessToken(attempt > 0)) }
      let res: Response
      try {
        res = await this.fetchImpl(this.baseUrl + path, { method: 'PUT', headers, body })
      } catch (e) {
        throw new ApiError(0, 'UNAVAILABLE', 'cannot reach the server: ' + (e instanceof Error ? e.message : String(e)))
      }
      if (res.ok) return (await res.json()) as T
      if (res.status === 401 && attempt === 0) continue
      let b: unknown = null
      try {
        b = await res.json()
      } catch {
        b = null
      }
      throw decodeError(res.status, b)
    }
  }

  private async call<T>(method: string, path: string, o: { body?: unknown; query?: Query; auth?: boolean; keepalive?: boolean }): Promise<T> {
    const res = await this.send(method, path, o)
    const text = await res.text()
    return (text ? JSON.parse(text) : {}) as T
  }

  private async send(method: string, path: string, o: { body?: unknown; query?: Query; auth?: boolean; keepalive?: boolean }): Promise<Response> {
    const auth = o.auth ?? true
    let url = this.baseUrl + path
    if (o.query) {
      const q = new URLSearchParams()
      for (const [k, v] of Object.entries(o.query)) {
        if (v === undefined || v === '') continue
        if (Array.isArray(v)) v.forEach((x) => q.append(k, x))
        else q.append(k, String(v))
      }
      const qs = q.toString()
      if (qs) url += '?' + qs
    }
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {}
      if (o.body !== undefined) headers['Content-Type'] = 'application/json'
      if (auth) headers['Authorization'] = 'Bearer ' + (await this.accessToken(attempt > 0))
      let res: Response
      try {
        res = await this.fetchImpl(url, {
          method,
          headers,
          body: o.body !== undefined ? JSON.stringify(o.body) : undefined,
          // keepalive lets a request finish after the page is closed (read markers).
          keepalive: o.keepalive,
        })
      } catch (e) {
        throw new ApiError(0, 'UNAVAILABLE', 'cannot reach the server: ' + (e instanceof Error ? e.message : String(e)))
      }
      if (res.ok) return res
      if (res.status === 401 && auth && attempt === 0) continue
      let body: unknown = null
      try {
        body = await res.json()
      } catch {
        body = null
      }
      throw decodeError(res.status, body)
    }
  }
}

/** newRequestId returns a client request id that matches ^[A-Za-z0-9_-]{1,64}$. */
export function newRequestId(): string {
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}
