// Reactions and pins in the app state: pure folds of the feed's reaction and
// pin events into the messages already loaded (docs/websocket.md).
import type { Message, PinChange, ReactionChange, ReactionSummary } from '../api/types'
import type { State } from './reducer'

/** PinNotice is the system line a pin or unpin shows in its channel ("alice pinned a message"). */
export interface PinNotice {
  id: string
  messageId: string
  userId: string
  name: string
  pinned: boolean
  at: number
}

/** At most this many pin lines are kept per channel. */
const maxNotices = 20

function patchMessage(s: State, channelId: string, messageId: string, f: (m: Message) => Message): State {
  const ch = s.messages[channelId]
  const m = ch?.byId[messageId]
  if (!ch || !m) return s
  return { ...s, messages: { ...s.messages, [channelId]: { ...ch, byId: { ...ch.byId, [messageId]: f(m) } } } }
}

/** withReaction sets one emoji's count; `me` changes only when the change is the caller's own. */
export function withReaction(rs: ReactionSummary[] | undefined, emoji: string, count: number, me: boolean | undefined): ReactionSummary[] {
  const list = rs ?? []
  const i = list.findIndex((r) => r.emoji === emoji)
  if (count <= 0) return i < 0 ? list : list.filter((_, j) => j !== i)
  if (i < 0) return [...list, { emoji, count, me: me ?? false }]
  const next = [...list]
  next[i] = { ...list[i], count, me: me ?? list[i].me }
  return next
}

/** applyReaction folds reaction_added / reaction_removed. */
export function applyReaction(s: State, c: ReactionChange, added: boolean): State {
  const mine = c.user_id === s.me?.id ? added : undefined
  return patchMessage(s, c.channel_id, c.message_id, (m) => ({ ...m, reactions: withReaction(m.reactions, c.emoji, c.count ?? 0, mine) }))
}

/** applyPin folds message_pinned / message_unpinned: the flag and a system line. */
export function applyPin(s: State, c: PinChange, pinned: boolean, now: number): State {
  const next = patchMessage(s, c.channel_id, c.message_id, (m) => ({ ...m, pinned }))
  const name = c.display_name || s.users[c.user_id]?.display_name || 'Someone'
  const notice: PinNotice = { id: `${c.message_id}:${pinned ? 'p' : 'u'}:${now}`, messageId: c.message_id, userId: c.user_id, name, pinned, at: now }
  const list = [...(next.pinNotices[c.channel_id] ?? []), notice].slice(-maxNotices)
  return { ...next, pinNotices: { ...next.pinNotices, [c.channel_id]: list } }
}

/** keepMine keeps the caller's own `me` flags when a message arrives from an event (where `me` is always false). */
export function keepMine(old: Message | undefined, m: Message): Message {
  if (!old?.reactions || !m.reactions) return m
  const mine = new Set(old.reactions.filter((r) => r.me).map((r) => r.emoji))
  return { ...m, reactions: m.reactions.map((r) => (mine.has(r.emoji) ? { ...r, me: true } : r)) }
}
