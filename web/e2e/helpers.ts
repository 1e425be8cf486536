// Helpers of the browser test: users, screenshots, waiting for the app, layout checks.
import AxeBuilder from '@axe-core/playwright'
import { expect, type Page, type TestInfo } from '@playwright/test'

export interface TestUser {
  login: string
  name: string
  password: string
}

/** isPhone tells whether the page is phone-sized (servers and channels in a drawer). */
export function isPhone(page: Page): boolean {
  return (page.viewportSize()?.width ?? 1280) <= 600
}

/** Shots numbers and names screenshots of every step. */
export class Shots {
  private n = 0
  private readonly info: TestInfo
  constructor(info: TestInfo) {
    this.info = info
  }
  async take(name: string, ...pages: [string, Page][]): Promise<void> {
    this.n++
    for (const [who, p] of pages) {
      if (p.isClosed()) continue
      const file = this.info.outputPath(`${String(this.n).padStart(2, '0')}-${name}-${who}.png`)
      await p.screenshot({ path: file })
    }
  }
}

/** watchPage records page errors, refused socket frames and CSP violations of a page. */
export async function watchPage(who: string, p: Page, errors: string[]): Promise<void> {
  p.on('pageerror', (e) => errors.push(`${who}: ${e.message}`))
  p.on('dialog', (d) => void d.accept())
  p.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|execute|apply|connect)/i.test(m.text())) errors.push(`${who}: CSP violation: ${m.text()}`)
  })
  // The app never sends a frame the gateway refuses, and a socket closes only when the test means it to.
  p.on('websocket', (ws) => {
    ws.on('framereceived', (f) => {
      const text = String(f.payload)
      if (text.includes('"type":"error"')) errors.push(`${who}: error frame ${text.slice(0, 200)}`)
    })
  })
  await p.addInitScript(() => {
    const w = window as unknown as { __csp: string[] }
    w.__csp = []
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`))
  })
}

/** cspViolations lists the securitypolicyviolation events a page saw. */
export async function cspViolations(p: Page): Promise<string[]> {
  if (p.isClosed()) return []
  return p.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])
}

export async function signUp(page: Page, u: TestUser): Promise<void> {
  await page.goto('/')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByLabel('Login', { exact: true }).fill(u.login)
  await page.getByLabel('Display name (optional)').fill(u.name)
  await page.getByLabel('Password', { exact: true }).fill(u.password)
  await page.locator('button[type=submit]').click()
  await expect(page.getByTestId('me-name')).toBeAttached()
}

/** openNav opens the server and channel drawer on a phone; elsewhere they are always shown. */
export async function openNav(page: Page): Promise<void> {
  if (!isPhone(page)) return
  if (await page.locator('.app.nav-open').count()) return
  await page.getByTestId('nav-toggle').click()
  await expect(page.locator('.app.nav-open .sidebar')).toBeVisible()
}

/** showMembers makes the member list visible (hidden by default below 1000px). */
export async function showMembers(page: Page): Promise<void> {
  if (await page.locator('.members').count()) return
  await page.getByRole('button', { name: 'Show member list' }).click()
  await expect(page.locator('.members')).toBeVisible()
}

export async function hideMembers(page: Page): Promise<void> {
  if (!(await page.locator('.members').count())) return
  await page.getByRole('button', { name: 'Show member list' }).click({ force: isPhone(page) })
  await expect(page.locator('.members')).toHaveCount(0)
}

/** messageContents lists the message texts in the open chat, in order. */
export async function messageContents(page: Page): Promise<string[]> {
  return page
    .getByTestId('message-content')
    .evaluateAll((els) => els.map((e) => ((e.firstChild ? e.firstChild.textContent : e.textContent) ?? '').trim()))
}

export async function sendMessage(page: Page, text: string): Promise<void> {
  const box = page.getByTestId('composer')
  await box.click()
  await box.fill(text)
  await box.press('Enter')
}

export async function waitForMessage(page: Page, text: string): Promise<void> {
  await expect.poll(() => messageContents(page), { message: `message "${text}"` }).toContain(text)
}

export async function presenceOfMember(page: Page, login: string): Promise<string | null> {
  const dot = page.locator(`[data-testid=member][data-login="${login}"] .presence-dot`)
  if ((await dot.count()) === 0) return null
  return dot.getAttribute('data-status')
}

/** overlaps tells whether two elements' boxes intersect (both must be visible). */
export async function overlaps(page: Page, a: string, b: string): Promise<boolean> {
  const [ra, rb] = await Promise.all([page.locator(a).first().boundingBox(), page.locator(b).first().boundingBox()])
  if (!ra || !rb) throw new Error(`no box for ${!ra ? a : b}`)
  return ra.x < rb.x + rb.width && rb.x < ra.x + ra.width && ra.y < rb.y + rb.height && rb.y < ra.y + ra.height
}

/** noHorizontalOverflow: nothing on the page is wider than the window. */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
}

/** allMessageContents scrolls the (virtualized) message list from top to bottom and lists every message text, oldest first. */
export async function allMessageContents(page: Page): Promise<string[]> {
  return page.getByTestId('message-list').evaluate(async (list) => {
    const seen = new Map<string, string>()
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
    const collect = () => {
      for (const el of list.querySelectorAll<HTMLElement>('[data-testid=message]')) {
        const c = el.querySelector('[data-testid=message-content]')
        const text = ((c?.firstChild ? c.firstChild.textContent : c?.textContent) ?? '').trim()
        seen.set(el.dataset.messageId ?? '', text)
      }
    }
    list.scrollTop = 0
    await frame()
    for (;;) {
      collect()
      if (list.scrollTop + list.clientHeight >= list.scrollHeight - 1) break
      list.scrollTop += Math.max(50, list.clientHeight / 2)
      await frame()
    }
    return [...seen.entries()].sort(([a], [b]) => (a.length - b.length) || (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t)
  })
}

/** FrameStats summarises the frame times of a scroll. */
export interface FrameStats {
  frames: number
  median: number
  p95: number
  max: number
  /** Share of frames slower than 25 ms (a dropped frame at 60 fps). */
  slow: number
  rows: number
}

/** measureScroll scrolls the message list up step by step, once per animation frame, and times the frames. */
export async function measureScroll(page: Page, frames = 240, step = 150): Promise<FrameStats> {
  const { deltas, rows } = await page.getByTestId('message-list').evaluate(
    (list, [frames, step]) =>
      new Promise<{ deltas: number[]; rows: number }>((resolve) => {
        const deltas: number[] = []
        let rows = 0
        list.scrollTop = list.scrollHeight
        let last = 0
        const tick = (t: number) => {
          if (last) deltas.push(t - last)
          last = t
          rows = Math.max(rows, list.querySelectorAll('[data-testid=message]').length)
          list.scrollTop -= step
          if (deltas.length < frames) requestAnimationFrame(tick)
          else resolve({ deltas, rows })
        }
        requestAnimationFrame(() => requestAnimationFrame(tick))
      }),
    [frames, step],
  )
  const sorted = [...deltas].sort((a, b) => a - b)
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
  const round = (n: number) => Math.round(n * 10) / 10
  return {
    frames: deltas.length,
    median: round(q(0.5)),
    p95: round(q(0.95)),
    max: round(sorted[sorted.length - 1]),
    slow: round(deltas.filter((d) => d > 25).length / deltas.length),
    rows,
  }
}

/** axeViolations runs axe-core (WCAG 2.1 A and AA rules) on the page and lists the serious and critical violations. */
export async function axeViolations(page: Page, screen: string): Promise<string[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')} [${(n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 160)}]`).join(' | ')}`)
}

/** expectAccessible fails the step when axe finds a serious or critical violation. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  expect.soft(await axeViolations(page, screen)).toEqual([])
}
