// Package stores picks the server service's storage from its dependencies:
// the SQLite stores when app.Run gave the service its SQLite database
// (ACCORD_STORE=sqlite, the one-command run), the MongoDB stores otherwise
// (compose, Kubernetes). The service and its tests open their stores here,
// so both run on whichever the configuration names.
package stores

import (
	"context"
	"errors"

	"github.com/accordchat/accord/platform/app"
	"github.com/accordchat/accord/platform/config"
	"github.com/accordchat/accord/services/server/internal/chat"
	"github.com/accordchat/accord/services/server/internal/guild"
	"github.com/accordchat/accord/services/server/internal/mongo"
	"github.com/accordchat/accord/services/server/internal/sqlite"
)

// Set is every store of the service.
type Set struct {
	Guild       guild.Store
	Messages    chat.MessageStore
	ReadStates  chat.ReadStateStore
	Mentions    chat.MentionIndex
	Notify      chat.NotifySettingStore
	Reactions   chat.ReactionStore
	Pins        chat.PinStore
	Attachments chat.AttachmentStore
	// Kind is config.StoreSQLite or config.StoreMongo.
	Kind string
}

// Open returns the stores over d.SQLite when set, else over d.Mongo,
// bringing the schema (tables and indexes) up to date.
func Open(ctx context.Context, d app.Deps) (Set, error) {
	switch {
	case d.SQLite != nil:
		s, err := sqlite.New(ctx, d.SQLite)
		if err != nil {
			return Set{}, err
		}
		return Set{Guild: s, Messages: s, ReadStates: s, Mentions: s, Notify: s, Reactions: s, Pins: s, Attachments: s, Kind: config.StoreSQLite}, nil
	case d.Mongo != nil:
		s, err := mongo.New(ctx, d.Mongo)
		if err != nil {
			return Set{}, err
		}
		return Set{Guild: s, Messages: s, ReadStates: s, Mentions: s, Notify: s, Reactions: s, Pins: s, Attachments: s, Kind: config.StoreMongo}, nil
	}
	return Set{}, errors.New("server service: no database (neither SQLite nor MongoDB)")
}
