package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// CipherTable is a table whose columns hold key-ring ciphertexts, each
// sealed with the row's id (its IDColumn) as additional data.
type CipherTable struct {
	Table   string
	Columns []string
	// IDColumn is the row's key, the ciphertexts' additional data ("": id).
	IDColumn string
}

// Key is the column that identifies a row (and binds its ciphertexts).
func (t CipherTable) Key() string {
	if t.IDColumn == "" {
		return "id"
	}
	return t.IDColumn
}

// CipherTables are every table and column that holds key-ring
// ciphertexts. A new encrypted column must be added here, or re-keying
// leaves it under the old key (e2e/rekey scans every text column of every
// table for a ciphertext under a retired key and fails). A Rekey run
// takes the table list it was started with (workflows.RekeyInput.Tables),
// so adding a table needs no workflow versioning.
var CipherTables = []CipherTable{
	{Table: "webhooks", Columns: []string{"secret", "previous_secret", "destination_auth"}},
	{Table: "integrations", Columns: []string{"access_token", "refresh_token", "api_key", "token_extra"}},
	{Table: "integration_oauth_states", Columns: []string{"code_verifier", "code"}},
	{Table: "privacy_erasures", Columns: []string{"subject"}},
	{Table: "privacy_exports", Columns: []string{"subject", "document"}},
	// The console's sessions: the pasted credential or the user's tokens,
	// bound to the SHA-256 of the session cookie (app/console.go).
	{Table: "console_sessions", IDColumn: "id_hash", Columns: []string{"credential"}},
}

// CipherTableNames are the names of CipherTables, in order.
func CipherTableNames() []string {
	out := make([]string, len(CipherTables))
	for i, t := range CipherTables {
		out[i] = t.Table
	}
	return out
}

// CipherTableNamed returns the table of CipherTables with that name.
func CipherTableNamed(name string) (CipherTable, bool) {
	for _, t := range CipherTables {
		if t.Table == name {
			return t, true
		}
	}
	return CipherTable{}, false
}

// CipherRow is one row's id and its ciphertext columns (absent: NULL).
type CipherRow struct {
	ID     string
	Values map[string]string
}

// likeEscape escapes s for a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// RowsNotUnderKey returns up to limit rows of t with id > after (in id
// order) where at least one column holds a key-ring ciphertext not sealed
// by keyID.
func (s *Store) RowsNotUnderKey(ctx context.Context, t CipherTable, keyID, after string, limit int) ([]CipherRow, error) {
	known, ok := CipherTableNamed(t.Table)
	if !ok {
		return nil, fmt.Errorf("not a ciphertext table: %q", t.Table)
	}
	key := known.Key()
	prefix := likeEscape("v1:"+keyID+":") + "%"
	var conds []string
	args := []any{after}
	for _, c := range t.Columns {
		conds = append(conds, fmt.Sprintf(`(%s LIKE 'v1:%%' AND %s NOT LIKE ? ESCAPE '\')`, c, c))
		args = append(args, prefix)
	}
	q := fmt.Sprintf(`SELECT %[1]s, %[2]s FROM %[3]s WHERE %[1]s > ? AND (%[4]s) ORDER BY %[1]s LIMIT %[5]d`,
		key, strings.Join(t.Columns, ", "), t.Table, strings.Join(conds, " OR "), limit)
	rows, err := s.db.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("scan %s ciphertexts: %w", t.Table, err)
	}
	defer rows.Close()
	var out []CipherRow
	for rows.Next() {
		vals := make([]sql.NullString, len(t.Columns))
		dst := []any{new(string)}
		for i := range vals {
			dst = append(dst, &vals[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("scan %s ciphertexts: %w", t.Table, err)
		}
		r := CipherRow{ID: *dst[0].(*string), Values: map[string]string{}}
		for i, v := range vals {
			if v.Valid {
				r.Values[t.Columns[i]] = v.String
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrCiphertextChanged is a compare-and-swap that lost: the column no
// longer holds the ciphertext that was re-encrypted (a token refresh or a
// secret rotation wrote a newer one, under the newest key).
var ErrCiphertextChanged = errors.New("ciphertext changed meanwhile")

// SwapCiphertext replaces column's ciphertext of row id with next, only
// if it still holds prev.
func (s *Store) SwapCiphertext(ctx context.Context, table, column, id, prev, next string) error {
	t, ok := CipherTableNamed(table)
	if !ok || !containsString(t.Columns, column) {
		return fmt.Errorf("not a ciphertext column: %s.%s", table, column)
	}
	res := s.db.WithContext(ctx).Exec(fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?`, table, column, t.Key(), column), next, id, prev)
	if res.Error != nil {
		return fmt.Errorf("re-encrypt %s.%s of %s: %w", table, column, id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrCiphertextChanged
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// KeyUsage is how many ciphertexts of one column each key id sealed.
type KeyUsage struct {
	Table  string         `json:"table"`
	Column string         `json:"column"`
	Counts map[string]int `json:"counts"`
}

// KeyUsageReport counts, per table and column of CipherTables, the
// ciphertexts sealed by each key id ("" for a value that is not a
// key-ring ciphertext; empty values, such as the PKCE verifier of a
// credential connect, are not counted).
func (s *Store) KeyUsageReport(ctx context.Context) ([]KeyUsage, error) {
	var out []KeyUsage
	for _, t := range CipherTables {
		for _, c := range t.Columns {
			// The key id is between "v1:" and the next ':'.
			keyID := fmt.Sprintf(`split_part(%s, ':', 2)`, c)
			if s.db.Dialect == "sqlite" {
				keyID = fmt.Sprintf(`substr(%[1]s, 4, instr(substr(%[1]s, 4), ':') - 1)`, c)
			}
			expr := fmt.Sprintf(`CASE WHEN %s LIKE 'v1:%%:%%' THEN %s ELSE '' END`, c, keyID)
			q := fmt.Sprintf(`SELECT %s AS key_id, COUNT(*) AS n FROM %s WHERE %s <> '' GROUP BY 1`, expr, t.Table, c)
			var rows []struct {
				KeyID string
				N     int
			}
			if err := s.db.WithContext(ctx).Raw(q).Scan(&rows).Error; err != nil {
				return nil, fmt.Errorf("count %s.%s by key: %w", t.Table, c, err)
			}
			u := KeyUsage{Table: t.Table, Column: c, Counts: map[string]int{}}
			for _, r := range rows {
				u.Counts[r.KeyID] += r.N
			}
			out = append(out, u)
		}
	}
	return out, nil
}
