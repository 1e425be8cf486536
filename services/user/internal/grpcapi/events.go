package grpcapi

import (
	"context"
	"errors"

	eventsv1 "github.com/accordchat/accord/gen/accord/events/v1"

	"github.com/accordchat/accord/platform/events"
	"github.com/accordchat/accord/services/user/internal/account"
)

// Events appends the user service's events to the users' streams
// (events.UserScope), where the event feed picks them up.
type Events struct {
	Log *events.Log
}

// UserUpdated implements account.Events.
func (e Events) UserUpdated(ctx context.Context, u account.User) error {
	_, err := e.Log.Append(ctx, events.UserScope(u.ID), &eventsv1.Event{
		Payload: &eventsv1.Event_UserUpdated{UserUpdated: UserProto(u)},
	})
	return err
}

// RelationshipsChanged implements account.Events: each owner gets its own
// view, relationship_updated or, when it ended, relationship_removed.
func (e Events) RelationshipsChanged(ctx context.Context, changes []account.Change) error {
	var errList []error
	for _, c := range changes {
		ev := &eventsv1.Event{}
		if c.View.Type == account.RelNone {
			ev.Payload = &eventsv1.Event_RelationshipRemoved{RelationshipRemoved: &eventsv1.RelationshipRemoved{UserId: c.View.Other.ID}}
		} else {
			ev.Payload = &eventsv1.Event_RelationshipUpdated{RelationshipUpdated: RelationshipProto(c.View)}
		}
		if _, err := e.Log.Append(ctx, events.UserScope(c.OwnerID), ev); err != nil {
			errList = append(errList, err)
		}
	}
	return errors.Join(errList...)
}
