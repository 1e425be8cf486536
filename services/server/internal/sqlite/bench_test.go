package sqlite_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/ids"
)

// BenchmarkReads times the reads of a channel while the messages table
// holds 10k or 1M messages over 1,000 channels (a tenth of them in the
// timed one): flat curves mean each read costs what it returns. Run:
//
//	go test -run '^$' -bench Reads -benchtime 2000x ./internal/sqlite/
func BenchmarkReads(b *testing.B) {
	for _, size := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("messages=%d", size), func(b *testing.B) {
			s, ctx := newStore(b), b.Context()
			chans := make([]string, 1000)
			for i := range chans {
				chans[i] = ids.New()
			}
			l := s.Loader(ctx)
			var hot []string
			last := ""
			for i := range size {
				last = ids.After(last)
				c := chans[1+i%999]
				if i%10 == 0 {
					c = chans[0]
					hot = append(hot, last)
				}
				if err := l.Message(chat.Message{ID: last, ServerID: "s", ChannelID: c, AuthorID: fmt.Sprint("u", i%100), Content: "a message of ordinary length", CreatedAt: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			middle := hot[len(hot)/2]
			for name, read := range map[string]func() error{
				"newest page": func() error {
					_, err := s.ListMessages(ctx, chans[0], chat.MessagePage{Limit: 50})
					return err
				},
				"page far back": func() error {
					_, err := s.ListMessages(ctx, chans[0], chat.MessagePage{Before: middle, Limit: 50})
					return err
				},
				"unread count": func() error {
					_, _, err := s.UnreadCount(ctx, chans[0], middle, "u0", 101)
					return err
				},
			} {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if err := read(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
