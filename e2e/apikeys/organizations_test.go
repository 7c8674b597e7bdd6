package apikeys_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

// TestListOrganizations: GET /api/organizations lists every organization
// by id, cursor-paginated, for the service token only (no organization
// header needed); an API key or a user token is refused.
func TestListOrganizations(t *testing.T) {
	env := testenv.Get(t)
	var mine []string
	for i := 0; i < 3; i++ {
		org := env.NewOrg(t)
		setPlan(t, org, "pro")
		mine = append(mine, org.ID)
	}
	slices.Sort(mine)

	type page struct {
		Data []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Plan string `json:"plan"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	var ids []string
	cursor, pages := "", 0
	for {
		q := "/api/organizations?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := env.Do(t, "GET", q, nil, "Authorization", "Bearer "+env.Token)
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var p page
		r.JSON(t, &p)
		if len(p.Data) > 2 {
			t.Fatalf("page of %d with limit 2", len(p.Data))
		}
		pages++
		for _, o := range p.Data {
			ids = append(ids, o.ID)
			if slices.Contains(mine, o.ID) && (o.Name != "Test" || o.Plan != "pro") {
				t.Fatalf("organization %s: %+v", o.ID, o)
			}
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatalf("not by id, or an organization twice: %v", ids)
	}
	for _, id := range mine {
		if !slices.Contains(ids, id) {
			t.Fatalf("organization %s not listed (%d pages): %v", id, pages, ids)
		}
	}

	org := env.NewOrg(t)
	k := createKey(t, org, map[string]any{"name": "all", "scopes": []string{"*"}})
	if r := env.Do(t, "GET", "/api/organizations", nil, "Authorization", "Bearer "+k.Key); r.Status != http.StatusForbidden {
		t.Fatalf("an API key: %d %s", r.Status, r.Body)
	}
	user := userToken(t, "ursula", []string{"admin"}, []string{org.ID}, time.Now().Add(time.Hour))
	if r := env.Do(t, "GET", "/api/organizations", nil, "Authorization", "Bearer "+user, "X-Aqio-Organization-Id", org.ID); r.Status != http.StatusForbidden {
		t.Fatalf("a user token: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "GET", "/api/organizations", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("no credential: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "GET", "/api/organizations?limit=0", nil, "Authorization", "Bearer "+env.Token); r.Status != http.StatusBadRequest {
		t.Fatalf("limit 0: %d %s", r.Status, r.Body)
	}
}
