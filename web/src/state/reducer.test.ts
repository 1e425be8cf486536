import { describe, expect, it } from 'vitest'
import type { AccordEvent, Message, ReadState } from '../api/types'
import { avatarOf, channelsOf, initialState, messagesOf, pendingOf, reducer, unreadOfChannel, unreadOfServer, type Action, type State } from './reducer'

const ME = 'a'.repeat(24)
const BOB = 'b'.repeat(24)
const SRV = '5'.repeat(24)
const CH = 'c'.repeat(24)
const CH2 = 'd'.repeat(24)

// Ids grow with time, like ObjectIds.
const mid = (n: number) => '6500000000000000000000' + n.toString(16).padStart(2, '0')

function msg(n: number, author = BOB, extra: Partial<Message> = {}): Message {
  return { id: mid(n), server_id: SRV, channel_id: CH, author_id: author, content: `m${n}`, ...extra }
}

let cursor = 0
function ev(e: Omit<AccordEvent, 'scope'>): Action {
  cursor++
  return { type: 'event', event: { scope: 'server:' + SRV, cursor: String(cursor), ...e } }
}

function run(actions: Action[], s: State = start()): State {
  return actions.reduce(reducer, s)
}

function start(): State {
  return run(
    [
      { type: 'signedIn', me: { id: ME, login: 'me' } },
      { type: 'serversLoaded', servers: [{ id: SRV, name: 'S', kind: 'SERVER_KIND_GUILD' }] },
      {
        type: 'channelsLoaded',
        serverId: SRV,
        channels: [
          { id: CH, server_id: SRV, name: 'general', position: 0 },
          { id: CH2, server_id: SRV, name: 'random', position: 1 },
        ],
      },
    ],
    initialState,
  )
}

const contents = (s: State, ch = CH) => messagesOf(s, ch).map((m) => m.content)

describe('event reducer', () => {
  it('applies create, edit and delete', () => {
    const s = run([
      ev({ message_created: msg(1) }),
      ev({ message_created: msg(2) }),
      ev({ message_updated: msg(1, BOB, { content: 'edited', edit_time: '2026-01-01T00:00:00Z' }) }),
      ev({ message_deleted: { server_id: SRV, channel_id: CH, message_id: mid(2) } }),
    ])
    expect(contents(s)).toEqual(['edited'])
  })

  it('never shows a message twice when events are replayed', () => {
    const events = [ev({ message_created: msg(1) }), ev({ message_created: msg(2) })]
    const s = run([...events, ...events, ...events])
    expect(contents(s)).toEqual(['m1', 'm2'])
  })

  it('merges history with live events in id order without duplicates', () => {
    const s = run([
      ev({ message_created: msg(5) }),
      { type: 'historyLoaded', channelId: CH, messages: [msg(5), msg(4), msg(3)], hasMore: true, mode: 'latest' },
      ev({ message_created: msg(6) }),
      { type: 'historyLoaded', channelId: CH, messages: [msg(2), msg(1)], hasMore: false, mode: 'older' },
      ev({ message_created: msg(4) }),
    ])
    expect(contents(s)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])
    expect(s.messages[CH].hasMore).toBe(false)
  })

  it('does not resurrect a deleted message from a late history page', () => {
    const s = run([
      ev({ message_created: msg(1) }),
      ev({ message_deleted: { server_id: SRV, channel_id: CH, message_id: mid(1) } }),
      { type: 'historyLoaded', channelId: CH, messages: [msg(1)], hasMore: false, mode: 'latest' },
      ev({ message_created: msg(1) }),
    ])
    expect(contents(s)).toEqual([])
  })

  it('keeps the newest edit when an older version arrives later', () => {
    const s = run([
      ev({ message_created: msg(1) }),
      ev({ message_updated: msg(1, BOB, { content: 'v2', edit_time: '2026-01-01T00:00:02Z' }) }),
      { type: 'historyLoaded', channelId: CH, messages: [msg(1, BOB, { content: 'v1', edit_time: '2026-01-01T00:00:01Z' })], hasMore: false, mode: 'latest' },
    ])
    expect(contents(s)).toEqual(['v2'])
  })

  it('resumes after a reconnect: replayed and new events give each message once', () => {
    let s = run([ev({ message_created: msg(1) }), ev({ message_created: msg(2) })])
    // The connection drops; the server replays from a slightly older cursor.
    s = run([ev({ message_created: msg(2) }), ev({ message_created: msg(3) }), ev({ message_deleted: { server_id: SRV, channel_id: CH, message_id: mid(1) } })], s)
    expect(contents(s)).toEqual(['m2', 'm3'])
    // A refresh reloads history and replays the same events again.
    s = run(
      [
        { type: 'historyLoaded', channelId: CH, messages: [msg(3), msg(2)], hasMore: false, mode: 'reset' },
        ev({ message_created: msg(1) }),
        ev({ message_created: msg(3) }),
      ],
      s,
    )
    expect(contents(s)).toEqual(['m2', 'm3'])
  })

  it('replaces an optimistic send with the stored message, whichever comes first', () => {
    const pending = {
      request_id: 'r1',
      server_id: SRV,
      channel_id: CH,
      content: 'hi',
      state: 'sending' as const,
      create_time: '2026-01-01T00:00:00Z',
    }
    const stored = msg(7, ME, { content: 'hi', request_id: 'r1' })
    for (const order of [
      [ev({ message_created: stored }), { type: 'messageStored', message: stored }],
      [{ type: 'messageStored', message: stored }, ev({ message_created: stored })],
    ] as Action[][]) {
      const s = run([{ type: 'pendingAdded', pending }, ...order])
      expect(pendingOf(s, CH)).toEqual([])
      expect(contents(s)).toEqual(['hi'])
    }
  })

  it('marks replies to a deleted message', () => {
    const s = run([
      ev({ message_created: msg(1) }),
      ev({ message_created: msg(2, ME, { reply_to: { id: mid(1), content: 'm1' } }) }),
      ev({ message_deleted: { server_id: SRV, channel_id: CH, message_id: mid(1) } }),
    ])
    expect(messagesOf(s, CH)[0].reply_to?.deleted).toBe(true)
  })

  it('removes a server with its channels when the user leaves it', () => {
    const s = run([ev({ message_created: msg(1) }), { type: 'event', event: { scope: 'user:' + ME, cursor: '9', server_left: { server_id: SRV, reason: 'kicked' } } }])
    expect(s.servers[SRV]).toBeUndefined()
    expect(s.channels[CH]).toBeUndefined()
    expect(s.messages[CH]).toBeUndefined()
  })

  it('keeps the caller role when another member event updates the server', () => {
    let s = run([{ type: 'serverUpserted', server: { id: SRV, name: 'S', my_role: 'ROLE_OWNER' } }])
    s = run([ev({ server_updated: { id: SRV, name: 'Renamed', my_role: 'ROLE_MEMBER' } })], s)
    expect(s.servers[SRV].name).toBe('Renamed')
    expect(s.servers[SRV].my_role).toBe('ROLE_OWNER')
    s = run([ev({ member_updated: { server_id: SRV, user_id: ME, role: 'ROLE_ADMIN' } })], s)
    expect(s.servers[SRV].my_role).toBe('ROLE_ADMIN')
  })

  it('reads omitted zero fields of a moved channel as zero', () => {
    const s = run([ev({ channel_updated: { id: CH2, server_id: SRV, name: 'random' } }), ev({ channel_updated: { id: CH, server_id: SRV, name: 'general', position: 1 } })])
    expect(channelsOf(s, SRV).map((c) => c.name)).toEqual(['random', 'general'])
  })

  it('shows typing until it expires or the typist sends', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    let s = run([
      { type: 'event', now, event: { scope: 'server:' + SRV, typing: { server_id: SRV, channel_id: CH, user_id: BOB, display_name: 'Bob', expire_time: '2026-01-01T00:00:08Z' } } },
    ])
    expect(Object.values(s.typing[CH]).map((t) => t.name)).toEqual(['Bob'])
    expect(run([{ type: 'typingPruned', now: now + 5000 }], s).typing[CH]).toBeDefined()
    expect(run([{ type: 'typingPruned', now: now + 9000 }], s).typing[CH]).toBeUndefined()
    s = run([ev({ message_created: msg(1) })], s)
    expect(s.typing[CH][BOB]).toBeUndefined()
  })
})

describe('unread counting', () => {
  const rs = (extra: Partial<ReadState> = {}): ReadState => ({ server_id: SRV, channel_id: CH, unread_count: 0, ...extra })

  it('counts new messages from others in channels not being viewed', () => {
    const s = run([ev({ message_created: msg(1) }), ev({ message_created: msg(2) }), ev({ message_created: msg(3, ME) })])
    // The caller's own message reads the channel up to it.
    expect(unreadOfChannel(s, CH)).toBe(0)
    const t = run([ev({ message_created: msg(4) }), ev({ message_created: msg(5) })], s)
    expect(unreadOfChannel(t, CH)).toBe(2)
    expect(unreadOfServer(t, SRV)).toBe(2)
  })

  it('does not count a replayed message twice', () => {
    const e1 = ev({ message_created: msg(1) })
    const e2 = ev({ message_created: msg(2) })
    const s = run([e1, e2, e1, e2, e1])
    expect(unreadOfChannel(s, CH)).toBe(2)
  })

  it('adds live messages on top of ListReadStates, and a fresh list replaces the count', () => {
    let s = run([{ type: 'readStatesLoaded', readStates: [rs({ last_read_message_id: mid(1), last_message_id: mid(3), unread_count: 2 })] }])
    s = run([ev({ message_created: msg(3) }), ev({ message_created: msg(4) })], s)
    expect(unreadOfChannel(s, CH)).toBe(3)
    s = run([{ type: 'readStatesLoaded', readStates: [rs({ last_read_message_id: mid(4), last_message_id: mid(4), unread_count: 0 })] }], s)
    expect(unreadOfChannel(s, CH)).toBe(0)
  })

  it('clears when the channel is viewed and does not count while viewing', () => {
    let s = run([ev({ message_created: msg(1) }), ev({ message_created: msg(2) })])
    expect(unreadOfServer(s, SRV)).toBe(2)
    s = run([{ type: 'activeChannel', channelId: CH }], s)
    expect(unreadOfChannel(s, CH)).toBe(0)
    s = run([ev({ message_created: msg(3) })], s)
    expect(s.readStates[CH].unread_count).toBe(0)
    expect(s.readStates[CH].last_read_message_id).toBe(mid(3))
    // Other channels still count and roll up to the server.
    s = run([ev({ message_created: msg(4, BOB, { channel_id: CH2 }) })], s)
    expect(unreadOfChannel(s, CH2)).toBe(1)
    expect(unreadOfServer(s, SRV)).toBe(1)
  })

  it('follows read markers moved by another tab, never backwards', () => {
    let s = run([ev({ message_created: msg(1) }), ev({ message_created: msg(2) })])
    const read = (n: number, unread: number): Action => ({
      type: 'event',
      event: { scope: 'user:' + ME, cursor: String(++cursor), read_state_updated: rs({ last_read_message_id: mid(n), last_message_id: mid(2), unread_count: unread }) },
    })
    s = run([read(2, 0)], s)
    expect(unreadOfChannel(s, CH)).toBe(0)
    s = run([read(1, 1)], s)
    expect(unreadOfChannel(s, CH)).toBe(0)
  })

  it('keeps messages counted after a late read marker event', () => {
    let s = run([{ type: 'activeChannel', channelId: CH }, ev({ message_created: msg(1) }), { type: 'activeChannel', channelId: null }])
    s = run([ev({ message_created: msg(2) }), ev({ message_created: msg(3) })], s)
    expect(unreadOfChannel(s, CH)).toBe(2)
    // The server's answer to the read of message 1 arrives after 2 and 3.
    s = run([{ type: 'event', event: { scope: 'user:' + ME, cursor: String(++cursor), read_state_updated: rs({ last_read_message_id: mid(1), last_message_id: mid(1), unread_count: 0 }) } }], s)
    expect(unreadOfChannel(s, CH)).toBe(2)
    s = run([ev({ message_created: msg(4) })], s)
    expect(unreadOfChannel(s, CH)).toBe(3)
  })

  it('uncounts a deleted unread message and caps at 100', () => {
    let s = run([ev({ message_created: msg(1) }), ev({ message_created: msg(2) })])
    s = run([ev({ message_deleted: { server_id: SRV, channel_id: CH, message_id: mid(2) } })], s)
    expect(unreadOfChannel(s, CH)).toBe(1)
    const many: Action[] = []
    for (let i = 10; i < 130; i++) many.push(ev({ message_created: msg(i) }))
    s = run(many, s)
    expect(unreadOfChannel(s, CH)).toBe(100)
  })
})

describe('presence (issue 22 item 2)', () => {
  it('is unknown, not offline, for someone not watched', async () => {
    const { presenceOf, watchedUsers } = await import('./reducer')
    let s = reducer(initialState, { type: 'signedIn', me: { id: 'me', login: 'me' } })
    s = reducer(s, {
      type: 'relationshipsLoaded',
      relationships: [
        { user_id: 'f', type: 'RELATIONSHIP_TYPE_FRIEND' },
        { user_id: 'p', type: 'RELATIONSHIP_TYPE_INCOMING_REQUEST' },
      ],
    })
    expect(presenceOf(s, 'p')).toBe('STATUS_UNSPECIFIED')
    expect(watchedUsers(s)).toEqual(['f', 'me'])
    s = reducer(s, { type: 'presence', presences: [{ user_id: 'f' }] })
    expect(presenceOf(s, 'f')).toBe('STATUS_OFFLINE')
  })
})

describe('avatars and icons', () => {
  it('follow member_updated and server_updated, an omitted field clearing them', () => {
    let s = start()
    s = run([{ type: 'membersLoaded', serverId: SRV, members: [{ server_id: SRV, user_id: BOB, login: 'bob' }] }], s)
    expect(avatarOf(s, BOB)).toBe('')
    s = run([ev({ member_updated: { server_id: SRV, user_id: BOB, login: 'bob', avatar: 'f'.repeat(32) } })], s)
    expect(avatarOf(s, BOB)).toBe('f'.repeat(32))
    // proto3 JSON leaves an empty avatar out: the update removes it.
    s = run([ev({ member_updated: { server_id: SRV, user_id: BOB, login: 'bob' } })], s)
    expect(avatarOf(s, BOB)).toBe('')
    s = run([ev({ server_updated: { id: SRV, name: 'S', icon: 'e'.repeat(32) } })], s)
    expect(s.servers[SRV].icon).toBe('e'.repeat(32))
    s = run([ev({ server_updated: { id: SRV, name: 'S' } })], s)
    expect(s.servers[SRV].icon).toBe('')
  })
  it('take the caller\'s own avatar from their profile', () => {
    let s = start()
    s = run([ev({ user_updated: { id: ME, login: 'me', avatar: '1'.repeat(32) } })], s)
    expect(avatarOf(s, ME)).toBe('1'.repeat(32))
    s = run([ev({ user_updated: { id: ME, login: 'me' } })], s)
    expect(avatarOf(s, ME)).toBe('')
  })
})
