// Package search holds the rules of message search: the query syntax, who
// may read what, paging, snippets, and what an index must do (Index). It
// knows nothing of bleve, Redis or gRPC.
//
// Access is decided at query time from the caller's current memberships,
// asked of the server service (Members): the index holds every message,
// and each query is restricted to the servers the caller belongs to now,
// so leaving a server hides its messages at once and joining one reveals
// its history. The page token carries only a position in the result order,
// never a scope, so no token can widen what a query reaches.
package search

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/accordchat/accord/platform/errs"
)

// Paging.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
	// SnippetLen is the length of a snippet, in code points.
	SnippetLen = 160
)

// Doc is a message as the index holds it.
type Doc struct {
	ID, ServerID, ChannelID, AuthorID, AuthorName, Content string
	Created                                                time.Time
	// Edited is zero for a message never edited.
	Edited time.Time
	Pinned bool
	// HasLink and Mentions are derived from Content (NewDoc).
	HasLink  bool
	Mentions []string
}

var (
	linkRe    = regexp.MustCompile(`(?i)\bhttps?://\S`)
	mentionRe = regexp.MustCompile(`<@!?([0-9a-f]{24})>|(?:^|[^\w@])@([\p{L}\p{N}_.\-]+)`)
)

// NewDoc fills the fields derived from the content: whether it has a link
// and whom it mentions (<@user-id> or @login, lowercased).
func NewDoc(d Doc) Doc {
	d.HasLink = linkRe.MatchString(d.Content)
	d.Mentions = nil
	for _, m := range mentionRe.FindAllStringSubmatch(d.Content, -1) {
		v := m[1]
		if v == "" {
			v = strings.ToLower(strings.TrimRight(m[2], ".-"))
		}
		if v != "" && !slices.Contains(d.Mentions, v) {
			d.Mentions = append(d.Mentions, v)
		}
	}
	return d
}

// Change is one write to the index: a message to store (replacing any
// earlier version); with Delete, an id to remove; with DeleteChannel or
// DeleteServer, every message of a deleted channel or server to remove.
type Change struct {
	Delete bool
	ID     string
	Doc    Doc
	// DeleteChannel and DeleteServer (ServerID, ChannelID) remove every
	// message indexed so far in that channel or server.
	DeleteChannel, DeleteServer bool
	ServerID, ChannelID         string
}

// Order is the result order.
type Order int

// Orders.
const (
	Newest Order = iota
	Relevance
)

// IndexQuery is what an index is asked: a parsed query with its authors
// and channels resolved to ids, restricted to Servers (never empty).
type IndexQuery struct {
	Query
	Servers []string
	// Channels, when not nil, restricts the search to these channels.
	Channels []string
	Order    Order
	// Size is the most hits to return.
	Size int
	// After is the position of the last hit of the previous page (Hit.Sort).
	After []string
}

// Span is a range of bytes of a message's content.
type Span struct{ Start, End int }

// Hit is a matching message, with where its content matched.
type Hit struct {
	Doc
	Matches []Span
	// Sort is the hit's position in the result order, for the next page.
	Sort []string
}

// Total is how many messages match a query: exact, or an estimate when
// the index stopped once the page was full (shown as "about N").
type Total struct {
	N        int64
	Estimate bool
}

// Index stores messages and answers queries. Apply must be idempotent and
// keep changes in order; Position is the log position recorded with the
// last applied batch, so that a restart resumes after exactly what the
// index holds.
type Index interface {
	Apply(ctx context.Context, changes []Change, position string) error
	Position(ctx context.Context) (string, error)
	Search(ctx context.Context, q IndexQuery) (hits []Hit, total Total, err error)
}

// Members tells the caller's current memberships (the server service).
type Members interface {
	// IsMember reports whether userID belongs to the server (or
	// conversation) now.
	IsMember(ctx context.Context, serverID, userID string) (bool, error)
	// Conversations lists the ids of userID's private conversations.
	Conversations(ctx context.Context, userID string) ([]string, error)
}

// Channel is a channel of a server.
type Channel struct{ ID, Name string }

// Directory answers what the caller may see of users and channels.
type Directory interface {
	// UserID finds a user by login; an unknown login is found: false.
	UserID(ctx context.Context, login string) (id string, found bool, err error)
	// Channels lists the server's channels as they are now.
	Channels(ctx context.Context, serverID string) ([]Channel, error)
}

// Service answers searches.
type Service struct {
	index   Index
	members Members
	dir     Directory
}

// NewService returns a Service.
func NewService(index Index, members Members, dir Directory) *Service {
	return &Service{index: index, members: members, dir: dir}
}

// Request is a search as the caller asks it.
type Request struct {
	// Caller is the user searching.
	Caller string
	// ServerID is one server or conversation; DirectMessages all of the
	// caller's conversations. Exactly one is set.
	ServerID       string
	DirectMessages bool
	Text           string
	Order          Order
	PageSize       int
	PageToken      string
}

// Result is one matching message with its snippet.
type Result struct {
	Doc
	Snippet string
	// Highlights are code point ranges of Snippet.
	Highlights []Span
}

// Page is one page of results.
type Page struct {
	Results   []Result
	NextToken string
	Total     int64
	// TotalIsEstimate tells that Total is an estimate: the index stopped
	// searching once the page was full.
	TotalIsEstimate bool
}

var hexID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// Search runs a query within what the caller may read now.
func (s *Service) Search(ctx context.Context, r Request) (Page, error) {
	if (r.ServerID == "") == !r.DirectMessages {
		return Page{}, errs.Invalid("server_id", "set either server_id or direct_messages")
	}
	if r.ServerID != "" && !hexID.MatchString(r.ServerID) {
		return Page{}, errs.Invalid("server_id", "not a server id")
	}
	if r.PageSize < 0 {
		return Page{}, errs.Invalid("page_size", "must not be negative")
	}
	size := r.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	q, err := Parse(r.Text)
	if err != nil {
		return Page{}, err
	}
	if q.Empty() {
		return Page{}, errs.Invalid("query", "must name words, a phrase or a filter")
	}
	fp := fingerprint(r)
	after, err := decodeToken(r.PageToken, fp)
	if err != nil {
		return Page{}, err
	}
	servers, err := s.readable(ctx, r)
	if err != nil || len(servers) == 0 {
		return Page{}, err
	}
	var channels []Channel
	if r.ServerID != "" {
		// The channels of now: a deleted channel's messages are gone
		// with it, and never found again.
		if channels, err = s.dir.Channels(ctx, r.ServerID); err != nil {
			return Page{}, err
		}
	}
	if q, err = s.resolve(ctx, q, channels); err != nil {
		return Page{}, err
	}
	iq := IndexQuery{Query: q, Servers: servers, Order: r.Order, Size: size + 1, After: after}
	if r.ServerID != "" {
		iq.Channels = make([]string, 0, len(channels))
		for _, c := range channels {
			iq.Channels = append(iq.Channels, c.ID)
		}
	}
	hits, total, err := s.index.Search(ctx, iq)
	if err != nil {
		return Page{}, err
	}
	var page Page
	var lastSort []string
	page.Total, page.TotalIsEstimate = total.N, total.Estimate
	for _, h := range hits {
		// The index was asked for these servers only; checked again so
		// that an index fault can never show another server's message.
		if !slices.Contains(servers, h.ServerID) {
			continue
		}
		if len(page.Results) == size {
			page.NextToken = encodeToken(fp, lastSort)
			break
		}
		snip, hl := Snippet(h.Content, h.Matches, SnippetLen)
		page.Results = append(page.Results, Result{Doc: h.Doc, Snippet: snip, Highlights: hl})
		lastSort = h.Sort
	}
	return page, nil
}

// readable is the servers the request may search: the one named if the
// caller belongs to it (else NotFound, saying nothing of whether it
// exists), or the caller's conversations.
func (s *Service) readable(ctx context.Context, r Request) ([]string, error) {
	if r.DirectMessages {
		return s.members.Conversations(ctx, r.Caller)
	}
	ok, err := s.members.IsMember(ctx, r.ServerID, r.Caller)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.NotFound("server not found")
	}
	return []string{r.ServerID}, nil
}

// nobody is an id no message has: a name that resolves to no one matches
// nothing rather than being dropped from the query.
const nobody = "000000000000000000000000"

// resolve turns the logins of from: and the channel names of in: into ids.
// mentions: keeps the login (matching "@login") and adds the id (matching
// "<@id>").
func (s *Service) resolve(ctx context.Context, q Query, channels []Channel) (Query, error) {
	from := make([]string, 0, len(q.From))
	for _, v := range q.From {
		id, err := s.userID(ctx, v)
		if err != nil {
			return q, err
		}
		from = append(from, id)
	}
	q.From = from
	in := make([]string, 0, len(q.In))
	for _, v := range q.In {
		id := strings.ToLower(v)
		if !hexID.MatchString(id) {
			id = nobody
			for _, c := range channels {
				if strings.EqualFold(c.Name, v) {
					id = c.ID
				}
			}
		}
		in = append(in, id)
	}
	q.In = in
	mentions := slices.Clone(q.Mentions)
	for _, v := range q.Mentions {
		if hexID.MatchString(v) {
			continue
		}
		id, ok, err := s.dir.UserID(ctx, v)
		if err != nil {
			return q, err
		}
		if ok {
			mentions = append(mentions, id)
		}
	}
	q.Mentions = mentions
	return q, nil
}

func (s *Service) userID(ctx context.Context, v string) (string, error) {
	if id := strings.ToLower(v); hexID.MatchString(id) {
		return id, nil
	}
	id, ok, err := s.dir.UserID(ctx, v)
	if err != nil || !ok {
		return nobody, err
	}
	return id, nil
}

// fingerprint binds a page token to the caller, scope, query and order it
// was issued for.
func fingerprint(r Request) string {
	h := sha256.New()
	for _, p := range []string{r.Caller, r.ServerID, boolStr(r.DirectMessages), r.Text, string(rune('0' + r.Order))} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

type pageToken struct {
	F     string   `json:"f"`
	After []string `json:"a"`
}

func encodeToken(fp string, after []string) string {
	b, _ := json.Marshal(pageToken{F: fp, After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(tok, fp string) ([]string, error) {
	if tok == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	var t pageToken
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || len(t.After) == 0 || len(t.After) > 4 {
		return nil, errs.Invalid("page_token", "not a token of this search")
	}
	if t.F != fp {
		return nil, errs.Invalid("page_token", "issued for another query, scope or order")
	}
	for _, v := range t.After {
		if len(v) > 64 {
			return nil, errs.Invalid("page_token", "not a token of this search")
		}
	}
	return t.After, nil
}

// Snippet cuts about n code points of content around the first match and
// returns them with the matches inside, in code points of the snippet. A
// cut text is marked with "…" at the cut ends.
func Snippet(content string, matches []Span, n int) (string, []Span) {
	rs := []rune(content)
	// Byte offsets to code point offsets.
	runeAt := make(map[int]int, len(rs)+1)
	b := 0
	for i, r := range rs {
		runeAt[b] = i
		b += utf8.RuneLen(r)
	}
	runeAt[b] = len(rs)
	var spans []Span
	for _, m := range matches {
		s, ok1 := runeAt[m.Start]
		e, ok2 := runeAt[m.End]
		if ok1 && ok2 && s < e {
			spans = append(spans, Span{s, e})
		}
	}
	slices.SortFunc(spans, func(a, b Span) int { return a.Start - b.Start })
	spans = merge(spans)
	start, end := 0, len(rs)
	if len(rs) > n {
		if len(spans) > 0 {
			start = max(0, spans[0].Start-n/4)
		}
		end = min(len(rs), start+n)
		start = max(0, end-n)
	}
	var out strings.Builder
	shift := start
	if start > 0 {
		out.WriteString("…")
		shift--
	}
	out.WriteString(string(rs[start:end]))
	if end < len(rs) {
		out.WriteString("…")
	}
	var hl []Span
	for _, sp := range spans {
		if sp.End <= start || sp.Start >= end {
			continue
		}
		hl = append(hl, Span{max(sp.Start, start) - shift, min(sp.End, end) - shift})
	}
	return out.String(), hl
}

func merge(spans []Span) []Span {
	var out []Span
	for _, s := range spans {
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}
