// JumpToPresent is the bar over the composer while the history shown was
// opened around an older message: one click returns to the newest messages.
export function JumpToPresent({ onJump }: { onJump: () => void }) {
  return (
    <div className="jump-bar" role="status" data-testid="jump-bar">
      <span>You are viewing older messages</span>
      <span className="spacer" />
      <button type="button" className="secondary small" onClick={onJump} data-testid="jump-to-present">
        Jump to present
      </button>
    </div>
  )
}
