// Server settings for owners and admins: rename, channels, members, invites.
import { useEffect, useState, type FormEvent } from 'react'
import type { Invite, Member, Role } from '../api/types'
import { channelsOf } from '../state/reducer'
import { useApp, useAppList, useStore } from '../state/store'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { navigate } from '../lib/route'
import { ErrorLine, Modal, PicturePicker } from './common'
import { ServerIcon } from './ServerRail'
import { ChannelNameInput } from './ChannelNameInput'
import { channelSlug, humanError } from '../lib/format'

type Tab = 'overview' | 'channels' | 'members' | 'invites'

export function ServerSettings({ serverId, onClose }: { serverId: string; onClose: () => void }) {
  const server = useApp((s) => s.servers[serverId])
  const [tab, setTab] = useState<Tab>('overview')
  const tabs: [Tab, string][] = [
    ['overview', 'Overview'],
    ['channels', 'Channels'],
    ['members', 'Members'],
    ['invites', 'Invites'],
  ]
  return (
    <Modal title={`${server.name} settings`} onClose={onClose} wide>
      <div className="settings">
        <div className="tabs vertical" role="tablist" aria-label="Settings sections" aria-orientation="vertical">
          {tabs.map(([t, label]) => (
            <button key={t} type="button" role="tab" aria-selected={tab === t} className="tab" onClick={() => setTab(t)}>
              {label}
            </button>
          ))}
        </div>
        <div className="settings-body" role="tabpanel">
          {tab === 'overview' && <Overview serverId={serverId} onClose={onClose} />}
          {tab === 'channels' && <Channels serverId={serverId} />}
          {tab === 'members' && <Members serverId={serverId} />}
          {tab === 'invites' && <Invites serverId={serverId} />}
        </div>
      </div>
    </Modal>
  )
}

/** useAction runs one settings change at a time as a TanStack mutation: its error and pending state. */
function useAction(what = 'Name') {
  const m = useMutation({ mutationFn: (fn: () => Promise<unknown>) => fn() })
  const run = async (fn: () => Promise<unknown>) => {
    try {
      await m.mutateAsync(fn)
      return true
    } catch {
      return false
    }
  }
  return { err: m.error ? humanError(m.error, { name: what }) : null, run, busy: m.isPending }
}

function Overview({ serverId, onClose }: { serverId: string; onClose: () => void }) {
  const { api, ctl } = useStore()
  const server = useApp((s) => s.servers[serverId])
  const [name, setName] = useState(server.name ?? '')
  const [saved, setSaved] = useState(false)
  const { err, run } = useAction()
  async function save(e: FormEvent) {
    e.preventDefault()
    setSaved(false)
    if (await run(async () => ctl.apply({ type: 'serverUpserted', server: await api.renameServer(serverId, name.trim()) }))) setSaved(true)
  }
  const applyServer = (srv: typeof server) => ctl.apply({ type: 'serverUpserted', server: { ...srv, icon: srv.icon ?? '' } })
  return (
    <div className="stack">
      <PicturePicker
        id="server-icon-file"
        label="Icon"
        has={!!server.icon}
        preview={<ServerIcon id={serverId} name={server.name ?? '?'} icon={server.icon} active={false} />}
        upload={async (f) => applyServer(await api.setServerIcon(serverId, f))}
        remove={async () => applyServer(await api.removeServerIcon(serverId))}
      />
      <form onSubmit={save} className="stack">
        <h3>Server name</h3>
        <div className="inline-form">
          <label htmlFor="server-name" className="visually-hidden">
            Server name
          </label>
          <input id="server-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
          <button type="submit" className="primary">
            Save
          </button>
        </div>
        {saved && (
          <p className="ok-line" role="status">
            Saved.
          </p>
        )}
      </form>
      <ErrorLine text={err} />
      {server.my_role === 'ROLE_OWNER' && (
        <div className="stack danger-zone">
          <h3>Delete server</h3>
          <p className="muted">This deletes every channel and message. It cannot be undone.</p>
          <button
            type="button"
            className="danger"
            onClick={() =>
              window.confirm(`Delete ${server.name} for everyone?`) &&
              run(async () => {
                await api.deleteServer(serverId)
                ctl.apply({ type: 'serverRemoved', serverId })
                onClose()
                navigate({ name: 'home' })
              })
            }
          >
            Delete server
          </button>
        </div>
      )}
    </div>
  )
}

function Channels({ serverId }: { serverId: string }) {
  const { api, ctl } = useStore()
  const channels = useAppList((s) => channelsOf(s, serverId))
  const [newName, setNewName] = useState('')
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null)
  const { err, run } = useAction('Channel name')

  const move = (i: number, d: number) =>
    run(async () => {
      const ids = channels.map((c) => c.id)
      const j = i + d
      ;[ids[i], ids[j]] = [ids[j], ids[i]]
      const next = await api.reorderChannels(serverId, ids)
      for (const c of next) ctl.apply({ type: 'channelUpserted', channel: c })
    })
  return (
    <div className="stack">
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault()
          const n = channelSlug(newName, true)
          void run(async () => {
            ctl.apply({ type: 'channelUpserted', channel: await api.createChannel(serverId, n) })
            setNewName('')
          })
        }}
      >
        <h3>Create channel</h3>
        <div className="inline-form">
          <label htmlFor="new-channel" className="visually-hidden">
            New channel name
          </label>
          <ChannelNameInput id="new-channel" value={newName} onChange={setNewName} />
          <button type="submit" className="primary">
            Create
          </button>
        </div>
        <p className="muted small">Lower-case words joined by dashes; spaces turn into dashes as you type.</p>
      </form>
      <ErrorLine text={err} />
      <h3>Channels</h3>
      <ul className="settings-list">
        {channels.map((c, i) => (
          <li key={c.id}>
            {renaming?.id === c.id ? (
              <form
                className="inline-form"
                onSubmit={(e) => {
                  e.preventDefault()
                  void run(async () => {
                    ctl.apply({ type: 'channelUpserted', channel: await api.renameChannel(c.id, channelSlug(renaming.name, true)) })
                    setRenaming(null)
                  })
                }}
              >
                <label htmlFor={'rename-' + c.id} className="visually-hidden">
                  New name for {c.name}
                </label>
                <ChannelNameInput id={'rename-' + c.id} autoFocus value={renaming.name} onChange={(name) => setRenaming({ id: c.id, name })} />
                <button type="submit" className="primary small">
                  Save
                </button>
                <button type="button" className="secondary small" onClick={() => setRenaming(null)}>
                  Cancel
                </button>
              </form>
            ) : (
              <>
                <span className="grow"># {c.name}</span>
                <button type="button" className="icon-button" aria-label={`Move ${c.name} up`} disabled={i === 0} onClick={() => move(i, -1)}>
                  ↑
                </button>
                <button type="button" className="icon-button" aria-label={`Move ${c.name} down`} disabled={i === channels.length - 1} onClick={() => move(i, 1)}>
                  ↓
                </button>
                <button type="button" className="secondary small" onClick={() => setRenaming({ id: c.id, name: c.name })}>
                  Rename
                </button>
                <button
                  type="button"
                  className="danger small"
                  onClick={() =>
                    window.confirm(`Delete #${c.name} and its messages?`) &&
                    run(async () => {
                      await api.deleteChannel(c.id)
                      ctl.apply({ type: 'channelRemoved', channelId: c.id })
                    })
                  }
                >
                  Delete
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    </div>
  )
}

const ROLE_NAME: Record<Role, string> = { ROLE_OWNER: 'Owner', ROLE_ADMIN: 'Admin', ROLE_MEMBER: 'Member', ROLE_UNSPECIFIED: '' }
const RANK: Record<Role, number> = { ROLE_OWNER: 3, ROLE_ADMIN: 2, ROLE_MEMBER: 1, ROLE_UNSPECIFIED: 0 }

function Members({ serverId }: { serverId: string }) {
  const { api, ctl } = useStore()
  const server = useApp((s) => s.servers[serverId])
  const meId = useApp((s) => s.me?.id)
  const byId = useApp((s) => s.members[serverId])
  const users = useApp((s) => s.users)
  const myRank = RANK[server.my_role ?? 'ROLE_UNSPECIFIED']
  const members = Object.values(byId ?? {}).sort((a, b) => RANK[b.role ?? 'ROLE_UNSPECIFIED'] - RANK[a.role ?? 'ROLE_UNSPECIFIED'])
  const { err, run } = useAction()
  useEffect(() => {
    void ctl.loadMembers(serverId, true).catch(() => undefined)
  }, [ctl, serverId])
  const name = (m: Member) => m.display_name || m.login || users[m.user_id]?.display_name || users[m.user_id]?.login || 'Unknown user'
  return (
    <div className="stack">
      <h3>Members — {members.length}</h3>
      <ErrorLine text={err} />
      <ul className="settings-list">
        {members.map((m) => {
          const rank = RANK[m.role ?? 'ROLE_UNSPECIFIED']
          const me = m.user_id === meId
          return (
            <li key={m.user_id} data-testid="settings-member">
              <span className="grow">
                {name(m)} <span className="muted small">@{m.login}</span>
              </span>
              <span className="role-tag small">{ROLE_NAME[m.role ?? 'ROLE_UNSPECIFIED']}</span>
              {server.my_role === 'ROLE_OWNER' && !me && m.role !== 'ROLE_OWNER' && (
                <button
                  type="button"
                  className="secondary small"
                  onClick={() =>
                    run(async () => {
                      const r = await api.setRole(serverId, m.user_id, m.role === 'ROLE_ADMIN' ? 'ROLE_MEMBER' : 'ROLE_ADMIN')
                      ctl.apply({ type: 'memberUpserted', member: r.member })
                    })
                  }
                >
                  {m.role === 'ROLE_ADMIN' ? 'Demote' : 'Promote to admin'}
                </button>
              )}
              {!me && rank < myRank && (
                <button
                  type="button"
                  className="danger small"
                  onClick={() =>
                    window.confirm(`Kick ${name(m)}?`) &&
                    run(async () => {
                      await api.kick(serverId, m.user_id)
                      ctl.apply({ type: 'memberRemoved', serverId, userId: m.user_id })
                    })
                  }
                >
                  Kick
                </button>
              )}
            </li>
          )
        })}
      </ul>
    </div>
  )
}

function Invites({ serverId }: { serverId: string }) {
  const { api } = useStore()
  const client = useQueryClient()
  const key = ['invites', serverId]
  const list = useQuery({ queryKey: key, queryFn: () => api.listInvites(serverId) })
  const invites = list.data ?? []
  const setInvites = (f: (l: Invite[]) => Invite[]) => client.setQueryData<Invite[]>(key, (l) => f(l ?? []))
  const [copied, setCopied] = useState<{ code: string; ok: boolean } | null>(null)
  const [ttl, setTtl] = useState('604800')
  const [maxUses, setMaxUses] = useState('0')
  const { err, run } = useAction()
  async function copy(code: string) {
    try {
      await navigator.clipboard.writeText(code)
      setCopied({ code, ok: true })
    } catch {
      // Clipboard access can be refused (insecure origin); the code stays visible to copy by hand.
      setCopied({ code, ok: false })
    }
  }
  return (
    <div className="stack">
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault()
          void run(async () => {
            const inv = await api.createInvite(serverId, Number(ttl), Number(maxUses))
            setInvites((l) => [inv, ...l])
            void copy(inv.code)
          })
        }}
      >
        <h3>Create invite</h3>
        <div className="inline-form">
          <label htmlFor="invite-ttl">Expires after</label>
          <select id="invite-ttl" value={ttl} onChange={(e) => setTtl(e.target.value)}>
            <option value="3600">1 hour</option>
            <option value="86400">1 day</option>
            <option value="604800">7 days</option>
            <option value="0">Never</option>
          </select>
          <label htmlFor="invite-uses">Max uses</label>
          <select id="invite-uses" value={maxUses} onChange={(e) => setMaxUses(e.target.value)}>
            <option value="0">No limit</option>
            <option value="1">1</option>
            <option value="10">10</option>
            <option value="100">100</option>
          </select>
          <button type="submit" className="primary">
            Create invite
          </button>
        </div>
      </form>
      <ErrorLine text={err} />
      <h3>Active invites</h3>
      {list.isPending && <p className="muted">Loading invites…</p>}
      {list.error && <ErrorLine text={humanError(list.error)} />}
      {list.isSuccess && invites.length === 0 && <p className="muted">No active invites.</p>}
      <ul className="settings-list">
        {invites.map((inv) => (
          <li key={inv.code}>
            <code className="invite-code grow" data-testid="invite-code">
              {inv.code}
            </code>
            <span className="muted small">
              {inv.uses ?? 0}
              {inv.max_uses ? `/${inv.max_uses}` : ''} uses · {inv.expire_time ? 'expires ' + new Date(inv.expire_time).toLocaleString() : 'never expires'}
            </span>
            <button type="button" className="secondary small" onClick={() => copy(inv.code)}>
              {copied?.code === inv.code && copied.ok ? 'Copied' : 'Copy'}
            </button>
            {copied?.code === inv.code && !copied.ok && (
              <span className="error-line" role="alert">
                Could not copy; select the code and copy it by hand.
              </span>
            )}
            <button
              type="button"
              className="danger small"
              onClick={() =>
                run(async () => {
                  await api.deleteInvite(serverId, inv.code)
                  setInvites((l) => l.filter((x) => x.code !== inv.code))
                })
              }
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </div>
  )
}
