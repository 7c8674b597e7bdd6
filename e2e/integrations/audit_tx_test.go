package integrations_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

// refuse installs a database trigger that makes one kind of write fail
// (table, event INSERT or UPDATE, and a condition on NEW) and returns
// its removal: a real failure inside the transaction that writes a
// change and its audit entry.
func refuse(t *testing.T, env *testenv.Env, name, table, event, cond string) (drop func()) {
	t.Helper()
	db := env.App.Store.DB()
	var stmts, drops []string
	if env.Dialect == "postgres" {
		stmts = []string{
			fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql`, name),
			fmt.Sprintf(`CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW WHEN (%s) EXECUTE FUNCTION %s()`, name, event, table, cond, name),
		}
		drops = []string{fmt.Sprintf(`DROP TRIGGER IF EXISTS %s ON %s`, name, table), fmt.Sprintf(`DROP FUNCTION IF EXISTS %s()`, name)}
	} else {
		stmts = []string{fmt.Sprintf(`CREATE TRIGGER %s BEFORE %s ON %s WHEN %s BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`, name, event, table, cond)}
		drops = []string{fmt.Sprintf(`DROP TRIGGER IF EXISTS %s`, name)}
	}
	for _, q := range stmts {
		if err := db.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	drop = func() {
		for _, q := range drops {
			if err := db.Exec(q).Error; err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
		drops = nil
	}
	t.Cleanup(drop)
	return drop
}

// TestAuditInTheChangesTransaction: a settings change and its audit
// entry commit together — a change the database refuses leaves no
// entry, an entry the database refuses undoes the change — and a connect
// by credential records the caller kept on the pending connection.
func TestAuditInTheChangesTransaction(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	low := strings.ToLower(strings.ReplaceAll(org.ID, "-", "_"))
	key := "ac-audit-tx-" + org.ID
	activecampaignFake.AddKey(key)
	resp := org.Do(t, "POST", "/api/integrations/activecampaign/connect", map[string]any{"name": "Marketing",
		"credentials": map[string]any{"api_url": fake.URL + activecampaignFake.APIPath(), "api_key": key}, "settings": map[string]any{}},
		"X-Aqio-User-Id", "user_tx")
	if resp.Status != http.StatusCreated {
		t.Fatalf("connect: %d %s", resp.Status, resp.Body)
	}
	id := resp.Map(t)["id"].(string)
	e := onlyNew(t, org, id, 0, "integration.connected")
	if e["actor_type"] != "service_token" || e["actor_id"] != "user_tx" {
		t.Fatalf("connect entry %v", e)
	}

	// The change fails: no entry.
	dropUpdate := refuse(t, env, "refuse_update_"+low, "integrations", "UPDATE", fmt.Sprintf("NEW.id = '%s' AND NEW.name = 'Refused name'", id))
	if r := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"name": "Refused name"}); r.Status < 500 {
		t.Fatalf("refused change answered %d %s", r.Status, r.Body)
	}
	if got := auditEntries(t, org, id); len(got) != 1 {
		t.Fatalf("a failed change left an audit entry: %v", got)
	}

	dropUpdate()

	// The entry cannot be written: the change is undone.
	dropAudit := refuse(t, env, "refuse_audit_"+low, "audit_log", "INSERT", fmt.Sprintf("NEW.target_id = '%s' AND NEW.action = 'integration.settings_changed'", id))
	if r := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"name": "Unaudited name"}); r.Status < 500 {
		t.Fatalf("unaudited change answered %d %s", r.Status, r.Body)
	}
	if got := integration(t, org, id); got["name"] != "Marketing" {
		t.Fatalf("the change stands without its audit entry: name %v", got["name"])
	}
	if got := auditEntries(t, org, id); len(got) != 1 {
		t.Fatalf("entries %v", got)
	}

	dropAudit()

	// Both allowed: one change, one entry.
	if r := org.Do(t, "PATCH", "/api/integrations/"+id, map[string]any{"name": "Newsletter"}, "X-Aqio-User-Id", "user_tx"); r.Status != http.StatusOK {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	if e := onlyNew(t, org, id, 1, "integration.settings_changed"); details(e)["changed"].([]any)[0] != "name" {
		t.Fatalf("entry %v", e)
	}
}
