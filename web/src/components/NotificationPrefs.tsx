// Notification settings (a tab of the user settings): browser notifications
// (permission asked here, on the user's click, never on load), and per server
// the level (all messages, only mentions, nothing) and muted channels. The
// server keeps the settings and reports them in every read state.
import { useState } from 'react'
import type { NotificationLevel } from '../api/types'
import { askNotifications } from '../lib/attention'
import { humanError } from '../lib/format'
import { channelsOf, isGuild } from '../state/reducer'
import { useApp, useAppList, useStore } from '../state/store'
import { ErrorLine } from './common'

const LEVELS: [NotificationLevel, string][] = [
  ['NOTIFICATION_LEVEL_ALL', 'All messages'],
  ['NOTIFICATION_LEVEL_MENTIONS', 'Only mentions'],
  ['NOTIFICATION_LEVEL_NOTHING', 'Nothing'],
]

function permissionText(p: string): string {
  if (p === 'granted') return 'Allowed: direct messages and mentions notify you while Accord is in the background.'
  if (p === 'denied') return 'Blocked in this browser: allow notifications for this site in the browser settings.'
  if (p === 'unsupported') return 'This browser cannot show notifications.'
  return 'Not asked yet.'
}

export function NotificationPrefs() {
  const [permission, setPermission] = useState<string>(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission)
  const guilds = useAppList((s) => s.serverOrder.filter((id) => s.servers[id] && isGuild(s.servers[id])))
  return (
    <div className="notification-prefs">
      <h3>Browser notifications</h3>
      <p className="hint">{permissionText(permission)}</p>
      {permission === 'default' && (
        <button type="button" className="button" onClick={() => void askNotifications().then(setPermission)}>
          Enable notifications
        </button>
      )}
      <h3>Servers</h3>
      {guilds.length === 0 && <p className="hint">You are in no server yet.</p>}
      {guilds.map((id) => (
        <ServerPrefs key={id} serverId={id} />
      ))}
    </div>
  )
}

function ServerPrefs({ serverId }: { serverId: string }) {
  const { api } = useStore()
  const name = useApp((s) => s.servers[serverId]?.name ?? '')
  const channels = useAppList((s) => channelsOf(s, serverId))
  const level = useApp((s) => channelsOf(s, serverId).map((c) => s.readStates[c.id]?.notification_level).find(Boolean) ?? 'NOTIFICATION_LEVEL_ALL')
  const muted = useAppList((s) => channelsOf(s, serverId).filter((c) => s.readStates[c.id]?.muted).map((c) => c.id))
  const [error, setError] = useState('')
  const run = (p: Promise<unknown>) => {
    setError('')
    p.catch((e) => setError(humanError(e)))
  }
  return (
    <fieldset className="server-prefs" data-testid="server-notification-prefs">
      <legend>{name}</legend>
      <label>
        Notify me of{' '}
        <select value={level} onChange={(e) => run(api.setServerLevel(serverId, e.target.value as NotificationLevel))}>
          {LEVELS.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <ul className="mute-list">
        {channels.map((c) => (
          <li key={c.id}>
            <label>
              <input type="checkbox" checked={muted.includes(c.id)} onChange={(e) => run(api.setChannelMuted(c.id, e.target.checked))} /> Mute #{c.name}
            </label>
          </li>
        ))}
      </ul>
      <ErrorLine text={error} />
    </fieldset>
  )
}
