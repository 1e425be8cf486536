// Unread counting. A read state counts the messages after last_read_message_id;
// a live message is counted only when it is newer than every message the read
// state already knows (last_message_id), which makes counting idempotent: a
// replayed or duplicated event never counts twice, and a fresh ListReadStates
// answer simply replaces what was counted before it.
import type { Message, ReadState } from '../api/types'

/** The server caps unread counts at this value; show "99+" from 100. */
export const UNREAD_CAP = 100

/** idAfter compares two message ids (ObjectIds grow with time; equal length hex). */
export function idAfter(a: string | undefined, b: string | undefined): boolean {
  if (!a) return false
  if (!b) return true
  if (a.length !== b.length) return a.length > b.length
  return a > b
}

/** mentionsMe tells whether a message notifies the user as a mention: the user is mentioned, or everyone is, and someone else wrote it. */
export function mentionsMe(m: Message, meId: string | undefined): boolean {
  if (!meId || m.author_id === meId) return false
  return !!m.mention_everyone || (m.mention_user_ids ?? []).includes(meId)
}

/** countNewMessage returns the read state after a new message arrives. */
export function countNewMessage(rs: ReadState | undefined, m: Message, meId: string | undefined, viewing: boolean): ReadState {
  const base: ReadState = rs ?? { server_id: m.server_id, channel_id: m.channel_id, unread_count: 0 }
  if (!idAfter(m.id, base.last_message_id)) return base
  const next: ReadState = { ...base, last_message_id: m.id }
  if (m.author_id === meId || viewing) {
    // Sending a message, or seeing it arrive, reads the channel up to it.
    next.last_read_message_id = m.id
    next.unread_count = 0
    next.mention_count = 0
    return next
  }
  if (idAfter(m.id, base.last_read_message_id)) {
    next.unread_count = Math.min(UNREAD_CAP, (base.unread_count ?? 0) + 1)
    if (mentionsMe(m, meId)) next.mention_count = Math.min(UNREAD_CAP, (base.mention_count ?? 0) + 1)
  }
  return next
}

/** countDeletedMessage returns the read state after a known message is deleted. */
export function countDeletedMessage(rs: ReadState | undefined, m: Message, meId: string | undefined): ReadState | undefined {
  if (!rs) return rs
  if (m.author_id === meId || !idAfter(m.id, rs.last_read_message_id)) return rs
  const n = rs.unread_count ?? 0
  // At the cap the exact number is unknown; leave it.
  if (n <= 0 || n >= UNREAD_CAP) return rs
  const k = rs.mention_count ?? 0
  if (mentionsMe(m, meId) && k > 0 && k < UNREAD_CAP) return { ...rs, unread_count: n - 1, mention_count: k - 1 }
  return { ...rs, unread_count: n - 1 }
}

/** markRead returns the read state after the user has read up to messageId. */
export function markRead(rs: ReadState | undefined, serverId: string, channelId: string, messageId: string): ReadState {
  const base: ReadState = rs ?? { server_id: serverId, channel_id: channelId, unread_count: 0 }
  if (!idAfter(messageId, base.last_read_message_id) && (base.unread_count ?? 0) === 0) return base
  const lastRead = idAfter(messageId, base.last_read_message_id) ? messageId : base.last_read_message_id
  return {
    ...base,
    last_read_message_id: lastRead,
    last_message_id: idAfter(messageId, base.last_message_id) ? messageId : base.last_message_id,
    unread_count: idAfter(base.last_message_id, lastRead) ? base.unread_count : 0,
    mention_count: idAfter(base.last_message_id, lastRead) ? base.mention_count : 0,
  }
}

/** unreadLabel is what a badge shows. */
export function unreadLabel(n: number): string {
  return n >= UNREAD_CAP ? '99+' : String(n)
}
