// @vitest-environment jsdom
// Issue 19 (web): a message's files: images in a reserved box, spoilers, file cards, blobs revoked.
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Attachment } from '../api/types'
import { renderWithStore } from '../test/harness'
import { boxSize, MessageAttachments } from './Attachments'

const created: string[] = []
const revoked: string[] = []
beforeEach(() => {
  created.length = 0
  revoked.length = 0
  URL.createObjectURL = vi.fn(() => {
    const u = `blob:test/${created.length + 1}`
    created.push(u)
    return u
  })
  URL.revokeObjectURL = vi.fn((u: string) => void revoked.push(u))
})
afterEach(cleanup)

const image: Attachment = {
  id: 'a1',
  channel_id: 'c1',
  name: 'cat.png',
  content_type: 'image/png',
  size: '2048',
  width: 1600,
  height: 1000,
  thumbnail_width: 800,
  thumbnail_height: 500,
}

describe('boxSize', () => {
  it('keeps the aspect ratio within 400 x 300 and never enlarges', () => {
    expect(boxSize(image)).toEqual({ width: 400, height: 250 })
    expect(boxSize({ thumbnail_width: 300, thumbnail_height: 900 })).toEqual({ width: 100, height: 300 })
    expect(boxSize({ thumbnail_width: 40, thumbnail_height: 20 })).toEqual({ width: 40, height: 20 })
    // No thumbnail: the image's own size.
    expect(boxSize({ width: 200, height: 100 })).toEqual({ width: 200, height: 100 })
  })
})

describe('MessageAttachments', () => {
  it('reserves the image box, fetches the thumbnail, and revokes its URL on unmount', async () => {
    const h = renderWithStore(<MessageAttachments attachments={[image]} />)
    const fig = screen.getByTestId('attachment-image')
    expect(fig.style.width).toBe('400px')
    expect(fig.style.aspectRatio).toBe('400 / 250')
    await waitFor(() => expect(screen.getByRole('img', { name: 'cat.png' }).getAttribute('src')).toBe('blob:test/1'))
    expect(h.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/channels/c1/attachments/a1/thumbnail'])
    expect(fig.dataset.src).toBe('/v1/channels/c1/attachments/a1')
    h.unmount()
    expect(revoked).toEqual(['blob:test/1'])
  })

  it('keeps a spoiler covered until it is revealed', async () => {
    renderWithStore(<MessageAttachments attachments={[{ ...image, name: 'SPOILER_cat.png', spoiler: true }]} />)
    const fig = screen.getByTestId('attachment-image')
    expect(fig.dataset.spoiler).toBe('hidden')
    expect(screen.queryByRole('button', { name: /Open image/ })).toBeNull()
    fireEvent.click(screen.getByRole('button', { name: 'Spoiler: reveal SPOILER_cat.png' }))
    expect(fig.dataset.spoiler).toBe('revealed')
    expect(screen.getByRole('button', { name: 'Open image SPOILER_cat.png' })).toBeTruthy()
  })

  it('opens the viewer with the original, and closes it with Escape', async () => {
    const h = renderWithStore(<MessageAttachments attachments={[image]} />)
    fireEvent.click(screen.getByRole('button', { name: 'Open image cat.png' }))
    const dialog = await screen.findByRole('dialog', { name: 'cat.png' })
    await waitFor(() => expect(screen.getByRole('link', { name: 'Download' }).getAttribute('download')).toBe('cat.png'))
    expect(h.requests.map((r) => r.path)).toContain('/v1/channels/c1/attachments/a1')
    expect(dialog.textContent).toContain('1600 × 1000')
    fireEvent.keyDown(dialog, { key: 'Escape' })
    expect(screen.queryByRole('dialog')).toBeNull()
  })

  it('shows other files as cards with name, size and a download button', () => {
    renderWithStore(<MessageAttachments attachments={[{ id: 'a2', channel_id: 'c1', name: 'notes.txt', content_type: 'text/plain; charset=utf-8', size: '1536' }]} />)
    const card = screen.getByTestId('file-card')
    expect(card.textContent).toContain('notes.txt')
    expect(card.textContent).toContain('1.5 KB')
    expect(screen.getByRole('button', { name: 'Download notes.txt' })).toBeTruthy()
    expect(screen.queryByTestId('attachment-image')).toBeNull()
  })
})
