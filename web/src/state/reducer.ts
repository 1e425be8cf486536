// The app state and its reducer. Every change, whether it comes from a REST
// answer or a feed event, goes through here, and every action is idempotent:
// messages are keyed by id (deleted ids are remembered as tombstones), so
// replays after a reconnect or a refresh never show anything twice.
import type {
  AccordEvent,
  Attachment,
  Channel,
  Member,
  Message,
  MessagePreview,
  Presence,
  ReadState,
  Relationship,
  Server,
  Status,
  User,
} from '../api/types'
import { applyPin, applyReaction, keepMine, type PinNotice } from './reactions'
import type { SocketStatus } from '../ws/client'
import { countDeletedMessage, countNewMessage, idAfter, markRead, mentionsMe, UNREAD_CAP } from './unread'

/** ChannelMessages is the loaded part of one channel's history. */
export interface ChannelMessages {
  /** Message ids, oldest first. */
  ids: string[]
  byId: Record<string, Message>
  /** Whether older messages remain on the server. */
  hasMore: boolean
  /** Whether the newest page has been loaded. */
  loaded: boolean
  /**
   * Whether newer messages than the loaded ones remain on the server: the history was opened
   * around an older message (jump to a message). New messages wait on the server until paging
   * forward (or jumping to the present) reaches them, so the list never has a gap.
   */
  hasNewer?: boolean
  /** Ids of deleted messages, so a late history page cannot bring them back. */
  deleted: Record<string, true>
}

/** PendingMessage is a message sent but not yet confirmed. */
export interface PendingMessage {
  request_id: string
  server_id: string
  channel_id: string
  content: string
  reply_to?: MessagePreview
  /** Uploaded files the message carries. */
  attachments?: Attachment[]
  state: 'sending' | 'failed'
  error?: string
  /** Refused for sending too fast; the composer shows one countdown for the channel instead. */
  rateLimited?: boolean
  create_time: string
}

export interface TypingEntry {
  name: string
  expires: number
}

export interface State {
  me: User | null
  servers: Record<string, Server>
  /** Server ids in the order the rail shows them. */
  serverOrder: string[]
  channels: Record<string, Channel>
  /** serverId -> userId -> member. */
  members: Record<string, Record<string, Member>>
  users: Record<string, User>
  messages: Record<string, ChannelMessages>
  /** Optimistic sends by request_id. */
  pending: Record<string, PendingMessage>
  /** By channel id. */
  readStates: Record<string, ReadState>
  /** By the other user's id. */
  relationships: Record<string, Relationship>
  presence: Record<string, Status>
  /** channelId -> userId -> entry. */
  typing: Record<string, Record<string, TypingEntry>>
  activeChannel: string | null
  connection: SocketStatus
  /** channelId -> when (ms since epoch) sending may resume after a rate-limit refusal. */
  rateLimited: Record<string, number>
  /** channelId -> recent pin and unpin lines. */
  pinNotices: Record<string, PinNotice[]>
}

export const initialState: State = {
  me: null,
  servers: {},
  serverOrder: [],
  channels: {},
  members: {},
  users: {},
  messages: {},
  pending: {},
  readStates: {},
  relationships: {},
  presence: {},
  typing: {},
  activeChannel: null,
  connection: 'closed',
  rateLimited: {},
  pinNotices: {},
}

export type Action =
  | { type: 'signedIn'; me: User }
  | { type: 'signedOut' }
  | { type: 'connection'; status: SocketStatus }
  | { type: 'event'; event: AccordEvent; now?: number }
  | { type: 'serversLoaded'; servers: Server[] }
  | { type: 'channelsLoaded'; serverId: string; channels: Channel[] }
  | { type: 'membersLoaded'; serverId: string; members: Member[] }
  | { type: 'usersLoaded'; users: User[] }
  | { type: 'readStatesLoaded'; readStates: ReadState[]; serverId?: string }
  | { type: 'relationshipsLoaded'; relationships: Relationship[] }
  | { type: 'historyLoaded'; channelId: string; messages: Message[]; hasMore: boolean; mode: 'latest' | 'older' | 'reset' | 'around' | 'newer'; hasNewer?: boolean }
  | { type: 'pendingAdded'; pending: PendingMessage }
  | { type: 'pendingFailed'; requestId: string; error: string; rateLimitedUntil?: number }
  | { type: 'rateLimitEnded'; channelId: string }
  | { type: 'pendingRetry'; requestId: string }
  | { type: 'pendingDropped'; requestId: string }
  | { type: 'messageStored'; message: Message }
  | { type: 'messageRemoved'; channelId: string; messageId: string }
  | { type: 'presence'; presences: Presence[] }
  | { type: 'typingPruned'; now: number }
  | { type: 'activeChannel'; channelId: string | null }
  | { type: 'read'; channelId: string; messageId: string }
  | { type: 'serverUpserted'; server: Server }
  | { type: 'serverRemoved'; serverId: string }
  | { type: 'channelUpserted'; channel: Channel }
  | { type: 'channelRemoved'; channelId: string }
  | { type: 'memberUpserted'; member: Member }
  | { type: 'memberRemoved'; serverId: string; userId: string }
  | { type: 'relationshipUpserted'; relationship: Relationship }
  | { type: 'relationshipRemoved'; userId: string }

const emptyChannel = (): ChannelMessages => ({ ids: [], byId: {}, hasMore: true, loaded: false, deleted: {} })

/** insertId adds id to a sorted id list (oldest first) unless present. */
function insertId(ids: string[], id: string): string[] {
  let i = ids.length
  while (i > 0 && idAfter(ids[i - 1], id)) i--
  if (i > 0 && ids[i - 1] === id) return ids
  return [...ids.slice(0, i), id, ...ids.slice(i)]
}

/** newer picks the later version of a message (by edit time), favouring the incoming one on ties. */
function newer(old: Message | undefined, m: Message): Message {
  if (!old) return m
  const a = old.edit_time ? Date.parse(old.edit_time) : 0
  const b = m.edit_time ? Date.parse(m.edit_time) : 0
  return b >= a ? { ...old, ...m, request_id: m.request_id || old.request_id } : old
}

function without<T>(rec: Record<string, T>, key: string): Record<string, T> {
  if (!(key in rec)) return rec
  const next = { ...rec }
  delete next[key]
  return next
}

function dropPendingFor(pending: Record<string, PendingMessage>, m: Message, meId?: string): Record<string, PendingMessage> {
  if (!m.request_id || m.author_id !== meId) return pending
  return without(pending, m.request_id)
}

/** storeMessage adds or updates a message; `created` tells whether it is a new arrival (for unread counting). */
function storeMessage(s: State, m: Message, created: boolean): State {
  const ch = s.messages[m.channel_id] ?? emptyChannel()
  if (ch.deleted[m.id]) return s
  const existed = m.id in ch.byId
  // Opened around an older message: what is newer than the loaded part waits for paging forward.
  const beyond = !!ch.hasNewer && !existed && ch.ids.length > 0 && idAfter(m.id, ch.ids[ch.ids.length - 1])
  const merged = newer(ch.byId[m.id], m)
  const nextCh: ChannelMessages = beyond
    ? ch
    : {
        ...ch,
        byId: merged === ch.byId[m.id] ? ch.byId : { ...ch.byId, [m.id]: merged },
        ids: existed ? ch.ids : insertId(ch.ids, m.id),
      }
  let next: State = {
    ...s,
    messages: { ...s.messages, [m.channel_id]: nextCh },
    pending: dropPendingFor(s.pending, m, s.me?.id),
  }
  if (created) {
    const viewing = s.activeChannel === m.channel_id
    const rs = countNewMessage(s.readStates[m.channel_id], m, s.me?.id, viewing)
    if (rs !== s.readStates[m.channel_id]) next = { ...next, readStates: { ...next.readStates, [m.channel_id]: rs } }
    const t = s.typing[m.channel_id]
    if (t && t[m.author_id]) next = { ...next, typing: { ...next.typing, [m.channel_id]: without(t, m.author_id) } }
  }
  return next
}

function deleteMessage(s: State, channelId: string, messageId: string): State {
  const ch = s.messages[channelId] ?? emptyChannel()
  if (ch.deleted[messageId]) return s
  const old = ch.byId[messageId]
  const byId = without(ch.byId, messageId)
  // Replies keep pointing at the deleted message, shown as deleted.
  for (const id of ch.ids) {
    const r = byId[id]?.reply_to
    if (r && r.id === messageId && !r.deleted) byId[id] = { ...byId[id], reply_to: { ...r, deleted: true, content: '' } }
  }
  const nextCh: ChannelMessages = {
    ...ch,
    byId,
    ids: ch.ids.filter((id) => id !== messageId),
    deleted: { ...ch.deleted, [messageId]: true },
  }
  let readStates = s.readStates
  if (old) {
    const rs = countDeletedMessage(s.readStates[channelId], old, s.me?.id)
    if (rs && rs !== s.readStates[channelId]) readStates = { ...readStates, [channelId]: rs }
  }
  return { ...s, messages: { ...s.messages, [channelId]: nextCh }, readStates }
}

function upsertServer(s: State, srv: Server): State {
  const old = s.servers[srv.id]
  // Server events go to every member; the caller's own role must not be taken from them.
  const merged: Server = { ...old, ...srv, my_role: old?.my_role ?? srv.my_role }
  if (srv.my_role && srv.my_role !== 'ROLE_UNSPECIFIED' && !old) merged.my_role = srv.my_role
  return {
    ...s,
    servers: { ...s.servers, [srv.id]: merged },
    serverOrder: s.serverOrder.includes(srv.id) ? s.serverOrder : [...s.serverOrder, srv.id],
  }
}

function removeServer(s: State, serverId: string): State {
  if (!s.servers[serverId] && !s.members[serverId]) return s
  const channels = { ...s.channels }
  const messages = { ...s.messages }
  const readStates = { ...s.readStates }
  const typing = { ...s.typing }
  for (const c of Object.values(s.channels)) {
    if (c.server_id !== serverId) continue
    delete channels[c.id]
    delete messages[c.id]
    delete readStates[c.id]
    delete typing[c.id]
  }
  for (const rs of Object.values(s.readStates)) if (rs.server_id === serverId) delete readStates[rs.channel_id]
  return {
    ...s,
    servers: without(s.servers, serverId),
    serverOrder: s.serverOrder.filter((id) => id !== serverId),
    members: without(s.members, serverId),
    channels,
    messages,
    readStates,
    typing,
  }
}

function upsertChannel(s: State, c: Channel): State {
  // A channel in an event or answer is complete; fields at their zero value (position 0, no topic) are omitted.
  return { ...s, channels: { ...s.channels, [c.id]: { ...c, position: c.position ?? 0 } } }
}

function removeChannel(s: State, channelId: string): State {
  return {
    ...s,
    channels: without(s.channels, channelId),
    messages: without(s.messages, channelId),
    readStates: without(s.readStates, channelId),
    typing: without(s.typing, channelId),
    activeChannel: s.activeChannel === channelId ? null : s.activeChannel,
  }
}

function upsertMember(s: State, m: Member): State {
  const cur = s.members[m.server_id] ?? {}
  let next: State = { ...s, members: { ...s.members, [m.server_id]: { ...cur, [m.user_id]: { ...cur[m.user_id], ...m } } } }
  if (m.user_id === s.me?.id && m.role && next.servers[m.server_id]) {
    next = { ...next, servers: { ...next.servers, [m.server_id]: { ...next.servers[m.server_id], my_role: m.role } } }
  }
  return next
}

function removeMember(s: State, serverId: string, userId: string): State {
  if (userId === s.me?.id) return removeServer(s, serverId)
  const cur = s.members[serverId]
  if (!cur || !cur[userId]) return s
  return { ...s, members: { ...s.members, [serverId]: without(cur, userId) } }
}

function upsertRelationship(s: State, r: Relationship): State {
  return {
    ...s,
    relationships: { ...s.relationships, [r.user_id]: r },
    users: r.user ? { ...s.users, [r.user_id]: r.user } : s.users,
  }
}

/** applyEvent folds one feed event into the state. */
export function applyEvent(s: State, ev: AccordEvent, now: number = Date.now()): State {
  if (ev.message_created) return storeMessage(s, ev.message_created, true)
  if (ev.message_updated) {
    const m = ev.message_updated
    const ch = s.messages[m.channel_id]
    // An edit of a message we have not loaded will come with its history page.
    if (!ch || !ch.byId[m.id]) return s
    return storeMessage(s, ev.scope ? keepMine(ch.byId[m.id], m) : m, false)
  }
  if (ev.reaction_added) return applyReaction(s, ev.reaction_added, true)
  if (ev.reaction_removed) return applyReaction(s, ev.reaction_removed, false)
  if (ev.message_pinned) return applyPin(s, ev.message_pinned, true, now)
  if (ev.message_unpinned) return applyPin(s, ev.message_unpinned, false, now)
  if (ev.message_deleted) return deleteMessage(s, ev.message_deleted.channel_id, ev.message_deleted.message_id)
  if (ev.channel_created) return upsertChannel(s, ev.channel_created)
  if (ev.channel_updated) return upsertChannel(s, ev.channel_updated)
  if (ev.channel_deleted) return removeChannel(s, ev.channel_deleted.channel_id)
  // proto3 JSON leaves out empty fields: an update without an icon or avatar has none.
  if (ev.server_updated) return upsertServer(s, { ...ev.server_updated, icon: ev.server_updated.icon ?? '' })
  if (ev.server_deleted) return removeServer(s, ev.server_deleted.server_id)
  if (ev.server_joined) return upsertServer(s, ev.server_joined)
  if (ev.server_left) return removeServer(s, ev.server_left.server_id)
  if (ev.member_added) return upsertMember(s, ev.member_added)
  if (ev.member_updated) return upsertMember(s, { ...ev.member_updated, avatar: ev.member_updated.avatar ?? '' })
  if (ev.member_removed) return removeMember(s, ev.member_removed.server_id, ev.member_removed.user_id)
  if (ev.relationship_updated) return upsertRelationship(s, ev.relationship_updated)
  if (ev.relationship_removed) return { ...s, relationships: without(s.relationships, ev.relationship_removed.user_id) }
  if (ev.read_state_updated) {
    const rs = ev.read_state_updated
    const old = s.readStates[rs.channel_id]
    // The marker never moves back; an older event (replay) must not undo a newer read.
    if (old && idAfter(old.last_read_message_id, rs.last_read_message_id)) return s
    const next: ReadState = { ...old, ...rs, unread_count: rs.unread_count ?? 0, mention_count: rs.mention_count ?? 0, muted: rs.muted ?? false }
    if (old && idAfter(old.last_message_id, rs.last_message_id)) {
      // The event is older than messages already counted here: add those back on top of it.
      const ch = s.messages[rs.channel_id]
      let extra = 0
      let extraMentions = 0
      for (const id of ch?.ids ?? []) {
        const m = ch!.byId[id]
        if (idAfter(id, rs.last_message_id) && idAfter(id, rs.last_read_message_id) && m.author_id !== s.me?.id) {
          extra++
          if (mentionsMe(m, s.me?.id)) extraMentions++
        }
      }
      next.last_message_id = old.last_message_id
      next.unread_count = Math.min(UNREAD_CAP, (rs.unread_count ?? 0) + extra)
      next.mention_count = Math.min(UNREAD_CAP, (rs.mention_count ?? 0) + extraMentions)
    }
    if (rs.channel_id === s.activeChannel) {
      next.unread_count = 0
      next.mention_count = 0
    }
    return { ...s, readStates: { ...s.readStates, [rs.channel_id]: next } }
  }
  if (ev.notification_settings_updated) {
    // Muting is reported in every read state of the server's channels.
    const st = ev.notification_settings_updated
    const muted = new Set(st.muted_channel_ids ?? [])
    const readStates = { ...s.readStates }
    for (const rs of Object.values(s.readStates)) {
      if (rs.server_id === st.server_id) readStates[rs.channel_id] = { ...rs, muted: muted.has(rs.channel_id), notification_level: st.level }
    }
    return { ...s, readStates }
  }
  if (ev.typing) {
    const t = ev.typing
    if (t.user_id === s.me?.id) return s
    const exp = t.expire_time ? Date.parse(t.expire_time) : NaN
    const expires = Number.isFinite(exp) ? Math.max(exp, now + 1000) : now + 8000
    const name = t.display_name || s.users[t.user_id]?.display_name || 'Someone'
    return { ...s, typing: { ...s.typing, [t.channel_id]: { ...s.typing[t.channel_id], [t.user_id]: { name, expires } } } }
  }
  if (ev.user_updated) {
    const u = ev.user_updated
    const users = { ...s.users, [u.id]: u }
    return { ...s, users, me: s.me && s.me.id === u.id ? { ...s.me, ...u, avatar: u.avatar ?? '' } : s.me }
  }
  return s
}

/**
 * avatarOf is the avatar version of a user, empty for none: the caller's own,
 * else the newest a shared server's member list carries (member_updated
 * events keep those current), else the cached profile.
 */
export function avatarOf(s: State, id: string): string {
  if (s.me?.id === id) return s.me.avatar ?? ''
  for (const sid in s.members) {
    const m = s.members[sid][id]
    if (m) return m.avatar ?? ''
  }
  return s.users[id]?.avatar ?? ''
}

/** reducer is the app's state machine. */
export function reducer(s: State, a: Action): State {
  switch (a.type) {
    case 'signedIn':
      return s.me?.id === a.me.id ? { ...s, me: a.me } : { ...initialState, me: a.me, users: { [a.me.id]: a.me } }
    case 'signedOut':
      return initialState
    case 'connection':
      return { ...s, connection: a.status }
    case 'event':
      return applyEvent(s, a.event, a.now)
    case 'serversLoaded': {
      const keep = new Set(a.servers.map((x) => x.id))
      let next = s
      for (const id of Object.keys(s.servers)) if (!keep.has(id)) next = removeServer(next, id)
      const servers = { ...next.servers }
      for (const srv of a.servers) servers[srv.id] = { ...servers[srv.id], ...srv }
      return { ...next, servers, serverOrder: a.servers.map((x) => x.id) }
    }
    case 'channelsLoaded': {
      const keep = new Set(a.channels.map((c) => c.id))
      let next = s
      for (const c of Object.values(s.channels)) if (c.server_id === a.serverId && !keep.has(c.id)) next = removeChannel(next, c.id)
      const channels = { ...next.channels }
      for (const c of a.channels) channels[c.id] = c
      return { ...next, channels }
    }
    case 'membersLoaded': {
      const rec: Record<string, Member> = {}
      for (const m of a.members) rec[m.user_id] = m
      const users = { ...s.users }
      for (const m of a.members) {
        if (!users[m.user_id]) users[m.user_id] = { id: m.user_id, login: m.login ?? '', display_name: m.display_name }
      }
      return { ...s, members: { ...s.members, [a.serverId]: rec }, users }
    }
    case 'usersLoaded': {
      const users = { ...s.users }
      for (const u of a.users) users[u.id] = u
      return { ...s, users }
    }
    case 'readStatesLoaded': {
      const readStates: Record<string, ReadState> = {}
      for (const [id, rs] of Object.entries(s.readStates)) {
        if (a.serverId !== undefined && rs.server_id !== a.serverId) readStates[id] = rs
      }
      for (const rs of a.readStates) {
        readStates[rs.channel_id] = rs.channel_id === s.activeChannel ? markRead(rs, rs.server_id, rs.channel_id, rs.last_message_id ?? '') : rs
      }
      return { ...s, readStates }
    }
    case 'relationshipsLoaded': {
      const relationships: Record<string, Relationship> = {}
      const users = { ...s.users }
      for (const r of a.relationships) {
        relationships[r.user_id] = r
        if (r.user) users[r.user_id] = r.user
      }
      return { ...s, relationships, users }
    }
    case 'historyLoaded': {
      const prev = s.messages[a.channelId] ?? emptyChannel()
      // A window opened around an older message does not take the newest page (that would leave a gap).
      if (a.mode === 'latest' && prev.hasNewer) return s
      const fresh = a.mode === 'reset' || a.mode === 'around'
      const base: ChannelMessages = fresh ? { ...emptyChannel(), deleted: prev.deleted } : prev
      const byId = { ...base.byId }
      let ids = base.ids
      let pending = s.pending
      for (const m of a.messages) {
        if (base.deleted[m.id]) continue
        if (!byId[m.id]) ids = insertId(ids, m.id)
        byId[m.id] = newer(byId[m.id], m)
        pending = dropPendingFor(pending, m, s.me?.id)
      }
      const hasMore = a.mode === 'older' || (!prev.loaded && a.mode !== 'newer') || fresh ? a.hasMore : prev.hasMore
      const hasNewer = a.mode === 'around' || a.mode === 'newer' ? !!a.hasNewer : fresh ? false : prev.hasNewer
      const loaded = base.loaded || (a.mode !== 'older' && a.mode !== 'newer')
      return {
        ...s,
        pending,
        messages: { ...s.messages, [a.channelId]: { ...base, byId, ids, hasMore, hasNewer, loaded } },
      }
    }
    case 'pendingAdded':
      return { ...s, pending: { ...s.pending, [a.pending.request_id]: a.pending } }
    case 'pendingFailed': {
      const p = s.pending[a.requestId]
      if (!p) return s
      const next: State = { ...s, pending: { ...s.pending, [a.requestId]: { ...p, state: 'failed', error: a.error, rateLimited: !!a.rateLimitedUntil } } }
      if (a.rateLimitedUntil && a.rateLimitedUntil > (s.rateLimited[p.channel_id] ?? 0)) {
        next.rateLimited = { ...s.rateLimited, [p.channel_id]: a.rateLimitedUntil }
      }
      return next
    }
    case 'rateLimitEnded':
      return { ...s, rateLimited: without(s.rateLimited, a.channelId) }
    case 'pendingRetry': {
      const p = s.pending[a.requestId]
      if (!p) return s
      return { ...s, pending: { ...s.pending, [a.requestId]: { ...p, state: 'sending', error: undefined, rateLimited: false } } }
    }
    case 'pendingDropped':
      return { ...s, pending: without(s.pending, a.requestId) }
    case 'messageStored':
      return storeMessage(s, a.message, true)
    case 'messageRemoved':
      return deleteMessage(s, a.channelId, a.messageId)
    case 'presence': {
      const presence = { ...s.presence }
      for (const p of a.presences) presence[p.user_id] = !p.status || p.status === 'STATUS_UNSPECIFIED' ? 'STATUS_OFFLINE' : p.status
      return { ...s, presence }
    }
    case 'typingPruned': {
      let changed = false
      const typing: State['typing'] = {}
      for (const [ch, users] of Object.entries(s.typing)) {
        const live: Record<string, TypingEntry> = {}
        for (const [u, t] of Object.entries(users)) {
          if (t.expires > a.now) live[u] = t
          else changed = true
        }
        if (Object.keys(live).length > 0) typing[ch] = live
      }
      return changed ? { ...s, typing } : s
    }
    case 'activeChannel': {
      if (!a.channelId) return { ...s, activeChannel: null }
      const c = s.channels[a.channelId]
      const rs = s.readStates[a.channelId]
      const readStates =
        rs && rs.last_message_id
          ? { ...s.readStates, [a.channelId]: markRead(rs, rs.server_id, a.channelId, rs.last_message_id) }
          : s.readStates
      return { ...s, activeChannel: a.channelId, readStates: c || rs ? readStates : s.readStates }
    }
    case 'read': {
      const c = s.channels[a.channelId]
      const rs = s.readStates[a.channelId]
      const serverId = rs?.server_id ?? c?.server_id ?? ''
      const next = markRead(rs, serverId, a.channelId, a.messageId)
      return next === rs ? s : { ...s, readStates: { ...s.readStates, [a.channelId]: next } }
    }
    case 'serverUpserted': {
      const next = upsertServer(s, a.server)
      // A REST answer about the caller's own server carries the caller's real role.
      if (a.server.my_role) next.servers[a.server.id] = { ...next.servers[a.server.id], my_role: a.server.my_role }
      return next
    }
    case 'serverRemoved':
      return removeServer(s, a.serverId)
    case 'channelUpserted':
      return upsertChannel(s, a.channel)
    case 'channelRemoved':
      return removeChannel(s, a.channelId)
    case 'memberUpserted':
      return upsertMember(s, a.member)
    case 'memberRemoved':
      return removeMember(s, a.serverId, a.userId)
    case 'relationshipUpserted':
      return upsertRelationship(s, a.relationship)
    case 'relationshipRemoved':
      return { ...s, relationships: without(s.relationships, a.userId) }
  }
}

// Selectors.

/** channelsOf lists a server's channels in order. */
export function channelsOf(s: State, serverId: string): Channel[] {
  return Object.values(s.channels)
    .filter((c) => c.server_id === serverId)
    .sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || (a.id < b.id ? -1 : 1))
}

/** unreadOfChannel is a channel's unread count (0 when it is being viewed or muted: a muted channel shows no unread dot). */
export function unreadOfChannel(s: State, channelId: string): number {
  if (s.activeChannel === channelId) return 0
  const rs = s.readStates[channelId]
  return rs?.muted ? 0 : (rs?.unread_count ?? 0)
}

/** unreadOfServer sums the unread counts of a server's unmuted channels. */
export function unreadOfServer(s: State, serverId: string): number {
  let n = 0
  for (const rs of Object.values(s.readStates)) {
    if (rs.server_id === serverId && rs.channel_id !== s.activeChannel && !rs.muted) n += rs.unread_count ?? 0
  }
  return n
}

/** mentionsOfChannel is a channel's mention count (0 when it is being viewed); muting does not hide mentions. */
export function mentionsOfChannel(s: State, channelId: string): number {
  if (s.activeChannel === channelId) return 0
  return s.readStates[channelId]?.mention_count ?? 0
}

/** mentionsOfServer sums the mention counts of a server's channels. */
export function mentionsOfServer(s: State, serverId: string): number {
  let n = 0
  for (const rs of Object.values(s.readStates)) {
    if (rs.server_id === serverId && rs.channel_id !== s.activeChannel) n += rs.mention_count ?? 0
  }
  return n
}

/** messagesOf lists a channel's loaded messages, oldest first. */
export function messagesOf(s: State, channelId: string): Message[] {
  const ch = s.messages[channelId]
  if (!ch) return []
  return ch.ids.map((id) => ch.byId[id])
}

/** pendingOf lists a channel's unconfirmed sends, oldest first. */
export function pendingOf(s: State, channelId: string): PendingMessage[] {
  return Object.values(s.pending)
    .filter((p) => p.channel_id === channelId)
    .sort((a, b) => a.create_time.localeCompare(b.create_time))
}

/** dmPartner returns the other user of a private conversation. */
export function dmPartner(s: State, srv: Server): string | undefined {
  return srv.dm_user_ids?.find((id) => id !== s.me?.id) ?? srv.dm_user_ids?.[0]
}

/** displayName is how a user is shown. */
export function displayName(s: State, userId: string | undefined): string {
  if (!userId) return 'Unknown'
  const u = s.users[userId]
  return u?.display_name || u?.login || 'Unknown user'
}

/** isGuild tells servers from private conversations. */
export function isGuild(srv: Server): boolean {
  return srv.kind !== 'SERVER_KIND_DM'
}

/** presenceOf is a user's status; STATUS_UNSPECIFIED when it is not known (not watched), which is not offline. */
export function presenceOf(s: State, userId: string): Status {
  return s.presence[userId] ?? 'STATUS_UNSPECIFIED'
}

/**
 * watchedUsers is whose presence the app streams: me, friends, conversation partners and the
 * open server's members. Anyone else (a pending request's sender) the server would report as
 * offline whatever they are, so they are not watched and their presence stays unknown.
 */
export function watchedUsers(s: State, serverId?: string): string[] {
  const ids = new Set<string>()
  if (s.me) ids.add(s.me.id)
  for (const r of Object.values(s.relationships)) if (r.type === 'RELATIONSHIP_TYPE_FRIEND') ids.add(r.user_id)
  for (const srv of Object.values(s.servers)) if (!isGuild(srv)) for (const u of srv.dm_user_ids ?? []) ids.add(u)
  if (serverId) for (const u of Object.keys(s.members[serverId] ?? {})) ids.add(u)
  return [...ids].sort()
}
