package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestFilterSemantics runs compiled filters against a table shaped like the
// runs table (times in microseconds, a nullable error message) and checks
// which rows match, as a client reading API.md would expect.
func TestFilterSemantics(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+t.TempDir()+"/q.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return micros(tm)
	}
	if _, err := db.Exec(`CREATE TABLE runs (run_id TEXT, created_at INTEGER, completed_at INTEGER, error_message TEXT)`); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		id            string
		created, done int64
		errorMessage  any
	}{
		{"r1", at("2026-01-01T00:00:00Z"), at("2026-01-01T00:01:00Z"), nil},
		{"r2", at("2026-02-01T00:00:00Z"), at("2026-02-01T00:01:00Z"), "canceled"},
		{"r3", at("2026-03-01T00:00:00Z"), 0, nil},
	} {
		done := any(r.done)
		if r.done == 0 {
			done = nil
		}
		if _, err := db.Exec(`INSERT INTO runs VALUES (?, ?, ?, ?)`, r.id, r.created, done, r.errorMessage); err != nil {
			t.Fatal(err)
		}
	}
	fields := fieldMap{"run_id": "run_id", "created_at": "created_at", "completed_at": "completed_at", "error_message": "error_message"}
	for _, tc := range []struct {
		name, filters string
		want          []string
	}{
		{"created after", `{"field":"created_at","operator":"gte","value":"2026-02-01T00:00:00Z"}`, []string{"r2", "r3"}},
		{"created before", `{"field":"created_at","operator":"lt","value":"2026-02-01T00:00:00Z"}`, []string{"r1"}},
		{"fractional seconds", `{"field":"created_at","operator":"gt","value":"2026-01-31T23:59:59.999999Z"}`, []string{"r2", "r3"}},
		{"other zone", `{"field":"created_at","operator":"eq","value":"2026-02-01T01:00:00+01:00"}`, []string{"r2"}},
		{"completed before, unfinished left out", `{"field":"completed_at","operator":"lt","value":"2026-12-31T00:00:00Z"}`, []string{"r1", "r2"}},
		{"shorthand time", `{"created_at":"2026-03-01T00:00:00Z"}`, []string{"r3"}},
		{"time in a list", `{"field":"created_at","operator":"in","value":["2026-01-01T00:00:00Z","2026-03-01T00:00:00Z"]}`, []string{"r1", "r3"}},
		{"ne keeps nulls", `{"field":"error_message","operator":"ne","value":"canceled"}`, []string{"r1", "r3"}},
		{"nin keeps nulls", `{"field":"error_message","operator":"nin","value":["canceled"]}`, []string{"r1", "r3"}},
		{"NOT keeps nulls", `{"NOT":[{"field":"error_message","operator":"eq","value":"canceled"}]}`, []string{"r1", "r3"}},
		{"NOT of an OR", `{"NOT":[{"field":"error_message","operator":"eq","value":"canceled"},{"field":"run_id","operator":"eq","value":"r3"}]}`, []string{"r1"}},
		{"eq null", `{"field":"completed_at","operator":"eq","value":null}`, []string{"r3"}},
		{"AND with a time", `{"AND":[{"field":"created_at","operator":"gt","value":"2026-01-15T00:00:00Z"},{"field":"error_message","operator":"is_null"}]}`, []string{"r3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			where, args, err := whereClause(json.RawMessage(tc.filters), fields)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.Query(`SELECT run_id FROM runs WHERE `+where+` ORDER BY run_id`, args...)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				got = append(got, id)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s (%s %v): got %v, want %v", tc.filters, where, args, got, tc.want)
			}
		})
	}
}

// TestTimeFilterErrors: a time that is not RFC 3339, or a text operator on a
// time, is a 422 at the value or operator, not an empty list.
func TestTimeFilterErrors(t *testing.T) {
	fields := fieldMap{"created_at": "created_at"}
	for _, tc := range []struct {
		filters string
		path    []any
	}{
		{`{"field":"created_at","operator":"gt","value":"yesterday"}`, []any{"filters", "value"}},
		{`{"field":"created_at","operator":"gt","value":1735689600}`, []any{"filters", "value"}},
		{`{"field":"created_at","operator":"in","value":["2026-01-01T00:00:00Z","2026-13-01T00:00:00Z"]}`, []any{"filters", "value", 1}},
		{`{"field":"created_at","operator":"contains","value":"2026"}`, []any{"filters", "operator"}},
	} {
		_, _, err := whereClause(json.RawMessage(tc.filters), fields)
		var qe *QueryError
		if !errors.As(err, &qe) || !slices.Equal(qe.Path, tc.path) {
			t.Errorf("%s: %v, want a QueryError at %v", tc.filters, err, tc.path)
		}
	}
}
