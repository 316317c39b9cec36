package api

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// parquetColumn reads one leaf column of a Parquet file a row at a time,
// row group after row group and page after page, so that an import reads
// the vector column as arrays of floats: parquet-go's row reader made a
// Value of every element (24 bytes and a call each; W4's 128 million took
// 2.1 s of the import's 6.8 s).
type parquetColumn struct {
	groups         []parquet.RowGroup
	meta           *format.FileMetaData // the file's, checked by checkParquetFooter
	checker        *chunkChecker        // checks each chunk before parquet-go reads it
	index          int                  // the leaf column's index
	maxRep, maxDef byte                 // its levels (Schema)
	vector         bool                 // float or double values read as floats
	group          int                  // the next row group
	pages          parquet.Pages
	page           parquet.Page
	// The current page: its repetition and definition levels (empty when
	// the column has none), the number of values (nulls included) and the
	// next one. A vector column's page of plain floats or doubles is read
	// from floats (its non-null values, fat the next); any other page
	// value by value from reader through buf (buf[bi:bn] read, not taken),
	// which bounds what a page that claims millions of values costs.
	rep, def []byte
	n, at    int
	floats   []float32
	fat      int
	reader   parquet.ValueReader
	buf      []parquet.Value
	bi, bn   int
	convert  []float32 // the floats of a page of doubles
}

func newParquetColumn(f *parquet.File, meta *format.FileMetaData, checker *chunkChecker, leaf parquet.LeafColumn, vector bool) *parquetColumn {
	return &parquetColumn{groups: f.RowGroups(), meta: meta, checker: checker, index: leaf.ColumnIndex, maxRep: byte(leaf.MaxRepetitionLevel), maxDef: byte(leaf.MaxDefinitionLevel),
		vector: vector, buf: make([]parquet.Value, 1024)}
}

// errVectorKind is a vector column of another type than float or double.
var errVectorKind = errors.New("vector values must be float or double")

// nextPage makes the next page with values current; false at the end of
// the column.
func (c *parquetColumn) nextPage() (bool, error) {
	if c.page != nil && c.reader == nil {
		// Its floats were copied; its buffers go back to parquet-go's
		// pools. (Values read through reader may reference its bytes.)
		parquet.Release(c.page)
	}
	c.page, c.reader = nil, nil
	for {
		if c.pages == nil {
			if c.group == len(c.groups) {
				return false, nil
			}
			chunks := c.groups[c.group].ColumnChunks()
			if c.index >= len(chunks) || c.index >= len(c.meta.RowGroups[c.group].Columns) {
				return false, fmt.Errorf("row group %d has no column %d", c.group, c.index)
			}
			if err := c.checker.check(c.meta.RowGroups[c.group].Columns[c.index].MetaData); err != nil {
				return false, parquetErr("row group %d, column %d: %v", c.group, c.index, err)
			}
			c.pages = chunks[c.index].Pages()
			c.group++
		}
		pg, err := c.pages.ReadPage()
		if errors.Is(err, io.EOF) {
			c.pages.Close()
			c.pages = nil
			continue
		}
		if err != nil {
			return false, err
		}
		if err := c.load(pg); err != nil {
			return false, err
		}
		if c.n > 0 {
			return true, nil
		}
	}
}

// load makes pg the current page, checking that its levels and values
// agree (a file may claim anything).
func (c *parquetColumn) load(pg parquet.Page) error {
	c.page = pg
	c.rep, c.def = pg.RepetitionLevels(), pg.DefinitionLevels()
	c.n, c.at, c.fat, c.bi, c.bn = int(pg.NumValues()), 0, 0, 0, 0
	if (c.maxRep > 0 && len(c.rep) != c.n) || (c.maxDef > 0 && len(c.def) != c.n) {
		return fmt.Errorf("a page of column %d has %d repetition and %d definition levels for %d values", c.index, len(c.rep), len(c.def), c.n)
	}
	// A vector column's plain page is read from its decoded array; any
	// other page value by value.
	var data encoding.Values
	if c.vector && pg.Dictionary() == nil {
		data = pg.Data()
	}
	switch {
	case data.Kind() == encoding.Float:
		c.floats = data.Float()
	case data.Kind() == encoding.Double:
		c.convert = c.convert[:0]
		for _, d := range data.Double() {
			c.convert = append(c.convert, float32(d))
		}
		c.floats = c.convert
	default:
		c.reader = pg.Values()
		return nil
	}
	present := c.n
	if c.maxDef > 0 {
		present = 0
		for _, d := range c.def {
			if d == c.maxDef {
				present++
			}
		}
	}
	if len(c.floats) != present {
		return fmt.Errorf("a page of column %d holds %d values where its levels say %d", c.index, len(c.floats), present)
	}
	return nil
}

// value takes the current page's next value from its reader.
func (c *parquetColumn) value() (parquet.Value, error) {
	if c.bi == c.bn {
		k, err := c.reader.ReadValues(c.buf)
		if k == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("a page of column %d ends before its %d values", c.index, c.n)
			}
			return parquet.Value{}, err
		}
		c.bi, c.bn = 0, k
	}
	c.bi++
	return c.buf[c.bi-1], nil
}

// startsRow tells whether the current value begins a row.
func (c *parquetColumn) startsRow() bool { return c.maxRep == 0 || c.rep[c.at] == 0 }

// nextRow reads the column's next row: a vector column appends its
// non-null values to vec, another column its values, nulls included, to
// vals. ok is false at the end of the column.
func (c *parquetColumn) nextRow(vec []float32, vals []parquet.Value) (_ []float32, _ []parquet.Value, ok bool, err error) {
	for {
		if c.at == c.n {
			more, err := c.nextPage()
			if err != nil || !more {
				return vec, vals, ok, err
			}
		}
		if ok && c.startsRow() {
			return vec, vals, true, nil
		}
		ok = true
		if c.reader != nil {
			v, err := c.value()
			if err != nil {
				return vec, vals, ok, err
			}
			c.at++
			switch {
			case !c.vector:
				vals = append(vals, v)
			case v.IsNull():
			case v.Kind() == parquet.Float:
				vec = append(vec, v.Float())
			case v.Kind() == parquet.Double:
				vec = append(vec, float32(v.Double()))
			default:
				return vec, vals, ok, errVectorKind
			}
			continue
		}
		// The rest of the row on this page, in one copy when it has no
		// nulls (a list of floats: every value but the first continues it).
		end := c.at + 1
		for end < c.n && c.maxRep > 0 && c.rep[end] != 0 {
			end++
		}
		if c.maxDef == 0 || !hasNull(c.def[c.at:end], c.maxDef) {
			vec = append(vec, c.floats[c.fat:c.fat+end-c.at]...)
			c.fat += end - c.at
		} else {
			for i := c.at; i < end; i++ {
				if c.def[i] == c.maxDef {
					vec = append(vec, c.floats[c.fat])
					c.fat++
				}
			}
		}
		c.at = end
	}
}

// hasNull tells whether a definition level in def is below maxDef.
func hasNull(def []byte, maxDef byte) bool {
	for _, d := range def {
		if d != maxDef {
			return true
		}
	}
	return false
}
