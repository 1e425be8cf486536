// The colour theme: dark, light, or following the system; kept in localStorage
// and applied as data-theme on <html> (styles.css holds both palettes).
import { useSyncExternalStore } from 'react'

export type ThemeChoice = 'system' | 'dark' | 'light'

const KEY = 'accord.theme'
const LIGHT = '(prefers-color-scheme: light)'
const listeners = new Set<() => void>()

/** themeChoice is the stored choice ("system" when none). */
export function themeChoice(): ThemeChoice {
  const v = window.localStorage.getItem(KEY)
  return v === 'dark' || v === 'light' ? v : 'system'
}

/** resolveTheme turns a choice into the palette shown. */
export function resolveTheme(choice: ThemeChoice, systemLight: boolean): 'dark' | 'light' {
  if (choice === 'system') return systemLight ? 'light' : 'dark'
  return choice
}

function systemLight(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia(LIGHT).matches
}

/** applyTheme sets the palette on <html>. */
export function applyTheme(): void {
  document.documentElement.dataset.theme = resolveTheme(themeChoice(), systemLight())
}

/** setThemeChoice stores a choice and applies it. */
export function setThemeChoice(choice: ThemeChoice): void {
  if (choice === 'system') window.localStorage.removeItem(KEY)
  else window.localStorage.setItem(KEY, choice)
  applyTheme()
  for (const fn of listeners) fn()
}

/** watchTheme applies the theme now and again whenever the system setting or another tab changes it. */
export function watchTheme(): () => void {
  applyTheme()
  const m = typeof window.matchMedia === 'function' ? window.matchMedia(LIGHT) : null
  const on = () => {
    applyTheme()
    for (const fn of listeners) fn()
  }
  const onStorage = (e: StorageEvent) => e.key === KEY && on()
  m?.addEventListener('change', on)
  window.addEventListener('storage', onStorage)
  return () => {
    m?.removeEventListener('change', on)
    window.removeEventListener('storage', onStorage)
  }
}

/** useThemeChoice follows the stored choice. */
export function useThemeChoice(): ThemeChoice {
  return useSyncExternalStore(
    (fn) => {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    themeChoice,
  )
}
