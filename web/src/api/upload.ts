// Uploads over XMLHttpRequest: fetch cannot report upload progress. The file is
// the request body, its name in ?name=; the answer is the stored attachment.
import { ApiError, decodeError, type ApiClient } from './client'
import type { Attachment } from './types'
import type { Transport } from '../lib/uploads'

/** attachmentPath is where an attachment's bytes (or its thumbnail) are read. */
export function attachmentPath(a: Pick<Attachment, 'id' | 'channel_id'>, thumbnail = false): string {
  return `/v1/channels/${encodeURIComponent(a.channel_id ?? '')}/attachments/${encodeURIComponent(a.id)}${thumbnail ? '/thumbnail' : ''}`
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null
  } catch {
    return null
  }
}

function once(http: ApiClient, channelId: string, file: Blob, name: string, onProgress: (loaded: number, total: number) => void, signal: AbortSignal, force: boolean): Promise<{ status: number; body: unknown }> {
  return http.accessToken(force).then(
    (token) =>
      new Promise((resolve, reject) => {
        if (signal.aborted) {
          reject(new DOMException('upload cancelled', 'AbortError'))
          return
        }
        const xhr = new XMLHttpRequest()
        xhr.open('POST', `/v1/channels/${encodeURIComponent(channelId)}/attachments?name=${encodeURIComponent(name)}`)
        xhr.setRequestHeader('Authorization', 'Bearer ' + token)
        xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream')
        xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size)
        xhr.onload = () => resolve({ status: xhr.status, body: parse(xhr.responseText) })
        // The gateway refuses an oversized body before reading it and closes the
        // connection: the browser may then see a network error instead of the 413.
        xhr.onerror = () => reject(new ApiError(0, 'UNAVAILABLE', 'cannot reach the server'))
        xhr.onabort = () => reject(new DOMException('upload cancelled', 'AbortError'))
        signal.addEventListener('abort', () => xhr.abort(), { once: true })
        xhr.send(file)
      }),
  )
}

/** xhrTransport uploads to a channel with the session's token (refreshed once on a 401). */
export function xhrTransport(http: ApiClient, channelId: string): Transport {
  return async (file, name, onProgress, signal) => {
    let r = await once(http, channelId, file, name, onProgress, signal, false)
    if (r.status === 401) r = await once(http, channelId, file, name, onProgress, signal, true)
    if (r.status >= 200 && r.status < 300) {
      const a = (r.body as { attachment?: Attachment } | null)?.attachment
      if (a?.id) return a
      throw new ApiError(r.status, 'UNKNOWN', 'the server answered without the attachment')
    }
    throw decodeError(r.status, r.body)
  }
}
