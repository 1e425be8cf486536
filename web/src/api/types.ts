// The gateway's REST and WebSocket JSON, typed from the generated OpenAPI
// types (schema.d.ts, `npm run gen:api`; scripts/test-web.sh fails when it is
// stale). Protobuf JSON: proto field names, enums as names, timestamps as RFC
// 3339 strings, int64 as strings; fields at their zero value are omitted, so
// every generated field is optional. `Present` marks the few fields the server
// always sets (ids, names, kinds) as required; naming a field the API lacks
// fails to compile, so these types cannot drift from the API.
import type { components } from './schema'

type S = components['schemas']

/** Present makes the listed fields of T required (the server always sets them). */
type Present<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> }

/** With replaces nested fields of T by the refined types of this file. */
type With<T, R> = Omit<T, keyof R> & R

export type User = Present<S['v1User'], 'id' | 'login'>
/** Session is one signed-in device of the caller (ListSessions). */
export type Session = Present<S['v1Session'], 'session_id'>
export type Tokens = Present<S['v1Tokens'], 'access_token' | 'access_token_expire_time' | 'refresh_token'>

export interface AuthResponse {
  user: User
  tokens: Tokens
}

export type RelationshipType = S['v1RelationshipType']
export type Relationship = With<Present<S['v1Relationship'], 'user_id' | 'type'>, { user?: User }>

export type ServerKind = S['v1ServerKind']
export type Role = S['v1Role']
export type Server = Present<S['v1Server'], 'id'>
export type Member = Present<S['v1Member'], 'server_id' | 'user_id'>
export type Invite = Present<S['v1Invite'], 'code' | 'server_id'>
export type Channel = Present<S['v1Channel'], 'id' | 'server_id' | 'name'>
export type MessagePreview = Present<S['v1MessagePreview'], 'id'>
export type ReactionSummary = Present<S['v1ReactionSummary'], 'emoji'>
/** Attachment is an uploaded file; its bytes come from /v1/channels/{channel_id}/attachments/{id}. */
export type Attachment = Present<S['v1Attachment'], 'id'>
export type Message = With<
  Present<S['v1Message'], 'id' | 'server_id' | 'channel_id' | 'author_id' | 'content'>,
  { reply_to?: MessagePreview; reactions?: ReactionSummary[]; attachments?: Attachment[] }
>
export type ReadState = Present<S['v1ReadState'], 'server_id' | 'channel_id'>
/** SearchResult is one message found by SearchMessages, with its snippet. */
export type SearchResult = Present<S['v1SearchResult'], 'message_id' | 'server_id' | 'channel_id'>
export type ReactionChange = Present<S['v1ReactionChange'], 'server_id' | 'channel_id' | 'message_id' | 'emoji' | 'user_id'>
export type Pin = With<Present<S['v1Pin'], 'channel_id' | 'message_id'>, { message?: Message }>
export type PinChange = With<Present<S['v1PinChange'], 'server_id' | 'channel_id' | 'message_id' | 'user_id'>, { pin?: Pin }>
export type Cursor = Present<S['v1Cursor'], 'scope' | 'position'>
export type Typing = Present<S['v1Typing'], 'server_id' | 'channel_id' | 'user_id'>
export type NotificationLevel = S['v1NotificationLevel']
/** ServerNotificationSettings are the caller's notification settings of one server. */
export type ServerNotificationSettings = Present<S['v1ServerNotificationSettings'], 'server_id'>

/** The payloads of a feed event, refined; exactly one is set. */
interface EventPayloads {
  message_created: Message
  message_updated: Message
  message_deleted: Present<S['v1MessageDeleted'], 'server_id' | 'channel_id' | 'message_id'>
  channel_created: Channel
  channel_updated: Channel
  channel_deleted: Present<S['v1ChannelDeleted'], 'server_id' | 'channel_id'>
  server_updated: Server
  server_deleted: Present<S['v1ServerDeleted'], 'server_id'>
  member_added: Member
  member_updated: Member
  member_removed: Present<S['v1MemberRemoved'], 'server_id' | 'user_id'>
  server_joined: Server
  server_left: Present<S['v1ServerLeft'], 'server_id'>
  relationship_updated: Relationship
  relationship_removed: Present<S['v1RelationshipRemoved'], 'user_id'>
  read_state_updated: ReadState
  typing: Typing
  resync: S['v1Resync']
  user_updated: User
  notification_settings_updated: ServerNotificationSettings
  reaction_added: ReactionChange
  reaction_removed: ReactionChange
  message_pinned: PinChange
  message_unpinned: PinChange
}

/** AccordEvent is one entry of the feed (v1Event). */
export type AccordEvent = With<Present<S['v1Event'], 'scope'>, Partial<EventPayloads>>

export type Status = S['presenceV1Status']
export type Presence = Present<S['v1Presence'], 'user_id'>
export type UserCount = Present<S['v1UserCount'], 'user_id'>
export type ServerCount = Present<S['v1ServerCount'], 'server_id'>
export type ActivityPoint = Present<S['v1ActivityPoint'], 'start_time'>

export type Metric = Exclude<S['v1Metric'], 'METRIC_UNSPECIFIED'>
export type Window = Exclude<S['v1Window'], 'WINDOW_UNSPECIFIED'>
export type Report = Exclude<S['v1Report'], 'REPORT_UNSPECIFIED'>

// WebSocket frames (docs/websocket.md): not part of the OpenAPI document.

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
