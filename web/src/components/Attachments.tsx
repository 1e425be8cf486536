// Files in the chat: the composer's pending uploads (chips with progress) and a
// message's attachments (images inline at their aspect ratio, other files as cards,
// spoilers blurred until clicked, a viewer dialog for the original). The bytes need
// the Authorization header, so they are fetched as blobs (kept a while in the query
// cache) and shown through object URLs that each component revokes when it unmounts.
import { useEffect, useState, useSyncExternalStore } from 'react'
import { createPortal } from 'react-dom'
import { useQuery } from '@tanstack/react-query'
import type { Attachment } from '../api/types'
import { attachmentPath, xhrTransport } from '../api/upload'
import { errorText } from '../state/controller'
import { useStore } from '../state/store'
import { formatBytes, UploadQueue, type UploadItem } from '../lib/uploads'
import { Modal } from './common'
import './attachments.css'

/** The largest box an inline image takes in the list, as in Discord. */
const BOX_W = 400
const BOX_H = 300

/** useUploadQueue is the composer's queue of one channel; uploads still running stop when it goes away. */
export function useUploadQueue(channelId: string): { queue: UploadQueue; items: readonly UploadItem[] } {
  const { api } = useStore()
  const [queue] = useState(() => new UploadQueue(xhrTransport(api.http, channelId)))
  useEffect(() => () => queue.dispose(), [queue])
  const items = useSyncExternalStore(queue.subscribe, () => queue.items)
  return { queue, items }
}

/** UploadChips lists the files waiting to be sent above the composer. */
export function UploadChips({ queue, items }: { queue: UploadQueue; items: readonly UploadItem[] }) {
  if (items.length === 0) return null
  return (
    <ul className="upload-chips" aria-label="Files to send" data-testid="upload-chips">
      {items.map((i) => (
        <UploadChip key={i.key} item={i} queue={queue} />
      ))}
    </ul>
  )
}

function UploadChip({ item, queue }: { item: UploadItem; queue: UploadQueue }) {
  const pct = item.size > 0 ? Math.round((item.loaded / item.size) * 100) : item.state === 'done' ? 100 : 0
  const preview = useObjectUrl(item.file.type.startsWith('image/') ? item.file : undefined)
  return (
    <li className={'upload-chip ' + item.state} data-testid="upload-chip" data-state={item.state} data-name={item.name}>
      <div className={'upload-thumb' + (item.spoiler ? ' spoiler' : '')} aria-hidden="true">
        {preview ? <img src={preview} alt="" /> : <FileIcon />}
      </div>
      <div className="upload-info">
        <span className="upload-name" title={item.name}>
          {item.name}
        </span>
        <span className="muted small">
          {formatBytes(item.size)}
          {item.state === 'uploading' && ` · ${pct}%`}
          {item.state === 'done' && ' · ready'}
        </span>
        {item.state !== 'failed' && (
          <progress max={100} value={pct} aria-label={`Uploading ${item.name}`} />
        )}
        {item.state === 'failed' && (
          <span className="error-line small" role="alert">
            {item.error}
          </span>
        )}
        <div className="upload-actions">
          <label className="spoiler-toggle">
            <input type="checkbox" checked={item.spoiler} onChange={(e) => queue.setSpoiler(item.key, e.target.checked)} />
            Mark as spoiler
          </label>
          {item.state === 'failed' && (
            <button type="button" className="link" onClick={() => queue.retry(item.key)}>
              Retry
            </button>
          )}
        </div>
      </div>
      <button
        type="button"
        className="icon-button small upload-remove"
        aria-label={item.state === 'uploading' ? `Cancel upload of ${item.name}` : `Remove ${item.name}`}
        title={item.state === 'uploading' ? 'Cancel upload' : 'Remove'}
        onClick={() => queue.remove(item.key)}
      >
        ×
      </button>
    </li>
  )
}

/** useObjectUrl shows a blob through an object URL, revoked when the blob changes or the component unmounts. */
export function useObjectUrl(blob: Blob | undefined): string | undefined {
  const [state, setState] = useState<{ blob: Blob; url: string } | null>(null)
  useEffect(() => {
    if (!blob) return
    const url = URL.createObjectURL(blob)
    setState({ blob, url })
    return () => URL.revokeObjectURL(url)
  }, [blob])
  return blob && state?.blob === blob ? state.url : undefined
}

/**
 * useAttachmentBlob fetches an attachment's bytes with the token. Blobs stay in the query
 * cache for a minute after the last user (thumbnails five), so scrolling back is instant.
 */
function useAttachmentBlob(path: string, enabled = true, thumbnail = true) {
  const { api } = useStore()
  return useQuery({
    queryKey: ['attachment', path],
    queryFn: () => api.http.blob(path),
    enabled,
    staleTime: Infinity,
    gcTime: thumbnail ? 5 * 60_000 : 60_000,
    retry: 1,
  })
}

/** isImage tells whether an attachment is shown inline as an image. */
function isImage(a: Attachment): boolean {
  return !!a.content_type?.startsWith('image/') && ((a.thumbnail_width ?? 0) > 0 || (a.width ?? 0) > 0)
}

/** MessageAttachments shows a message's files under its text. */
export function MessageAttachments({ attachments }: { attachments: Attachment[] }) {
  const [open, setOpen] = useState<Attachment | null>(null)
  if (attachments.length === 0) return null
  return (
    <div className="attachments" data-testid="attachments">
      {attachments.map((a) =>
        isImage(a) ? <ImageAttachment key={a.id} a={a} onOpen={() => setOpen(a)} /> : <FileCard key={a.id} a={a} />,
      )}
      {open && <AttachmentViewer a={open} onClose={() => setOpen(null)} />}
    </div>
  )
}

/** boxSize is the box an image takes in the list: its thumbnail's size, scaled into BOX_W x BOX_H. */
export function boxSize(a: Pick<Attachment, 'thumbnail_width' | 'thumbnail_height' | 'width' | 'height'>): { width: number; height: number } {
  const w = a.thumbnail_width || a.width || BOX_W
  const h = a.thumbnail_height || a.height || BOX_H
  const scale = Math.min(1, BOX_W / w, BOX_H / h)
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) }
}

function ImageAttachment({ a, onOpen }: { a: Attachment; onOpen: () => void }) {
  const [revealed, setRevealed] = useState(!a.spoiler)
  const path = attachmentPath(a, (a.thumbnail_width ?? 0) > 0)
  const q = useAttachmentBlob(path)
  const url = useObjectUrl(q.data)
  const box = boxSize(a)
  const name = a.name ?? 'image'
  // The box is reserved before the bytes arrive (width and aspect ratio), so the list does not jump.
  const style = { width: box.width, aspectRatio: `${box.width} / ${box.height}` }
  return (
    <figure
      className={'attachment-image' + (revealed ? '' : ' hidden-spoiler')}
      style={style}
      data-testid="attachment-image"
      data-spoiler={a.spoiler ? (revealed ? 'revealed' : 'hidden') : undefined}
      data-src={attachmentPath(a)}
      data-name={name}
    >
      {url ? <img src={url} alt={name} draggable={false} /> : <span className="attachment-loading muted small">{q.isError ? 'Could not load the image' : ''}</span>}
      {revealed ? (
        <button type="button" className="attachment-open" aria-label={`Open image ${name}`} onClick={onOpen} />
      ) : (
        <button type="button" className="spoiler-cover" aria-label={`Spoiler: reveal ${name}`} onClick={() => setRevealed(true)}>
          <span className="spoiler-label">SPOILER</span>
        </button>
      )}
    </figure>
  )
}

/** saveBlob hands a blob to the browser's downloads under a file name. */
function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.rel = 'noopener'
  document.body.appendChild(link)
  link.click()
  link.remove()
  // The download has taken the URL by the next task; a minute is ample.
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

function FileCard({ a }: { a: Attachment }) {
  const { api } = useStore()
  const [revealed, setRevealed] = useState(!a.spoiler)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const name = a.name ?? 'file'
  async function download() {
    setBusy(true)
    setError(null)
    try {
      saveBlob(await api.http.blob(attachmentPath(a)), name)
    } catch (e) {
      setError(errorText(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <div className={'file-card' + (revealed ? '' : ' hidden-spoiler')} data-testid="file-card" data-src={attachmentPath(a)} data-name={name}>
      <FileIcon />
      <div className="file-info">
        <span className="file-name" title={name}>
          {name}
        </span>
        <span className="muted small">{formatBytes(Number(a.size ?? 0))}</span>
        {error && <span className="error-line small">{error}</span>}
      </div>
      <button type="button" className="icon-button" aria-label={`Download ${name}`} title="Download" disabled={busy} onClick={() => void download()}>
        <DownloadIcon />
      </button>
      {!revealed && (
        <button type="button" className="spoiler-cover" aria-label={`Spoiler: reveal ${name}`} onClick={() => setRevealed(true)}>
          <span className="spoiler-label">SPOILER</span>
        </button>
      )}
    </div>
  )
}

/** AttachmentViewer shows an image at full size in a dialog, with links to the original. */
export function AttachmentViewer({ a, onClose }: { a: Attachment; onClose: () => void }) {
  const q = useAttachmentBlob(attachmentPath(a), true, false)
  // Until the original arrives, the thumbnail (already cached) stands in.
  const thumb = useAttachmentBlob(attachmentPath(a, true), (a.thumbnail_width ?? 0) > 0)
  const url = useObjectUrl(q.data ?? thumb.data)
  const original = useObjectUrl(q.data)
  const name = a.name ?? 'image'
  // A portal: the message rows are positioned with transforms, which would pin a fixed
  // backdrop to the row instead of the window.
  return createPortal(
    <Modal title={name} onClose={onClose} wide>
      <div className="viewer" data-testid="attachment-viewer">
        <div className="viewer-image">
          {url ? (
            <img src={url} alt={name} width={a.width || undefined} height={a.height || undefined} />
          ) : (
            <p className="muted">{q.isError ? 'Could not load the image.' : 'Loading…'}</p>
          )}
        </div>
        <p className="viewer-meta muted small">
          {a.width && a.height ? `${a.width} × ${a.height} · ` : ''}
          {formatBytes(Number(a.size ?? 0))}
        </p>
        <div className="dialog-actions">
          {original ? (
            <>
              <a className="button secondary" href={original} target="_blank" rel="noopener noreferrer">
                Open original
              </a>
              <a className="button" href={original} download={name}>
                Download
              </a>
            </>
          ) : (
            <span className="muted small">Loading the original…</span>
          )}
        </div>
      </div>
    </Modal>,
    document.body,
  )
}

function FileIcon() {
  return (
    <svg className="file-icon" viewBox="0 0 24 30" width="28" height="36" aria-hidden="true" focusable="false">
      <path d="M3 1h12l6 6v21a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V2a1 1 0 0 1 1-1z" fill="currentColor" opacity="0.25" />
      <path d="M15 1v6h6" fill="none" stroke="currentColor" strokeWidth="1.5" />
      <path d="M6 14h12M6 18h12M6 22h8" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  )
}

function DownloadIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <path d="M12 3v12m0 0-5-5m5 5 5-5M4 19h16" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  )
}

/** AttachIcon is the composer's "+" (attach files). */
export function AttachIcon() {
  return (
    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
      <circle cx="12" cy="12" r="10" fill="currentColor" />
      <path d="M12 7v10M7 12h10" stroke="var(--bg-input)" strokeWidth="2.2" strokeLinecap="round" />
    </svg>
  )
}
