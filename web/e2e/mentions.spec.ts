// Mentions between two users: Alice mentions Bob through the composer's
// autocomplete; Bob, looking at another channel, sees the red mention badge
// on the channel and on the server icon, the message highlighted when he
// opens it, and, with his tab hidden, the count in the tab title.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test'
import { isPhone, openNav, Shots, watchPage } from './helpers'

interface Account {
  id: string
  login: string
  password: string
  token: string
}

async function register(request: APIRequestContext, login: string): Promise<Account> {
  const password = `password-${login}`
  const res = await request.post('/v1/auth:register', { data: { login, password } })
  expect(res.ok()).toBeTruthy()
  const body = await res.json()
  return { id: body.user.id, login, password, token: body.tokens.access_token }
}

async function call(request: APIRequestContext, token: string, method: string, path: string, data?: unknown) {
  const res = await request.fetch(path, { method, data, headers: { Authorization: `Bearer ${token}` } })
  expect(res.ok(), `${method} ${path}: ${res.status()}`).toBeTruthy()
  return res.json()
}

async function signIn(page: Page, a: Account): Promise<void> {
  await page.goto('/')
  await page.getByLabel('Login', { exact: true }).fill(a.login)
  await page.getByLabel('Password', { exact: true }).fill(a.password)
  await page.locator('button[type=submit]').click()
  await expect(page.getByTestId('me-name')).toBeAttached()
}

async function hideTab(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })
    document.dispatchEvent(new Event('visibilitychange'))
  })
}

test('a mention raises the badge and the title count of the other user', async ({ browser, request }, info) => {
  const shots = new Shots(info)
  const errors: string[] = []
  const tag = `${info.project.name.slice(0, 1)}${Date.now().toString(36)}`
  const alice = await register(request, `alice${tag}`)
  const bob = await register(request, `bob${tag}`)
  const made = await call(request, alice.token, 'POST', '/v1/servers', { name: 'Mentions' })
  const serverId: string = made.server.id
  const general: string = made.channel.id
  const random = (await call(request, alice.token, 'POST', `/v1/servers/${serverId}/channels`, { name: 'random' })).channel.id as string
  const invite = await call(request, alice.token, 'POST', `/v1/servers/${serverId}/invites`, {})
  await call(request, bob.token, 'POST', `/v1/invites/${invite.invite.code}:accept`, {})

  const ctxA = await browser.newContext()
  const ctxB = await browser.newContext()
  const a = await ctxA.newPage()
  const b = await ctxB.newPage()
  await watchPage('alice', a, errors)
  await watchPage('bob', b, errors)
  await signIn(a, alice)
  await signIn(b, bob)
  await a.goto(`/#/s/${serverId}/${general}`)
  await b.goto(`/#/s/${serverId}/${random}`)
  await expect(a.getByTestId('composer')).toBeVisible()
  await expect(b.getByTestId('composer')).toBeVisible()

  // Alice mentions Bob through the autocomplete: "@bo", arrow-free Enter picks him.
  const composer = a.getByTestId('composer')
  await composer.click()
  await composer.pressSequentially(`hey @${bob.login.slice(0, 5)}`)
  const list = a.getByTestId('mention-suggestions')
  await expect(list).toBeVisible()
  await expect(list.getByRole('option').first()).toContainText(bob.login)
  await composer.press('Enter')
  await expect(composer).toHaveValue(`hey <@${bob.id}> `)
  await composer.pressSequentially('look at this')
  await composer.press('Enter')
  await shots.take('mention-sent', ['alice', a])

  // Bob sees the red mention badge on #general and on the server icon.
  await openNav(b)
  const generalLink = b.getByTestId('channel-link').filter({ hasText: 'general' })
  await expect(generalLink.getByTestId('mention-badge')).toHaveText(/1/)
  if (!isPhone(b)) await expect(b.getByTestId('server-icon').getByTestId('mention-badge')).toHaveText(/1/)
  await shots.take('mention-badge', ['bob', b])

  // With his tab hidden, the title counts the mentions.
  await hideTab(b)
  await expect(b).toHaveTitle('(1) Accord')
  await composer.pressSequentially(`again <@${bob.id}>`)
  await composer.press('Escape')
  await composer.press('Enter')
  await expect(b).toHaveTitle('(2) Accord')

  // Opening the channel clears the badge and shows the message highlighted.
  await generalLink.click()
  await expect(b.locator('.message.mentions-me').first()).toBeVisible()
  await openNav(b)
  await expect(b.getByTestId('channel-link').filter({ hasText: 'general' }).getByTestId('mention-badge')).toHaveCount(0)
  await shots.take('mention-read', ['bob', b])

  // The inbox lists both mentions, newest first; choosing one jumps to its channel.
  await b.goto(`/#/s/${serverId}/${random}`)
  await openNav(b)
  await b.getByTestId('mentions-inbox-button').click()
  const inbox = b.getByTestId('mention-inbox')
  await expect(inbox.getByRole('button')).toHaveCount(2)
  await expect(inbox.getByRole('button').first()).toContainText('again')
  await shots.take('mention-inbox', ['bob', b])
  await inbox.getByRole('button').last().click()
  await expect(b).toHaveURL(new RegExp(`#/s/${serverId}/${general}$`))

  expect(errors).toEqual([])
  await ctxA.close()
  await ctxB.close()
})
