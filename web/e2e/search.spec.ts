// Message search in the browser: the search box in the channel header offers
// the filters as the user types, shows results with author, channel, time
// and the matching words marked, and a result opens its channel.
import { expect, test, type Page } from '@playwright/test'
import { expectAccessible, openNav, sendMessage, signUp, Shots, waitForMessage, watchPage } from './helpers'

async function closeDrawers(page: Page): Promise<void> {
  const backdrop = page.getByTestId('drawer-backdrop')
  if (!(await backdrop.count())) return
  const w = page.viewportSize()!.width
  const navOpen = (await page.locator('.app.nav-open').count()) > 0
  await backdrop.click({ position: { x: navOpen ? w - 10 : 10, y: 400 } })
  await expect(backdrop).toHaveCount(0)
}

test('search finds a message by a folded word and opens its channel', async ({ page }, info) => {
  const errors: string[] = []
  await watchPage('alice', page, errors)
  const shots = new Shots(info)
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`
  const alice = { login: `alice_${suffix}`, name: 'Alice', password: 'correct horse 1' }
  await signUp(page, alice)

  await test.step('alice writes in two channels of her server', async () => {
    await openNav(page)
    await page.getByRole('button', { name: 'Create or join a server' }).click()
    await page.getByLabel('Server name').fill('Search Guild')
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    await openNav(page)
    await page.getByRole('button', { name: 'Create channel' }).click()
    await page.getByLabel('Channel name').fill('notes')
    await page.getByRole('dialog').getByRole('button', { name: 'Create channel' }).click()
    await expect(page.getByRole('heading', { name: 'notes', exact: true })).toBeVisible()
    await closeDrawers(page)
    await sendMessage(page, 'La réunion de demain est annulée')
    await waitForMessage(page, 'La réunion de demain est annulée')
    await openNav(page)
    await page.getByTestId('channel-link').filter({ hasText: 'general' }).click()
    await closeDrawers(page)
    await sendMessage(page, 'lunch plans')
    await waitForMessage(page, 'lunch plans')
  })

  const box = page.getByRole('combobox', { name: 'Search messages' })
  await test.step('the filters are offered as she types', async () => {
    await box.click()
    await box.fill('fr')
    await expect(page.getByRole('option', { name: /from:/ })).toBeVisible()
    await box.press('ArrowDown')
    await box.press('Enter')
    await expect(box).toHaveValue('from:')
    await expect(page.getByRole('option', { name: `from:${alice.login}` })).toBeVisible()
    await box.fill('in:no')
    await expect(page.getByRole('option', { name: 'in:notes' })).toBeVisible()
    await shots.take('search-suggestions', ['alice', page])
  })

  await test.step('a search without accents finds the message; its result opens the channel', async () => {
    await box.fill('reunion')
    const result = page.getByRole('region', { name: 'Search results' }).getByRole('button').filter({ hasText: 'annulée' })
    // Indexing takes a moment: search again until the message is found.
    await expect(async () => {
      await box.press('Enter')
      await expect(result).toBeVisible({ timeout: 1_000 })
    }).toPass({ timeout: 15_000 })
    await expect(result.locator('mark')).toHaveText('réunion')
    await expect(result).toContainText('#notes')
    await expect(result).toContainText('Alice')
    await shots.take('search-results', ['alice', page])
    await expectAccessible(page, 'search results')
    await result.click()
    await expect(page.getByRole('heading', { name: 'notes', exact: true })).toBeVisible()
    await expect(page.getByRole('region', { name: 'Search results' })).toHaveCount(0)
  })
  expect(errors).toEqual([])
})
