// Hand-written types for the gateway's REST and WebSocket JSON, following
// gen/openapi/accord.swagger.json: protobuf JSON with proto field names, enums
// as names, timestamps as RFC 3339 strings and int64 as strings. Fields left
// at their zero value are omitted by the server, hence the optional markers.

export interface User {
  id: string
  login: string
  display_name?: string
  status_text?: string
  create_time?: string
  operator?: boolean
}

export interface Tokens {
  access_token: string
  access_token_expire_time: string
  refresh_token: string
  refresh_token_expire_time?: string
  session_id?: string
}

export interface AuthResponse {
  user: User
  tokens: Tokens
}

export type RelationshipType =
  | 'RELATIONSHIP_TYPE_UNSPECIFIED'
  | 'RELATIONSHIP_TYPE_FRIEND'
  | 'RELATIONSHIP_TYPE_INCOMING_REQUEST'
  | 'RELATIONSHIP_TYPE_OUTGOING_REQUEST'
  | 'RELATIONSHIP_TYPE_BLOCKED'

export interface Relationship {
  user_id: string
  type: RelationshipType
  user?: User
  update_time?: string
}

export type ServerKind = 'SERVER_KIND_UNSPECIFIED' | 'SERVER_KIND_GUILD' | 'SERVER_KIND_DM'
export type Role = 'ROLE_UNSPECIFIED' | 'ROLE_OWNER' | 'ROLE_ADMIN' | 'ROLE_MEMBER'

export interface Server {
  id: string
  name?: string
  kind?: ServerKind
  owner_id?: string
  my_role?: Role
  dm_user_ids?: string[]
  member_count?: string
  create_time?: string
}

export interface Member {
  server_id: string
  user_id: string
  role?: Role
  display_name?: string
  login?: string
  join_time?: string
}

export interface Invite {
  code: string
  server_id: string
  creator_id?: string
  expire_time?: string
  max_uses?: number
  uses?: number
  create_time?: string
}

export interface Channel {
  id: string
  server_id: string
  name: string
  topic?: string
  position?: number
  create_time?: string
}

export interface MessagePreview {
  id: string
  author_id?: string
  author_name?: string
  content?: string
  deleted?: boolean
}

export interface Message {
  id: string
  server_id: string
  channel_id: string
  author_id: string
  author_name?: string
  content: string
  create_time?: string
  edit_time?: string
  reply_to?: MessagePreview
  request_id?: string
}

export interface ReadState {
  server_id: string
  channel_id: string
  last_read_message_id?: string
  unread_count?: number
  last_message_id?: string
}

export interface Cursor {
  scope: string
  position: string
}

export interface Typing {
  server_id: string
  channel_id: string
  user_id: string
  display_name?: string
  expire_time?: string
}

/** Event is one entry of the feed; exactly one payload field is set. */
export interface AccordEvent {
  scope: string
  cursor?: string
  create_time?: string
  message_created?: Message
  message_updated?: Message
  message_deleted?: { server_id: string; channel_id: string; message_id: string }
  channel_created?: Channel
  channel_updated?: Channel
  channel_deleted?: { server_id: string; channel_id: string }
  server_updated?: Server
  server_deleted?: { server_id: string }
  member_added?: Member
  member_updated?: Member
  member_removed?: { server_id: string; user_id: string; kicked?: boolean }
  server_joined?: Server
  server_left?: { server_id: string; reason?: string }
  relationship_updated?: Relationship
  relationship_removed?: { user_id: string }
  read_state_updated?: ReadState
  typing?: Typing
  resync?: { reason?: string }
  user_updated?: User
}

export type Status =
  | 'STATUS_UNSPECIFIED'
  | 'STATUS_OFFLINE'
  | 'STATUS_ONLINE'
  | 'STATUS_IDLE'
  | 'STATUS_DND'
  | 'STATUS_INVISIBLE'

export interface Presence {
  user_id: string
  status?: Status
  update_time?: string
}

export interface UserCount {
  user_id: string
  display_name?: string
  count?: string
}

export interface ServerCount {
  server_id: string
  name?: string
  count?: string
}

export interface ActivityPoint {
  start_time: string
  count?: string
}

export type Metric = 'METRIC_MESSAGES' | 'METRIC_CONNECTIONS'
export type Window = 'WINDOW_DAY' | 'WINDOW_WEEK' | 'WINDOW_MONTH' | 'WINDOW_ALL'
export type Report = 'REPORT_TOP_USERS' | 'REPORT_TOP_SERVERS' | 'REPORT_ACTIVITY'

// WebSocket frames (docs/websocket.md).

export type ClientFrame =
  | { type: 'hello'; token?: string; cursors: Cursor[]; client: string }
  | { type: 'ping'; nonce?: string }
  | { type: 'typing'; channel_id: string }
  | { type: 'set_status'; status: Status }
  | { type: 'mark_read'; channel_id: string; message_id: string }
  | { type: 'watch_presence'; user_ids: string[] }
  | { type: 'token'; token: string }

export type ServerFrame =
  | { type: 'ready'; user: User; session_id?: string; heartbeat_interval_ms?: number }
  | { type: 'event'; event: AccordEvent }
  | { type: 'presence'; snapshot?: boolean; presences?: Presence[] }
  | { type: 'pong'; nonce?: string }
  | { type: 'error'; code?: string; message?: string; field?: string; request?: string }
