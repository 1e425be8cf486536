// The reconnecting WebSocket client for /v1/events (docs/websocket.md).
// It keeps the last cursor of every scope in session storage, so that both a
// dropped connection and a page refresh resume the feed where it stopped.
import type { AccordEvent, ClientFrame, Cursor, ServerFrame, User } from '../api/types'

/** Connection states shown to the user. */
export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** CursorStore persists the last cursor of each scope. */
export class CursorStore {
  private readonly key: string
  private readonly storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>
  private cursors = new Map<string, string>()

  constructor(key: string, storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>) {
    this.key = key
    this.storage = storage
    try {
      const raw = storage?.getItem(key)
      if (raw) {
        for (const c of JSON.parse(raw) as Cursor[]) {
          if (c && typeof c.scope === 'string' && typeof c.position === 'string') this.cursors.set(c.scope, c.position)
        }
      }
    } catch {
      this.cursors.clear()
    }
  }

  /** list returns the cursors to send in hello. */
  list(): Cursor[] {
    return [...this.cursors].map(([scope, position]) => ({ scope, position }))
  }

  get(scope: string): string | undefined {
    return this.cursors.get(scope)
  }

  /** advance records an event's position; ephemeral events (no cursor) are ignored. */
  advance(ev: AccordEvent): void {
    if (!ev.scope || !ev.cursor) return
    this.cursors.set(ev.scope, ev.cursor)
    this.save()
  }

  /** forget drops a scope, e.g. a server the user left. */
  forget(scope: string): void {
    if (this.cursors.delete(scope)) this.save()
  }

  clear(): void {
    this.cursors.clear()
    this.storage?.removeItem(this.key)
  }

  private save(): void {
    try {
      this.storage?.setItem(this.key, JSON.stringify(this.list()))
    } catch {
      // Storage full or unavailable: resuming after a refresh degrades to a reload.
    }
  }
}

/** The subset of the WebSocket API the client uses (lets tests inject a fake). */
export interface SocketLike {
  readyState: number
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export interface EventSocketOptions {
  url: string
  /** Returns a valid access token; force asks for a fresh one (after a 4001 close). */
  getToken: (force: boolean) => Promise<string>
  cursors: CursorStore
  createSocket?: (url: string, protocols: string[]) => SocketLike
  onReady?: (frame: { user: User; session_id?: string }, resumed: boolean) => void
  onEvent?: (ev: AccordEvent) => void
  onFrame?: (frame: ServerFrame) => void
  onStatus?: (s: SocketStatus) => void
  /** Called when the token is refused and cannot be refreshed. */
  onAuthFailed?: () => void
  /** Backoff: first delay and cap, in ms. */
  minDelay?: number
  maxDelay?: number
  random?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (t: unknown) => void
}

const OPEN = 1

/** EventSocket is the app's one WebSocket: it authenticates, resumes with cursors and reconnects with backoff. */
export class EventSocket {
  private readonly o: Required<
    Pick<EventSocketOptions, 'minDelay' | 'maxDelay' | 'random' | 'setTimer' | 'clearTimer' | 'createSocket'>
  > &
    EventSocketOptions
  private ws: SocketLike | null = null
  private stopped = true
  private attempts = 0
  private everReady = false
  private ready = false
  private retryTimer: unknown = null
  private pingTimer: unknown = null
  private heartbeatMs = 20_000
  private statusValue: SocketStatus = 'closed'
  private queue: ClientFrame[] = []

  constructor(opts: EventSocketOptions) {
    this.o = {
      minDelay: 500,
      maxDelay: 15_000,
      random: Math.random,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      createSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
      ...opts,
    }
  }

  get status(): SocketStatus {
    return this.statusValue
  }

  /** isReady tells whether frames sent now reach the server. */
  get isReady(): boolean {
    return this.ready
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.connect()
  }

  /** stop closes the socket for good (sign-out, unmount); the promise settles when it is closed (at most 1 s). */
  stop(): Promise<void> {
    this.stopped = true
    this.ready = false
    this.o.clearTimer(this.retryTimer)
    this.o.clearTimer(this.pingTimer)
    const ws = this.ws
    this.ws = null
    this.setStatus('closed')
    if (!ws) return Promise.resolve()
    ws.onmessage = null
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 1000)
      ws.onclose = () => {
        clearTimeout(t)
        resolve()
      }
      ws.close(1000, 'bye')
    })
  }

  /** send delivers a frame now, or after the next ready for state-setting frames. */
  send(frame: ClientFrame): boolean {
    if (this.ready && this.ws && this.ws.readyState === OPEN) {
      this.ws.send(JSON.stringify(frame))
      return true
    }
    // Typing and pings are stale by the time we reconnect; state frames are not.
    // (The watch set is re-sent by the app on every ready.)
    if (frame.type === 'set_status' || frame.type === 'mark_read') {
      this.queue = this.queue.filter((f) => f.type !== frame.type || frame.type === 'mark_read')
      this.queue.push(frame)
    }
    return false
  }

  /** drop closes the current socket and reconnects with backoff (the browser went offline). */
  drop(): void {
    const ws = this.ws
    if (!ws || this.stopped) return
    ws.onclose = null
    ws.close(4000, 'offline')
    this.closed(ws, 4000, 'offline')
  }

  /** reconnectNow skips the backoff wait (e.g. when the browser goes back online). */
  reconnectNow(): void {
    if (this.stopped || this.ws || this.connecting) return
    this.attempts = 0
    this.o.clearTimer(this.retryTimer)
    this.connect()
  }

  private setStatus(s: SocketStatus): void {
    if (s === this.statusValue) return
    this.statusValue = s
    this.o.onStatus?.(s)
  }

  private connecting = false

  private async connect(): Promise<void> {
    if (this.connecting) return
    this.setStatus(this.everReady ? 'reconnecting' : 'connecting')
    let token: string
    this.connecting = true
    try {
      token = await this.o.getToken(this.attempts > 0 && this.lastCloseAuth)
    } catch {
      this.connecting = false
      if (this.lastCloseAuth) {
        this.stop()
        this.o.onAuthFailed?.()
        return
      }
      this.scheduleRetry()
      return
    }
    this.connecting = false
    if (this.stopped || this.ws) return
    let ws: SocketLike
    try {
      ws = this.o.createSocket(this.o.url, ['accord.v1'])
    } catch {
      this.scheduleRetry()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'hello', token, cursors: this.o.cursors.list(), client: 'web' } satisfies ClientFrame))
    }
    ws.onmessage = (m) => this.handle(m.data)
    ws.onerror = () => {
      // onclose follows and does the work.
    }
    ws.onclose = (ev) => this.closed(ws, ev.code, ev.reason)
  }

  private lastCloseAuth = false

  private closed(ws: SocketLike, code: number, _reason: string): void {
    if (this.ws !== ws) return
    this.ws = null
    this.ready = false
    this.o.clearTimer(this.pingTimer)
    if (this.stopped) return
    if (code === 4001) {
      // The token was refused: retry once with a fresh one, then give up.
      if (this.lastCloseAuth) {
        this.stop()
        this.o.onAuthFailed?.()
        return
      }
      this.lastCloseAuth = true
    }
    this.scheduleRetry()
  }

  /** delay is the backoff before attempt n (0-based): exponential with full jitter over the upper half. */
  delay(n: number): number {
    const base = Math.min(this.o.maxDelay, this.o.minDelay * 2 ** n)
    return Math.round(base / 2 + (this.o.random() * base) / 2)
  }

  private scheduleRetry(): void {
    if (this.stopped) return
    this.setStatus(this.everReady ? 'reconnecting' : 'connecting')
    const d = this.delay(this.attempts)
    this.attempts++
    this.retryTimer = this.o.setTimer(() => {
      this.retryTimer = null
      if (!this.stopped) this.connect()
    }, d)
  }

  private handle(data: unknown): void {
    if (typeof data !== 'string') return
    let frame: ServerFrame
    try {
      frame = JSON.parse(data) as ServerFrame
    } catch {
      return
    }
    this.awaitingPong = false
    switch (frame.type) {
      case 'ready': {
        const resumed = this.everReady
        this.ready = true
        this.everReady = true
        this.attempts = 0
        this.lastCloseAuth = false
        if (frame.heartbeat_interval_ms && frame.heartbeat_interval_ms > 0) this.heartbeatMs = frame.heartbeat_interval_ms
        this.setStatus('open')
        this.startHeartbeat()
        const queued = this.queue
        this.queue = []
        for (const f of queued) this.send(f)
        this.o.onReady?.(frame, resumed)
        break
      }
      case 'event': {
        const ev = frame.event
        if (!ev) break
        // Order matters: the app applies the event before the cursor moves, so a
        // crash between the two replays the event (harmless) rather than losing it.
        this.o.onEvent?.(ev)
        this.o.cursors.advance(ev)
        break
      }
      default:
        break
    }
    this.o.onFrame?.(frame)
  }

  private lastPingAt = 0
  /** A ping was sent and no frame has come since. */
  private awaitingPong = false

  private startHeartbeat(): void {
    this.o.clearTimer(this.pingTimer)
    this.lastPingAt = 0
    this.awaitingPong = false
    const every = Math.max(1000, Math.floor(this.heartbeatMs / 2))
    const tick = () => {
      const ws = this.ws
      if (!ws || !this.ready) return
      // Dead when a ping went unanswered for a whole interval. Measured from the ping
      // rather than from the last frame, so a background tab whose timers are
      // throttled to once a minute is not taken for a dead connection.
      if (this.awaitingPong && Date.now() - this.lastPingAt > this.heartbeatMs) {
        ws.close(4000, 'timeout')
        this.closed(ws, 4000, 'timeout')
        return
      }
      this.lastPingAt = Date.now()
      this.awaitingPong = true
      this.send({ type: 'ping', nonce: String(this.lastPingAt) })
      this.pingTimer = this.o.setTimer(tick, every)
    }
    this.pingTimer = this.o.setTimer(tick, every)
  }
}

/** eventsUrl is the WebSocket URL of /v1/events on the page's own origin. */
export function eventsUrl(loc: Location): string {
  return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/v1/events'
}
