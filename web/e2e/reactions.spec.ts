// Reactions and pins between two users against the real all-in-one: a
// reaction appears live for the other user and toggles from its chip; a pin
// leaves a system line and appears in the other user's pinned-messages panel.
import { expect, test, type Page } from '@playwright/test'
import { openNav, sendMessage as send, signUp, Shots, waitForMessage, watchPage } from './helpers'

/** closeDrawers closes the phone drawers, so the chat can be used. */
async function closeDrawers(page: Page): Promise<void> {
  const backdrop = page.getByTestId('drawer-backdrop')
  if (!(await backdrop.count())) return
  const w = page.viewportSize()!.width
  const navOpen = (await page.locator('.app.nav-open').count()) > 0
  await backdrop.click({ position: { x: navOpen ? w - 10 : 10, y: 400 } })
  await expect(backdrop).toHaveCount(0)
}

/** messageItem is the list item of the message with text. */
function messageItem(page: Page, text: string) {
  return page.getByTestId('message').filter({ has: page.getByTestId('message-content').filter({ hasText: text }) })
}

test('reactions and pins reach the other user live', async ({ browser }, info) => {
  const viewport = info.project.use.viewport ?? { width: 1280, height: 800 }
  const suffix = (Date.now().toString(36) + info.project.name[0]).slice(-6)
  const alice = { login: `ra_${suffix}`, name: 'Alice', password: 'correct horse 1' }
  const bob = { login: `rb_${suffix}`, name: 'Bob', password: 'battery staple 2' }
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
    await a.getByLabel('Server name').fill('Reaction Club')
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
    await expect(b.getByRole('heading', { name: 'Reaction Club' })).toBeVisible()
    await closeDrawers(b)
  })

  await test.step('alice reacts to bob\'s message: bob sees the chip live and adds his own', async () => {
    await send(b, 'react to this please')
    await waitForMessage(a, 'react to this please')
    const onA = messageItem(a, 'react to this please')
    await onA.hover()
    await onA.getByRole('button', { name: 'React with thumbs up' }).click()
    const chipB = messageItem(b, 'react to this please').locator('[data-testid=reaction][data-emoji="👍"]')
    await expect(chipB).toContainText('1')
    await expect(chipB).toHaveAttribute('aria-pressed', 'false')
    await chipB.click()
    await expect(chipB).toContainText('2')
    await expect(chipB).toHaveAttribute('aria-pressed', 'true')
    const chipA = onA.locator('[data-testid=reaction][data-emoji="👍"]')
    await expect(chipA).toContainText('2')
    await expect(chipA).toHaveAttribute('aria-pressed', 'true')
    await shots.take('reactions', ['alice', a], ['bob', b])
  })

  await test.step('bob picks 🎉 from the emoji picker: alice sees it live', async () => {
    const onB = messageItem(b, 'react to this please')
    await onB.hover()
    await onB.getByRole('button', { name: 'Add reaction' }).click()
    const picker = b.getByRole('dialog', { name: 'Pick a reaction' })
    await expect(picker.locator('.EmojiPickerReact')).toBeVisible()
    // Searching narrows the list from hundreds to the matches.
    await picker.locator('input').first().fill('party popper')
    await expect.poll(() => picker.locator('button.epr-emoji:visible').count(), { message: 'search results' }).toBeLessThan(10)
    await picker.locator('button.epr-emoji:visible').first().click()
    await expect(picker).toHaveCount(0)
    const chipA = messageItem(a, 'react to this please').locator('[data-testid=reaction][data-emoji="🎉"]')
    await expect(chipA).toContainText('1')
    await expect(chipA).toHaveAttribute('aria-pressed', 'false')
    await shots.take('picker', ['alice', a], ['bob', b])
  })

  await test.step('alice pins it: bob sees the system line and the pin in his panel', async () => {
    const onA = messageItem(a, 'react to this please')
    await onA.hover()
    await onA.getByRole('button', { name: 'Pin message' }).click()
    await expect(b.getByTestId('pin-line').last()).toContainText('Alice pinned a message')
    await b.getByRole('button', { name: 'Pinned messages' }).click()
    await expect(b.getByTestId('pins-panel').getByTestId('pin')).toContainText('react to this please')
    await shots.take('pins', ['alice', a], ['bob', b])
    // Bob, a plain member, is offered no pin action.
    const onB = messageItem(b, 'react to this please')
    await onB.hover()
    await expect(onB.getByRole('button', { name: /pin message/i })).toHaveCount(0)
  })

  expect(errors).toEqual([])
  await ctxA.close()
  await ctxB.close()
})
