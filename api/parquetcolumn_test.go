package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// readParquet reads every document of a Parquet file through
// parquetSource.
func readParquet(t *testing.T, file []byte, feature string) (ids []string, vecs [][]float32, payloads []string) {
	t.Helper()
	src, err := newParquetSource(bytes.NewReader(file), int64(len(file)), feature, "document_id", "vec")
	if err != nil {
		t.Fatal(err)
	}
	for {
		d, err := src.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("row %d: %v", len(ids), err)
		}
		ids = append(ids, d.ID)
		vecs = append(vecs, slices.Clone(d.Features[feature]))
		payloads = append(payloads, string(d.Payload))
	}
}

// writeParquet writes rows with parquet-go's writer and options.
func writeParquet[T any](t *testing.T, rows []T, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[T](&b, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestParquetColumnsReadEveryRow: the vector column, read a page at a
// time, gives every row its own values, whatever the file's shape: many
// small pages and row groups (rows that end where a page ends), doubles,
// dictionary-encoded floats, null elements, empty and null lists, data
// page versions 1 and 2; and the id and payload columns stay aligned with
// it (null ids get the row's default id). Each file's rows are compared
// with what was written.
func TestParquetColumnsReadEveryRow(t *testing.T) {
	const n = 3000
	small := []parquet.WriterOption{parquet.PageBufferSize(1024), parquet.MaxRowsPerRowGroup(700)}
	vector := func(i int) []float32 { return []float32{float32(i), float32(i) / 2, -float32(i), 7} }
	type floats struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float32 `parquet:"vec,list"`
		Title      string    `parquet:"title"`
	}
	type doubles struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float64 `parquet:"vec,list"`
	}
	type dictionary struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float32 `parquet:"vec,list,dict"`
	}
	type nullable struct {
		DocumentID *string    `parquet:"document_id,optional"`
		Vec        []*float32 `parquet:"vec,list"`
		Count      *int64     `parquet:"count,optional"`
		Flag       bool       `parquet:"flag"`
	}
	type optionalList struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float32 `parquet:"vec,optional,list"`
	}
	wantIDs := func(i int) string { return fmt.Sprintf("d%d", i) }
	for _, c := range []struct {
		name    string
		file    func(t *testing.T) []byte
		id      func(i int) string
		vec     func(i int) []float32
		payload func(i int) string
	}{
		{"floats, small pages and row groups", func(t *testing.T) []byte {
			rows := make([]floats, n)
			for i := range rows {
				rows[i] = floats{wantIDs(i), vector(i), fmt.Sprint("t", i%5)}
			}
			return writeParquet(t, rows, small...)
		}, wantIDs, vector, func(i int) string { return fmt.Sprintf(`{"title":"t%d"}`, i%5) }},
		{"floats, one page a row group, data page v1", func(t *testing.T) []byte {
			rows := make([]floats, n)
			for i := range rows {
				rows[i] = floats{wantIDs(i), vector(i), "x"}
			}
			return writeParquet(t, rows, parquet.DataPageVersion(1))
		}, wantIDs, vector, func(int) string { return `{"title":"x"}` }},
		{"doubles", func(t *testing.T) []byte {
			rows := make([]doubles, n)
			for i := range rows {
				v := vector(i)
				rows[i] = doubles{wantIDs(i), []float64{float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3])}}
			}
			return writeParquet(t, rows, small...)
		}, wantIDs, vector, func(int) string { return "" }},
		{"dictionary-encoded floats", func(t *testing.T) []byte {
			rows := make([]dictionary, n)
			for i := range rows {
				rows[i] = dictionary{wantIDs(i), []float32{float32(i % 3), 1, float32(i % 7)}}
			}
			return writeParquet(t, rows, small...)
		}, wantIDs, func(i int) []float32 { return []float32{float32(i % 3), 1, float32(i % 7)} }, func(int) string { return "" }},
		{"null elements, ids and payloads", func(t *testing.T) []byte {
			rows := make([]nullable, n)
			for i := range rows {
				v := vector(i)
				rows[i].Vec = []*float32{&v[0], nil, &v[1], &v[2], &v[3]}
				if i%4 == 0 {
					rows[i].Vec = []*float32{nil, &v[0], &v[1], &v[2], &v[3], nil}
				}
				if i%3 != 0 {
					id := wantIDs(i)
					rows[i].DocumentID = &id
				}
				if i%2 == 0 {
					k := int64(i)
					rows[i].Count = &k
				}
				rows[i].Flag = i%5 == 0
			}
			return writeParquet(t, rows, small...)
		}, func(i int) string {
			if i%3 == 0 {
				return fmt.Sprintf("row_%d", i)
			}
			return wantIDs(i)
		}, vector, func(i int) string {
			if i%2 == 0 {
				return fmt.Sprintf(`{"count":%d,"flag":%v}`, i, i%5 == 0)
			}
			return fmt.Sprintf(`{"flag":%v}`, i%5 == 0)
		}},
		{"empty and null lists", func(t *testing.T) []byte {
			rows := make([]optionalList, n)
			for i := range rows {
				rows[i] = optionalList{wantIDs(i), vector(i)}
				switch i % 5 {
				case 1:
					rows[i].Vec = []float32{}
				case 2:
					rows[i].Vec = nil
				}
			}
			return writeParquet(t, rows, small...)
		}, wantIDs, func(i int) []float32 {
			if i%5 == 1 || i%5 == 2 {
				return nil
			}
			return vector(i)
		}, func(int) string { return "" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ids, vecs, payloads := readParquet(t, c.file(t), "e")
			if len(ids) != n {
				t.Fatalf("%d rows, want %d", len(ids), n)
			}
			for i := range n {
				if ids[i] != c.id(i) || !slices.Equal(vecs[i], c.vec(i)) && len(vecs[i])+len(c.vec(i)) > 0 {
					t.Fatalf("row %d: %q %v, want %q %v", i, ids[i], vecs[i], c.id(i), c.vec(i))
				}
				if want := c.payload(i); want != "" || payloads[i] != "" {
					var got, exp any
					if json.Unmarshal([]byte(payloads[i]), &got) != nil || json.Unmarshal([]byte(want), &exp) != nil || fmt.Sprint(got) != fmt.Sprint(exp) {
						t.Fatalf("row %d: payload %s, want %s", i, payloads[i], want)
					}
				}
			}
		})
	}
}
