// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { Message } from '../api/types'
import { resolveTheme, themeChoice } from '../lib/theme'
import { reducer, type State } from '../state/reducer'
import { me, renderWithStore } from '../test/harness'
import { LiveAnnouncer } from './ChatPane'
import { UserSettings } from './UserSettings'
import { Badge } from './common'

afterEach(() => {
  cleanup()
  window.localStorage.clear()
})

const msg = (n: number, author: string, content: string): Message => ({
  id: n.toString(16).padStart(24, '0'),
  server_id: 's1',
  channel_id: 'c1',
  author_id: author,
  author_name: author === me.id ? 'Me' : 'Bob',
  content,
})

describe('live region', () => {
  it('announces new messages from others in the open channel, not the history it opened with', () => {
    const state = (s: State) => reducer(s, { type: 'historyLoaded', channelId: 'c1', messages: [msg(1, 'bob', 'old news')], hasMore: false, mode: 'latest' })
    const h = renderWithStore(<LiveAnnouncer channelId="c1" />, { state })
    const region = screen.getByTestId('live-region')
    expect(region.getAttribute('aria-live')).toBe('polite')
    expect(region.textContent).toBe('')
    h.dispatch({ type: 'event', event: { scope: 's', message_created: msg(2, 'bob', 'hello there') } })
    expect(region.textContent).toBe('Bob: hello there')
    h.dispatch({ type: 'messageStored', message: msg(3, me.id, 'my own') })
    expect(region.textContent).toBe('')
  })
})

describe('theme', () => {
  it('follows the system until a choice is made', () => {
    expect(themeChoice()).toBe('system')
    expect(resolveTheme('system', true)).toBe('light')
    expect(resolveTheme('system', false)).toBe('dark')
    expect(resolveTheme('dark', true)).toBe('dark')
  })

  it('is switchable in user settings', () => {
    renderWithStore(<UserSettings onClose={() => undefined} />)
    fireEvent.click(screen.getByRole('tab', { name: 'Appearance' }))
    fireEvent.click(screen.getByLabelText(/Light/))
    expect(themeChoice()).toBe('light')
    expect(document.documentElement.dataset.theme).toBe('light')
    fireEvent.click(screen.getByLabelText(/System/))
    expect(themeChoice()).toBe('system')
  })
})

describe('badges', () => {
  it('read as words, not a bare number', () => {
    render(<Badge count={3} />)
    expect(document.body.textContent).toContain('3 unread')
  })
})
