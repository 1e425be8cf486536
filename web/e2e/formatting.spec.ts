// The browser test of rich messages: formatted text renders (bold, a code
// block, a spoiler hidden until clicked), an XSS payload stays inert text,
// and a reply's preview jumps to an old message beyond the first page, which
// is highlighted; scrolling down, or "Jump to present", returns to the live end.
import { expect, test, type Page } from '@playwright/test'
import { Shots, allMessageContents, cspViolations, expectAccessible, isPhone, signUp, watchPage, type TestUser } from './helpers'

const run = Date.now().toString(36)
const alice: TestUser = { login: `fmt_a_${run}`, name: 'Fmt Alice', password: 'correct horse battery staple' }

/** rest calls the API with the page's session, retrying refusals for sending too fast. */
async function rest<T>(page: Page, method: string, path: string, body?: unknown): Promise<T> {
  return page.evaluate(
    async ([method, path, body]) => {
      const t = JSON.parse(localStorage.getItem('accord.session')!).tokens.access_token
      const h = { Authorization: 'Bearer ' + t, 'Content-Type': 'application/json' }
      for (;;) {
        const r = await fetch(path as string, { method: method as string, headers: h, body: body === undefined ? undefined : JSON.stringify(body) })
        const out = await r.json().catch(() => ({}))
        if (r.ok) return out
        if (r.status !== 429) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(out)}`)
        const info = (out.details ?? []).find((d: { metadata?: { retry_after_ms?: string } }) => d.metadata?.retry_after_ms)
        await new Promise((res) => setTimeout(res, Number(info?.metadata.retry_after_ms ?? 1000) + 50))
      }
    },
    [method, path, body] as const,
  ) as Promise<T>
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByTestId('composer')
  await box.click()
  await box.fill(text)
  await box.press('Enter')
}

function message(page: Page, id: string) {
  return page.locator(`[data-testid=message][data-message-id="${id}"]`)
}

test('formatting renders, XSS stays inert, a reply jumps to an old message', async ({ browser }, info) => {
  const shots = new Shots(info)
  const errors: string[] = []
  const dialogs: string[] = []
  const ctx = await browser.newContext()
  const a = await ctx.newPage()
  await watchPage('alice', a, errors)
  a.on('dialog', (d) => dialogs.push(d.message()))

  await signUp(a, alice)

  // A server whose #general has a long history: 150 old messages (three pages), then a reply to the first.
  const { server } = await rest<{ server: { id: string } }>(a, 'POST', '/v1/servers', { name: 'Format Guild' })
  const { channels } = await rest<{ channels: { id: string; name: string }[] }>(a, 'GET', `/v1/servers/${server.id}/channels`)
  const general = channels[0].id
  const ids: string[] = []
  for (let i = 1; i <= 150; i++) {
    const r = await rest<{ message: { id: string } }>(a, 'POST', `/v1/channels/${general}/messages`, { content: `old ${i}`, request_id: `old-${run}-${i}` })
    ids.push(r.message.id)
  }
  await rest(a, 'POST', `/v1/channels/${general}/messages`, { content: 'replying to the **very first**', reply_to_id: ids[0], request_id: `reply-${run}` })
  // A fresh load: the history seeded above reached the open app live; now only the newest page is loaded.
  await a.goto(`/#/s/${server.id}/${general}`)
  await a.reload()
  await expect(a.getByTestId('reply-preview')).toBeVisible()

  await test.step('formatted text renders: bold, a code block with its language, a spoiler hidden until clicked', async () => {
    await send(a, '**bold words** and __underlined__ and ||the butler did it||\n```js\nconst answer = 42\n```')
    const content = a.getByTestId('message-content').filter({ hasText: 'bold words' })
    await expect(content.locator('strong')).toHaveText('bold words')
    await expect(content.locator('u')).toHaveText('underlined')
    await expect(content.locator('pre code.language-js')).toHaveText('const answer = 42')
    const spoiler = content.getByTestId('spoiler')
    await expect(spoiler).toHaveText('the butler did it')
    await expect(spoiler).not.toHaveClass(/revealed/)
    // Hidden: the text is drawn transparent until revealed.
    expect(await spoiler.locator('span').evaluate((el) => getComputedStyle(el).color)).toBe('rgba(0, 0, 0, 0)')
    await shots.take('spoiler-hidden', ['alice', a])
    // Revealed from the keyboard (a click is the unit test's; the hover toolbar may cover the first line here).
    await spoiler.focus()
    await spoiler.press('Enter')
    await expect(content.getByTestId('spoiler')).toHaveClass(/revealed/)
    expect(await content.getByTestId('spoiler').evaluate((el) => getComputedStyle(el).color)).not.toBe('rgba(0, 0, 0, 0)')
    await shots.take('spoiler-revealed', ['alice', a])
  })

  await test.step('an XSS payload stays inert and shows as typed', async () => {
    const payload = '<img src=x onerror="window.__xss=1;alert(1)"> <script>window.__xss=2</script> [click](javascript:window.__xss=3) <svg onload="window.__xss=4">'
    await send(a, payload)
    const content = a.getByTestId('message-content').filter({ hasText: 'onerror' })
    await expect(content).toHaveText(payload)
    await expect(content.locator('img, script, svg, iframe, a')).toHaveCount(0)
    await content.getByText('[click](javascript:window.__xss=3)', { exact: false }).click()
    expect(await a.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined()
    expect(dialogs).toEqual([])
    await shots.take('xss-inert', ['alice', a])
  })

  await test.step('clicking the reply preview jumps to the first message, beyond the first page, and highlights it', async () => {
    await expect(message(a, ids[0])).toHaveCount(0) // not in the newest page
    // Not loaded yet: the history around it is asked for.
    const around = a.waitForRequest((r) => r.url().includes(`around=${ids[0]}`))
    await a.getByTestId('reply-preview').click()
    await around
    const first = message(a, ids[0])
    await expect(first).toBeVisible()
    await expect(first).toHaveClass(/highlighted/)
    await expect(first.getByTestId('message-content')).toHaveText('old 1')
    await expect(a.getByTestId('jump-bar')).toBeVisible()
    await shots.take('jumped', ['alice', a])
    await expectAccessible(a, 'jumped to a message')
    // The highlight fades.
    await expect(first).not.toHaveClass(/highlighted/, { timeout: 10_000 })
  })

  await test.step('"Jump to present" returns to the live end', async () => {
    await a.getByTestId('jump-to-present').click()
    await expect(a.getByTestId('jump-bar')).toHaveCount(0)
    await expect(a.getByTestId('message-content').filter({ hasText: 'onerror' })).toBeVisible()
    await expect(message(a, ids[0])).toHaveCount(0)
  })

  await test.step('scrolling down from a jumped-to message pages forward to the live end', async () => {
    await a.getByTestId('reply-preview').click()
    await expect(message(a, ids[0])).toBeVisible()
    await expect(a.getByTestId('jump-bar')).toBeVisible()
    await expect
      .poll(
        async () => {
          await a.getByTestId('message-list').evaluate((el) => el.scrollTo({ top: el.scrollHeight }))
          return a.getByTestId('jump-bar').count()
        },
        { message: 'back at the live end' },
      )
      .toBe(0)
    // New messages show live again, and every message in between is there, in order, without a gap.
    await send(a, 'back in the present')
    await expect(a.getByTestId('message-content').filter({ hasText: 'back in the present' })).toBeVisible()
    const all = await allMessageContents(a)
    expect(all.slice(0, ids.length + 1)).toEqual([...ids.map((_, i) => `old ${i + 1}`), 'replying to the very first'])
    expect(all.at(-1)).toBe('back in the present')
    if (!isPhone(a)) await shots.take('present', ['alice', a])
  })

  expect(errors).toEqual([])
  expect(await cspViolations(a)).toEqual([])
  await ctx.close()
})
