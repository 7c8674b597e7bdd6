package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/store"
)

// adminPathPrefix are the operator endpoints: service token only, no
// organization (they act on the whole deployment).
const adminPathPrefix = "/api/admin/"

// KeyringAdmin is what the key-ring endpoints need (app/keyring.go).
type KeyringAdmin interface {
	// KeyIDs are the ring's key ids, newest first.
	KeyIDs() []string
	// Usage counts ciphertexts per table, column and key id.
	Usage(ctx context.Context) ([]store.KeyUsage, error)
	// StartRekey starts (or finds running) the re-encryption run to the
	// newest key.
	StartRekey(ctx context.Context) (RekeyRun, error)
}

// RekeyRun is a started re-encryption run.
type RekeyRun struct {
	KeyID       string `json:"key_id"`
	WorkflowID  string `json:"workflow_id"`
	RunID       string `json:"run_id"`
	TemporalURL string `json:"temporal_url,omitempty"`
}

func (s *Server) registerAdminRoutes(e *echo.Echo) {
	e.GET("/api/admin/keyring", s.getKeyring)
	e.POST("/api/admin/keyring/rekey", s.startRekey)
}

// Only the service token reaches these: their operations declare
// x-required-scope: service_token (authorize, openapi.go).

type keyringView struct {
	PrimaryKeyID string           `json:"primary_key_id"`
	KeyIDs       []string         `json:"key_ids"`
	Totals       map[string]int   `json:"totals"`
	Removable    []string         `json:"removable_key_ids"`
	Columns      []store.KeyUsage `json:"columns"`
}

func (s *Server) getKeyring(c echo.Context) error {
	k := s.deps.Keyring
	usage, err := k.Usage(c.Request().Context())
	if err != nil {
		return err
	}
	ids := k.KeyIDs()
	v := keyringView{PrimaryKeyID: ids[0], KeyIDs: ids, Totals: map[string]int{}, Removable: []string{}, Columns: usage}
	for _, id := range ids {
		v.Totals[id] = 0
	}
	for _, u := range usage {
		for id, n := range u.Counts {
			v.Totals[id] += n
		}
	}
	for _, id := range ids[1:] {
		if v.Totals[id] == 0 {
			v.Removable = append(v.Removable, id)
		}
	}
	slices.Sort(v.Removable)
	return c.JSON(http.StatusOK, v)
}

func (s *Server) startRekey(c echo.Context) error {
	run, err := s.deps.Keyring.StartRekey(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, run)
}

func isAdminPath(p string) bool { return strings.HasPrefix(p, adminPathPrefix) }
