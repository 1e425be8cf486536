import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/client'
import type { Attachment } from '../api/types'
import { formatBytes, MAX_BYTES, MAX_FILES, UploadQueue, type Transport } from './uploads'

/** A call the fake transport received, settled by the test. */
interface Call {
  name: string
  size: number
  signal: AbortSignal
  progress: (loaded: number, total: number) => void
  resolve: (a: Attachment) => void
  reject: (e: unknown) => void
}

function fakeTransport(): { transport: Transport; calls: Call[] } {
  const calls: Call[] = []
  const transport: Transport = (file, name, onProgress, signal) =>
    new Promise<Attachment>((resolve, reject) => {
      calls.push({ name, size: file.size, signal, progress: onProgress, resolve, reject })
      signal.addEventListener('abort', () => reject(new DOMException('cancelled', 'AbortError')))
    })
  return { transport, calls }
}

function file(name: string, size = 10, type = 'image/png'): File {
  return new File([new Uint8Array(size)], name, { type })
}

/** settle lets the queue see settled transport promises. */
const settle = () => new Promise((r) => setTimeout(r, 0))

describe('UploadQueue', () => {
  it('reports upload progress per file and finishes with the attachment', async () => {
    const { transport, calls } = fakeTransport()
    const q = new UploadQueue(transport)
    let changes = 0
    q.subscribe(() => changes++)
    expect(q.add([file('cat.png', 200)])).toEqual([])
    expect(calls.map((c) => c.name)).toEqual(['cat.png'])
    expect(q.items[0]).toMatchObject({ name: 'cat.png', size: 200, loaded: 0, state: 'uploading' })
    calls[0].progress(50, 200)
    expect(q.items[0].loaded).toBe(50)
    calls[0].progress(150, 200)
    expect(q.items[0].loaded).toBe(150)
    expect(q.uploading).toBe(true)
    calls[0].resolve({ id: 'a1', name: 'cat.png' })
    await settle()
    expect(q.items[0]).toMatchObject({ state: 'done', loaded: 200, attachment: { id: 'a1' } })
    expect(q.uploading).toBe(false)
    expect(changes).toBeGreaterThanOrEqual(4)
    await expect(q.ready()).resolves.toEqual(['a1'])
  })

  it('cancel aborts the running request and drops the file', async () => {
    const { transport, calls } = fakeTransport()
    const q = new UploadQueue(transport)
    q.add([file('a.png'), file('b.png')])
    const key = q.items[0].key
    q.remove(key)
    expect(calls[0].signal.aborted).toBe(true)
    expect(calls[1].signal.aborted).toBe(false)
    expect(q.items.map((i) => i.name)).toEqual(['b.png'])
    // The aborted request's late answer changes nothing.
    calls[0].progress(5, 10)
    await settle()
    expect(q.items.map((i) => i.name)).toEqual(['b.png'])
    calls[1].resolve({ id: 'b1' })
    await expect(q.ready()).resolves.toEqual(['b1'])
  })

  it('takes at most 10 files per message and says how many were left out', () => {
    const { transport, calls } = fakeTransport()
    const q = new UploadQueue(transport)
    expect(q.add(Array.from({ length: 7 }, (_, i) => file(`f${i}.png`)))).toEqual([])
    const refused = q.add(Array.from({ length: 5 }, (_, i) => file(`g${i}.png`)))
    expect(q.items).toHaveLength(MAX_FILES)
    expect(calls).toHaveLength(MAX_FILES)
    expect(refused).toEqual(['You can attach at most 10 files to a message; 2 files were left out.'])
    expect(q.add([file('one-more.png')])).toEqual(['You can attach at most 10 files to a message; 1 file was left out.'])
    // Removing one makes room again.
    q.remove(q.items[0].key)
    expect(q.add([file('room.png')])).toEqual([])
    expect(q.items).toHaveLength(MAX_FILES)
  })

  it('refuses a file above 25 MiB before uploading it', () => {
    const { transport, calls } = fakeTransport()
    const q = new UploadQueue(transport)
    const big = { name: 'movie.mp4', size: MAX_BYTES + 1, type: 'video/mp4' } as unknown as File
    const exact = { name: 'exact.bin', size: MAX_BYTES, type: '' } as unknown as File
    const refused = q.add([big, exact])
    expect(refused).toEqual(['movie.mp4 is too large: files can be at most 25 MB.'])
    expect(calls.map((c) => c.name)).toEqual(['exact.bin'])
  })

  it('turns the gateway\'s 413 and network failures into clear errors, and retries', async () => {
    const { transport, calls } = fakeTransport()
    const q = new UploadQueue(transport)
    q.add([file('huge.png'), file('flaky.png')])
    calls[0].reject(new ApiError(413, 'RESOURCE_EXHAUSTED', 'request body exceeds 26214400 bytes'))
    calls[1].reject(new ApiError(0, 'UNAVAILABLE', 'cannot reach the server'))
    await settle()
    expect(q.items.map((i) => [i.state, i.error])).toEqual([
      ['failed', 'huge.png is too large: files can be at most 25 MB.'],
      ['failed', 'flaky.png could not be uploaded: the server cannot be reached.'],
    ])
    await expect(q.ready()).rejects.toThrow('huge.png is too large')
    q.remove(q.items[0].key)
    q.retry(q.items[0].key)
    expect(q.items[0]).toMatchObject({ state: 'uploading', error: undefined })
    const ready = q.ready()
    calls[2].resolve({ id: 'f2' })
    await expect(ready).resolves.toEqual(['f2'])
  })

  it('ready waits for every running upload, in the order the files were added', async () => {
    const { transport, calls } = fakeTransport()
    const q = new UploadQueue(transport)
    q.add([file('1.png'), file('2.png')])
    let done: string[] | null = null
    void q.ready().then((ids) => (done = ids))
    calls[1].resolve({ id: 'second' })
    await settle()
    expect(done).toBeNull()
    calls[0].resolve({ id: 'first' })
    await settle()
    expect(done).toEqual(['first', 'second'])
  })

  it('a spoiler is uploaded again under its SPOILER_ name', async () => {
    const { transport, calls } = fakeTransport()
    const q = new UploadQueue(transport)
    q.add([file('plot.png')])
    calls[0].resolve({ id: 'plain' })
    await settle()
    q.setSpoiler(q.items[0].key, true)
    expect(calls.map((c) => c.name)).toEqual(['plot.png', 'SPOILER_plot.png'])
    expect(q.items[0]).toMatchObject({ name: 'plot.png', spoiler: true, state: 'uploading' })
    // Toggling back while the spoiler upload runs aborts it.
    q.setSpoiler(q.items[0].key, false)
    expect(calls[1].signal.aborted).toBe(true)
    calls[2].resolve({ id: 'again' })
    await expect(q.ready()).resolves.toEqual(['again'])
    // Files added as spoilers start under the prefix.
    q.add([file('end.png')], true)
    expect(calls[3].name).toBe('SPOILER_end.png')
  })

  it('a pasted image without a name is called image.png; clear and dispose abort what runs', () => {
    const { transport, calls } = fakeTransport()
    const q = new UploadQueue(transport)
    q.add([new Blob([new Uint8Array(4)], { type: 'image/png' })])
    expect(calls[0].name).toBe('image.png')
    q.dispose()
    expect(calls[0].signal.aborted).toBe(true)
    expect(q.items).toEqual([])
  })
})

describe('formatBytes', () => {
  it('words sizes', () => {
    expect([0, 512, 1536, 25 * 1024 * 1024, 150 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '512 B', '1.5 KB', '25 MB', '150 MB', '3 GB'])
  })
})
