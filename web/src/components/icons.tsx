// Inline SVG icons (system fonts may lack the symbol glyphs).
const base = { width: 20, height: 20, viewBox: '0 0 24 24', 'aria-hidden': true, focusable: false } as const

export const GearIcon = () => (
  <svg {...base} fill="currentColor">
    <path d="M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.6 7.6 0 0 0-1.7-1L15 3h-4l-.4 2.9a7.6 7.6 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7.6 7.6 0 0 0 1.7 1L11 21h4l.4-2.9a7.6 7.6 0 0 0 1.7-1l2.5 1 2-3.5zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z" />
  </svg>
)

/** SignOutIcon: a power symbol (end the session). */
export const SignOutIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" data-icon="sign-out">
    <path d="M12 3v9M6.3 6.3a8 8 0 1 0 11.4 0" />
  </svg>
)

/** LeaveIcon: an open door with an arrow leaving it (leave a server). */
export const LeaveIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" data-icon="leave">
    <path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9" />
  </svg>
)

export const PlusIcon = () => (
  <svg {...base} width={16} height={16} fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round">
    <path d="M12 5v14M5 12h14" />
  </svg>
)

export const MenuIcon = () => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round">
    <path d="M4 6h16M4 12h16M4 18h16" />
  </svg>
)

export const MembersIcon = () => (
  <svg {...base} fill="currentColor">
    <path d="M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-4 0-7 2-7 4.5V20h14v-2.5C16 15 13 13 9 13zm8-2a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm1 2c-.6 0-1.2.1-1.7.2 1.1.9 1.7 2 1.7 3.3V20h4v-2.5c0-2.3-1.8-4.5-4-4.5z" />
  </svg>
)

export const FriendsIcon = () => (
  <svg {...base} fill="currentColor">
    <path d="M12 12a5 5 0 1 0 0-10 5 5 0 0 0 0 10zm0 2c-5 0-9 2.5-9 5.5V22h18v-2.5c0-3-4-5.5-9-5.5z" />
  </svg>
)

export const CrownIcon = () => (
  <svg {...base} width={14} height={14} fill="#f0b232">
    <path d="M3 18h18l-1.5-10-4.5 4-3-6-3 6-4.5-4z" />
  </svg>
)
