// The chat pane: header, history (older pages on scroll up, grouped by author),
// typing indicator and composer.
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type CSSProperties, type DragEvent as ReactDragEvent, type KeyboardEvent } from 'react'
import { useVirtualizer } from '@tanstack/react-virtual'
import type { Message } from '../api/types'
import { errorText } from '../state/controller'
import { idAfter, mentionsMe } from '../state/unread'
import { displayName, messagesOf, pendingOf, presenceOf, type PendingMessage } from '../state/reducer'
import { PinLines, PinsPanel } from './PinsPanel'
import { PinAction, ReactionActions, Reactions } from './Reactions'
import { useApp, useAppList, useAppStore, useStore } from '../state/store'
import { Avatar, formatTime, Modal, NavToggle, PresenceDot, shortTime, useCountdown } from './common'
import { MembersIcon } from './icons'
import { ProfileCard } from './ProfileCard'
import { useMentionAutocomplete } from './MentionAutocomplete'
import { MessageBody } from './MessageBody'
import { JumpToPresent } from './JumpToPresent'
import { arrived, useJumps, useJumpToMessage } from '../state/jump'
import { SearchBox } from './SearchBox'
import { AttachIcon, MessageAttachments, UploadChips, useUploadQueue } from './Attachments'
import { MAX_FILES, type UploadQueue, type UploadItem } from '../lib/uploads'

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
  const channel = useApp((s) => s.channels[channelId])
  const partnerName = useApp((s) => (partnerId ? displayName(s, partnerId) : ''))
  const partnerStatus = useApp((s) => (partnerId ? presenceOf(s, partnerId) : 'STATUS_UNSPECIFIED'))
  const [replyTo, setReplyTo] = useState<Message | null>(null)
  const [pinsShown, setPinsShown] = useState(false)
  const title = partnerId ? partnerName : channel?.name ?? ''
  const uploads = useUploadQueue(channelId)
  const [notice, setNotice] = useState<string | null>(null)
  // Files dragged over the channel: the counter survives dragenter/dragleave of children.
  const [dragDepth, setDragDepth] = useState(0)
  const hasFiles = (e: ReactDragEvent) => Array.from(e.dataTransfer.types).includes('Files')
  const addFiles = useCallback(
    (files: Iterable<Blob>) => {
      const refused = uploads.queue.add(files)
      setNotice(refused.length ? refused.join(' ') : null)
    },
    [uploads.queue],
  )
  return (
    <section
      className="chat"
      aria-label={partnerId ? `Conversation with ${title}` : `Channel ${title}`}
      onDragEnter={(e) => {
        if (!hasFiles(e)) return
        e.preventDefault()
        setDragDepth((d) => d + 1)
      }}
      onDragOver={(e) => {
        if (!hasFiles(e)) return
        e.preventDefault()
        e.dataTransfer.dropEffect = 'copy'
      }}
      onDragLeave={(e) => {
        if (hasFiles(e)) setDragDepth((d) => Math.max(0, d - 1))
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return
        e.preventDefault()
        setDragDepth(0)
        addFiles(Array.from(e.dataTransfer.files))
      }}
    >
      {dragDepth > 0 && (
        <div className="drop-zone" data-testid="drop-zone">
          Drop files to send them to {partnerId ? '@' + title : '#' + title}
        </div>
      )}
      <header className="chat-head">
        <NavToggle />
        {partnerId ? (
          <>
            <span className="at" aria-hidden="true">
              @
            </span>
            <h2>{title}</h2>
            <PresenceDot status={partnerStatus} />
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
        <SearchBox key={channel?.server_id ?? channelId} serverId={channel?.server_id ?? channelId} />
        <button type="button" className="icon-button" aria-pressed={pinsShown} aria-label="Pinned messages" title="Pinned messages" onClick={() => setPinsShown((v) => !v)}>
          📌
        </button>
        {onToggleMembers && (
          <button type="button" className="icon-button" aria-pressed={membersShown} aria-label="Show member list" title="Member list" onClick={onToggleMembers}>
            <MembersIcon />
          </button>
        )}
      </header>
      <MessageList channelId={channelId} title={partnerId ? '@' + title : '#' + title} dmWith={partnerId ? title : undefined} onReply={setReplyTo} />
      {pinsShown && <PinsPanel channelId={channelId} onClose={() => setPinsShown(false)} />}
      <PinLines channelId={channelId} />
      <LiveAnnouncer channelId={channelId} />
      <TypingLine channelId={channelId} />
      <RateLimitNotice channelId={channelId} />
      <Composer
        channelId={channelId}
        placeholder={`Message ${partnerId ? '@' + title : '#' + title}`}
        replyTo={replyTo}
        onClearReply={() => setReplyTo(null)}
        queue={uploads.queue}
        files={uploads.items}
        onFiles={addFiles}
        notice={notice}
        onNotice={setNotice}
      />
    </section>
  )
}

/** ChannelStart is what opens a channel's history (or a conversation's), as Discord words it. */
export function ChannelStart({ title, dmWith }: { title: string; dmWith?: string }) {
  return dmWith ? (
    <div className="channel-start">
      <h3>{dmWith}</h3>
      <p className="muted">
        This is the beginning of your direct message history with <strong>@{dmWith}</strong>.
      </p>
    </div>
  ) : (
    <div className="channel-start">
      <h3>Welcome to {title}!</h3>
      <p className="muted">This is the start of the {title} channel.</p>
    </div>
  )
}

function MessageList({ channelId, title, dmWith, onReply }: { channelId: string; title: string; dmWith?: string; onReply: (m: Message) => void }) {
  const { ctl } = useStore()
  const store = useAppStore()
  const ch = useApp((s) => s.messages[channelId])
  const messages = useMemo(() => (ch ? ch.ids.map((id) => ch.byId[id]) : []), [ch])
  const pending = useAppList((s) => pendingOf(s, channelId))
  const meId = useApp((s) => s.me?.id)
  const ref = useRef<HTMLDivElement>(null)
  const atBottom = useRef(true)
  const firstId = useRef<string | undefined>(undefined)
  const fromBottom = useRef(0)
  const [editing, setEditing] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const endEdit = useCallback(() => setEditing(null), [])
  const target = useJumps((j) => (j.target?.channelId === channelId ? j.target.messageId : null))
  const flash = useJumps((j) => j.flash)
  useEffect(() => {
    // The composer asks (ArrowUp in an empty box) to edit the newest own message.
    const on = (e: Event) => {
      if ((e as CustomEvent).detail !== channelId) return
      const own = [...messagesOf(store.getState(), channelId)].reverse().find((m) => m.author_id === meId)
      if (own) setEditing(own.id)
    }
    window.addEventListener('accord:edit-last', on)
    return () => window.removeEventListener('accord:edit-last', on)
  }, [store, meId, channelId])

  // Only the rows on screen (and a few around) are rendered: long channels scroll smoothly.
  const count = messages.length + pending.length
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => ref.current,
    estimateSize: (i) => (i < messages.length && i > 0 && !startsGroup(messages[i - 1], messages[i]) ? 24 : 60),
    getItemKey: (i) => (i < messages.length ? messages[i].id : pending[i - messages.length].request_id),
    overscan: 8,
  })

  // Keep the view anchored: at the bottom while following, in place when older pages arrive.
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    const first = messages[0]?.id
    if (firstId.current && first !== firstId.current && !atBottom.current) {
      el.scrollTop = el.scrollHeight - fromBottom.current
    } else if (atBottom.current && !ch?.hasNewer) {
      el.scrollTop = el.scrollHeight
    }
    firstId.current = first
    fromBottom.current = el.scrollHeight - el.scrollTop
  })

  // Fill the screen: a short first page that does not scroll cannot trigger "load older".
  useEffect(() => {
    const el = ref.current
    // Still at the top after a page arrived (no scroll event follows): fetch the next one too.
    if (el && ch?.loaded && ch.hasMore && (el.scrollHeight <= el.clientHeight + 10 || el.scrollTop < 120)) void ctl.loadOlder(channelId).catch(() => undefined)
  }, [ch?.loaded, ch?.hasMore, messages.length, ctl, channelId])

  // A message jumped to (jumpToMessage): once it is in the list, scroll it into the middle and highlight it.
  useEffect(() => {
    if (!target) return
    const i = messages.findIndex((m) => m.id === target)
    if (i < 0) return
    atBottom.current = false
    virtualizer.scrollToIndex(i, { align: 'center' })
    arrived(target)
  }, [target, messages, virtualizer])

  // Sending while older history is shown returns to the present, where the message will appear.
  const pendingCount = useRef(pending.length)
  useEffect(() => {
    if (pending.length > pendingCount.current && ch?.hasNewer) jumpToPresent()
    pendingCount.current = pending.length
  })

  function jumpToPresent() {
    atBottom.current = true
    void ctl.loadLatest(channelId, true).catch((e) => setError(errorText(e)))
  }

  function onScroll() {
    const el = ref.current
    if (!el) return
    const fromEnd = el.scrollHeight - el.scrollTop - el.clientHeight
    atBottom.current = fromEnd < 60
    fromBottom.current = el.scrollHeight - el.scrollTop
    if (el.scrollTop < 120 && ch?.hasMore) void ctl.loadOlder(channelId).catch((e) => setError(errorText(e)))
    // Opened around an older message: scrolling down pages toward the present.
    if (fromEnd < 300 && ch?.hasNewer) void ctl.loadNewer(channelId).catch((e) => setError(errorText(e)))
  }

  const rows = virtualizer.getVirtualItems()
  return (
    <>
      <div className="messages" ref={ref} onScroll={onScroll} tabIndex={0} aria-label={`Messages in ${title}`} data-testid="message-list">
        <div className="messages-inner">
          {!ch?.loaded ? (
            <p className="muted pad">Loading messages…</p>
          ) : !ch.hasMore ? (
            <ChannelStart title={title} dmWith={dmWith} />
          ) : (
            <p className="muted pad small">Loading older messages…</p>
          )}
          {error && <p className="error-line">{error}</p>}
          <ol className="message-items" style={{ height: virtualizer.getTotalSize() }}>
            {rows.map((row) => {
              const style = { transform: `translateY(${row.start}px)` }
              if (row.index >= messages.length) {
                const p = pending[row.index - messages.length]
                return <PendingItem key={row.key} p={p} index={row.index} measure={virtualizer.measureElement} style={style} />
              }
              const m = messages[row.index]
              return (
                <MessageItem
                  key={row.key}
                  index={row.index}
                  measure={virtualizer.measureElement}
                  style={style}
                  m={m}
                  head={startsGroup(messages[row.index - 1], m)}
                  mine={m.author_id === meId}
                  highlighted={flash === m.id}
                  editing={editing === m.id}
                  onEdit={setEditing}
                  onEditDone={endEdit}
                  onReply={onReply}
                  onError={setError}
                />
              )
            })}
          </ol>
        </div>
      </div>
      {ch?.hasNewer && <JumpToPresent onJump={jumpToPresent} />}
    </>
  )
}

type Measure = (el: Element | null) => void

export const MessageItem = memo(function MessageItem({
  m,
  head,
  mine,
  highlighted = false,
  editing,
  onEdit,
  onEditDone,
  onReply,
  onError,
  index,
  measure,
  style,
}: {
  m: Message
  head: boolean
  mine: boolean
  /** Just jumped to: shown highlighted for a moment. */
  highlighted?: boolean
  editing: boolean
  onEdit: (id: string) => void
  onEditDone: () => void
  onReply: (m: Message) => void
  onError: (e: string) => void
  index: number
  measure: Measure
  style: CSSProperties
}) {
  const { ctl } = useStore()
  const userName = useApp((s) => displayName(s, m.author_id))
  const name = m.author_name || userName
  const replyName = useApp((s) => (m.reply_to ? displayName(s, m.reply_to.author_id) : ''))
  const role = useApp((s) => s.servers[m.server_id]?.my_role)
  const canDelete = mine || role === 'ROLE_OWNER' || role === 'ROLE_ADMIN'
  const mentioned = useApp((s) => mentionsMe(m, s.me?.id))
  const isDM = useApp((s) => s.servers[m.server_id]?.kind === 'SERVER_KIND_DM')
  const canPin = role === 'ROLE_OWNER' || role === 'ROLE_ADMIN' || isDM
  const [confirming, setConfirming] = useState(false)
  const [card, setCard] = useState(false)
  const jumpToMessage = useJumpToMessage()
  const remove = async () => {
    setConfirming(false)
    try {
      await ctl.remove(m)
    } catch (e) {
      onError(errorText(e))
    }
  }
  return (
    <li
      className={'message' + (head ? ' head' : ' grouped') + (mentioned ? ' mentions-me' : '') + (highlighted ? ' highlighted' : '')}
      data-testid="message"
      data-message-id={m.id}
      data-author={name}
      data-index={index}
      ref={measure}
      style={style}
    >
      <div className="gutter">
        {head ? <Avatar id={m.author_id} name={name} /> : <time className="hover-time" dateTime={m.create_time}>{shortTime(m.create_time)}</time>}
      </div>
      <div className="message-body">
        {m.reply_to &&
          (m.reply_to.deleted ? (
            <div className="reply-preview">
              <span aria-hidden="true">↱ </span>
              <em className="muted">Original message was deleted</em>
            </div>
          ) : (
            <button
              type="button"
              className="reply-preview"
              data-testid="reply-preview"
              title="Jump to the message"
              onClick={() => void jumpToMessage(m.channel_id, m.reply_to!.id).catch((e) => onError(errorText(e)))}
            >
              <span aria-hidden="true">↱ </span>
              <strong>{m.reply_to.author_name || replyName}</strong>{' '}
              <span className="muted">
                <MessageBody content={m.reply_to.content ?? ''} serverId={m.server_id} inline />
              </span>
            </button>
          ))}
        {head && (
          <div className="meta">
            <button type="button" className="author" onClick={() => setCard(true)} aria-haspopup="dialog">
              {name}
            </button>
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
          (m.content || !m.attachments?.length) && (
            <div className="content" data-testid="message-content">
              <MessageBody content={m.content} serverId={m.server_id} />
              {m.edit_time && <span className="edited muted"> (edited)</span>}
            </div>
          )
        )}
        {m.attachments && m.attachments.length > 0 && <MessageAttachments attachments={m.attachments} />}
        <Reactions m={m} onError={onError} />
      </div>
      {!editing && (
        <div className="message-actions" role="group" aria-label="Message actions">
          <button type="button" onClick={() => onReply(m)} aria-label="Reply">
            Reply
          </button>
          <ReactionActions m={m} onError={onError} />
          {canPin && <PinAction m={m} onError={onError} />}
          {mine && (
            <button type="button" onClick={() => onEdit(m.id)} aria-label="Edit message">
              Edit
            </button>
          )}
          {canDelete && (
            <button
              type="button"
              className="danger"
              aria-label="Delete message"
              title="Delete (hold Shift to skip the confirmation)"
              onClick={(e) => {
                // As in Discord, Shift-click deletes at once.
                if (e.shiftKey) void remove()
                else setConfirming(true)
              }}
            >
              Delete
            </button>
          )}
        </div>
      )}
      {card && <ProfileCard userId={m.author_id} fallbackName={name} onClose={() => setCard(false)} />}
      {confirming && <ConfirmDelete m={m} name={name} onCancel={() => setConfirming(false)} onConfirm={() => void remove()} />}
    </li>
  )
})

/** ConfirmDelete asks before a message is deleted, showing the message. */
export function ConfirmDelete({ m, name, onCancel, onConfirm }: { m: Message; name: string; onCancel: () => void; onConfirm: () => void }) {
  return (
    <Modal title="Delete message" onClose={onCancel}>
      <div className="stack">
        <p>Are you sure you want to delete this message?</p>
        <blockquote className="quoted-message">
          <strong>{name}</strong> <span className="muted small">{formatTime(m.create_time)}</span>
          <div className="content">
            <MessageBody content={m.content} serverId={m.server_id} />
          </div>
        </blockquote>
        <p className="muted small">Tip: hold Shift when you click Delete to skip this confirmation.</p>
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className="danger" onClick={onConfirm} data-testid="confirm-delete">
            Delete
          </button>
        </div>
      </div>
    </Modal>
  )
}

/**
 * LiveAnnouncer tells screen readers about each new message from someone else in the open
 * channel ("Bob: hi"), through a polite live region; history loaded on opening is not read out.
 */
export function LiveAnnouncer({ channelId }: { channelId: string }) {
  const last = useApp((s) => {
    const ch = s.messages[channelId]
    const id = ch?.ids[ch.ids.length - 1]
    return id ? ch!.byId[id] : undefined
  })
  const meId = useApp((s) => s.me?.id)
  const name = useApp((s) => (last ? last.author_name || displayName(s, last.author_id) : ''))
  // The newest message when the channel opened (or finished loading) is the baseline: only later ones are news.
  const [baseline, setBaseline] = useState<string | null | undefined>(undefined)
  const loaded = useApp((s) => !!s.messages[channelId]?.loaded)
  if (loaded && baseline === undefined) setBaseline(last?.id ?? null)
  const fresh = baseline !== undefined && last && last.author_id !== meId && (baseline === null || idAfter(last.id, baseline))
  return (
    <div className="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="live-region">
      {fresh ? `${name}: ${last.content || filesText(last.attachments?.length ?? 0)}` : ''}
    </div>
  )
}

/** filesText says what a message without text carries: "sent a file", "sent 3 files". */
export function filesText(n: number): string {
  return n === 1 ? 'sent a file' : `sent ${n} files`
}

/** RateLimitNotice is one notice per channel while sending is refused for going too fast, counting down in whole seconds. */
export function RateLimitNotice({ channelId }: { channelId: string }) {
  const { ctl } = useStore()
  const until = useApp((s) => s.rateLimited[channelId])
  if (!until) return null
  return <RateLimitCountdown key={until} until={until} onDone={() => ctl.apply({ type: 'rateLimitEnded', channelId })} />
}

function RateLimitCountdown({ until, onDone }: { until: number; onDone: () => void }) {
  const left = useCountdown(until, onDone)
  if (left <= 0) return null
  return (
    <div className="rate-limit" role="status" data-testid="rate-limit">
      You are sending messages too fast. Try again in {left} {left === 1 ? 'second' : 'seconds'}.
    </div>
  )
}

function PendingItem({ p, index, measure, style }: { p: PendingMessage; index: number; measure: Measure; style: CSSProperties }) {
  const { ctl } = useStore()
  const me = useApp((s) => s.me!)
  return (
    <li
      className={'message head pending' + (p.state === 'failed' ? ' failed' : '')}
      data-testid="pending-message"
      data-index={index}
      ref={measure}
      style={style}
    >
      <div className="gutter">
        <Avatar id={me.id} name={me.display_name || me.login} />
      </div>
      <div className="message-body">
        {p.reply_to && (
          <div className="reply-preview">
            ↱ <strong>{p.reply_to.author_name}</strong>{' '}
            <span className="muted">
              <MessageBody content={p.reply_to.content ?? ''} serverId={p.server_id} inline />
            </span>
          </div>
        )}
        <div className="meta">
          <strong className="author">{me.display_name || me.login}</strong>
          <span className="muted small">{p.state === 'sending' ? 'Sending…' : 'Not sent'}</span>
        </div>
        {p.content && <div className="content">{p.content}</div>}
        {p.attachments && p.attachments.length > 0 && (
          <div className="pending-files muted">
            📎 {p.attachments.map((a) => a.name).join(', ')}
          </div>
        )}
        {p.state === 'failed' && (
          <div className="pending-actions">
            {!p.rateLimited && <span className="error-line">{p.error}</span>}
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
  const names = useAppList((s) => Object.values(s.typing[channelId] ?? {}).map((t) => t.name))
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
  queue,
  files,
  onFiles,
  notice,
  onNotice,
}: {
  channelId: string
  placeholder: string
  replyTo: Message | null
  onClearReply: () => void
  queue: UploadQueue
  files: readonly UploadItem[]
  onFiles: (files: Blob[]) => void
  notice: string | null
  onNotice: (n: string | null) => void
}) {
  const { ctl } = useStore()
  const [text, setText] = useState('')
  /** Enter was pressed while files were still uploading: the message goes once they are done. */
  const [waiting, setWaiting] = useState(false)
  const ref = useRef<HTMLTextAreaElement>(null)
  const picker = useRef<HTMLInputElement>(null)
  const serverId = useApp((s) => s.channels[channelId]?.server_id ?? (s.servers[channelId] ? channelId : undefined))
  const mentions = useMentionAutocomplete({ serverId, text, setText, inputRef: ref })
  useEffect(() => {
    if (replyTo) ref.current?.focus()
  }, [replyTo])
  // A newly opened channel takes the focus (Alt+Up/Down, a click in the channel list), so typing
  // goes to its message box; not on touch screens, where focusing would pop up the keyboard.
  useEffect(() => {
    const a = document.activeElement
    const coarse = typeof window.matchMedia === 'function' && window.matchMedia('(pointer: coarse)').matches
    if (coarse || document.querySelector('[role=dialog]')) return
    if (!a || a === document.body || a.closest('.sidebar, .rail')) ref.current?.focus({ preventScroll: true })
  }, [])

  async function submit() {
    if (waiting) return
    const content = text.trim()
    if (!content && files.length === 0) return
    let attachments = files.flatMap((f) => (f.attachment ? [f.attachment] : []))
    if (files.length > 0) {
      setWaiting(true)
      try {
        const ids = await queue.ready()
        // Files removed while waiting are not sent; the queue's order is the message's.
        const byId = new Map(queue.items.flatMap((f) => (f.attachment ? [[f.attachment.id, f.attachment] as const] : [])))
        attachments = ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []))
      } catch (e) {
        onNotice(e instanceof Error ? e.message + ' Remove it or retry before sending.' : String(e))
        return
      } finally {
        setWaiting(false)
      }
      if (!content && attachments.length === 0) return
    }
    setText('')
    queue.clear()
    onNotice(null)
    void ctl.send(channelId, content, replyTo ?? undefined, attachments)
    onClearReply()
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (mentions.onKeyDown(e)) return
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      void submit()
    } else if (e.key === 'Escape' && replyTo) {
      onClearReply()
    } else if (e.key === 'ArrowUp' && !text && files.length === 0) {
      e.preventDefault()
      window.dispatchEvent(new CustomEvent('accord:edit-last', { detail: channelId }))
    }
  }
  const uploading = files.some((f) => f.state === 'uploading')
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
      {mentions.popup}
      {notice && (
        <p className="composer-note error-line" role="alert" data-testid="upload-notice">
          {notice}
        </p>
      )}
      {waiting && uploading && (
        <p className="composer-note muted" role="status">
          Sending once the uploads finish…
        </p>
      )}
      <UploadChips queue={queue} items={files} />
      <div className="composer-row">
        <button
          type="button"
          className="attach-button"
          aria-label="Attach files"
          title="Attach files (or paste or drop them)"
          disabled={files.length >= MAX_FILES}
          onClick={() => picker.current?.click()}
        >
          <AttachIcon />
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          data-testid="file-input"
          onChange={(e) => {
            const list = Array.from(e.target.files ?? [])
            e.target.value = ''
            if (list.length) onFiles(list)
            ref.current?.focus()
          }}
        />
        <textarea
          ref={ref}
          {...mentions.inputProps}
          onSelect={(e) => mentions.track(e.currentTarget)}
          aria-label={placeholder}
          placeholder={placeholder}
          value={text}
          rows={Math.min(8, Math.max(1, text.split('\n').length))}
          maxLength={4000}
          onChange={(e) => {
            setText(e.target.value)
            mentions.track(e.target)
            if (e.target.value) ctl.typing(channelId)
          }}
          onPaste={(e) => {
            // A pasted screenshot (or copied files) becomes an upload; pasted text stays text.
            const pasted = Array.from(e.clipboardData.files)
            if (pasted.length === 0) return
            e.preventDefault()
            onFiles(pasted)
          }}
          onKeyDown={onKeyDown}
          data-testid="composer"
        />
      </div>
    </div>
  )
}
