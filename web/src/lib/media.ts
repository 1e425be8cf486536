// Media queries as React state (window width classes, reduced motion, colour scheme).
import { useSyncExternalStore } from 'react'

/** useMediaQuery follows a CSS media query; false where matchMedia is missing. */
export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (on) => {
      if (typeof window.matchMedia !== 'function') return () => undefined
      const m = window.matchMedia(query)
      m.addEventListener('change', on)
      return () => m.removeEventListener('change', on)
    },
    () => (typeof window.matchMedia === 'function' ? window.matchMedia(query).matches : false),
  )
}

/** The widths the layout changes at (styles.css uses the same numbers). */
export const WIDE = '(min-width: 1000px)'
export const PHONE = '(max-width: 600px)'
