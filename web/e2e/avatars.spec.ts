// Avatars and server icons against the real all-in-one: alice uploads an
// avatar in her settings and bob, already looking at the member list, sees
// her picture replace her initials live; alice sets the server's icon and
// bob's server rail shows it.
import { expect, test, type Page } from '@playwright/test'
import { cspViolations, openNav, showMembers, signUp, Shots, watchPage } from './helpers'

// A 4x4 PNG, red.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGP4z8AARwzEcQCukw/x0F8jngAAAABJRU5ErkJggg==',
  'base64',
)

async function closeDrawers(page: Page): Promise<void> {
  const backdrop = page.getByTestId('drawer-backdrop')
  if (!(await backdrop.count())) return
  const w = page.viewportSize()!.width
  const navOpen = (await page.locator('.app.nav-open').count()) > 0
  await backdrop.click({ position: { x: navOpen ? w - 10 : 10, y: 400 } })
  await expect(backdrop).toHaveCount(0)
}

test('an avatar and a server icon reach the other user live', async ({ browser }, info) => {
  const viewport = info.project.use.viewport ?? { width: 1280, height: 800 }
  const suffix = (Date.now().toString(36) + info.project.name[0]).slice(-6)
  const alice = { login: `aa_${suffix}`, name: 'Alice', password: 'correct horse 1' }
  const bob = { login: `ab_${suffix}`, name: 'Bob', password: 'battery staple 2' }
  const ctxA = await browser.newContext({ viewport, baseURL: info.project.use.baseURL })
  const ctxB = await browser.newContext({ viewport, baseURL: info.project.use.baseURL })
  const a = await ctxA.newPage()
  const b = await ctxB.newPage()
  const errors: string[] = []
  await watchPage('alice', a, errors)
  await watchPage('bob', b, errors)
  const shots = new Shots(info)

  await test.step('alice makes a server and bob joins it', async () => {
    await signUp(a, alice)
    await signUp(b, bob)
    await openNav(a)
    await a.getByRole('button', { name: 'Create or join a server' }).click()
    await a.getByLabel('Server name').fill('Picture Club')
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
    await expect(b.getByRole('heading', { name: 'Picture Club' })).toBeVisible()
    await closeDrawers(b)
    await showMembers(b)
    const aliceRow = b.locator(`[data-testid=member][data-login="${alice.login}"]`)
    await expect(aliceRow.locator('span.avatar')).toBeVisible()
    await expect(aliceRow.locator('img.avatar')).toHaveCount(0)
  })

  await test.step('alice uploads an avatar: bob sees it in the member list', async () => {
    await openNav(a)
    await a.getByRole('button', { name: 'User settings' }).click()
    await a.locator('#avatar-file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: PNG })
    await expect(a.getByRole('button', { name: 'Remove avatar' })).toBeVisible()
    await a.getByRole('button', { name: 'Close' }).click()
    const img = b.locator(`[data-testid=member][data-login="${alice.login}"] img.avatar`)
    await expect(img).toBeVisible()
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(4)
    await shots.take('avatar', ['alice', a], ['bob', b])
  })

  await test.step('alice sets the server icon: bob sees it in the rail', async () => {
    await openNav(a)
    await a.getByRole('button', { name: 'Server settings' }).click()
    await a.locator('#server-icon-file').setInputFiles({ name: 'icon.png', mimeType: 'image/png', buffer: PNG })
    await expect(a.getByRole('button', { name: 'Remove icon' })).toBeVisible()
    await a.getByRole('button', { name: 'Close' }).click()
    await closeDrawers(b) // the member list, on a phone
    await openNav(b)
    await expect(b.locator('[data-testid=server-icon] img')).toBeVisible()
    await shots.take('icon', ['alice', a], ['bob', b])
  })

  expect(errors).toEqual([])
  expect(await cspViolations(a)).toEqual([])
  expect(await cspViolations(b)).toEqual([])
  await ctxA.close()
  await ctxB.close()
})
