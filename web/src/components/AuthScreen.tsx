// Sign in / sign up, with the API's validation messages shown next to their field.
import { useState, type FormEvent } from 'react'
import { ApiError, type ApiClient } from '../api/client'

type Mode = 'login' | 'register'

interface FieldErrors {
  login?: string
  password?: string
  display_name?: string
  form?: string
}

/** validate checks what the API would refuse, so most mistakes show before a round trip. */
export function validate(mode: Mode, login: string, password: string, displayName: string): FieldErrors {
  const e: FieldErrors = {}
  if (mode === 'register') {
    if (login.length < 3 || login.length > 32) e.login = 'Login must be 3 to 32 characters.'
    else if (!/^[A-Za-z0-9_.-]+$/.test(login)) e.login = "Login may only use letters, digits, '_', '.' and '-'."
    if (password.length < 8) e.password = 'Password must be at least 8 characters.'
    else if (password.length > 128) e.password = 'Password must be at most 128 characters.'
    if (displayName.length > 32) e.display_name = 'Display name must be at most 32 characters.'
  } else {
    if (!login) e.login = 'Enter your login.'
    if (!password) e.password = 'Enter your password.'
  }
  return e
}

const LABELS = { login: 'Login', password: 'Password', display_name: 'Display name' }

/** apiFieldErrors places an API error next to the field it names. */
export function apiFieldErrors(err: unknown): FieldErrors {
  if (err instanceof ApiError) {
    if (err.code === 'ALREADY_EXISTS') return { login: 'That login is taken.' }
    if (err.code === 'UNAUTHENTICATED' || err.code === 'NOT_FOUND') return { form: 'Wrong login or password.' }
    if (err.code === 'RESOURCE_EXHAUSTED') return { form: 'Too many attempts. Wait a moment and try again.' }
    const out: FieldErrors = {}
    for (const f of ['login', 'password', 'display_name'] as const) {
      const d = err.fields[f]
      // Descriptions from the API are phrased after the field ("must be at least 3 characters").
      if (d) out[f] = /^[a-z]/.test(d) ? `${LABELS[f]} ${d}.`.replace(/\.\.$/, '.') : d
    }
    if (Object.keys(out).length === 0) out.form = err.message
    return out
  }
  return { form: err instanceof Error ? err.message : String(err) }
}

export function AuthScreen({ http }: { http: ApiClient }) {
  const [mode, setMode] = useState<Mode>('login')
  const [login, setLogin] = useState('')
  const [password, setPassword] = useState('')
  const [displayName, setDisplayName] = useState('')
  const [errors, setErrors] = useState<FieldErrors>({})
  const [busy, setBusy] = useState(false)

  async function submit(ev: FormEvent) {
    ev.preventDefault()
    const local = validate(mode, login, password, displayName)
    setErrors(local)
    if (Object.keys(local).length > 0) return
    setBusy(true)
    try {
      if (mode === 'register') await http.register(login, password, displayName.trim())
      else await http.login(login, password)
    } catch (e) {
      setErrors(apiFieldErrors(e))
      setBusy(false)
    }
  }

  const field = (
    id: 'login' | 'password' | 'display_name',
    label: string,
    value: string,
    set: (v: string) => void,
    type = 'text',
    autoComplete?: string,
  ) => (
    <div className="field">
      <label htmlFor={'auth-' + id}>{label}</label>
      <input
        id={'auth-' + id}
        name={id}
        type={type}
        value={value}
        autoComplete={autoComplete}
        aria-invalid={!!errors[id]}
        aria-describedby={errors[id] ? `auth-${id}-error` : undefined}
        onChange={(e) => set(e.target.value)}
      />
      {errors[id] && (
        <p className="field-error" id={`auth-${id}-error`} role="alert">
          {errors[id]}
        </p>
      )}
    </div>
  )

  return (
    <main className="auth-screen">
      <form className="auth-card" onSubmit={submit} noValidate aria-labelledby="auth-title">
        <div className="brand" aria-hidden="true">
          A
        </div>
        <h1 id="auth-title">{mode === 'login' ? 'Welcome back!' : 'Create an account'}</h1>
        <p className="muted">{mode === 'login' ? 'Sign in to Accord.' : 'Join your friends on Accord.'}</p>
        {field('login', 'Login', login, setLogin, 'text', 'username')}
        {mode === 'register' && field('display_name', 'Display name (optional)', displayName, setDisplayName, 'text', 'nickname')}
        {field('password', 'Password', password, setPassword, 'password', mode === 'login' ? 'current-password' : 'new-password')}
        {errors.form && (
          <p className="error-line" role="alert">
            {errors.form}
          </p>
        )}
        <button type="submit" className="primary wide" disabled={busy}>
          {busy ? 'Please wait…' : mode === 'login' ? 'Sign in' : 'Sign up'}
        </button>
        <p className="muted switch">
          {mode === 'login' ? 'Need an account? ' : 'Already have an account? '}
          <button
            type="button"
            className="link"
            onClick={() => {
              setMode(mode === 'login' ? 'register' : 'login')
              setErrors({})
            }}
          >
            {mode === 'login' ? 'Sign up' : 'Sign in'}
          </button>
        </p>
      </form>
    </main>
  )
}
