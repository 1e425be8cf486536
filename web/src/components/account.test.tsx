// @vitest-environment jsdom
// Issue 22 item 7 (the account part): change the password, see the sessions and sign out the others.
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { Session } from '../api/types'
import { renderWithStore } from '../test/harness'
import { UserSettings } from './UserSettings'

afterEach(cleanup)

const t = '2026-12-01T10:00:00Z'

function openTab(name: string) {
  fireEvent.click(screen.getByRole('tab', { name }))
}

describe('password', () => {
  it('changes the password and says the other sessions were signed out', async () => {
    const h = renderWithStore(<UserSettings onClose={() => undefined} />, { routes: { 'POST /v1/me:changePassword': () => ({}) } })
    openTab('Password')
    fireEvent.change(screen.getByLabelText('Current password'), { target: { value: 'old password' } })
    fireEvent.change(screen.getByLabelText('New password'), { target: { value: 'a new passphrase' } })
    fireEvent.change(screen.getByLabelText('Confirm new password'), { target: { value: 'a new passphrase' } })
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }))
    await screen.findByText(/Password changed/)
    expect(h.requests.find((r) => r.path === '/v1/me:changePassword')?.body).toEqual({
      current_password: 'old password',
      new_password: 'a new passphrase',
    })
    expect((screen.getByLabelText('Current password') as HTMLInputElement).value).toBe('')
  })

  it('shows a wrong current password as a human message and sends nothing on a mismatch', async () => {
    const h = renderWithStore(<UserSettings onClose={() => undefined} />, {
      routes: {
        'POST /v1/me:changePassword': () => ({
          status: 400,
          body: {
            code: 3,
            message: 'current_password: is wrong',
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.BadRequest',
                field_violations: [{ field: 'current_password', description: 'is wrong' }],
              },
            ],
          },
        }),
      },
    })
    openTab('Password')
    fireEvent.change(screen.getByLabelText('Current password'), { target: { value: 'nope nope' } })
    fireEvent.change(screen.getByLabelText('New password'), { target: { value: 'a new passphrase' } })
    fireEvent.change(screen.getByLabelText('Confirm new password'), { target: { value: 'a different one' } })
    expect(screen.getByText('The new passwords do not match.')).toBeTruthy()
    expect((screen.getByRole('button', { name: 'Change password' }) as HTMLButtonElement).disabled).toBe(true)
    expect(h.requests).toHaveLength(0)
    fireEvent.change(screen.getByLabelText('Confirm new password'), { target: { value: 'a new passphrase' } })
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }))
    await screen.findByText(/Current password is wrong/)
    expect(screen.queryByText(/Password changed/)).toBeNull()
  })
})

describe('sessions', () => {
  it('lists the sessions, marks this device and signs out another', async () => {
    let sessions: Session[] = [
      { session_id: 'phone', client: 'cli', create_time: t, last_used_time: t },
      { session_id: 'here', client: 'web', create_time: t, last_used_time: t, current: true },
    ]
    const h = renderWithStore(<UserSettings onClose={() => undefined} />, {
      routes: {
        'GET /v1/me/sessions': () => ({ sessions }),
        'DELETE /v1/me/sessions/phone': () => {
          sessions = sessions.filter((s) => s.session_id !== 'phone')
          return {}
        },
      },
    })
    openTab('Sessions')
    const rows = await screen.findAllByTestId('session-row')
    expect(rows).toHaveLength(2)
    expect(rows[0].textContent).toContain('cli')
    expect(rows[1].textContent).toContain('this device')
    // The current session cannot be signed out from here (Sign out in the app does that).
    expect(within(rows[1]).queryByRole('button')).toBeNull()
    fireEvent.click(within(rows[0]).getByRole('button', { name: 'Sign out cli session' }))
    await waitFor(() => expect(screen.getAllByTestId('session-row')).toHaveLength(1))
    expect(h.requests.some((r) => r.method === 'DELETE' && r.path === '/v1/me/sessions/phone')).toBe(true)
  })
})
