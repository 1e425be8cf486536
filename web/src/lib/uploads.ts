// The composer's upload queue: files picked, dropped or pasted start uploading
// at once (progress per file, cancel aborts the request); sending waits for them
// and carries their attachment ids. The transport is injected (XMLHttpRequest in
// the app, a fake in tests), so the queue's rules are tested without a server.
import { ApiError } from '../api/client'
import type { Attachment } from '../api/types'

/** MAX_FILES is how many files one message carries (the server's limit). */
export const MAX_FILES = 10
/** MAX_BYTES is the largest file the gateway accepts (25 MiB; above it answers 413). */
export const MAX_BYTES = 25 * 1024 * 1024
/** SPOILER_PREFIX marks a spoiler: the server flags files whose name starts with it. */
export const SPOILER_PREFIX = 'SPOILER_'

/** Transport uploads one file under a name, reporting progress, until the signal aborts it. */
export type Transport = (
  file: Blob,
  name: string,
  onProgress: (loaded: number, total: number) => void,
  signal: AbortSignal,
) => Promise<Attachment>

/** UploadItem is one file of the queue, as the chips show it. */
export interface UploadItem {
  key: string
  file: Blob
  /** The file's own name (without SPOILER_). */
  name: string
  size: number
  spoiler: boolean
  /** Bytes sent so far. */
  loaded: number
  state: 'uploading' | 'done' | 'failed'
  error?: string
  attachment?: Attachment
}

/** formatBytes is a size as people read it: 512 B, 1.5 KB, 25 MB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return ''
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 100 ? Math.round(v) : Math.round(v * 10) / 10} ${units[i]}`
}

/** tooLargeText is the message for a file above the limit. */
export function tooLargeText(name: string): string {
  return `${name} is too large: files can be at most ${formatBytes(MAX_BYTES)}.`
}

/** uploadErrorText words a failed upload for people. */
export function uploadErrorText(name: string, e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 413) return tooLargeText(name)
    if (e.status === 0) return `${name} could not be uploaded: the server cannot be reached.`
    if (e.code === 'RESOURCE_EXHAUSTED') return `${name} could not be uploaded: too many uploads, try again shortly.`
    if (e.status === 404 || e.code === 'PERMISSION_DENIED') return `${name} could not be uploaded: you cannot post files here.`
    return `${name} could not be uploaded: ${e.message}`
  }
  return `${name} could not be uploaded.`
}

/** fileName names a blob: a File's name, or a pasted image's "image.png". */
export function fileName(f: Blob): string {
  const n = (f as File).name
  if (n) return n
  const ext = f.type.startsWith('image/') ? f.type.slice('image/'.length).replace('jpeg', 'jpg') : 'bin'
  return `image.${ext}`
}

/** UploadQueue holds the files of one message being written. */
export class UploadQueue {
  private list: UploadItem[] = []
  private readonly transport: Transport
  private readonly aborts = new Map<string, AbortController>()
  private readonly listeners = new Set<() => void>()
  private seq = 0

  constructor(transport: Transport) {
    this.transport = transport
  }

  /** items is the current list (a new array after every change, for useSyncExternalStore). */
  get items(): readonly UploadItem[] {
    return this.list
  }

  /** subscribe calls fn after each change. */
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** uploading tells whether any file is still on its way. */
  get uploading(): boolean {
    return this.list.some((i) => i.state === 'uploading')
  }

  /**
   * add queues files and starts their uploads. Files beyond MAX_FILES and files above
   * MAX_BYTES are not queued; the returned lines say why, for the composer to show.
   */
  add(files: Iterable<Blob>, spoiler = false): string[] {
    const refused: string[] = []
    let over = 0
    const added: UploadItem[] = []
    for (const f of files) {
      const name = fileName(f)
      if (f.size > MAX_BYTES) {
        refused.push(tooLargeText(name))
        continue
      }
      if (this.list.length + added.length >= MAX_FILES) {
        over++
        continue
      }
      added.push({ key: `u${++this.seq}`, file: f, name, size: f.size, spoiler, loaded: 0, state: 'uploading' })
    }
    if (over > 0) refused.push(`You can attach at most ${MAX_FILES} files to a message; ${over} ${over === 1 ? 'file was' : 'files were'} left out.`)
    if (added.length > 0) {
      this.list = [...this.list, ...added]
      this.emit()
      for (const item of added) this.start(item.key)
    }
    return refused
  }

  /** remove cancels a file's upload (if running) and takes it off the list. */
  remove(key: string): void {
    this.aborts.get(key)?.abort()
    this.aborts.delete(key)
    const next = this.list.filter((i) => i.key !== key)
    if (next.length === this.list.length) return
    this.list = next
    this.emit()
  }

  /**
   * setSpoiler marks a file as a spoiler or not. The server reads the mark from the
   * name it was uploaded under, so the file is uploaded again under its new name (the
   * first upload, never sent, is cleaned up by the server).
   */
  setSpoiler(key: string, spoiler: boolean): void {
    const item = this.list.find((i) => i.key === key)
    if (!item || item.spoiler === spoiler) return
    this.update(key, { spoiler })
    this.start(key)
  }

  /** retry uploads a failed file again. */
  retry(key: string): void {
    const item = this.list.find((i) => i.key === key)
    if (item?.state === 'failed') this.start(key)
  }

  /** clear forgets every file (after the message carrying them was sent). */
  clear(): void {
    for (const a of this.aborts.values()) a.abort()
    this.aborts.clear()
    if (this.list.length === 0) return
    this.list = []
    this.emit()
  }

  /** dispose cancels every upload still running (the composer went away). */
  dispose(): void {
    this.clear()
    this.listeners.clear()
  }

  /**
   * ready resolves, once no file is uploading any more, with the attachment ids in the
   * order the files were added; it rejects when a file failed (remove or retry it first).
   */
  ready(): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.uploading) return false
        const failed = this.list.find((i) => i.state === 'failed')
        if (failed) reject(new Error(failed.error ?? `${failed.name} could not be uploaded.`))
        else resolve(this.list.map((i) => i.attachment!.id!))
        return true
      }
      if (check()) return
      const off = this.subscribe(() => {
        if (check()) off()
      })
    })
  }

  private start(key: string): void {
    this.aborts.get(key)?.abort()
    const item = this.list.find((i) => i.key === key)
    if (!item) return
    const ctl = new AbortController()
    this.aborts.set(key, ctl)
    this.update(key, { state: 'uploading', loaded: 0, error: undefined, attachment: undefined })
    const name = (item.spoiler ? SPOILER_PREFIX : '') + item.name
    const live = () => this.aborts.get(key) === ctl && !ctl.signal.aborted
    this.transport(
      item.file,
      name,
      (loaded) => {
        if (live()) this.update(key, { loaded: Math.min(loaded, item.size) })
      },
      ctl.signal,
    ).then(
      (attachment) => {
        if (!live()) return
        this.aborts.delete(key)
        this.update(key, { state: 'done', loaded: item.size, attachment })
      },
      (e: unknown) => {
        if (!live()) return
        this.aborts.delete(key)
        this.update(key, { state: 'failed', error: uploadErrorText(item.name, e) })
      },
    )
  }

  private update(key: string, patch: Partial<UploadItem>): void {
    let changed = false
    this.list = this.list.map((i) => {
      if (i.key !== key) return i
      changed = true
      return { ...i, ...patch }
    })
    if (changed) this.emit()
  }

  private emit(): void {
    for (const fn of [...this.listeners]) fn()
  }
}
