import { describe, expect, it } from 'vitest'
import type { AccordEvent, Message } from '../api/types'
import { attentionCount, shouldNotify, titleFor } from '../lib/attention'
import { initialState, mentionsOfChannel, mentionsOfServer, reducer, unreadOfChannel, unreadOfServer, type Action, type State } from './reducer'
import { mentionsMe } from './unread'

const ME = 'a'.repeat(24)
const BOB = 'b'.repeat(24)
const SRV = '5'.repeat(24)
const CH = 'c'.repeat(24)
const CH2 = 'd'.repeat(24)
const mid = (n: number) => '6500000000000000000000' + n.toString(16).padStart(2, '0')

function msg(n: number, extra: Partial<Message> = {}, channel = CH): Message {
  return { id: mid(n), server_id: SRV, channel_id: channel, author_id: BOB, content: `m${n}`, ...extra }
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
  const setup: Action[] = [
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
  ]
  return setup.reduce(reducer, initialState)
}

describe('mentions', () => {
  it('tells a mention of me from others', () => {
    expect(mentionsMe(msg(1, { mention_user_ids: [ME] }), ME)).toBe(true)
    expect(mentionsMe(msg(1, { mention_everyone: true }), ME)).toBe(true)
    expect(mentionsMe(msg(1, { mention_user_ids: [BOB] }), ME)).toBe(false)
    expect(mentionsMe(msg(1, { mention_user_ids: [ME], author_id: ME }), ME)).toBe(false)
  })

  it('counts live mentions next to unread messages, once per message', () => {
    const m = msg(2, { mention_user_ids: [ME] })
    const s = run([ev({ message_created: msg(1) }), ev({ message_created: m }), ev({ message_created: m }), ev({ message_created: msg(3, { mention_everyone: true }) })])
    expect(unreadOfChannel(s, CH)).toBe(3)
    expect(mentionsOfChannel(s, CH)).toBe(2)
    expect(mentionsOfServer(s, SRV)).toBe(2)
  })

  it('clears the count by reading, and takes a deleted mention back', () => {
    let s = run([ev({ message_created: msg(1, { mention_user_ids: [ME] }) }), ev({ message_created: msg(2, { mention_user_ids: [ME] }) })])
    s = run([ev({ message_deleted: { server_id: SRV, channel_id: CH, message_id: mid(2) } })], s)
    expect(mentionsOfChannel(s, CH)).toBe(1)
    s = run([ev({ read_state_updated: { server_id: SRV, channel_id: CH, last_read_message_id: mid(1), last_message_id: mid(1), unread_count: 0, mention_count: 0 } })], s)
    expect(mentionsOfChannel(s, CH)).toBe(0)
  })

  it('hides the unread dot of a muted channel but not its mentions', () => {
    let s = run([ev({ message_created: msg(1) }), ev({ message_created: msg(2, { mention_user_ids: [ME] }, CH2) }), ev({ message_created: msg(3, {}, CH2) })])
    s = run([ev({ notification_settings_updated: { server_id: SRV, level: 'NOTIFICATION_LEVEL_ALL', muted_channel_ids: [CH2] } })], s)
    expect(unreadOfChannel(s, CH2)).toBe(0)
    expect(unreadOfServer(s, SRV)).toBe(1)
    expect(mentionsOfChannel(s, CH2)).toBe(1)
  })

  it('puts the count in the title only while hidden', () => {
    const s = run([ev({ message_created: msg(1, { mention_user_ids: [ME] }) }), ev({ message_created: msg(2, { mention_everyone: true }, CH2) })])
    expect(attentionCount(s)).toBe(2)
    expect(titleFor('Accord', 2, true)).toBe('(2) Accord')
    expect(titleFor('Accord', 2, false)).toBe('Accord')
    expect(titleFor('Accord', 0, true)).toBe('Accord')
  })

  it('notifies by the server level and mutes', () => {
    const s = start()
    const rs = { server_id: SRV, channel_id: CH, unread_count: 1, mention_count: 0 }
    expect(shouldNotify(s, undefined, rs)).toBe(true)
    expect(shouldNotify(s, undefined, { ...rs, notification_level: 'NOTIFICATION_LEVEL_MENTIONS' })).toBe(false)
    expect(shouldNotify(s, undefined, { ...rs, notification_level: 'NOTIFICATION_LEVEL_MENTIONS', mention_count: 1 })).toBe(true)
    expect(shouldNotify(s, undefined, { ...rs, muted: true })).toBe(false)
    expect(shouldNotify(s, undefined, { ...rs, muted: true, mention_count: 1 })).toBe(true)
    expect(shouldNotify(s, undefined, { ...rs, notification_level: 'NOTIFICATION_LEVEL_NOTHING', mention_count: 1 })).toBe(false)
  })
})
