import { describe, expect, it } from 'vitest'
import type { Message, User } from '../api/types'
import { applyEvent, initialState, type State } from './reducer'

const me = { id: 'me', login: 'me' } as User
const msg: Message = { id: 'm1', server_id: 's', channel_id: 'c', author_id: 'a', content: 'hi' }

function withMessage(m: Message = msg): State {
  return {
    ...initialState,
    me,
    messages: { c: { ids: [m.id], byId: { [m.id]: m }, deleted: {}, hasMore: false, loaded: true } as State['messages'][string] },
  }
}

const change = (user_id: string, emoji: string, count: number) => ({ server_id: 's', channel_id: 'c', message_id: 'm1', user_id, emoji, count })

describe('reaction events', () => {
  it('adds a chip, counts others, and marks my own', () => {
    let s = applyEvent(withMessage(), { scope: 'server:s', reaction_added: change('other', '👍', 1) })
    expect(s.messages.c.byId.m1.reactions).toEqual([{ emoji: '👍', count: 1, me: false }])
    s = applyEvent(s, { scope: 'server:s', reaction_added: change('me', '👍', 2) })
    expect(s.messages.c.byId.m1.reactions).toEqual([{ emoji: '👍', count: 2, me: true }])
    s = applyEvent(s, { scope: 'server:s', reaction_removed: change('other', '👍', 1) })
    expect(s.messages.c.byId.m1.reactions).toEqual([{ emoji: '👍', count: 1, me: true }])
    s = applyEvent(s, { scope: 'server:s', reaction_removed: change('me', '👍', 0) })
    expect(s.messages.c.byId.m1.reactions).toEqual([])
  })

  it('keeps my own flags when an edit arrives from the feed', () => {
    const s = withMessage({ ...msg, reactions: [{ emoji: '🎉', count: 2, me: true }] })
    const next = applyEvent(s, {
      scope: 'server:s',
      message_updated: { ...msg, content: 'edited', edit_time: '2026-01-01T00:00:00Z', reactions: [{ emoji: '🎉', count: 3 }] },
    })
    expect(next.messages.c.byId.m1.reactions).toEqual([{ emoji: '🎉', count: 3, me: true }])
  })

  it('ignores reactions to messages not loaded', () => {
    const s = withMessage()
    expect(applyEvent(s, { scope: 'server:s', reaction_added: { ...change('x', '👍', 1), message_id: 'other' } })).toBe(s)
  })
})

describe('pin events', () => {
  it('sets the flag and leaves a system line', () => {
    let s = applyEvent(withMessage(), { scope: 'server:s', message_pinned: { server_id: 's', channel_id: 'c', message_id: 'm1', user_id: 'a', display_name: 'Alice' } }, 1)
    expect(s.messages.c.byId.m1.pinned).toBe(true)
    expect(s.pinNotices.c.map((n) => [n.name, n.pinned])).toEqual([['Alice', true]])
    s = applyEvent(s, { scope: 'server:s', message_unpinned: { server_id: 's', channel_id: 'c', message_id: 'm1', user_id: 'a', display_name: 'Alice' } }, 2)
    expect(s.messages.c.byId.m1.pinned).toBe(false)
    expect(s.pinNotices.c).toHaveLength(2)
  })
})
