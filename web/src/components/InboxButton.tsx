// The rail's "@" button: opens the inbox of recent mentions.
import { useState } from 'react'
import { createPortal } from 'react-dom'
import { MentionsInbox } from './MentionsInbox'

export function InboxButton() {
  const [open, setOpen] = useState(false)
  return (
    <>
      <button type="button" className="rail-item inbox" onClick={() => setOpen(true)} aria-label="Mentions" title="Mentions" data-testid="mentions-inbox-button">
        <span className="rail-icon" aria-hidden="true">
          @
        </span>
      </button>
      {/* Out of the rail: on a phone the rail sits in the drawer, under the channel list. */}
      {open && createPortal(<MentionsInbox onClose={() => setOpen(false)} />, document.body)}
    </>
  )
}
