// Typed wrappers for the REST endpoints the app uses (paths from the OpenAPI document).
import type { ApiClient } from './client'
import type {
  ActivityPoint,
  Channel,
  Invite,
  Member,
  Message,
  Metric,
  NotificationLevel,
  Pin,
  ReactionSummary,
  Presence,
  ReadState,
  Relationship,
  SearchResult,
  Role,
  Server,
  ServerCount,
  ServerNotificationSettings,
  Session,
  Status,
  User,
  UserCount,
  Window,
} from './types'

const e = encodeURIComponent

/** Accord is the app's view of the API. */
export class Accord {
  readonly http: ApiClient
  constructor(http: ApiClient) {
    this.http = http
  }

  // Users and relationships.
  me = () => this.http.get<{ user: User }>('/v1/me').then((r) => r.user)
  updateMe = (user: { display_name?: string; status_text?: string }) =>
    this.http
      .patch<{ user: User }>('/v1/me', { user, update_mask: Object.keys(user).join(',') })
      .then((r) => r.user)
  /** changePassword sets a new password; every other session is signed out. */
  changePassword = (current_password: string, new_password: string) =>
    this.http.post('/v1/me:changePassword', { current_password, new_password })
  listSessions = () => this.http.get<{ sessions?: Session[] }>('/v1/me/sessions').then((r) => r.sessions ?? [])
  revokeSession = (id: string) => this.http.del(`/v1/me/sessions/${e(id)}`)
  /** setAvatar uploads the caller's avatar (PNG, JPEG, GIF or WebP, at most 8 MiB). */
  setAvatar = (file: Blob) => this.http.putBytes<{ user: User }>('/v1/me/avatar', file).then((r) => r.user)
  removeAvatar = () => this.http.del<{ user: User }>('/v1/me/avatar').then((r) => r.user)
  /** setServerIcon uploads a server's icon (owner and admins). */
  setServerIcon = (serverId: string, file: Blob) =>
    this.http.putBytes<{ server: Server }>(`/v1/servers/${e(serverId)}/icon`, file).then((r) => r.server)
  removeServerIcon = (serverId: string) => this.http.del<{ server: Server }>(`/v1/servers/${e(serverId)}/icon`).then((r) => r.server)
  /** picture fetches an avatar or icon (with the token) as a blob: URL an <img> can show. */
  picture = (path: string, version: string) => this.http.blob(path, { v: version }).then((b) => URL.createObjectURL(b))
  batchGetUsers = (ids: string[]) =>
    this.http.get<{ users?: User[] }>('/v1/users:batchGet', { user_ids: ids }).then((r) => r.users ?? [])
  async listRelationships(): Promise<Relationship[]> {
    const out: Relationship[] = []
    let page_token = ''
    do {
      const r = await this.http.get<{ relationships?: Relationship[]; next_page_token?: string }>('/v1/relationships', {
        page_size: 1000,
        page_token,
      })
      out.push(...(r.relationships ?? []))
      page_token = r.next_page_token ?? ''
    } while (page_token)
    return out
  }
  sendFriendRequest = (login: string) =>
    this.http
      .post<{ relationship: Relationship }>('/v1/relationships:sendFriendRequest', { login })
      .then((r) => r.relationship)
  acceptFriend = (id: string) => this.http.post<{ relationship: Relationship }>(`/v1/relationships/${e(id)}:accept`)
  declineFriend = (id: string) => this.http.post(`/v1/relationships/${e(id)}:decline`)
  cancelFriend = (id: string) => this.http.post(`/v1/relationships/${e(id)}:cancel`)
  removeFriend = (id: string) => this.http.del(`/v1/relationships/${e(id)}`)
  block = (id: string) => this.http.post<{ relationship: Relationship }>(`/v1/relationships/${e(id)}:block`)
  unblock = (id: string) => this.http.post(`/v1/relationships/${e(id)}:unblock`)

  // Servers.
  async listServers(): Promise<Server[]> {
    const out: Server[] = []
    let page_token = ''
    do {
      const r = await this.http.get<{ servers?: Server[]; next_page_token?: string }>('/v1/servers', {
        page_size: 500,
        page_token,
      })
      out.push(...(r.servers ?? []))
      page_token = r.next_page_token ?? ''
    } while (page_token)
    return out
  }
  createServer = (name: string) => this.http.post<{ server: Server }>('/v1/servers', { name }).then((r) => r.server)
  renameServer = (id: string, name: string) =>
    this.http
      .patch<{ server: Server }>(`/v1/servers/${e(id)}`, { server: { name }, update_mask: 'name' })
      .then((r) => r.server)
  deleteServer = (id: string) => this.http.del(`/v1/servers/${e(id)}`)
  leaveServer = (id: string) => this.http.post(`/v1/servers/${e(id)}:leave`)
  async listMembers(id: string): Promise<Member[]> {
    const out: Member[] = []
    let page_token = ''
    do {
      const r = await this.http.get<{ members?: Member[]; next_page_token?: string }>(`/v1/servers/${e(id)}/members`, {
        page_size: 1000,
        page_token,
      })
      out.push(...(r.members ?? []))
      page_token = r.next_page_token ?? ''
    } while (page_token)
    return out
  }
  kick = (serverId: string, userId: string) => this.http.del(`/v1/servers/${e(serverId)}/members/${e(userId)}`)
  setRole = (serverId: string, userId: string, role: Role) =>
    this.http.post<{ member: Member }>(`/v1/servers/${e(serverId)}/members/${e(userId)}:setRole`, { role })
  listInvites = (id: string) =>
    this.http.get<{ invites?: Invite[] }>(`/v1/servers/${e(id)}/invites`).then((r) => r.invites ?? [])
  createInvite = (id: string, ttl_seconds = 0, max_uses = 0) =>
    this.http
      .post<{ invite: Invite }>(`/v1/servers/${e(id)}/invites`, { ttl_seconds: String(ttl_seconds), max_uses })
      .then((r) => r.invite)
  deleteInvite = (id: string, code: string) => this.http.del(`/v1/servers/${e(id)}/invites/${e(code)}`)
  getInvite = (code: string) =>
    this.http.get<{ invite: Invite; server_id: string; server_name?: string; member_count?: string }>(
      `/v1/invites/${e(code)}`,
    )
  acceptInvite = (code: string) =>
    this.http.post<{ server: Server }>(`/v1/invites/${e(code)}:accept`).then((r) => r.server)

  // Mentions and notification settings.
  listMentions = (page_token?: string) =>
    this.http.get<{ messages?: Message[]; next_page_token?: string }>('/v1/me/mentions', page_token ? { page_token } : undefined)
  notificationSettings = () =>
    this.http.get<{ servers?: ServerNotificationSettings[] }>('/v1/me/notificationSettings').then((r) => r.servers ?? [])
  setServerLevel = (serverId: string, level: NotificationLevel) =>
    this.http
      .patch<{ settings: ServerNotificationSettings }>(`/v1/servers/${e(serverId)}/notificationSettings`, { level })
      .then((r) => r.settings)
  setChannelMuted = (channelId: string, muted: boolean) =>
    this.http
      .patch<{ settings: ServerNotificationSettings }>(`/v1/channels/${e(channelId)}/notificationSettings`, { muted })
      .then((r) => r.settings)

  // Channels.
  listChannels = (serverId: string) =>
    this.http.get<{ channels?: Channel[] }>(`/v1/servers/${e(serverId)}/channels`).then((r) => r.channels ?? [])
  createChannel = (serverId: string, name: string) =>
    this.http.post<{ channel: Channel }>(`/v1/servers/${e(serverId)}/channels`, { name }).then((r) => r.channel)
  renameChannel = (id: string, name: string) =>
    this.http
      .patch<{ channel: Channel }>(`/v1/channels/${e(id)}`, { channel: { name }, update_mask: 'name' })
      .then((r) => r.channel)
  deleteChannel = (id: string) => this.http.del(`/v1/channels/${e(id)}`)
  reorderChannels = (serverId: string, channel_ids: string[]) =>
    this.http
      .post<{ channels?: Channel[] }>(`/v1/servers/${e(serverId)}/channels:reorder`, { channel_ids })
      .then((r) => r.channels ?? [])
  openConversation = (user_id: string) =>
    this.http.post<{ server: Server; channel: Channel; created?: boolean }>('/v1/conversations', { user_id })

  // Messages.
  listMessages = (channelId: string, before?: string, page_size = 50) =>
    this.http.get<{ messages?: Message[]; has_more?: boolean }>(`/v1/channels/${e(channelId)}/messages`, {
      before,
      page_size,
    })
  /** listMessagesAt pages from a message: around it (jump to it), or after it (toward the present). */
  listMessagesAt = (channelId: string, at: { around?: string; after?: string; before?: string }, page_size = 50) =>
    this.http.get<{ messages?: Message[]; has_more?: boolean; older_cursor?: string; newer_cursor?: string }>(
      `/v1/channels/${e(channelId)}/messages`,
      { ...at, page_size },
    )
  sendMessage = (channelId: string, content: string, request_id: string, reply_to_id?: string, attachment_ids?: string[]) =>
    this.http
      .post<{ message: Message }>(`/v1/channels/${e(channelId)}/messages`, {
        content,
        request_id,
        reply_to_id,
        attachment_ids: attachment_ids?.length ? attachment_ids : undefined,
      })
      .then((r) => r.message)
  editMessage = (channelId: string, messageId: string, content: string) =>
    this.http
      .patch<{ message: Message }>(`/v1/channels/${e(channelId)}/messages/${e(messageId)}`, { content })
      .then((r) => r.message)
  deleteMessage = (channelId: string, messageId: string) =>
    this.http.del(`/v1/channels/${e(channelId)}/messages/${e(messageId)}`)
  markRead = (channelId: string, message_id: string) =>
    this.http.post<{ read_state: ReadState }>(`/v1/channels/${e(channelId)}:markRead`, { message_id }, true)
  listReadStates = (server_id?: string) =>
    this.http.get<{ read_states?: ReadState[] }>('/v1/readStates', { server_id }).then((r) => r.read_states ?? [])
  sendTyping = (channelId: string) => this.http.post(`/v1/channels/${e(channelId)}:typing`)

  // Reactions and pins.
  addReaction = (channelId: string, messageId: string, emoji: string) =>
    this.http
      .post<{ reaction?: ReactionSummary }>(`/v1/channels/${e(channelId)}/messages/${e(messageId)}/reactions`, { emoji })
      .then((r) => r.reaction)
  removeReaction = (channelId: string, messageId: string, emoji: string) =>
    this.http.del(`/v1/channels/${e(channelId)}/messages/${e(messageId)}/reactions?emoji=${e(emoji)}`)
  pinMessage = (channelId: string, messageId: string) =>
    this.http.post<{ pin?: Pin }>(`/v1/channels/${e(channelId)}/messages/${e(messageId)}:pin`, {})
  unpinMessage = (channelId: string, messageId: string) =>
    this.http.post(`/v1/channels/${e(channelId)}/messages/${e(messageId)}:unpin`, {})
  listPins = (channelId: string) =>
    this.http.get<{ pins?: Pin[] }>(`/v1/channels/${e(channelId)}/pins`).then((r) => r.pins ?? [])

  // Presence.
  batchGetPresence = (user_ids: string[]) =>
    this.http.post<{ presences?: Presence[] }>('/v1/presence:batchGet', { user_ids }).then((r) => r.presences ?? [])
  setStatus = (status: Status) => this.http.post('/v1/presence:setStatus', { status })

  // Stats.
  topUsers = (metric: Metric, window: Window, server_id?: string, limit = 10) =>
    this.http
      .get<{ rows?: UserCount[] }>('/v1/stats/topUsers', { metric, window, server_id, limit })
      .then((r) => r.rows ?? [])
  topServers = (window: Window, limit = 10) =>
    this.http.get<{ rows?: ServerCount[] }>('/v1/stats/topServers', { window, limit }).then((r) => r.rows ?? [])
  /** storedBytes ranks servers by the bytes of files they store (counts are bytes), with the total over every server. */
  storedBytes = (limit = 10) =>
    this.http
      .get<{ rows?: ServerCount[]; total?: string }>('/v1/stats/topServers', { metric: 'METRIC_BYTES_STORED', limit })
      .then((r) => ({ rows: r.rows ?? [], total: Number(r.total ?? 0) }))
  activity = (metric: Metric, window: Window, opts: { server_id?: string; user_id?: string; granularity?: string }) =>
    this.http
      .get<{ points?: ActivityPoint[] }>('/v1/stats/activity', { metric, window, ...opts })
      .then((r) => r.points ?? [])

  // Search.
  /** searchMessages finds messages of one server or conversation (words, "phrases", from: in: has: ...). */
  searchMessages = (server_id: string, query: string, page_token = '') =>
    this.http
      .get<{ results?: SearchResult[]; next_page_token?: string; total_size?: string; total_is_estimate?: boolean }>(
        '/v1/search/messages',
        {
        server_id,
        query,
          page_size: 25,
          page_token,
        },
      )
      .then((r) => ({
        results: r.results ?? [],
        next: r.next_page_token ?? '',
        total: Number(r.total_size ?? 0),
        // The search stopped once the page was full: "about" total.
        estimate: r.total_is_estimate ?? false,
      }))
}
