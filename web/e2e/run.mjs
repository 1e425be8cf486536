/* global window, document */
// Browser test of the web app against a running all-in-one (ACCORD_URL).
// Two users in two browser contexts sign up, befriend, chat privately, create
// a server, invite, join, chat in a channel, see presence and typing, refresh
// mid-conversation and miss nothing. Screenshots go to test-results/.
//
// Uses playwright-core with Debian's chromium (never a downloaded browser).
import { chromium } from 'playwright-core'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BASE = process.env.ACCORD_URL ?? 'http://127.0.0.1:8080'
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const TIMEOUT = 15_000
mkdirSync(OUT, { recursive: true })

const suffix = Date.now().toString(36).slice(-5)
const alice = { login: `alice_${suffix}`, name: 'Alice', password: 'correct horse 1' }
const bob = { login: `bob_${suffix}`, name: 'Bob', password: 'battery staple 2' }

let steps = 0
let current = ''
function step(name) {
  current = name
  steps++
  console.log(`  - ${name}`)
}

async function expectEventually(fn, what, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout
  let last
  for (;;) {
    try {
      if (await fn()) return
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(OUT, `${name}.png`) })
}

async function signUp(page, u) {
  await page.goto(BASE + '/')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByLabel('Login', { exact: true }).fill(u.login)
  await page.getByLabel('Display name (optional)').fill(u.name)
  await page.getByLabel('Password', { exact: true }).fill(u.password)
  await page.locator('button[type=submit]').click()
  await page.getByTestId('me-name').waitFor({ timeout: TIMEOUT })
}

/** messageContents lists the message texts in the open chat, in order. */
async function messageContents(page) {
  return page.getByTestId('message-content').evaluateAll((els) =>
    els.map((e) => (e.firstChild ? e.firstChild.textContent : e.textContent).trim()),
  )
}

async function sendMessage(page, text) {
  const box = page.getByTestId('composer')
  await box.click()
  await box.fill(text)
  await box.press('Enter')
}

async function waitForMessage(page, text) {
  await expectEventually(async () => (await messageContents(page)).includes(text), `message "${text}"`)
}

async function presenceOfMember(page, login) {
  return page.locator(`[data-testid=member][data-login="${login}"] .presence-dot`).getAttribute('data-status', { timeout: 2000 })
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  const ctxA = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const ctxB = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const a = await ctxA.newPage()
  let b = await ctxB.newPage()
  const errors = []
  for (const [who, p] of [
    ['alice', a],
    ['bob', b],
  ]) {
    p.on('pageerror', (e) => errors.push(`${who}: ${e.message}`))
    p.on('dialog', (d) => d.accept())
    // The app never sends a frame the gateway refuses, and a socket closes only when the test means it to.
    p.on('websocket', (ws) => {
      ws.on('framereceived', (f) => {
        const text = String(f.payload)
        if (text.includes('"type":"error"')) errors.push(`${who}: error frame ${text.slice(0, 200)}`)
      })
    })
    if (process.env.E2E_DEBUG) {
      p.on('console', (m) => console.log(`    ${who} console: ${m.text()}`))
      await p.addInitScript(() => document.addEventListener('visibilitychange', () => console.log('visibility ' + document.visibilityState)))
      p.on('requestfailed', (r) => console.log(`    ${who} request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`))
      p.on('request', (r) => r.url().includes('markRead') && console.log(`    ${who} request ${r.method()} ${r.url()} ${r.postData()}`))
      p.on('response', (r) => r.url().includes('markRead') && console.log(`    ${who} ${r.request().method()} ${r.url()} ${r.status()}`))
      p.on('websocket', (ws) => {
        ws.on('framereceived', (f) => console.log(`    ${who} < ${String(f.payload).slice(0, 240)}`))
        ws.on('framesent', (f) => console.log(`    ${who} > ${String(f.payload).slice(0, 120)}`))
        ws.on('close', () => console.log(`    ${who} socket closed`))
      })
    }
  }
  try {
    step('sign-up form shows validation messages inline')
    await a.goto(BASE + '/')
    await a.getByRole('button', { name: 'Sign up' }).click()
    await a.getByLabel('Login', { exact: true }).fill('x!')
    await a.getByLabel('Password', { exact: true }).fill('short')
    await a.locator('button[type=submit]').click()
    await a.locator('#auth-login-error').waitFor({ timeout: TIMEOUT })
    await a.locator('#auth-password-error').waitFor({ timeout: TIMEOUT })
    await shot(a, '01-sign-up-validation')

    step('both users sign up; a taken login is refused by the API inline')
    await signUp(a, alice)
    await b.goto(BASE + '/')
    await b.getByRole('button', { name: 'Sign up' }).click()
    await b.getByLabel('Login', { exact: true }).fill(alice.login)
    await b.getByLabel('Password', { exact: true }).fill(bob.password)
    await b.locator('button[type=submit]').click()
    await b.locator('#auth-login-error').filter({ hasText: 'taken' }).waitFor({ timeout: TIMEOUT })
    await signUp(b, bob)

    step('alice adds bob by login; bob accepts the pending request')
    await a.getByRole('tab', { name: 'Add friend' }).click()
    await a.getByLabel('Login', { exact: true }).fill(bob.login)
    await a.getByRole('button', { name: 'Send friend request' }).click()
    await a.getByRole('status').filter({ hasText: 'Friend request sent' }).waitFor({ timeout: TIMEOUT })
    await b.getByRole('tab', { name: /Pending/ }).click()
    const req = b.locator(`[data-testid=friend-row][data-login="${alice.login}"]`)
    await req.waitFor({ timeout: TIMEOUT })
    await shot(b, '02-friend-request')
    await req.getByRole('button', { name: 'Accept' }).click()

    step('friends see each other online')
    await a.getByRole('tab', { name: 'Online' }).click()
    const bobRow = a.locator(`[data-testid=friend-row][data-login="${bob.login}"]`)
    await expectEventually(async () => (await bobRow.locator('.presence-dot').getAttribute('data-status')) === 'online', "bob's green dot in alice's friends")
    await shot(a, '03-friends')

    step('alice opens a private conversation and chats with bob')
    await bobRow.getByRole('button', { name: 'Message' }).click()
    await a.getByTestId('composer').waitFor({ timeout: TIMEOUT })
    await sendMessage(a, 'hello bob')
    await waitForMessage(a, 'hello bob')
    const dm = b.getByTestId('dm-link').first()
    await dm.waitFor({ timeout: TIMEOUT })
    await dm.click()
    await waitForMessage(b, 'hello bob')
    await sendMessage(b, 'hi alice')
    await waitForMessage(a, 'hi alice')

    step('typing shows on the other side')
    await b.getByTestId('composer').pressSequentially('I am typ', { delay: 20 })
    await a.getByTestId('typing').filter({ hasText: 'Bob is typing' }).waitFor({ timeout: TIMEOUT })
    await shot(a, '04-dm-typing')
    await b.getByTestId('composer').fill('')

    step('alice creates a server and an invite')
    await a.getByRole('button', { name: 'Create or join a server' }).click()
    await a.getByLabel('Server name').fill('Test Guild')
    await a.getByRole('button', { name: 'Create', exact: true }).click()
    await a.getByRole('heading', { name: 'Test Guild' }).waitFor({ timeout: TIMEOUT })
    await a.getByRole('button', { name: 'Server settings' }).click()
    await a.getByRole('tab', { name: 'Invites' }).click()
    await a.getByRole('button', { name: 'Create invite' }).click()
    const code = (await a.getByTestId('invite-code').first().textContent({ timeout: TIMEOUT })).trim()
    await shot(a, '05-settings-invites')
    await a.getByRole('button', { name: 'Close' }).click()

    step('bob joins with the invite code')
    await b.getByRole('button', { name: 'Create or join a server' }).click()
    await b.getByLabel('Invite code').fill(code)
    await b.getByRole('button', { name: 'Join server' }).click()
    await b.getByRole('heading', { name: 'Test Guild' }).waitFor({ timeout: TIMEOUT })

    step('both chat in #general and see each other online in the member list')
    await sendMessage(b, 'hey everyone')
    await waitForMessage(a, 'hey everyone')
    await sendMessage(a, 'welcome bob')
    await waitForMessage(b, 'welcome bob')
    await expectEventually(async () => (await presenceOfMember(a, bob.login)) === 'online', "bob's green dot in the member list")
    await expectEventually(async () => (await presenceOfMember(b, alice.login)) === 'online', "alice's green dot in the member list")
    await shot(a, '06-server-chat')

    step('edits and deletions appear live')
    const mine = a.locator('[data-testid=message]').filter({ hasText: 'welcome bob' })
    await mine.hover()
    await mine.getByRole('button', { name: 'Edit message' }).click()
    await a.getByRole('textbox', { name: 'Edit message' }).fill('welcome, bob!')
    await a.getByRole('textbox', { name: 'Edit message' }).press('Enter')
    await waitForMessage(b, 'welcome, bob!')
    await sendMessage(a, 'oops wrong channel')
    await waitForMessage(b, 'oops wrong channel')
    const oops = a.locator('[data-testid=message]').filter({ hasText: 'oops wrong channel' })
    await oops.hover()
    await oops.getByRole('button', { name: 'Delete message' }).click()
    await expectEventually(async () => !(await messageContents(b)).includes('oops wrong channel'), 'the deleted message to go')

    step('bob replies to a message; alice sees the reply')
    const hey = b.locator('[data-testid=message]').filter({ hasText: 'welcome, bob!' })
    await hey.hover()
    await hey.getByRole('button', { name: 'Reply' }).click()
    await b.getByText('Replying to').waitFor({ timeout: TIMEOUT })
    await sendMessage(b, 'thanks!')
    const reply = a.locator('[data-testid=message]').filter({ hasText: 'thanks!' })
    await reply.locator('.reply-preview').filter({ hasText: 'welcome, bob!' }).waitFor({ timeout: TIMEOUT })

    step('a send whose answer is lost is retried with its request id and stored once')
    let blipped = false
    await a.route('**/v1/channels/*/messages', async (route) => {
      if (route.request().method() === 'POST' && !blipped) {
        blipped = true
        // The request reaches the server, but the answer never reaches the page.
        await route.fetch().catch(() => {})
        await route.abort('connectionreset').catch(() => {})
        return
      }
      await route.continue().catch(() => {})
    })
    await sendMessage(a, 'survives a blip')
    await waitForMessage(b, 'survives a blip')
    await expectEventually(
      async () => (await messageContents(a)).filter((t) => t === 'survives a blip').length === 1 && (await a.getByTestId('pending-message').count()) === 0,
      'alice to see her message once, confirmed',
    )
    await a.unrouteAll({ behavior: 'ignoreErrors' })
    if (!blipped) throw new Error('the send was not intercepted')
    const countB = (await messageContents(b)).filter((t) => t === 'survives a blip').length
    if (countB !== 1) throw new Error(`bob sees the retried message ${countB} times`)

    step('bob refreshes mid-conversation and misses nothing, with nothing twice')
    const reload = b.reload()
    await sendMessage(a, 'sent during the refresh')
    await reload
    await sendMessage(a, 'sent after the refresh')
    await waitForMessage(b, 'sent during the refresh')
    await waitForMessage(b, 'sent after the refresh')
    const want = ['hey everyone', 'welcome, bob!', 'thanks!', 'survives a blip', 'sent during the refresh', 'sent after the refresh']
    let seen = []
    await expectEventually(async () => JSON.stringify((seen = await messageContents(b))) === JSON.stringify(want), 'bob to see each message once').catch((e) => {
      throw new Error(`${e.message}; saw ${JSON.stringify(seen)}`)
    })
    await shot(b, '07-after-refresh')

    step('unread badges count messages in other places')
    await b.getByRole('link', { name: /Home/ }).click()
    await b.getByRole('heading', { name: 'Friends' }).waitFor({ timeout: TIMEOUT })
    await sendMessage(a, 'unread one')
    await sendMessage(a, 'unread two')
    const icon = b.getByTestId('server-icon').first()
    await expectEventually(async () => (await icon.locator('.badge').textContent()) === '2', 'a badge of 2 on the server icon')
    await shot(b, '08-unread-badge')
    await icon.click()
    await waitForMessage(b, 'unread two')
    await expectEventually(async () => (await icon.locator('.badge').count()) === 0, 'the badge to clear when read')

    step('a dropped connection shows the banner and resumes without gaps')
    await ctxB.setOffline(true)
    // The app drops its socket when the browser reports going offline.
    await b.evaluate(() => window.dispatchEvent(new Event('offline')))
    await b.getByTestId('reconnecting-banner').waitFor({ timeout: TIMEOUT })
    await shot(b, '09-reconnecting')
    await sendMessage(a, 'sent while bob was offline')
    await ctxB.setOffline(false)
    await b.evaluate(() => window.dispatchEvent(new Event('online')))
    await waitForMessage(b, 'sent while bob was offline')
    await b.getByTestId('reconnecting-banner').waitFor({ state: 'detached', timeout: TIMEOUT })
    const after = await messageContents(b)
    if (after.filter((t) => t === 'unread two').length !== 1) throw new Error('a message shows twice after reconnecting: ' + JSON.stringify(after))

    step('the owner manages channels and members in server settings')
    await a.getByRole('button', { name: 'Server settings' }).click()
    await a.getByRole('tab', { name: 'Channels' }).click()
    await a.getByLabel('New channel name').fill('histroy')
    await a.getByRole('button', { name: 'Create', exact: true }).click()
    await a.getByText('# histroy').waitFor({ timeout: TIMEOUT })
    await a.locator('.settings-list li').filter({ hasText: '# histroy' }).getByRole('button', { name: 'Rename' }).click()
    await a.getByLabel('New name for histroy').fill('history')
    await a.getByRole('button', { name: 'Save' }).click()
    await a.getByText('# history').waitFor({ timeout: TIMEOUT })
    await a.getByRole('button', { name: 'Move history up' }).click()
    await expectEventually(async () => (await b.getByTestId('channel-link').first().textContent()).includes('history'), "bob to see #history first")
    await a.getByRole('tab', { name: 'Members' }).click()
    await a.locator('[data-testid=settings-member]').filter({ hasText: bob.login }).getByRole('button', { name: 'Promote to admin' }).click()
    await b.getByRole('button', { name: 'Server settings' }).waitFor({ timeout: TIMEOUT })
    await shot(a, '09-settings-members')
    await a.getByRole('button', { name: 'Close' }).click()

    step('history loads page by page when scrolling up')
    const historyId = await a.evaluate(async () => {
      const t = JSON.parse(localStorage.getItem('accord.session')).tokens.access_token
      const h = { Authorization: 'Bearer ' + t, 'Content-Type': 'application/json' }
      const servers = (await (await fetch('/v1/servers', { headers: h })).json()).servers
      const guild = servers.find((s) => s.name === 'Test Guild')
      const chans = (await (await fetch(`/v1/servers/${guild.id}/channels`, { headers: h })).json()).channels
      const ch = chans.find((c) => c.name === 'history')
      for (let i = 1; i <= 60; i++) {
        for (;;) {
          const r = await fetch(`/v1/channels/${ch.id}/messages`, { method: 'POST', headers: h, body: JSON.stringify({ content: `history ${i}`, request_id: `hist-${ch.id}-${i}` }) })
          if (r.ok) break
          const body = await r.json().catch(() => ({}))
          if (r.status !== 429) throw new Error('send failed: ' + r.status + ' ' + JSON.stringify(body))
          // Rate limited (when the server's limit is on): wait as told, then retry the same request id.
          const info = (body.details ?? []).find((d) => d.metadata?.retry_after_ms)
          await new Promise((res) => setTimeout(res, Number(info?.metadata.retry_after_ms ?? 1000) + 50))
        }
      }
      return ch.id
    })
    if (process.env.E2E_DEBUG) console.log('    history channel', historyId)
    await b.locator(`a[href$="${historyId}"]`).click()
    await waitForMessage(b, 'history 60')
    const list = b.getByTestId('message-list')
    await expectEventually(async () => {
      await list.evaluate((el) => (el.scrollTop = 0))
      return (await b.getByText('This is the beginning of #history.').count()) > 0
    }, 'the beginning of the channel after scrolling up')
    const hist = (await messageContents(b)).filter((t) => t.startsWith('history '))
    if (hist.length !== 60 || hist[0] !== 'history 1' || hist[59] !== 'history 60') throw new Error('history out of order or incomplete: ' + hist.length)
    await b.getByText('This is the beginning of #history.').waitFor({ timeout: TIMEOUT })
    await shot(b, '10-history')

    step("bob closes the tab: alice sees bob's dot turn grey")
    await b.close()
    await expectEventually(async () => (await presenceOfMember(a, bob.login)) === 'offline', "bob's grey dot", 30_000)
    await shot(a, '11-bob-offline')

    step('stats page renders for alice')
    await a.getByRole('link', { name: 'Stats' }).click()
    await a.getByRole('heading', { name: 'Your activity' }).waitFor({ timeout: TIMEOUT })
    await a.waitForTimeout(500)
    await shot(a, '12-stats')

    step('narrow window layout')
    b = await ctxB.newPage()
    await b.setViewportSize({ width: 560, height: 800 })
    await b.goto(BASE + '/')
    await b.getByTestId('me-name').waitFor({ timeout: TIMEOUT })
    await b.getByTestId('server-icon').first().click()
    await b.getByTestId('channel-link').filter({ hasText: 'general' }).click()
    await waitForMessage(b, 'sent while bob was offline')
    // What bob read before stays read after the refresh (the markers reached the server).
    await expectEventually(async () => (await b.locator('.rail .badge').count()) === 0, 'no unread badges after reopening', 5000)
    await shot(b, '13-narrow')

    step('alice sets do not disturb; bob sees her dot turn red')
    await a.getByLabel('Your status').selectOption('STATUS_DND')
    await b.getByRole('button', { name: 'Show member list' }).click()
    await expectEventually(async () => (await presenceOfMember(b, alice.login)) === 'dnd', "alice's red dot")
    await a.getByLabel('Your status').selectOption('STATUS_ONLINE')
    await expectEventually(async () => (await presenceOfMember(b, alice.login)) === 'online', "alice's green dot again")

    step('alice kicks bob; the server leaves his rail at once')
    await a.getByTestId('server-icon').first().click()
    await a.getByRole('button', { name: 'Server settings' }).click()
    await a.getByRole('tab', { name: 'Members' }).click()
    await a.locator('[data-testid=settings-member]').filter({ hasText: bob.login }).getByRole('button', { name: 'Kick' }).click()
    await expectEventually(async () => (await b.getByTestId('server-icon').count()) === 0, "the server to leave bob's rail")
    await a.getByRole('button', { name: 'Close' }).click()

    step('alice blocks bob from her friends list')
    await a.getByRole('link', { name: /Home/ }).click()
    await a.getByRole('tab', { name: 'All' }).click()
    await a.locator(`[data-testid=friend-row][data-login="${bob.login}"]`).getByRole('button', { name: 'Block' }).click()
    await a.getByRole('tab', { name: 'Blocked' }).click()
    await a.locator(`[data-testid=friend-row][data-login="${bob.login}"]`).waitFor({ timeout: TIMEOUT })
    await b.getByRole('link', { name: /Home/ }).click()
    await b.getByRole('tab', { name: 'All' }).click()
    await expectEventually(async () => (await b.locator(`[data-testid=friend-row][data-login="${alice.login}"]`).count()) === 0, 'alice to leave bob\'s friends')

    step('sign out returns to the sign-in screen and stays signed out after a refresh')
    await b.getByRole('button', { name: 'Sign out' }).click()
    await b.getByRole('heading', { name: 'Welcome back!' }).waitFor({ timeout: TIMEOUT })
    await b.reload()
    await b.getByRole('heading', { name: 'Welcome back!' }).waitFor({ timeout: TIMEOUT })

    if (errors.length > 0) throw new Error('page errors: ' + errors.join('; '))
    console.log(`e2e: ${steps} steps passed`)
  } catch (e) {
    console.error(`e2e: FAILED at "${current}": ${e.message}`)
    for (const [name, p] of [
      ['alice', a],
      ['bob', b],
    ]) {
      if (!p.isClosed()) await p.screenshot({ path: join(OUT, `failure-${name}.png`) }).catch(() => {})
    }
    if (errors.length > 0) console.error('page errors: ' + errors.join('; '))
    process.exitCode = 1
  } finally {
    await browser.close()
  }
}

await main()
