// @vitest-environment jsdom
// Issue 22's items 1-6, each as seen by the user.
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { renderToStaticMarkup } from 'react-dom/server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ActivityPoint, Message, Server } from '../api/types'
import { reducer, type State } from '../state/reducer'
import { me, renderWithStore } from '../test/harness'
import { AddServerDialog } from './AddServerDialog'
import { ActivityChart } from './Charts'
import { ChannelStart, ConfirmDelete, MessageItem, RateLimitNotice } from './ChatPane'
import { PresenceDot } from './common'
import { LeaveIcon, SignOutIcon } from './icons'
import { ServerRail } from './ServerRail'
import { ServerSettings } from './ServerSettings'
import { Sidebar } from './Sidebar'
import { ActivityTable, ServerTable } from './StatsPage'
import { FriendsView } from './FriendsView'

afterEach(() => {
  cleanup()
  vi.useRealTimers()
})

const guild: Server = { id: 's1', name: 'Rocket League Fans', kind: 'SERVER_KIND_GUILD', my_role: 'ROLE_OWNER' }
const withGuild = (s: State) => {
  s = reducer(s, { type: 'serversLoaded', servers: [guild] })
  return reducer(s, { type: 'channelsLoaded', serverId: 's1', channels: [{ id: 'c1', server_id: 's1', name: 'general' }] })
}

describe('1. channel names', () => {
  it('turn into a slug as you type in the "+" dialog next to TEXT CHANNELS, and a refusal reads as words', async () => {
    const h = renderWithStore(<Sidebar route={{ name: 'server', serverId: 's1', channelId: 'c1' }} serverId="s1" channelId="c1" onSettings={() => undefined} />, {
      state: withGuild,
      routes: {
        'POST /v1/servers/s1/channels': () => ({
          status: 400,
          body: { code: 'INVALID_ARGUMENT', message: 'name: does not match regex pattern `^[a-z0-9]+(-[a-z0-9]+)*$`', field: 'name' },
        }),
      },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Create channel' }))
    const input = screen.getByLabelText('Channel name') as HTMLInputElement
    for (const ch of 'Random Stuff!') fireEvent.change(input, { target: { value: input.value + ch } })
    expect(input.value).toBe('random-stuff')
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Create channel' }))
    await screen.findByRole('alert')
    expect(h.requests.find((r) => r.method === 'POST')?.body).toEqual({ name: 'random-stuff' })
    expect(screen.getByRole('alert').textContent).not.toMatch(/regex/)
  })

  it('in server settings too', () => {
    renderWithStore(<ServerSettings serverId="s1" onClose={() => undefined} />, { state: withGuild })
    fireEvent.click(screen.getByRole('tab', { name: 'Channels' }))
    const input = screen.getByLabelText('New channel name') as HTMLInputElement
    fireEvent.change(input, { target: { value: 'Random Stuff!' } })
    expect(input.value).toBe('random-stuff')
  })
})

describe('2. presence', () => {
  it('is not drawn as offline when unknown (a pending request from someone not watched)', () => {
    renderWithStore(<FriendsView />, {
      state: (s) =>
        reducer(s, {
          type: 'relationshipsLoaded',
          relationships: [{ user_id: 'u2', type: 'RELATIONSHIP_TYPE_INCOMING_REQUEST', user: { id: 'u2', login: 'bob' } }],
        }),
    })
    fireEvent.click(screen.getByRole('tab', { name: /Pending/ }))
    const row = screen.getByTestId('friend-row')
    expect(row.querySelector('[data-status=offline]')).toBeNull()
    expect(row.textContent).toContain('bob')
  })

  it('draws idle as a moon, do-not-disturb as a minus, offline as a ring', () => {
    const markup = (status: Parameters<typeof PresenceDot>[0]['status']) => renderToStaticMarkup(<PresenceDot status={status} />)
    expect(markup('STATUS_IDLE')).toMatch(/<mask[^>]*>.*<circle cx="2.5"/)
    expect(markup('STATUS_DND')).toMatch(/<mask[^>]*>.*<rect x="2" y="4"/)
    expect(markup('STATUS_OFFLINE')).toMatch(/<mask[^>]*>.*<circle cx="5" cy="5" r="2.5"/)
    expect(markup('STATUS_ONLINE')).not.toMatch(/fill="black"/)
    expect(markup('STATUS_UNSPECIFIED')).toBe('')
  })
})

describe('5. small things', () => {
  it('"Leave server" and "Sign out" have different icons', () => {
    expect(renderToStaticMarkup(<LeaveIcon />)).not.toBe(renderToStaticMarkup(<SignOutIcon />))
  })

  it('a conversation starts with Discord\'s wording, not "Welcome to @Bob"', () => {
    render(<ChannelStart title="@Bob" dmWith="Bob" />)
    expect(document.body.textContent).toContain('This is the beginning of your direct message history with @Bob.')
    expect(document.body.textContent).not.toContain('Welcome to @Bob')
  })

  it('deleting a message asks first; Shift-click skips the question', async () => {
    const m: Message = { id: 'm1', server_id: 's1', channel_id: 'c1', author_id: me.id, author_name: 'Me', content: 'oops' }
    const state = (s: State) => reducer(withGuild(s), { type: 'historyLoaded', channelId: 'c1', messages: [m], hasMore: false, mode: 'latest' })
    const noop = () => undefined
    const h = renderWithStore(
      <ol>
        <MessageItem m={m} head mine editing={false} onEdit={noop} onEditDone={noop} onReply={noop} onError={noop} index={0} measure={noop} style={{}} />
      </ol>,
      { state, routes: { 'DELETE /v1/channels/c1/messages/m1': () => ({}) } },
    )
    fireEvent.click(screen.getByRole('button', { name: 'Delete message' }))
    expect(screen.getByRole('dialog', { name: 'Delete message' })).toBeTruthy()
    expect(h.requests.some((r) => r.method === 'DELETE')).toBe(false)
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }))
    expect(screen.queryByRole('dialog')).toBeNull()
    fireEvent.click(screen.getByRole('button', { name: 'Delete message' }), { shiftKey: true })
    expect(screen.queryByRole('dialog')).toBeNull()
    await waitFor(() => expect(h.getState().messages.c1.ids).toEqual([]))
    expect(h.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1)
  })

  it('the confirmation shows the message', () => {
    const m: Message = { id: 'm1', server_id: 's1', channel_id: 'c1', author_id: 'x', content: 'the text' }
    render(<ConfirmDelete m={m} name="Bob" onCancel={() => undefined} onConfirm={() => undefined} />)
    expect(screen.getByRole('dialog').textContent).toContain('the text')
  })

  it('a rate limit shows one notice that counts down in whole seconds', () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const state = (s: State) => {
      s = withGuild(s)
      for (const id of ['r1', 'r2']) {
        s = reducer(s, { type: 'pendingAdded', pending: { request_id: id, server_id: 's1', channel_id: 'c1', content: id, state: 'sending', create_time: '' } })
        s = reducer(s, { type: 'pendingFailed', requestId: id, error: 'Sent too fast.', rateLimitedUntil: 1_000_000 + 8286 })
      }
      return s
    }
    const h = renderWithStore(<RateLimitNotice channelId="c1" />, { state })
    expect(screen.getAllByTestId('rate-limit')).toHaveLength(1)
    expect(screen.getByTestId('rate-limit').textContent).toBe('You are sending messages too fast. Try again in 9 seconds.')
    act(() => void vi.advanceTimersByTime(300))
    expect(screen.getByTestId('rate-limit').textContent).toContain('in 8 seconds')
    act(() => void vi.advanceTimersByTime(1000))
    expect(screen.getByTestId('rate-limit').textContent).toContain('in 7 seconds')
    for (let i = 0; i < 7; i++) act(() => void vi.advanceTimersByTime(1000))
    expect(screen.queryByTestId('rate-limit')).toBeNull()
    expect(h.getState().rateLimited.c1).toBeUndefined()
  })

  it('a new invite code clears the previous error while it is checked', async () => {
    let answer: (v: unknown) => void = () => undefined
    renderWithStore(<AddServerDialog onClose={() => undefined} onDone={() => undefined} />, {
      routes: {
        'POST /v1/invites/badcode1:accept': () => ({ status: 404, body: { code: 'NOT_FOUND', message: 'invite not found' } }),
        'POST /v1/invites/goodcode:accept': () => new Promise((r) => (answer = r)),
      },
    })
    const input = screen.getByLabelText('Invite code')
    fireEvent.change(input, { target: { value: 'badcode1' } })
    fireEvent.click(screen.getByRole('button', { name: 'Join server' }))
    await screen.findByText('This invite is invalid or has expired.')
    fireEvent.change(input, { target: { value: 'goodcode' } })
    fireEvent.click(screen.getByRole('button', { name: 'Join server' }))
    expect(screen.queryByText('This invite is invalid or has expired.')).toBeNull()
    answer({})
  })

  it('says "Copied" only when the clipboard write worked', async () => {
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: () => Promise.reject(new Error('denied')) }, configurable: true })
    renderWithStore(<ServerSettings serverId="s1" onClose={() => undefined} />, {
      state: withGuild,
      routes: { 'GET /v1/servers/s1/invites': () => ({ invites: [{ code: 'abcdefgh', server_id: 's1' }] }) },
    })
    fireEvent.click(screen.getByRole('tab', { name: 'Invites' }))
    fireEvent.click(await screen.findByRole('button', { name: 'Copy' }))
    await screen.findByText(/Could not copy/)
    expect(screen.queryByRole('button', { name: 'Copied' })).toBeNull()
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: () => Promise.resolve() }, configurable: true })
    fireEvent.click(screen.getByRole('button', { name: 'Copy' }))
    await screen.findByRole('button', { name: 'Copied' })
  })

  it('rail badges leave the initials alone: the badge sits outside the icon text', () => {
    renderWithStore(<ServerRail route={{ name: 'home' }} onAdd={() => undefined} />, {
      state: (s) => reducer(withGuild(s), { type: 'readStatesLoaded', readStates: [{ server_id: 's1', channel_id: 'c1', unread_count: 3 }] }),
    })
    const icon = screen.getByTestId('server-icon')
    // The badge is a sibling of the icon, not inside the circle that holds the initials.
    expect(icon.querySelector('.rail-icon .badge')).toBeNull()
    expect(icon.querySelector('.badge')?.textContent).toBe('3')
  })
})

describe('6. stats', () => {
  const hours: ActivityPoint[] = Array.from({ length: 24 }, (_, i) => ({ start_time: new Date(Date.UTC(2026, 11, 2, i)).toISOString(), count: String(i % 3) }))

  it('draws counts as bars, with axis labels that cannot collide', () => {
    render(<ActivityChart points={hours} granularity="hour" label="x" />)
    const bars = document.querySelectorAll('rect.chart-bar')
    expect(bars.length).toBe(hours.filter((p) => p.count !== '0').length)
    expect(document.querySelector('polyline, path.line')).toBeNull()
    const ticks = [...document.querySelectorAll('[data-testid=chart-tick]')].map((t) => Number(t.getAttribute('x')))
    expect(ticks.length).toBeLessThan(24)
    for (let i = 1; i < ticks.length; i++) expect(ticks[i] - ticks[i - 1]).toBeGreaterThanOrEqual(44)
    for (const t of document.querySelectorAll('[data-testid=chart-tick]')) expect(t.textContent).not.toMatch(/Dec/)
  })

  it('follows the theme: no fixed white background, colours from CSS classes', () => {
    render(<ActivityChart points={hours} granularity="hour" label="x" />)
    expect(document.querySelector('[fill="#fff"], [fill="white"], rect[style*="fff"]')).toBeNull()
    expect(document.querySelector('img')).toBeNull()
  })

  it('shows no "total 0" before the numbers load, and whole days without a time', () => {
    const { rerender } = render(<ActivityTable caption="Messages" granularity="day" />)
    expect(document.body.textContent).not.toMatch(/total/)
    rerender(<ActivityTable caption="Messages" granularity="day" points={[{ start_time: new Date(2026, 11, 2).toISOString(), count: '4' }]} />)
    expect(document.body.textContent).toContain('total 4')
    expect(screen.getAllByRole('cell')[0].textContent).not.toMatch(/\d:\d\d/)
  })

  it('shows servers ranked by bytes stored as sizes, with the total', () => {
    render(<ServerTable rows={[{ server_id: 's1', name: 'General', count: '3145728' }, { server_id: 's2', name: '', count: '2048' }]} bytesTotal={3147876} />)
    expect(screen.getByRole('table').querySelector('caption')?.textContent).toContain('total 3 MB')
    const cells = screen.getAllByRole('cell').map((c) => c.textContent)
    expect(cells).toEqual(['1', 'General', '3 MB', '2', 's2', '2 KB'])
  })
})
