// Package dataset loads the vectors of a file into memory for clustering:
// a 2-D float32/float64 .npy matrix, or NDJSON documents of the form
// {"document_id": …, "features": {"NAME": [floats…]}, "payload": {…}}.
package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/clusterd/clusterd/internal/npy"
)

// ErrInput is wrapped by every error about the content of an input file.
var ErrInput = errors.New("bad input")

// Matrix is n rows of d float32 features, row-major, with the documents'
// ids and payloads when the source had them.
type Matrix struct {
	X        []float32
	N, D     int
	IDs      []string          // nil for .npy input
	Payloads []json.RawMessage // nil for .npy input
	// release unmaps X when it is a mapping of the file (nil otherwise).
	release func() error
}

// Close releases X when it maps the file (X must not be used after); it
// does nothing otherwise.
func (m *Matrix) Close() error {
	if m.release == nil {
		return nil
	}
	r := m.release
	m.release, m.X = nil, nil
	return r()
}

// RowName names row i for error messages: its document id when known.
func (m *Matrix) RowName(i int) string {
	if m.IDs != nil && i >= 0 && i < len(m.IDs) {
		return fmt.Sprintf("document %q (line %d)", m.IDs[i], i+1)
	}
	return fmt.Sprintf("row %d", i)
}

// LoadFile reads path by its extension: .npy, or .ndjson/.jsonl/.json for
// NDJSON documents, whose vectors are taken from feature (which may be
// empty when every document has exactly one feature). A float32 .npy is
// mapped read-only (see npy.MapMatrixFile): call Close when done.
func LoadFile(path, feature string) (*Matrix, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		// A float32 file is mapped, not read: no copy, and the vectors are
		// not part of the Go heap.
		if x, n, d, release, ok, err := npy.MapMatrixFile(path); err != nil || ok {
			if err != nil {
				return nil, err
			}
			return &Matrix{X: x, N: n, D: d, release: release}, nil
		}
		x, n, d, err := npy.ReadMatrixFile(path)
		if err != nil {
			if errors.Is(err, npy.ErrFormat) {
				return nil, fmt.Errorf("%w: %w", ErrInput, err)
			}
			return nil, err
		}
		if n == 0 || d == 0 {
			return nil, fmt.Errorf("%w: %s: empty matrix (%d×%d)", ErrInput, path, n, d)
		}
		return &Matrix{X: x, N: n, D: d}, nil
	case ".ndjson", ".jsonl", ".json":
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		m, err := ReadNDJSON(f, feature)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return m, nil
	default:
		return nil, fmt.Errorf("%w: %s: unknown file type %q (want .npy, .ndjson or .jsonl)", ErrInput, path, filepath.Ext(path))
	}
}

// Document is one NDJSON line.
type Document struct {
	DocumentID json.RawMessage            `json:"document_id"`
	Features   map[string]json.RawMessage `json:"features"`
	Payload    json.RawMessage            `json:"payload"`
}

// ReadNDJSON reads one document per line. Every document must have the
// feature, with the same dimension; blank lines are skipped.
func ReadNDJSON(r io.Reader, feature string) (*Matrix, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	m := &Matrix{IDs: []string{}, Payloads: []json.RawMessage{}}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var doc Document
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInput, line, err)
		}
		if len(doc.Features) == 0 {
			return nil, fmt.Errorf("%w: line %d: document has no \"features\"", ErrInput, line)
		}
		name := feature
		if name == "" {
			if len(doc.Features) != 1 {
				return nil, fmt.Errorf("%w: line %d: documents have several features (%s); choose one with --feature", ErrInput, line, strings.Join(keys(doc.Features), ", "))
			}
			name = keys(doc.Features)[0]
			feature = name
		}
		raw, ok := doc.Features[name]
		if !ok {
			return nil, fmt.Errorf("%w: line %d: document has no feature %q (it has %s)", ErrInput, line, name, strings.Join(keys(doc.Features), ", "))
		}
		var vec []float32
		if err := json.Unmarshal(raw, &vec); err != nil {
			return nil, fmt.Errorf("%w: line %d: feature %q is not an array of numbers: %v", ErrInput, line, name, err)
		}
		if len(vec) == 0 {
			return nil, fmt.Errorf("%w: line %d: feature %q is empty", ErrInput, line, name)
		}
		if m.D == 0 {
			m.D = len(vec)
		} else if len(vec) != m.D {
			return nil, fmt.Errorf("%w: line %d: feature %q has dimension %d, earlier documents have %d", ErrInput, line, name, len(vec), m.D)
		}
		m.X = append(m.X, vec...)
		m.IDs = append(m.IDs, docID(doc.DocumentID, line))
		m.Payloads = append(m.Payloads, doc.Payload)
		m.N++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: reading line %d: %v", ErrInput, line+1, err)
	}
	if m.N == 0 {
		return nil, fmt.Errorf("%w: no documents", ErrInput)
	}
	return m, nil
}

// docID renders a document id given as a JSON string or number; a missing
// id becomes "line-N".
func docID(raw json.RawMessage, line int) string {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s
	}
	if t := strings.TrimSpace(string(raw)); t != "" && t != "null" {
		return t
	}
	return fmt.Sprintf("line-%d", line)
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
