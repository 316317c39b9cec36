package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/clusterd/clusterd/engine"
)

// progressPrinter shows a run's progress on a terminal as one redrawn status
// line with a bar, and elsewhere (pipes, CI logs) as plain lines at most
// once a second.
type progressPrinter struct {
	w     io.Writer
	quiet bool
	tty   bool
	last  time.Time
	dirty bool
	start time.Time
}

func newProgressPrinter(w io.Writer, quiet bool) *progressPrinter {
	p := &progressPrinter{w: w, quiet: quiet, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progressPrinter) note(format string, args ...any) {
	if p.quiet {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, "clusterd: "+format+"\n", args...)
}

func (p *progressPrinter) update(ev engine.Progress) {
	if p.quiet {
		return
	}
	if !p.tty && time.Since(p.last) < time.Second && ev.Phase == "iterate" && ev.Iteration > 1 && ev.Iteration != ev.MaxIter {
		return
	}
	p.last = time.Now()
	var line string
	switch ev.Phase {
	case "iterate":
		line = fmt.Sprintf("restart %d/%d iteration %d/%d inertia %.6g %s points/s", max(ev.Restart, 1), max(ev.Restarts, 1), ev.Iteration, ev.MaxIter, ev.Inertia, si(ev.PointsPerSecond))
	case "init":
		if ev.MaxIter > 0 && ev.Iteration > 0 {
			line = fmt.Sprintf("init: centre %d/%d", ev.Iteration, ev.MaxIter)
		} else {
			line = fmt.Sprintf("init: restart %d/%d", max(ev.Restart, 1), max(ev.Restarts, 1))
		}
	default:
		line = ev.Phase
	}
	if p.tty {
		const width = 24
		filled := int(ev.Fraction * width)
		filled = max(0, min(width, filled))
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		fmt.Fprintf(p.w, "\r\033[K%s %3.0f%% %s", bar, ev.Fraction*100, line)
		p.dirty = true
		return
	}
	fmt.Fprintf(p.w, "clusterd: %s (%.1fs)\n", line, time.Since(p.start).Seconds())
}

func (p *progressPrinter) clear() {
	if p.dirty {
		fmt.Fprint(p.w, "\r\033[K")
		p.dirty = false
	}
}

func (p *progressPrinter) done() { p.clear() }

// si formats v with an SI suffix (1.2M).
func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
