// The chat pane: header, history (older pages on scroll up, grouped by author),
// typing indicator and composer.
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react'
import type { Message } from '../api/types'
import { errorText } from '../state/controller'
import { displayName, messagesOf, pendingOf, presenceOf, type PendingMessage } from '../state/reducer'
import { useStore } from '../state/store'
import { Avatar, formatTime, PresenceDot, shortTime } from './common'
import { MembersIcon } from './icons'

/** GROUP_GAP_MS: consecutive messages of one author within this gap share a header. */
const GROUP_GAP_MS = 7 * 60 * 1000

/** startsGroup tells whether a message needs its own author header. */
export function startsGroup(prev: Pick<Message, 'author_id' | 'create_time'> | undefined, m: Pick<Message, 'author_id' | 'create_time' | 'reply_to'>): boolean {
  if (!prev || prev.author_id !== m.author_id || m.reply_to) return true
  const a = Date.parse(prev.create_time ?? '')
  const b = Date.parse(m.create_time ?? '')
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false
  if (new Date(a).toDateString() !== new Date(b).toDateString()) return true
  return b - a > GROUP_GAP_MS
}

export function ChatPane({
  channelId,
  partnerId,
  membersShown,
  onToggleMembers,
}: {
  channelId: string
  partnerId?: string
  membersShown: boolean
  onToggleMembers?: () => void
}) {
  const { state } = useStore()
  const channel = state.channels[channelId]
  const [replyTo, setReplyTo] = useState<Message | null>(null)
  const title = partnerId ? displayName(state, partnerId) : channel?.name ?? ''
  return (
    <section className="chat" aria-label={partnerId ? `Conversation with ${title}` : `Channel ${title}`}>
      <header className="chat-head">
        {partnerId ? (
          <>
            <span className="at" aria-hidden="true">
              @
            </span>
            <h2>{title}</h2>
            <PresenceDot status={presenceOf(state, partnerId)} />
          </>
        ) : (
          <>
            <span className="hash" aria-hidden="true">
              #
            </span>
            <h2>{title}</h2>
            {channel?.topic && <span className="topic">{channel.topic}</span>}
          </>
        )}
        <span className="spacer" />
        {onToggleMembers && (
          <button type="button" className="icon-button" aria-pressed={membersShown} aria-label="Show member list" title="Member list" onClick={onToggleMembers}>
            <MembersIcon />
          </button>
        )}
      </header>
      <MessageList channelId={channelId} title={partnerId ? '@' + title : '#' + title} onReply={setReplyTo} />
      <TypingLine channelId={channelId} />
      <Composer channelId={channelId} placeholder={`Message ${partnerId ? '@' + title : '#' + title}`} replyTo={replyTo} onClearReply={() => setReplyTo(null)} />
    </section>
  )
}

function MessageList({ channelId, title, onReply }: { channelId: string; title: string; onReply: (m: Message) => void }) {
  const { state, ctl } = useStore()
  const ch = state.messages[channelId]
  const messages = messagesOf(state, channelId)
  const pending = pendingOf(state, channelId)
  const ref = useRef<HTMLDivElement>(null)
  const atBottom = useRef(true)
  const firstId = useRef<string | undefined>(undefined)
  const fromBottom = useRef(0)
  const [editing, setEditing] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const meIdForEdit = state.me?.id
  useEffect(() => {
    // The composer asks (ArrowUp in an empty box) to edit the newest own message.
    const on = (e: Event) => {
      const own = [...messages].reverse().find((m) => m.author_id === meIdForEdit)
      if (own && (e as CustomEvent).detail === channelId) setEditing(own.id)
    }
    window.addEventListener('accord:edit-last', on)
    return () => window.removeEventListener('accord:edit-last', on)
  }, [messages, meIdForEdit, channelId])

  // Keep the view anchored: at the bottom while following, in place when older pages arrive.
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    const first = messages[0]?.id
    if (firstId.current && first !== firstId.current && !atBottom.current) {
      el.scrollTop = el.scrollHeight - fromBottom.current
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight
    }
    firstId.current = first
    fromBottom.current = el.scrollHeight - el.scrollTop
  })

  // Fill the screen: a short first page that does not scroll cannot trigger "load older".
  useEffect(() => {
    const el = ref.current
    if (el && ch?.loaded && ch.hasMore && el.scrollHeight <= el.clientHeight + 10) void ctl.loadOlder(channelId).catch(() => undefined)
  }, [ch?.loaded, ch?.hasMore, messages.length, ctl, channelId])

  function onScroll() {
    const el = ref.current
    if (!el) return
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60
    fromBottom.current = el.scrollHeight - el.scrollTop
    if (el.scrollTop < 120 && ch?.hasMore) void ctl.loadOlder(channelId).catch((e) => setError(errorText(e)))
  }

  const meId = state.me?.id
  let prev: Message | undefined
  return (
    <div className="messages" ref={ref} onScroll={onScroll} tabIndex={0} aria-label={`Messages in ${title}`} data-testid="message-list">
      {!ch?.loaded ? (
        <p className="muted pad">Loading messages…</p>
      ) : !ch.hasMore ? (
        <div className="channel-start">
          <h3>Welcome to {title}!</h3>
          <p className="muted">This is the beginning of {title}.</p>
        </div>
      ) : (
        <p className="muted pad small" aria-live="polite">
          Loading older messages…
        </p>
      )}
      {error && <p className="error-line">{error}</p>}
      <ol className="message-items">
        {messages.map((m) => {
          const head = startsGroup(prev, m)
          prev = m
          return (
            <MessageItem
              key={m.id}
              m={m}
              head={head}
              mine={m.author_id === meId}
              editing={editing === m.id}
              onEdit={() => setEditing(m.id)}
              onEditDone={() => setEditing(null)}
              onReply={() => onReply(m)}
              onError={setError}
            />
          )
        })}
        {pending.map((p) => (
          <PendingItem key={p.request_id} p={p} />
        ))}
      </ol>
    </div>
  )
}

function MessageItem({
  m,
  head,
  mine,
  editing,
  onEdit,
  onEditDone,
  onReply,
  onError,
}: {
  m: Message
  head: boolean
  mine: boolean
  editing: boolean
  onEdit: () => void
  onEditDone: () => void
  onReply: () => void
  onError: (e: string) => void
}) {
  const { state, ctl } = useStore()
  const name = m.author_name || displayName(state, m.author_id)
  const server = state.servers[m.server_id]
  const canDelete = mine || server?.my_role === 'ROLE_OWNER' || server?.my_role === 'ROLE_ADMIN'
  return (
    <li className={'message' + (head ? ' head' : ' grouped')} data-testid="message" data-message-id={m.id} data-author={name}>
      <div className="gutter">
        {head ? <Avatar id={m.author_id} name={name} /> : <time className="hover-time" dateTime={m.create_time}>{shortTime(m.create_time)}</time>}
      </div>
      <div className="message-body">
        {m.reply_to && (
          <div className="reply-preview">
            <span aria-hidden="true">↱ </span>
            {m.reply_to.deleted ? (
              <em className="muted">Original message was deleted</em>
            ) : (
              <>
                <strong>{m.reply_to.author_name || displayName(state, m.reply_to.author_id)}</strong> <span className="muted">{m.reply_to.content}</span>
              </>
            )}
          </div>
        )}
        {head && (
          <div className="meta">
            <strong className="author">{name}</strong>
            <time dateTime={m.create_time} title={m.create_time ? new Date(m.create_time).toLocaleString() : undefined}>
              {formatTime(m.create_time)}
            </time>
          </div>
        )}
        {editing ? (
          <EditBox
            initial={m.content}
            onCancel={onEditDone}
            onSave={async (text) => {
              try {
                if (text !== m.content) await ctl.edit(m, text)
                onEditDone()
              } catch (e) {
                onError(errorText(e))
              }
            }}
          />
        ) : (
          <div className="content" data-testid="message-content">
            {m.content}
            {m.edit_time && <span className="edited muted"> (edited)</span>}
          </div>
        )}
      </div>
      {!editing && (
        <div className="message-actions" role="group" aria-label="Message actions">
          <button type="button" onClick={onReply} aria-label="Reply">
            Reply
          </button>
          {mine && (
            <button type="button" onClick={onEdit} aria-label="Edit message">
              Edit
            </button>
          )}
          {canDelete && (
            <button
              type="button"
              className="danger"
              aria-label="Delete message"
              onClick={async () => {
                try {
                  await ctl.remove(m)
                } catch (e) {
                  onError(errorText(e))
                }
              }}
            >
              Delete
            </button>
          )}
        </div>
      )}
    </li>
  )
}

function PendingItem({ p }: { p: PendingMessage }) {
  const { state, ctl } = useStore()
  const me = state.me!
  return (
    <li className={'message head pending' + (p.state === 'failed' ? ' failed' : '')} data-testid="pending-message">
      <div className="gutter">
        <Avatar id={me.id} name={me.display_name || me.login} />
      </div>
      <div className="message-body">
        {p.reply_to && (
          <div className="reply-preview">
            ↱ <strong>{p.reply_to.author_name}</strong> <span className="muted">{p.reply_to.content}</span>
          </div>
        )}
        <div className="meta">
          <strong className="author">{me.display_name || me.login}</strong>
          <span className="muted small">{p.state === 'sending' ? 'Sending…' : 'Not sent'}</span>
        </div>
        <div className="content">{p.content}</div>
        {p.state === 'failed' && (
          <div className="pending-actions">
            <span className="error-line">{p.error}</span>
            <button type="button" className="link" onClick={() => void ctl.retry(p.request_id)}>
              Retry
            </button>
            <button type="button" className="link" onClick={() => ctl.dropPending(p.request_id)}>
              Discard
            </button>
          </div>
        )}
      </div>
    </li>
  )
}

function EditBox({ initial, onSave, onCancel }: { initial: string; onSave: (t: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(initial)
  return (
    <div className="edit-box">
      <textarea
        aria-label="Edit message"
        autoFocus
        value={text}
        rows={Math.min(8, text.split('\n').length)}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onCancel()
          else if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault()
            if (text.trim()) onSave(text.trim())
          }
        }}
      />
      <p className="small muted">Escape to cancel · Enter to save</p>
    </div>
  )
}

function TypingLine({ channelId }: { channelId: string }) {
  const { state } = useStore()
  const names = Object.values(state.typing[channelId] ?? {}).map((t) => t.name)
  let text = ''
  if (names.length === 1) text = `${names[0]} is typing…`
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`
  else if (names.length > 2) text = 'Several people are typing…'
  return (
    <div className="typing" aria-live="polite" data-testid="typing">
      {text}
    </div>
  )
}

function Composer({
  channelId,
  placeholder,
  replyTo,
  onClearReply,
}: {
  channelId: string
  placeholder: string
  replyTo: Message | null
  onClearReply: () => void
}) {
  const { ctl } = useStore()
  const [text, setText] = useState('')
  const ref = useRef<HTMLTextAreaElement>(null)
  useEffect(() => {
    if (replyTo) ref.current?.focus()
  }, [replyTo])

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      const content = text.trim()
      if (!content) return
      setText('')
      void ctl.send(channelId, content, replyTo ?? undefined)
      onClearReply()
    } else if (e.key === 'Escape' && replyTo) {
      onClearReply()
    } else if (e.key === 'ArrowUp' && !text) {
      e.preventDefault()
      window.dispatchEvent(new CustomEvent('accord:edit-last', { detail: channelId }))
    }
  }
  return (
    <div className="composer">
      {replyTo && (
        <div className="replying">
          Replying to <strong>{replyTo.author_name}</strong>
          <button type="button" className="icon-button small" aria-label="Cancel reply" onClick={onClearReply}>
            ×
          </button>
        </div>
      )}
      <textarea
        ref={ref}
        aria-label={placeholder}
        placeholder={placeholder}
        value={text}
        rows={Math.min(8, Math.max(1, text.split('\n').length))}
        maxLength={4000}
        onChange={(e) => {
          setText(e.target.value)
          if (e.target.value) ctl.typing(channelId)
        }}
        onKeyDown={onKeyDown}
        data-testid="composer"
      />
    </div>
  )
}
