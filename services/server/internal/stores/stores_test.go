package stores_test

import (
	"context"
	"testing"
	"time"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/platform/platformtest"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/ids"
	"github.com/accordchat/accord/services/server/internal/stores"
)

// The stores follow the dependencies: SQLite when the service got its
// file, MongoDB otherwise; none is an error.
func TestOpenPicksTheConfiguredStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name string
		deps app.Deps
		want string
	}{
		{"sqlite", app.Deps{SQLite: platformtest.SQLite(t, ""), Mongo: platformtest.Mongo(t)}, config.StoreSQLite},
		{"mongo", app.Deps{Mongo: platformtest.Mongo(t)}, config.StoreMongo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := stores.Open(ctx, tc.deps)
			if err != nil || set.Kind != tc.want {
				t.Fatalf("Open = %q, %v; want %q", set.Kind, err, tc.want)
			}
			m := chat.Message{ID: ids.New(), ServerID: ids.New(), ChannelID: ids.New(), AuthorID: ids.New(), Content: "hi", CreatedAt: time.Now()}
			if err := set.Messages.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			if got, err := set.Messages.Message(ctx, m.ID); err != nil || got.Content != "hi" {
				t.Fatalf("Message = %+v, %v", got, err)
			}
		})
	}
	if _, err := stores.Open(ctx, app.Deps{}); err == nil {
		t.Fatal("Open without a database succeeded")
	}
}
