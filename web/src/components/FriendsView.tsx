// Friends: the list with presence, pending requests, blocks, and "add friend".
import { useState, type FormEvent } from 'react'
import { ApiError } from '../api/client'
import type { Relationship } from '../api/types'
import { errorText } from '../state/controller'
import { presenceOf } from '../state/reducer'
import { useApp, useAppList, useStore } from '../state/store'
import { navigate } from '../lib/route'
import { AvatarWithPresence, Badge, ErrorLine, NavToggle } from './common'

type Tab = 'online' | 'all' | 'pending' | 'blocked' | 'add'

export function FriendsView() {
  const relationships = useApp((s) => s.relationships)
  const onlineIds = useAppList((s) =>
    Object.keys(s.relationships).filter((id) => !['STATUS_OFFLINE', 'STATUS_UNSPECIFIED'].includes(presenceOf(s, id))),
  )
  const [tab, setTab] = useState<Tab>('online')
  const rels = Object.values(relationships)
  const friends = rels.filter((r) => r.type === 'RELATIONSHIP_TYPE_FRIEND')
  const incoming = rels.filter((r) => r.type === 'RELATIONSHIP_TYPE_INCOMING_REQUEST')
  const outgoing = rels.filter((r) => r.type === 'RELATIONSHIP_TYPE_OUTGOING_REQUEST')
  const blocked = rels.filter((r) => r.type === 'RELATIONSHIP_TYPE_BLOCKED')
  const isOnline = (r: Relationship) => onlineIds.includes(r.user_id)

  const tabs: [Tab, string, number?][] = [
    ['online', 'Online'],
    ['all', 'All'],
    ['pending', 'Pending', incoming.length],
    ['blocked', 'Blocked'],
    ['add', 'Add friend'],
  ]
  let list: Relationship[] = []
  if (tab === 'online') list = friends.filter(isOnline)
  else if (tab === 'all') list = friends
  else if (tab === 'pending') list = [...incoming, ...outgoing]
  else if (tab === 'blocked') list = blocked
  const byName = (a: Relationship, b: Relationship) => name(a).localeCompare(name(b))
  list.sort(byName)

  return (
    <section className="friends" aria-label="Friends">
      <header className="chat-head">
        <NavToggle />
        <h2>Friends</h2>
        <div className="tabs" role="tablist" aria-label="Friend lists">
          {tabs.map(([t, label, n]) => (
            <button key={t} type="button" role="tab" aria-selected={tab === t} className={'tab' + (t === 'add' ? ' add' : '')} onClick={() => setTab(t)}>
              {label}
              {n ? <Badge count={n} label={`${n} incoming`} /> : null}
            </button>
          ))}
        </div>
      </header>
      <div className="friends-body" role="tabpanel">
        {tab === 'add' ? (
          <AddFriend />
        ) : (
          <>
            <h3 className="section-title">
              {tab === 'online' ? 'Online' : tab === 'all' ? 'All friends' : tab === 'pending' ? 'Pending' : 'Blocked'} — {list.length}
            </h3>
            {list.length === 0 && <p className="muted pad">{emptyText(tab)}</p>}
            <ul className="friend-list">
              {list.map((r) => (
                <FriendRow key={r.user_id} r={r} />
              ))}
            </ul>
          </>
        )}
      </div>
    </section>
  )
}

function name(r: Relationship): string {
  return r.user?.display_name || r.user?.login || 'Unknown user'
}

function emptyText(tab: Tab): string {
  switch (tab) {
    case 'online':
      return 'No friends online right now.'
    case 'pending':
      return 'No pending friend requests.'
    case 'blocked':
      return 'You have not blocked anyone.'
    default:
      return 'No friends yet. Add one by login.'
  }
}

function FriendRow({ r }: { r: Relationship }) {
  const { api, ctl } = useStore()
  const status = useApp((s) => presenceOf(s, r.user_id))
  const [err, setErr] = useState<string | null>(null)
  const act = (fn: () => Promise<unknown>) => async () => {
    setErr(null)
    try {
      await fn()
    } catch (e) {
      setErr(errorText(e))
    }
  }
  // Each action answers with the new relationship, or events bring it; apply the answer at once.
  const upsert = (x: unknown) => {
    const rel = (x as { relationship?: Relationship })?.relationship
    if (rel) ctl.dispatchRelationship(rel)
  }
  const remove = () => ctl.dropRelationship(r.user_id)
  const kind = r.type
  return (
    <li className="friend-row" data-testid="friend-row" data-login={r.user?.login}>
      <AvatarWithPresence id={r.user_id} name={name(r)} status={status} size={36} />
      <div className="friend-names">
        <strong>{name(r)}</strong>
        <span className="muted small">
          {kind === 'RELATIONSHIP_TYPE_INCOMING_REQUEST'
            ? 'Incoming friend request'
            : kind === 'RELATIONSHIP_TYPE_OUTGOING_REQUEST'
              ? 'Outgoing friend request'
              : kind === 'RELATIONSHIP_TYPE_BLOCKED'
                ? 'Blocked'
                : '@' + (r.user?.login ?? '')}
        </span>
        <ErrorLine text={err} />
      </div>
      <div className="row-actions">
        {kind === 'RELATIONSHIP_TYPE_FRIEND' && (
          <>
            <button
              type="button"
              className="primary small"
              onClick={act(async () => {
                const id = await ctl.openConversation(r.user_id)
                navigate({ name: 'dm', serverId: id })
              })}
            >
              Message
            </button>
            <button type="button" className="secondary small" onClick={act(() => api.removeFriend(r.user_id).then(remove))}>
              Remove
            </button>
            <button type="button" className="danger small" onClick={act(() => api.block(r.user_id).then(upsert))}>
              Block
            </button>
          </>
        )}
        {kind === 'RELATIONSHIP_TYPE_INCOMING_REQUEST' && (
          <>
            <button type="button" className="primary small" onClick={act(() => api.acceptFriend(r.user_id).then(upsert))}>
              Accept
            </button>
            <button type="button" className="secondary small" onClick={act(() => api.declineFriend(r.user_id).then(remove))}>
              Decline
            </button>
            <button type="button" className="danger small" onClick={act(() => api.block(r.user_id).then(upsert))}>
              Block
            </button>
          </>
        )}
        {kind === 'RELATIONSHIP_TYPE_OUTGOING_REQUEST' && (
          <button type="button" className="secondary small" onClick={act(() => api.cancelFriend(r.user_id).then(remove))}>
            Cancel
          </button>
        )}
        {kind === 'RELATIONSHIP_TYPE_BLOCKED' && (
          <button type="button" className="secondary small" onClick={act(() => api.unblock(r.user_id).then(remove))}>
            Unblock
          </button>
        )}
      </div>
    </li>
  )
}

function AddFriend() {
  const { api, ctl } = useStore()
  const [login, setLogin] = useState('')
  const [err, setErr] = useState<string | null>(null)
  const [ok, setOk] = useState<string | null>(null)
  async function submit(e: FormEvent) {
    e.preventDefault()
    setErr(null)
    setOk(null)
    const l = login.trim()
    if (!/^[A-Za-z0-9_.-]{1,32}$/.test(l)) return setErr('Enter a login: letters, digits, _ . -')
    try {
      const rel = await api.sendFriendRequest(l)
      ctl.dispatchRelationship(rel)
      setOk(rel.type === 'RELATIONSHIP_TYPE_FRIEND' ? `You and ${l} are now friends.` : `Friend request sent to ${l}.`)
      setLogin('')
    } catch (e) {
      if (e instanceof ApiError && e.code === 'NOT_FOUND') setErr(`No user with login ${l}.`)
      else setErr(errorText(e))
    }
  }
  return (
    <form className="add-friend" onSubmit={submit}>
      <h3>Add friend</h3>
      <p className="muted">You can add friends with their login.</p>
      <div className="inline-form">
        <label htmlFor="add-friend-login" className="visually-hidden">
          Login
        </label>
        <input id="add-friend-login" value={login} placeholder="Enter a login" onChange={(e) => setLogin(e.target.value)} aria-invalid={!!err} />
        <button type="submit" className="primary">
          Send friend request
        </button>
      </div>
      <ErrorLine text={err} />
      {ok && (
        <p className="ok-line" role="status">
          {ok}
        </p>
      )}
    </form>
  )
}
