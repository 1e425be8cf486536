package client

import "context"

// Account is a signed-up user and its tokens.
type Account struct {
	ID, Login, Token, RefreshToken string
}

// Register signs login up with password.
func (c *REST) Register(ctx context.Context, login, password string) (Account, error) {
	var res struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Tokens struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		} `json:"tokens"`
	}
	err := c.Do(ctx, "POST", "/v1/auth:register", "", map[string]string{"login": login, "password": password}, &res)
	return Account{ID: res.User.ID, Login: login, Token: res.Tokens.AccessToken, RefreshToken: res.Tokens.RefreshToken}, err
}

// CreateServer creates a server named name as the user of token and
// returns its id and its first channel's.
func (c *REST) CreateServer(ctx context.Context, token, name string) (serverID, channelID string, err error) {
	var res struct {
		Server struct {
			ID string `json:"id"`
		} `json:"server"`
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	err = c.Do(ctx, "POST", "/v1/servers", token, map[string]string{"name": name}, &res)
	return res.Server.ID, res.Channel.ID, err
}
