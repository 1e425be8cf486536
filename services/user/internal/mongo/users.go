package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/accordchat/accord/platform/errs"
	"github.com/accordchat/accord/platform/mongox"
	"github.com/accordchat/accord/services/user/internal/account"
)

type userDoc struct {
	ID           bson.ObjectID `bson:"_id"`
	Login        string        `bson:"login"`
	LoginKey     string        `bson:"login_key"`
	DisplayName  string        `bson:"display_name"`
	StatusText   string        `bson:"status_text"`
	Operator     bool          `bson:"operator"`
	PasswordHash string        `bson:"password_hash"`
	CreatedAt    time.Time     `bson:"created_at"`
	Avatar       string        `bson:"avatar,omitempty"`
}

func (d userDoc) user() account.User {
	return account.User{
		ID: d.ID.Hex(), Login: d.Login, DisplayName: d.DisplayName, StatusText: d.StatusText,
		Operator: d.Operator, PasswordHash: d.PasswordHash, CreatedAt: d.CreatedAt.UTC(), Avatar: d.Avatar,
	}
}

var errUserNotFound = errs.NotFound("user not found")

// CreateUser implements account.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *account.User) error {
	d := userDoc{
		ID: bson.NewObjectID(), Login: u.Login, LoginKey: account.LoginKey(u.Login),
		DisplayName: u.DisplayName, StatusText: u.StatusText, Operator: u.Operator,
		PasswordHash: u.PasswordHash, CreatedAt: utc(u.CreatedAt),
	}
	if _, err := s.users.InsertOne(ctx, d); err != nil {
		if mongox.IsDuplicateKey(err) {
			return account.ErrLoginTaken
		}
		return fmt.Errorf("insert user: %w", err)
	}
	u.ID, u.CreatedAt = d.ID.Hex(), d.CreatedAt
	return nil
}

func (s *Store) findUser(ctx context.Context, filter bson.D) (account.User, error) {
	var d userDoc
	if err := s.users.FindOne(ctx, filter).Decode(&d); err != nil {
		if mongox.IsNotFound(err) {
			return account.User{}, errUserNotFound
		}
		return account.User{}, fmt.Errorf("find user: %w", err)
	}
	return d.user(), nil
}

// UserByID implements account.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (account.User, error) {
	o, err := oid(id, "user")
	if err != nil {
		return account.User{}, err
	}
	return s.findUser(ctx, bson.D{{Key: "_id", Value: o}})
}

// UserByLogin implements account.UserStore.
func (s *Store) UserByLogin(ctx context.Context, login string) (account.User, error) {
	return s.findUser(ctx, bson.D{{Key: "login_key", Value: account.LoginKey(login)}})
}

func (s *Store) findUsers(ctx context.Context, filter bson.D, opts ...options.Lister[options.FindOptions]) ([]account.User, error) {
	cur, err := s.users.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	out := make([]account.User, len(docs))
	for i, d := range docs {
		out[i] = d.user()
	}
	return out, nil
}

// UsersByIDs implements account.UserStore.
func (s *Store) UsersByIDs(ctx context.Context, ids []string) ([]account.User, error) {
	os := oids(ids)
	if len(os) == 0 {
		return nil, nil
	}
	return s.findUsers(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: os}}}})
}

// SearchUsers implements account.UserStore. Login keys hold only
// [a-z0-9_.-], all below '{', so prefix+"{" bounds the range of keys that
// start with prefix.
func (s *Store) SearchUsers(ctx context.Context, prefix, after string, limit int) ([]account.User, error) {
	lo := bson.E{Key: "$gte", Value: prefix}
	if after > prefix {
		lo = bson.E{Key: "$gt", Value: after}
	}
	filter := bson.D{{Key: "login_key", Value: bson.D{lo, {Key: "$lt", Value: prefix + "{"}}}}
	return s.findUsers(ctx, filter, options.Find().SetSort(bson.D{{Key: "login_key", Value: 1}}).SetLimit(int64(limit)))
}

func (s *Store) updateUser(ctx context.Context, id string, set bson.D) (account.User, error) {
	o, err := oid(id, "user")
	if err != nil {
		return account.User{}, err
	}
	var d userDoc
	err = s.users.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: o}}, bson.D{{Key: "$set", Value: set}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		if mongox.IsNotFound(err) {
			return account.User{}, errUserNotFound
		}
		return account.User{}, fmt.Errorf("update user: %w", err)
	}
	return d.user(), nil
}

// UpdateProfile implements account.UserStore.
func (s *Store) UpdateProfile(ctx context.Context, id string, upd account.ProfileUpdate) (account.User, error) {
	set := bson.D{}
	if upd.DisplayName != nil {
		set = append(set, bson.E{Key: "display_name", Value: *upd.DisplayName})
	}
	if upd.StatusText != nil {
		set = append(set, bson.E{Key: "status_text", Value: *upd.StatusText})
	}
	if len(set) == 0 {
		return s.UserByID(ctx, id)
	}
	return s.updateUser(ctx, id, set)
}

// SetOperator implements account.UserStore.
func (s *Store) SetOperator(ctx context.Context, id string, operator bool) (account.User, error) {
	return s.updateUser(ctx, id, bson.D{{Key: "operator", Value: operator}})
}

// SetAvatar implements account.UserStore.
func (s *Store) SetAvatar(ctx context.Context, id, avatar string) (account.User, error) {
	return s.updateUser(ctx, id, bson.D{{Key: "avatar", Value: avatar}})
}

// SetPasswordHash implements account.UserStore.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string) error {
	_, err := s.updateUser(ctx, id, bson.D{{Key: "password_hash", Value: hash}})
	return err
}
