package search

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/accordchat/accord/platform/errs"
)

// MaxTerms bounds the words, phrases and filters of one query.
const MaxTerms = 32

// Query is a parsed query: every word and phrase must match, and every
// filter kind present must match (values of one kind are alternatives, as
// two from: filters find messages of either author).
type Query struct {
	// Words are matched after language analysis (case, accents, stems).
	Words []string
	// Phrases are matched as consecutive words, case and accents folded.
	Phrases []string
	// From are authors: user ids, or logins resolved by the service.
	From []string
	// In are channels: channel ids, or names resolved by the service.
	In []string
	// Mentions are mentioned users (ids or logins, lowercased).
	Mentions []string
	// HasLink keeps messages with a link.
	HasLink bool
	// Pinned, when set, keeps pinned (true) or unpinned (false) messages.
	Pinned *bool
	// Since and Until bound the creation time: Since <= t < Until. Zero
	// means unbounded.
	Since, Until time.Time
}

// Empty reports whether the query asks for nothing at all.
func (q Query) Empty() bool {
	return len(q.Words) == 0 && len(q.Phrases) == 0 && len(q.From) == 0 && len(q.In) == 0 &&
		len(q.Mentions) == 0 && !q.HasLink && q.Pinned == nil && q.Since.IsZero() && q.Until.IsZero()
}

// Parse reads a query as users type it in Discord: words, "exact phrases"
// and key:value filters (a value may be quoted: in:"team chat"). Filter
// keys are from, in, has, mentions, before, after, during and pinned; any
// other key:value is searched as words. Dates are YYYY-MM-DD (during also
// takes YYYY-MM), in UTC; after: and before: exclude the day named, as in
// Discord. Errors name the field "query".
func Parse(text string) (Query, error) {
	var q Query
	if !utf8.ValidString(text) {
		return q, errs.Invalid("query", "must be valid UTF-8")
	}
	toks := tokenize(text)
	if len(toks) > MaxTerms {
		return q, errs.Invalid("query", "at most %d words, phrases and filters", MaxTerms)
	}
	for _, t := range toks {
		if t.quoted {
			if strings.TrimSpace(t.value) != "" {
				q.Phrases = append(q.Phrases, t.value)
			}
			continue
		}
		if t.key == "" {
			q.Words = append(q.Words, t.value)
			continue
		}
		if err := q.filter(t.key, t.value); err != nil {
			return Query{}, err
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return Query{}, errs.Invalid("query", "after: and during: must leave time before before:")
	}
	return q, nil
}

func (q *Query) filter(key, value string) error {
	switch key {
	case "from":
		q.From = append(q.From, strings.TrimPrefix(value, "@"))
	case "in":
		q.In = append(q.In, strings.TrimPrefix(value, "#"))
	case "mentions":
		q.Mentions = append(q.Mentions, strings.ToLower(strings.TrimPrefix(value, "@")))
	case "has":
		if strings.ToLower(value) != "link" {
			return errs.Invalid("query", "has: takes link")
		}
		q.HasLink = true
	case "pinned":
		switch strings.ToLower(value) {
		case "true", "yes":
			t := true
			q.Pinned = &t
		case "false", "no":
			f := false
			q.Pinned = &f
		default:
			return errs.Invalid("query", "pinned: takes true or false")
		}
	case "before", "after", "during":
		start, end, err := dayRange(value, key == "during")
		if err != nil {
			return errs.Invalid("query", "%s: takes a date as YYYY-MM-DD", key)
		}
		switch key {
		case "before":
			q.Until = earliest(q.Until, start)
		case "after":
			q.Since = latest(q.Since, end)
		default:
			q.Since, q.Until = latest(q.Since, start), earliest(q.Until, end)
		}
	}
	return nil
}

// dayRange is the UTC day (or, with month, also the month) that s names.
func dayRange(s string, month bool) (time.Time, time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d, d.AddDate(0, 0, 1), nil
	}
	if month {
		if d, err := time.Parse("2006-01", s); err == nil {
			return d, d.AddDate(0, 1, 0), nil
		}
	}
	_, err := time.Parse(time.DateOnly, s)
	return time.Time{}, time.Time{}, err
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

var filterKeys = map[string]bool{
	"from": true, "in": true, "has": true, "mentions": true,
	"before": true, "after": true, "during": true, "pinned": true,
}

type token struct {
	key, value string
	quoted     bool
}

// tokenize splits on white space, keeping "quoted phrases" (an unclosed
// quote runs to the end) and key:"quoted values" whole.
func tokenize(s string) []token {
	var out []token
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if unicode.IsSpace(rs[i]) {
			i++
			continue
		}
		if rs[i] == '"' {
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			out = append(out, token{value: string(rs[i+1 : j]), quoted: true})
			i = j + 1
			continue
		}
		j := i
		for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '"' {
			j++
		}
		word := string(rs[i:j])
		key, value, ok := strings.Cut(word, ":")
		key = strings.ToLower(key)
		if ok && filterKeys[key] {
			if value == "" && j < len(rs) && rs[j] == '"' {
				k := j + 1
				for k < len(rs) && rs[k] != '"' {
					k++
				}
				value = string(rs[j+1 : min(k, len(rs))])
				j = k + 1
			}
			if value != "" {
				out = append(out, token{key: key, value: value})
				i = j
				continue
			}
		}
		out = append(out, token{value: word})
		i = j
	}
	return out
}
