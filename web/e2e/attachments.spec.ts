// Attachments between two users against the real all-in-one: alice pastes a
// screenshot and sends it without text, bob sees its thumbnail live (its box
// reserved at the image's aspect ratio) and opens it in the viewer; someone who
// is not a member gets 404 for the same URL; a file marked as a spoiler stays
// blurred until bob reveals it (with the keyboard); a text file dropped on the
// channel reaches bob as a file card he can download.
import { deflateSync } from 'node:zlib'
import { expect, test, type Page } from '@playwright/test'
import { cspViolations, expectAccessible, openNav, signUp, Shots, watchPage } from './helpers'

/** crc32 of a PNG chunk. */
function crc32(buf: Buffer): number {
  let c = ~0
  for (const b of buf) {
    c ^= b
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
  }
  return ~c >>> 0
}

/** png encodes a real w x h RGB image (a gradient tinted by hue), as a screenshot tool would. */
function png(w: number, h: number, hue: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(td))
    return Buffer.concat([len, td, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  const raw = Buffer.alloc((w * 3 + 1) * h)
  for (let y = 0; y < h; y++) {
    const row = y * (w * 3 + 1)
    for (let x = 0; x < w; x++) {
      raw[row + 1 + x * 3] = (x * 255) / w
      raw[row + 2 + x * 3] = (y * 255) / h
      raw[row + 3 + x * 3] = hue
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

/** closeDrawers closes the phone drawers, so the chat can be used. */
async function closeDrawers(page: Page): Promise<void> {
  const backdrop = page.getByTestId('drawer-backdrop')
  if (!(await backdrop.count())) return
  const w = page.viewportSize()!.width
  const navOpen = (await page.locator('.app.nav-open').count()) > 0
  await backdrop.click({ position: { x: navOpen ? w - 10 : 10, y: 400 } })
  await expect(backdrop).toHaveCount(0)
}

/** pasteImage fires the paste event a browser fires for a screenshot on the clipboard. */
async function pasteImage(page: Page, name: string, bytes: Buffer): Promise<void> {
  const box = page.getByTestId('composer')
  await box.click()
  await box.evaluate(
    (el, [name, b64]) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      const dt = new DataTransfer()
      dt.items.add(new File([data], name, { type: 'image/png' }))
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
    },
    [name, bytes.toString('base64')] as const,
  )
}

/** imageLoaded tells whether an <img> finished loading real pixels. */
async function imageLoaded(page: Page, selector: string): Promise<boolean> {
  const img = page.locator(selector).first()
  if (!(await img.count())) return false
  return img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0)
}

test('attachments: paste, send, see live, view, spoilers and access', async ({ browser, playwright }, info) => {
  const viewport = info.project.use.viewport ?? { width: 1280, height: 800 }
  const baseURL = info.project.use.baseURL
  const suffix = (Date.now().toString(36) + info.project.name[0]).slice(-6)
  const alice = { login: `fa_${suffix}`, name: 'Alice', password: 'correct horse 1' }
  const bob = { login: `fb_${suffix}`, name: 'Bob', password: 'battery staple 2' }
  const ctxA = await browser.newContext({ viewport, baseURL })
  const ctxB = await browser.newContext({ viewport, baseURL })
  const a = await ctxA.newPage()
  const b = await ctxB.newPage()
  const errors: string[] = []
  await watchPage('alice', a, errors)
  await watchPage('bob', b, errors)
  const shots = new Shots(info)
  const shot = png(320, 200, 40)

  await test.step('alice makes a server and bob joins it', async () => {
    await signUp(a, alice)
    await signUp(b, bob)
    await openNav(a)
    await a.getByRole('button', { name: 'Create or join a server' }).click()
    await a.getByLabel('Server name').fill('File Club')
    await a.getByRole('button', { name: 'Create', exact: true }).click()
    await openNav(a)
    await a.getByRole('button', { name: 'Server settings' }).click()
    await a.getByRole('tab', { name: 'Invites' }).click()
    await a.getByRole('button', { name: 'Create invite' }).click()
    const code = ((await a.getByTestId('invite-code').first().textContent()) ?? '').trim()
    await a.getByRole('button', { name: 'Close' }).click()
    await closeDrawers(a)
    await openNav(b)
    await b.getByRole('button', { name: 'Create or join a server' }).click()
    await b.getByLabel('Invite code').fill(code)
    await b.getByRole('button', { name: 'Join server' }).click()
    await openNav(b)
    await expect(b.getByRole('heading', { name: 'File Club' })).toBeVisible()
    await closeDrawers(b)
  })

  await test.step('alice pastes a screenshot: a chip shows it uploading, then ready', async () => {
    await pasteImage(a, 'screenshot.png', shot)
    const chip = a.getByTestId('upload-chip')
    await expect(chip).toHaveCount(1)
    await expect(chip).toHaveAttribute('data-name', 'screenshot.png')
    await expect(chip).toHaveAttribute('data-state', 'done')
    await expect(chip).toContainText(/KB|B/)
    await expect(chip.getByRole('button', { name: 'Remove screenshot.png' })).toBeVisible()
    await expect.poll(() => imageLoaded(a, '[data-testid=upload-chip] img'), { message: 'chip preview' }).toBe(true)
    await shots.take('pasted', ['alice', a])
    await expectAccessible(a, 'composer with a file')
  })

  let src = ''
  await test.step('alice sends it without text: bob sees the thumbnail live at its aspect ratio', async () => {
    await a.getByTestId('composer').press('Enter')
    await expect(a.getByTestId('upload-chip')).toHaveCount(0)
    const figB = b.locator('[data-testid=attachment-image][data-name="screenshot.png"]')
    await expect(figB).toHaveCount(1)
    await expect.poll(() => imageLoaded(b, '[data-testid=attachment-image][data-name="screenshot.png"] img'), { message: 'thumbnail on bob' }).toBe(true)
    const box = (await figB.boundingBox())!
    expect(Math.abs(box.width / box.height - 320 / 200)).toBeLessThan(0.05)
    src = (await figB.getAttribute('data-src')) ?? ''
    expect(src).toMatch(/^\/v1\/channels\/[0-9a-f]+\/attachments\/[0-9a-f]+$/)
    // The thumbnail came as a blob with the token: no URL of the API sits in the page.
    await expect(figB.locator('img')).toHaveAttribute('src', /^blob:/)
    // Alice sees her own message with it too, and the live region says what arrived.
    await expect(a.locator('[data-testid=attachment-image][data-name="screenshot.png"]')).toHaveCount(1)
    await expect(b.getByTestId('live-region')).toHaveText('Alice: sent a file')
    await shots.take('received', ['alice', a], ['bob', b])
    await expectAccessible(b, 'message with an image')
  })

  await test.step('bob opens the viewer: the original, links to it, Escape closes and focus returns', async () => {
    const open = b.getByRole('button', { name: 'Open image screenshot.png' })
    await open.click()
    const viewer = b.getByRole('dialog', { name: 'screenshot.png' })
    await expect(viewer).toBeVisible()
    await expect.poll(() => imageLoaded(b, '[data-testid=attachment-viewer] img'), { message: 'viewer image' }).toBe(true)
    await expect(viewer.getByRole('link', { name: 'Open original' })).toHaveAttribute('href', /^blob:/)
    await expect(viewer.getByRole('link', { name: 'Download' })).toHaveAttribute('download', 'screenshot.png')
    await expect(viewer).toContainText('320 × 200')
    await shots.take('viewer', ['bob', b])
    await expectAccessible(b, 'image viewer')
    await b.keyboard.press('Escape')
    await expect(viewer).toHaveCount(0)
    await expect(open).toBeFocused()
  })

  await test.step('the file is bob\'s to download and nobody else\'s: 404 for a non-member', async () => {
    const member = await b.evaluate(async (src) => {
      const s = JSON.parse(localStorage.getItem('accord.session') ?? '{}')
      const r = await fetch(src, { headers: { Authorization: 'Bearer ' + s.tokens.access_token } })
      const head = new DataView(await r.arrayBuffer())
      // The server serves images re-encoded (metadata stripped): the same picture, other bytes.
      return { status: r.status, type: r.headers.get('content-type'), width: head.getUint32(16), height: head.getUint32(20) }
    }, src)
    expect(member).toEqual({ status: 200, type: 'image/png', width: 320, height: 200 })
    const api = await playwright.request.newContext({ baseURL })
    const reg = await api.post('/v1/auth:register', { data: { login: `fc_${suffix}`, password: 'outsider pass 3', display_name: 'Carol', client: 'web' } })
    expect(reg.ok()).toBe(true)
    const token = (await reg.json()).tokens.access_token as string
    for (const path of [src, src + '/thumbnail']) {
      const r = await api.get(path, { headers: { Authorization: 'Bearer ' + token } })
      expect(r.status(), path).toBe(404)
      expect(await r.text()).not.toContain('screenshot')
    }
    // Without a token at all it is refused too.
    expect((await api.get(src)).status()).toBe(401)
    await api.dispose()
  })

  await test.step('a file marked as a spoiler stays blurred for bob until he reveals it', async () => {
    await a.getByTestId('file-input').setInputFiles({ name: 'twist.png', mimeType: 'image/png', buffer: png(200, 300, 200) })
    const chip = a.getByTestId('upload-chip')
    await expect(chip).toHaveAttribute('data-state', 'done')
    await chip.getByLabel('Mark as spoiler').check()
    await expect(chip).toHaveAttribute('data-state', 'done')
    await a.getByTestId('composer').fill('no peeking')
    await shots.take('spoiler-chip', ['alice', a])
    await a.getByTestId('composer').press('Enter')
    const fig = b.locator('[data-testid=attachment-image][data-name="SPOILER_twist.png"]')
    await expect(fig).toHaveAttribute('data-spoiler', 'hidden')
    await expect.poll(() => imageLoaded(b, '[data-testid=attachment-image][data-name="SPOILER_twist.png"] img'), { message: 'spoiler thumbnail' }).toBe(true)
    await expect(fig.locator('img')).toHaveCSS('filter', /blur/)
    await expect(fig.getByText('SPOILER')).toBeVisible()
    await expect(fig.getByRole('button', { name: /^Open image/ })).toHaveCount(0)
    await shots.take('spoiler-hidden', ['bob', b])
    await expectAccessible(b, 'spoiler')
    const cover = fig.getByRole('button', { name: 'Spoiler: reveal SPOILER_twist.png' })
    await cover.focus()
    await b.keyboard.press('Enter')
    await expect(fig).toHaveAttribute('data-spoiler', 'revealed')
    await expect(fig.locator('img')).toHaveCSS('filter', 'none')
    await expect(fig.getByRole('button', { name: 'Open image SPOILER_twist.png' })).toBeVisible()
    await shots.take('spoiler-revealed', ['bob', b])
  })

  await test.step('alice drops a text file on the channel: bob gets a file card and downloads it', async () => {
    const list = a.getByTestId('message-list')
    await list.evaluate((el) => {
      const dt = new DataTransfer()
      dt.items.add(new File(['first line\nsecond line\n'], 'notes.txt', { type: 'text/plain' }))
      el.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }))
      ;(window as unknown as { __drop: DataTransfer }).__drop = dt
    })
    await expect(a.getByTestId('drop-zone')).toContainText('Drop files to send them to #general')
    await shots.take('dragging', ['alice', a])
    await list.evaluate((el) => {
      const dt = (window as unknown as { __drop: DataTransfer }).__drop
      el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    })
    await expect(a.getByTestId('drop-zone')).toHaveCount(0)
    await expect(a.getByTestId('upload-chip')).toHaveAttribute('data-state', 'done')
    await a.getByTestId('composer').press('Enter')
    const card = b.locator('[data-testid=file-card][data-name="notes.txt"]')
    await expect(card).toContainText('23 B')
    await shots.take('file-card', ['bob', b])
    const [download] = await Promise.all([b.waitForEvent('download'), card.getByRole('button', { name: 'Download notes.txt' }).click()])
    expect(download.suggestedFilename()).toBe('notes.txt')
  })

  expect(errors).toEqual([])
  expect(await cspViolations(a)).toEqual([])
  expect(await cspViolations(b)).toEqual([])
  await ctxA.close()
  await ctxB.close()
})
