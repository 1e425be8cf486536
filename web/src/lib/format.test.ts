import { describe, expect, it } from 'vitest'
import { ApiError, decodeError } from '../api/client'
import { axisLabel, bucketLabel, channelSlug, clockTime, formatTime, humanError, retrySeconds, tickEvery } from './format'

describe('channelSlug', () => {
  it('turns a typed name into an accepted channel name', () => {
    expect(channelSlug('Random Stuff!', true)).toBe('random-stuff')
    expect(channelSlug('  Café  Talk__2 ', true)).toBe('cafe-talk-2')
    expect(channelSlug('---', true)).toBe('')
  })
  it('keeps a trailing dash while typing, so the next word can follow', () => {
    let typed = ''
    for (const ch of 'Random Stuff!') typed = channelSlug(typed + ch)
    expect(typed).toBe('random-stuff')
    expect(channelSlug('random ')).toBe('random-')
  })
  it('matches the API pattern and length', () => {
    const s = channelSlug('A'.repeat(50) + ' b', true)
    expect(s.length).toBeLessThanOrEqual(32)
    expect(s).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/)
  })
})

describe('humanError', () => {
  it('says what is wrong with a channel name instead of quoting a regex', () => {
    const e = decodeError(400, {
      code: 'INVALID_ARGUMENT',
      message: 'name: does not match regex pattern `^[a-z0-9]+(-[a-z0-9]+)*$`',
      field: 'name',
    })
    const text = humanError(e, { name: 'Channel name' })
    expect(text).not.toMatch(/regex|\^|\$/)
    expect(text).toBe('Channel names may only use lower-case letters, digits and dashes.')
  })
  it('words length limits', () => {
    const e = decodeError(400, { code: 'INVALID_ARGUMENT', message: 'display_name: value length must be at most 32 characters', field: 'display_name' })
    expect(humanError(e)).toBe('Display name must be at most 32 characters.')
  })
})

describe('retrySeconds', () => {
  it('reads whole seconds from the error details, rounded up', () => {
    const e = decodeError(429, {
      code: 'RESOURCE_EXHAUSTED',
      message: 'too many messages in this channel; retry in 8.286s',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'RATE_LIMITED', metadata: { retry_after_ms: '8286' } }],
    })
    expect(retrySeconds(e)).toBe(9)
  })
  it('falls back to the message', () => {
    expect(retrySeconds(new ApiError(429, 'RESOURCE_EXHAUSTED', 'retry in 1.2s'))).toBe(2)
    expect(retrySeconds(new ApiError(429, 'RESOURCE_EXHAUSTED', 'retry in 300ms'))).toBe(1)
  })
})

describe('times and dates', () => {
  it('never zero-pads the hour', () => {
    const d = new Date(2026, 11, 2, 2, 30)
    expect(clockTime(d)).not.toMatch(/^0/)
    expect(clockTime(d)).toMatch(/^2.30/)
    expect(formatTime(d.toISOString(), new Date(2026, 11, 2, 12))).toMatch(/^Today at 2.30/)
  })
  it('names a whole day without a time', () => {
    const day = bucketLabel(new Date(2026, 11, 2).toISOString(), 'day')
    expect(day).not.toMatch(/\d:\d\d/)
    expect(day).toContain('2026')
    expect(bucketLabel(new Date(2026, 11, 2, 14).toISOString(), 'hour')).toMatch(/\d:00/)
  })
  it('keeps hour axis labels short (no date glued on)', () => {
    const l = axisLabel(new Date(2026, 11, 2, 2).toISOString(), 'hour')
    expect(l.length).toBeLessThanOrEqual(5)
    expect(l).not.toMatch(/Dec/)
  })
})

describe('tickEvery', () => {
  it('spaces labels so they cannot overlap', () => {
    const every = tickEvery(24, 588, 44)
    expect((588 / 24) * every).toBeGreaterThanOrEqual(44 + 8)
    expect(tickEvery(7, 588, 44)).toBe(1)
    expect(tickEvery(0, 588, 44)).toBe(1)
  })
})
