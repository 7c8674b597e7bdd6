package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aqio/connect/console"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// consoleSessions keeps the console's sessions in the database, so they
// survive a restart and are shared by every API replica. The credential
// (pasted token, or the user's access and refresh tokens) is key-ring
// encrypted, bound to the row by its id hash.
type consoleSessions struct{ a *App }

// consoleSecret is what the credential column holds, encrypted.
type consoleSecret struct {
	Token         string   `json:"token"`
	Refresh       string   `json:"refresh,omitempty"`
	Login         string   `json:"login"`
	Organizations []string `json:"organizations,omitempty"`
	IDToken       string   `json:"id_token,omitempty"`
}

func (c consoleSessions) Load(ctx context.Context, idHash string) (*console.StoredSession, error) {
	row, err := c.a.Store.GetConsoleSession(ctx, idHash, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	plain, err := c.a.Ring.Decrypt(row.Credential, []byte(idHash))
	if err != nil {
		// A key retired from the ring: the session cannot be used; sign in again.
		return nil, nil
	}
	var sec consoleSecret
	if err := json.Unmarshal(plain, &sec); err != nil {
		return nil, fmt.Errorf("console session credential: %w", err)
	}
	out := &console.StoredSession{IDHash: idHash, Auth: row.Auth, Login: sec.Login, OrganizationID: row.OrganizationID,
		UserID: row.UserID, Organizations: sec.Organizations, CSRF: row.CSRFToken, Token: sec.Token, Refresh: sec.Refresh,
		Expires: row.ExpiresAt, IDToken: sec.IDToken}
	if row.TokenExpiresAt != nil {
		out.TokenExpiry = *row.TokenExpiresAt
	}
	return out, nil
}

func (c consoleSessions) Save(ctx context.Context, s console.StoredSession) error {
	plain, err := json.Marshal(consoleSecret{Token: s.Token, Refresh: s.Refresh, Login: s.Login, Organizations: s.Organizations,
		IDToken: s.IDToken})
	if err != nil {
		return err
	}
	sealed, err := c.a.Ring.Encrypt(plain, []byte(s.IDHash))
	if err != nil {
		return fmt.Errorf("seal console session: %w", err)
	}
	row := models.ConsoleSession{IDHash: s.IDHash, Auth: s.Auth, OrganizationID: s.OrganizationID, UserID: s.UserID,
		CSRFToken: s.CSRF, Credential: sealed, ExpiresAt: s.Expires.UTC(), CreatedAt: time.Now().UTC()}
	if !s.TokenExpiry.IsZero() {
		t := s.TokenExpiry.UTC()
		row.TokenExpiresAt = &t
	}
	if err := c.a.Store.DeleteExpiredConsoleSessions(ctx, time.Now()); err != nil {
		c.a.Logger.Warn("console sessions cleanup", "err", err)
	}
	return c.a.Store.PutConsoleSession(ctx, row)
}

func (c consoleSessions) Delete(ctx context.Context, idHash string) error {
	return c.a.Store.DeleteConsoleSession(ctx, idHash)
}
