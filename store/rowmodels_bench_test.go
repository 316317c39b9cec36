package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rowModel is one way of keeping a collection's documents and the segment
// rows of their vectors in SQLite: the tables and indexes (ddl) and the
// statements that write a batch of documents. Each is a multi-row VALUES of
// batchDocuments rows (docCols parameters a document; vectors, vecCols
// parameters a vector, or none when the documents carry their row) or,
// with jsonIDs, a statement a transaction that takes the ids as a JSON
// array (see insertDocumentIDsSQL).
type rowModel struct {
	name             string
	ddl              string
	documents        string
	docCols          int
	vectors          string
	vecCols          int
	documentsHaveRow bool
	jsonIDs          bool
}

// The alternative models keep today's columns and conflict clauses (which
// cost nothing measurable when no row conflicts: 4.93 against 4.99 µs a
// document without them), and change where the row lives and which
// B-trees an imported document adds.
const (
	rowModelDocumentColumns = `collection_id TEXT NOT NULL, document_id TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT,
		created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, gen INTEGER NOT NULL DEFAULT 0,
		next_gen INTEGER, next_payload TEXT, next_updated_at INTEGER`
	rowModelVectorColumns = `collection_id TEXT NOT NULL, feature TEXT NOT NULL, document_id TEXT NOT NULL, row INTEGER NOT NULL,
		gen INTEGER NOT NULL DEFAULT 0, next_gen INTEGER, next_row INTEGER`
	rowModelDocumentsInsert = `INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at, gen) VALUES %s
		ON CONFLICT (collection_id, document_id) DO UPDATE SET payload = COALESCE(excluded.payload, documents.payload), updated_at = excluded.updated_at`
	rowModelDocumentsRow  = `INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at, gen, row) VALUES %s` + documentsInPlace
	rowModelVectorsInsert = `INSERT INTO vectors (collection_id, feature, document_id, row, gen) VALUES %s` + vectorsInPlace
)

// rowModels are today's model (read from a migrated store, see
// todayRowModel) and the alternatives measured against it.
var rowModels = []rowModel{
	{name: "documents without rowid", docCols: 7, vecCols: 5, documents: rowModelDocumentsInsert, vectors: rowModelVectorsInsert,
		ddl: `CREATE TABLE documents (` + rowModelDocumentColumns + `, PRIMARY KEY (collection_id, document_id)) WITHOUT ROWID;
		CREATE INDEX documents_seq ON documents (collection_id, seq);
		CREATE TABLE vectors (` + rowModelVectorColumns + `, PRIMARY KEY (collection_id, document_id, feature)) WITHOUT ROWID;
		CREATE INDEX vectors_row_cover ON vectors (collection_id, feature, row, document_id, gen, next_gen, next_row);`},
	{name: "vectors without the row index", docCols: 7, vecCols: 5, documents: rowModelDocumentsInsert, vectors: rowModelVectorsInsert,
		ddl: `CREATE TABLE documents (` + rowModelDocumentColumns + `, PRIMARY KEY (collection_id, document_id)) WITHOUT ROWID;
		CREATE INDEX documents_seq ON documents (collection_id, seq);
		CREATE TABLE vectors (` + rowModelVectorColumns + `, PRIMARY KEY (collection_id, document_id, feature)) WITHOUT ROWID;`},
	{name: "documents hold the row, vectors keyed by row", docCols: 8, vecCols: 5, documentsHaveRow: true, documents: rowModelDocumentsRow,
		vectors: `INSERT INTO vectors (collection_id, feature, document_id, row, gen) VALUES %s`,
		ddl: `CREATE TABLE documents (` + rowModelDocumentColumns + `, row INTEGER, PRIMARY KEY (collection_id, document_id)) WITHOUT ROWID;
		CREATE INDEX documents_seq ON documents (collection_id, seq);
		CREATE TABLE vectors (` + rowModelVectorColumns + `, PRIMARY KEY (collection_id, feature, row)) WITHOUT ROWID;`},
	{name: "one table", docCols: 8, documentsHaveRow: true, documents: rowModelDocumentsRow,
		ddl: `CREATE TABLE documents (` + rowModelDocumentColumns + `, row INTEGER, PRIMARY KEY (collection_id, document_id));
		CREATE INDEX documents_seq ON documents (collection_id, seq, row);`},
	{name: "one table, ids as JSON", documentsHaveRow: true, jsonIDs: true,
		documents: `INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at, gen, row)
		SELECT ?, value, ? + key, NULL, ?, ?, ?, ? + key FROM json_each(?) WHERE true` + documentsInPlace,
		ddl: `CREATE TABLE documents (` + rowModelDocumentColumns + `, row INTEGER, PRIMARY KEY (collection_id, document_id));
		CREATE INDEX documents_seq ON documents (collection_id, seq, row);`},
	{name: "one table without rowid", docCols: 8, documentsHaveRow: true, documents: rowModelDocumentsRow,
		ddl: `CREATE TABLE documents (` + rowModelDocumentColumns + `, row INTEGER, PRIMARY KEY (collection_id, document_id)) WITHOUT ROWID;
		CREATE INDEX documents_seq ON documents (collection_id, seq, row);`},
}

// todayRowModels are the store's own model: the documents and vectors
// tables and indexes as a migrated store has them, written by the store's
// own staged statements (an inline feature: no vectors rows), by the
// VALUES lists it used before, and with a vectors row a document as before
// migrationInlineVectors.
func todayRowModels(b *testing.B) []rowModel {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rows, err := s.w.Query(`SELECT sql FROM sqlite_master WHERE tbl_name IN ('documents', 'vectors') AND sql IS NOT NULL ORDER BY type DESC`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var ddl []string
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			b.Fatal(err)
		}
		ddl = append(ddl, q)
	}
	return []rowModel{
		{name: "today", ddl: strings.Join(ddl, ";\n"), jsonIDs: true, documentsHaveRow: true, documents: insertDocumentIDsSQL(true)},
		{name: "today with VALUES lists", ddl: strings.Join(ddl, ";\n"), docCols: 8, documentsHaveRow: true,
			documents: strings.Replace(insertDocumentsSQL(1, true), placeholders(1, 8), "%s", 1)},
		{name: "a vectors row each (before migrationInlineVectors)", ddl: strings.Join(ddl, ";\n"), jsonIDs: true,
			documents: `INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at, gen)
				SELECT ?, value, ? + key, NULL, ?, ?, ? FROM json_each(?) WHERE true` + documentsStaged,
			vectors: insertVectorIDsSQL(true)},
	}
}

// BenchmarkRowModels writes the rows of an import of 200,192 documents
// with one 128-dimension vector each (ids "row_N", no payload) in staged
// batches of 8,192 documents, under the writer's pragmas, for today's row
// model and the alternatives: the SQL cost alone (no segment file, no
// validation), in µs a document, and the import rate it would allow at 512
// bytes of vector a document. What bounds the import, and what a new model
// would give (docs/PERFORMANCE.md):
//
//	go test ./store -run '^$' -bench RowModels -benchtime 3x
func BenchmarkRowModels(b *testing.B) {
	const n, perTx, vectorBytes = 782 * batchDocuments, stageMaxDocuments, 128 * 4
	const collection, feature = "col_01jexample8k3m2p4q6r", "embedding"
	for _, m := range append(todayRowModels(b), rowModels...) {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "models.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+writerPragmas+"&_txlock=immediate")
				if err != nil {
					b.Fatal(err)
				}
				db.SetMaxOpenConns(1)
				if _, err := db.Exec(m.ddl); err != nil {
					b.Fatalf("%s: %v", m.name, err)
				}
				prepare := func(q string, cols int) *sql.Stmt {
					if q == "" {
						return nil
					}
					if !m.jsonIDs {
						q = fmt.Sprintf(q, placeholders(batchDocuments, cols))
					}
					st, err := db.Prepare(q)
					if err != nil {
						b.Fatalf("%s: %v", m.name, err)
					}
					return st
				}
				docs, vecs := prepare(m.documents, m.docCols), prepare(m.vectors, m.vecCols)
				args := make([]any, 0, batchDocuments*max(m.docCols, m.vecCols))
				b.StartTimer()
				write := writeRowModel
				if m.jsonIDs {
					write = writeRowModelJSON
				}
				if err := write(context.Background(), db, docs, vecs, m.documentsHaveRow, n, perTx, collection, feature, args); err != nil {
					b.Fatalf("%s: %v", m.name, err)
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			perDoc := b.Elapsed().Seconds() / float64(b.N) / n
			b.ReportMetric(perDoc*1e6, "µs/doc")
			b.ReportMetric(vectorBytes/perDoc/1e6, "MB/s-bound")
		})
	}
}

// writeRowModel writes n documents through docs (and vecs, when not nil)
// in transactions of perTx documents.
func writeRowModel(ctx context.Context, db *sql.DB, docs, vecs *sql.Stmt, documentsHaveRow bool, n, perTx int, collection, feature string, args []any) error {
	const gen = 7
	var tx *sql.Tx
	for first := 0; first < n; first += batchDocuments {
		if first%perTx == 0 {
			if tx != nil {
				if err := tx.Commit(); err != nil {
					return err
				}
			}
			var err error
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return err
			}
		}
		last := first + batchDocuments // n is a multiple of batchDocuments
		args = args[:0]
		for i := first; i < last; i++ {
			args = append(args, collection, "row_"+strconv.Itoa(i), i+1, nil, 1, 1, gen)
			if documentsHaveRow {
				args = append(args, i)
			}
		}
		if _, err := tx.StmtContext(ctx, docs).ExecContext(ctx, args...); err != nil {
			return err
		}
		if vecs == nil {
			continue
		}
		args = args[:0]
		for i := first; i < last; i++ {
			args = append(args, collection, feature, "row_"+strconv.Itoa(i), i, gen)
		}
		if _, err := tx.StmtContext(ctx, vecs).ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// writeRowModelJSON is writeRowModel for statements that take the ids of
// a transaction's documents as one JSON array.
func writeRowModelJSON(ctx context.Context, db *sql.DB, docs, vecs *sql.Stmt, documentsHaveRow bool, n, perTx int, collection, feature string, _ []any) error {
	const gen = 7
	ids := make([]string, 0, perTx)
	var list []byte
	for first := 0; first < n; first += perTx {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for i := first; i < min(n, first+perTx); i++ {
			ids = append(ids, "row_"+strconv.Itoa(i))
		}
		list = appendJSONStrings(list[:0], ids)
		args := []any{collection, first + 1, 1, 1, gen, string(list)}
		if documentsHaveRow {
			args = []any{collection, first + 1, 1, 1, gen, first, string(list)}
		}
		if _, err := tx.StmtContext(ctx, docs).ExecContext(ctx, args...); err != nil {
			return err
		}
		if vecs != nil {
			if _, err := tx.StmtContext(ctx, vecs).ExecContext(ctx, collection, feature, first, gen, string(list)); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
