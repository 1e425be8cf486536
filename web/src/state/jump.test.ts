// The history around a message (jump to a message) in the reducer: the
// loaded window never has a gap, whatever arrives while it is open.
import { describe, expect, it } from 'vitest'
import type { Message } from '../api/types'
import { initialState, reducer, unreadOfChannel, type Action, type State } from './reducer'

const ME = 'a'.repeat(24)
const BOB = 'b'.repeat(24)
const SRV = '5'.repeat(24)
const CH = 'c'.repeat(24)
const mid = (n: number) => '6500000000000000000000' + n.toString(16).padStart(2, '0')
const msg = (n: number): Message => ({ id: mid(n), server_id: SRV, channel_id: CH, author_id: BOB, content: `m${n}` })
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => msg(b - i)) // newest first

let cursor = 0
const created = (n: number): Action => ({ type: 'event', event: { scope: 'server:' + SRV, cursor: String(++cursor), message_created: msg(n) } })

function start(): State {
  const actions: Action[] = [
    { type: 'signedIn', me: { id: ME, login: 'me' } },
    { type: 'serversLoaded', servers: [{ id: SRV, name: 'S', kind: 'SERVER_KIND_GUILD' }] },
    { type: 'channelsLoaded', serverId: SRV, channels: [{ id: CH, server_id: SRV, name: 'general' }] },
    { type: 'historyLoaded', channelId: CH, messages: range(200, 249), hasMore: true, mode: 'latest' },
    { type: 'activeChannel', channelId: CH },
  ]
  return actions.reduce(reducer, initialState)
}

const ids = (s: State) => s.messages[CH].ids.map((id) => parseInt(id.slice(-2), 16))

describe('history around a message', () => {
  it('replaces the window, keeps newer ones waiting, pages forward and reaches the present', () => {
    let s = reducer(start(), { type: 'historyLoaded', channelId: CH, messages: range(10, 30), hasMore: true, hasNewer: true, mode: 'around' })
    expect(ids(s)).toEqual(range(10, 30).reverse().map((_, i) => 10 + i))
    expect(s.messages[CH]).toMatchObject({ hasMore: true, hasNewer: true, loaded: true })
    // A live message is counted, not shown after a gap.
    s = reducer(s, { type: 'activeChannel', channelId: null })
    s = reducer(s, created(250))
    expect(ids(s).at(-1)).toBe(30)
    expect(unreadOfChannel(s, CH)).toBeGreaterThan(0)
    // The newest page does not land after the gap either.
    s = reducer(s, { type: 'historyLoaded', channelId: CH, messages: range(201, 250), hasMore: true, mode: 'latest' })
    expect(ids(s).at(-1)).toBe(30)
    // Older pages still prepend.
    s = reducer(s, { type: 'historyLoaded', channelId: CH, messages: range(0, 9), hasMore: false, mode: 'older' })
    expect(ids(s)[0]).toBe(0)
    expect(s.messages[CH].hasMore).toBe(false)
    // Paging forward.
    s = reducer(s, { type: 'historyLoaded', channelId: CH, messages: range(31, 80).reverse(), hasMore: false, hasNewer: true, mode: 'newer' })
    expect(ids(s).at(-1)).toBe(80)
    expect(s.messages[CH]).toMatchObject({ hasMore: false, hasNewer: true })
    s = reducer(s, { type: 'historyLoaded', channelId: CH, messages: range(81, 250).reverse(), hasMore: false, hasNewer: false, mode: 'newer' })
    expect(s.messages[CH].hasNewer).toBe(false)
    // At the present: live messages append again.
    s = reducer(s, created(251))
    expect(ids(s).at(-1)).toBe(251)
    expect(ids(s)).toEqual(Array.from({ length: 252 }, (_, i) => i))
  })

  it('jumping to the present resets the window to the newest page', () => {
    let s = reducer(start(), { type: 'historyLoaded', channelId: CH, messages: range(10, 30), hasMore: true, hasNewer: true, mode: 'around' })
    s = reducer(s, { type: 'historyLoaded', channelId: CH, messages: range(200, 249), hasMore: true, mode: 'reset' })
    expect(s.messages[CH].hasNewer).toBe(false)
    expect(ids(s)).toEqual(Array.from({ length: 50 }, (_, i) => 200 + i))
  })

  it('an edit of a message outside the window does not enter it', () => {
    let s = reducer(start(), { type: 'historyLoaded', channelId: CH, messages: range(10, 30), hasMore: true, hasNewer: true, mode: 'around' })
    s = reducer(s, { type: 'event', event: { scope: 'server:' + SRV, cursor: String(++cursor), message_updated: { ...msg(240), content: 'edited', edit_time: new Date().toISOString() } } })
    expect(ids(s).at(-1)).toBe(30)
    s = reducer(s, { type: 'event', event: { scope: 'server:' + SRV, cursor: String(++cursor), message_updated: { ...msg(20), content: 'edited', edit_time: new Date().toISOString() } } })
    expect(s.messages[CH].byId[mid(20)].content).toBe('edited')
  })
})
