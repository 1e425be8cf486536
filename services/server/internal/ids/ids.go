// Package ids makes the identifiers of the server service's records. An id
// is 24 lower-case hex digits: a 4-byte big-endian Unix time in seconds, 5
// random bytes fixed per process and a 3-byte counter, the layout of a
// MongoDB ObjectID. Ids made later compare greater as strings (within a
// second, in the order this process made them), so stores page and sort by
// the id string alone. The domain treats ids as opaque strings; only stores
// may rely on the layout (the Mongo store keeps them as ObjectIDs).
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// Len is the length of an id.
const Len = 24

// process is a per-process random value, as the ObjectID layout asks:
// without it two processes would make the same ids in the same second.
// counter starts at a random value for the same reason.
var (
	process = func() (b [5]byte) { _, _ = rand.Read(b[:]); return b }()
	counter = func() *atomic.Uint32 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		c := new(atomic.Uint32)
		c.Store(binary.BigEndian.Uint32(b[:]))
		return c
	}()
)

// New returns a new id made at the current time.
func New() string { return At(time.Now()) }

// At returns a new id whose time part is t.
func At(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(t.Unix()))
	copy(b[4:9], process[:])
	c := counter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// After returns a new id greater than last ("" or malformed: any new id).
// Writers serialised by a lock use it to keep ids growing even when the
// clocks of the machines taking turns disagree.
func After(last string) string {
	id := New()
	if !Valid(last) || id > last {
		return id
	}
	b, _ := hex.DecodeString(last)
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			break
		}
	}
	return hex.EncodeToString(b)
}

// Valid reports whether s has the form of an id.
func Valid(s string) bool {
	if len(s) != Len {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Time returns the time part of a valid id (to the second).
func Time(id string) time.Time {
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != 12 {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint32(b[0:4])), 0).UTC()
}
