// The controller glues the REST client, the WebSocket and the reducer: it
// loads state, turns feed events into follow-up loads (a joined server, a
// resync), and performs the user's actions with optimistic updates.
import { ApiError, newRequestId } from '../api/client'
import type { Accord } from '../api/accord'
import type { AccordEvent, Attachment, Message, MessagePreview, Relationship, Server, ServerFrame, Status } from '../api/types'
import { CursorStore, EventSocket, eventsUrl } from '../ws/client'
import { channelsOf, isGuild, type Action, type State } from './reducer'
import { idAfter } from './unread'
import { humanError, retrySeconds } from '../lib/format'

const SEND_RETRIES = 6

/** errorText is a short message for an error shown in the UI, in words for people. */
export function errorText(e: unknown): string {
  return humanError(e)
}

export class Controller {
  readonly api: Accord
  readonly socket: EventSocket
  readonly cursors: CursorStore
  private readonly dispatch: (a: Action) => void
  private readonly getState: () => State
  private loadingHistory = new Set<string>()
  /** Channels whose loaded history may have missed events while disconnected. */
  private stale = new Set<string>()
  private loadedMembers = new Set<string>()
  private lastTyping = 0
  /** Last read marker sent per channel. */
  private sentRead = new Map<string, string>()
  private watched = ''
  private started = false

  constructor(api: Accord, meId: string, dispatch: (a: Action) => void, getState: () => State, onAuthFailed: () => void) {
    this.api = api
    this.dispatch = dispatch
    this.getState = getState
    this.cursors = new CursorStore('accord.cursors.' + meId, window.sessionStorage)
    this.socket = new EventSocket({
      url: eventsUrl(window.location),
      getToken: (force) => api.http.accessToken(force),
      cursors: this.cursors,
      onEvent: (ev) => this.onEvent(ev),
      onFrame: (f) => this.onFrame(f),
      onReady: (_f, resumed) => this.onReady(resumed),
      onStatus: (status) => dispatch({ type: 'connection', status }),
      onAuthFailed,
    })
  }

  private unsubscribeSession: (() => void) | null = null
  private lastToken = ''

  /** start loads everything and opens the socket. */
  start(): void {
    if (this.started) return
    this.started = true
    this.lastToken = this.api.http.current?.tokens.access_token ?? ''
    // The socket outlives the access token it was opened with: hand it each new one.
    this.unsubscribeSession = this.api.http.onSession((s) => {
      const token = s?.tokens.access_token
      if (token && token !== this.lastToken) {
        this.lastToken = token
        this.socket.send({ type: 'token', token })
      }
    })
    this.socket.start()
    void this.loadAll()
  }

  /** stop closes the socket; the promise settles once it is closed. */
  stop(): Promise<void> {
    this.started = false
    this.unsubscribeSession?.()
    this.unsubscribeSession = null
    return this.socket.stop()
  }

  private hadCursors = false

  async loadAll(): Promise<void> {
    this.hadCursors = this.cursors.list().length > 0
    const tasks: Promise<unknown>[] = [
      this.api.listServers().then(async (servers) => {
        this.dispatch({ type: 'serversLoaded', servers })
        await Promise.all(servers.map((s) => this.loadChannels(s.id)))
        const dmUsers = servers.flatMap((s) => s.dm_user_ids ?? [])
        await this.loadUsers(dmUsers)
      }),
      this.api.listRelationships().then((relationships) => this.dispatch({ type: 'relationshipsLoaded', relationships })),
      this.api.listReadStates().then((readStates) => this.dispatch({ type: 'readStatesLoaded', readStates })),
    ]
    const results = await Promise.allSettled(tasks)
    for (const r of results) if (r.status === 'rejected') console.warn('load failed', r.reason)
  }

  async loadUsers(ids: string[]): Promise<void> {
    const s = this.getState()
    const missing = [...new Set(ids)].filter((id) => !s.users[id])
    for (let i = 0; i < missing.length; i += 500) {
      try {
        const users = await this.api.batchGetUsers(missing.slice(i, i + 500))
        this.dispatch({ type: 'usersLoaded', users })
      } catch (e) {
        console.warn('batchGetUsers failed', e)
      }
    }
  }

  async loadChannels(serverId: string): Promise<void> {
    const channels = await this.api.listChannels(serverId)
    this.dispatch({ type: 'channelsLoaded', serverId, channels })
  }

  async loadMembers(serverId: string, force = false): Promise<void> {
    if (this.loadedMembers.has(serverId) && !force) return
    this.loadedMembers.add(serverId)
    try {
      const members = await this.api.listMembers(serverId)
      this.dispatch({ type: 'membersLoaded', serverId, members })
      // Profiles (status text) of the members the list shows.
      void this.loadUsers(members.slice(0, 1000).map((m) => m.user_id))
    } catch (e) {
      this.loadedMembers.delete(serverId)
      throw e
    }
  }

  /** loadServer (re)loads one server's channels, members and read states. */
  async loadServer(serverId: string): Promise<void> {
    try {
      const server = (await this.api.http.get<{ server: Server }>(`/v1/servers/${encodeURIComponent(serverId)}`)).server
      this.dispatch({ type: 'serverUpserted', server })
      await Promise.all([
        this.loadChannels(serverId),
        this.loadMembers(serverId, true),
        this.api.listReadStates(serverId).then((readStates) => this.dispatch({ type: 'readStatesLoaded', readStates, serverId })),
        this.loadUsers(server.dm_user_ids ?? []),
      ])
    } catch (e) {
      console.warn('loadServer failed', e)
    }
  }

  /** openChannel makes a channel the one being viewed and loads its newest page if needed. */
  openChannel(channelId: string | null): void {
    this.dispatch({ type: 'activeChannel', channelId })
    if (!channelId) return
    const ch = this.getState().messages[channelId]
    if (!ch || !ch.loaded || this.stale.has(channelId)) void this.loadLatest(channelId)
  }

  async loadLatest(channelId: string, reset = false): Promise<void> {
    const key = channelId + ':latest'
    if (this.loadingHistory.has(key)) return
    this.loadingHistory.add(key)
    try {
      const r = await this.api.listMessages(channelId)
      this.stale.delete(channelId)
      this.dispatch({
        type: 'historyLoaded',
        channelId,
        messages: r.messages ?? [],
        hasMore: !!r.has_more,
        mode: reset ? 'reset' : 'latest',
      })
    } finally {
      this.loadingHistory.delete(key)
    }
  }

  /** loadOlder fetches the page before the oldest loaded message. */
  async loadOlder(channelId: string): Promise<void> {
    const ch = this.getState().messages[channelId]
    // Paging back starts from the newest page; ids that only came from events may not reach it.
    if (!ch || !ch.loaded || !ch.hasMore || ch.ids.length === 0) return
    const key = channelId + ':older'
    if (this.loadingHistory.has(key)) return
    this.loadingHistory.add(key)
    try {
      const r = await this.api.listMessages(channelId, ch.ids[0])
      this.dispatch({ type: 'historyLoaded', channelId, messages: r.messages ?? [], hasMore: !!r.has_more, mode: 'older' })
    } finally {
      this.loadingHistory.delete(key)
    }
  }

  /** loadAround replaces the loaded history with the page around a message (jump to a message). */
  async loadAround(channelId: string, messageId: string): Promise<void> {
    const r = await this.api.listMessagesAt(channelId, { around: messageId }, 25)
    this.dispatch({ type: 'historyLoaded', channelId, messages: r.messages ?? [], hasMore: !!r.older_cursor, hasNewer: !!r.newer_cursor, mode: 'around' })
  }

  /** loadNewer fetches the page after the newest loaded message, while the history was opened around an older one. */
  async loadNewer(channelId: string): Promise<void> {
    const ch = this.getState().messages[channelId]
    if (!ch || !ch.hasNewer || ch.ids.length === 0) return
    const key = channelId + ':newer'
    if (this.loadingHistory.has(key)) return
    this.loadingHistory.add(key)
    try {
      const r = await this.api.listMessagesAt(channelId, { after: ch.ids[ch.ids.length - 1] })
      this.dispatch({ type: 'historyLoaded', channelId, messages: r.messages ?? [], hasMore: false, hasNewer: !!r.newer_cursor, mode: 'newer' })
      // At the present again: the newest page brings what was sent while this page was on its way.
      if (!r.newer_cursor) await this.loadLatest(channelId)
    } finally {
      this.loadingHistory.delete(key)
    }
  }

  // Feed handling.

  private onEvent(ev: AccordEvent): void {
    this.dispatch({ type: 'event', event: ev })
    if (ev.server_joined) {
      void this.loadServer(ev.server_joined.id)
    } else if (ev.server_left || ev.server_deleted) {
      const id = ev.server_left?.server_id ?? ev.server_deleted!.server_id
      this.cursors.forget('server:' + id)
      this.loadedMembers.delete(id)
    } else if (ev.resync) {
      void this.resync(ev.scope)
    } else if (ev.relationship_updated?.user_id) {
      void this.loadUsers([ev.relationship_updated.user_id])
    }
  }

  private onFrame(f: ServerFrame): void {
    if (f.type === 'presence') this.dispatch({ type: 'presence', presences: f.presences ?? [] })
  }

  private onReady(resumed: boolean): void {
    // The watch set is per connection: send it again on every connection.
    const key = this.watched
    this.watched = ''
    if (key) this.watchPresence(key.split(','))
    if (!resumed && !this.hadCursors) {
      // First connection without cursors: the feed started live, so anything
      // that happened between the REST load and now is fetched again.
      void this.loadAll()
      const active = this.getState().activeChannel
      if (active) void this.loadLatest(active)
      return
    }
    if (resumed) {
      // Scopes without a cursor resumed live; refresh what they could have missed.
      const s = this.getState()
      for (const id of Object.keys(s.messages)) this.stale.add(id)
      if (s.activeChannel) void this.loadLatest(s.activeChannel)
      void this.api.listReadStates().then((readStates) => this.dispatch({ type: 'readStatesLoaded', readStates }))
    }
  }

  /** resync reloads a scope whose cursor the server could not resume. */
  private async resync(scope: string): Promise<void> {
    if (scope.startsWith('server:')) {
      const id = scope.slice('server:'.length)
      await this.loadServer(id)
      const s = this.getState()
      for (const c of channelsOf(s, id)) {
        if (s.messages[c.id]?.loaded) {
          if (c.id === s.activeChannel) await this.loadLatest(c.id, true)
          else this.stale.add(c.id)
        }
      }
    } else {
      await this.loadAll()
    }
  }

  /** watchPresence replaces the set of users whose presence is streamed. */
  watchPresence(ids: string[]): void {
    const sorted = [...new Set(ids)].filter(Boolean).sort().slice(0, 5000)
    const key = sorted.join(',')
    if (key === this.watched) return
    this.watched = key
    if (!this.socket.send({ type: 'watch_presence', user_ids: sorted }) && sorted.length > 0) {
      // Until the socket is up, a one-off snapshot over REST fills the dots.
      void this.api
        .batchGetPresence(sorted.slice(0, 1000))
        .then((presences) => this.dispatch({ type: 'presence', presences }))
        .catch(() => undefined)
    }
  }

  // User actions.

  /** send posts a message optimistically; retries reuse the request id, so nothing is stored twice. */
  async send(channelId: string, content: string, replyTo?: Message, attachments?: Attachment[]): Promise<void> {
    const ch = this.getState().channels[channelId]
    const request_id = newRequestId()
    // The message ends the typing indicator on the other side; the next keystroke starts a new one.
    this.lastTyping = 0
    const reply: MessagePreview | undefined = replyTo
      ? { id: replyTo.id, author_id: replyTo.author_id, author_name: replyTo.author_name, content: replyTo.content.slice(0, 200) }
      : undefined
    this.dispatch({
      type: 'pendingAdded',
      pending: {
        request_id,
        server_id: ch?.server_id ?? '',
        channel_id: channelId,
        content,
        reply_to: reply,
        attachments: attachments?.length ? attachments : undefined,
        state: 'sending',
        create_time: new Date().toISOString(),
      },
    })
    await this.enqueue(channelId, request_id)
  }

  /** Sends per channel, one at a time: a retried message never lands after a later one. */
  private sendChains = new Map<string, Promise<void>>()

  private enqueue(channelId: string, requestId: string): Promise<void> {
    const prev = this.sendChains.get(channelId) ?? Promise.resolve()
    const next = prev.then(() => this.deliver(requestId))
    this.sendChains.set(channelId, next)
    void next.finally(() => {
      if (this.sendChains.get(channelId) === next) this.sendChains.delete(channelId)
    })
    return next
  }

  /** retry sends a failed message again with its original request id. */
  async retry(requestId: string): Promise<void> {
    const p = this.getState().pending[requestId]
    if (!p) return
    this.dispatch({ type: 'pendingRetry', requestId })
    await this.enqueue(p.channel_id, requestId)
  }

  /** dispatchRelationship applies a relationship a REST call answered with. */
  dispatchRelationship(relationship: Relationship): void {
    this.dispatch({ type: 'relationshipUpserted', relationship })
  }

  dropRelationship(userId: string): void {
    this.dispatch({ type: 'relationshipRemoved', userId })
  }

  /** apply lets screens fold REST answers (settings) into the state. */
  apply(a: Action): void {
    this.dispatch(a)
  }

  /** dropPending discards a message that could not be sent. */
  dropPending(requestId: string): void {
    this.dispatch({ type: 'pendingDropped', requestId })
  }

  private async deliver(requestId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const p = this.getState().pending[requestId]
      if (!p) return
      try {
        const m = await this.api.sendMessage(
          p.channel_id,
          p.content,
          requestId,
          p.reply_to?.id,
          p.attachments?.map((a) => a.id),
        )
        this.dispatch({ type: 'messageStored', message: m })
        return
      } catch (e) {
        if (e instanceof ApiError && e.transient && attempt < SEND_RETRIES) {
          console.warn('send failed; retrying with the same request id', e.message)
          await new Promise((r) => setTimeout(r, Math.min(8000, 500 * 2 ** attempt)))
          continue
        }
        const wait = e instanceof ApiError && e.code === 'RESOURCE_EXHAUSTED' ? retrySeconds(e) ?? 1 : 0
        this.dispatch({
          type: 'pendingFailed',
          requestId,
          error: wait ? 'Sent too fast.' : errorText(e),
          rateLimitedUntil: wait ? Date.now() + wait * 1000 : undefined,
        })
        return
      }
    }
  }

  async edit(m: Message, content: string): Promise<void> {
    const updated = await this.api.editMessage(m.channel_id, m.id, content)
    this.dispatch({ type: 'event', event: { scope: '', message_updated: updated } })
  }

  async remove(m: Message): Promise<void> {
    await this.api.deleteMessage(m.channel_id, m.id)
    this.dispatch({ type: 'messageRemoved', channelId: m.channel_id, messageId: m.id })
  }

  /** typing tells others the user is typing, at most every 3 s. */
  typing(channelId: string): void {
    const now = Date.now()
    if (now - this.lastTyping < 3000) return
    this.lastTyping = now
    if (!this.socket.send({ type: 'typing', channel_id: channelId })) {
      void this.api.sendTyping(channelId).catch(() => undefined)
    }
  }

  /** markRead moves the read marker of the channel being viewed to its newest message. */
  markRead(channelId: string): void {
    const s = this.getState()
    const ch = s.messages[channelId]
    const last = ch?.ids[ch.ids.length - 1]
    if (!last) return
    // Viewing already zeroes the local count, so what was sent to the server is tracked apart.
    if (!idAfter(last, this.sentRead.get(channelId))) return
    this.sentRead.set(channelId, last)
    this.dispatch({ type: 'read', channelId, messageId: last })
    // REST rather than the socket's mark_read: a keepalive request still lands when
    // the tab is closed right after reading, and a refusal is seen (and retried later).
    void this.api.markRead(channelId, last).catch(() => this.sentRead.delete(channelId))
  }

  setStatus(status: Status): void {
    if (!this.socket.send({ type: 'set_status', status })) void this.api.setStatus(status).catch(() => undefined)
    const me = this.getState().me
    if (me) this.dispatch({ type: 'presence', presences: [{ user_id: me.id, status: status === 'STATUS_INVISIBLE' ? 'STATUS_OFFLINE' : status }] })
  }

  /** openConversation finds or creates the DM with a friend and returns its server id. */
  async openConversation(userId: string): Promise<string> {
    const r = await this.api.openConversation(userId)
    this.dispatch({ type: 'serverUpserted', server: r.server })
    this.dispatch({ type: 'channelUpserted', channel: r.channel })
    return r.server.id
  }

  async createServer(name: string): Promise<string> {
    const server = await this.api.createServer(name)
    this.dispatch({ type: 'serverUpserted', server })
    await this.loadServer(server.id)
    return server.id
  }

  async joinInvite(code: string): Promise<string> {
    const server = await this.api.acceptInvite(code)
    this.dispatch({ type: 'serverUpserted', server })
    await this.loadServer(server.id)
    return server.id
  }

  /** firstChannel is the channel a server opens on. */
  firstChannel(serverId: string): string | undefined {
    return channelsOf(this.getState(), serverId)[0]?.id
  }

  /** guildIds lists the guilds in rail order. */
  guildIds(): string[] {
    const s = this.getState()
    return s.serverOrder.filter((id) => s.servers[id] && isGuild(s.servers[id]))
  }
}
