// User settings: your profile (display name, status text), password, signed-in
// sessions and appearance (theme).
import { useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { formatTime, humanError } from '../lib/format'
import { useApp, useStore } from '../state/store'
import { Avatar, ErrorLine, PicturePicker } from './common'
import { setThemeChoice, useThemeChoice, type ThemeChoice } from '../lib/theme'
import { Modal } from './common'
import { NotificationPrefs } from './NotificationPrefs'

type Tab = 'profile' | 'password' | 'sessions' | 'appearance' | 'notifications'

const THEMES: [ThemeChoice, string, string][] = [
  ['system', 'System', 'Follow the light or dark setting of your device.'],
  ['dark', 'Dark', 'Dark backgrounds, light text.'],
  ['light', 'Light', 'Light backgrounds, dark text.'],
]

export function UserSettings({ onClose }: { onClose: () => void }) {
  const [tab, setTab] = useState<Tab>('profile')
  const tabs: [Tab, string][] = [
    ['profile', 'Profile'],
    ['password', 'Password'],
    ['sessions', 'Sessions'],
    ['appearance', 'Appearance'],
    ['notifications', 'Notifications'],
  ]
  return (
    <Modal title="User settings" onClose={onClose} wide>
      <div className="settings">
        <div className="tabs vertical" role="tablist" aria-label="Settings sections" aria-orientation="vertical">
          {tabs.map(([t, label]) => (
            <button key={t} type="button" role="tab" id={'user-tab-' + t} aria-controls="user-settings-panel" aria-selected={tab === t} className="tab" onClick={() => setTab(t)}>
              {label}
            </button>
          ))}
        </div>
        <div className="settings-body" role="tabpanel" id="user-settings-panel" aria-labelledby={'user-tab-' + tab}>
          {tab === 'profile' && <Profile />}
          {tab === 'password' && <Password />}
          {tab === 'sessions' && <Sessions />}
          {tab === 'appearance' && <Appearance />}
          {tab === 'notifications' && <NotificationPrefs />}
        </div>
      </div>
    </Modal>
  )
}

function Appearance() {
  const choice = useThemeChoice()
  return (
    <fieldset className="stack theme-choice">
      <legend>
        <h3>Theme</h3>
      </legend>
      {THEMES.map(([value, label, hint]) => (
        <label key={value} className="radio-row">
          <input type="radio" name="theme" value={value} checked={choice === value} onChange={() => setThemeChoice(value)} />
          <span>
            <strong>{label}</strong>
            <span className="muted small"> — {hint}</span>
          </span>
        </label>
      ))}
    </fieldset>
  )
}

/** Profile edits what others see: the display name and the status text under it. */
function Profile() {
  const { api, ctl } = useStore()
  const me = useApp((s) => s.me!)
  const [name, setName] = useState(me.display_name ?? '')
  const [status, setStatus] = useState(me.status_text ?? '')
  const save = useMutation({
    mutationFn: () => api.updateMe({ display_name: name.trim(), status_text: status.trim() }),
    onSuccess: (user) => {
      api.http.setUser(user)
      ctl.apply({ type: 'usersLoaded', users: [user] })
      ctl.apply({ type: 'signedIn', me: user })
    },
  })
  function submit(e: FormEvent) {
    e.preventDefault()
    save.mutate()
  }
  const applyUser = (user: typeof me) => {
    const u = { ...user, avatar: user.avatar ?? '' }
    api.http.setUser(u)
    ctl.apply({ type: 'usersLoaded', users: [u] })
    ctl.apply({ type: 'signedIn', me: u })
  }
  return (
    <div className="stack">
      <PicturePicker
        id="avatar-file"
        label="Avatar"
        has={!!me.avatar}
        preview={<Avatar id={me.id} name={me.display_name || me.login} size={64} />}
        upload={async (f) => applyUser(await api.setAvatar(f))}
        remove={async () => applyUser(await api.removeAvatar())}
      />
      <form className="stack" onSubmit={submit}>
        <h3>Profile</h3>
        <p className="muted small">
          Signed in as <strong>@{me.login}</strong>.
        </p>
        <div className="field">
          <label htmlFor="profile-name">Display name</label>
          <input id="profile-name" value={name} maxLength={32} placeholder={me.login} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="profile-status">Status text</label>
          <input id="profile-status" value={status} maxLength={128} placeholder="What are you up to?" onChange={(e) => setStatus(e.target.value)} />
        </div>
        <ErrorLine text={save.error ? humanError(save.error) : null} />
        {save.isSuccess && (
          <p className="ok-line" role="status">
            Saved.
          </p>
        )}
        <div className="dialog-actions">
          <button type="submit" className="primary" disabled={save.isPending}>
            Save profile
          </button>
        </div>
      </form>
    </div>
  )
}

const SESSIONS_KEY = ['me', 'sessions']

/** Password changes the password; the server signs out every other session. */
function Password() {
  const { api } = useStore()
  const qc = useQueryClient()
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [confirm, setConfirm] = useState('')
  const mismatch = confirm !== '' && next !== confirm
  const change = useMutation({
    mutationFn: () => api.changePassword(current, next),
    onSuccess: () => {
      setCurrent('')
      setNext('')
      setConfirm('')
      void qc.invalidateQueries({ queryKey: SESSIONS_KEY })
    },
  })
  function submit(e: FormEvent) {
    e.preventDefault()
    if (mismatch) return
    change.mutate()
  }
  return (
    <form className="stack" onSubmit={submit}>
      <h3>Password</h3>
      <p className="muted small">Changing your password signs you out everywhere else.</p>
      <div className="field">
        <label htmlFor="password-current">Current password</label>
        <input id="password-current" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="password-new">New password</label>
        <input id="password-new" type="password" autoComplete="new-password" required minLength={8} maxLength={128} value={next} onChange={(e) => setNext(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="password-confirm">Confirm new password</label>
        <input id="password-confirm" type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
      </div>
      <ErrorLine
        text={
          mismatch
            ? 'The new passwords do not match.'
            : change.error
              ? humanError(change.error)
              : null
        }
      />
      {change.isSuccess && (
        <p className="ok-line" role="status">
          Password changed. Your other sessions were signed out.
        </p>
      )}
      <div className="dialog-actions">
        <button type="submit" className="primary" disabled={change.isPending || mismatch}>
          Change password
        </button>
      </div>
    </form>
  )
}

/** Sessions lists where the account is signed in and signs out the others. */
function Sessions() {
  const { api } = useStore()
  const qc = useQueryClient()
  const list = useQuery({ queryKey: SESSIONS_KEY, queryFn: api.listSessions })
  const revoke = useMutation({
    mutationFn: (id: string) => api.revokeSession(id),
    onSettled: () => qc.invalidateQueries({ queryKey: SESSIONS_KEY }),
  })
  return (
    <div className="stack">
      <h3>Sessions</h3>
      <p className="muted small">Devices signed in to your account.</p>
      {list.isPending && <p className="muted">Loading sessions…</p>}
      <ErrorLine text={list.error ? humanError(list.error) : revoke.error ? humanError(revoke.error) : null} />
      {list.data && (
        <ul className="session-list" aria-label="Sessions">
          {list.data.map((s) => (
            <li key={s.session_id} className="session-row" data-testid="session-row">
              <div>
                <strong>{s.client || 'Unknown client'}</strong>
                {s.current && <span className="muted small"> · this device</span>}
                <div className="muted small">
                  Signed in {formatTime(s.create_time)} · last active {formatTime(s.last_used_time)}
                </div>
              </div>
              {!s.current && (
                <button
                  type="button"
                  className="danger"
                  disabled={revoke.isPending && revoke.variables === s.session_id}
                  aria-label={`Sign out ${s.client || 'unknown client'} session`}
                  onClick={() => revoke.mutate(s.session_id)}
                >
                  Sign out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
