import { describe, expect, it } from 'vitest'
import type { AccordEvent } from '../api/types'
import { CursorStore, EventSocket, type SocketLike } from './client'

class MemStorage {
  data = new Map<string, string>()
  getItem(k: string) {
    return this.data.get(k) ?? null
  }
  setItem(k: string, v: string) {
    this.data.set(k, v)
  }
  removeItem(k: string) {
    this.data.delete(k)
  }
}

class FakeSocket implements SocketLike {
  readyState = 0
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  sent: Record<string, unknown>[] = []
  readonly url: string
  readonly protocols: string[]
  constructor(url: string, protocols: string[]) {
    this.url = url
    this.protocols = protocols
  }
  send(data: string) {
    this.sent.push(JSON.parse(data))
  }
  close(code = 1000, reason = '') {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }
  // Test helpers.
  open() {
    this.readyState = 1
    this.onopen?.({})
  }
  frame(f: unknown) {
    this.onmessage?.({ data: JSON.stringify(f) })
  }
  drop(code = 1006) {
    this.readyState = 3
    this.onclose?.({ code, reason: '' })
  }
}

/** A manual clock for timers. */
class Timers {
  private q: { at: number; fn: () => void; id: number }[] = []
  private now = 0
  private seq = 0
  set = (fn: () => void, ms: number) => {
    const id = ++this.seq
    this.q.push({ at: this.now + ms, fn, id })
    return id
  }
  clear = (id: unknown) => {
    this.q = this.q.filter((t) => t.id !== id)
  }
  /** advance runs the timers due within ms and returns the delays of those that ran. */
  advance(ms: number) {
    const until = this.now + ms
    for (;;) {
      this.q.sort((a, b) => a.at - b.at)
      const t = this.q[0]
      if (!t || t.at > until) break
      this.q.shift()
      this.now = t.at
      t.fn()
    }
    this.now = until
  }
  pending() {
    return this.q.map((t) => t.at - this.now)
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0))

function setup(storage = new MemStorage()) {
  const sockets: FakeSocket[] = []
  const events: AccordEvent[] = []
  const statuses: string[] = []
  const readies: boolean[] = []
  const timers = new Timers()
  const tokens: boolean[] = []
  const cursors = new CursorStore('accord.cursors.u1', storage)
  const client = new EventSocket({
    url: 'ws://x/v1/events',
    getToken: async (force) => {
      tokens.push(force)
      return force ? 'fresh' : 'tok'
    },
    cursors,
    createSocket: (url, protocols) => {
      const s = new FakeSocket(url, protocols)
      sockets.push(s)
      return s
    },
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    onReady: (_f, resumed) => readies.push(resumed),
    random: () => 1,
    setTimer: timers.set,
    clearTimer: timers.clear,
  })
  return { client, sockets, events, statuses, readies, timers, storage, cursors, tokens }
}

const user = { id: 'u1', login: 'u1' }

describe('EventSocket', () => {
  it('says hello with the token and no cursors on a first connection', async () => {
    const t = setup()
    t.client.start()
    await flush()
    const s = t.sockets[0]
    expect(s.protocols).toEqual(['accord.v1'])
    s.open()
    expect(s.sent[0]).toEqual({ type: 'hello', token: 'tok', cursors: [], client: 'web' })
    s.frame({ type: 'ready', user, heartbeat_interval_ms: 20000 })
    expect(t.client.status).toBe('open')
    expect(t.readies).toEqual([false])
  })

  it('keeps the last cursor per scope, skips ephemeral events, and resumes with them after a drop', async () => {
    const t = setup()
    t.client.start()
    await flush()
    const s = t.sockets[0]
    s.open()
    s.frame({ type: 'ready', user })
    s.frame({ type: 'event', event: { scope: 'server:1', cursor: '1-0', message_created: {} } })
    s.frame({ type: 'event', event: { scope: 'user:u1', cursor: '5-0', server_joined: {} } })
    s.frame({ type: 'event', event: { scope: 'server:1', cursor: '2-0', message_created: {} } })
    s.frame({ type: 'event', event: { scope: 'server:1', typing: { channel_id: 'c' } } })
    expect(t.events).toHaveLength(4)

    s.drop()
    expect(t.client.status).toBe('reconnecting')
    // Backoff with random()=1: the first retry waits the minimum delay.
    expect(t.timers.pending()).toEqual([500])
    t.timers.advance(500)
    await flush()
    const s2 = t.sockets[1]
    s2.open()
    expect(s2.sent[0]).toEqual({
      type: 'hello',
      token: 'tok',
      client: 'web',
      cursors: [
        { scope: 'server:1', position: '2-0' },
        { scope: 'user:u1', position: '5-0' },
      ],
    })
    s2.frame({ type: 'ready', user })
    expect(t.readies).toEqual([false, true])
    expect(t.statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
  })

  it('survives a page refresh: a new client resumes from stored cursors', async () => {
    const a = setup()
    a.client.start()
    await flush()
    a.sockets[0].open()
    a.sockets[0].frame({ type: 'ready', user })
    a.sockets[0].frame({ type: 'event', event: { scope: 'server:9', cursor: '7-1', message_created: {} } })
    a.client.stop()

    const b = setup(a.storage)
    b.client.start()
    await flush()
    b.sockets[0].open()
    expect(b.sockets[0].sent[0]).toMatchObject({ cursors: [{ scope: 'server:9', position: '7-1' }] })
  })

  it('moves the cursor to a resync event so the feed continues after the reload', async () => {
    const t = setup()
    t.cursors.advance({ scope: 'server:1', cursor: 'old' })
    t.client.start()
    await flush()
    t.sockets[0].open()
    t.sockets[0].frame({ type: 'ready', user })
    t.sockets[0].frame({ type: 'event', event: { scope: 'server:1', cursor: '99-0', resync: { reason: 'retention' } } })
    expect(t.cursors.get('server:1')).toBe('99-0')
    expect(t.events[0].resync).toBeDefined()
  })

  it('backs off exponentially up to the cap and resets after ready', async () => {
    const t = setup()
    const delays = [0, 1, 2, 3, 4, 5, 6, 10].map((n) => t.client.delay(n))
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000])
  })

  it('retries a refused token once with a fresh one', async () => {
    const t = setup()
    t.client.start()
    await flush()
    t.sockets[0].open()
    t.sockets[0].drop(4001)
    t.timers.advance(500)
    await flush()
    expect(t.tokens).toEqual([false, true])
    t.sockets[1].open()
    expect(t.sockets[1].sent[0]).toMatchObject({ token: 'fresh' })
  })

  it('queues state frames until ready and drops stale typing', async () => {
    const t = setup()
    t.client.start()
    expect(t.client.send({ type: 'set_status', status: 'STATUS_IDLE' })).toBe(false)
    expect(t.client.send({ type: 'set_status', status: 'STATUS_DND' })).toBe(false)
    expect(t.client.send({ type: 'typing', channel_id: 'c' })).toBe(false)
    await flush()
    const s = t.sockets[0]
    s.open()
    s.frame({ type: 'ready', user })
    expect(s.sent.slice(1)).toEqual([{ type: 'set_status', status: 'STATUS_DND' }])
  })

  it('stops reconnecting after stop()', async () => {
    const t = setup()
    t.client.start()
    await flush()
    t.sockets[0].open()
    t.client.stop()
    t.timers.advance(60_000)
    await flush()
    expect(t.sockets).toHaveLength(1)
    expect(t.client.status).toBe('closed')
  })
})

describe('EventSocket heartbeat', () => {
  it('pings every half interval and closes a socket whose ping goes unanswered', async () => {
    const t = setup()
    t.client.start()
    await flush()
    const s = t.sockets[0]
    s.open()
    s.frame({ type: 'ready', user, heartbeat_interval_ms: 2000 })
    t.timers.advance(1000)
    expect(s.sent.at(-1)).toMatchObject({ type: 'ping' })
    const nonce = (s.sent.at(-1) as { nonce: string }).nonce
    s.frame({ type: 'pong', nonce })
    t.timers.advance(1000)
    expect(t.client.status).toBe('open')
    // No pong for the next ping: the socket counts as dead once an interval has passed.
    const realNow = Date.now
    try {
      const start = realNow()
      Date.now = () => start + 5000
      t.timers.advance(1000)
      expect(t.client.status).toBe('reconnecting')
    } finally {
      Date.now = realNow
    }
  })
})
