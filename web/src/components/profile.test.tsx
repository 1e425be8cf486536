// @vitest-environment jsdom
// Issue 22 item 7 (the profile part): display name and status text, shown under names, and the profile card.
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { Server } from '../api/types'
import { reducer, type State } from '../state/reducer'
import { me, renderWithStore } from '../test/harness'
import { MemberList } from './MemberList'
import { UserSettings } from './UserSettings'

afterEach(cleanup)

const guild: Server = { id: 's1', name: 'Guild', kind: 'SERVER_KIND_GUILD', my_role: 'ROLE_MEMBER' }
const withMembers = (s: State) => {
  s = reducer(s, { type: 'serversLoaded', servers: [guild] })
  s = reducer(s, {
    type: 'membersLoaded',
    serverId: 's1',
    members: [
      { server_id: 's1', user_id: me.id, login: 'me', display_name: 'Me' },
      { server_id: 's1', user_id: 'u2', login: 'bob', display_name: 'Bob' },
    ],
  })
  return reducer(s, { type: 'usersLoaded', users: [{ id: 'u2', login: 'bob', display_name: 'Bob', status_text: 'Playing chess' }] })
}

describe('profile', () => {
  it('saves the display name and status text from user settings', async () => {
    const h = renderWithStore(<UserSettings onClose={() => undefined} />, {
      routes: { 'PATCH /v1/me': ({ body }) => ({ user: { ...me, ...(body as { user: object }).user } }) },
    })
    fireEvent.change(screen.getByLabelText('Display name'), { target: { value: 'Me Myself' } })
    fireEvent.change(screen.getByLabelText('Status text'), { target: { value: 'Out for lunch' } })
    fireEvent.click(screen.getByRole('button', { name: 'Save profile' }))
    await screen.findByText('Saved.')
    expect(h.requests.find((r) => r.method === 'PATCH')?.body).toEqual({
      user: { display_name: 'Me Myself', status_text: 'Out for lunch' },
      update_mask: 'display_name,status_text',
    })
    expect(h.getState().me?.status_text).toBe('Out for lunch')
  })

  it('shows the status text under names in the member list, and a profile card on a click', async () => {
    const h = renderWithStore(<MemberList serverId="s1" />, {
      state: withMembers,
      routes: {
        'POST /v1/relationships:sendFriendRequest': () => ({ relationship: { user_id: 'u2', type: 'RELATIONSHIP_TYPE_OUTGOING_REQUEST' } }),
      },
    })
    expect(screen.getByTestId('member-status').textContent).toBe('Playing chess')
    fireEvent.click(screen.getByRole('button', { name: /Bob/ }))
    const card = screen.getByTestId('profile-card')
    expect(card.textContent).toContain('@bob')
    expect(card.textContent).toContain('Playing chess')
    expect(within(card).getByRole('button', { name: 'Message' })).toBeTruthy()
    fireEvent.click(within(card).getByRole('button', { name: 'Add friend' }))
    await waitFor(() => expect(h.getState().relationships.u2?.type).toBe('RELATIONSHIP_TYPE_OUTGOING_REQUEST'))
    expect(h.requests.find((r) => r.method === 'POST')?.body).toEqual({ login: 'bob' })
  })
})
